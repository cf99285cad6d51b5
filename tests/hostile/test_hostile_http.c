/*
 * The bad-input suite on the HTTP API (issue 8; docs/hostile-input.md).
 *
 * Every endpoint of services/api/openapi.json gets hostile bodies (malformed JSON, deep
 * nesting, huge numbers, NUL bytes, invalid UTF-8, wrong types, SQL metacharacters in
 * every string field), hostile path parameters, query strings and headers, interleaved
 * with a script of valid writes. Then:
 *   - no answer is a 5xx; every 4xx carries a JSON error with a stable code and a message;
 *   - bodies with SQL metacharacters are either refused (400 with a reason) or accepted,
 *     and then stored and served back verbatim;
 *   - the tables are intact and hold exactly the valid script's objects plus the accepted
 *     hostile ones;
 *   - billing-api, billing-projector and billing-commands are the same pids, answer
 *     /healthz, stayed within the memory bounds, and stop cleanly (no sanitizer report).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <glob.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_fixture.h"
#include "bg_proc.h"
#include "hostile_corpus.h"
#include "hostile_support.h"

typedef struct stats_s {
        size_t requests, s2xx, s4xx, s413, closed;
} stats_t;

static stats_t st;

typedef struct body_s {
        char *b;
        size_t n;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque) {
        body_t *b = opaque;
        size_t n = size * nmemb;

        b->b = realloc(b->b, b->n + n + 1);
        if (b->b == NULL)
                return 0;
        memcpy(b->b + b->n, data, n);
        b->n += n;
        b->b[b->n] = '\0';
        return n;
}

/* One request, binary-safe body (@len bytes; @body NULL: none). Checks the answer: never
 * 5xx; a 4xx has a JSON error with code and message. Returns the status (0: the server
 * closed the connection, allowed only when @may_close). */
