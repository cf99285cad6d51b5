/*
 * Invoices through the API, from the invoicer's tables: the list (?sort=), the lines as
 * JSON and as CSV (Accept: text/csv) read back by Python's standard csv module, and the
 * projects' estimated balances from the open invoice. The rows are inserted straight into
 * a schema built from the invoicer's own migration files (services/invoicer/migrations),
 * so this test does not depend on the invoicer's usage pipeline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_fixture.h"

#define OPEN  "INV-2026-11-0001"
#define FINAL "INV-2026-10-0001"

static void insert_invoices(apit_t *t, const char *account, const char *g, const char *p1,
                            const char *p2) {
        apit_sql(t, "INSERT INTO %s.invoices (invoice_number, billing_group_id, account_id, "
                 "billing_group_name, currency, period_begin, period_end, state, total_vat_zero, "
                 "total_inc_vat, issue_date, due_date, revision) VALUES "
                 "('" FINAL "', '%s', '%s', 'Main', 'EUR', '2026-10-01Z', '2026-11-01Z', 'due', "
                 "12340000, 15302000, '2026-11-01T01:00:00Z', '2026-12-01T01:00:00Z', 1), "
                 "('" OPEN "', '%s', '%s', 'Main', 'EUR', '2026-11-01Z', '2026-12-01Z', "
                 "'estimate', 4750000, NULL, NULL, NULL, 0)",
                 t->at_inv_schema, g, account, g, account);
        apit_sql(t, "INSERT INTO %s.invoice_lines (invoice_number, line_key, line_type, "
                 "sort_group, description, project_id, project_name, service_name, "
                 "service_type, service_plan, amount, line_total, timestamp_begin, "
                 "timestamp_end, tags) VALUES "
                 "('" OPEN "', 'a', 'service_charge', 0, 'Kafka, \"business\" plan\nsecond line', "
                 "'%s', 'web-prod', 'kafka-prod', 'kafka', 'business-4', 1500000, NULL, "
                 "'2026-11-01Z', '2026-11-02Z', '{\"env\": \"prod\", \"team\": \"a,b\"}'), "
                 "('" OPEN "', 'b', 'service_charge', 0, '=HYPERLINK(\"http://evil\")', "
                 "'%s', 'web-prod', 'pg-prod', 'pg', 'startup-4', 250000, NULL, "
                 "'2026-11-01Z', '2026-11-02Z', '{}'), "
                 "('" OPEN "', 'c', 'service_charge', 0, 'Redis', '%s', 'db-prod', 'redis-1', "
                 "'redis', 'hobbyist', 3000000, NULL, NULL, NULL, '{}'), "
                 "('" FINAL "', 'a', 'service_charge', 0, 'Kafka October', '%s', 'web-prod', "
                 "'kafka-prod', 'kafka', 'business-4', 22345678, 22350000, NULL, NULL, '{}'), "
                 "('" FINAL "', 'credit/WELCOME', 'credit_consumption', 1, 'Credit WELCOME', "
                 "NULL, NULL, NULL, NULL, NULL, -10000000, -10010000, NULL, NULL, '{}')",
                 t->at_inv_schema, p1, p1, p2, p1);
}

/* Parses @csv with Python's csv module; returns the rows as a JSON array of arrays. */
static json_t *python_csv(const char *csv, size_t len) {
        char in[] = "/tmp/api-csv-XXXXXX", cmd[512], out[1 << 16];
        FILE *p;
        size_t n;
        int fd = mkstemp(in);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, csv, len), (ssize_t)len);
        close(fd);
        snprintf(cmd, sizeof(cmd), "python3 -c 'import csv, json, sys; "
                 "print(json.dumps(list(csv.reader(open(sys.argv[1], newline=\"\", "
                 "encoding=\"utf-8\"), strict=True))))' %s", in);
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = '\0';
        if (pclose(p) != 0)
                fail_msg("python3's csv module could not read the CSV: %s", csv);
        unlink(in);
        return json_loads(out, 0, NULL);
}

