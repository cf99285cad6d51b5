#include "pj_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg_admin_http.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_conf.h"

#define TIMEOUT_MS 30000
#define TXN_EVENTS 500

const char *const pjt_tables[] = {"accounts", "account_members", "billing_groups", "projects",
                                  "project_moves", "credits", "audit_log", "account_seq",
                                  "kafka_offsets", NULL};

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;

        bg_test_env("BILLING_KAFKA_BOOTSTRAP");
        conf = kc_conf_from_env(errstr, sizeof(errstr));
        if (conf == NULL)
                fail_msg("%s", errstr);
        for (const char *const *p = props; p && p[0]; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        fail_msg("%s", errstr);
        rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fail_msg("%s", errstr);
        return rk;
}

static void txn_ok(rd_kafka_error_t *e, const char *what) {
        if (e != NULL)
                fail_msg("%s: %s", what, rd_kafka_error_string(e));
}

pjt_t *pjt_new(const char *name, int partitions, bool transactional) {
        pjt_t *t = calloc(1, sizeof(*t));
        char errstr[512], num[16], txn_id[160];
        const char *props[] = {"linger.ms", "5", "enable.idempotence", "true",
                               "compression.type", "lz4", "queue.buffering.max.messages", "1000000",
                               transactional ? "transactional.id" : NULL, txn_id, NULL};

        assert_non_null(t);
        bg_test_unique_name(t->pt_name, sizeof(t->pt_name), name);
        snprintf(t->pt_prefix, sizeof(t->pt_prefix), "%s.", t->pt_name);
        snprintf(txn_id, sizeof(txn_id), "%s-producer", t->pt_name);
        setenv("BILLING_TOPIC_PREFIX", t->pt_prefix, 1);
        snprintf(num, sizeof(num), "%d", partitions);
        setenv("BILLING_PARTITIONS", num, 1);
        setenv("BILLING_USAGE_PARTITIONS", "1", 1);
        if (kc_topics_load(&t->pt_topics, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        t->pt_partitions = partitions;
        t->pt_txn = transactional;
        t->pt_producer = client(RD_KAFKA_PRODUCER, props);
        if (kc_topics_ensure(t->pt_producer, &t->pt_topics, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        if (transactional)
                txn_ok(rd_kafka_init_transactions(t->pt_producer, TIMEOUT_MS), "init_transactions");
        t->pt_conn = PQconnectdb(bg_test_env("BILLING_PG_CONNINFO"));
        if (PQstatus(t->pt_conn) != CONNECTION_OK)
                fail_msg("cannot connect to PostgreSQL: %s", PQerrorMessage(t->pt_conn));
        t->pt_gen = pjg_new(BG_SCHEMAS_DIR, (uint64_t)getpid() * 7919 + (uint64_t)time(NULL),
                            1767225600000LL, errstr, sizeof(errstr));
        if (t->pt_gen == NULL)
                fail_msg("%s", errstr);
        return t;
}

void pjt_destroy(pjt_t *t) {
        if (t == NULL)
                return;
        pjt_flush(t);
        rd_kafka_destroy(t->pt_producer);
        PQfinish(t->pt_conn);
        pjg_destroy(t->pt_gen);
        free(t);
}

/* Unique per process, not per fixture: two tests of one binary that start within the same
 * second once got the same name, so the second test projected into the first one's
 * schema and counted its rows too (12 audit rows for 10 events). */
void pjt_schema(pjt_t *t, char *buf) {
        static int schemas;

        t->pt_schemas++;
        snprintf(buf, 64, "pjt_%ld_%ld_%d", (long)getpid(), (long)time(NULL) % 100000,
                 schemas++);
}

void pjt_produce_raw(pjt_t *t, const char *key, const void *value, size_t len) {
        int32_t part = rd_kafka_msg_partitioner_murmur2(NULL, key, strlen(key), t->pt_partitions,
                                                        NULL, NULL);
        rd_kafka_resp_err_t err;

        if (t->pt_txn && !t->pt_txn_open) {
                txn_ok(rd_kafka_begin_transaction(t->pt_producer), "begin_transaction");
                t->pt_txn_open = true;
                t->pt_in_txn = 0;
        }
        for (;;) {
                err = rd_kafka_producev(t->pt_producer, RD_KAFKA_V_TOPIC(t->pt_topics.kt_events),
                                        RD_KAFKA_V_PARTITION(part),
                                        RD_KAFKA_V_KEY(key, strlen(key)),
                                        RD_KAFKA_V_VALUE((void *)value, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(t->pt_producer, 10);
        }
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_poll(t->pt_producer, 0);
        if (t->pt_txn && ++t->pt_in_txn >= TXN_EVENTS) {
                txn_ok(rd_kafka_commit_transaction(t->pt_producer, TIMEOUT_MS), "commit_transaction");
                t->pt_txn_open = false;
        }
}

void pjt_emit(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        pjt_t *t = opaque;
        char key[BG_UUID_STR_LEN + 1];

        bg_uuid_format(&ev->account_id, key);
        pjt_produce_raw(t, key, buf, len);
        t->pt_produced++;
}

void pjt_flush(pjt_t *t) {
        if (t->pt_txn && t->pt_txn_open) {
                txn_ok(rd_kafka_commit_transaction(t->pt_producer, TIMEOUT_MS), "commit_transaction");
                t->pt_txn_open = false;
        }
        assert_int_equal(rd_kafka_flush(t->pt_producer, TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
}

size_t pjt_produce_random(pjt_t *t, int n_accounts, size_t n_events) {
        pjg_account_t **acc = calloc((size_t)n_accounts, sizeof(*acc));
        size_t before = t->pt_produced;
        uint64_t r = (uint64_t)n_events * 2654435761u;

        assert_non_null(acc);
        for (int i = 0; i < n_accounts; i++)
                assert_non_null(acc[i] = pjg_account_new(t->pt_gen));
        while (t->pt_produced - before < n_events) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                pjg_random_step(t->pt_gen, acc[(r >> 33) % (uint64_t)n_accounts], pjt_emit, t);
        }
        pjt_flush(t);
        for (int i = 0; i < n_accounts; i++)
                pjg_account_destroy(acc[i]);
        free(acc);
        return t->pt_produced - before;
}

void pjt_log_path(const pjt_t *t, const char *tag, char *buf, size_t size) {
        const char *dir = getenv("BILLING_TEST_LOG_DIR");
        snprintf(buf, size, "%s/%s-%s.log", dir ? dir : "/tmp", t->pt_name, tag);
}

bool pjt_log_contains(const pjt_t *t, const char *tag, const char *needle) {
        char path[400], line[8192];
        bool found = false;
        FILE *f;

        pjt_log_path(t, tag, path, sizeof(path));
        if ((f = fopen(path, "r")) == NULL)
                return false;
        while (!found && fgets(line, sizeof(line), f) != NULL)
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

pid_t pjt_start(pjt_t *t, const char *schema, const char *tag, char *const args[],
                char *const env[]) {
        static char vars[6][300];
        char *all[32], log[400];
        size_t n = 0;
        pid_t pid;

        snprintf(vars[0], sizeof(vars[0]), "BILLING_PG_SCHEMA=%s", schema);
        snprintf(vars[1], sizeof(vars[1]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(vars[2], sizeof(vars[2]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(vars[3], sizeof(vars[3]), "BILLING_TOPIC_PREFIX=%s", t->pt_prefix);
        snprintf(vars[4], sizeof(vars[4]), "BILLING_REBUILD_SCHEMA=%s_rebuild", schema);
        for (int i = 0; i < 5; i++)
                all[n++] = vars[i];
        for (char *const *e = env; e && *e && n < 31; e++)
                all[n++] = *e;
        all[n] = NULL;
        pjt_log_path(t, tag, log, sizeof(log));
        pid = bg_proc_spawn(BG_BINARY_DIR "/services/projector/billing-projector", args, all, log);
        assert_true(pid > 0);
        return pid;
}

int pjt_admin_port(const pjt_t *t, const char *tag) {
        char path[400];

        pjt_log_path(t, tag, path, sizeof(path));
        return bg_admin_port_in_log(path);
}

int pjt_admin_get(const pjt_t *t, const char *tag, const char *path, char *body,
                  size_t body_size) {
        return bg_http_get(pjt_admin_port(t, tag), path, body, body_size);
}

long long pjt_metric(const pjt_t *t, const char *tag, const char *series) {
        return bg_admin_metric(pjt_admin_port(t, tag), series);
}

static PGresult *query(pjt_t *t, const char *sql) {
        PGresult *res = PQexec(t->pt_conn, sql);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                /* The server may have restarted under us (the PostgreSQL restart test). */
                PQclear(res);
                PQreset(t->pt_conn);
                res = PQexec(t->pt_conn, sql);
        }
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("\"%s\" failed: %s", sql, PQerrorMessage(t->pt_conn));
        return res;
}

long long pjt_count(pjt_t *t, const char *fmt, ...) {
        char sql[4096];
        va_list ap;
        PGresult *res;
        long long v;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        res = query(t, sql);
        if (PQntuples(res) != 1)
                fail_msg("\"%s\" returned %d rows", sql, PQntuples(res));
        v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
}

char *pjt_text(pjt_t *t, const char *fmt, ...) {
        char sql[4096];
        va_list ap;
        PGresult *res;
        char *v;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        res = query(t, sql);
        if (PQntuples(res) != 1)
                fail_msg("\"%s\" returned %d rows", sql, PQntuples(res));
        v = strdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
        PQclear(res);
        return v;
}

long long pjt_stored_total(pjt_t *t, const char *schema) {
        if (pjt_count(t, "SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND "
                         "tablename = 'kafka_offsets'", schema) == 0)
                return 0;
        return pjt_count(t, "SELECT coalesce(sum(next_offset), 0) FROM %s.kafka_offsets "
                            "WHERE topic = '%s'", schema, t->pt_topics.kt_events);
}

static long long log_end(pjt_t *t, int64_t *ends) {
        long long end = 0;

        for (int p = 0; p < t->pt_partitions; p++) {
                int64_t lo, hi;
                assert_int_equal(rd_kafka_query_watermark_offsets(t->pt_producer,
                                                                  t->pt_topics.kt_events, p, &lo,
                                                                  &hi, TIMEOUT_MS), 0);
                end += hi > 0 ? hi : 0;
                if (ends != NULL)
                        ends[p] = hi;
        }
        return end;
}

long long pjt_log_end(pjt_t *t) {
        return log_end(t, NULL);
}

long long pjt_wait_log_end(pjt_t *t, int64_t *ends) {
        long long end = log_end(t, ends);

        /* The log holds at least what this fixture produced (plus transaction markers): a
         * smaller end is a stale answer, and waiting for it would end at once. */
        for (int waited = 0; end < (long long)t->pt_produced && waited < 10000; waited += 100) {
                usleep(100 * 1000);
                end = log_end(t, ends);
        }
        assert_true(end >= (long long)t->pt_produced);
        return end;
}

bool pjt_wait_caught_up(pjt_t *t, const char *schema, int timeout_ms) {
        long long end = pjt_wait_log_end(t, NULL);

        for (int waited = 0; waited <= timeout_ms; waited += 100) {
                if (pjt_stored_total(t, schema) >= end)
                        return true;
                usleep(100 * 1000);
        }
        fprintf(stderr, "schema %s: stored offsets %lld, end %lld\n", schema,
                pjt_stored_total(t, schema), end);
        return false;
}

void pjt_assert_same_tables(pjt_t *t, const char *a, const char *b) {
        for (const char *const *tb = pjt_tables; *tb; tb++) {
                long long na = pjt_count(t, "SELECT count(*) FROM %s.%s", a, *tb);
                long long nb = pjt_count(t, "SELECT count(*) FROM %s.%s", b, *tb);
                long long diff = pjt_count(t,
                        "SELECT count(*) FROM ((SELECT * FROM %s.%s EXCEPT ALL SELECT * FROM %s.%s) "
                        "UNION ALL (SELECT * FROM %s.%s EXCEPT ALL SELECT * FROM %s.%s)) d",
                        a, *tb, b, *tb, b, *tb, a, *tb);
                if (na != nb || diff != 0)
                        fail_msg("table %s differs: %s has %lld rows, %s has %lld, %lld rows "
                                 "differ", *tb, a, na, b, nb, diff);
        }
}
