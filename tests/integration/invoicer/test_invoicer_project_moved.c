/*
 * A project moved in the middle of the month: each usage record goes to the group the
 * project belonged to at its timestamp_begin, so the month's usage splits between the two
 * groups' invoices, even when every record arrives after the move. A project created
 * without a group lands in the account's primary group, and its usage on that group's
 * invoice.
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

static void moved_project_split_between_groups(void **state) {
        int64_t start = invh_real_ms(), before, after;
        invh_t *t = invh_new("it-inv-moved", 2, start + 120000);
        static codec_usage_t u;
        bg_uuid_t g1, g2, p = {{0}};
        char n1[64], n2[64], pid[BG_UUID_STR_LEN + 1];
        ref_t ref = {0};

        invh_create_group(t, &g1, "Before", BG_CURRENCY_EUR, NULL);
        invh_create_group(t, &g2, "After", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p, "mover", &g1);
        invh_start(t, NULL);
        usleep(300 * 1000);
        before = invh_real_ms();
        usleep(300 * 1000);
        invh_move_project(t, "mover", &g2);
        usleep(300 * 1000);
        after = invh_real_ms();

        /* Everything is published after the move; the timestamps decide. */
        for (int i = 0; i < 30; i++) {
                invh_usage(&u, &p, "kafka-1", before - 200 - i, 1000000 + i, 1230000);
                invh_publish(t, &u);
                ref_add(&ref, &g1, &u);
                invh_usage(&u, &p, "kafka-1", after + i, 2000000 + i, 1230000);
                invh_publish(t, &u);
                ref_add(&ref, &g2, &u);
        }
        invh_flush(t);
        invh_wait_consumed(t, 60000);

        invh_number(&g1, before, n1, sizeof(n1));
        invh_number(&g2, after, n2, sizeof(n2));
        bg_uuid_format(&p, pid);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND project_id = '%s'", n1, pid),
                         (int64_t)ref_find(&ref, &g1, before, &p, "kafka-1")->amount);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND project_id = '%s'", n2, pid),
                         (int64_t)ref_find(&ref, &g2, after, &p, "kafka-1")->amount);
        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", n1), 30);
        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", n2), 30);

        invh_set_clock(t, invh_next_month(after) + 3600000 + 1);
        invh_wait_due(t, n1, 30000);
        invh_wait_due(t, n2, 30000);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  n1), ref_invoice_cents_total(&ref, &g1, before));
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  n2), ref_invoice_cents_total(&ref, &g2, after));
        ref_free(&ref);
        invh_destroy(t);
}

static void primary_group_gets_unassigned_project(void **state) {
        int64_t now = invh_real_ms();
        invh_t *t = invh_new("it-inv-primary", 2, now + 60000);
        static codec_usage_t u;
        bg_uuid_t other, primary, p = {{0}};
        char n_other[64], n_primary[64];
        ref_t ref = {0};

        invh_create_group(t, &other, "Other", BG_CURRENCY_EUR, NULL);
        invh_create_group(t, &primary, "Primary", BG_CURRENCY_EUR, NULL);
        invh_set_primary(t, &primary);
        invh_create_project(t, &p, "defaulted", NULL);
        for (int i = 0; i < 10; i++) {
                invh_usage(&u, &p, "pg-1", now - 1000 + i, 3000000, 990000 + i);
                invh_publish(t, &u);
                ref_add(&ref, &primary, &u);
        }
        invh_flush(t);
        invh_start(t, NULL);
        invh_wait_consumed(t, 60000);
        invh_number(&other, now, n_other, sizeof(n_other));
        invh_number(&primary, now, n_primary, sizeof(n_primary));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoices WHERE invoice_number = '%s'",
                                  n_other), 0);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  n_primary), ref_invoice_exact(&ref, &primary, now));
        ref_free(&ref);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(moved_project_split_between_groups),
                cmocka_unit_test(primary_group_gets_unassigned_project),
        };
        return cmocka_run_group_tests_name("invoicer_project_moved", tests, NULL, NULL);
}
