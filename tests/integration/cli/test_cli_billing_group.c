/*
 * The billing-group, account and project verbs of billingctl against the real API:
 * billing-commands, billing-projector and billing-api run as child processes on topics
 * and schemas of the test's own; billingctl creates the account (service token), a user
 * token (token create), then groups, projects, assignments, claims and reads them back,
 * as tables and as JSON. Refusals by the API exit 1 with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "cli_fixture.h"

#define SERVICE_TOKEN "it-cli-service-token-0123456789"

static cmdh_t *h;
static pid_t commands, projector, api;
static char schema[64], inv_schema[64], api_schema[64], url[64], account[64], user_token[80];
static PGconn *conn;

static int free_port(void) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        port = ntohs(a.sin_port);
        close(fd);
        return port;
}

static void exec_sql(const char *sql) {
        PGresult *res = PQexec(conn, sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
}

/* The invoicer's tables, empty (the API reads invoices from them). */
static void invoicer_schema(void) {
        char sql[512], *text;
        FILE *f = fopen(BG_SOURCE_DIR "/services/invoicer/migrations/001_invoices.sql", "r");
        long n;

        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)n + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; SET search_path TO %s", inv_schema,
                 inv_schema);
        exec_sql(sql);
        exec_sql(text);
        exec_sql("RESET search_path");
        free(text);
}

static bool api_up(void) {
        for (int i = 0; i < 100; i++) {
                if (clit_run(NULL, "project list --token x --url %s >/dev/null 2>&1", url) == 1) {
                        char *out = NULL;
                        /* 401 (a bad token) means it answers */
                        clit_run(&out, "project list --token x --url %s 2>&1", url);
                        bool up = strstr(out, "401") != NULL;
                        free(out);
                        if (up)
                                return true;
                }
                usleep(200 * 1000);
        }
        return false;
}

static int setup(void **state) {
        static char env[8][320];
        char *penv[9], sha[65], log[400], *out;
        uint8_t d[SHA256_DIGEST_LENGTH];
        json_t *j;

        h = cmdh_new("it-cli-api", 2);
        commands = cmdh_start(h, "api-0", NULL);
        conn = PQconnectdb(bg_test_env("BILLING_PG_CONNINFO"));
        assert_int_equal(PQstatus(conn), CONNECTION_OK);
        snprintf(schema, sizeof(schema), "it_cli_api_%ld", (long)getpid());
        snprintf(inv_schema, sizeof(inv_schema), "it_cli_inv_%ld", (long)getpid());
        snprintf(api_schema, sizeof(api_schema), "it_cli_tok_%ld", (long)getpid());
        invoicer_schema();
        SHA256((const unsigned char *)SERVICE_TOKEN, strlen(SERVICE_TOKEN), d);
        for (int i = 0; i < 32; i++)
                snprintf(sha + 2 * i, 3, "%02x", d[i]);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());

        snprintf(env[0], sizeof(env[0]), "BILLING_PG_SCHEMA=%s", schema);
        snprintf(env[1], sizeof(env[1]), "BILLING_INVOICER_SCHEMA=%s", inv_schema);
        snprintf(env[2], sizeof(env[2]), "BILLING_API_SCHEMA=%s", api_schema);
        snprintf(env[3], sizeof(env[3]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(env[4], sizeof(env[4]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(env[5], sizeof(env[5]), "BILLING_API_ADDR=%s", url + 7);
        snprintf(env[6], sizeof(env[6]), "BILLING_API_SERVICE_TOKENS=billing:%s", sha);
        for (int i = 0; i < 7; i++)
                penv[i] = env[i];
        penv[7] = NULL;
        snprintf(log, sizeof(log), "%s-projector.log", h->ch_log);
        projector = bg_proc_spawn(BG_BINARY_DIR "/services/projector/billing-projector", NULL,
                                  penv, log);
        snprintf(log, sizeof(log), "%s-api.log", h->ch_log);
        api = bg_proc_spawn(BG_BINARY_DIR "/services/api/billing-api", NULL, penv, log);
        assert_true(projector > 0 && api > 0);
        setenv("BILLING_PG_SCHEMA", schema, 1);
        setenv("BILLING_API_SCHEMA", api_schema, 1);
        setenv("BILLING_API_URL", url, 1);
        if (!api_up())
                fail_msg("billing-api does not answer at %s (log %s)", url, log);

        /* The account, by a service; then a token for its owner. */
        assert_int_equal(clit_run(&out, "account create Acme --owner alice@example.com --json "
                                        "--token %s", SERVICE_TOKEN), 0);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        snprintf(account, sizeof(account), "%s",
                 json_string_value(json_object_get(json_object_get(j, "account"), "account_id")));
        json_decref(j);
        free(out);
        assert_int_equal(clit_run(&out, "token create --account %s --user alice@example.com "
                                        "--role admin", account), 0);
        assert_int_equal(strlen(out), 65);
        snprintf(user_token, sizeof(user_token), "%.64s", out);
        free(out);
        setenv("BILLING_API_TOKEN", user_token, 1);
        return 0;
}

static int teardown(void **state) {
        char sql[512];

        bg_proc_stop(api, SIGTERM, 20000);
        bg_proc_stop(projector, SIGTERM, 20000);
        bg_proc_stop(commands, SIGTERM, 20000);
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s "
                 "CASCADE; DROP SCHEMA IF EXISTS %s CASCADE", schema, inv_schema, api_schema);
        PQclear(PQexec(conn, sql));
        PQfinish(conn);
        cmdh_destroy(h);
        return 0;
}

/* Runs billingctl with --json, expecting exit 0; returns the object under @key. */
__attribute__((format(printf, 2, 3)))
static json_t *run_json(const char *key, const char *fmt, ...) {
        char args[2048], *out;
        va_list ap;
        json_t *j, *v;

        va_start(ap, fmt);
        vsnprintf(args, sizeof(args), fmt, ap);
        va_end(ap);
        assert_int_equal(clit_run(&out, "%s --json", args), 0);
        j = json_loads(out, 0, NULL);
        if (j == NULL)
                fail_msg("not JSON: %s", out);
        free(out);
        v = json_incref(json_object_get(j, key));
        json_decref(j);
        assert_non_null(v);
        return v;
}

static const char *str(json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));

        if (s == NULL)
                fail_msg("no string \"%s\"", k);
        return s;
}

