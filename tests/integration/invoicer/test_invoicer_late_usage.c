/*
 * Late usage: once a month's invoice is final it never changes; usage for that month
 * arriving afterwards is billed on the next open invoice of the group as an extra_charge
 * line that names the month. Each final invoice is published once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inv_harness.h"

static void charge(invh_t *t, const bg_uuid_t *p, int64_t at, int64_t amount) {
        static codec_usage_t u;

        invh_usage(&u, p, "kafka-1", at, 1000000, 0);
        u.has_amount = true;
        u.amount = amount;
        invh_publish(t, &u);
}

static void late_usage_lands_on_next_invoice(void **state) {
        int64_t now = invh_real_ms(), next = invh_next_month(now);
        invh_t *t = invh_new("it-inv-late", 2, now + 60000);
        bg_uuid_t g, p = {{0}};
        char m[64], m1[64], month[16], desc[128];
        codec_invoice_t *inv;
        size_t ninv;
        time_t secs = (time_t)(now / 1000);
        struct tm tm;

        invh_create_group(t, &g, "G", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p, "late", &g);
        charge(t, &p, now - 5000, 10000000);
        invh_flush(t);
        invh_start(t, NULL);
        invh_wait_consumed(t, 60000);

        invh_set_clock(t, next + 3600000 + 1000);
        invh_number(&g, now, m, sizeof(m));
        invh_number(&g, next, m1, sizeof(m1));
        invh_wait_due(t, m, 30000);

        /* Two late records for the final month, and one on time for the new one. */
        charge(t, &p, now - 4000, 3000000);
        charge(t, &p, now - 3000, 2000000);
        charge(t, &p, next + 1000, 7000000);
        invh_flush(t);
        invh_wait_consumed(t, 60000);

        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  m), 10000000);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = '%s'",
                                  m), 1);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND line_type = 'extra_charge' AND late_period_begin = "
                                  "(SELECT period_begin FROM invoices WHERE invoice_number = '%s')",
                                  m1, m), 5000000);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND line_type = 'service_charge'", m1), 7000000);
        gmtime_r(&secs, &tm);
        strftime(month, sizeof(month), "%Y-%m", &tm);
        snprintf(desc, sizeof(desc), "Late usage for %s", month);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND line_type = 'extra_charge' AND description LIKE '%s%%'",
                                  m1, desc), 1);

        invh_set_clock(t, invh_next_month(next) + 3600000 + 1000);
        invh_wait_due(t, m1, 30000);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  m1), 12000000);
        for (int tries = 0; tries < 100; tries++) {
                if (invh_i64(t, "SELECT count(*) FROM invoice_outbox WHERE published") == 2)
                        break;
                usleep(100 * 1000);
        }
        ninv = invh_read_invoices(t, &inv);
        assert_int_equal(ninv, 2);
        for (size_t i = 0; i < ninv; i++) {
                bool second = strcmp(inv[i].invoice_number, m1) == 0;
                assert_true(second || strcmp(inv[i].invoice_number, m) == 0);
                assert_int_equal(inv[i].total_vat_zero, second ? 12000000 : 10000000);
                assert_int_equal(inv[i].n_lines, second ? 2 : 1);
        }
        invh_free_invoices(inv, ninv);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(late_usage_lands_on_next_invoice),
        };
        return cmocka_run_group_tests_name("invoicer_late_usage", tests, NULL, NULL);
}
