/*
 * Every rejection code of the domain reaches the client as its HTTP status with the
 * stable code and the message in the JSON error body:
 *   invalid_argument 400, forbidden 403, not_found 404, already_exists 409,
 *   failed_precondition 409, conflict 412 (If-Match with a stale account version).
 * forbidden is exercised twice: from the API's own role pre-check, and from the domain's
 * decide when the pre-check (which reads roles from the read models) lets a write through
 * that the domain's state refuses.
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

static void grant(apit_t *t, const char *account, const char *user, bg_role_t role) {
        bg_command_t *cmd = calloc(1, sizeof(*cmd));
        bg_uuid_t acc;

        assert_non_null(cmd);
        assert_true(bg_uuid_parse(account, 36, &acc));
        cmdh_command_init(cmd, BG_CMD_GRANT_ROLE, &acc, "service:billing");
        snprintf(cmd->payload.grant_role.user, sizeof(cmd->payload.grant_role.user), "%s", user);
        cmd->payload.grant_role.role = role;
        apit_publish_accepted(t, cmd);
        free(cmd);
}

/* As grant, without waiting for the projector (stopped): the domain has decided. */
static void grant_unprojected(apit_t *t, const char *account, const char *user,
                              bg_role_t role) {
        bg_command_t *cmd = calloc(1, sizeof(*cmd));
        bg_command_result_t res;
        bg_uuid_t acc;

        assert_non_null(cmd);
        assert_true(bg_uuid_parse(account, 36, &acc));
        cmdh_command_init(cmd, BG_CMD_GRANT_ROLE, &acc, "service:billing");
        snprintf(cmd->payload.grant_role.user, sizeof(cmd->payload.grant_role.user), "%s", user);
        cmd->payload.grant_role.role = role;
        cmdh_publish(t->at_cmd, cmd);
        assert_true(cmdh_wait_result(t->at_cmd, &cmd->command_id, 30000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        free(cmd);
}

static void test_rejection_mapping(void **state) {
        apit_t *t = apit_new("api-rejections", NULL);
        char account[37], token[65], viewer[65], g[37], other[37], body[256], etag[128];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Main", "EUR", g);
        apit_project(t, token, "web", g, NULL);

        /* invalid_argument from the domain (a blank name) and from the JSON layer (too
         * long, wrong type): 400, the field named. */
        apit_req(t, "POST", "/v1/billing-group", token, "{\"billing_group_name\": \"   \"}",
                 NULL, &r);
        apit_expect(&r, 400, "invalid_argument");
        assert_non_null(strstr(apit_str(&r, "error.message"), "name"));
        apit_resp_free(&r);
        snprintf(body, sizeof(body), "{\"billing_group_name\": \"%0129d\"}", 7);
        apit_req(t, "POST", "/v1/billing-group", token, body, NULL, &r);
        apit_expect(&r, 400, "invalid_argument");
        assert_non_null(strstr(apit_str(&r, "error.message"), "billing_group_name: too long"));
        apit_resp_free(&r);
        apit_req(t, "POST", "/v1/billing-group", token,
                 "{\"billing_group_name\": \"M\", \"billing_currency\": \"XYZ\"}", NULL, &r);
        apit_expect(&r, 400, "invalid_argument");
        assert_non_null(strstr(apit_str(&r, "error.message"), "billing_currency"));
        apit_resp_free(&r);
        apit_req(t, "POST", "/v1/billing-group", token,
                 "{\"billing_group_name\": \"M\", \"payment_method\": \"card\"}", NULL, &r);
        apit_expect(&r, 400, "invalid_argument");          /* card needs a card_id */
        apit_resp_free(&r);

        /* not_found: a primary group that does not exist; a copy of an unknown group. */
        apit_reqf(t, "PUT", token, "{\"primary_billing_group_id\": "
                  "\"0f8fad5b-d9cb-469f-a165-70867728950e\"}", &r, "/v1/account/%s", account);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_req(t, "POST", "/v1/billing-group", token, "{\"billing_group_name\": \"C\", "
                 "\"copy_from_billing_group\": \"0f8fad5b-d9cb-469f-a165-70867728950e\"}",
                 NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);

        /* already_exists: a live project name used again. */
        apit_reqf(t, "POST", token, NULL, &r, "/v1/project");   /* no body: 400 */
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        snprintf(body, sizeof(body), "{\"project\": \"web\", \"billing_group_id\": \"%s\"}", g);
        apit_req(t, "POST", "/v1/project", token, body, NULL, &r);
        apit_expect(&r, 409, "already_exists");
        apit_resp_free(&r);

        /* failed_precondition: deleting a group that still has projects. */
        apit_reqf(t, "DELETE", token, NULL, &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 409, "failed_precondition");
        assert_non_null(strstr(apit_str(&r, "error.message"), "still assigned"));
        apit_resp_free(&r);

        /* conflict: If-Match with the version of an earlier GET, after another write. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", g);
        snprintf(etag, sizeof(etag), "If-Match: %s", r.ar_etag);
        apit_resp_free(&r);
        {
                const char *hdr[] = {etag, NULL};
                char path[128];

                snprintf(path, sizeof(path), "/v1/billing-group/%s", g);
                apit_req(t, "PUT", path, token, "{\"vat_id\": \"FI1\"}", hdr, &r);
                apit_expect(&r, 200, NULL);                     /* current: accepted */
                apit_resp_free(&r);
                apit_req(t, "PUT", path, token, "{\"vat_id\": \"FI2\"}", hdr, &r);
                apit_expect(&r, 412, "conflict");               /* stale now */
                apit_resp_free(&r);
                apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s", g);
                assert_string_equal(apit_str(&r, "billing_group.vat_id"), "FI1");
                apit_resp_free(&r);
                hdr[0] = "If-Match: yesterday";
                apit_req(t, "PUT", path, token, "{\"vat_id\": \"FI3\"}", hdr, &r);
                apit_expect(&r, 400, "invalid_argument");
                apit_resp_free(&r);
        }

        /* forbidden: a member whose role is viewer, even holding an admin token. The API
         * checks the lower of the token's and the member's role before publishing; the
         * domain would answer the same code. */
        grant(t, account, "reader@acme.example", BG_ROLE_VIEWER);
        apit_token(t, account, "reader@acme.example", "admin", viewer);
        apit_req(t, "POST", "/v1/billing-group", viewer, "{\"billing_group_name\": \"V\"}",
                 NULL, &r);
        apit_expect(&r, 403, "forbidden");
        apit_resp_free(&r);
        apit_reqf(t, "GET", viewer, NULL, &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 200, NULL);                             /* but it may read */
        apit_resp_free(&r);
        /* ... and once promoted by an admin, the same token writes. */
        grant(t, account, "reader@acme.example", BG_ROLE_BILLING_ADMIN);
        apit_group(t, viewer, "Promoted", "EUR", other);

        /* forbidden from the domain's decide: demoted to viewer while the projector is
         * stopped, the member is still a billing_admin in the read models, so the API's
         * pre-check passes the write on; the domain knows better. 403 with the domain's
         * message (not the pre-check's "role ... does not allow this (needs ...)"). */
        apit_stop_projector(t);
        grant_unprojected(t, account, "reader@acme.example", BG_ROLE_VIEWER);
        apit_req(t, "POST", "/v1/billing-group", viewer, "{\"billing_group_name\": \"Late\"}",
                 NULL, &r);
        apit_expect(&r, 403, "forbidden");
        assert_non_null(strstr(apit_str(&r, "error.message"), "user \"reader@acme.example\" "
                               "may not CreateBillingGroup"));
        assert_non_null(strstr(apit_str(&r, "error.message"), "role viewer does not allow it"));
        apit_resp_free(&r);
        apit_reqf(t, "PUT", viewer, "{\"vat_id\": \"FI9\"}", &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 403, "forbidden");
        assert_non_null(strstr(apit_str(&r, "error.message"), "role viewer does not allow it"));
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rejection_mapping),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
