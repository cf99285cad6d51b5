/*
 * kill -9 at any moment leaves every invoice line exactly as without the crash: the
 * invoicer dies once by fault injection after a batch's writes were sent and before
 * COMMIT, then several times by SIGKILL from outside while it works through a backlog
 * (with duplicates in it). Every line, record count and total equals the reference
 * calculation. Then it dies after publishing the final invoice and before marking the
 * outbox: a read_committed consumer still sees the invoice exactly once.
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
#include "inv_harness.h"

#define RECORDS 30000

static const char *const services[] = {"kafka-a", "pg-b", "redis-c", "os-d"};

static void wait_killed(invh_t *t) {
        int status = 0;

        for (int waited = 0; waited < 600 && bg_proc_running(t->t_inv_pid, &status); waited++)
                usleep(100 * 1000);
        assert_false(bg_proc_running(t->t_inv_pid, &status));
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        t->t_inv_pid = 0;
}

static void kill9_leaves_lines_exact(void **state) {
        int64_t now = invh_real_ms();
        invh_t *t = invh_new("it-inv-crash", 4, now + 60000);
        char *fault[] = {"BILLING_FAULT_KILL_BEFORE_COMMIT=3", "BILLING_BATCH_MAX=1000", NULL};
        char *small[] = {"BILLING_BATCH_MAX=700", NULL};
        char *publish_fault[] = {"BILLING_FAULT_KILL_AFTER_PUBLISH=1", NULL};
        static codec_usage_t u, prev;
        bg_uuid_t g, p[3] = {{{0}}};
        char number[64], pid[BG_UUID_STR_LEN + 1];
        ref_t ref = {0};
        uint32_t seed = 777;
        codec_invoice_t *inv;
        size_t ninv;
        int64_t distinct = 0;

        invh_create_group(t, &g, "G", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p[0], "crash-a", &g);
        invh_create_project(t, &p[1], "crash-b", &g);
        invh_create_project(t, &p[2], "crash-c", &g);
        for (int i = 0; i < RECORDS; i++) {
                seed = seed * 1103515245 + 12345;
                if (i > 0 && seed % 50 == 0) {
                        invh_publish(t, &prev);         /* a duplicate */
                        continue;
                }
                invh_usage(&u, &p[seed % 3], services[(seed >> 3) % 4], now - 60000 + i % 50000,
                           1 + (seed >> 5) % 5000000, 1 + (seed >> 7) % 3000000);
                invh_publish(t, &u);
                ref_add(&ref, &g, &u);
                prev = u;
                distinct++;
        }
        invh_flush(t);

        invh_start(t, fault);
        wait_killed(t);
        assert_true(invh_log_contains(t, "killing myself before COMMIT"));
        for (int k = 0; k < 3; k++) {
                int64_t before = invh_i64(t, "SELECT coalesce(sum(next_offset), 0) FROM "
                                          "consumer_offsets WHERE topic = '%s'",
                                          t->t_cmd->ch_topics.kt_usage);
                invh_start(t, small);
                for (int tries = 0; tries < 300; tries++) {
                        if (invh_i64(t, "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets "
                                     "WHERE topic = '%s'", t->t_cmd->ch_topics.kt_usage) > before)
                                break;
                        usleep(20 * 1000);
                }
                usleep((useconds_t)(50 + 97 * k) * 1000);
                assert_int_equal(WTERMSIG(bg_proc_stop(t->t_inv_pid, SIGKILL, 10000)), SIGKILL);
                t->t_inv_pid = 0;
        }
        invh_start(t, small);
        invh_wait_consumed(t, 120000);

        invh_number(&g, now, number, sizeof(number));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM usage_seen"), distinct);
        assert_int_equal(invh_i64(t, "SELECT sum(usage_records) FROM invoice_lines"), distinct);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines"), (int64_t)ref.n);
        for (size_t i = 0; i < ref.n; i++) {
                bg_uuid_format(&ref.lines[i].project, pid);
                assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE "
                                          "invoice_number = '%s' AND project_id = '%s' AND "
                                          "service_name = '%s'", number, pid,
                                          ref.lines[i].service),
                                 (int64_t)ref.lines[i].amount);
                assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                          "invoice_number = '%s' AND project_id = '%s' AND "
                                          "service_name = '%s'", number, pid,
                                          ref.lines[i].service), ref.lines[i].records);
        }
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  number), ref_invoice_exact(&ref, &g, now));
        invh_stop(t);

        /* Final, published, and killed before the outbox is marked. */
        invh_set_clock(t, invh_next_month(now) + 3600000 + 1000);
        invh_start(t, publish_fault);
        wait_killed(t);
        assert_true(invh_log_contains(t, "killing myself after publishing"));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_outbox WHERE NOT published"), 1);
        invh_start(t, NULL);
        for (int tries = 0; tries < 100; tries++) {
                if (invh_i64(t, "SELECT count(*) FROM invoice_outbox WHERE NOT published") == 0)
                        break;
                usleep(100 * 1000);
        }
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_outbox WHERE NOT published"), 0);
        assert_true(invh_log_contains(t, "were published before a restart"));
        usleep(1500 * 1000);
        ninv = invh_read_invoices(t, &inv);
        assert_int_equal(ninv, 1);
        assert_string_equal(inv[0].invoice_number, number);
        assert_int_equal(inv[0].total_vat_zero, ref_invoice_cents_total(&ref, &g, now));
        assert_int_equal(inv[0].n_lines, ref.n);
        invh_free_invoices(inv, ninv);
        ref_free(&ref);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(kill9_leaves_lines_exact),
        };
        return cmocka_run_group_tests_name("invoicer_crash", tests, NULL, NULL);
}