static void billing_group_verbs_round_trip(void **state) {
        char g1[64], g2[64], *out, expect[256];
        json_t *g, *list, *p;
        bg_command_t *cmd = calloc(1, sizeof(*cmd));
        bg_command_result_t res;
        bg_uuid_t acc;

        /* create with a profile; the table form first */
        assert_int_equal(clit_run(&out, "billing-group create Engineering --billing-currency EUR "
                                        "--billing-email ap@acme.example --billing-email "
                                        "cfo@acme.example --vat-id FI12345678 --company 'Acme Oy' "
                                        "--address-line 'Street 1' --city Helsinki "
                                        "--country-code FI"), 0);
        assert_non_null(strstr(out, "BILLING_GROUP_ID"));
        assert_non_null(strstr(out, "Engineering"));
        assert_non_null(strstr(out, "EUR"));
        free(out);
        list = run_json("billing_groups", "billing-group list");
        assert_int_equal(json_array_size(list), 1);
        snprintf(g1, sizeof(g1), "%s", str(json_array_get(list, 0), "billing_group_id"));
        json_decref(list);

        g = run_json("billing_group", "billing-group get %s", g1);
        assert_string_equal(str(g, "billing_group_name"), "Engineering");
        assert_string_equal(str(g, "vat_id"), "FI12345678");
        assert_string_equal(str(g, "city"), "Helsinki");
        assert_int_equal(json_array_size(json_object_get(g, "billing_emails")), 2);
        json_decref(g);

        /* update: name and one field; the rest stays */
        g = run_json("billing_group", "billing-group update %s --name 'Engineering EU' "
                                      "--vat-id FI87654321", g1);
        assert_string_equal(str(g, "billing_group_name"), "Engineering EU");
        assert_string_equal(str(g, "vat_id"), "FI87654321");
        assert_string_equal(str(g, "company"), "Acme Oy");
        json_decref(g);

        /* a second group copied from the first, a project in it, the primary */
        g = run_json("billing_group", "billing-group create Development --copy-from %s", g1);
        snprintf(g2, sizeof(g2), "%s", str(g, "billing_group_id"));
        assert_string_equal(str(g, "billing_currency"), "EUR");
        json_decref(g);
        p = run_json("project", "project create web-prod --billing-group %s", g1);
        assert_string_equal(str(p, "billing_group_id"), g1);
        json_decref(p);
        assert_int_equal(clit_run(&out, "account set-primary %s", g1), 0);
        assert_non_null(strstr(out, g1));
        free(out);

        /* assign-projects moves it; events show the move */
        list = run_json("projects", "billing-group assign-projects %s web-prod", g2);
        assert_int_equal(json_array_size(list), 1);
        assert_string_equal(str(json_array_get(list, 0), "project_name"), "web-prod");
        json_decref(list);
        assert_int_equal(clit_run(&out, "billing-group events %s", g2), 0);
        assert_non_null(strstr(out, "EVENT_DESC"));
        assert_non_null(strstr(out, "ProjectMoved"));
        free(out);

        /* a group with projects cannot be deleted: the API's refusal, exit 1 */
        assert_int_equal(clit_run(&out, "billing-group delete %s 2>&1", g2), 1);
        assert_non_null(strstr(out, "409"));
        assert_non_null(strstr(out, "still assigned"));
        free(out);

        /* credits: issued by a service (a command), claimed through the API */
        bg_uuid_parse(account, strlen(account), &acc);
        cmdh_command_init(cmd, BG_CMD_ISSUE_CREDIT, &acc, "service:billing");
        snprintf(cmd->payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-50");
        cmd->payload.issue_credit.value = 50 * 1000000LL;
        cmd->payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd->payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd->payload.issue_credit.start_time = 1767225600000LL;
        cmdh_publish(h, cmd);
        assert_true(cmdh_wait_result(h, &cmd->command_id, 60000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        g = run_json("credit", "billing-group credits-claim %s WELCOME-50", g1);
        assert_string_equal(str(g, "code"), "WELCOME-50");
        assert_string_equal(str(g, "value"), "50.000000");
        json_decref(g);
        assert_int_equal(clit_run(&out, "billing-group credits-list %s", g1), 0);
        assert_non_null(strstr(out, "WELCOME-50"));
        assert_non_null(strstr(out, "promotion"));
        free(out);

        /* invoices: none yet; an unknown invoice is the API's 404 */
        list = run_json("invoices", "billing-group invoice-list %s", g1);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
        assert_int_equal(clit_run(&out, "billing-group invoice-lines %s NO-SUCH 2>&1", g1), 1);
        assert_non_null(strstr(out, "404"));
        free(out);

        /* delete the empty group after moving the project back */
        list = run_json("projects", "billing-group assign-projects %s web-prod", g1);
        json_decref(list);
        assert_int_equal(clit_run(&out, "billing-group delete %s", g2), 0);
        snprintf(expect, sizeof(expect), "deleted billing group %s", g2);
        assert_non_null(strstr(out, expect));
        free(out);
        list = run_json("billing_groups", "billing-group list");
        assert_int_equal(json_array_size(list), 1);
        json_decref(list);
        free(cmd);
}

static void invoice_lines_as_table_json_and_csv(void **state) {
        char sql[2048], g[64], *out;
        json_t *list;

        list = run_json("billing_groups", "billing-group list");
        snprintf(g, sizeof(g), "%s", str(json_array_get(list, 0), "billing_group_id"));
        json_decref(list);
        /* A final invoice as the invoicer stores it. */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s.invoices (invoice_number, billing_group_id, account_id, "
                 "billing_group_name, currency, period_begin, period_end, state, total_vat_zero, "
                 "total_inc_vat, issue_date, due_date, revision) VALUES ('INV-2026-11-0001', '%s', "
                 "'%s', 'Engineering EU', 'EUR', '2026-11-01Z', '2026-12-01Z', 'due', 10340000, "
                 "10340000, '2026-12-01T01:00Z', '2026-12-31Z', 1);"
                 "INSERT INTO %s.invoice_lines (invoice_number, line_key, line_type, sort_group, "
                 "description, project_name, service_name, amount, line_total) VALUES "
                 "('INV-2026-11-0001', 'a', 'service_charge', 0, 'kafka-prod: business-4', "
                 "'web-prod', 'kafka-prod', 12340000, 12340000), ('INV-2026-11-0001', 'b', "
                 "'credit_consumption', 1, 'Credit WELCOME-50', NULL, NULL, -2000000, -2000000)",
                 inv_schema, g, account, inv_schema);
        exec_sql(sql);

        assert_int_equal(clit_run(&out, "billing-group invoice-list %s", g), 0);
        assert_non_null(strstr(out, "INV-2026-11-0001"));
        assert_non_null(strstr(out, "10.340000"));
        free(out);
        assert_int_equal(clit_run(&out, "billing-group invoice-lines %s INV-2026-11-0001", g), 0);
        assert_non_null(strstr(out, "LINE_TYPE"));
        assert_non_null(strstr(out, "service_charge"));
        assert_non_null(strstr(out, "credit_consumption"));
        assert_non_null(strstr(out, "-2.000000"));
        free(out);
        list = run_json("lines", "billing-group invoice-lines %s INV-2026-11-0001", g);
        assert_int_equal(json_array_size(list), 2);
        assert_string_equal(str(json_array_get(list, 0), "line_total"), "12.340000");
        json_decref(list);
        assert_int_equal(clit_run(&out, "billing-group invoice-lines %s INV-2026-11-0001 --csv",
                                  g), 0);
        assert_non_null(strstr(out, "invoice_number,currency,line_type"));
        assert_non_null(strstr(out, "INV-2026-11-0001,EUR,service_charge"));
        free(out);
}

static void usage_and_auth_errors(void **state) {
        char *out;

        assert_int_equal(clit_run(NULL, "billing-group get 2>/dev/null"), 2);
        assert_int_equal(clit_run(NULL, "billing-group list --vat-id X 2>/dev/null"), 2);
        assert_int_equal(clit_run(NULL, "billing-group frobnicate 2>/dev/null"), 2);
        assert_int_equal(clit_run(&out, "billing-group list --token wrong 2>&1"), 1);
        assert_non_null(strstr(out, "401"));
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(billing_group_verbs_round_trip),
                cmocka_unit_test(invoice_lines_as_table_json_and_csv),
                cmocka_unit_test(usage_and_auth_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
