/*
 * A billing group's events (?limit=) and credits: a credit issued by a service (through
 * the commands topic, as the platform does) is claimed over HTTP, listed with its money
 * as decimal strings, and cannot be claimed twice.
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

static void issue_credit(apit_t *t, const char *account, const char *code, int64_t micros,
                         bg_currency_t cur) {
        bg_command_t *cmd = calloc(1, sizeof(*cmd));
        bg_uuid_t acc;

        assert_non_null(cmd);
        assert_true(bg_uuid_parse(account, 36, &acc));
        cmdh_command_init(cmd, BG_CMD_ISSUE_CREDIT, &acc, "service:billing");
        snprintf(cmd->payload.issue_credit.code, sizeof(cmd->payload.issue_credit.code), "%s",
                 code);
        cmd->payload.issue_credit.value = micros;
        cmd->payload.issue_credit.currency = cur;
        cmd->payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd->payload.issue_credit.start_time = 1767225600000;  /* 2026-01-01 */
        apit_publish_accepted(t, cmd);
        free(cmd);
}

static void test_events_limit(void **state) {
        apit_t *t = apit_new("api-events", NULL);
        char account[37], token[65], g[37];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Ops", "EUR", g);
        apit_project(t, token, "ops-a", g, NULL);
        apit_project(t, token, "ops-b", g, NULL);
        apit_reqf(t, "PUT", token, "{\"billing_group_name\": \"Operations\"}", &r,
                  "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);

        /* Newest first: rename, two projects, creation. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "events")), 4);
        assert_string_equal(apit_str(&r, "events.0.event_type"), "BillingGroupRenamed");
        assert_string_equal(apit_str(&r, "events.1.project_name"), "ops-b");
        assert_string_equal(apit_str(&r, "events.3.event_type"), "BillingGroupCreated");
        assert_string_equal(apit_str(&r, "events.3.actor"), "user:owner@acme.example");
        assert_non_null(apit_str(&r, "events.3.event_desc"));
        assert_non_null(apit_str(&r, "events.3.create_time"));
        assert_non_null(apit_str(&r, "events.3.log_entry_id"));
        apit_resp_free(&r);

        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events?limit=2", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "events")), 2);
        assert_string_equal(apit_str(&r, "events.0.event_type"), "BillingGroupRenamed");
        apit_resp_free(&r);
        /* limit is validated: 0, negatives, non-numbers, too large. */
        const char *bad[] = {"0", "-1", "abc", "1001", "2x", "", "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events?limit=%s",
                          g, bad[i]);
                apit_expect(&r, 400, "invalid_argument");
                apit_resp_free(&r);
        }
        apit_destroy(t);
}

static void test_credits_claim(void **state) {
        apit_t *t = apit_new("api-credits", NULL);
        char account[37], token[65], g[37], usd[37];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "billing_admin", token);
        apit_group(t, token, "Ops", "EUR", g);
        apit_group(t, token, "US", "USD", usd);
        issue_credit(t, account, "WELCOME", 100000000, BG_CURRENCY_EUR);
        issue_credit(t, account, "EXTRA.5", 12345678, BG_CURRENCY_EUR);

        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "credits")), 0);
        apit_resp_free(&r);

        apit_reqf(t, "POST", token, "{\"code\": \"WELCOME\"}", &r,
                  "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 201, NULL);
        assert_string_equal(apit_str(&r, "credit.code"), "WELCOME");
        assert_string_equal(apit_str(&r, "credit.value"), "100.000000");
        assert_string_equal(apit_str(&r, "credit.remaining_value"), "100.000000");
        assert_string_equal(apit_str(&r, "credit.currency"), "EUR");
        assert_string_equal(apit_str(&r, "credit.type"), "promotion");
        assert_string_equal(apit_str(&r, "credit.start_time"), "2026-01-01T00:00:00Z");
        assert_true(json_is_null(json_object_get(json_object_get(r.ar_json, "credit"),
                                                 "expire_time")));
        apit_resp_free(&r);

        /* Claimed once only; unknown codes; wrong currency; bad code syntax. */
        apit_reqf(t, "POST", token, "{\"code\": \"WELCOME\"}", &r,
                  "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 409, "already_exists");
        apit_resp_free(&r);
        apit_reqf(t, "POST", token, "{\"code\": \"NOPE\"}", &r,
                  "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "POST", token, "{\"code\": \"EXTRA.5\"}", &r,
                  "/v1/billing-group/%s/credits", usd);
        apit_expect(&r, 409, "failed_precondition");
        apit_resp_free(&r);
        apit_reqf(t, "POST", token, "{\"code\": 5}", &r, "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);

        apit_reqf(t, "POST", token, "{\"code\": \"EXTRA.5\"}", &r,
                  "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 201, NULL);
        assert_string_equal(apit_str(&r, "credit.value"), "12.345678");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/credits", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "credits")), 2);
        assert_string_equal(apit_str(&r, "credits.0.code"), "WELCOME");
        assert_string_equal(apit_str(&r, "credits.1.code"), "EXTRA.5");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/credits", usd);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "credits")), 0);
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_events_limit),
                cmocka_unit_test(test_credits_claim),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