static void test_invoices(void **state) {
        apit_t *t = apit_new("api-invoices", NULL);
        char account[37], token[65], g[37], other[37], p1[37], p2[37];
        const char *csv_hdr[] = {"Accept: text/csv", NULL};
        apit_resp_t r;
        json_t *rows;

        (void)state;
        apit_account(t, "Acme", "owner@acme.example", account);
        apit_token(t, account, "owner@acme.example", "viewer", token);
        {
                char admin[65];
                apit_token(t, account, "owner@acme.example", "admin", admin);
                apit_group(t, admin, "Main", "EUR", g);
                apit_group(t, admin, "Other", "EUR", other);
                apit_project(t, admin, "web-prod", g, p1);
                apit_project(t, admin, "db-prod", g, p2);
        }
        insert_invoices(t, account, g, p1, p2);

        /* The list, newest first by default, and the other orders. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "invoices")), 2);
        assert_string_equal(apit_str(&r, "invoices.0.invoice_number"), OPEN);
        assert_string_equal(apit_str(&r, "invoices.0.state"), "estimate");
        assert_string_equal(apit_str(&r, "invoices.0.total_vat_zero"), "4.750000");
        assert_true(json_is_null(json_object_get(json_array_get(json_object_get(r.ar_json,
                                 "invoices"), 0), "total_inc_vat")));
        assert_string_equal(apit_str(&r, "invoices.1.state"), "due");
        assert_string_equal(apit_str(&r, "invoices.1.total_inc_vat"), "15.302000");
        assert_string_equal(apit_str(&r, "invoices.1.period_begin"), "2026-10-01T00:00:00Z");
        assert_string_equal(apit_str(&r, "invoices.1.due_date"), "2026-12-01T01:00:00Z");
        assert_string_equal(apit_str(&r, "invoices.1.currency"), "EUR");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice?sort=period_begin", g);
        assert_string_equal(apit_str(&r, "invoices.0.invoice_number"), FINAL);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice?sort=-invoice_number",
                  g);
        assert_string_equal(apit_str(&r, "invoices.0.invoice_number"), OPEN);
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice", other);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "invoices")), 0);
        apit_resp_free(&r);

        /* Lines as JSON. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice/" FINAL "/lines", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "lines")), 2);
        assert_string_equal(apit_str(&r, "lines.0.line_total"), "22.350000");
        assert_string_equal(apit_str(&r, "lines.1.line_type"), "credit_consumption");
        assert_string_equal(apit_str(&r, "lines.1.line_total"), "-10.010000");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice/" OPEN "/lines", g);
        apit_expect(&r, 200, NULL);
        assert_int_equal(json_array_size(json_object_get(r.ar_json, "lines")), 3);
        assert_string_equal(apit_str(&r, "lines.0.line_total"), "1.500000");    /* estimate */
        assert_string_equal(apit_str(&r, "lines.0.project_name"), "web-prod");
        assert_string_equal(apit_str(&r, "lines.0.tags.team"), "a,b");
        assert_string_equal(apit_str(&r, "lines.0.timestamp_begin"), "2026-11-01T00:00:00Z");
        apit_resp_free(&r);

        /* Lines as CSV, read by a standard CSV reader. */
        apit_req(t, "GET", "/v1/billing-group/x/invoice/" OPEN "/lines", token, NULL, csv_hdr,
                 &r);
        apit_expect(&r, 400, NULL);                             /* not a UUID */
        apit_resp_free(&r);
        {
                char path[256];
                snprintf(path, sizeof(path), "/v1/billing-group/%s/invoice/" OPEN "/lines", g);
                apit_req(t, "GET", path, token, NULL, csv_hdr, &r);
        }
        apit_expect(&r, 200, NULL);
        assert_non_null(strstr(r.ar_type, "text/csv"));
        rows = python_csv(r.ar_body, r.ar_len);
        assert_non_null(rows);
        assert_int_equal(json_array_size(rows), 4);             /* header + 3 lines */
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 0)),
                            "invoice_number");
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 8)),
                            "line_total");
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(json_array_size(json_array_get(rows, i)), 12);
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 0)), OPEN);
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 1)), "EUR");
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 3)),
                            "Kafka, \"business\" plan\nsecond line");
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 8)),
                            "1.500000");
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 11)),
                            "{\"env\":\"prod\",\"team\":\"a,b\"}");
        /* The formula guard: the cell cannot be evaluated by a spreadsheet. */
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 2), 3)),
                            "'=HYPERLINK(\"http://evil\")");
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 3), 9)), "");
        json_decref(rows);
        apit_resp_free(&r);

        /* Not this group's invoice, or none: 404. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice/" OPEN "/lines", other);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/invoice/NOPE/lines", g);
        apit_expect(&r, 404, "not_found");
        apit_resp_free(&r);

        /* Estimated balances of the projects: their lines on the open invoice. */
        apit_reqf(t, "GET", token, NULL, &r, "/v1/billing-group/%s/projects", g);
        apit_expect(&r, 200, NULL);
        assert_string_equal(apit_str(&r, "projects.0.project_name"), "db-prod");
        assert_string_equal(apit_str(&r, "projects.0.estimated_balance"), "3.000000");
        assert_string_equal(apit_str(&r, "projects.1.project_name"), "web-prod");
        assert_string_equal(apit_str(&r, "projects.1.estimated_balance"), "1.750000");
        assert_string_equal(apit_str(&r, "projects.1.currency"), "EUR");
        apit_resp_free(&r);
        apit_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invoices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
