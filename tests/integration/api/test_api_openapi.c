/*
 * The OpenAPI document (services/api/openapi.json) stays true: every documented path and
 * method is requested against the running server, with the document's example (or
 * x-test-body) as the body and real ids in place of the path parameters, and the answer
 * must be one of the documented status codes with a documented content type. Reads must
 * succeed (2xx); a documented operation the server does not have answers 404/405, which
 * no operation documents for a valid request, so it fails the check too.
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

typedef struct subst_s {
        const char *name;
        char value[80];
} subst_t;

static subst_t substs[] = {
        {"account_id", ""}, {"billing_group_id", ""}, {"invoice_number", "INV-OA-0001"},
        {"project", "proj-a"}, {"credit_code", "OPENAPI"},
};

/* @in with every "{name}" replaced by its value, into @out. */
static void substitute(const char *in, char *out, size_t size) {
        size_t o = 0;

        while (*in && o + 1 < size) {
                bool done = false;

                for (size_t i = 0; *in == '{' && i < sizeof(substs) / sizeof(substs[0]); i++) {
                        size_t n = strlen(substs[i].name);
                        if (strncmp(in + 1, substs[i].name, n) == 0 && in[1 + n] == '}') {
                                o += (size_t)snprintf(out + o, size - o, "%s", substs[i].value);
                                in += n + 2;
                                done = true;
                                break;
                        }
                }
                if (!done)
                        out[o++] = *in++;
        }
        out[o < size ? o : size - 1] = '\0';
}

static bool documented_type(json_t *response, const char *type) {
        json_t *content = json_object_get(response, "content");
        const char *key;
        json_t *v;

        if (content == NULL)
                return true;
        json_object_foreach(content, key, v)
                if (strncmp(type, key, strlen(key)) == 0)
                        return true;
        return false;
}

static void check_op(apit_t *t, const char *path, const char *method, json_t *op,
                     const char *admin) {
        char url[1024], fresh[65], *body = NULL;
        const char *token = admin, *xt = json_string_value(json_object_get(op, "x-test-token"));
        json_t *params = json_object_get(op, "parameters"), *p, *responses, *resp, *example;
        const char *json_accept[] = {"Accept: application/json", NULL};
        const char *csv_accept[] = {"Accept: text/csv", NULL};
        size_t i, n;
        apit_resp_t r;
        char status[8];

        substitute(path, url, sizeof(url));
        assert_null(strchr(url, '{'));
        n = strlen(url);
        json_array_foreach(params, i, p) {
                json_t *ex = json_object_get(p, "example");
                const char *in = json_string_value(json_object_get(p, "in"));
                char val[128];

                if (ex == NULL || in == NULL || strcmp(in, "query") != 0)
                        continue;
                if (json_is_integer(ex))
                        snprintf(val, sizeof(val), "%lld", (long long)json_integer_value(ex));
                else
                        snprintf(val, sizeof(val), "%s", json_string_value(ex));
                n += (size_t)snprintf(url + n, sizeof(url) - n, "%c%s=%s",
                                      strchr(url, '?') ? '&' : '?',
                                      json_string_value(json_object_get(p, "name")), val);
        }
        if (xt != NULL && strcmp(xt, "service") == 0) {
                token = APIT_SERVICE_TOKEN;
        } else if (xt != NULL && strcmp(xt, "fresh") == 0) {
                apit_token(t, substs[0].value, "owner@acme.example", "viewer", fresh);
                token = fresh;
        }
        example = json_object_get(op, "x-test-body");
        if (example == NULL) {
                json_t *rb = json_object_get(op, "requestBody");
                json_t *media = json_object_get(json_object_get(rb, "content"),
                                                "application/json");
                example = json_object_get(media, "example");
        }
        if (example != NULL) {
                char *raw = json_dumps(example, JSON_COMPACT);

                body = malloc(strlen(raw) + 512);
                substitute(raw, body, strlen(raw) + 512);
                free(raw);
        }
        apit_req(t, method, url, token, body, json_accept, &r);
        snprintf(status, sizeof(status), "%ld", r.ar_status);
        responses = json_object_get(op, "responses");
        resp = json_object_get(responses, status);
        print_message("%-7s %-60s -> %ld\n", method, url, r.ar_status);
        if (resp == NULL)
                fail_msg("%s %s: status %ld is not documented: %s", method, path, r.ar_status,
                         r.ar_body);
        if (strcmp(method, "GET") == 0 && (r.ar_status < 200 || r.ar_status > 299))
                fail_msg("%s %s: a read with valid parameters answered %ld: %s", method, path,
                         r.ar_status, r.ar_body);
        if (!documented_type(resp, r.ar_type))
                fail_msg("%s %s: content type \"%s\" is not documented for %ld", method, path,
                         r.ar_type, r.ar_status);
        apit_resp_free(&r);
        if (json_object_get(json_object_get(json_object_get(responses, "200"), "content"),
                            "text/csv") != NULL) {
                apit_req(t, method, url, token, body, csv_accept, &r);
                assert_int_equal(r.ar_status, 200);
                assert_non_null(strstr(r.ar_type, "text/csv"));
                apit_resp_free(&r);
        }
        free(body);
}

