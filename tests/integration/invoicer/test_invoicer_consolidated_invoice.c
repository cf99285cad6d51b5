/*
 * A consolidated invoice: one billing group with three projects, each running three
 * services, plus a second group's project that must not appear on it. While the month is
 * open the estimate in PostgreSQL holds the accumulated cost; after period end + grace
 * the invoice is final (lines rounded half-up to cents, VAT of the group's country) and
 * published once to the invoices topic. Every figure is checked against the independent
 * reference calculation, to the micro.
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

#define RECORDS_PER_SERVICE 40

static const char *const services[] = {"kafka-events", "pg-main", "redis-cache"};

static void consolidated_invoice_matches_reference(void **state) {
        int64_t now = invh_real_ms();
        invh_t *t = invh_new("it-inv-consolidated", 2, now + 60000);
        char *env[] = {"BILLING_VAT_RATES=FI=24,DE=19", NULL};
        static codec_usage_t u;
        bg_uuid_t g, other, p[3] = {{{0}}}, q = {{0}};
        char number[64], other_number[64];
        ref_t ref = {0};
        uint32_t seed = 12345;
        codec_invoice_t *inv;
        size_t ninv, found = 0;
        int64_t total, vat;

        invh_create_group(t, &g, "Engineering", BG_CURRENCY_EUR, "FI");
        invh_create_group(t, &other, "Marketing", BG_CURRENCY_EUR, "DE");
        invh_create_project(t, &p[0], "web-prod", &g);
        invh_create_project(t, &p[1], "data-prod", &g);
        invh_create_project(t, &p[2], "ml-dev", &g);
        invh_create_project(t, &q, "ads", &other);
        invh_start(t, env);

        for (int k = 0; k < 3; k++)
                for (int s = 0; s < 3; s++)
                        for (int i = 0; i < RECORDS_PER_SERVICE; i++) {
                                seed = seed * 1103515245 + 12345;
                                /* Quantities and prices with all six decimals in use. */
                                invh_usage(&u, &p[k], services[s], now - 5000 + i,
                                           1 + (seed >> 8) % 3000000, 1 + (seed >> 4) % 2345678);
                                if (i % 7 == 3) {
                                        u.has_amount = true;    /* amount wins over the price */
                                        u.amount = 1 + (seed >> 3) % 999999;
                                }
                                invh_publish(t, &u);
                                ref_add(&ref, &g, &u);
                        }
        for (int i = 0; i < 10; i++) {
                invh_usage(&u, &q, "kafka-ads", now - 3000 + i, 2000000, 1500000);
                invh_publish(t, &u);
                ref_add(&ref, &other, &u);
        }
        invh_flush(t);
        invh_wait_consumed(t, 60000);

        /* The estimate: the accumulated cost, exact. */
        invh_number(&g, now, number, sizeof(number));
        invh_number(&other, now, other_number, sizeof(other_number));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoices WHERE invoice_number = '%s' "
                                  "AND state = 'estimate' AND total_inc_vat IS NULL", number), 1);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoices"), 2);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  number),
                         ref_invoice_exact(&ref, &g, now));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = '%s'",
                                  number), 9);
        for (int k = 0; k < 3; k++)
                for (int s = 0; s < 3; s++) {
                        char pid[BG_UUID_STR_LEN + 1];
                        const ref_line_t *l = ref_find(&ref, &g, now, &p[k], services[s]);

                        bg_uuid_format(&p[k], pid);
                        assert_non_null(l);
                        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE "
                                                  "invoice_number = '%s' AND project_id = '%s' "
                                                  "AND service_name = '%s' AND line_type = "
                                                  "'service_charge'", number, pid, services[s]),
                                         (int64_t)l->amount);
                        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                                  "invoice_number = '%s' AND project_id = '%s' "
                                                  "AND service_name = '%s'", number, pid,
                                                  services[s]), RECORDS_PER_SERVICE);
                }

        /* Period end + grace (default 1 h): final. */
        invh_set_clock(t, invh_next_month(now) + 3600000 + 1000);
        invh_wait_due(t, number, 30000);
        invh_wait_due(t, other_number, 30000);
        total = ref_invoice_cents_total(&ref, &g, now);
        vat = ref_round_cents((__int128)total * 24 / 100);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = '%s'",
                                  number), total);
        assert_int_equal(invh_i64(t, "SELECT total_inc_vat FROM invoices WHERE invoice_number = '%s'",
                                  number), total + vat);
        assert_int_equal(invh_i64(t, "SELECT sum(line_total) FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", number), total);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = '%s' "
                                  "AND line_total %% 10000 <> 0", number), 0);
        assert_int_equal(invh_i64(t, "SELECT total_inc_vat FROM invoices WHERE invoice_number = '%s'",
                                  other_number),
                         ref_invoice_cents_total(&ref, &other, now) +
                                 ref_round_cents((__int128)ref_invoice_cents_total(&ref, &other, now) *
                                                 19 / 100));

        /* Published once, with every line. */
        for (int tries = 0; tries < 100; tries++) {
                if (invh_i64(t, "SELECT count(*) FROM invoice_outbox WHERE NOT published") == 0)
                        break;
                usleep(100 * 1000);
        }
        ninv = invh_read_invoices(t, &inv);
        assert_int_equal(ninv, 2);
        for (size_t i = 0; i < ninv; i++) {
                if (strcmp(inv[i].invoice_number, number) != 0)
                        continue;
                found++;
                assert_int_equal(inv[i].state, CODEC_INVOICE_DUE);
                assert_int_equal(inv[i].revision, 1);
                assert_int_equal(inv[i].n_lines, 9);
                assert_int_equal(inv[i].total_vat_zero, total);
                assert_int_equal(inv[i].total_inc_vat, total + vat);
                assert_int_equal(inv[i].currency, BG_CURRENCY_EUR);
                assert_true(inv[i].has_issue_date && inv[i].issue_date == invh_next_month(now));
                assert_string_equal(inv[i].billing_group_name, "Engineering");
                for (size_t k = 0; k < inv[i].n_lines; k++) {
                        const codec_invoice_line_t *l = &inv[i].lines[k];
                        const bg_uuid_t *proj = strcmp(l->project_name, "web-prod") == 0 ? &p[0] :
                                                strcmp(l->project_name, "data-prod") == 0 ? &p[1] :
                                                                                           &p[2];
                        const ref_line_t *r = ref_find(&ref, &g, now, proj, l->service_name);
                        assert_non_null(r);
                        assert_int_equal(l->line_total, ref_round_cents(r->amount));
                        assert_int_equal(l->line_type, CODEC_LINE_SERVICE_CHARGE);
                        assert_int_equal(l->n_tags, 1);
                }
        }
        assert_int_equal(found, 1);
        invh_free_invoices(inv, ninv);
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"billed\"}"),
                         t->t_produced);
        assert_int_equal(invh_metric(t, "billing_invoicer_invoices_finalized_total"), 2);

        ref_free(&ref);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(consolidated_invoice_matches_reference),
        };
        return cmocka_run_group_tests_name("invoicer_consolidated_invoice", tests, NULL, NULL);
}
