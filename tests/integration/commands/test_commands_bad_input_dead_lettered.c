/*
 * Hostile bytes on billing.commands: each undecodable message lands in the DLQ with its
 * reason, a command whose ids can still be read is answered with a rejection instead (its
 * issuer is waiting), the partition keeps moving, and a valid command sent after them is
 * handled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"

static void bad_input_goes_to_the_dlq_and_the_service_goes_on(void **state) {
        cmdh_t *h = cmdh_new("it-cmd-bad", 1);
        char *env[] = {"BILLING_MAX_MESSAGE_BYTES=4096", NULL};
        static const uint8_t wrong_magic[] = {5, 0, 0, 0, 1, 2, 3};
        static const uint8_t unknown_schema[] = {0, 0, 0, 0x7f, 0x42, 2, 3};
        /* Schema id of a command, then a string length of 1 GiB (zig-zag varint). */
        uint8_t huge_length[16] = {0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08};
        static uint8_t oversize[8192];
        static bg_command_t cmd, broken;
        const uint8_t *good;
        size_t good_len, ndlq;
        char errstr[256], reason[512];
        bg_command_result_t res;
        bg_uuid_t account;
        int32_t command_schema;
        pid_t pid = cmdh_start(h, "bad-0", env);

        bg_uuid_generate(&account);
        cmdh_command_init(&cmd, BG_CMD_CREATE_ACCOUNT, &account, "user:o@example.com");
        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "After the storm");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "o@example.com");
        assert_int_equal(codec_encode_command(h->ch_codec, &cmd, &good, &good_len, errstr,
                                              sizeof(errstr)), CODEC_OK);
        assert_int_equal(codec_peek_schema_id(h->ch_codec, good, good_len, &command_schema, errstr,
                                              sizeof(errstr)), CODEC_OK);
        huge_length[1] = (uint8_t)(command_schema >> 24);
        huge_length[2] = (uint8_t)(command_schema >> 16);
        huge_length[3] = (uint8_t)(command_schema >> 8);
        huge_length[4] = (uint8_t)command_schema;
        memcpy(oversize, good, good_len);
        cmdh_command_init(&broken, BG_CMD_CREATE_ACCOUNT, &account, "user:o@example.com");
        snprintf(broken.payload.create_account.name, BG_NAME_SIZE, "Cut short");
        snprintf(broken.payload.create_account.owner, BG_EMAIL_SIZE, "o@example.com");

        cmdh_publish_raw(h, "k", "garbage", 7);
        cmdh_publish_raw(h, "k", wrong_magic, sizeof(wrong_magic));
        cmdh_publish_raw(h, "k", unknown_schema, sizeof(unknown_schema));
        cmdh_publish_raw(h, "k", huge_length, 10);
        cmdh_publish_raw(h, NULL, oversize, sizeof(oversize));
        /* Cut after the envelope's ids: answered, not dead-lettered. */
        assert_int_equal(codec_encode_command(h->ch_codec, &broken, &good, &good_len, errstr,
                                              sizeof(errstr)), CODEC_OK);
        cmdh_publish_raw(h, "k", good, good_len - 10);
        cmdh_publish_raw(h, "k", "", 0);
        cmdh_publish(h, &cmd);

        assert_true(cmdh_wait_result(h, &cmd.command_id, 60000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        assert_true(cmdh_wait_result(h, &broken.command_id, 10000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_REJECTED);
        assert_int_equal(res.rejection.code, BG_REJECT_INVALID_ARGUMENT);
        assert_non_null(strstr(res.rejection.message, "cannot decode command"));
        ndlq = cmdh_read_dlq(h, reason, sizeof(reason));
        assert_int_equal(ndlq, 6);
        assert_string_equal(reason, "bad magic byte 0x67");   /* "garbage" starts with g */
        assert_true(bg_proc_running(pid, NULL));
        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bad_input_goes_to_the_dlq_and_the_service_goes_on),
        };
        return cmocka_run_group_tests_name("commands_bad_input", tests, NULL, NULL);
}
