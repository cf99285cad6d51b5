/*
 * Nothing is dropped silently. Usage for a project the log does not know yet is held
 * (in PostgreSQL too: a restart keeps it) and billed once the project is created; usage
 * for a project that never appears goes to the dead-letter topic with a reason once the
 * hold time (measured with the invoicer's clock) is over. Usage after a project's
 * deletion and invalid records are dead-lettered with their reason. A metric counts each
 * fate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inv_harness.h"

#define HOLD_MS 600000

static void wait_dlq(invh_t *t, size_t want, const char *needle, char *reason, size_t size) {
        size_t n = 0;

        for (int tries = 0; tries < 100; tries++) {
                n = invh_read_usage_dlq(t, needle, reason, size);
                if (n >= want && strstr(reason, needle) != NULL)
                        return;
                usleep(200 * 1000);
        }
        fail_msg("%zu dead letters, none with \"%s\" (last: %s)", n, needle, reason);
}

static void unknown_held_then_billed_or_dead_lettered(void **state) {
        int64_t now = invh_real_ms(), clock = now + 60000;
        invh_t *t = invh_new("it-inv-unknown", 2, clock);
        char *env[] = {"BILLING_UNKNOWN_PROJECT_HOLD_MS=600000", NULL};
        static codec_usage_t u;
        bg_uuid_t g, never, later, doomed = {{0}};
        char number[64], reason[512], id[BG_UUID_STR_LEN + 1];

        invh_create_group(t, &g, "G", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &doomed, "doomed", &g);
        bg_uuid_generate(&never);
        bg_uuid_generate(&later);
        invh_start(t, env);

        invh_usage(&u, &never, "kafka-1", now - 1000, 1000000, 1000000);
        invh_publish(t, &u);
        invh_usage(&u, &later, "kafka-1", now - 1000, 2000000, 1000000);
        invh_publish(t, &u);
        invh_flush(t);
        invh_wait_consumed(t, 60000);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM held_usage"), 2);
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"held\"}"), 2);
        assert_int_equal(invh_metric(t, "billing_invoicer_held_records"), 2);

        /* Held across a restart, then billed when the project appears. */
        invh_stop(t);
        invh_start(t, env);
        invh_create_project(t, &later, "late-comer", &g);
        invh_number(&g, now, number, sizeof(number));
        for (int tries = 0; tries < 100; tries++) {
                if (invh_i64(t, "SELECT count(*) FROM held_usage") == 1)
                        break;
                usleep(100 * 1000);
        }
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM held_usage"), 1);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s'",
                                  number), 2000000);
        assert_int_equal(invh_read_usage_dlq(t, NULL, reason, sizeof(reason)), 0);

        /* The hold time passes on the invoicer's clock: dead-lettered with a reason. */
        invh_set_clock(t, clock + HOLD_MS + 1000);
        bg_uuid_format(&never, id);
        wait_dlq(t, 1, "unknown after holding", reason, sizeof(reason));
        assert_non_null(strstr(reason, id));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM held_usage"), 0);

        /* After the deletion: dead-lettered. Invalid records too. */
        invh_delete_project(t, &doomed);
        usleep(200 * 1000);
        invh_usage(&u, &doomed, "kafka-1", invh_real_ms(), 1000000, 1000000);
        invh_publish(t, &u);
        invh_usage(&u, &doomed, "kafka-1", clock + HOLD_MS + 3600000, 1000000, 1000000);
        invh_publish(t, &u);
        invh_usage(&u, &doomed, "kafka-1", now - 2000, 1000000, 1000000);
        u.timestamp_end = u.timestamp_begin - 1;
        invh_publish(t, &u);
        invh_flush(t);
        invh_wait_consumed(t, 60000);
        wait_dlq(t, 4, "deletion", reason, sizeof(reason));
        wait_dlq(t, 4, "in the future", reason, sizeof(reason));
        wait_dlq(t, 4, "is after timestamp_end", reason, sizeof(reason));
        assert_int_equal(invh_read_usage_dlq(t, NULL, reason, sizeof(reason)), 4);
        for (int tries = 0; tries < 50; tries++) {
                if (invh_metric(t, "billing_invoicer_usage_records_total{fate=\"dead_lettered\"}") == 4)
                        break;
                usleep(100 * 1000);
        }
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"dead_lettered\"}"),
                         4);
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"billed\"}"), 1);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(unknown_held_then_billed_or_dead_lettered),
        };
        return cmocka_run_group_tests_name("invoicer_unknown_project", tests, NULL, NULL);
}