static long hreq(apit_t *t, const char *method, const char *path, const char *token,
                 const void *body, size_t len, const char *const *headers, bool may_close,
                 const char *what) {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = NULL;
        char url[20000], auth[16384];
        body_t b = {NULL, 0};
        char *ct = NULL;
        long status = 0;
        CURLcode rc;

        assert_non_null(c);
        snprintf(url, sizeof(url), "%s%s", t->at_url, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        if (token != NULL) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                hl = curl_slist_append(hl, auth);
        }
        if (body != NULL) {
                hl = curl_slist_append(hl, "Content-Type: application/json");
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        }
        hl = curl_slist_append(hl, "Expect:");
        for (const char *const *h = headers; h && *h; h++)
                hl = curl_slist_append(hl, *h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        rc = curl_easy_perform(c);
        st.requests++;
        if (rc == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        } else if (!may_close) {
                fail_msg("%s %s (%s): %s", method, path, what, curl_easy_strerror(rc));
        } else {
                st.closed++;
        }
        if (status >= 500)
                fail_msg("%s %.200s (%s): %ld %s", method, path, what, status, b.b ? b.b : "");
        if (status == 431) {
                /* libmicrohttpd answers an oversized header itself, before the API sees the
                 * request, with a text body of its own (docs/hostile-input.md). */
                st.s4xx++;
        } else if (status >= 400) {
                json_t *j = (ct && strncmp(ct, "application/json", 16) == 0 && b.b) ?
                            json_loads(b.b, 0, NULL) : NULL;
                json_t *err = json_object_get(j, "error");
                const char *code = json_string_value(json_object_get(err, "code"));
                const char *msg = json_string_value(json_object_get(err, "message"));

                if (code == NULL || msg == NULL || *msg == '\0')
                        fail_msg("%s %.200s (%s): %ld without a JSON error: %s", method, path,
                                 what, status, b.b ? b.b : "");
                json_decref(j);
                st.s4xx++;
                st.s413 += status == 413;
        } else if (status >= 200 && status < 300) {
                st.s2xx++;
        }
        free(b.b);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        return status;
}

static long hreqs(apit_t *t, const char *method, const char *path, const char *token,
                  const char *body, const char *what) {
        return hreq(t, method, path, token, body, body ? strlen(body) : 0, NULL, false, what);
}

/* ------------------------------------------------------------------ hostile bodies */

/* Every body of the list, to @method @path; none may be accepted (4xx). */
#define B(lit) {lit, sizeof(lit) - 1}

static void bodies_refused(apit_t *t, const char *method, const char *path, const char *token) {
        static const struct {
                const char *b;
                size_t n;
        } bad[] = {
                B("{"), B("["), B("nul"), B("{\"a\":"), B(""), B("null"),
                B("\"x\""), B("[]"), B("42"), B("{}{}"), B("{} trailing"),
                B("\xff\xfe{\x00}"), B("{\"x\x00y\": 1}"), B("\x00"),
                B("{\"billing_group_name\": \"a\x00b\"}"),
                B("{\"billing_group_name\": \"\\u0000\"}"),
                B("{\"billing_group_name\": \"\xc0\xaf\"}"),
                B("{\"billing_group_name\": \"\xed\xa0\x80\"}"),
                B("{\"billing_group_name\": \"\\ud800\"}"),
                B("{\"billing_group_name\": \"\xff\"}"),
                B("{\"billing_group_name\": 1e999999}"),
                B("{\"billing_group_name\": 123456789012345678901234567890}"),
                B("{\"billing_group_name\": -0.0e-999}"),
                B("{\"billing_group_name\": NaN}"),
                B("{\"billing_group_name\": Infinity}"),
                B("{\"billing_group_name\": true}"),
                B("{\"billing_group_name\": null}"),
                B("{\"billing_group_name\": []}"),
                B("{\"billing_group_name\": {}}"),
                B("{\"a\": 1, \"a\": 2}"),
                B("{'billing_group_name': 'x'}"),
                B("{\"billing_group_name\": \"x\",}"),
                B("{\"__proto__\": {\"admin\": true}}"),
                B("{\"account_id\": \"' OR 1=1 --\"}"),
                B("{\"expected_version\": 99999999999999999999}"),
                B("{\"limit\": -1}"),
        };
        char what[64];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                long s;
                snprintf(what, sizeof(what), "hostile body #%zu", i);
                s = hreq(t, method, path, token, bad[i].b, bad[i].n, NULL, false, what);
                if (s < 400)
                        fail_msg("%s %s: hostile body #%zu answered %ld", method, path, i, s);
        }
        /* Deep nesting: arrays, objects, mixed, within the body cap. */
        {
                size_t depth = 20000;
                char *deep = malloc(2 * depth + 7 * 12000 + 64);
                size_t n = 0;

                assert_non_null(deep);
                for (size_t i = 0; i < depth; i++)
                        deep[n++] = '[';
                for (size_t i = 0; i < depth; i++)
                        deep[n++] = ']';
                assert_true(hreq(t, method, path, token, deep, n, NULL, false,
                                 "20000 nested arrays") >= 400);
                n = 0;
                n += (size_t)sprintf(deep + n, "{\"billing_group_name\": ");
                for (size_t i = 0; i < 12000; i++)
                        n += (size_t)sprintf(deep + n, "{\"a\":");
                deep[n++] = '1';
                for (size_t i = 0; i < 12000; i++)
                        deep[n++] = '}';
                deep[n++] = '}';
                deep = realloc(deep, n + 1);
                assert_true(hreq(t, method, path, token, deep, n, NULL, false,
                                 "12000 nested objects") >= 400);
                free(deep);
        }
        /* Over the cap: 413 (or the connection closed once the cap is passed). */
        {
                size_t n = 70000;
                char *big = malloc(n);
                assert_non_null(big);
                memset(big, 'a', n);
                memcpy(big, "{\"billing_group_name\": \"", 24);
                memcpy(big + n - 2, "\"}", 2);
                assert_true(hreq(t, method, path, token, big, n, NULL, true, "70 KB body") == 413 ||
                            st.closed > 0);
                free(big);
        }
}

/* ------------------------------------------------------------------ paths, queries */

static const char *const bad_ids[] = {
        "'%3B%20DROP%20TABLE%20billing_groups%3B%20--",
        "x'%20OR%20'1'%3D'1",
        "%00",
        "0f8fad5b-d9cb-469f-a165-70867728950e%00",
        "..%2F..%2Fetc%2Fpasswd",
        "%ff%fe",
        "00000000-0000-0000-0000-000000000000",
        "0F8FAD5B-D9CB-469F-A165-70867728950E",
        "0f8fad5bd9cb469fa16570867728950e",
        "%7B0f8fad5b-d9cb-469f-a165-70867728950e%7D",
        "-1",
        "99999999999999999999999999",
        "%E2%80%8F%F0%9F%92%A3",
        NULL,
};

