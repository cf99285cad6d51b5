/*
 * bench_raw: what the broker itself does, for the benchmark report's ratios. Nothing of
 * the services runs: plain librdkafka clients on the same broker, with records that are
 * real events (made by the domain with pj_gen, as billing-commands appends them), so the
 * record size and the compression ratio are the services'.
 *
 *   bench_raw [records] [latency-seconds] [latency-rate]      (defaults 500000, 10, 500)
 *
 * 1. produce: <records> records (a pool of 50,000 distinct encoded events, cycled, keyed
 *    by their account id) to a fresh 4-partition topic with the producer settings of
 *    billing-commands minus the transaction (idempotent, acks=all, linger.ms=5, lz4):
 *    records/s from the first send to the end of the flush.
 * 2. consume: one read_committed consumer with the projector's fetch settings reads the
 *    topic from offset 0 to the end of every partition: records/s from the first record
 *    received (connecting and the first fetch's metadata are not counted).
 * 3. round trip: records produced at a fixed rate (the end-to-end benchmark's: 500/s for
 *    10 s), each timed from the send to its arrival at a read_committed consumer
 *    (fetch.wait.max.ms=10): p50/p99. The floor of any command -> read model latency.
 * Needs the local stack's environment (. $BILLING_STACK_DIR/env.sh). Prints a table and a
 * "BENCH {...}" line for tests/bench/report.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bench_mix.h"
#include "bg_time.h"
#include "kc_admin.h"
#include "kc_conf.h"
#include "pj_gen.h"

#define POOL 50000
#define PARTITIONS 4
#define TIMEOUT_MS 30000

typedef struct rec_s {
        char key[BG_UUID_STR_LEN + 1];
        uint8_t *value;
        size_t len;
} rec_t;

typedef struct pool_s {
        rec_t *r;
        size_t n;
        size_t bytes;
} pool_t;

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

/* billing-commands' producer (services/commands/cmd_service.c) without the transaction. */
static const char *const producer_props[] = {"enable.idempotence", "true", "acks", "all",
                                             "linger.ms", "5", "compression.type", "lz4",
                                             "queue.buffering.max.messages", "1000000", NULL};

static void keep(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        pool_t *p = opaque;
        rec_t *r;

        if (p->n >= POOL)
                return;
        r = &p->r[p->n++];
        bg_uuid_format(&ev->account_id, r->key);
        r->value = malloc(len);
        if (r->value == NULL)
                bench_die("out of memory");
        memcpy(r->value, buf, len);
        r->len = len;
        p->bytes += len;
}

/* Real events: random stories of 2,000 accounts, interleaved. */
static void make_pool(pool_t *p) {
        char errstr[512];
        pjg_t *g = pjg_new(BG_SCHEMAS_DIR, 7, 1767225600000LL, errstr, sizeof(errstr));
        pjg_account_t *acc[2000];
        uint64_t r = 99991;

        if (g == NULL)
                bench_die("generator: %s", errstr);
        p->r = calloc(POOL, sizeof(rec_t));
        if (p->r == NULL)
                bench_die("out of memory");
        for (int i = 0; i < 2000; i++)
                if ((acc[i] = pjg_account_new(g)) == NULL)
                        bench_die("out of memory");
        while (p->n < POOL) {
                r = r * 6364136223846793005ull + 1442695040888963407ull;
                pjg_random_step(g, acc[(r >> 33) % 2000], keep, p);
        }
        for (int i = 0; i < 2000; i++)
                pjg_account_destroy(acc[i]);
        pjg_destroy(g);
}

static void create_topic(rd_kafka_t *rk, const char *name) {
        kc_topic_spec_t spec = {name, PARTITIONS, 1, NULL};
        char errstr[512];

        if (kc_topics_create(rk, &spec, 1, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                bench_die("%s", errstr);
}

static void send_rec(rd_kafka_t *rk, const char *topic, const rec_t *r, uint32_t index) {
        rd_kafka_resp_err_t err;

        for (;;) {
                err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(r->key, BG_UUID_STR_LEN),
                                        RD_KAFKA_V_VALUE(r->value, r->len),
                                        RD_KAFKA_V_HEADER("i", &index, sizeof(index)),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(rk, 5);
        }
        if (err)
                bench_die("produce: %s", rd_kafka_err2str(err));
        rd_kafka_poll(rk, 0);
}

static size_t delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err)
                delivery_failures++;
}

