/*
 * bench_e2e: end-to-end latency, command -> read model. billing-commands and
 * billing-projector run as children on topics and a PostgreSQL schema of their own;
 * commands are published at a modest fixed rate and each one is timed from its send to
 * the moment the projector's account_seq row of its account reaches the command's
 * last_seq (what the API's read-your-writes waits for: docs/read-models.md).
 *
 *   bench_e2e [seconds] [rate] [poll-ms]                   (defaults 10, 500, 5)
 *
 * The commands are bench_commands' mix (20 per account: accounts, groups, projects,
 * moves, renames). PostgreSQL has no push here, so account_seq of the accounts with
 * commands in flight is polled every <poll-ms> (one indexed query); the first time a seq
 * is seen is when it became visible, independently of when the command's result is read,
 * so the figure includes up to one polling interval (about half of it on average).
 * A warm-up account goes through first so that start-up is not measured.
 * Needs the local stack's environment (. $BILLING_STACK_DIR/env.sh). Prints a table and a
 * "BENCH {...}" line (with both services' peak RSS) for tests/bench/report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg_time.h"
#include "bench_mix.h"
#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"

/* bench_commands' mix, per account (20 commands): see make_command. */
#define SALT_RUN 1
#define SALT_WARM 2

typedef struct obs_s {          /* account_seq of one account: seq first seen at t */
        int64_t *seq;
        double *t;
        size_t n, cap;
} obs_t;

typedef struct run_s {
        cmdh_t *h;
        bg_uuid_t base;
        uint8_t salt;
        uint32_t n;             /* commands */
        double rate;            /* commands/s; 0: all at once */
        double *sent_at;        /* per command */
        double *result_at;
        int64_t *last_seq;
        double *visible_at;     /* account_seq >= last_seq first seen */
        uint32_t nacc;
        obs_t *obs;             /* per account */
        uint32_t *inflight;     /* per account: commands sent and not yet visible */
        volatile uint32_t published;
} run_t;

