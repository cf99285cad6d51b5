/*
 * A PostgreSQL restart while the projector runs is survived: the projector reconnects
 * with backoff, resumes from the stored offsets, and ends with the same tables as a
 * projector that never saw the restart. Events keep arriving during the restart.
 *
 * Each restart happens while the projector still has a backlog, with a batch in flight:
 * the test holds an exclusive lock on the projector's audit_log (so its next commit
 * waits), checks that the stored offsets are below the end of the log, and restarts
 * PostgreSQL under both.
 *
 * Restarts the stack's cluster (BILLING_PG_DATA, BILLING_PG_BIN) with pg_ctl as the
 * postgres user; run against a stack of the test run's own.
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

static void restart_postgres(void) {
        char cmd[1024];
        int rc;

        snprintf(cmd, sizeof(cmd), "%s %s/pg_ctl -D %s -m fast -w -t 60 restart >/dev/null 2>&1",
                 getuid() == 0 ? "runuser -u postgres --" : "", bg_test_env("BILLING_PG_BIN"),
                 bg_test_env("BILLING_PG_DATA"));
        rc = system(cmd);
        if (rc != 0)
                fail_msg("\"%s\" failed (%d)", cmd, rc);
}

/* Holds the projector before its next commit and returns its stored offsets, which stay
 * there until the restart: an ACCESS EXCLUSIVE lock on its audit_log (every batch of
 * events writes it) in an open transaction of the test's connection. */
static long long hold_projector(pjt_t *t, const char *schema) {
        char sql[256];
        PGresult *res;

        snprintf(sql, sizeof(sql), "BEGIN; LOCK TABLE %s.audit_log IN ACCESS EXCLUSIVE MODE",
                 schema);
        res = PQexec(t->pt_conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                fail_msg("\"%s\" failed: %s", sql, PQerrorMessage(t->pt_conn));
        PQclear(res);
        usleep(300 * 1000);             /* its next batch reaches the lock */
        return pjt_stored_total(t, schema);
}

/* Restarts PostgreSQL while the projector is held mid-stream: the stored offsets must be
 * below the end of the log then (it had a backlog), and not move before the restart. */
static void restart_mid_stream(pjt_t *t, const char *schema) {
        long long stored = hold_projector(t, schema), end = pjt_log_end(t);

        if (stored <= 0 || stored >= end)
                fail_msg("not mid-stream at the restart: stored offsets %lld, log end %lld",
                         stored, end);
        assert_int_equal(pjt_stored_total(t, schema), stored);
        restart_postgres();
        PQreset(t->pt_conn);            /* the restart ended the test's session too */
        if (PQstatus(t->pt_conn) != CONNECTION_OK)
                fail_msg("cannot reconnect to PostgreSQL: %s", PQerrorMessage(t->pt_conn));
        print_message("restarted PostgreSQL at stored offsets %lld of %lld\n", stored, end);
}

static void projector_survives_a_postgres_restart(void **state) {
        pjt_t *t = pjt_new("it-proj-pgrestart", 3, true);
        char schema[64], clean[64];
        char *slow[] = {"BILLING_BATCH_MAX=50", "BILLING_BATCH_MS=20", NULL};
        pid_t pid, pid2;
        int status;

        pjt_produce_random(t, 60, 15000);
        pjt_schema(t, schema);
        pid = pjt_start(t, schema, "live", NULL, slow);
        for (int i = 0; i < 3000 && pjt_stored_total(t, schema) == 0; i++)
                usleep(10 * 1000);
        assert_true(pjt_stored_total(t, schema) > 0);

        restart_mid_stream(t, schema);
        pjt_produce_random(t, 30, 5000);            /* the log moves on meanwhile */
        restart_mid_stream(t, schema);              /* and once more */
        pjt_produce_random(t, 30, 5000);

        if (!pjt_wait_caught_up(t, schema, 180000))
                fail_msg("the projector did not catch up after the restarts");
        assert_true(bg_proc_running(pid, &status));
        assert_true(pjt_log_contains(t, "live", "reconnected to PostgreSQL"));

        pjt_schema(t, clean);
        pid2 = pjt_start(t, clean, "clean", NULL, NULL);
        if (!pjt_wait_caught_up(t, clean, 120000))
                fail_msg("the clean projector did not reach the end");
        bg_proc_stop(pid2, SIGTERM, 10000);
        status = bg_proc_stop(pid, SIGTERM, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        pjt_assert_same_tables(t, schema, clean);
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                         (long long)t->pt_produced);
        pjt_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(projector_survives_a_postgres_restart),
        };
        return cmocka_run_group_tests_name("projector_postgres_restart", tests, NULL, NULL);
}
