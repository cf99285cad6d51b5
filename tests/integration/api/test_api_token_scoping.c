/*
 * Tokens: no token is 401; a token for account A never reads nor changes account B (404,
 * the same answer as for an id that does not exist); a viewer token reads but cannot
 * write (403); a revoked token is 401; creating accounts needs a service token.
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

static void test_scoping(void **state) {
        apit_t *t = apit_new("api-tokens", NULL);
        char a[37], b[37], ta[65], tb[65], va[65], ga[37], gb[37], body[256];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Alpha", "alice@alpha.example", a);
        apit_account(t, "Beta", "bob@beta.example", b);
        apit_token(t, a, "alice@alpha.example", "admin", ta);
        apit_token(t, b, "bob@beta.example", "admin", tb);
        apit_token(t, a, "alice@alpha.example", "viewer", va);
        apit_group(t, ta, "Alpha main", "EUR", ga);
        apit_group(t, tb, "Beta secret", "USD", gb);
        apit_project(t, tb, "beta-web", gb, NULL);

        /* No token, a malformed header, an unknown token: 401 with WWW-Authenticate. */
        apit_reqf(t, "GET", NULL, NULL, &r, "/v1/billing-group/%s", ga);
        apit_expect(&r, 401, "unauthenticated");
        apit_resp_free(&r);
        {
                const char *hdr[] = {"Authorization: Basic YWxpY2U6eA==", NULL};
                apit_req(t, "GET", "/v1/billing-group", NULL, NULL, hdr, &r);
                apit_expect(&r, 401, "unauthenticated");
                apit_resp_free(&r);
        }
        apit_req(t, "GET", "/v1/billing-group", "0000000000000000000000000000000000000000000000"
                 "000000000000000000", NULL, NULL, &r);
        apit_expect(&r, 401, "unauthenticated");
        apit_resp_free(&r);

        /* A's token on B's resources: 404, and the body says nothing of B. */
        const char *reads[] = {"", "/projects", "/events", "/credits", "/invoice",
                               "/invoice/X-1/lines"};
        for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
                apit_reqf(t, "GET", ta, NULL, &r, "/v1/billing-group/%s%s", gb, reads[i]);
                apit_expect(&r, 404, "not_found");
                assert_null(strstr(r.ar_body, "Beta"));
                assert_null(strstr(r.ar_body, "beta-web"));
                apit_resp_free(&r);
        }
        apit_reqf(t, "GET", ta, NULL, &r, "/v1/account/%s", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "GET", ta, NULL, &r, "/v1/billing-group?account_id=%s", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        /* B's groups by account path, with A's admin and viewer tokens: 404, nothing of B. */
        {
                const char *tokens[] = {ta, va};

                for (size_t i = 0; i < 2; i++) {
                        apit_reqf(t, "GET", tokens[i], NULL, &r, "/v1/account/%s/billing-group",
                                  b);
                        apit_expect(&r, 404, "not_found");
                        assert_null(json_object_get(r.ar_json, "billing_groups"));
                        assert_null(strstr(r.ar_body, gb));
                        assert_null(strstr(r.ar_body, "Beta"));
                        apit_resp_free(&r);
                }
        }
        apit_reqf(t, "GET", ta, NULL, &r, "/v1/project/beta-web");
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "GET", ta, NULL, &r, "/v1/project?account_id=%s", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        /* A's own list does not contain B's group. */
        apit_req(t, "GET", "/v1/billing-group", ta, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        assert_null(strstr(r.ar_body, gb));
        apit_resp_free(&r);

        /* ... nor can it change them. */
        apit_reqf(t, "PUT", ta, "{\"billing_group_name\": \"pwned\"}", &r,
                  "/v1/billing-group/%s", gb);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "DELETE", ta, NULL, &r, "/v1/billing-group/%s", gb);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "POST", ta, "{\"projects_names\": [\"beta-web\"]}", &r,
                  "/v1/billing-group/%s/projects-assign", gb);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "POST", ta, "{\"code\": \"X\"}", &r, "/v1/billing-group/%s/credits", gb);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        snprintf(body, sizeof(body), "{\"account_id\": \"%s\", \"billing_group_name\": \"x\"}", b);
        apit_req(t, "POST", "/v1/billing-group", ta, body, NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        snprintf(body, sizeof(body), "{\"primary_billing_group_id\": \"%s\"}", gb);
        apit_reqf(t, "PUT", ta, body, &r, "/v1/account/%s", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "DELETE", ta, NULL, &r, "/v1/project/beta-web?account_id=%s", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "POST", ta, "{\"user_email\": \"bob@beta.example\", \"role\": \"admin\"}",
                  &r, "/v1/account/%s/token", b);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        /* Moving B's project into A's group: the name is not A's project. */
        apit_reqf(t, "POST", ta, "{\"projects_names\": [\"beta-web\"]}", &r,
                  "/v1/billing-group/%s/projects-assign", ga);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);

        /* B's data is intact. */
        apit_reqf(t, "GET", tb, NULL, &r, "/v1/billing-group/%s", gb);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), "Beta secret");
        apit_resp_free(&r);
        apit_reqf(t, "GET", tb, NULL, &r, "/v1/billing-group/%s/projects", gb);
        assert_string_equal(apit_str(&r, "projects.0.project_name"), "beta-web");
        apit_resp_free(&r);

        /* A viewer token reads, cannot write, cannot issue tokens. */
        apit_reqf(t, "GET", va, NULL, &r, "/v1/billing-group/%s", ga);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);
        apit_reqf(t, "PUT", va, "{\"billing_group_name\": \"x\"}", &r, "/v1/billing-group/%s", ga);
        apit_expect(&r, 403, "forbidden");
        apit_resp_free(&r);
        apit_reqf(t, "POST", va, "{\"user_email\": \"alice@alpha.example\", \"role\": \"admin\"}",
                  &r, "/v1/account/%s/token", a);
        apit_expect(&r, 403, "forbidden");
        apit_resp_free(&r);

        /* Users cannot create accounts; services can (apit_account did). */
        apit_req(t, "POST", "/v1/account", ta, "{\"account_name\": \"Mine\", \"owner\": "
                 "\"alice@alpha.example\"}", NULL, &r);
        apit_expect(&r, 403, "forbidden");
        apit_resp_free(&r);

        /* An admin issues a token for a member; it is shown once and stored hashed. */
        apit_reqf(t, "POST", ta, "{\"user_email\": \"ALICE@alpha.example\", \"role\": \"viewer\"}",
                  &r, "/v1/account/%s/token", a);
        apit_expect(&r, 201, NULL);
        {
                char sql[512], tok[65];
                PGresult *pr;

                snprintf(tok, sizeof(tok), "%s", apit_str(&r, "token"));
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.api_tokens WHERE "
                         "encode(token_sha256, 'hex') = encode(sha256('%s'), 'hex') "
                         "AND position('%s' in encode(token_sha256, 'escape')) = 0",
                         t->at_api_schema, tok, tok);
                pr = PQexec(t->at_pg, sql);
                assert_int_equal(PQresultStatus(pr), PGRES_TUPLES_OK);
                assert_string_equal(PQgetvalue(pr, 0, 0), "1");
                PQclear(pr);
        }
        apit_resp_free(&r);

        /* Revocation: the token's own DELETE /v1/access-token, then 401. */
        apit_req(t, "DELETE", "/v1/access-token", va, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);
        apit_reqf(t, "GET", va, NULL, &r, "/v1/billing-group/%s", ga);
        apit_expect(&r, 401, "unauthenticated");
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scoping),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
