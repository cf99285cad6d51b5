/*
 * Credits at finalization: project-scoped credits on their project's lines first, then
 * group credits by earliest expiry; partly consumed credits keep their remaining value
 * for the next invoice; a credit that expired before the period is not used; a credit
 * with digits below the cent leaves a rounding line.
 *
 * Month M (the current one), group G: project A 100.00, B 50.00.
 *   PA  300.00   project A only, no expiry   -> uses 100.00 (A's charges), 200.00 left
 *   G2   30.004  group, expires in 100 days  -> uses 30.004 (all)
 *   G1   40.00   group, expires in 400 days  -> uses 19.996, 20.004 left
 *   total 0.00
 * Month M+1, group G: A 20.00 -> PA uses 20.00 (180.00 left), total 0.00.
 * Month M+1, group H: C 20.00; E (expired during M) not used; F 5.005 used;
 *   rounding line +0.005; total 15.00.
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

#define DAY INT64_C(86400000)

static void charge(invh_t *t, const bg_uuid_t *p, int64_t at, int64_t amount) {
        static codec_usage_t u;

        invh_usage(&u, p, "svc", at, 1000000, 0);
        u.has_amount = true;
        u.amount = amount;
        invh_publish(t, &u);
}

static int64_t credit_line(invh_t *t, const char *number, const char *code) {
        return invh_i64(t, "SELECT line_total FROM invoice_lines WHERE invoice_number = '%s' "
                        "AND line_key = 'credit/%s' AND line_type = 'credit_consumption'",
                        number, code);
}

static int64_t remaining(invh_t *t, const char *code) {
        return invh_i64(t, "SELECT remaining FROM credits WHERE code = '%s'", code);
}

static void credits_applied_in_order(void **state) {
        int64_t now = invh_real_ms(), m1, mid1;
        invh_t *t = invh_new("it-inv-credits", 2, now + 60000);
        bg_uuid_t g, h, a = {{0}}, b = {{0}}, c = {{0}};
        char gm[64], gm1[64], hm1[64];

        invh_create_group(t, &g, "G", BG_CURRENCY_EUR, NULL);
        invh_create_group(t, &h, "H", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &a, "proj-a", &g);
        invh_create_project(t, &b, "proj-b", &g);
        invh_create_project(t, &c, "proj-c", &h);
        invh_credit(t, "PA", 300000000, BG_CURRENCY_EUR, now - 1000, false, 0, &g, &a);
        invh_credit(t, "G1", 40000000, BG_CURRENCY_EUR, now - 1000, true, now + 400 * DAY, &g,
                    NULL);
        invh_credit(t, "G2", 30004000, BG_CURRENCY_EUR, now - 1000, true, now + 100 * DAY, &g,
                    NULL);
        invh_credit(t, "E", 50000000, BG_CURRENCY_EUR, now - 1000, true, now + 60000, &h, NULL);
        invh_credit(t, "F", 5005000, BG_CURRENCY_EUR, now - 1000, false, 0, &h, NULL);

        charge(t, &a, now - 5000, 60000000);
        charge(t, &a, now - 4000, 40000000);
        charge(t, &b, now - 3000, 50000000);
        invh_flush(t);
        invh_start(t, NULL);
        invh_wait_consumed(t, 60000);

        /* Into M+1: M is final. */
        m1 = invh_next_month(now);
        mid1 = m1 + 10 * DAY;
        invh_set_clock(t, mid1);
        invh_number(&g, now, gm, sizeof(gm));
        invh_wait_due(t, gm, 30000);
        assert_int_equal(credit_line(t, gm, "PA"), -100000000);
        assert_int_equal(credit_line(t, gm, "G2"), -30004000);
        assert_int_equal(credit_line(t, gm, "G1"), -19996000);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = '%s'",
                                  gm), 5);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  gm), 0);
        assert_int_equal(remaining(t, "PA"), 200000000);
        assert_int_equal(remaining(t, "G2"), 0);
        assert_int_equal(remaining(t, "G1"), 20004000);

        charge(t, &a, m1 + DAY, 20000000);
        charge(t, &c, m1 + DAY, 20000000);
        invh_flush(t);
        invh_wait_consumed(t, 60000);
        invh_set_clock(t, invh_next_month(mid1) + 3600000 + 1);
        invh_number(&g, mid1, gm1, sizeof(gm1));
        invh_number(&h, mid1, hm1, sizeof(hm1));
        invh_wait_due(t, gm1, 30000);
        invh_wait_due(t, hm1, 30000);

        /* The remaining value of PA pays A's next month. */
        assert_int_equal(credit_line(t, gm1, "PA"), -20000000);
        assert_int_equal(credit_line(t, gm1, "G1"), -1);
        assert_int_equal(remaining(t, "PA"), 180000000);
        assert_int_equal(remaining(t, "G1"), 20004000);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  gm1), 0);

        /* H: E expired before M+1 began, F is used, the half cent is rounded up. */
        assert_int_equal(credit_line(t, hm1, "E"), -1);
        assert_int_equal(remaining(t, "E"), -1);
        assert_int_equal(credit_line(t, hm1, "F"), -5005000);
        assert_int_equal(remaining(t, "F"), 0);
        assert_int_equal(invh_i64(t, "SELECT line_total FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND line_type = 'rounding'", hm1), 5000);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  hm1), 15000000);
        assert_int_equal(invh_i64(t, "SELECT sum(line_total) FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", hm1), 15000000);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(credits_applied_in_order),
        };
        return cmocka_run_group_tests_name("invoicer_credits", tests, NULL, NULL);
}