static void test_openapi_paths(void **state) {
        apit_t *t = apit_new("api-openapi", NULL);
        json_error_t jerr;
        json_t *doc = json_load_file(BG_SOURCE_DIR "/services/api/openapi.json", 0, &jerr);
        json_t *paths, *item, *op;
        const char *path, *method;
        char admin[65];
        int checked = 0;

        (void)state;
        if (doc == NULL)
                fail_msg("openapi.json: line %d: %s", jerr.line, jerr.text);
        assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
        apit_account(t, "Acme", "owner@acme.example", substs[0].value);
        apit_token(t, substs[0].value, "owner@acme.example", "admin", admin);
        apit_group(t, admin, "Main", "EUR", substs[1].value);
        apit_project(t, admin, "proj-a", substs[1].value, NULL);
        {
                bg_command_t *cmd = calloc(1, sizeof(*cmd));
                bg_uuid_t acc;

                assert_true(bg_uuid_parse(substs[0].value, 36, &acc));
                cmdh_command_init(cmd, BG_CMD_ISSUE_CREDIT, &acc, "service:billing");
                strcpy(cmd->payload.issue_credit.code, "OPENAPI");
                cmd->payload.issue_credit.value = 5000000;
                cmd->payload.issue_credit.currency = BG_CURRENCY_EUR;
                cmd->payload.issue_credit.type = BG_CREDIT_TYPE_TRIAL;
                cmd->payload.issue_credit.start_time = 1767225600000;
                apit_publish_accepted(t, cmd);
                free(cmd);
        }
        apit_sql(t, "INSERT INTO %s.invoices (invoice_number, billing_group_id, account_id, "
                 "billing_group_name, currency, period_begin, period_end, state) VALUES "
                 "('INV-OA-0001', '%s', '%s', 'Main', 'EUR', '2026-11-01Z', '2026-12-01Z', "
                 "'estimate')", t->at_inv_schema, substs[1].value, substs[0].value);
        apit_sql(t, "INSERT INTO %s.invoice_lines (invoice_number, line_key, line_type, "
                 "description, amount) VALUES ('INV-OA-0001', 'x', 'service_charge', 'x', 1)",
                 t->at_inv_schema);

        /* Reads and writes first, deletions last (they remove what others use). */
        paths = json_object_get(doc, "paths");
        for (int pass = 0; pass < 2; pass++)
                json_object_foreach(paths, path, item)
                        json_object_foreach(item, method, op) {
                                char upper[8];
                                size_t k;

                                for (k = 0; method[k] && k < sizeof(upper) - 1; k++)
                                        upper[k] = (char)(method[k] - 'a' + 'A');
                                upper[k] = '\0';
                                if ((strcmp(upper, "DELETE") == 0) != (pass == 1))
                                        continue;
                                check_op(t, path, upper, op, admin);
                                checked++;
                        }
        print_message("%d documented operations checked\n", checked);
        assert_int_equal(checked, 23);          /* every route of api_routes[] */
        json_decref(doc);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_openapi_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