static double produce(const pool_t *p, const char *topic, size_t n) {
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char errstr[512];
        double t0;

        conf = kc_conf_from_env(errstr, sizeof(errstr));
        if (conf == NULL)
                bench_die("%s", errstr);
        for (const char *const *q = producer_props; q[0]; q += 2)
                if (kc_conf_set(conf, q[0], q[1], errstr, sizeof(errstr)) != 0)
                        bench_die("%s", errstr);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))) == NULL)
                bench_die("%s", errstr);
        create_topic(rk, topic);
        /* One record first, not timed: the producer id and the metadata are fetched. */
        send_rec(rk, topic, &p->r[0], UINT32_MAX);
        if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                bench_die("flush timed out");
        t0 = bg_time_mono_s();
        for (size_t i = 0; i < n; i++)
                send_rec(rk, topic, &p->r[i % p->n], (uint32_t)i);
        if (rd_kafka_flush(rk, 300000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                bench_die("flush timed out");
        t0 = bg_time_mono_s() - t0;
        rd_kafka_destroy(rk);
        if (delivery_failures > 0)
                bench_die("%zu records not delivered", delivery_failures);
        return (double)n / t0;
}

/* The projector's consumer settings (services/projector/pj_service.c). */
static rd_kafka_t *consumer(const char *topic, const char *fetch_wait_ms, bool eof) {
        const char *props[] = {"group.id", "bench-raw", "isolation.level", "read_committed",
                               "enable.auto.commit", "false",
                               "enable.partition.eof", eof ? "true" : "false",
                               "fetch.max.bytes", "52428800", "max.partition.fetch.bytes", "8388608",
                               "queued.max.messages.kbytes", "262144",
                               "fetch.wait.max.ms", fetch_wait_ms, NULL};
        rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, props);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);

        for (int p = 0; p < PARTITIONS; p++)
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
                bench_die("assign failed");
        rd_kafka_topic_partition_list_destroy(parts);
        return rk;
}

static double consume(const char *topic, size_t n) {
        rd_kafka_t *rk;
        size_t got = 0;
        int eofs = 0;
        double t0 = 0;

        rk = consumer(topic, "50", true);
        while (eofs < PARTITIONS) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eofs++;
                else if (!m->err && got++ == 0)
                        t0 = bg_time_mono_s();   /* from the first record: connecting is not reading */
                rd_kafka_message_destroy(m);
        }
        t0 = bg_time_mono_s() - t0;
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        if (got != n + 1)       /* + the warm-up record */
                bench_die("consumed %zu records, %zu produced", got, n + 1);
        return (double)n / t0;      /* n + 1 records: n after the first */
}

typedef struct pacer_s {
        const pool_t *pool;
        const char *topic;
        rd_kafka_t *rk;
        size_t n;
        double rate;
        double *sent_at;
} pacer_t;

