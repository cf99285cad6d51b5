/*
 * The bad-input suite on billing.usage (issue 8; docs/hostile-input.md).
 *
 * billing-invoicer reads a usage topic where valid records of one project (group G) are
 * interleaved with a hostile corpus: malformed bytes (hostile_corpus.c), byte-level
 * patches (17-byte and beyond-int64 decimals, enum and union indexes out of range), and
 * well-formed records the invoicer must refuse (docs/invoicer.md "Validation": negative
 * quantity / price / amount, no price, invoicer-only line types, begin after end, end in
 * the future, begin older than the de-duplication window, nil ids, wrong currency, a
 * project that stays unknown, a product beyond int64). Records with SQL metacharacters in
 * every string field are valid: billed, to a second project in group G2, and stored
 * verbatim.
 *
 * Then: every refused record is in usage.dlq exactly once, with its original bytes and a
 * reason; group G's invoice lines equal the reference computed from the valid records
 * alone (tests/integration/invoicer ref_*); the services are the same pids, healthy,
 * memory bounded, and stop cleanly (no sanitizer report, no leak).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_proc.h"
#include "hostile_corpus.h"
#include "hostile_support.h"
#include "inv_harness.h"

#define CAP 65536
#define DAY_MS 86400000LL

static char errstr[900];

typedef struct usage_src_s {
        invh_t *us_t;
        bg_uuid_t us_project;
        int64_t us_begin;
        codec_usage_t us_u;
} usage_src_t;

static const uint8_t *fresh_usage(void *opaque, size_t *len) {
        usage_src_t *s = opaque;
        const uint8_t *out;

        invh_usage(&s->us_u, &s->us_project, "hostile-svc", s->us_begin, 1000000, 1000000);
        if (codec_encode_usage(s->us_t->t_cmd->ch_codec, &s->us_u, &out, len, errstr,
                               sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode usage: %s", errstr);
        return out;
}

static void publish_raw(invh_t *t, const hc_msg_t *m, const bg_uuid_t *project) {
        char key[BG_UUID_STR_LEN + 1];
        rd_kafka_resp_err_t err;

        bg_uuid_format(project, key);
        do {
                err = rd_kafka_producev(t->t_cmd->ch_producer,
                                        RD_KAFKA_V_TOPIC(t->t_cmd->ch_topics.kt_usage),
                                        RD_KAFKA_V_KEY(m->hm_null_key ? NULL : key,
                                                       m->hm_null_key ? 0 : BG_UUID_STR_LEN),
                                        RD_KAFKA_V_VALUE(m->hm_buf, m->hm_len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        rd_kafka_poll(t->t_cmd->ch_producer, 10);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        t->t_produced++;
}

static void add_usage(hc_corpus_t *c, invh_t *t, const codec_usage_t *u, int tag,
                      const char *what) {
        const uint8_t *out;
        size_t len;

        if (codec_encode_usage(t->t_cmd->ch_codec, u, &out, &len, errstr, sizeof(errstr)) !=
            CODEC_OK)
                fail_msg("cannot encode %s: %s", what, errstr);
        hc_add(c, out, len, "%s", what)->hm_tag = tag;
}

enum { TAG_DLQ = 0, TAG_BILLED = 1 };

/* Well-formed records the invoicer must refuse (DLQ), and valid ones with SQL
 * metacharacters (billed to @p2). */