/* @tmpl with its "%s" (if any) replaced by @val. */
static void subst(char *dst, size_t size, const char *tmpl, const char *val) {
        const char *at = strstr(tmpl, "%s");

        if (at == NULL)
                snprintf(dst, size, "%s", tmpl);
        else
                snprintf(dst, size, "%.*s%s%s", (int)(at - tmpl), tmpl, val, at + 2);
}

static void paths_refused(apit_t *t, const char *token, const char *group) {
        static const char *const templates[] = {
                "GET /v1/account/%s", "PUT /v1/account/%s", "GET /v1/account/%s/billing-group",
                "POST /v1/account/%s/token", "GET /v1/billing-group/%s",
                "PUT /v1/billing-group/%s", "DELETE /v1/billing-group/%s",
                "GET /v1/billing-group/%s/projects", "POST /v1/billing-group/%s/projects-assign",
                "GET /v1/billing-group/%s/events", "GET /v1/billing-group/%s/credits",
                "POST /v1/billing-group/%s/credits", "GET /v1/billing-group/%s/invoice",
                "GET /v1/billing-group/%s/invoice/x/lines", "GET /v1/project/%s",
                "DELETE /v1/project/%s", NULL,
        };
        char path[20000], method[16], what[128];
        char *longid = malloc(9000);

        assert_non_null(longid);
        memset(longid, 'a', 8999);
        longid[8999] = '\0';
        for (const char *const *tp = templates; *tp; tp++) {
                const char *fmt = strchr(*tp, ' ') + 1;

                snprintf(method, sizeof(method), "%.*s", (int)(fmt - *tp - 1), *tp);
                for (size_t i = 0; bad_ids[i] || i == 0; i++) {
                        const char *id = bad_ids[i] ? bad_ids[i] : longid;
                        long s;

                        subst(path, sizeof(path), fmt, id);
                        snprintf(what, sizeof(what), "hostile path parameter #%zu", i);
                        s = hreq(t, method, path, token, strcmp(method, "GET") ? "{}" : NULL,
                                 strcmp(method, "GET") ? 2 : 0, NULL, bad_ids[i] == NULL, what);
                        /* Project names are names: a valid-looking one is simply not
                         * found; everything else is 400 or 404. */
                        if (s != 0 && s != 400 && s != 404 && s != 405 && s != 414 && s != 431)
                                fail_msg("%s %.100s: %ld", method, path, s);
                        if (bad_ids[i] == NULL)
                                break;
                }
        }
        free(longid);
        /* Invoice numbers in the path of a real group. */
        for (size_t i = 0; bad_ids[i]; i++) {
                snprintf(path, sizeof(path), "/v1/billing-group/%s/invoice/%s/lines", group,
                         bad_ids[i]);
                assert_true(hreq(t, "GET", path, token, NULL, 0, NULL, false,
                                 "hostile invoice number") >= 400);
        }
        /* Query strings. */
        {
                const char *const queries[] = {
                        "/v1/billing-group?account_id='%20OR%201%3D1%20--",
                        "/v1/billing-group?account_id=%00",
                        "/v1/billing-group?account_id=",
                        "/v1/billing-group?account_id",
                        "/v1/billing-group?account_id=a&account_id=b",
                        "/v1/billing-group?%ff=%fe",
                        "/v1/billing-group?x=1",
                        "/v1/project?account_id=;DROP%20TABLE%20projects",
                        "/v1/billing-group/%s/events?limit=-1",
                        "/v1/billing-group/%s/events?limit=0",
                        "/v1/billing-group/%s/events?limit=1001",
                        "/v1/billing-group/%s/events?limit=99999999999999999999999",
                        "/v1/billing-group/%s/events?limit=1e3",
                        "/v1/billing-group/%s/events?limit=10%00",
                        "/v1/billing-group/%s/events?limit=%20%2010",
                        "/v1/billing-group/%s/events?limit=0x10",
                        "/v1/billing-group/%s/invoice?sort=period_begin;DROP%20TABLE%20invoices",
                        "/v1/billing-group/%s/invoice?sort=-period_begin%27",
                        "/v1/billing-group/%s/invoice?sort=",
                        NULL,
                };
                for (const char *const *q = queries; *q; q++) {
                        subst(path, sizeof(path), *q, group);
                        long s = hreq(t, "GET", path, token, NULL, 0, NULL, false,
                                      "hostile query");
                        /* "?account_id" without a value reads as no parameter. */
                        if (s != 400 && !(s == 200 && strchr(path, '=') == NULL))
                                fail_msg("GET %s: %ld, want 400", path, s);
                }
        }
}

