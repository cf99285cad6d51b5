/*
 * A crash between produce and commit: the service appends a transaction's events and
 * results to the broker and dies by SIGKILL before committing (fault injection at that
 * exact point). A read_committed consumer sees none of it; after a restart every command
 * is handled exactly once: one result each, events seq 1..N with no gap or repeat.
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
#include <unistd.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"

#define ACTOR "user:owner@example.com"
#define NGROUPS 5

static size_t count_account_events(cmdh_t *h, bool committed, const bg_uuid_t *account) {
        bg_event_t *events;
        size_t n = cmdh_read_events_isolation(h, committed, &events, NULL), mine = 0;

        for (size_t i = 0; i < n; i++)
                if (bg_uuid_equal(&events[i].account_id, account)) {
                        if (committed)
                                assert_int_equal(events[i].seq, (int64_t)mine + 1);
                        mine++;
                }
        free(events);
        return mine;
}

static void killed_before_commit_leaves_nothing_then_exactly_once(void **state) {
        cmdh_t *h = cmdh_new("it-cmd-crash", 2);
        char *fault_env[] = {"BILLING_FAULT_KILL_BEFORE_COMMIT=2", "BILLING_BATCH_MS=500", NULL};
        static bg_command_t cmd, groups[NGROUPS];
        bg_command_result_t res;
        bg_uuid_t account;
        int status = 0;
        pid_t pid;

        bg_uuid_generate(&account);
        pid = cmdh_start(h, "crash-0", fault_env);

        cmdh_command_init(&cmd, BG_CMD_CREATE_ACCOUNT, &account, ACTOR);
        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Crashy");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        cmdh_publish(h, &cmd);
        assert_true(cmdh_wait_result(h, &cmd.command_id, 60000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);

        /* The second transaction holds these and is never committed. */
        for (int i = 0; i < NGROUPS; i++) {
                cmdh_command_init(&groups[i], BG_CMD_CREATE_BILLING_GROUP, &account, ACTOR);
                bg_uuid_generate(&groups[i].payload.create_billing_group.billing_group_id);
                snprintf(groups[i].payload.create_billing_group.name, BG_NAME_SIZE, "Group %d", i);
                cmdh_publish(h, &groups[i]);
        }
        for (int waited = 0; waited < 600 && bg_proc_running(pid, &status); waited++)
                usleep(100 * 1000);
        assert_false(bg_proc_running(pid, &status));
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);

        /* The events reached the log but stay invisible: only the first is committed. */
        assert_true(count_account_events(h, false, &account) > 1);
        assert_int_equal(count_account_events(h, true, &account), 1);
        for (int i = 0; i < NGROUPS; i++)
                assert_int_equal(cmdh_count_results(h, &groups[i].command_id, 200), 0);

        /* Restart: the open transaction is aborted by init_transactions, the commands are
         * read again from the committed offset and handled once. */
        pid = cmdh_start(h, "crash-0", NULL);
        for (int i = 0; i < NGROUPS; i++) {
                assert_true(cmdh_wait_result(h, &groups[i].command_id, 60000, &res));
                assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
                assert_int_equal(res.first_seq, i + 2);
        }
        for (int i = 0; i < NGROUPS; i++)
                assert_int_equal(cmdh_count_results(h, &groups[i].command_id, 500), 1);
        assert_int_equal(count_account_events(h, true, &account), 1 + NGROUPS);

        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(killed_before_commit_leaves_nothing_then_exactly_once),
        };
        return cmocka_run_group_tests_name("commands_crash_before_commit", tests, NULL, NULL);
}