static void add_decodable(hc_corpus_t *c, invh_t *t, const bg_uuid_t *p, const bg_uuid_t *p2,
                          const bg_uuid_t *unknown, int64_t begin, int64_t clock) {
        codec_usage_t u;
        char what[200];
        struct {
                const char *what;
                int field;
                int64_t v;
        } bad[] = {
                {"negative quantity", 1, -1000000},
                {"negative unit price", 2, -1},
                {"negative amount", 3, -5000000},
                {"neither amount nor unit price", 4, 0},
                {"line type credit_consumption", 5, CODEC_LINE_CREDIT_CONSUMPTION},
                {"line type rounding", 5, CODEC_LINE_ROUNDING},
                {"begin after end", 6, 0},
                {"end far in the future (INT64_MAX)", 7, INT64_MAX},
                {"end in year 9999+", 7, 253402300800000LL},
                {"begin INT64_MIN", 8, INT64_MIN},
                {"begin year 0", 8, -62167219200000LL},
                {"begin negative", 8, -1},
                {"begin 40 days ago (older than the window)", 8, clock - 40 * DAY_MS},
                {"nil usage id", 9, 0},
                {"nil project id", 10, 0},
                {"currency USD on an EUR group", 11, BG_CURRENCY_USD},
                {"quantity x price beyond int64", 12, 0},
                {"amount at its maximum, 999999999999.999999", 13, 0},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int tag = TAG_DLQ;

                invh_usage(&u, p, "bad-input", begin, 1000000, 1000000);
                switch (bad[i].field) {
                case 1: u.quantity = bad[i].v; break;
                case 2: u.unit_price = bad[i].v; break;
                case 3: u.has_amount = true; u.amount = bad[i].v; break;
                case 4: u.has_unit_price = false; break;
                case 5: u.line_type = (codec_line_type_t)bad[i].v; break;
                case 6: u.timestamp_end = u.timestamp_begin - 1; break;
                case 7: u.timestamp_end = bad[i].v; break;
                case 8: u.timestamp_begin = bad[i].v; break;
                case 9: memset(&u.usage_id, 0, sizeof(u.usage_id)); break;
                case 10: memset(&u.project_id, 0, sizeof(u.project_id)); break;
                case 11: u.currency = (bg_currency_t)bad[i].v; break;
                case 12:
                        u.quantity = 999999999999999999LL;
                        u.unit_price = 999999999999999999LL;
                        break;
                case 13:
                        /* The largest amount is valid: billed to the hostile project. */
                        u.project_id = *p2;
                        u.has_amount = true;
                        u.amount = 999999999999999999LL;
                        tag = TAG_BILLED;
                        break;
                }
                add_usage(c, t, &u, tag, bad[i].what);
        }
        /* A project nobody created: held, then dead-lettered after the hold time. */
        for (int i = 0; i < 2; i++) {
                invh_usage(&u, unknown, "ghost", begin, 1000000, 1000000);
                add_usage(c, t, &u, TAG_DLQ, "unknown project");
        }
        /* SQL metacharacters in every string field: valid, billed, stored verbatim. */
        for (const char *const *s = hc_sql_strings; *s; s++) {
                invh_usage(&u, p2, *s, begin, 2000000, 1500000);
                snprintf(u.service_type, sizeof(u.service_type), "%s", *s);
                snprintf(u.service_plan, sizeof(u.service_plan), "%s", *s);
                snprintf(u.unit, sizeof(u.unit), "%.20s", "h'; --");
                u.n_tags = 2;
                snprintf(u.tags[0].key, sizeof(u.tags[0].key), "%s", *s);
                snprintf(u.tags[0].value, sizeof(u.tags[0].value), "%s", *s);
                snprintf(u.tags[1].key, sizeof(u.tags[1].key), "env");
                snprintf(u.tags[1].value, sizeof(u.tags[1].value), "'; DROP TABLE invoices; --");
                snprintf(what, sizeof(what), "SQL metacharacters in every string: %s", *s);
                add_usage(c, t, &u, TAG_BILLED, what);
        }
}

