/*
 * Billing group CRUD over HTTP on the real stack, and read-your-writes: every create,
 * update and delete is visible to a GET sent the moment the write is answered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_fixture.h"

#define ROUNDS 15

static void test_create_then_get_at_once(void **state) {
        apit_t *t = apit_new("api-groups-ryw", NULL);
        char account[37], token[65], ids[ROUNDS][37], body[256];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);

        /* Each create is followed at once by a GET of the new group: never a 404. */
        for (int i = 0; i < ROUNDS; i++) {
                snprintf(body, sizeof(body), "{\"billing_group_name\": \"Group %d\", "
                         "\"billing_currency\": \"EUR\", \"billing_emails\": "
                         "[{\"email\": \"bill%d@acme.example\"}], \"vat_id\": \"FI%d\"}",
                         i, i, i);
                apit_req(t, "POST", "/v1/billing-group", token, body, NULL, &r);
                apit_expect(&r, 201, NULL);
                snprintf(ids[i], 37, "%s", apit_str(&r, "billing_group.billing_group_id"));
                apit_resp_free(&r);

                apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", ids[i]);
                apit_expect(&r, 200, NULL);
                snprintf(body, sizeof(body), "Group %d", i);
                assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), body);
                assert_string_equal(apit_str(&r, "billing_group.billing_group_id"), ids[i]);
                assert_string_equal(apit_str(&r, "billing_group.account_id"), account);
                assert_string_equal(apit_str(&r, "billing_group.billing_currency"), "EUR");
                assert_string_equal(apit_str(&r, "billing_group.payment_method"), "email");
                snprintf(body, sizeof(body), "bill%d@acme.example", i);
                assert_string_equal(apit_str(&r, "billing_group.billing_emails.0.email"), body);
                assert_non_null(apit_str(&r, "billing_group.create_time"));
                assert_true(r.ar_etag[0] == '"');
                apit_resp_free(&r);
        }

        /* The list has them all, in creation order. */
        apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")), ROUNDS);
        for (int i = 0; i < ROUNDS; i++) {
                char path[64];
                snprintf(path, sizeof(path), "billing_groups.%d.billing_group_id", i);
                assert_string_equal(apit_str(&r, path), ids[i]);
        }
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/account/%s/billing-group", account);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")), ROUNDS);
        apit_resp_free(&r);
        apit_destroy(t);
}

static void test_update_copy_delete(void **state) {
        apit_t *t = apit_new("api-groups-crud", NULL);
        char account[37], token[65], g[37], copy[37], body[512], etag[64];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Engineering", "EUR", g);

        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);
        snprintf(etag, sizeof(etag), "%s", r.ar_etag);
        apit_resp_free(&r);

        /* Update: rename and profile fields; the answer and a GET show the new values. */
        apit_reqf(t, "PUT", token, "{\"billing_group_name\": \"R&D\", \"company\": \"Acme Oy\", "
                  "\"address_lines\": [\"Street 1\", \"Floor 2\"], \"country_code\": \"FI\", "
                  "\"billing_extra_text\": \"PO 42\\ncost center 7\"}", &r,
                  "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), "R&D");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), "R&D");
        assert_string_equal(apit_str(&r, "billing_group.company"), "Acme Oy");
        assert_string_equal(apit_str(&r, "billing_group.address_lines.1"), "Floor 2");
        assert_string_equal(apit_str(&r, "billing_group.billing_extra_text"),
                            "PO 42\ncost center 7");
        assert_string_equal(apit_str(&r, "billing_group.billing_currency"), "EUR");
        assert_string_not_equal(r.ar_etag, etag);       /* the account moved on */
        apit_resp_free(&r);

        /* A copy takes the profile of its source. */
        snprintf(body, sizeof(body), "{\"billing_group_name\": \"Copy\", "
                 "\"copy_from_billing_group\": \"%s\"}", g);
        apit_req(t, "POST", "/v1/billing-group", token, body, NULL, &r);
        apit_expect(&r, 201, NULL);
        snprintf(copy, sizeof(copy), "%s", apit_str(&r, "billing_group.billing_group_id"));
        assert_string_equal(apit_str(&r, "billing_group.company"), "Acme Oy");
        assert_string_equal(apit_str(&r, "billing_group.billing_currency"), "EUR");
        assert_string_equal(apit_str(&r, "billing_group.copied_from_billing_group"), g);
        apit_resp_free(&r);

        /* A retry with the same Idempotency-Key is the same group, not a second one. */
        {
                const char *hdr[] = {"Idempotency-Key: 4b0e8c36-5d0f-4a4e-9a5b-2f3b7c1d9e01",
                                     NULL};
                char first[37];

                apit_req(t, "POST", "/v1/billing-group", token,
                         "{\"billing_group_name\": \"Once\"}", hdr, &r);
                apit_expect(&r, 201, NULL);
                snprintf(first, sizeof(first), "%s",
                         apit_str(&r, "billing_group.billing_group_id"));
                apit_resp_free(&r);
                apit_req(t, "POST", "/v1/billing-group", token,
                         "{\"billing_group_name\": \"Once\"}", hdr, &r);
                apit_expect(&r, 201, NULL);
                assert_string_equal(apit_str(&r, "billing_group.billing_group_id"), first);
                apit_resp_free(&r);
                apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
                assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")), 3);
                apit_resp_free(&r);
        }

        /* The copy had an invoice (rows as the invoicer writes them). */
        apit_sql(t, "INSERT INTO %s.invoices (invoice_number, billing_group_id, account_id, "
                 "billing_group_name, currency, period_begin, period_end, state) VALUES "
                 "('INV-DEL-0001', '%s', '%s', 'Copy', 'EUR', '2026-10-01Z', '2026-11-01Z', "
                 "'due')", t->at_inv_schema, copy, account);
        apit_sql(t, "INSERT INTO %s.invoice_lines (invoice_number, line_key, line_type, "
                 "description, amount) VALUES ('INV-DEL-0001', 'x', 'service_charge', 'x', 1)",
                 t->at_inv_schema);

        /* Delete: answered once applied; then 404 and gone from the list. */
        apit_reqf(t, "DELETE", token, NULL, &r, "/v1/billing-group/%s", copy);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", copy);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        /* ... but its history stays readable (docs/api.md, "Deleted billing groups"): its
         * invoices and their lines, its events (the deletion last), its credits; its
         * projects are a live view, empty since a group is deleted only without any. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice", copy);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "invoices.0.invoice_number"), "INV-DEL-0001");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice/INV-DEL-0001/lines",
                  copy);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "lines")), 1);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events", copy);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "events.0.event_type"), "BillingGroupDeleted");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/credits", copy);
        apit_expect(&r, 200, NULL);
        assert_non_null(json_object_get(r.ar_json, "credits"));
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects", copy);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "projects")), 0);
        apit_resp_free(&r);
        /* Writes to it are the domain's not_found. */
        apit_reqf(t, "PUT", token, "{\"vat_id\": \"FI5\"}", &r, "/v1/billing-group/%s", copy);
        apit_expect(&r, 404, "not_found");
        assert_non_null(strstr(apit_str(&r, "error.message"), "(deleted)"));
        apit_resp_free(&r);
        apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")), 2);
        apit_resp_free(&r);
        /* Deleting again: the domain says not_found. */
        apit_reqf(t, "DELETE", token, NULL, &r, "/v1/billing-group/%s", copy);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_then_get_at_once),
                cmocka_unit_test(test_update_copy_delete),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
