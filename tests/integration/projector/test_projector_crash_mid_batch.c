/*
 * kill -9 of the projector in the middle of a batch, then a restart: every table equals
 * the one a projector built without a crash (no duplicate audit rows, no missing ones).
 *
 *   1. BILLING_FAULT_KILL_MID_BATCH: the process SIGKILLs itself after half of a batch's
 *      writes reached PostgreSQL, before COMMIT;
 *   2. kill -9 from outside at arbitrary moments, several times in a row.
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

#include "bg_proc.h"
#include "bg_test_support.h"
#include "pj_fixture.h"

/* Builds @clean without faults and compares every table of @crashed with it. */
static void assert_equal_to_clean_run(pjt_t *t, const char *crashed) {
        char clean[64];
        pid_t pid;

        pjt_schema(t, clean);
        pid = pjt_start(t, clean, "clean", NULL, NULL);
        if (!pjt_wait_caught_up(t, clean, 120000))
                fail_msg("the clean projector did not reach the end");
        bg_proc_stop(pid, SIGTERM, 10000);

        pjt_assert_same_tables(t, crashed, clean);
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", crashed),
                         (long long)t->pt_produced);
        assert_int_equal(pjt_count(t, "SELECT count(DISTINCT log_entry_id) FROM %s.audit_log",
                                   crashed), (long long)t->pt_produced);
}

static void killed_before_commit_mid_batch(void **state) {
        pjt_t *t = pjt_new("it-proj-crash", 3, true);
        char schema[64];
        char *fault[] = {"BILLING_FAULT_KILL_MID_BATCH=3", "BILLING_BATCH_MAX=250",
                         "BILLING_PROJECTOR_LANES=1",
                         "BILLING_BATCH_MS=200", NULL};
        char *calm[] = {"BILLING_BATCH_MAX=250", NULL};
        long long before, end_applied;
        pid_t pid;
        int status = 0;

        pjt_produce_random(t, 40, 6000);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "fault", NULL, fault);
        for (int i = 0; i < 600 && bg_proc_running(pid, &status); i++)
                usleep(100 * 1000);
        assert_false(bg_proc_running(pid, &status));
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        assert_true(pjt_log_contains(t, "fault", "fault injection: killing myself in the middle"));

        /* What is stored is exactly two committed batches' worth, never the third's half. */
        before = pjt_stored_total(t, schema);
        end_applied = pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema);
        assert_true(before > 0);
        assert_true(end_applied > 0 && end_applied <= 2 * 250);
        assert_int_equal(pjt_count(t, "SELECT coalesce(sum(seq), 0) FROM %s.account_seq", schema),
                         end_applied);

        pid = pjt_start(t, schema, "restart", NULL, calm);
        if (!pjt_wait_caught_up(t, schema, 120000))
                fail_msg("the restarted projector did not reach the end");
        bg_proc_stop(pid, SIGTERM, 10000);

        assert_equal_to_clean_run(t, schema);
        pjt_destroy(t);
}

static void killed_at_arbitrary_moments(void **state) {
        pjt_t *t = pjt_new("it-proj-kill9", 4, false);
        char schema[64];
        char *slow[] = {"BILLING_BATCH_MAX=25", "BILLING_BATCH_MS=20", NULL};
        long long progress = 0, end;
        pid_t pid;
        int kills = 0, mid_stream = 0;

        pjt_produce_random(t, 80, 20000);
        end = pjt_log_end(t);
        assert_true(end >= (long long)t->pt_produced);
        pjt_schema(t, schema);
        srand((unsigned)getpid());
        while (kills < 5) {
                long long now;
                pid = pjt_start(t, schema, "kill9", NULL, slow);
                usleep((useconds_t)(300 + rand() % 700) * 1000);
                bg_proc_stop(pid, SIGKILL, 5000);
                now = pjt_stored_total(t, schema);
                assert_true(now >= progress);           /* never goes back */
                progress = now;
                kills++;
                /* Killed with part of the log still to project (the stored offsets are
                 * only ever written with the rows, so they were below the end when the
                 * kill landed). */
                if (now < end)
                        mid_stream++;
                print_message("kill %d at stored offsets %lld of %lld\n", kills, now, end);
                /* The audit log always matches the stored seqs: nothing half applied. */
                assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                                 pjt_count(t, "SELECT coalesce(sum(seq), 0) FROM %s.account_seq",
                                           schema));
        }
        /* At least one kill must have landed mid-stream, or this tested nothing. */
        if (mid_stream == 0)
                fail_msg("none of the %d kills landed before the end of the log (%lld)", kills,
                         end);
        pid = pjt_start(t, schema, "kill9-final", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 120000))
                fail_msg("the projector did not reach the end after %d kills", kills);
        bg_proc_stop(pid, SIGTERM, 10000);

        assert_equal_to_clean_run(t, schema);
        pjt_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(killed_before_commit_mid_batch),
                cmocka_unit_test(killed_at_arbitrary_moments),
        };
        return cmocka_run_group_tests_name("projector_crash_mid_batch", tests, NULL, NULL);
}
