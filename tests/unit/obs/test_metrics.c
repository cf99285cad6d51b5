#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_admin.h"
#include "bg_metrics.h"

static void render_counters_gauges_histograms(void **state) {
        bg_metrics_t *m = bg_metrics_new();
        bg_counter_t *acc = bg_metrics_counter(m, "bg_commands_total", "Commands by outcome",
                                               "outcome=\"accepted\"");
        bg_counter_t *rej = bg_metrics_counter(m, "bg_commands_total", "Commands by outcome",
                                               "outcome=\"rejected\"");
        bg_gauge_t *lag = bg_metrics_gauge(m, "bg_lag", "Consumer lag", NULL);
        const double bounds[] = {0.01, 0.1};
        bg_histogram_t *h = bg_metrics_histogram(m, "bg_txn_seconds", "Txn time", NULL, bounds, 2);
        char *text;

        bg_counter_add(acc, 3);
        bg_counter_add(rej, 1);
        bg_counter_add(acc, 2);
        bg_gauge_set(lag, 40);
        bg_gauge_add(lag, -1);
        bg_histogram_observe(h, 0.005);
        bg_histogram_observe(h, 0.05);
        bg_histogram_observe(h, 3);
        text = bg_metrics_render(m);
        assert_non_null(text);
        assert_non_null(strstr(text, "# TYPE bg_commands_total counter\n"));
        assert_non_null(strstr(text, "bg_commands_total{outcome=\"accepted\"} 5\n"));
        assert_non_null(strstr(text, "bg_commands_total{outcome=\"rejected\"} 1\n"));
        /* HELP and TYPE once per name, not once per label set. */
        assert_null(strstr(strstr(text, "# HELP bg_commands_total") + 1, "# HELP bg_commands_total"));
        assert_null(strstr(strstr(text, "# TYPE bg_commands_total") + 1, "# TYPE bg_commands_total"));
        assert_non_null(strstr(text, "bg_lag 39\n"));
        assert_non_null(strstr(text, "bg_txn_seconds_bucket{le=\"0.01\"} 1\n"));
        assert_non_null(strstr(text, "bg_txn_seconds_bucket{le=\"0.1\"} 2\n"));
        assert_non_null(strstr(text, "bg_txn_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert_non_null(strstr(text, "bg_txn_seconds_sum 3.055000\n"));
        assert_non_null(strstr(text, "bg_txn_seconds_count 3\n"));
        free(text);
        bg_metrics_destroy(m);
        bg_metrics_destroy(NULL);
}

typedef struct {
        char *buf;
        size_t len;
} body_t;

static size_t collect(char *p, size_t size, size_t n, void *opaque) {
        body_t *b = opaque;
        char *nb = realloc(b->buf, b->len + size * n + 1);
        assert_non_null(nb);
        memcpy(nb + b->len, p, size * n);
        b->len += size * n;
        nb[b->len] = '\0';
        b->buf = nb;
        return size * n;
}

static long http_get(int port, const char *path, body_t *body) {
        CURL *c = curl_easy_init();
        char url[128];
        long code = 0;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        body->buf = NULL;
        body->len = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        return code;
}

static bool healthy;

static bool health(void *opaque, char *why, size_t why_size) {
        if (!healthy)
                snprintf(why, why_size, "%s", (const char *)opaque);
        return healthy;
}

static void admin_serves_healthz_and_metrics(void **state) {
        bg_metrics_t *m = bg_metrics_new();
        char errstr[256];
        bg_admin_t *admin;
        body_t body;

        bg_counter_add(bg_metrics_counter(m, "bg_up_total", "x", NULL), 7);
        admin = bg_admin_start("127.0.0.1:0", m, health, "consumer \"lost\"", errstr, sizeof(errstr));
        assert_non_null(admin);
        assert_true(bg_admin_port(admin) > 0);

        healthy = true;
        assert_int_equal(http_get(bg_admin_port(admin), "/healthz", &body), 200);
        assert_string_equal(body.buf, "{\"status\":\"ok\"}");
        free(body.buf);

        healthy = false;
        assert_int_equal(http_get(bg_admin_port(admin), "/healthz", &body), 503);
        assert_string_equal(body.buf, "{\"status\":\"unhealthy\",\"reason\":\"consumer 'lost'\"}");
        free(body.buf);

        assert_int_equal(http_get(bg_admin_port(admin), "/metrics", &body), 200);
        assert_non_null(strstr(body.buf, "bg_up_total 7\n"));
        free(body.buf);

        assert_int_equal(http_get(bg_admin_port(admin), "/nope", &body), 404);
        free(body.buf);
        bg_admin_stop(admin);
        bg_admin_stop(NULL);
        bg_metrics_destroy(m);
}

static void rejects_bad_listen_addresses(void **state) {
        static const char *const bad[] = {"", "9100", "127.0.0.1:", "127.0.0.1:65536",
                                          "127.0.0.1:-1", "host.example:80", "1.2.3.4:80x"};
        struct sockaddr_in sa;
        char errstr[256];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(bg_parse_listen_addr(bad[i], &sa));
        assert_true(bg_parse_listen_addr("localhost:9100", &sa));
        assert_int_equal(ntohs(sa.sin_port), 9100);
        assert_null(bg_admin_start("nonsense", NULL, NULL, NULL, errstr, sizeof(errstr)));
        assert_non_null(strstr(errstr, "invalid admin address \"nonsense\""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(render_counters_gauges_histograms),
                cmocka_unit_test(admin_serves_healthz_and_metrics),
                cmocka_unit_test(rejects_bad_listen_addresses),
        };
        return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
