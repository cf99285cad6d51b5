/*
 * De-duplication by usage_id: a record sent again (in the same batch, in a later batch,
 * after a restart of the invoicer, even with other values) is billed once.
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

#define N 50

static void duplicate_usage_billed_once(void **state) {
        int64_t now = invh_real_ms();
        invh_t *t = invh_new("it-inv-dedup", 2, now + 60000);
        static codec_usage_t u[N], again;
        bg_uuid_t g, p = {{0}};
        char number[64];
        ref_t ref = {0};
        int64_t dups;

        invh_create_group(t, &g, "G", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p, "dedup", &g);
        for (int i = 0; i < N; i++) {
                invh_usage(&u[i], &p, "kafka-1", now - 10000 + i, 1000000 + i * 1000, 1000000);
                invh_publish(t, &u[i]);
                ref_add(&ref, &g, &u[i]);
                if (i == 20)
                        invh_publish(t, &u[i]);         /* same batch, right after */
        }
        invh_flush(t);
        invh_start(t, NULL);
        invh_wait_consumed(t, 60000);

        /* Later batches: the first ten again, with other amounts. */
        for (int i = 0; i < 10; i++) {
                again = u[i];
                again.quantity *= 7;
                invh_publish(t, &again);
        }
        invh_flush(t);
        invh_wait_consumed(t, 60000);
        invh_number(&g, now, number, sizeof(number));
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s'",
                                  number), (int64_t)ref_find(&ref, &g, now, &p, "kafka-1")->amount);
        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", number), N);
        dups = invh_metric(t, "billing_invoicer_usage_records_total{fate=\"duplicate\"}");
        assert_int_equal(dups, 11);

        /* After a restart the window comes back from PostgreSQL. */
        invh_stop(t);
        for (int i = 0; i < 5; i++)
                invh_publish(t, &u[N - 1 - i]);
        invh_flush(t);
        invh_start(t, NULL);
        invh_wait_consumed(t, 60000);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE invoice_number = '%s'",
                                  number), (int64_t)ref_find(&ref, &g, now, &p, "kafka-1")->amount);
        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                  "invoice_number = '%s'", number), N);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM usage_seen"), N);
        for (int tries = 0; tries < 50; tries++) {
                if (invh_metric(t, "billing_invoicer_usage_records_total{fate=\"duplicate\"}") == 5)
                        break;
                usleep(100 * 1000);
        }
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"duplicate\"}"),
                         5);
        ref_free(&ref);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(duplicate_usage_billed_once),
        };
        return cmocka_run_group_tests_name("invoicer_duplicates", tests, NULL, NULL);
}
