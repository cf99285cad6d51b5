/*
 * The OpenAPI document (services/api/openapi.json) stays true:
 *   - its operations are exactly the server's route table (api_routes[] of bg_api): a
 *     route without documentation, or documentation without a route, fails;
 *   - every documented path and method is requested against the running server, with
 *     the document's example (or x-test-body) as the body and real ids in place of the
 *     path parameters, on fixture state in which each operation can succeed; the answer
 *     must be the operation's documented success status (its one 2xx other than 202),
 *     with a documented content type and, for JSON, the top-level keys its schema
 *     requires. A missing route (404/405) or a write the domain refuses fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_fixture.h"

typedef struct subst_s {
        const char *name;
        char value[80];
} subst_t;

static subst_t substs[] = {
        {"account_id", ""}, {"billing_group_id", ""}, {"invoice_number", "INV-OA-0001"},
        {"project", "proj-a"}, {"credit_code", "OPENAPI"}, {"spare_billing_group_id", ""},
};

/* Operations that must act on another object than the shared fixture's: the path with
 * one parameter renamed. Deleting a billing group needs one that has no projects and is
 * not the primary group, so a spare group is created for it. */
static const struct {
        const char *method, *path, *param, *instead;
} path_overrides[] = {
        {"DELETE", "/v1/billing-group/{billing_group_id}", "{billing_group_id}",
         "{spare_billing_group_id}"},
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

/* @node, or what its "$ref" ("#/components/schemas/X") names in @doc. */
static json_t *resolve(json_t *doc, json_t *node) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        const char *prefix = "#/components/schemas/";

        if (ref == NULL)
                return node;
        if (strncmp(ref, prefix, strlen(prefix)) != 0)
                fail_msg("unsupported $ref %s", ref);
        node = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                               ref + strlen(prefix));
        if (node == NULL)
                fail_msg("dangling $ref %s", ref);
        return node;
}

/* The operation's success status: its one documented 2xx other than 202 (which means
 * "accepted, not yet projected" and is never the expected answer here). */
static long success_status(const char *method, const char *path, json_t *responses) {
        const char *code;
        json_t *v;
        long found = 0;

        json_object_foreach(responses, code, v) {
                long c = strtol(code, NULL, 10);

                if (c < 200 || c > 299 || c == 202)
                        continue;
                if (found != 0)
                        fail_msg("%s %s documents two success statuses", method, path);
                found = c;
        }
        if (found == 0)
                fail_msg("%s %s documents no success status", method, path);
        return found;
}

/* The top-level keys that the documented JSON schema of @resp requires are in @body. */
static void check_required(json_t *doc, const char *method, const char *path, json_t *resp,
                           json_t *body) {
        json_t *media = json_object_get(json_object_get(resp, "content"), "application/json");
        json_t *schema, *req, *key;
        size_t i;

        if (media == NULL)
                return;
        schema = resolve(doc, json_object_get(media, "schema"));
        if (!json_is_object(body))
                fail_msg("%s %s: the answer is not a JSON object", method, path);
        req = json_object_get(schema, "required");
        json_array_foreach(req, i, key)
                if (json_object_get(body, json_string_value(key)) == NULL)
                        fail_msg("%s %s: required key \"%s\" missing from the answer",
                                 method, path, json_string_value(key));
}

