/*
 * billingctl invoices tail: prints the final invoices published to billing.invoices
 * (read_committed), as a header and a table of lines, or one JSON document per line
 * (bgj_invoice_to_json) with --json.
 *
 * The topic is compacted and keyed by invoice number; an invoice may appear more than
 * once (a re-publication after a crash, a replay, a later revision, the compacted copy
 * read with --from-beginning). billingctl remembers the highest revision printed per
 * invoice number and prints a record only when its revision is higher: each revision at
 * most once, never an older one after a newer one. Estimates (state "estimate") are not
 * final and are skipped.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_json.h"
#include "bg_money.h"
#include "cli.h"
#include "kc_topics.h"
#include "tbl.h"

#define SYNOPSIS "[--from-beginning] [--until-end] [--json] [--topic TOPIC] [--max N]"
#define KAFKA_TIMEOUT_MS 15000
/* Invoices of the largest groups (20000 lines) run to a few MiB. */
#define MAX_INVOICE_BYTES (64 * 1024 * 1024)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

typedef struct tail_s {
        bool t_from_beginning;
        bool t_until_end;
        bool t_json;
        const char *t_topic_opt;
        long long t_max;                /* 0: no limit */
        char t_topic[KC_TOPIC_NAME_SIZE];
        json_t *t_seen;                 /* invoice number -> highest revision printed */
        long long t_printed;
} tail_t;

static void fmt_money(int64_t micros, bg_currency_t cur, char *buf) {
        const char *code = bg_currency_name(cur);
        const bg_money_currency_t *mc = code ? bg_money_currency_find(code, strlen(code)) : NULL;
        size_t len;

        if (mc == NULL || bg_money_format_currency(micros, mc, buf, &len) != BG_MONEY_OK)
                bg_money_format(micros, buf);
}

static void fmt_time(bool has, int64_t ms, char *buf) {
        if (!has || !bgj_time_format(ms, buf))
                snprintf(buf, BGJ_TIME_STR_SIZE, "-");
}

static int print_table(const codec_invoice_t *inv) {
        static const char *const cols[] = {"line_type", "project", "service", "description",
                                           "amount"};
        char id[BG_UUID_STR_LEN + 1], acc[BG_UUID_STR_LEN + 1];
        char b[BGJ_TIME_STR_SIZE], e[BGJ_TIME_STR_SIZE], issue[BGJ_TIME_STR_SIZE],
                due[BGJ_TIME_STR_SIZE];
        char m1[BG_MONEY_STR_SIZE], m2[BG_MONEY_STR_SIZE];
        const char *cur = bg_currency_name(inv->currency) ?: "?";
        tbl_t *t = tbl_new(5, cols);
        int rc;

        if (t == NULL)
                return -1;
        bg_uuid_format(&inv->billing_group_id, id);
        bg_uuid_format(&inv->account_id, acc);
        fmt_time(true, inv->period_begin, b);
        fmt_time(true, inv->period_end, e);
        fmt_time(inv->has_issue_date, inv->issue_date, issue);
        fmt_time(inv->has_due_date, inv->due_date, due);
        fmt_money(inv->total_vat_zero, inv->currency, m1);
        fmt_money(inv->total_inc_vat, inv->currency, m2);
        printf("invoice %s (revision %" PRId64 ", %s)\n", inv->invoice_number, inv->revision,
               codec_invoice_state_name(inv->state) ?: "?");
        printf("  billing group  %s (%s)\n", inv->billing_group_name, id);
        printf("  account        %s\n", acc);
        printf("  period         %s .. %s\n", b, e);
        printf("  issued         %s, due %s\n", issue, due);
        printf("  total          %s %s (VAT 0), %s %s incl. VAT\n\n", m1, cur, m2, cur);
        for (size_t i = 0; i < inv->n_lines; i++) {
                const codec_invoice_line_t *l = &inv->lines[i];
                char amount[BG_MONEY_STR_SIZE];
                fmt_money(l->line_total, inv->currency, amount);
                tbl_cell(t, codec_line_type_name(l->line_type));
                tbl_cell(t, l->project_name);
                tbl_cell(t, l->service_name);
                tbl_cell(t, l->description);
                tbl_cellf(t, "%s %s", amount, cur);
        }
        rc = tbl_print(t, stdout);
        tbl_destroy(t);
        fputc('\n', stdout);
        return rc;
}

/* Prints @inv unless it is an estimate or a revision already printed. 1 printed, 0
 * skipped, -1 out of memory. */
