/*
 * bench_projector: how fast billing-projector turns billing.events into read models,
 * against how fast the same topic can merely be consumed.
 *
 *   1. produces N events (default 1,000,000; BENCH_EVENTS) of many accounts with valid
 *      hash chains, made by the domain (pj_gen), to a fresh topic;
 *   2. consumes the whole topic with a plain read_committed librdkafka consumer: the raw
 *      consume rate;
 *   3. starts billing-projector on a fresh schema from offset 0 and times it until the
 *      offsets stored in PostgreSQL reach the end of every partition: the projection rate;
 *   4. checks that audit_log has one row per event, and prints both rates and their ratio.
 *
 * Needs the local stack (BILLING_KAFKA_BOOTSTRAP, BILLING_PG_CONNINFO). Not a ctest test:
 *   build/tests/bench/bench_projector
 * Also prints the CPU time the projector and the PostgreSQL server spent (from /proc), which
 * does not depend on what else the machine runs.
 * Settings: BENCH_EVENTS, BENCH_ACCOUNTS (per wave, default 2000), BENCH_PARTITIONS (4),
 * and the projector's own (BILLING_BATCH_MAX ...) pass through.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bg_time.h"
#include "bench_mix.h"
#include "bg_proc.h"
#include "kc_conf.h"
#include "kc_topics.h"
#include "pj_gen.h"

#define TIMEOUT_MS 30000

typedef struct bench_s {
        kc_topics_t topics;
        int nparts;
        rd_kafka_t *producer;
        size_t produced;
        size_t bytes;
} bench_t;

static long env_long(const char *name, long def) {
        const char *v = getenv(name);
        return v && *v ? strtol(v, NULL, 10) : def;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, sizeof(errstr));
        rd_kafka_t *rk;

        if (conf == NULL)
                bench_die("%s", errstr);
        for (const char *const *p = props; p && p[0]; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        bench_die("%s", errstr);
        if ((rk = rd_kafka_new(type, conf, errstr, sizeof(errstr))) == NULL)
                bench_die("%s", errstr);
        return rk;
}

static void emit(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        bench_t *b = opaque;
        char key[BG_UUID_STR_LEN + 1];
        int32_t part;
        rd_kafka_resp_err_t err;

        bg_uuid_format(&ev->account_id, key);
        part = rd_kafka_msg_partitioner_murmur2(NULL, key, BG_UUID_STR_LEN, b->nparts, NULL, NULL);
        for (;;) {
                err = rd_kafka_producev(b->producer, RD_KAFKA_V_TOPIC(b->topics.kt_events),
                                        RD_KAFKA_V_PARTITION(part),
                                        RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                        RD_KAFKA_V_VALUE((void *)buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(b->producer, 10);
        }
        if (err)
                bench_die("produce: %s", rd_kafka_err2str(err));
        b->produced++;
        b->bytes += len;
}

static void produce_events(bench_t *b, size_t n, int per_wave) {
        char errstr[512];
        pjg_t *g = pjg_new(BG_SCHEMAS_DIR, 42, 1767225600000LL, errstr, sizeof(errstr));
        pjg_account_t **acc = calloc((size_t)per_wave, sizeof(*acc));
        uint64_t r = 12345;

        if (g == NULL || acc == NULL)
                bench_die("cannot start the generator: %s", errstr);
        while (b->produced < n) {
                /* A wave of accounts, interleaved, about 50 events each. */
                size_t wave_end = b->produced + (size_t)per_wave * 50;
                for (int i = 0; i < per_wave; i++)
                        if ((acc[i] = pjg_account_new(g)) == NULL)
                                bench_die("out of memory");
                while (b->produced < wave_end && b->produced < n) {
                        r = r * 6364136223846793005ull + 1442695040888963407ull;
                        pjg_random_step(g, acc[(r >> 33) % (uint64_t)per_wave], emit, b);
                        rd_kafka_poll(b->producer, 0);
                }
                for (int i = 0; i < per_wave; i++)
                        pjg_account_destroy(acc[i]);
                fprintf(stderr, "\rproduced %zu events", b->produced);
        }
        fprintf(stderr, "\n");
        if (rd_kafka_flush(b->producer, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                bench_die("flush failed");
        free(acc);
        pjg_destroy(g);
}

static int64_t end_offsets(bench_t *b) {
        int64_t total = 0;

        for (int p = 0; p < b->nparts; p++) {
                int64_t lo, hi;
                if (rd_kafka_query_watermark_offsets(b->producer, b->topics.kt_events, p, &lo, &hi,
                                                     TIMEOUT_MS) != 0)
                        bench_die("cannot read watermarks");
                total += hi;
        }
        return total;
}

/* Reads every partition from the beginning to its end; returns messages read. */
static size_t raw_consume(bench_t *b, double *seconds) {
        const char *props[] = {"group.id", "bench-raw", "isolation.level", "read_committed",
                               "enable.auto.commit", "false", "enable.partition.eof", "true",
                               "fetch.max.bytes", "52428800", "max.partition.fetch.bytes", "8388608",
                               "queued.max.messages.kbytes", "262144", NULL};
        rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, props);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(b->nparts);
        size_t n = 0, bytes = 0;
        int eofs = 0;
        double t0;

        for (int p = 0; p < b->nparts; p++)
                rd_kafka_topic_partition_list_add(parts, b->topics.kt_events, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        t0 = bg_time_mono_s();
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        while (eofs < b->nparts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eofs++;
                else if (!m->err) {
                        n++;
                        bytes += m->len;
                }
                rd_kafka_message_destroy(m);
        }
        *seconds = bg_time_mono_s() - t0;
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

/* CPU seconds (user + system) used so far by @pid, or -1. */
static double cpu_seconds(pid_t pid) {
        char path[64], buf[1024], *p;
        unsigned long long ut, st;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if ((f = fopen(path, "r")) == NULL)
                return -1;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -1;
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds used so far by the PostgreSQL server's children (backends and helpers), from
 * $BILLING_PG_DATA/postmaster.pid; -1 when unknown. */
static double pg_cpu_seconds(void) {
        const char *data = getenv("BILLING_PG_DATA");
        char path[512], line[64], children[256];
        double total = 0;
        FILE *f;
        long pm;

        if (data == NULL)
                return -1;
        snprintf(path, sizeof(path), "%s/postmaster.pid", data);
        if ((f = fopen(path, "r")) == NULL)
                return -1;
        pm = fgets(line, sizeof(line), f) ? strtol(line, NULL, 10) : 0;
        fclose(f);
        snprintf(children, sizeof(children), "/proc/%ld/task/%ld/children", pm, pm);
        if (pm <= 0 || (f = fopen(children, "r")) == NULL)
                return -1;
        for (long child; fscanf(f, "%ld", &child) == 1;) {
                double c = cpu_seconds((pid_t)child);
                if (c > 0)
                        total += c;
        }
        fclose(f);
        return total;
}

/* One bigint from @sql, or -1. */
static long long pg_value(PGconn *conn, const char *sql) {
        PGresult *res = PQexec(conn, sql);
        long long v = -1;

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
                v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
}

int main(void) {
        bench_t b;
        char errstr[512], prefix[128], schema[64], sql[512], log[256], num[16];
        char var_schema[128], var_prefix[160], var_admin[] = "BILLING_ADMIN_ADDR=127.0.0.1:0";
        char var_schemas[300];
        char *env[8];
        size_t n_events = (size_t)env_long("BENCH_EVENTS", 1000000);
        int per_wave = (int)env_long("BENCH_ACCOUNTS", 2000);
        double t0, raw_s, proj_s, gen_s, pg_cpu0, pg_cpu1, proj_cpu;
        double load[3] = {0, 0, 0};
        size_t raw_n;
        int64_t end;
        long long stored = 0, audit;
        long rss_peak;
        PGconn *conn;
        pid_t pid;
        int status;

        memset(&b, 0, sizeof(b));
        if (getenv("BILLING_KAFKA_BOOTSTRAP") == NULL || getenv("BILLING_PG_CONNINFO") == NULL)
                bench_die("BILLING_KAFKA_BOOTSTRAP and BILLING_PG_CONNINFO must be set "
                    "(. /tmp/billing-stack/env.sh)");
        b.nparts = (int)env_long("BENCH_PARTITIONS", 4);
        snprintf(prefix, sizeof(prefix), "bench-%ld-%ld.", (long)getpid(), (long)time(NULL));
        snprintf(schema, sizeof(schema), "bench_%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
        setenv("BILLING_TOPIC_PREFIX", prefix, 1);
        snprintf(num, sizeof(num), "%d", b.nparts);
        setenv("BILLING_PARTITIONS", num, 1);
        setenv("BILLING_USAGE_PARTITIONS", "1", 1);
        if (kc_topics_load(&b.topics, errstr, sizeof(errstr)) != 0)
                bench_die("%s", errstr);
        {
                const char *props[] = {"linger.ms", "20", "enable.idempotence", "true",
                                       "compression.type", "lz4", "batch.size", "1000000",
                                       "queue.buffering.max.messages", "2000000", NULL};
                b.producer = client(RD_KAFKA_PRODUCER, props);
        }
        if (kc_topics_ensure(b.producer, &b.topics, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                bench_die("%s", errstr);

        printf("topic %s, %d partitions; schema %s\n", b.topics.kt_events, b.nparts, schema);
        t0 = bg_time_mono_s();
        produce_events(&b, n_events, per_wave);
        gen_s = bg_time_mono_s() - t0;
        end = end_offsets(&b);
        printf("produced %zu events (%.1f MB, %.0f bytes/event) in %.1f s (generation by the "
               "domain + produce: %.0f events/s)\n", b.produced, b.bytes / 1e6,
               (double)b.bytes / (double)b.produced, gen_s, b.produced / gen_s);

        raw_n = raw_consume(&b, &raw_s);
        printf("raw consume:  %zu events in %.2f s = %.0f events/s\n", raw_n, raw_s, raw_n / raw_s);
        if (raw_n != b.produced)
                bench_die("raw consumer read %zu events, %zu produced", raw_n, b.produced);

        conn = PQconnectdb(getenv("BILLING_PG_CONNINFO"));
        if (PQstatus(conn) != CONNECTION_OK)
                bench_die("cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
        snprintf(var_schema, sizeof(var_schema), "BILLING_PG_SCHEMA=%s", schema);
        snprintf(var_prefix, sizeof(var_prefix), "BILLING_TOPIC_PREFIX=%s", prefix);
        snprintf(var_schemas, sizeof(var_schemas), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        env[0] = var_schema;
        env[1] = var_prefix;
        env[2] = var_admin;
        env[3] = var_schemas;
        env[4] = NULL;
        snprintf(log, sizeof(log), "/tmp/%s.projector.log", schema);
        pg_cpu0 = pg_cpu_seconds();
        t0 = bg_time_mono_s();
        pid = bg_proc_spawn(BG_BINARY_DIR "/services/projector/billing-projector", NULL, env, log);
        if (pid < 0)
                bench_die("cannot start billing-projector: %s", strerror(errno));
        snprintf(sql, sizeof(sql), "SELECT sum(next_offset) FROM %s.kafka_offsets", schema);
        for (;;) {
                PGresult *res;
                usleep(50 * 1000);
                if (!bg_proc_running(pid, &status))
                        bench_die("billing-projector exited (status %d); see %s", status, log);
                res = PQexec(conn, sql);        /* fails until the schema exists */
                if (PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0))
                        stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                if (stored >= end)
                        break;
                if (bg_time_mono_s() - t0 > 1800)
                        bench_die("the projector did not finish within 30 minutes (%lld of %" PRId64 ")",
                            stored, end);
        }
        proj_s = bg_time_mono_s() - t0;
        proj_cpu = cpu_seconds(pid);
        pg_cpu1 = pg_cpu_seconds();
        getloadavg(load, 3);
        rss_peak = bench_peak_rss_kib(pid);   /* before the stop: /proc of the live child */
        bg_proc_stop(pid, SIGTERM, 10000);

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.audit_log", schema);
        audit = pg_value(conn, sql);
        printf("projector:    %zu events in %.2f s = %.0f events/s (from process start, "
               "migrations included, to the stored offsets reaching the end)\n",
               b.produced, proj_s, b.produced / proj_s);
        printf("ratio:        projection runs at %.1f%% of the raw consume rate\n",
               100.0 * (b.produced / proj_s) / (raw_n / raw_s));
        if (proj_cpu > 0 && pg_cpu0 >= 0 && pg_cpu1 > pg_cpu0) {
                double us = 1e6 / (double)b.produced;
                long cores = sysconf(_SC_NPROCESSORS_ONLN);
                printf("cpu:          projector %.1f s (%.1f us/event), PostgreSQL %.1f s (%.1f us/event); "
                       "%ld cores, load average %.1f at the end: an idle machine would do about "
                       "%.0f events/s\n", proj_cpu, proj_cpu * us, pg_cpu1 - pg_cpu0,
                       (pg_cpu1 - pg_cpu0) * us, cores, load[0],
                       (double)cores * (double)b.produced / (proj_cpu + pg_cpu1 - pg_cpu0));
        }
        printf("audit_log:    %lld rows (%s)\n", audit,
               audit == (long long)b.produced ? "one per event" : "MISMATCH");
        printf("target:       50000 events/s: %s\n", b.produced / proj_s >= 50000 ? "met" : "NOT met");
        printf("BENCH {\"bench\":\"projector\",\"events\":%zu,\"bytes_per_event\":%.0f,"
               "\"raw_consume_per_s\":%.0f,\"projected_per_s\":%.0f,\"ratio\":%.3f,"
               "\"seconds\":%.2f,\"projector_cpu_s\":%.1f,\"pg_cpu_s\":%.1f,"
               "\"audit_ok\":%s,\"rss_peak_kib\":%ld,\"events_topic\":\"%s\"}\n",
               b.produced, (double)b.bytes / (double)b.produced, raw_n / raw_s,
               b.produced / proj_s, (b.produced / proj_s) / (raw_n / raw_s), proj_s, proj_cpu,
               pg_cpu0 >= 0 && pg_cpu1 >= 0 ? pg_cpu1 - pg_cpu0 : -1.0,
               audit == (long long)b.produced ? "true" : "false", rss_peak, b.topics.kt_events);
        PQfinish(conn);
        rd_kafka_destroy(b.producer);
        return audit == (long long)b.produced ? 0 : 1;
}
