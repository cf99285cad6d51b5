/*
 * Writes that cannot be confirmed in time are answered clearly: 202 with the command id
 * when the command was accepted but the projector has not shown it within the write
 * timeout (projector stopped), 504 when no result came at all (commands service
 * stopped). Both commands are applied once the services are back: nothing is lost, and
 * a retry with the same Idempotency-Key does not apply it twice.
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

#include "api_fixture.h"

#define WRITE_TIMEOUT_MS 2000

static int64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until GET /v1/billing-group lists @n groups. */
static void wait_groups(apit_t *t, const char *token, size_t n) {
        int64_t until = mono_ms() + 60000;
        apit_resp_t r;

        for (;;) {
                size_t have;

                apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
                have = json_array_size(json_object_get(r.ar_json, "billing_groups"));
                apit_resp_free(&r);
                if (have == n)
                        return;
                if (mono_ms() > until)
                        fail_msg("expected %zu groups, have %zu", n, have);
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
        }
}

static void test_202_and_504(void **state) {
        apit_t *t = apit_new("api-timeouts", NULL);
        const char *key[] = {"Idempotency-Key: 6f1c2b9e-3d4a-4c5b-8e7f-9a0b1c2d3e4f", NULL};
        char account[37], token[65], g[37];
        apit_resp_t r;
        int64_t t0;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Before", "EUR", g);
        /* Set up with the default timeout (a loaded machine may be slow to start); now
         * the short one. */
        apit_restart_api(t, WRITE_TIMEOUT_MS);

        /* Projector down: decided, not visible in time: 202 with the command id. */
        apit_stop_projector(t);
        t0 = mono_ms();
        apit_req(t, "POST", "/v1/billing-group", token, "{\"billing_group_name\": \"Late\"}",
                 NULL, &r);
        apit_expect(&r, 202, NULL);
        assert_non_null(apit_str(&r, "command_id"));
        assert_string_equal(apit_str(&r, "outcome"), "accepted");
        assert_true(mono_ms() - t0 >= WRITE_TIMEOUT_MS - 100);
        assert_true(mono_ms() - t0 < WRITE_TIMEOUT_MS + 3000);
        apit_resp_free(&r);
        apit_start_projector(t);
        wait_groups(t, token, 2);

        /* Commands service down: no result in time: 504, then applied after restart. */
        apit_stop_commands(t);
        t0 = mono_ms();
        apit_req(t, "POST", "/v1/billing-group", token, "{\"billing_group_name\": \"Queued\"}",
                 key, &r);
        apit_expect(&r, 504, "timeout");
        assert_non_null(apit_str(&r, "command_id"));
        assert_true(mono_ms() - t0 < WRITE_TIMEOUT_MS + 3000);
        apit_resp_free(&r);
        /* Reads do not depend on Kafka. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);
        apit_start_commands(t);
        wait_groups(t, token, 3);
        /* The client's retry with the same key: the original outcome, no fourth group. */
        apit_req(t, "POST", "/v1/billing-group", token, "{\"billing_group_name\": \"Queued\"}",
                 key, &r);
        apit_expect(&r, 201, NULL);
        assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), "Queued");
        apit_resp_free(&r);
        wait_groups(t, token, 3);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_202_and_504),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