static int show(tail_t *t, const codec_invoice_t *inv) {
        json_t *prev = json_object_get(t->t_seen, inv->invoice_number);

        if (inv->state == CODEC_INVOICE_ESTIMATE)
                return 0;
        if (prev != NULL && json_integer_value(prev) >= inv->revision)
                return 0;
        if (json_object_set_new(t->t_seen, inv->invoice_number, json_integer(inv->revision)) != 0)
                return -1;
        if (t->t_json) {
                json_t *j = bgj_invoice_to_json(inv);
                if (j == NULL)
                        return -1;
                json_dumpf(j, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(j);
        } else if (print_table(inv) != 0) {
                return -1;
        }
        fflush(stdout);
        return 1;
}

static int parse_opts(int argc, char **argv, tail_t *t) {
        static const struct option longopts[] = {
                {"from-beginning", no_argument, NULL, 'b'},
                {"until-end", no_argument, NULL, 'e'},
                {"json", no_argument, NULL, 'j'},
                {"topic", required_argument, NULL, 't'},
                {"max", required_argument, NULL, 'm'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int ch;

        optind = 1;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
                switch (ch) {
                case 'b':
                        t->t_from_beginning = true;
                        break;
                case 'e':
                        t->t_until_end = true;
                        break;
                case 'j':
                        t->t_json = true;
                        break;
                case 't':
                        if (*optarg == '\0')
                                return cli_usage_error("invoices tail", SYNOPSIS, "empty --topic");
                        t->t_topic_opt = optarg;
                        break;
                case 'm':
                        if (!cli_parse_int(optarg, 1, 1000000000, &t->t_max))
                                return cli_usage_error("invoices tail", SYNOPSIS,
                                                       "--max: \"%s\" is not a number in "
                                                       "1..1000000000", optarg);
                        break;
                case 'h':
                        printf("usage: billingctl invoices tail %s\n", SYNOPSIS);
                        return -1;
                default:
                        return cli_usage_error("invoices tail", SYNOPSIS, "unknown option \"%s\"",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("invoices tail", SYNOPSIS, "unexpected argument \"%s\"",
                                       argv[optind]);
        return 0;
}

int cli_invoices_tail(int argc, char **argv) {
        tail_t t = {0};
        codec_registry_t *reg = NULL;
        codec_t *codec = NULL;
        rd_kafka_t *rk = NULL;
        codec_invoice_t inv = {0};
        char errstr[1024], why[512];
        bool *eof = NULL;
        int nparts = 0, neof = 0, rc;
        struct sigaction sa;

        rc = parse_opts(argc, argv, &t);
        if (rc != 0)
                return rc < 0 ? CLI_EXIT_OK : rc;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        rc = CLI_EXIT_FAIL;
        if (t.t_topic_opt != NULL) {
                snprintf(t.t_topic, sizeof(t.t_topic), "%s", t.t_topic_opt);
        } else {
                kc_topics_t kt;
                if (kc_topics_load(&kt, errstr, sizeof(errstr)) != 0)
                        goto out_fail;
                snprintf(t.t_topic, sizeof(t.t_topic), "%s", kt.kt_invoices);
        }
        t.t_seen = json_object();
        if (t.t_seen == NULL) {
                snprintf(errstr, sizeof(errstr), "out of memory");
                goto out_fail;
        }
        if (cli_codec_new(MAX_INVOICE_BYTES, &reg, &codec, errstr, sizeof(errstr)) != 0)
                goto out_fail;
        {
                const char *props[] = {"fetch.message.max.bytes", "67108864",
                                       "max.partition.fetch.bytes", "67108864", NULL};
                rk = cli_consumer_new(props, errstr, sizeof(errstr));
        }
        if (rk == NULL)
                goto out_fail;
        nparts = kc_topic_partition_count(rk, t.t_topic, KAFKA_TIMEOUT_MS, errstr, sizeof(errstr));
        if (nparts <= 0)
                goto out_fail;
        eof = calloc((size_t)nparts, sizeof(*eof));
        if (eof == NULL) {
                snprintf(errstr, sizeof(errstr), "out of memory");
                goto out_fail;
        }
        if (cli_assign_all(rk, t.t_topic, nparts,
                           t.t_from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END,
                           errstr, sizeof(errstr)) != 0)
                goto out_fail;

        while (!stop_requested && !(t.t_until_end && neof == nparts) &&
               !(t.t_max > 0 && t.t_printed >= t.t_max)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        if (m->partition >= 0 && m->partition < nparts && !eof[m->partition]) {
                                eof[m->partition] = true;
                                neof++;
                        }
                } else if (m->err) {
                        fprintf(stderr, "billingctl: cannot read \"%s\": %s\n", t.t_topic,
                                rd_kafka_message_errstr(m));
                        if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                            m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
                                rd_kafka_message_destroy(m);
                                snprintf(errstr, sizeof(errstr), "cannot read \"%s\"", t.t_topic);
                                goto out_fail;
                        }
                } else if (m->payload == NULL) {
                        /* a tombstone of the compacted topic: nothing to print */
                } else if (codec_decode_invoice(codec, m->payload, m->len, &inv, why,
                                                sizeof(why)) != CODEC_OK) {
                        fprintf(stderr, "billingctl: skipping the record at \"%s\" [%" PRId32
                                "] offset %" PRId64 ": cannot decode invoice: %s\n",
                                t.t_topic, m->partition, m->offset, why);
                } else {
                        int shown = show(&t, &inv);
                        codec_invoice_clear(&inv);
                        if (shown < 0) {
                                rd_kafka_message_destroy(m);
                                snprintf(errstr, sizeof(errstr), "out of memory");
                                goto out_fail;
                        }
                        t.t_printed += shown;
                }
                rd_kafka_message_destroy(m);
        }
        rc = CLI_EXIT_OK;
        goto out_close;

out_fail:
        cli_fail("invoices tail: %s", errstr);
out_close:
        if (rk != NULL) {
                rd_kafka_consumer_close(rk);
                rd_kafka_destroy(rk);
        }
        free(eof);
        codec_destroy(codec);
        codec_registry_destroy(reg);
        json_decref(t.t_seen);
        return rc;
}
