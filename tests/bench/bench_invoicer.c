/*
 * bench_invoicer: usage records folded per second by billing-invoicer, with exactly-once
 * (offsets in the PostgreSQL transaction of the invoice rows) and de-duplication on,
 * beside the raw consume rate of the same topic measured in the same run.
 *
 *   bench_invoicer [records] [projects]          (defaults 2000000, 200)
 *
 * 1. setup: topics of its own, billing-commands, one account with 4 billing groups and
 *    <projects> projects; <records> usage records (5 services per project, random
 *    quantities and prices, 1 in 100 a duplicate of an earlier record) produced to the
 *    usage topic before anything consumes it.
 * 2. raw: one librdkafka consumer (read_committed, the invoicer's fetch settings) reads
 *    the whole topic and only counts: records/s.
 * 3. invoicer: billing-invoicer started on the backlog with its own PostgreSQL schema;
 *    the rate is records / time from its first committed batch to the stored offsets
 *    reaching the end (the start-up, reading billing.events, is reported apart). Its RSS
 *    is sampled at the first batch, at half of the records and at the end.
 * 4. check: the invoice's total equals the sum of the distinct records' amounts.
 * Needs the local stack's environment (. $BILLING_STACK_DIR/env.sh). Build without
 * sanitizers for figures that mean anything. Prints a table and a "BENCH {...}" line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_mix.h"
#include "bg_time.h"
#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_conf.h"

#define ACTOR "user:owner@example.com"
#define NGROUPS 4
#define SERVICES 5

static void accepted(cmdh_t *h, bg_command_t *cmd) {
        bg_command_result_t res;

        cmdh_publish(h, cmd);
        if (!cmdh_wait_result(h, &cmd->command_id, 60000, &res) ||
            res.outcome != BG_OUTCOME_ACCEPTED)
                bench_die("%s: %s", "command not accepted", bg_command_type_name(cmd->type));
}

/* RSS and its peak of @pid in KiB from /proc. */
static void rss_of(pid_t pid, long *rss, long *hwm) {
        char path[64], line[256];
        FILE *f;

        *rss = *hwm = -1;
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "r");
        if (f == NULL)
                return;
        while (fgets(line, sizeof(line), f) != NULL) {
                if (strncmp(line, "VmRSS:", 6) == 0)
                        *rss = atol(line + 6);
                else if (strncmp(line, "VmHWM:", 6) == 0)
                        *hwm = atol(line + 6);
        }
        fclose(f);
}

static int64_t pg_i64(PGconn *pg, const char *sql) {
        PGresult *res = PQexec(pg, sql);
        int64_t v = -1;

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
                v = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        return v;
}

static double raw_consume(const char *topic, int nparts, int64_t n) {
        const char *props[] = {"group.id", "bench-raw", "isolation.level", "read_committed",
                               "enable.auto.commit", "false", "fetch.max.bytes", "52428800",
                               "max.partition.fetch.bytes", "8388608",
                               "queued.min.messages", "200000", NULL};
        char errstr[512];
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, sizeof(errstr));
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
        rd_kafka_t *rk;
        int64_t got = 0, bytes = 0;
        double t0 = 0;

        for (const char *const *p = props; p[0]; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        bench_die("%s: %s", "raw consumer", errstr);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                bench_die("%s: %s", "raw consumer", errstr);
        for (int p = 0; p < nparts; p++)
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        while (got < n) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                if (m == NULL)
                        continue;
                if (!m->err) {
                        if (got == 0)
                                t0 = bg_time_mono_s();   /* from the first record, as for the invoicer */
                        got++;
                        bytes += (int64_t)m->len;
                }
                rd_kafka_message_destroy(m);
        }
        t0 = bg_time_mono_s() - t0;
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return (double)n / t0;
}

