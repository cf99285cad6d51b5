#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "inv_batch.h"
#include "inv_totals.h"

/* The invoicer's batch and the stored sums it checks records against: sums add up per
 * line and invoice, and a record that would not fit is refused with the batch left as it
 * was. Expected values are written out by hand. */

#define MAX_AMOUNT INT64_C(999999999999999999)   /* the largest decimal(18, 6) */

typedef struct fixture_s {
        inv_batch_t batch;
        inv_totals_t *totals;
        bg_uuid_t group, account, project;
        codec_usage_t u;
        inv_charge_t c;
        char errstr[512];
} fixture_t;

static int setup(void **state) {
        fixture_t *f = test_calloc(1, sizeof(*f));

        inv_batch_init(&f->batch);
        f->totals = inv_totals_new();
        assert_non_null(f->totals);
        memset(f->group.b, 0x11, 16);
        memset(f->account.b, 0x22, 16);
        memset(f->project.b, 0x33, 16);
        f->u.line_type = CODEC_LINE_SERVICE_CHARGE;
        snprintf(f->u.service_name, sizeof(f->u.service_name), "kafka-1");
        f->c.ic_invoice = "1111111111111111-202611";
        f->c.ic_group = &f->group;
        f->c.ic_account = &f->account;
        f->c.ic_group_name = "Group";
        f->c.ic_currency = BG_CURRENCY_EUR;
        f->c.ic_project = &f->project;
        f->c.ic_project_name = "p";
        f->c.ic_late_period = -1;
        f->c.ic_usage = &f->u;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture_t *f = *state;

        inv_batch_free(&f->batch);
        inv_totals_destroy(f->totals);
        test_free(f);
        return 0;
}

static int add(fixture_t *f, const char *service, int64_t quantity, int64_t amount) {
        snprintf(f->u.service_name, sizeof(f->u.service_name), "%s", service);
        f->u.quantity = quantity;
        f->c.ic_amount = amount;
        return inv_batch_add(&f->batch, f->totals, &f->c, f->errstr, sizeof(f->errstr));
}

static void sums_add_up_per_line_and_invoice(void **state) {
        fixture_t *f = *state;

        assert_int_equal(add(f, "kafka-1", 2000000, 1500000), 0);
        assert_int_equal(add(f, "kafka-1", 1000000, 250000), 0);
        assert_int_equal(add(f, "pg-1", 3000000, 7), 0);
        assert_int_equal(f->batch.ib_nheaders, 1);
        assert_int_equal(f->batch.ib_nlines, 2);
        assert_int_equal(f->batch.ib_lines[0].il_quantity, 3000000);
        assert_int_equal(f->batch.ib_lines[0].il_amount, 1750000);
        assert_int_equal(f->batch.ib_lines[0].il_records, 2);
        assert_string_equal(f->batch.ib_lines[0].il_key,
                            "33333333-3333-3333-3333-333333333333/service_charge/-/kafka-1");
        assert_int_equal(f->batch.ib_lines[1].il_amount, 7);
        assert_int_equal(f->batch.ib_headers[0].ih_amount, 1750007);
}

static void invoice_limit_counts_the_stored_sum(void **state) {
        fixture_t *f = *state;

        /* PostgreSQL holds 3 x max on the invoice. */
        assert_true(inv_totals_add_invoice(f->totals, f->c.ic_invoice, 3 * MAX_AMOUNT));
        /* A new line "b" of max: 4 x max - ... = 3999999999999999996 fits 4 x 10^18. */
        assert_int_equal(add(f, "b", 1, MAX_AMOUNT), 0);
        /* 5 more micros pass it: refused, and nothing of it is in the batch. */
        assert_int_equal(add(f, "c", 1, 5), INV_BATCH_OVER);
        assert_non_null(strstr(f->errstr, "sum overflows: the amount of invoice"));
        assert_int_equal(f->batch.ib_nlines, 1);
        assert_int_equal(f->batch.ib_headers[0].ih_amount, MAX_AMOUNT);
        /* 4 micros fit exactly up to the limit. */
        assert_int_equal(add(f, "c", 1, 4), 0);
        assert_int_equal(f->batch.ib_headers[0].ih_amount, MAX_AMOUNT + 4);
}

static void a_refused_record_leaves_no_empty_invoice(void **state) {
        fixture_t *f = *state;

        assert_true(inv_totals_add_invoice(f->totals, f->c.ic_invoice, INV_SUM_MAX));
        assert_int_equal(add(f, "a", 1, 1), INV_BATCH_OVER);
        assert_int_equal(f->batch.ib_nheaders, 0);
        assert_int_equal(f->batch.ib_nlines, 0);
        /* A record of 0 still fits. */
        assert_int_equal(add(f, "a", 1, 0), 0);
        assert_int_equal(f->batch.ib_nheaders, 1);
}