static void add_patched(hc_corpus_t *c, const hc_src_t *src) {
        static const uint8_t dec17[17] = {0x01};
        static const uint8_t dec9[9] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t neg9[9] = {0x80};
        static const uint8_t prec[8] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00};
        struct {
                const char *path;
                int kind;               /* 0 bytes, 1 long, 2 union branch 1 + bytes, 3 raw */
                const uint8_t *p;
                size_t n;
                int64_t v;
                const char *what;
        } cases[] = {
                {"quantity", 0, dec17, 17, 0, "decimal of 17 bytes"},
                {"quantity", 0, dec9, 9, 0, "decimal beyond int64"},
                {"quantity", 0, neg9, 9, 0, "negative decimal beyond int64"},
                {"quantity", 0, prec, 8, 0, "decimal over precision 18"},
                {"quantity", 0, dec17, 0, 0, "empty decimal"},
                {"unit_price", 2, dec17, 17, 0, "unit price of 17 bytes"},
                {"amount", 2, dec9, 9, 0, "amount beyond int64"},
                {"amount", 1, NULL, 0, 2, "amount union branch 2"},
                {"unit_price", 1, NULL, 0, -1, "unit price union branch -1"},
                {"currency", 1, NULL, 0, 12, "currency enum index 12"},
                {"currency", 1, NULL, 0, -1, "currency enum index -1"},
                {"line_type", 1, NULL, 0, 99, "line type enum index 99"},
                {"timestamp_begin", 3, (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, 0,
                 "timestamp varint of 11 bytes"},
                {"timestamp_end", 3, (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, 0,
                 "timestamp varint overflowing 64 bits"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                hc_buf_t b = {0};

                if (cases[i].kind == 0) {
                        hc_put_bytes(&b, cases[i].p, cases[i].n);
                } else if (cases[i].kind == 1) {
                        hc_put_long(&b, cases[i].v);
                } else if (cases[i].kind == 2) {
                        hc_put_long(&b, 1);
                        hc_put_bytes(&b, cases[i].p, cases[i].n);
                } else {
                        hc_put(&b, cases[i].p, cases[i].n);
                }
                if (hc_replace(c, src, cases[i].path, b.b, b.n, cases[i].what, errstr,
                               sizeof(errstr)) != 1)
                        fail_msg("%s", errstr);
                hc_buf_free(&b);
        }
        /* 33 tags: the bytes are there, the count is over the limit. */
        {
                hc_buf_t b = {0};
                char k[8];

                hc_put_long(&b, 33);
                for (int i = 0; i < 33; i++) {
                        snprintf(k, sizeof(k), "k%d", i);
                        hc_put_str(&b, k);
                        hc_put_str(&b, "v");
                }
                hc_put_long(&b, 0);
                if (hc_replace(c, src, "tags", b.b, b.n, "33 tags", errstr, sizeof(errstr)) != 1)
                        fail_msg("%s", errstr);
                hc_buf_free(&b);
        }
}

static int64_t q1(PGconn *pg, const char *sql, const char *param) {
        const char *params[1] = {param};
        PGresult *r = PQexecParams(pg, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
        int64_t v = -1;

        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(pg));
        if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
                v = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static void usage_topic_hostile_corpus(void **state) {
        int64_t month, clock, begin;
        invh_t *t;
        bg_uuid_t g, g2, p = {0}, p2 = {0}, unknown;
        usage_src_t us;
        hc_src_t src;
        hc_schema_t *schema;
        hc_corpus_t corpus;
        ref_t ref = {0};
        codec_usage_t valid[48];
        size_t nvalid = 48, k = 0, n_dlq = 0, n_billed = 0, ndlq;
        hs_dlq_rec_t *dlq;
        hs_mem_t mem_inv, mem_cmd;
        bool *used;
        char inv_log[300], cmd_log[300], number[80];
        char *env[] = {"BILLING_MAX_MESSAGE_BYTES=65536", "BILLING_UNKNOWN_PROJECT_HOLD_MS=2000",
                       NULL};
        const char *const strings[] = {"usage_id", "project_id", "service_name", "service_type",
                                       "service_plan", "unit", NULL};
        const char *const uuids[] = {"usage_id", "project_id", NULL};

        (void)state;
        /* The invoicer's clock: the 15th of this month; usage of the 10th. */
        month = invh_next_month(invh_next_month(invh_real_ms()) - 40 * DAY_MS);
        clock = month + 15 * DAY_MS;
        begin = month + 10 * DAY_MS;
        t = invh_new("hostile-usage", 2, clock);
        invh_create_group(t, &g, "Valid", BG_CURRENCY_EUR, NULL);
        invh_set_primary(t, &g);
        invh_create_group(t, &g2, "'; DROP TABLE invoices; --", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p, "valid", &g);
        invh_create_project(t, &p2, "hostile", &g2);
        bg_uuid_generate(&unknown);
        invh_start(t, env);
        snprintf(inv_log, sizeof(inv_log), "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);
        cmdh_log_path(t->t_cmd, "cmd-0", cmd_log, sizeof(cmd_log));

        /* Warm up with one valid record, then the baseline. */
        invh_usage(&valid[0], &p, "kafka", begin, 1000000, 1234567);
        invh_publish(t, &valid[0]);
        ref_add(&ref, &g, &valid[0]);
        invh_flush(t);
        invh_wait_consumed(t, 60000);
        hs_mem(t->t_inv_pid, &mem_inv);
        hs_mem(t->t_cmd_pid, &mem_cmd);

        /* The corpus. */
        us.us_t = t;
        us.us_project = p;
        us.us_begin = begin;
        schema = hc_schema_load(BG_SCHEMAS_DIR "/usage-record.v1.avsc", errstr, sizeof(errstr));
        assert_non_null(schema);
        src = (hc_src_t){fresh_usage, &us, schema};
        hc_init(&corpus, 0x05a9e);
        if (hc_standard(&corpus, &src, strings, uuids, "tags", CAP, errstr, sizeof(errstr)) == 0)
                fail_msg("corpus: %s", errstr);
        add_patched(&corpus, &src);
        hc_with_schema_id(&corpus, &src, 1001, "a command's schema id");
        hc_with_schema_id(&corpus, &src, 1002, "an event's schema id");
        add_decodable(&corpus, t, &p, &p2, &unknown, begin, clock);
        for (size_t i = 0; i < corpus.hc_n; i++) {
                n_dlq += corpus.hc_msgs[i].hm_tag == TAG_DLQ;
                n_billed += corpus.hc_msgs[i].hm_tag == TAG_BILLED;
        }
        print_message("hostile-corpus usage: %zu messages: %zu must be dead-lettered, %zu valid "
                      "hostile records billed\n", corpus.hc_n, n_dlq, n_billed);

        /* Valid records (three services, one sent twice) interleaved with the corpus. */
        for (size_t i = 1; i < nvalid; i++) {
                static const char *const svc[] = {"kafka", "pg", "redis"};
                if (i == nvalid - 1) {
                        valid[i] = valid[5];            /* a duplicate: billed once */
                } else {
                        invh_usage(&valid[i], &p, svc[i % 3], begin + (int64_t)i * 60000,
                                   (int64_t)(i * 250000), 1000000 + (int64_t)i * 333);
                        ref_add(&ref, &g, &valid[i]);
                }
        }
        for (size_t i = 0; i < corpus.hc_n; i++) {
                if (i % (corpus.hc_n / nvalid + 1) == 0 && k + 1 < nvalid)
                        invh_publish(t, &valid[++k]);
                publish_raw(t, &corpus.hc_msgs[i], &p);
        }
        while (k + 1 < nvalid)
                invh_publish(t, &valid[++k]);
        invh_flush(t);
        invh_wait_consumed(t, 180000);
        /* Past the hold time: the unknown project's records are dead-lettered. */
        invh_set_clock(t, clock + 60000);
        for (int i = 0; i < 300 && invh_metric(t, "billing_invoicer_held_records") != 0; i++)
                hs_sleep_ms(100);
        assert_int_equal(invh_metric(t, "billing_invoicer_held_records"), 0);

        /* Dead letters: each refused record once, its bytes, a reason. */
        ndlq = hs_read_dlq(t->t_cmd->ch_topics.kt_usage_dlq, &dlq);
        hs_assert_dlq_headers(dlq, ndlq);
        used = calloc(ndlq + 1, sizeof(*used));
        assert_non_null(used);
        for (size_t i = 0; i < corpus.hc_n; i++) {
                const hc_msg_t *m = &corpus.hc_msgs[i];
                if (m->hm_tag != TAG_DLQ)
                        continue;
                if (hs_dlq_take(dlq, ndlq, used, "billing-invoicer", m->hm_buf, m->hm_len) < 0)
                        fail_msg("no dead letter for \"%s\"", m->hm_what);
        }
        for (size_t i = 0; i < ndlq; i++)
                if (!used[i])
                        fail_msg("unexpected dead letter: %s", dlq[i].hr_reason);
        assert_int_equal(ndlq, n_dlq);
        assert_int_equal(invh_metric(t, "billing_invoicer_usage_records_total{fate=\"dead_lettered\"}"),
                         (int64_t)n_dlq);

        /* Group G: exactly the valid records, line by line. */
        invh_number(&g, begin, number, sizeof(number));
        for (size_t i = 0; i < ref.n; i++) {
                char svc_sql[512];
                snprintf(svc_sql, sizeof(svc_sql), "SELECT amount FROM invoice_lines WHERE "
                         "invoice_number = '%s' AND service_name = $1", number);
                assert_int_equal(q1(t->t_pg, svc_sql, ref.lines[i].service),
                                 (int64_t)ref.lines[i].amount);
                snprintf(svc_sql, sizeof(svc_sql), "SELECT usage_records FROM invoice_lines WHERE "
                         "invoice_number = '%s' AND service_name = $1", number);
                assert_int_equal(q1(t->t_pg, svc_sql, ref.lines[i].service), ref.lines[i].records);
        }
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE invoice_number = "
                                  "'%s'", number), (int64_t)ref.n);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices WHERE invoice_number = "
                                  "'%s'", number), ref_invoice_exact(&ref, &g, begin));
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoices"), 2);

        /* Group G2: the hostile strings verbatim. */
        for (const char *const *s = hc_sql_strings; *s; s++) {
                assert_int_equal(q1(t->t_pg, "SELECT count(*) FROM invoice_lines WHERE "
                                    "service_name = $1 AND service_type = $1 AND service_plan = $1 "
                                    "AND tags ->> $1 = $1 AND tags ->> 'env' = "
                                    "'''; DROP TABLE invoices; --'", *s), 1);
        }
        assert_int_equal(q1(t->t_pg, "SELECT count(*) FROM invoices WHERE billing_group_name = $1",
                            "'; DROP TABLE invoices; --"), 1);

        hs_assert_alive_and_well(t->t_inv_pid, "billing-invoicer", inv_log, &mem_inv);
        hs_assert_alive_and_well(t->t_cmd_pid, "billing-commands", cmd_log, &mem_cmd);
        hs_stop_clean(t->t_inv_pid, "billing-invoicer", inv_log);
        t->t_inv_pid = 0;

        free(used);
        hs_dlq_free(dlq, ndlq);
        hc_free(&corpus);
        hc_schema_free(schema);
        ref_free(&ref);
        invh_destroy(t);
        hs_assert_no_sanitizer_report(cmd_log);
}

