/*
 * Request limits and bad input: malformed or non-object JSON, duplicate keys and
 * unknown fields are 400; a body over the cap (64 KiB by default) is 413, whether it
 * announces its length or comes chunked; unknown query parameters and bad ids are 400;
 * unknown paths 404 and wrong methods 405 (with Allow). None of it changes anything or
 * harms the server: it answers normally afterwards, and nothing was created.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_fixture.h"
#include "bg_proc.h"

#define CAP (64 * 1024)

typedef struct chunks_s {
        size_t left;
} chunks_t;

static size_t read_chunk(char *buf, size_t size, size_t nmemb, void *opaque) {
        chunks_t *c = opaque;
        size_t n = size * nmemb < c->left ? size * nmemb : c->left;

        memset(buf, ' ', n);
        c->left -= n;
        return n;
}

static size_t sink(char *data, size_t size, size_t nmemb, void *opaque) {
        (void)data;
        (void)opaque;
        return size * nmemb;
}

/* POSTs @total bytes chunked (no Content-Length). Returns the status, or 0 when the
 * server closed the connection without one. */
static long post_chunked(apit_t *t, const char *token, size_t total) {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = NULL;
        char url[256], auth[256];
        chunks_t ch = {total};
        long status = 0;

        snprintf(url, sizeof(url), "%s/v1/billing-group", t->at_url);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        hl = curl_slist_append(hl, "Content-Type: application/json");
        hl = curl_slist_append(hl, "Expect:");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_chunk);
        curl_easy_setopt(c, CURLOPT_READDATA, &ch);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        return status;
}

static void test_limits(void **state) {
        apit_t *t = apit_new("api-limits", NULL);
        char account[37], token[65], g[37], *big;
        apit_resp_t r;
        int status;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "admin", token);
        apit_group(t, token, "Only", "EUR", g);

        /* Malformed JSON, in several ways. */
        const char *bad[] = {"{", "{\"billing_group_name\": }", "not json", "[]", "\"x\"",
                             "{\"billing_group_name\": \"a\", \"billing_group_name\": \"b\"}",
                             "{\"billing_group_name\": \"a\\u0000b\"}",
                             "{\"billing_group_name\": \"a\"} trailing",
                             "{\"billing_group_name\": \"x\", \"billing_group_id\": "
                             "\"0f8fad5b-d9cb-469f-a165-70867728950e\"}",
                             "{\"billing_group_name\": \"x\", \"nme\": 1}",
                             "{\"billing_group_name\": 12}",
                             "{\"billing_group_name\": \"\xff\xfe\"}"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                apit_req(t, "POST", "/v1/billing-group", token, bad[i], NULL, &r);
                if (r.ar_status != 400)
                        fail_msg("body %zu: expected 400, got %ld: %s", i, r.ar_status,
                                 r.ar_body);
                apit_expect(&r, 400, "invalid_argument");
                apit_resp_free(&r);
        }
        apit_reqf(t, "PUT", token, "{\"billing_group_name\": \"x\", \"account_id\": \"y\"}", &r,
                  "/v1/billing-group/%s", g);
        apit_expect(&r, 400, "invalid_argument");               /* not updatable */
        apit_resp_free(&r);

        /* Over the cap with Content-Length: 413 before the body is read. */
        big = malloc(CAP + 100);
        assert_non_null(big);
        memset(big, ' ', CAP + 99);
        memcpy(big, "{\"billing_group_name\": \"", 24);
        memcpy(big + CAP + 90, "\"}", 3);
        apit_req(t, "POST", "/v1/billing-group", token, big, NULL, &r);
        apit_expect(&r, 413, "payload_too_large");
        apit_resp_free(&r);
        /* Just under the cap: read and judged on its content (a too long name: 400). */
        memset(big, 'a', CAP - 10);
        memcpy(big, "{\"billing_group_name\": \"", 24);
        memcpy(big + CAP - 10, "\"}", 3);
        apit_req(t, "POST", "/v1/billing-group", token, big, NULL, &r);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        free(big);
        /* Chunked, no length: 413 once the cap is passed (or the connection is closed). */
        long st = post_chunked(t, token, 4 * CAP);
        assert_true(st == 413 || st == 0);
        st = post_chunked(t, token, 3 * 1024 * 1024);
        assert_true(st == 413 || st == 0);

        /* Query parameters: unknown, repeated, and per endpoint. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s?debug=1", g);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/events?limit=1&limit=2", g);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice?sort=amount;drop", g);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group?account_id=%s'--", account);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        /* Ids that are not UUIDs; names that are not names. */
        apit_req(t, "GET", "/v1/billing-group/1%20OR%201=1", token, NULL, NULL, &r);
        apit_expect(&r, 400, "invalid_argument");
        apit_resp_free(&r);
        apit_req(t, "GET", "/v1/project/x'%20OR%20'1'='1", token, NULL, NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);

        /* Unknown paths and wrong methods. */
        apit_req(t, "GET", "/v1/nothing", token, NULL, NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_req(t, "GET", "/v1//billing-group", token, NULL, NULL, &r);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects/extra", g);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "PATCH", token, "{}", &r, "/v1/billing-group/%s", g);
        apit_expect(&r, 405, "method_not_allowed");
        assert_non_null(strstr(r.ar_allow, "GET"));
        assert_non_null(strstr(r.ar_allow, "PUT"));
        assert_non_null(strstr(r.ar_allow, "DELETE"));
        apit_resp_free(&r);
        apit_req(t, "DELETE", "/v1/billing-group", token, NULL, NULL, &r);
        apit_expect(&r, 405, "method_not_allowed");
        apit_resp_free(&r);

        /* No harm: the server runs, answers, and only the one group exists. */
        assert_true(bg_proc_running(t->at_api, &status));
        apit_req(t, "GET", "/v1/billing-group", token, NULL, NULL, &r);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "billing_groups")), 1);
        assert_string_equal(apit_str(&r, "billing_groups.0.billing_group_name"), "Only");
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