static void quantity_overflow_counts_the_stored_line(void **state) {
        fixture_t *f = *state;
        const char *key = "33333333-3333-3333-3333-333333333333/service_charge/-/q";
        inv_sum_t stored = {INT64_MAX - 10, 0};

        assert_true(inv_totals_add_line(f->totals, f->c.ic_invoice, key, stored));
        assert_int_equal(add(f, "q", 6, 1), 0);
        assert_int_equal(add(f, "q", 5, 1), INV_BATCH_OVER);    /* INT64_MAX - 10 + 11 */
        assert_non_null(strstr(f->errstr, "sum overflows: the quantity of line"));
        assert_int_equal(f->batch.ib_lines[0].il_quantity, 6);
        assert_int_equal(f->batch.ib_lines[0].il_amount, 1);
        assert_int_equal(f->batch.ib_lines[0].il_records, 1);
        assert_int_equal(add(f, "q", 4, 1), 0);                 /* exactly INT64_MAX */
        /* Another line of the same invoice has its own quantity. */
        assert_int_equal(add(f, "r", INT64_MAX, 0), 0);
}

static void totals_add_and_forget_per_invoice(void **state) {
        fixture_t *f = *state;
        inv_sum_t one = {1000000, 2500000}, big = {INT64_MAX, 0}, got;
        char numbers[][CODEC_INVOICE_NUMBER_MAX + 1] = {"C-202611", "A-202611"};

        assert_true(inv_totals_add_line(f->totals, "A-202611", "k", one));
        assert_true(inv_totals_add_line(f->totals, "A-202611", "k", one));
        assert_true(inv_totals_add_invoice(f->totals, "A-202611", 5000000));
        assert_true(inv_totals_add_line(f->totals, "B-202611", "k", one));
        got = inv_totals_line(f->totals, "A-202611", "k");
        assert_int_equal(got.is_quantity, 2000000);
        assert_int_equal(got.is_amount, 5000000);
        /* The invoice's own sum and a line's are kept apart. */
        assert_int_equal(inv_totals_invoice(f->totals, "A-202611"), 5000000);
        assert_int_equal(inv_totals_invoice(f->totals, "B-202611"), 0);
        /* A sum that would overflow is refused and changes nothing. */
        assert_false(inv_totals_add_line(f->totals, "A-202611", "k", big));
        assert_int_equal(inv_totals_line(f->totals, "A-202611", "k").is_quantity, 2000000);
        assert_int_equal(inv_totals_count(f->totals), 3);
        inv_totals_forget(f->totals, numbers, 2);      /* C has nothing: no harm */
        assert_int_equal(inv_totals_count(f->totals), 1);
        assert_int_equal(inv_totals_line(f->totals, "A-202611", "k").is_amount, 0);
        assert_int_equal(inv_totals_line(f->totals, "B-202611", "k").is_amount, 2500000);
}

static void invoice_numbers_name_group_and_month(void **state) {
        char number[CODEC_INVOICE_NUMBER_MAX + 1];
        bg_uuid_t g;

        (void)state;
        assert_true(bg_uuid_parse("0f8fad5b-d9cb-469f-a165-70867728950e", 36, &g));
        inv_invoice_number(&g, INT64_C(1793491200000), number);   /* 2026-11-01T00:00Z */
        assert_string_equal(number, "0f8fad5bd9cb469f-202611");
        inv_invoice_number(&g, INT64_C(1796083199999), number);   /* 2026-11-30T23:59:59.999Z */
        assert_string_equal(number, "0f8fad5bd9cb469f-202611");
        inv_invoice_number(&g, INT64_C(1796083200000), number);   /* 2026-12-01T00:00Z */
        assert_string_equal(number, "0f8fad5bd9cb469f-202612");
        inv_invoice_number(&g, 0, number);                        /* 1970-01-01 */
        assert_string_equal(number, "0f8fad5bd9cb469f-197001");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(sums_add_up_per_line_and_invoice, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(invoice_limit_counts_the_stored_sum, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(a_refused_record_leaves_no_empty_invoice, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(quantity_overflow_counts_the_stored_line, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(totals_add_and_forget_per_invoice, setup,
                                                teardown),
                cmocka_unit_test(invoice_numbers_name_group_and_month),
        };
        return cmocka_run_group_tests_name("inv_batch", tests, NULL, NULL);
}