/* Waits until the invoicer stored offsets for every record; fails at once when it stops. */
static void wait_consumed_or_stopped(invh_t *t, const char *log) {
        for (int i = 0; i < 600; i++) {
                if (!bg_proc_running(t->t_inv_pid, NULL)) {
                        t->t_inv_pid = 0;
                        fail_msg("billing-invoicer stopped on amounts whose sum overflows "
                                 "int64 (see %s); it stops again at every restart", log);
                }
                if (invh_i64(t, "SELECT sum(next_offset) FROM consumer_offsets WHERE topic = "
                             "'%s'", t->t_cmd->ch_topics.kt_usage) == t->t_produced)
                        return;
                hs_sleep_ms(100);
        }
        fail_msg("the invoicer did not consume the records in time; see %s", log);
}

/* One record of @amount micros (and @qty micro-units) on line @service of project @p. */
static void publish_amount(invh_t *t, const bg_uuid_t *p, const char *service, int64_t begin,
                           int64_t qty, int64_t amount) {
        codec_usage_t u;

        invh_usage(&u, p, service, begin, qty, 1000000);
        u.has_amount = true;
        u.amount = amount;
        invh_publish(t, &u);
}

static void restart_invoicer(invh_t *t, char *const env[], char *log, size_t size) {
        invh_stop(t);
        invh_start(t, env);
        snprintf(log, size, "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);
}

/*
 * Records valid one by one whose sums do not fit: a line's quantity past int64, and an
 * invoice's amount past its limit (INV_SUM_MAX, 4 x 10^18 micros, docs/invoicer.md), each
 * across batches with a restart between them (the stored sums come back from
 * PostgreSQL). The records that would not fit must be dead-lettered ("sum overflows"),
 * the others billed, and the invoicer must stay up: a sum PostgreSQL refuses ("bigint out
 * of range") would stop it at every restart.
 */
static void overflowing_sums_are_dead_lettered(void **state) {
        int64_t month = invh_next_month(invh_next_month(invh_real_ms()) - 40 * DAY_MS);
        int64_t begin = month + 10 * DAY_MS;
        int64_t max = 999999999999999999LL;    /* the largest decimal(18, 6) */
        char *env[] = {"BILLING_BATCH_MS=20", NULL};
        char inv_log[300], reason[1024];
        invh_t *t;
        bg_uuid_t g, p = {0};
        size_t ndlq;

        (void)state;
        t = invh_new("hostile-overflow", 1, month + 15 * DAY_MS);
        invh_create_group(t, &g, "Overflow", BG_CURRENCY_EUR, NULL);
        invh_create_project(t, &p, "big", &g);
        invh_start(t, env);
        snprintf(inv_log, sizeof(inv_log), "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);

        /* Before the restart: line "a" 2 x max; line "q" 5 x max quantity, 1 micro each. */
        for (int i = 0; i < 2; i++)
                publish_amount(t, &p, "a", begin, 1000000, max);
        for (int i = 0; i < 5; i++)
                publish_amount(t, &p, "q", begin, max, 1);
        invh_flush(t);
        wait_consumed_or_stopped(t, inv_log);
        restart_invoicer(t, env, inv_log, sizeof(inv_log));

        /* After it: "a" a third max (fits); "q" 5 more, of which the 5th would take the
         * quantity past int64 (dead letter). */
        publish_amount(t, &p, "a", begin, 1000000, max);
        for (int i = 0; i < 5; i++)
                publish_amount(t, &p, "q", begin, max, 1);
        invh_flush(t);
        wait_consumed_or_stopped(t, inv_log);

        /* Line "b": a fourth max takes the invoice past the limit (dead letter); an ordinary
         * record after it, on line "c": billed. */
        publish_amount(t, &p, "b", begin, 1000000, max);
        publish_amount(t, &p, "c", begin, 1000000, 2000000);
        invh_flush(t);
        wait_consumed_or_stopped(t, inv_log);

        ndlq = invh_read_usage_dlq(t, "overflow", reason, sizeof(reason));
        if (ndlq != 2 || strstr(reason, "sum overflows") == NULL)
                fail_msg("%zu dead letters (want 2: the 10th on line q, the one on b), reason "
                         "\"%s\"", ndlq, reason);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE service_name = 'a'"),
                         3 * max);
        assert_int_equal(invh_i64(t, "SELECT quantity FROM invoice_lines WHERE "
                                  "service_name = 'q'"), 9 * max);
        assert_int_equal(invh_i64(t, "SELECT usage_records FROM invoice_lines WHERE "
                                  "service_name = 'q'"), 9);
        assert_int_equal(invh_i64(t, "SELECT count(*) FROM invoice_lines WHERE "
                                  "service_name = 'b'"), 0);
        assert_int_equal(invh_i64(t, "SELECT amount FROM invoice_lines WHERE service_name = 'c'"),
                         2000000);
        assert_int_equal(invh_i64(t, "SELECT total_vat_zero FROM invoices"),
                         3 * max + 9 + 2000000);
        assert_int_equal(hs_healthz(t->t_inv_pid), 200);
        invh_stop(t);
        hs_assert_no_sanitizer_report(inv_log);
        invh_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(usage_topic_hostile_corpus),
                cmocka_unit_test(overflowing_sums_are_dead_lettered),
        };
        return cmocka_run_group_tests_name("hostile_usage_topic", tests, NULL, NULL);
}