int main(int argc, char **argv) {
        int64_t n = argc > 1 ? atoll(argv[1]) : 2000000;
        int nprojects = argc > 2 ? atoi(argv[2]) : 200;
        cmdh_t *h;
        static bg_command_t cmd;
        bg_uuid_t account, groups[NGROUPS], *projects;
        static codec_usage_t u, prev;
        char schema[64], group_env[200], schema_env[100], clock_env[64], log[300], sql[512];
        char errstr[512];
        const char *conninfo = bg_test_env("BILLING_PG_CONNINFO");
        pid_t cmd_pid, inv_pid;
        PGconn *pg;
        uint32_t seed = 42;
        int64_t distinct = 0, now = bg_time_now_ms(), total_expected = 0, total;
        double raw_rate, t_start, t_first = 0, t_end, t_half = 0;
        long rss[3] = {-1, -1, -1}, hwm[3] = {-1, -1, -1};
        bool half_done = false;

        if (n < 1 || nprojects < 1) {
                fprintf(stderr, "usage: bench_invoicer [records] [projects]\n");
                return 2;
        }
        h = cmdh_new("bench-inv", 4);
        cmd_pid = cmdh_start(h, "0", NULL);
        bg_uuid_generate(&account);
        cmdh_command_init(&cmd, BG_CMD_CREATE_ACCOUNT, &account, ACTOR);
        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Bench");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        accepted(h, &cmd);
        for (int g = 0; g < NGROUPS; g++) {
                cmdh_command_init(&cmd, BG_CMD_CREATE_BILLING_GROUP, &account, ACTOR);
                bg_uuid_generate(&groups[g]);
                cmd.payload.create_billing_group.billing_group_id = groups[g];
                snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Group %d", g);
                cmd.payload.create_billing_group.profile.present = BG_PROFILE_F_BILLING_CURRENCY;
                cmd.payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
                accepted(h, &cmd);
        }
        projects = calloc((size_t)nprojects, sizeof(*projects));
        for (int p = 0; p < nprojects; p++) {
                cmdh_command_init(&cmd, BG_CMD_CREATE_PROJECT, &account, ACTOR);
                bg_uuid_generate(&projects[p]);
                cmd.payload.create_project.project_id = projects[p];
                snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "proj-%d", p);
                cmd.payload.create_project.has_billing_group_id = true;
                cmd.payload.create_project.billing_group_id = groups[p % NGROUPS];
                accepted(h, &cmd);
        }
        fprintf(stderr, "producing %" PRId64 " usage records for %d projects ...\n", n, nprojects);
        for (int64_t i = 0; i < n; i++) {
                const uint8_t *buf;
                size_t len;
                char key[BG_UUID_STR_LEN + 1];
                rd_kafka_resp_err_t err;

                seed = seed * 1103515245 + 12345;
                if (i > 0 && seed % 100 == 7) {
                        u = prev;                       /* a duplicate */
                } else {
                        int p = (int)((seed >> 4) % (uint32_t)nprojects);
                        memset(&u, 0, offsetof(codec_usage_t, tags));
                        bg_uuid_generate(&u.usage_id);
                        u.project_id = projects[p];
                        snprintf(u.service_name, sizeof(u.service_name), "svc-%u",
                                 (seed >> 9) % SERVICES);
                        snprintf(u.service_type, sizeof(u.service_type), "kafka");
                        snprintf(u.service_plan, sizeof(u.service_plan), "business-4");
                        u.line_type = CODEC_LINE_SERVICE_CHARGE;
                        u.quantity = 1 + (seed >> 3) % 3600000;
                        snprintf(u.unit, sizeof(u.unit), "hour");
                        u.has_unit_price = true;
                        u.unit_price = 1 + (seed >> 11) % 2000000;
                        u.currency = BG_CURRENCY_EUR;
                        u.timestamp_begin = now - 3600000 + (int64_t)(i % 3000000);
                        u.timestamp_end = u.timestamp_begin + 60000;
                        u.n_tags = 2;
                        snprintf(u.tags[0].key, sizeof(u.tags[0].key), "env");
                        snprintf(u.tags[0].value, sizeof(u.tags[0].value), "prod");
                        snprintf(u.tags[1].key, sizeof(u.tags[1].key), "team");
                        snprintf(u.tags[1].value, sizeof(u.tags[1].value), "data");
                        prev = u;
                        distinct++;
                        total_expected += (int64_t)(((__int128)u.quantity * u.unit_price + 500000) /
                                                    1000000);
                }
                if (codec_encode_usage(h->ch_codec, &u, &buf, &len, errstr, sizeof(errstr)) !=
                    CODEC_OK)
                        bench_die("%s: %s", "encode", errstr);
                bg_uuid_format(&u.project_id, key);
                do {
                        err = rd_kafka_producev(h->ch_producer,
                                                RD_KAFKA_V_TOPIC(h->ch_topics.kt_usage),
                                                RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                                RD_KAFKA_V_VALUE((void *)buf, len),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(h->ch_producer, 10);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (err)
                        bench_die("%s: %s", "produce", rd_kafka_err2str(err));
        }
        rd_kafka_flush(h->ch_producer, 120000);

        fprintf(stderr, "raw consume ...\n");
        raw_rate = raw_consume(h->ch_topics.kt_usage, h->ch_topics.kt_usage_partitions, n);

        pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK)
                bench_die("%s: %s", "PostgreSQL", PQerrorMessage(pg));
        snprintf(schema, sizeof(schema), "bench_inv_%ld", (long)getpid());
        snprintf(schema_env, sizeof(schema_env), "BILLING_INVOICER_SCHEMA=%s", schema);
        snprintf(group_env, sizeof(group_env), "BILLING_INVOICER_GROUP=%.*s-invoicer",
                 (int)strlen(h->ch_prefix) - 1, h->ch_prefix);
        snprintf(clock_env, sizeof(clock_env), "BILLING_CLOCK=fixed:%" PRId64, now + 60000);
        {
                char *env[] = {schema_env, group_env, clock_env, "BILLING_ADMIN_ADDR=127.0.0.1:0",
                               "BILLING_SCHEMAS_DIR=" BG_SCHEMAS_DIR, "BILLING_BATCH_MAX=50000",
                               "BILLING_DEDUP_CAPACITY=2000000", NULL};
                snprintf(log, sizeof(log), "%s-invoicer.log", h->ch_log);
                fprintf(stderr, "invoicer on the backlog (log %s) ...\n", log);
                t_start = bg_time_mono_s();
                inv_pid = bg_proc_spawn(BG_BINARY_DIR "/services/invoicer/billing-invoicer", NULL,
                                        env, log);
        }
        snprintf(sql, sizeof(sql), "SELECT sum(next_offset) FROM %s.consumer_offsets "
                 "WHERE topic = '%s'", schema, h->ch_topics.kt_usage);
        for (;;) {
                int64_t done = pg_i64(pg, sql);
                int st;

                if (!bg_proc_running(inv_pid, &st))
                        bench_die("%s: %s", "billing-invoicer", "exited; see its log");
                if (done > 0 && t_first == 0) {
                        t_first = bg_time_mono_s();
                        rss_of(inv_pid, &rss[0], &hwm[0]);
                }
                if (!half_done && done >= n / 2) {
                        half_done = true;
                        t_half = bg_time_mono_s();
                        rss_of(inv_pid, &rss[1], &hwm[1]);
                }
                if (done >= n) {
                        t_end = bg_time_mono_s();
                        rss_of(inv_pid, &rss[2], &hwm[2]);
                        break;
                }
                usleep(20 * 1000);
        }
        snprintf(sql, sizeof(sql), "SELECT sum(total_vat_zero) FROM %s.invoices", schema);
        total = pg_i64(pg, sql);
        bg_proc_stop(inv_pid, SIGTERM, 30000);
        {
                double rate = (double)n / (t_end - t_first);
                printf("usage records            %" PRId64 " (%" PRId64 " distinct, %" PRId64
                       " duplicates)\n", n, distinct, n - distinct);
                printf("raw consume              %.0f records/s\n", raw_rate);
                printf("invoicer start-up        %.2f s (until the first committed batch)\n",
                       t_first - t_start);
                printf("invoicer                 %.0f records/s (%.2f s; first half %.0f/s, "
                       "second half %.0f/s)\n", rate, t_end - t_first,
                       (double)(n / 2) / (t_half - t_first),
                       (double)(n - n / 2) / (t_end - t_half));
                printf("invoicer / raw           %.2f\n", rate / raw_rate);
                printf("invoicer RSS (KiB)       first batch %ld, middle %ld, end %ld (peak %ld)\n",
                       rss[0], rss[1], rss[2], hwm[2]);
                printf("total check              %s (%" PRId64 " vs %" PRId64 " micros)\n",
                       total == total_expected ? "ok" : "MISMATCH", total, total_expected);
                printf("BENCH {\"bench\":\"invoicer\",\"records\":%" PRId64 ",\"raw_per_s\":%.0f,"
                       "\"invoicer_per_s\":%.0f,\"ratio\":%.3f,\"rss_kib\":[%ld,%ld,%ld],"
                       "\"total_ok\":%s,\"rss_peak_kib\":%ld}\n", n, raw_rate, rate,
                       rate / raw_rate, rss[0], rss[1], rss[2],
                       total == total_expected ? "true" : "false", hwm[2]);
        }
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
        PQclear(PQexec(pg, sql));
        PQfinish(pg);
        bg_proc_stop(cmd_pid, SIGTERM, 20000);
        free(projects);
        cmdh_destroy(h);
        return total == total_expected ? 0 : 1;
}