static void *pace(void *opaque) {
        pacer_t *p = opaque;
        double t0 = bg_time_mono_s();

        for (size_t i = 0; i < p->n; i++) {
                double due = t0 + (double)i / p->rate, t = bg_time_mono_s();
                if (due > t)
                        usleep((useconds_t)((due - t) * 1e6));
                p->sent_at[i] = bg_time_mono_s();
                send_rec(p->rk, p->topic, &p->pool->r[i % p->pool->n], (uint32_t)i);
        }
        rd_kafka_flush(p->rk, 60000);
        return NULL;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* Fills @lat with the round trips seen; returns how many. */
static size_t round_trip(const pool_t *pool, const char *topic, int secs, double rate,
                         double *lat) {
        pacer_t p = {pool, topic, client(RD_KAFKA_PRODUCER, producer_props), 0, rate, NULL};
        rd_kafka_t *rk;
        pthread_t thr;
        size_t got = 0;
        double deadline;

        p.n = (size_t)(rate * secs);
        p.sent_at = calloc(p.n, sizeof(double));
        create_topic(p.rk, topic);
        rk = consumer(topic, "10", false);
        /* A warm-up record through both clients before the clock starts. */
        send_rec(p.rk, topic, &pool->r[0], UINT32_MAX);
        rd_kafka_flush(p.rk, 60000);
        for (int i = 0; i < 300; i++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                bool seen = m != NULL && !m->err;
                if (m)
                        rd_kafka_message_destroy(m);
                if (seen)
                        break;
        }
        pthread_create(&thr, NULL, pace, &p);
        deadline = bg_time_mono_s() + secs + 30;
        while (got < p.n && bg_time_mono_s() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *h;
                const void *v;
                size_t len;
                uint32_t i;

                if (m == NULL)
                        continue;
                if (!m->err && rd_kafka_message_headers(m, &h) == 0 &&
                    rd_kafka_header_get_last(h, "i", &v, &len) == 0 && len == sizeof(i)) {
                        double t = bg_time_mono_s();
                        memcpy(&i, v, sizeof(i));
                        if (i < p.n && p.sent_at[i] > 0)
                                lat[got++] = t - p.sent_at[i];
                }
                rd_kafka_message_destroy(m);
        }
        pthread_join(thr, NULL);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        rd_kafka_destroy(p.rk);
        free(p.sent_at);
        qsort(lat, got, sizeof(double), cmp_double);
        return got;
}

int main(int argc, char **argv) {
        size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 500000;
        int secs = argc > 2 ? atoi(argv[2]) : 10;
        double rate = argc > 3 ? strtod(argv[3], NULL) : 500;
        char topic[200], lat_topic[210];
        pool_t pool = {0};
        double prod, cons, *lat, avg, t0;
        size_t nlat, want;

        if (n < 1000 || secs < 1 || rate <= 0) {
                fprintf(stderr, "usage: bench_raw [records >= 1000] [latency-seconds >= 1] "
                        "[latency-rate > 0]\n");
                return 2;
        }
        if (getenv("BILLING_KAFKA_BOOTSTRAP") == NULL)
                bench_die("BILLING_KAFKA_BOOTSTRAP is not set (. $BILLING_STACK_DIR/env.sh)");
        snprintf(topic, sizeof(topic), "bench-raw-%ld-%ld.events", (long)getpid(),
                 (long)time(NULL));
        snprintf(lat_topic, sizeof(lat_topic), "%s-rtt", topic);

        t0 = bg_time_mono_s();
        make_pool(&pool);
        avg = (double)pool.bytes / (double)pool.n;
        fprintf(stderr, "%zu distinct events made by the domain in %.1f s, %.0f bytes each on "
                "average\n", pool.n, bg_time_mono_s() - t0, avg);

        prod = produce(&pool, topic, n);
        fprintf(stderr, "raw produce: %.0f records/s\n", prod);
        cons = consume(topic, n);
        fprintf(stderr, "raw consume: %.0f records/s\n", cons);

        want = (size_t)(rate * secs);
        lat = calloc(want, sizeof(double));
        nlat = round_trip(&pool, lat_topic, secs, rate, lat);

        printf("%-60s %14s\n", "raw Kafka, same broker", "value");
        printf("%-60s %14.0f\n", "record size, real events (bytes)", avg);
        printf("%-60s %14.0f\n", "produce, idempotent, acks=all, lz4 (records/s)", prod);
        printf("%-60s %14.1f\n", "produce (MB/s)", prod * avg / 1e6);
        printf("%-60s %14.0f\n", "consume, read_committed (records/s)", cons);
        printf("%-60s %14.2f\n", "round trip produce -> consume p50 (ms)",
               nlat ? lat[nlat / 2] * 1000 : -1);
        printf("%-60s %14.2f\n", "round trip produce -> consume p99 (ms)",
               nlat ? lat[(size_t)((double)nlat * 0.99)] * 1000 : -1);
        printf("BENCH {\"bench\":\"raw\",\"records\":%zu,\"record_bytes\":%.0f,"
               "\"produce_per_s\":%.0f,\"produce_mb_per_s\":%.1f,\"consume_per_s\":%.0f,"
               "\"rtt_rate\":%.0f,\"rtt_samples\":%zu,\"rtt_expected\":%zu,"
               "\"rtt_p50_ms\":%.2f,\"rtt_p99_ms\":%.2f,\"topic\":\"%s\"}\n",
               n, avg, prod, prod * avg / 1e6, cons, rate, nlat, want,
               nlat ? lat[nlat / 2] * 1000 : -1,
               nlat ? lat[(size_t)((double)nlat * 0.99)] * 1000 : -1, topic);
        for (size_t i = 0; i < pool.n; i++)
                free(pool.r[i].value);
        free(pool.r);
        free(lat);
        return nlat == want ? 0 : 1;
}
