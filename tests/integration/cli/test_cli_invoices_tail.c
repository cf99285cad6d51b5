/*
 * billingctl invoices tail on the real stack: final invoices published to the invoices
 * topic are printed (JSON lines, or a header and a table of lines); estimates, repeats
 * and older revisions are not; a running tail prints an invoice published after it
 * started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_cmd_harness.h"
#include "bg_test_support.h"
#include "cli_fixture.h"

static cmdh_t *h;

static void publish(const char *number, int64_t revision, codec_invoice_state_t state,
                    int64_t amount) {
        static const codec_tag_t tags[] = {{"env", "prod"}};
        codec_invoice_line_t lines[2];
        codec_invoice_t inv;
        const uint8_t *buf;
        size_t len;
        char errstr[512];

        memset(&inv, 0, sizeof(inv));
        memset(lines, 0, sizeof(lines));
        snprintf(inv.invoice_number, sizeof(inv.invoice_number), "%s", number);
        bg_uuid_generate(&inv.billing_group_id);
        snprintf(inv.billing_group_name, sizeof(inv.billing_group_name), "Production");
        bg_uuid_generate(&inv.account_id);
        inv.currency = BG_CURRENCY_EUR;
        inv.period_begin = 1793491200000LL;             /* 2026-11-01 */
        inv.period_end = 1796083200000LL;               /* 2026-12-01 */
        inv.state = state;
        inv.revision = revision;
        inv.total_vat_zero = inv.total_inc_vat = amount - 2000000;
        if (state != CODEC_INVOICE_ESTIMATE) {
                inv.has_issue_date = inv.has_due_date = true;
                inv.issue_date = 1796086800000LL;
                inv.due_date = 1798678800000LL;
        }
        lines[0].line_type = CODEC_LINE_SERVICE_CHARGE;
        snprintf(lines[0].description, sizeof(lines[0].description), "kafka-prod: business-4");
        snprintf(lines[0].project_name, sizeof(lines[0].project_name), "web-prod");
        snprintf(lines[0].service_name, sizeof(lines[0].service_name), "kafka-prod");
        snprintf(lines[0].service_type, sizeof(lines[0].service_type), "kafka");
        snprintf(lines[0].service_plan, sizeof(lines[0].service_plan), "business-4");
        lines[0].line_total = amount;
        lines[0].n_tags = 1;
        lines[0].tags = tags;
        lines[1].line_type = CODEC_LINE_CREDIT_CONSUMPTION;
        snprintf(lines[1].description, sizeof(lines[1].description), "Credit WELCOME");
        lines[1].line_total = -2000000;
        inv.lines = lines;
        inv.n_lines = 2;
        if (codec_encode_invoice(h->ch_codec, &inv, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode invoice: %s", errstr);
        assert_int_equal(rd_kafka_producev(h->ch_producer,
                                           RD_KAFKA_V_TOPIC(h->ch_topics.kt_invoices),
                                           RD_KAFKA_V_KEY(number, strlen(number)),
                                           RD_KAFKA_V_VALUE((void *)buf, len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(h->ch_producer, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

static int setup(void **state) {
        h = cmdh_new("it-cli-tail", 1);
        publish("INV-A", 1, CODEC_INVOICE_DUE, 12340000);
        publish("INV-B", 1, CODEC_INVOICE_ESTIMATE, 5000000);  /* not final */
        publish("INV-A", 1, CODEC_INVOICE_DUE, 12340000);      /* a repeat */
        publish("INV-C", 1, CODEC_INVOICE_DUE, 7000000);
        publish("INV-A", 2, CODEC_INVOICE_PAID, 12340000);     /* a later revision */
        publish("INV-A", 1, CODEC_INVOICE_DUE, 12340000);      /* older than printed */
        return 0;
}

static int teardown(void **state) {
        cmdh_destroy(h);
        return 0;
}

static void json_lines_print_each_final_revision_once(void **state) {
        static const char *const want[][2] = {{"INV-A", "due"}, {"INV-C", "due"},
                                              {"INV-A", "paid"}};
        static const int64_t want_rev[] = {1, 1, 2};
        char *out, *line, *save = NULL;
        size_t n = 0;

        assert_int_equal(clit_run(&out, "invoices tail --from-beginning --until-end --json"), 0);
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(line, 0, NULL);
                if (j == NULL)
                        fail_msg("not a JSON line: %s", line);
                assert_true(n < 3);
                assert_string_equal(json_string_value(json_object_get(j, "invoice_number")),
                                    want[n][0]);
                assert_string_equal(json_string_value(json_object_get(j, "state")), want[n][1]);
                assert_int_equal(json_integer_value(json_object_get(j, "revision")), want_rev[n]);
                assert_int_equal(json_array_size(json_object_get(j, "lines")), 2);
                if (n == 0)
                        assert_string_equal(json_string_value(json_object_get(
                                                    json_array_get(json_object_get(j, "lines"), 0),
                                                    "line_total")),
                                            "12.340000");
                json_decref(j);
                n++;
        }
        assert_int_equal(n, 3);
        free(out);
}

static void table_shows_header_and_lines(void **state) {
        char *out;

        assert_int_equal(clit_run(&out, "invoices tail --from-beginning --until-end"), 0);
        assert_non_null(strstr(out, "invoice INV-A (revision 1, due)"));
        assert_non_null(strstr(out, "invoice INV-A (revision 2, paid)"));
        assert_null(strstr(out, "INV-B"));
        assert_non_null(strstr(out, "LINE_TYPE"));
        assert_non_null(strstr(out, "service_charge"));
        assert_non_null(strstr(out, "credit_consumption"));
        assert_non_null(strstr(out, "12.34 EUR"));
        assert_non_null(strstr(out, "-2.00 EUR"));
        assert_non_null(strstr(out, "10.34 EUR (VAT 0)"));
        free(out);
}

static void running_tail_prints_new_invoices(void **state) {
        char cmd[1024], buf[65536];
        size_t len = 0;
        FILE *p;
        json_t *j;
        struct pollfd pfd;

        /* From the end: only what is published after it started. It takes a moment to
         * reach the end, so publish new revisions until one is printed. */
        snprintf(cmd, sizeof(cmd), "timeout 120 %s/services/cli/billingctl invoices tail --json "
                 "--max 1", BG_BINARY_DIR);
        p = popen(cmd, "r");
        assert_non_null(p);
        pfd.fd = fileno(p);
        pfd.events = POLLIN;
        for (int rev = 1; rev <= 60; rev++) {
                publish("INV-D", rev, CODEC_INVOICE_DUE, 3000000);
                if (poll(&pfd, 1, 1000) > 0)
                        break;
        }
        len = fread(buf, 1, sizeof(buf) - 1, p);
        buf[len] = '\0';
        assert_int_equal(pclose(p), 0);
        fprintf(stderr, "%s", buf);
        j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "invoice_number")), "INV-D");
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(json_lines_print_each_final_revision_once),
                cmocka_unit_test(table_shows_header_and_lines),
                cmocka_unit_test(running_tail_prints_new_invoices),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
