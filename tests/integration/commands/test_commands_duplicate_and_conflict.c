/*
 * Idempotency and optimistic concurrency through the service: a command_id accepted before
 * is answered `duplicate` with its original seqs and appends nothing, also after a restart
 * (the state is rebuilt from the log); a stale expected_version is a `conflict`.
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

#define ACTOR "user:owner@example.com"

static size_t account_events(cmdh_t *h, const bg_uuid_t *account) {
        bg_event_t *events;
        size_t n = cmdh_read_events(h, &events, NULL), mine = 0;

        for (size_t i = 0; i < n; i++)
                mine += bg_uuid_equal(&events[i].account_id, account);
        free(events);
        return mine;
}

static bg_command_result_t roundtrip(cmdh_t *h, const bg_command_t *cmd) {
        bg_command_result_t res = {0};

        /* A re-sent command_id has an earlier result too: wait for a new one. Counted
         * before the publish: a quick service answers before a count taken after it. */
        size_t before = cmdh_count_results(h, &cmd->command_id, 0);

        cmdh_publish(h, cmd);
        for (int i = 0; i < 600; i++) {
                if (cmdh_count_results(h, &cmd->command_id, 100) > before)
                        break;
        }
        assert_true(cmdh_count_results(h, &cmd->command_id, 0) == before + 1);
        /* The newest result for this id. */
        for (size_t i = h->ch_nseen; i-- > 0;)
                if (bg_uuid_equal(&h->ch_seen[i].command_id, &cmd->command_id)) {
                        res = h->ch_seen[i];
                        return res;
                }
        fail_msg("result vanished");
        return res;
}

static void duplicates_and_conflicts(void **state) {
        cmdh_t *h = cmdh_new("it-cmd-dup", 2);
        static bg_command_t create, group, stale, fresh;
        bg_command_result_t res;
        bg_uuid_t account;
        pid_t pid = cmdh_start(h, "dup-0", NULL);

        bg_uuid_generate(&account);
        cmdh_command_init(&create, BG_CMD_CREATE_ACCOUNT, &account, ACTOR);
        snprintf(create.payload.create_account.name, BG_NAME_SIZE, "Dup Inc");
        snprintf(create.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        res = roundtrip(h, &create);
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);

        cmdh_command_init(&group, BG_CMD_CREATE_BILLING_GROUP, &account, ACTOR);
        bg_uuid_generate(&group.payload.create_billing_group.billing_group_id);
        snprintf(group.payload.create_billing_group.name, BG_NAME_SIZE, "Only once");
        res = roundtrip(h, &group);
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        assert_int_equal(res.first_seq, 2);

        res = roundtrip(h, &group);
        assert_int_equal(res.outcome, BG_OUTCOME_DUPLICATE);
        assert_int_equal(res.first_seq, 2);
        assert_int_equal(res.last_seq, 2);
        assert_int_equal(account_events(h, &account), 2);

        /* After a restart the state comes from the log: still a duplicate. */
        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        pid = cmdh_start(h, "dup-0", NULL);
        res = roundtrip(h, &group);
        assert_int_equal(res.outcome, BG_OUTCOME_DUPLICATE);
        assert_int_equal(res.first_seq, 2);
        assert_int_equal(account_events(h, &account), 2);

        /* expected_version: stale is a conflict, current is accepted. */
        cmdh_command_init(&stale, BG_CMD_CREATE_BILLING_GROUP, &account, ACTOR);
        bg_uuid_generate(&stale.payload.create_billing_group.billing_group_id);
        snprintf(stale.payload.create_billing_group.name, BG_NAME_SIZE, "Stale");
        stale.has_expected_version = true;
        stale.expected_version = 1;
        res = roundtrip(h, &stale);
        assert_int_equal(res.outcome, BG_OUTCOME_REJECTED);
        assert_int_equal(res.rejection.code, BG_REJECT_CONFLICT);

        fresh = stale;
        bg_uuid_generate(&fresh.command_id);
        fresh.expected_version = 2;
        res = roundtrip(h, &fresh);
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        assert_int_equal(res.first_seq, 3);
        assert_int_equal(account_events(h, &account), 3);

        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(duplicates_and_conflicts),
        };
        return cmocka_run_group_tests_name("commands_duplicate_and_conflict", tests, NULL, NULL);
}