static void check_op(apit_t *t, json_t *doc, const char *path, const char *method, json_t *op,
                     const char *admin) {
        char url[1024], fresh[65], *body = NULL, template[512];
        const char *token = admin, *xt = json_string_value(json_object_get(op, "x-test-token"));
        json_t *params = json_object_get(op, "parameters"), *p, *responses, *resp, *example;
        const char *json_accept[] = {"Accept: application/json", NULL};
        const char *csv_accept[] = {"Accept: text/csv", NULL};
        size_t i, n;
        apit_resp_t r;
        long want;

        snprintf(template, sizeof(template), "%s", path);
        for (i = 0; i < sizeof(path_overrides) / sizeof(path_overrides[0]); i++) {
                const char *at;

                if (strcmp(path_overrides[i].method, method) != 0 ||
                    strcmp(path_overrides[i].path, path) != 0)
                        continue;
                at = strstr(path, path_overrides[i].param);
                assert_non_null(at);
                snprintf(template, sizeof(template), "%.*s%s%s", (int)(at - path), path,
                         path_overrides[i].instead, at + strlen(path_overrides[i].param));
        }
        substitute(template, url, sizeof(url));
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
        responses = json_object_get(op, "responses");
        want = success_status(method, path, responses);
        print_message("%-7s %-60s -> %ld\n", method, url, r.ar_status);
        if (r.ar_status != want)
                fail_msg("%s %s: answered %ld, its documented success is %ld: %s", method,
                         url, r.ar_status, want, r.ar_body);
        {
                char status[8];

                snprintf(status, sizeof(status), "%ld", want);
                resp = json_object_get(responses, status);
        }
        if (!documented_type(resp, r.ar_type))
                fail_msg("%s %s: content type \"%s\" is not documented for %ld", method, path,
                         r.ar_type, r.ar_status);
        check_required(doc, method, path, resp, r.ar_json);
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

/* @path with every "{name}" as "{}", the route table's spelling. */
static void route_pattern(const char *path, char *out, size_t size) {
        size_t o = 0;

        while (*path && o + 1 < size) {
                if (*path == '{') {
                        const char *end = strchr(path, '}');

                        assert_non_null(end);
                        out[o++] = '{';
                        if (o + 1 < size)
                                out[o++] = '}';
                        path = end + 1;
                } else {
                        out[o++] = *path++;
                }
        }
        out[o] = '\0';
}

/* The document's operations and api_routes[] are the same set of (method, path). Returns
 * the number of routes. */
static int check_route_table(json_t *paths) {
        const char *path, *method;
        json_t *item, *op;
        int n_routes = 0, n_ops = 0, missing = 0;
        bool *matched;

        for (const api_route_t *rt = api_routes; rt->rt_method != NULL; rt++)
                n_routes++;
        matched = calloc((size_t)n_routes + 1, sizeof(*matched));

        assert_non_null(matched);
        json_object_foreach(paths, path, item)
                json_object_foreach(item, method, op) {
                        char pattern[512];
                        int hit = -1;

                        route_pattern(path, pattern, sizeof(pattern));
                        for (int i = 0; i < n_routes; i++)
                                if (strcasecmp(api_routes[i].rt_method, method) == 0 &&
                                    strcmp(api_routes[i].rt_pattern, pattern) == 0)
                                        hit = i;
                        n_ops++;
                        if (hit < 0) {
                                print_error("documented but not in api_routes[]: %s %s\n",
                                            method, path);
                                missing++;
                        } else if (matched[hit]) {
                                print_error("documented twice: %s %s\n", method, path);
                                missing++;
                        } else {
                                matched[hit] = true;
                        }
                }
        for (int i = 0; i < n_routes; i++)
                if (!matched[i]) {
                        print_error("in api_routes[] but not documented: %s %s\n",
                                    api_routes[i].rt_method, api_routes[i].rt_pattern);
                        missing++;
                }
        free(matched);
        if (missing != 0)
                fail_msg("openapi.json and api_routes[] differ (%d operations, %d routes)",
                         n_ops, n_routes);
        return n_routes;
}

static void test_openapi_paths(void **state) {
        apit_t *t = apit_new("api-openapi", NULL);
        json_error_t jerr;
        json_t *doc = json_load_file(BG_SOURCE_DIR "/services/api/openapi.json", 0, &jerr);
        json_t *paths, *item, *op;
        const char *path, *method;
        char admin[65];
        int checked = 0, n_routes;

        (void)state;
        if (doc == NULL)
                fail_msg("openapi.json: line %d: %s", jerr.line, jerr.text);
        assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
        paths = json_object_get(doc, "paths");
        n_routes = check_route_table(paths);
        apit_account(t, "Acme", "owner@acme.example", substs[0].value);
        apit_token(t, substs[0].value, "owner@acme.example", "admin", admin);
        apit_group(t, admin, "Main", "EUR", substs[1].value);
        apit_project(t, admin, "proj-a", substs[1].value, NULL);
        /* Not the primary group (Main is: the account's first), and never given projects. */
        apit_group(t, admin, "Spare", "EUR", substs[5].value);
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
                                check_op(t, doc, path, upper, op, admin);
                                checked++;
                        }
        print_message("%d documented operations checked\n", checked);
        assert_int_equal(checked, n_routes);    /* every route of api_routes[] */
        json_decref(doc);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_openapi_paths),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
