/*
 * Projects over HTTP: creation in a named group or in the primary group (PUT
 * /v1/account sets it), projects-assign moving projects between groups, the group's
 * project list with each project's estimated balance, and project deletion.
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

static size_t count(apit_resp_t *r, const char *key) {
        return json_array_size(json_object_get(r->ar_json, key));
}

static void test_projects_and_assign(void **state) {
        apit_t *t = apit_new("api-projects", NULL);
        char account[37], token[65], g1[37], g2[37], p[37], body[256];
        apit_resp_t r;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "billing_admin", token);
        apit_group(t, token, "Production", "EUR", g1);
        apit_group(t, token, "Development", "EUR", g2);

        /* No group given and no primary group: the domain refuses (409). */
        apit_req(t, "POST", "/v1/project", token, "{\"project\": \"orphan\"}", NULL, &r);
        apit_expect(&r, 409, "failed_precondition");
        apit_resp_free(&r);

        /* Primary group, then a project without a group lands there. */
        snprintf(body, sizeof(body), "{\"primary_billing_group_id\": \"%s\"}", g1);
        apit_reqf(t, "PUT", token, body, &r, "/v1/account/%s", account);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "account.primary_billing_group_id"), g1);
        apit_resp_free(&r);
        apit_project(t, token, "web-prod", NULL, p);
        apit_project(t, token, "db-prod", NULL, NULL);
        apit_project(t, token, "web-dev", g2, NULL);

        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects", g1);
        apit_expect(&r, 200, NULL);
        assert_int_equal(count(&r, "projects"), 2);
        assert_string_equal(apit_str(&r, "projects.0.project_name"), "db-prod");
        assert_string_equal(apit_str(&r, "projects.1.project_name"), "web-prod");
        assert_string_equal(apit_str(&r, "projects.1.project_id"), p);
        assert_string_equal(apit_str(&r, "projects.1.estimated_balance"), "0.000000");
        apit_resp_free(&r);

        /* projects-assign: move both production projects to Development; the answer is
         * the group's projects, already including them. */
        apit_reqf(t, "POST", token, "{\"projects_names\": [\"web-prod\", \"db-prod\"]}", &r,
                  "/v1/billing-group/%s/projects-assign", g2);
        apit_expect(&r, 200, NULL);
        assert_int_equal(count(&r, "projects"), 3);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects", g1);
        assert_int_equal(count(&r, "projects"), 0);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/project/web-prod");
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "project.billing_group_id"), g2);
        assert_string_equal(apit_str(&r, "project.billing_group_name"), "Development");
        apit_resp_free(&r);

        /* The moves are in both groups' events. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events", g1);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "events.0.event_type"), "ProjectMoved");
        apit_resp_free(&r);

        /* An unknown name rejects the whole command (404) and moves nothing. */
        apit_reqf(t, "POST", token, "{\"projects_names\": [\"web-dev\", \"nope\"]}", &r,
                  "/v1/billing-group/%s/projects-assign", g1);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects", g2);
        assert_int_equal(count(&r, "projects"), 3);
        apit_resp_free(&r);
        /* Shape errors are the JSON layer's: 400 with the field named. */
        apit_reqf(t, "POST", token, "{\"projects_names\": \"web-dev\"}", &r,
                  "/v1/billing-group/%s/projects-assign", g1);
        apit_expect(&r, 400, "invalid_argument");
        assert_non_null(strstr(apit_str(&r, "error.message"), "projects_names"));
        apit_resp_free(&r);

        /* List, delete, list. */
        apit_req(t, "GET", "/v1/project", token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        assert_int_equal(count(&r, "projects"), 3);
        apit_resp_free(&r);
        apit_req(t, "DELETE", "/v1/project/web-dev", token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);
        apit_req(t, "GET", "/v1/project/web-dev", token, NULL, NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_req(t, "GET", "/v1/project", token, NULL, NULL, &r);
        assert_int_equal(count(&r, "projects"), 2);
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_projects_and_assign),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