static void *publish(void *opaque) {
        run_t *r = opaque;
        static bg_command_t cmd;
        char key[BG_UUID_STR_LEN + 1], errstr[256];
        double t0 = bg_time_mono_s();

        for (uint32_t j = 0; j < r->n; j++) {
                const uint8_t *buf;
                size_t len;

                if (r->rate > 0) {
                        double due = t0 + j / r->rate, t = bg_time_mono_s();
                        if (due > t)
                                usleep((useconds_t)((due - t) * 1e6));
                }
                bench_mix_command(&cmd, &r->base, j, r->salt);
                if (codec_encode_command(r->h->ch_codec, &cmd, &buf, &len, errstr,
                                         sizeof(errstr)) != CODEC_OK)
                        bench_die("encode: %s", errstr);
                bg_uuid_format(&cmd.account_id, key);
                r->sent_at[j] = bg_time_mono_s();
                __atomic_store_n(&r->published, j + 1, __ATOMIC_RELEASE);
                while (rd_kafka_producev(r->h->ch_producer,
                                         RD_KAFKA_V_TOPIC(r->h->ch_topics.kt_commands),
                                         RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                         RD_KAFKA_V_VALUE((void *)buf, len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                         RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        rd_kafka_poll(r->h->ch_producer, 5);
                rd_kafka_poll(r->h->ch_producer, 0);
        }
        rd_kafka_flush(r->h->ch_producer, 60000);
        return NULL;
}

static void obs_add(obs_t *o, int64_t seq, double t) {
        if (o->n > 0 && o->seq[o->n - 1] >= seq)
                return;
        if (o->n == o->cap) {
                o->cap = o->cap ? o->cap * 2 : 32;
                o->seq = realloc(o->seq, o->cap * sizeof(*o->seq));
                o->t = realloc(o->t, o->cap * sizeof(*o->t));
                if (o->seq == NULL || o->t == NULL)
                        bench_die("out of memory");
        }
        o->seq[o->n] = seq;
        o->t[o->n++] = t;
}

/* Reads every result available now. */
static void read_results(run_t *r) {
        rd_kafka_message_t *m;

        while ((m = rd_kafka_consumer_poll(r->h->ch_results, 0)) != NULL) {
                bg_command_result_t res;
                char errstr[256];
                uint32_t i;

                if (!m->err) {
                        if (codec_decode_result(r->h->ch_codec, m->payload, m->len, &res, errstr,
                                                sizeof(errstr)) != CODEC_OK)
                                bench_die("undecodable result: %s", errstr);
                        memcpy(&i, &res.command_id.b[12], 4);
                        if (res.command_id.b[11] == r->salt && i < r->n &&
                            r->result_at[i] == 0) {
                                if (res.outcome != BG_OUTCOME_ACCEPTED)
                                        bench_die("command %u (%s) not accepted: %s", i,
                                            bg_outcome_name(res.outcome),
                                            res.rejection.message);
                                r->result_at[i] = bg_time_mono_s();
                                r->last_seq[i] = res.last_seq;
                        }
                }
                rd_kafka_message_destroy(m);
        }
}

/* One poll of account_seq for the accounts with commands in flight. */
static void poll_seq(run_t *r, PGconn *pg, const char *sql) {
        static char *arr;
        static size_t arr_cap;
        uint32_t sent = __atomic_load_n(&r->published, __ATOMIC_ACQUIRE);
        size_t len = 0;
        const char *params[1];
        PGresult *res;
        double t;

        if (arr == NULL) {
                arr_cap = 1 << 16;
                arr = malloc(arr_cap);
        }
        arr[len++] = '{';
        for (uint32_t a = 0; a < r->nacc && a * MIX < sent; a++) {
                bg_uuid_t id = r->base;

                if (r->inflight[a] == 0)
                        continue;
                if (len + BG_UUID_STR_LEN + 3 > arr_cap) {
                        arr_cap *= 2;
                        if ((arr = realloc(arr, arr_cap)) == NULL)
                                bench_die("out of memory");
                }
                id.b[8] = r->salt;
                memcpy(&id.b[12], &a, 4);
                if (len > 1)
                        arr[len++] = ',';
                bg_uuid_format(&id, arr + len);
                len += BG_UUID_STR_LEN;
        }
        if (len == 1)
                return;
        arr[len++] = '}';
        arr[len] = '\0';
        params[0] = arr;
        res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
        t = bg_time_mono_s();
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
                for (int row = 0; row < PQntuples(res); row++) {
                        bg_uuid_t id;
                        uint32_t a;
                        const char *s = PQgetvalue(res, row, 0);

                        if (!bg_uuid_parse(s, strlen(s), &id))
                                continue;
                        memcpy(&a, &id.b[12], 4);
                        if (a < r->nacc)
                                obs_add(&r->obs[a], atoll(PQgetvalue(res, row, 1)), t);
                }
        }
        /* Before the projector created its schema the query fails: nothing seen yet. */
        PQclear(res);
}

/* Marks the commands among the first @sent whose last_seq has been seen; returns how
 * many of them are done. */
static uint32_t settle(run_t *r, uint32_t sent) {
        uint32_t done = 0;

        for (uint32_t j = 0; j < sent; j++) {
                uint32_t a = j / MIX;
                obs_t *o = &r->obs[a];

                if (r->visible_at[j] > 0) {
                        done++;
                        continue;
                }
                if (r->result_at[j] > 0 && o->n > 0 && o->seq[o->n - 1] >= r->last_seq[j]) {
                        size_t k = 0;
                        while (o->seq[k] < r->last_seq[j])
                                k++;
                        /* Seen before it was sent: a poll raced the send; count from now. */
                        r->visible_at[j] = o->t[k] >= r->sent_at[j] ? o->t[k] : bg_time_mono_s();
                        r->inflight[a]--;
                        done++;
                }
        }
        return done;
}

static void run(run_t *r, PGconn *pg, const char *sql, double poll_s, double timeout_s) {
        pthread_t thr;
        uint32_t counted = 0;
        double deadline, next_poll = 0;

        r->nacc = r->n / MIX + 1;
        r->sent_at = calloc(r->n, sizeof(double));
        r->result_at = calloc(r->n, sizeof(double));
        r->visible_at = calloc(r->n, sizeof(double));
        r->last_seq = calloc(r->n, sizeof(int64_t));
        r->obs = calloc(r->nacc, sizeof(obs_t));
        r->inflight = calloc(r->nacc, sizeof(uint32_t));
        if (!r->sent_at || !r->result_at || !r->visible_at || !r->last_seq || !r->obs ||
            !r->inflight)
                bench_die("out of memory");
        r->published = 0;
        pthread_create(&thr, NULL, publish, r);
        deadline = bg_time_mono_s() + timeout_s;
        for (;;) {
                uint32_t sent = __atomic_load_n(&r->published, __ATOMIC_ACQUIRE);
                double t = bg_time_mono_s();

                while (counted < sent)
                        r->inflight[counted++ / MIX]++;
                read_results(r);
                if (t >= next_poll) {
                        next_poll = t + poll_s;
                        poll_seq(r, pg, sql);
                        if (settle(r, counted) == r->n)
                                break;
                }
                if (t > deadline)
                        break;
                usleep(500);
        }
        pthread_join(thr, NULL);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
        size_t i = (size_t)((double)n * p);
        return n == 0 ? -1 : v[i < n ? i : n - 1] * 1000;
}

int main(int argc, char **argv) {
        int secs = argc > 1 ? atoi(argv[1]) : 10;
        double rate = argc > 2 ? strtod(argv[2], NULL) : 500;
        int poll_ms = argc > 3 ? atoi(argv[3]) : 5;
        const char *conninfo;
        char schema[64], var_schema[128], var_rb[160], var_admin[] = "BILLING_ADMIN_ADDR=127.0.0.1:0";
        char var_schemas[300], log[300], sql[256], instance[64];
        char *env[5];
        cmdh_t *h;
        run_t warm = {0}, r = {0};
        PGconn *pg;
        pid_t cmd_pid, proj_pid;
        long cmd_rss, proj_rss;
        double *lat, *res_lat, t0;
        size_t nlat = 0, nres = 0;

        if (secs < 1 || rate <= 0 || poll_ms < 1) {
                fprintf(stderr, "usage: bench_e2e [seconds >= 1] [rate > 0] [poll-ms >= 1]\n");
                return 2;
        }
        conninfo = bg_test_env("BILLING_PG_CONNINFO");
        h = cmdh_new("bench-e2e", 4);
        snprintf(instance, sizeof(instance), "e2e-%ld", (long)getpid());
        cmd_pid = cmdh_start(h, instance, NULL);

        snprintf(schema, sizeof(schema), "bench_e2e_%ld", (long)getpid());
        snprintf(var_schema, sizeof(var_schema), "BILLING_PG_SCHEMA=%s", schema);
        snprintf(var_rb, sizeof(var_rb), "BILLING_REBUILD_SCHEMA=%s_rb", schema);
        snprintf(var_schemas, sizeof(var_schemas), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        env[0] = var_schema;
        env[1] = var_rb;
        env[2] = var_admin;
        env[3] = var_schemas;
        env[4] = NULL;
        snprintf(log, sizeof(log), "%s-projector.log", h->ch_log);
        proj_pid = bg_proc_spawn(BG_BINARY_DIR "/services/projector/billing-projector", NULL, env,
                                 log);
        if (proj_pid < 0)
                bench_die("cannot start billing-projector: %s", strerror(errno));
        pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK)
                bench_die("PostgreSQL: %s", PQerrorMessage(pg));
        snprintf(sql, sizeof(sql), "SELECT account_id::text, seq FROM %s.account_seq "
                 "WHERE account_id = ANY($1::uuid[])", schema);

        /* Warm-up: one account's 20 commands, all at once, through both services. */
        bg_uuid_generate(&warm.base);
        warm.h = h;
        warm.salt = SALT_WARM;
        warm.n = MIX;
        t0 = bg_time_mono_s();
        run(&warm, pg, sql, 0.02, 120);
        if (settle(&warm, warm.n) != warm.n)
                bench_die("warm-up: the commands did not reach the read model within 120 s "
                    "(logs %s-*.log)", h->ch_log);
        fprintf(stderr, "warm-up done in %.1f s; %d s at %.0f commands/s\n", bg_time_mono_s() - t0, secs,
                rate);

        r.h = h;
        r.base = warm.base;
        r.salt = SALT_RUN;
        r.n = (uint32_t)(rate * secs);
        r.rate = rate;
        run(&r, pg, sql, poll_ms / 1000.0, secs + 60);
        cmd_rss = bench_peak_rss_kib(cmd_pid);
        proj_rss = bench_peak_rss_kib(proj_pid);

        lat = calloc(r.n, sizeof(double));
        res_lat = calloc(r.n, sizeof(double));
        for (uint32_t j = 0; j < r.n; j++) {
                if (r.visible_at[j] > 0)
                        lat[nlat++] = r.visible_at[j] - r.sent_at[j];
                if (r.result_at[j] > 0)
                        res_lat[nres++] = r.result_at[j] - r.sent_at[j];
        }
        qsort(lat, nlat, sizeof(double), cmp_double);
        qsort(res_lat, nres, sizeof(double), cmp_double);

        printf("%-56s %12s\n", "end to end, command -> read model", "value");
        printf("%-56s %12.0f\n", "rate (commands/s)", rate);
        printf("%-56s %12u\n", "commands", r.n);
        printf("%-56s %12zu\n", "reached the read model", nlat);
        printf("%-56s %12.1f\n", "latency p50 (ms)", pct(lat, nlat, 0.5));
        printf("%-56s %12.1f\n", "latency p99 (ms)", pct(lat, nlat, 0.99));
        printf("%-56s %12.1f\n", "latency max (ms)", nlat ? lat[nlat - 1] * 1000 : -1);
        printf("%-56s %12.1f\n", "command -> result read p50 (ms)", pct(res_lat, nres, 0.5));
        printf("%-56s %12.1f\n", "command -> result read p99 (ms)", pct(res_lat, nres, 0.99));
        printf("%-56s %12d\n", "account_seq polling interval (ms)", poll_ms);
        printf("%-56s %12ld\n", "billing-commands peak RSS (KiB)", cmd_rss);
        printf("%-56s %12ld\n", "billing-projector peak RSS (KiB)", proj_rss);
        printf("BENCH {\"bench\":\"e2e\",\"rate\":%.0f,\"seconds\":%d,\"commands\":%u,"
               "\"samples\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
               "\"result_p50_ms\":%.2f,\"result_p99_ms\":%.2f,\"poll_ms\":%d,"
               "\"commands_rss_peak_kib\":%ld,\"projector_rss_peak_kib\":%ld}\n",
               rate, secs, r.n, nlat, pct(lat, nlat, 0.5), pct(lat, nlat, 0.99),
               nlat ? lat[nlat - 1] * 1000 : -1, pct(res_lat, nres, 0.5),
               pct(res_lat, nres, 0.99), poll_ms, cmd_rss, proj_rss);

        bg_proc_stop(proj_pid, SIGTERM, 15000);
        bg_proc_stop(cmd_pid, SIGTERM, 15000);
        snprintf(sql, sizeof(sql), "SET client_min_messages = warning; "
                 "DROP SCHEMA IF EXISTS %s CASCADE; "
                 "DROP SCHEMA IF EXISTS %s_rb CASCADE", schema, schema);
        PQclear(PQexec(pg, sql));
        PQfinish(pg);
        cmdh_destroy(h);
        free(lat);
        free(res_lat);
        return nlat == r.n ? 0 : 1;
}