static void headers_refused(apit_t *t, const char *token, const char *group) {
        char path[256], *longtok = malloc(12000);
        const char *const bad_tokens[] = {"", "x", "' OR 1=1 --", "%00",
                                          "0000000000000000000000000000000000000000000000000000000000000000",
                                          "\xff\xfe", NULL};

        assert_non_null(longtok);
        memset(longtok, 'f', 11999);
        longtok[11999] = '\0';
        snprintf(path, sizeof(path), "/v1/billing-group/%s", group);
        for (const char *const *b = bad_tokens; *b; b++)
                assert_int_equal(hreq(t, "GET", path, *b, NULL, 0, NULL, false, "bad token"), 401);
        {
                long s = hreq(t, "GET", path, longtok, NULL, 0, NULL, true, "12 KB token");
                assert_true(s == 0 || s == 401 || s == 413 || s == 431);
        }
        {
                const char *const h[] = {"Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL};
                assert_int_equal(hreq(t, "GET", path, NULL, NULL, 0, h, false, "basic auth"), 401);
        }
        {
                const char *const h[] = {"Authorization: Bearer a", "Authorization: Bearer b",
                                         NULL};
                assert_int_equal(hreq(t, "GET", path, NULL, NULL, 0, h, false, "two tokens"), 401);
        }
        /* If-Match and Idempotency-Key, on a write that would otherwise succeed. */
        {
                const char *const ifmatch[] = {"If-Match: \"-1\"", "If-Match: \"99999999999999999999\"",
                                               "If-Match: garbage", "If-Match: \"1\"; DROP",
                                               "If-Match: W/\"1\"", NULL};
                for (const char *const *h = ifmatch; *h; h++) {
                        const char *hs[] = {*h, NULL};
                        long s = hreq(t, "PUT", path, token, "{\"billing_group_name\": \"never\"}",
                                      31, hs, false, *h);
                        if (s != 400 && s != 412)
                                fail_msg("%s: %ld", *h, s);
                }
                const char *const keys[] = {"Idempotency-Key: not-a-uuid",
                                            "Idempotency-Key: '; DROP TABLE api_tokens; --",
                                            "Idempotency-Key: 0f8fad5b-d9cb-469f-a165-70867728950e'",
                                            NULL};
                for (const char *const *h = keys; *h; h++) {
                        const char *hs[] = {*h, NULL};
                        long s = hreq(t, "PUT", path, token, "{\"billing_group_name\": \"never\"}",
                                      31, hs, false, *h);
                        if (s != 400)
                                fail_msg("%s: %ld, want 400", *h, s);
                }
        }
        /* Huge headers: refused or the connection closed, never a crash. */
        {
                char *h = malloc(70000);
                const char *hs[] = {h, NULL};
                assert_non_null(h);
                memcpy(h, "X-Junk: ", 8);
                memset(h + 8, 'j', 70000 - 9);
                h[69999] = '\0';
                long s = hreq(t, "GET", path, token, NULL, 0, hs, true, "70 KB header");
                assert_true(s == 0 || s == 400 || s == 413 || s == 431);
                free(h);
        }
        free(longtok);
}

/* ------------------------------------------------------------------ SQL strings */

typedef struct accepted_s {
        char id[37];
        const char *s;
} accepted_t;

/* Every string field of a billing group creation holding @s. Returns the status; on 201
 * the id in @id. */
static long create_sql_group(apit_t *t, const char *token, const char *s, char id[37]) {
        json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:s, s:s, s:s, s:s}",
                              "billing_group_name", s, "billing_currency", "EUR",
                              "billing_extra_text", s, "company", s, "address_lines", s, s,
                              "city", s, "state", s, "zip_code", s, "vat_id", s);
        char *text = json_dumps(b, 0);
        apit_resp_t r;
        long status;

        status = apit_req(t, "POST", "/v1/billing-group", token, text, NULL, &r);
        if (status >= 500)
                fail_msg("SQL string \"%s\": %ld %s", s, status, r.ar_body);
        if (status == 201) {
                const char *const fields[] = {"billing_group_name", "billing_extra_text", "company",
                                              "city", "state", "zip_code", "vat_id", NULL};
                for (const char *const *f = fields; *f; f++) {
                        char p[128];
                        snprintf(p, sizeof(p), "billing_group.%s", *f);
                        if (apit_str(&r, p) == NULL || strcmp(apit_str(&r, p), s) != 0)
                                fail_msg("%s of \"%s\" came back as \"%s\"", *f, s,
                                         apit_str(&r, p) ? apit_str(&r, p) : "(null)");
                }
                snprintf(id, 37, "%s", apit_str(&r, "billing_group.billing_group_id"));
        } else {
                apit_expect(&r, 400, "invalid_argument");
        }
        apit_resp_free(&r);
        free(text);
        json_decref(b);
        st.requests++;
        return status;
}

static void check_no_sanitizer_reports(apit_t *t) {
        char pattern[400];
        glob_t g;

        snprintf(pattern, sizeof(pattern), "%s*", t->at_cmd->ch_log);
        assert_int_equal(glob(pattern, 0, NULL, &g), 0);
        for (size_t i = 0; i < g.gl_pathc; i++)
                hs_assert_no_sanitizer_report(g.gl_pathv[i]);
        globfree(&g);
}

static long long q(apit_t *t, const char *sql, const char *param) {
        const char *params[1] = {param};
        PGresult *r = PQexecParams(t->at_pg, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
        long long v;

        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(t->at_pg));
        v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static void http_hostile_corpus(void **state) {
        apit_t *t = apit_new("hostile-http", NULL);
        char account[37], token[65], g0[37], g1[37], path[256], sql[512];
        accepted_t acc[32];
        size_t nacc = 0, nvalid_groups = 1;
        hs_mem_t m_api, m_pj, m_cmd;
        apit_resp_t r;
        const char *const post_paths[] = {"/v1/billing-group", "/v1/project", "/v1/account",
                                          NULL};

        (void)state;
        apit_account(t, "'; DROP TABLE accounts; --", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Valid 0", "EUR", g0);
        apit_project(t, token, "web", g0, NULL);
        hs_mem(t->at_api, &m_api);
        hs_mem(t->at_projector, &m_pj);
        hs_mem(t->at_commands, &m_cmd);

        /* Bodies: every endpoint that takes one. */
        for (const char *const *p = post_paths; *p; p++)
                bodies_refused(t, "POST", *p, strcmp(*p, "/v1/account") ? token :
                               APIT_SERVICE_TOKEN);
        apit_group(t, token, "Valid 1", "EUR", g1);
        nvalid_groups++;
        snprintf(path, sizeof(path), "/v1/billing-group/%s", g0);
        bodies_refused(t, "PUT", path, token);
        snprintf(path, sizeof(path), "/v1/account/%s", account);
        bodies_refused(t, "PUT", path, token);
        snprintf(path, sizeof(path), "/v1/account/%s/token", account);
        bodies_refused(t, "POST", path, token);
        apit_project(t, token, "db", g0, NULL);
        snprintf(path, sizeof(path), "/v1/billing-group/%s/projects-assign", g0);
        bodies_refused(t, "POST", path, token);
        snprintf(path, sizeof(path), "/v1/billing-group/%s/credits", g0);
        bodies_refused(t, "POST", path, token);
        /* Bodies where none is expected. */
        snprintf(path, sizeof(path), "/v1/billing-group/%s", g0);
        {
                long s = hreq(t, "GET", path, token, "{\"x\":", 5, NULL, false, "GET with a body");
                assert_true(s == 200 || s == 400);
        }

        /* Paths, queries, headers, with valid writes between them. */
        paths_refused(t, token, g0);
        apit_group(t, token, "Valid 2", "USD", g1);
        nvalid_groups++;
        headers_refused(t, token, g0);
        apit_project(t, token, "cache", g1, NULL);

        /* SQL metacharacters in every string field: stored verbatim or refused. */
        for (const char *const *s = hc_sql_strings; *s; s++) {
                char id[37] = "";
                long status = create_sql_group(t, token, *s, id);
                if (status == 201) {
                        acc[nacc].s = *s;
                        snprintf(acc[nacc].id, 37, "%s", id);
                        nacc++;
                }
                /* The same in the name of a project (a name: refused) and a token's
                 * description, and as a credit code. */
                {
                        json_t *b = json_pack("{s:s}", "project", *s);
                        char *text = json_dumps(b, 0);
                        assert_int_equal(hreqs(t, "POST", "/v1/project", token, text,
                                               "SQL project name"), 400);
                        free(text);
                        json_decref(b);
                        b = json_pack("{s:s}", "code", *s);
                        text = json_dumps(b, 0);
                        snprintf(path, sizeof(path), "/v1/billing-group/%s/credits", g0);
                        {
                                long cs = hreqs(t, "POST", path, token, text, "SQL credit code");
                                assert_true(cs == 400 || cs == 404);
                        }
                        free(text);
                        json_decref(b);
                        b = json_pack("{s:s, s:s, s:s}", "user_email", "owner@acme.example", "role",
                                      "viewer", "description", *s);
                        text = json_dumps(b, 0);
                        snprintf(path, sizeof(path), "/v1/account/%s/token", account);
                        {
                                long ts = hreqs(t, "POST", path, token, text, "SQL description");
                                assert_true(ts == 201 || ts == 400);
                        }
                        free(text);
                        json_decref(b);
                }
        }
        print_message("hostile-corpus http: %zu requests: %zu 2xx, %zu 4xx (%zu of them 413), "
                      "%zu closed by the server; %zu SQL-metacharacter groups accepted\n",
                      st.requests, st.s2xx, st.s4xx, st.s413, st.closed, nacc);
        {
                /* Free text takes them all, but "state" holds at most 30 characters: the
                 * longer strings are refused (400, naming the field), the others accepted. */
                size_t fit = 0;
                for (const char *const *s = hc_sql_strings; *s; s++) {
                        size_t chars = 0;
                        for (const char *c = *s; *c; c++)
                                chars += ((unsigned char)*c & 0xc0) != 0x80;
                        fit += chars <= 30;
                }
                assert_int_equal(nacc, fit);
                assert_true(fit >= 5);
        }

        /* The tables: intact, and exactly the valid objects plus the accepted ones. */
        {
                const char *const tables[] = {"accounts", "account_members", "billing_groups",
                                              "projects", "project_moves", "credits", "audit_log",
                                              "account_seq", "kafka_offsets", NULL};
                for (const char *const *tb = tables; *tb; tb++) {
                        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE "
                                 "schemaname = '%s' AND tablename = $1", t->at_schema);
                        assert_int_equal(q(t, sql, *tb), 1);
                }
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.api_tokens WHERE $1 = $1",
                         t->at_api_schema);
                assert_true(q(t, sql, "x") >= 1);
        }
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.accounts WHERE name = $1",
                 t->at_schema);
        assert_int_equal(q(t, sql, "'; DROP TABLE accounts; --"), 1);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.accounts WHERE $1 = $1", t->at_schema);
        assert_int_equal(q(t, sql, "x"), 1);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.billing_groups WHERE status = $1",
                 t->at_schema);
        assert_int_equal(q(t, sql, "active"), (long long)(nvalid_groups + nacc));
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.projects WHERE $1 = $1", t->at_schema);
        assert_int_equal(q(t, sql, "x"), 3);
        for (size_t i = 0; i < nacc; i++) {
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.billing_groups WHERE name = $1 "
                         "AND company = $1 AND city = $1 AND vat_id = $1 AND "
                         "address_lines[2] = $1", t->at_schema);
                assert_int_equal(q(t, sql, acc[i].s), 1);
                snprintf(path, sizeof(path), "/v1/billing-group/%.36s", acc[i].id);
                apit_req(t, "GET", path, token, NULL, NULL, &r);
                apit_expect(&r, 200, NULL);
                assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), acc[i].s);
                assert_string_equal(apit_str(&r, "billing_group.company"), acc[i].s);
                apit_resp_free(&r);
        }
        apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")),
                         nvalid_groups + nacc);
        apit_resp_free(&r);
        snprintf(path, sizeof(path), "/v1/billing-group/%s/events?limit=1000", g0);
        apit_req(t, "GET", path, token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        apit_resp_free(&r);

        /* Still the same processes, healthy, memory bounded, no sanitizer report. */
        hs_assert_alive_and_well(t->at_api, "billing-api", t->at_api_log, &m_api);
        hs_assert_alive_and_well(t->at_projector, "billing-projector", t->at_api_log, &m_pj);
        hs_assert_alive_and_well(t->at_commands, "billing-commands", t->at_api_log, &m_cmd);
        check_no_sanitizer_reports(t);
        apit_destroy(t);        /* asserts billing-api exits 0 on SIGTERM (leaks would not) */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(http_hostile_corpus),
        };
        return cmocka_run_group_tests_name("hostile_http", tests, NULL, NULL);
}
