/*
 * The fault suite (issue 8, docs/e2e.md): the whole stack runs a generated scenario while
 * a chaos driver kill -9s every service several times, restarts the Kafka broker once and
 * PostgreSQL once. At the end the log verifies, the read models equal a rebuild and the
 * reference state, every invoice equals the reference to the micro-unit, every usage
 * record is billed exactly once or sits in the DLQ with a reason, every command has
 * exactly one result per publication.
 *
 * BILLING_E2E_SCALE (1: CI, 10: by hand) and BILLING_E2E_SEED (default: time-based) size
 * and seed it; the seed is printed first and every fault as it happens, so a failure can
 * be replayed with the same seed.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "bg_uuidmap.h"
#include "codec.h"
#include "e2e_chaos.h"
#include "e2e_scen.h"
#include "kc_conf.h"
#include "kc_topics.h"

#define PARTITIONS 4
#define MAX_RESULTS 64

typedef struct cmdrec_s {
        bg_uuid_t id;
        int round;
        int published;
        e2e_expect_t exp[MAX_RESULTS];
        int nresults;
        bg_outcome_t got[MAX_RESULTS];
        bg_reject_code_t got_code[MAX_RESULTS];
        char got_msg[128];
} cmdrec_t;

typedef struct e2e_s {
        char unique[96];
        char prefix[112];
        char rm[64], rb[64], inv[64];
        char log_dir[256];
        char clock_path[300];
        kc_topics_t topics;
        rd_kafka_t *producer;
        rd_kafka_t *results;
        codec_registry_t *reg;
        codec_t *codec;
        PGconn *pg;
        e2e_scen_t *scen;
        e2e_chaos_t *chaos;
        cmdrec_t *cmds;
        size_t ncmds, capcmds;
        bg_uuidmap_t *cmdmap;
        size_t pending;                 /* publications without their result yet */
        size_t results_seen;
        size_t results_unknown;         /* results for command ids never published */
        int64_t usage_produced;
        codec_usage_t *usage_buf;
        int round;
        int failures;
        char failed[1024];              /* the first failed checks, for the last message */
        uint64_t seed;
        int scale;
        /* Pacing of a round's usage (phase 1): spread over round_ms, like metering. */
        bool pacing;
        int64_t round_t0, round_ms;
        int round_sent, round_target, rounds;
} e2e_t;

static e2e_t *T;

/* Counts a failure and keeps the start of its text: CI shows only the end of a long
 * output, so the final message names what failed. */
static void note_failure(const char *what) {
        size_t len = strlen(T->failed);

        T->failures++;
        if (len + 4 < sizeof(T->failed))
                snprintf(T->failed + len, sizeof(T->failed) - len, "%s%.160s", len ? "; " : "",
                         what);
}

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        e2e_log("%s %s", ok ? "CHECK ok  " : "CHECK FAIL", buf);
        if (!ok)
                note_failure(buf);
}

/* ------------------------------------------------------------------ Kafka */

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, sizeof(errstr));
        rd_kafka_t *rk;

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

static void produce(const char *topic, const char *key, const void *buf, size_t len) {
        rd_kafka_resp_err_t err;

        for (;;) {
                err = rd_kafka_producev(T->producer, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(key, strlen(key)),
                                        RD_KAFKA_V_VALUE((void *)buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(T->producer, 50);
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
                fail_msg("produce to %s: %s", topic, rd_kafka_err2str(err));
}

/* Waits until everything produced is acknowledged (the broker may be restarting). */
static void flush_all(void) {
        for (int waited = 0; rd_kafka_outq_len(T->producer) > 0; waited++) {
                if (waited > 600)
                        fail_msg("producer: %d messages not delivered after 10 minutes",
                                 rd_kafka_outq_len(T->producer));
                rd_kafka_flush(T->producer, 1000);
        }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        if (m->err)
                fail_msg("delivery failed: %s", rd_kafka_err2str(m->err));
}

static int64_t high_watermark(const char *topic, int partition) {
        int64_t lo, hi;

        for (int tries = 0; tries < 120; tries++) {
                if (rd_kafka_query_watermark_offsets(T->producer, topic, partition, &lo, &hi,
                                                     5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
                        return hi;
                sleep(1);
        }
        fail_msg("no watermarks for %s [%d]", topic, partition);
        return -1;
}

/* ------------------------------------------------------------------ PostgreSQL */

/* Runs @sql, reconnecting while the server restarts; NULL on an SQL error. */
static PGresult *pg_query(const char *sql) {
        for (int tries = 0; tries < 120; tries++) {
                PGresult *res;
                if (PQstatus(T->pg) != CONNECTION_OK) {
                        PQreset(T->pg);
                        if (PQstatus(T->pg) != CONNECTION_OK) {
                                sleep(1);
                                continue;
                        }
                }
                res = PQexec(T->pg, sql);
                if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
                        return res;
                PQclear(res);
                if (PQstatus(T->pg) == CONNECTION_OK) {
                        /* A real error, or the server going away under the statement. */
                        res = PQexec(T->pg, "SELECT 1");
                        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
                                PQclear(res);
                                return NULL;
                        }
                        PQclear(res);
                }
                sleep(1);
        }
        fail_msg("PostgreSQL did not come back: %s", PQerrorMessage(T->pg));
        return NULL;
}

static int64_t pg_i64(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t pg_i64(const char *fmt, ...) {
        char sql[4096];
        va_list ap;
        PGresult *res;
        int64_t v = -1;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        res = pg_query(sql);
        if (res == NULL)
                return -1;
        if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
                v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
}

/* The first column of every row of @sql into @out; false on an SQL error. */
static bool pg_rows(e2e_strs_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool pg_rows(e2e_strs_t *out, const char *fmt, ...) {
        char sql[4096];
        va_list ap;
        PGresult *res;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        res = pg_query(sql);
        if (res == NULL) {
                e2e_log("query failed: %s: %s", sql, PQerrorMessage(T->pg));
                return false;
        }
        for (int i = 0; i < PQntuples(res); i++)
                e2e_strs_add(out, "%s", PQgetisnull(res, i, 0) ? "NULL" : PQgetvalue(res, i, 0));
        PQclear(res);
        return true;
}

/* ------------------------------------------------------------------ commands */

static cmdrec_t *find_cmd(const bg_uuid_t *id) {
        uintptr_t v = (uintptr_t)bg_uuidmap_get(T->cmdmap, id);

        return v ? &T->cmds[v - 1] : NULL;
}

static void publish_cmd(void *opaque, const bg_command_t *cmd, const e2e_expect_t *exp) {
        char key[BG_UUID_STR_LEN + 1], errstr[512];
        cmdrec_t *r = find_cmd(&cmd->command_id);
        const uint8_t *buf;
        size_t len;

        if (r == NULL) {
                if (T->ncmds == T->capcmds) {
                        T->capcmds = T->capcmds ? T->capcmds * 2 : 1024;
                        T->cmds = realloc(T->cmds, T->capcmds * sizeof(*T->cmds));
                        assert_non_null(T->cmds);
                }
                r = &T->cmds[T->ncmds++];
                memset(r, 0, sizeof(*r));
                r->id = cmd->command_id;
                r->round = T->round;
                assert_true(bg_uuidmap_put(T->cmdmap, &r->id, (void *)(uintptr_t)T->ncmds));
        }
        assert_true(r->published < MAX_RESULTS);
        r->exp[r->published++] = *exp;
        T->pending++;
        if (codec_encode_command(T->codec, cmd, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode a command: %s", errstr);
        bg_uuid_format(&cmd->account_id, key);
        produce(T->topics.kt_commands, key, buf, len);
}

static void poll_results(int timeout_ms) {
        rd_kafka_message_t *m;

        while ((m = rd_kafka_consumer_poll(T->results, timeout_ms)) != NULL) {
                timeout_ms = 0;
                if (!m->err) {
                        bg_command_result_t res;
                        char errstr[512];
                        cmdrec_t *r;
                        if (codec_decode_result(T->codec, m->payload, m->len, &res, errstr,
                                                sizeof(errstr)) != CODEC_OK)
                                fail_msg("undecodable result: %s", errstr);
                        T->results_seen++;
                        r = find_cmd(&res.command_id);
                        if (r == NULL) {
                                T->results_unknown++;
                        } else {
                                if (r->nresults < MAX_RESULTS) {
                                        r->got[r->nresults] = res.outcome;
                                        r->got_code[r->nresults] = res.rejection.code;
                                        if (res.outcome == BG_OUTCOME_REJECTED)
                                                snprintf(r->got_msg, sizeof(r->got_msg), "%.100s",
                                                         res.rejection.message);
                                }
                                if (r->nresults < r->published)
                                        T->pending--;
                                r->nresults++;
                        }
                }
                rd_kafka_message_destroy(m);
        }
}

static void wait_results(int timeout_s) {
        int64_t t0 = e2e_real_ms();

        while (T->pending > 0) {
                if (e2e_real_ms() - t0 > (int64_t)timeout_s * 1000)
                        fail_msg("%zu command publications still without a result after %d s",
                                 T->pending, timeout_s);
                poll_results(100);
        }
}

/* ------------------------------------------------------------------ usage */

static void publish_usage(void *opaque, e2e_usage_t *u) {
        char key[BG_UUID_STR_LEN + 1], errstr[512];
        const uint8_t *buf;
        size_t len;

        e2e_usage_to_codec(u, T->usage_buf);
        if (codec_encode_usage(T->codec, T->usage_buf, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode usage: %s", errstr);
        bg_uuid_format(&u->project_id, key);
        produce(T->topics.kt_usage, key, buf, len);
        T->usage_produced++;
        if (T->pacing && ++T->round_sent % 10 == 0) {
                double frac = (double)T->round_sent / T->round_target;
                int64_t due, now;

                if (frac > 1.0)
                        frac = 1.0;
                e2e_chaos_progress(T->chaos, (T->round + frac) / (T->rounds + 1));
                due = T->round_t0 + (int64_t)(frac * (double)T->round_ms);
                while ((now = e2e_real_ms()) < due)
                        rd_kafka_poll(T->producer, (int)(due - now < 50 ? due - now : 50));
        }
}

/* ------------------------------------------------------------------ catching up */

/* Sum over partitions of (high watermark - stored offset) for @table's rows of @topic. */
static int64_t lag(const char *schema, const char *table, const char *topic, int nparts) {
        int64_t total = 0;

        for (int p = 0; p < nparts; p++) {
                int64_t hi = high_watermark(topic, p);
                int64_t at = pg_i64("SELECT next_offset FROM %s.%s WHERE topic = '%s' AND "
                                    "partition = %d", schema, table, topic, p);
                total += hi - (at < 0 ? 0 : at);
        }
        return total;
}

static void wait_until(const char *what, int timeout_s, bool (*cond)(void)) {
        int64_t t0 = e2e_real_ms(), last = 0;

        while (!cond()) {
                int64_t now = e2e_real_ms();
                if (now - t0 > (int64_t)timeout_s * 1000)
                        fail_msg("timed out after %d s waiting for %s", timeout_s, what);
                if (now - last > 15000) {
                        e2e_log("waiting for %s ...", what);
                        last = now;
                }
                poll_results(0);
                usleep(200 * 1000);
        }
        e2e_log("%s (%.1fs)", what, (double)(e2e_real_ms() - t0) / 1000.0);
}

static bool usage_consumed(void) {
        return lag(T->inv, "consumer_offsets", T->topics.kt_usage, PARTITIONS) == 0 &&
               pg_i64("SELECT count(*) FROM %s.held_usage", T->inv) == 0;
}

static bool events_projected(void) {
        return lag(T->rm, "kafka_offsets", T->topics.kt_events, PARTITIONS) == 0;
}

static int64_t final_cutoff;            /* months ending at or before this are final */

static bool months_final(void) {
        return !e2e_chaos_kill_pending(T->chaos) && pg_i64("SELECT count(*) FROM %s.invoices WHERE state = 'estimate' AND "
                      "period_end <= to_timestamp(%lld / 1000.0)", T->inv,
                      (long long)final_cutoff) == 0 &&
               pg_i64("SELECT count(*) FROM %s.invoice_outbox WHERE NOT published", T->inv) == 0;
}

static bool all_final(void) {
        return !e2e_chaos_kill_pending(T->chaos) && pg_i64("SELECT count(*) FROM %s.invoices WHERE state = 'estimate'", T->inv) == 0 &&
               pg_i64("SELECT count(*) FROM %s.invoice_outbox WHERE NOT published", T->inv) == 0;
}

static bool settled(void) {
        return e2e_chaos_settled(T->chaos);
}

static bool results_all_in(void) {
        return T->pending == 0;
}

/* ------------------------------------------------------------------ checks */

static void check_commands(void) {
        size_t bad = 0, extra = 0, printed = 0;

        poll_results(2000);                     /* settle: anything more would be a repeat */
        for (size_t i = 0; i < T->ncmds; i++) {
                cmdrec_t *r = &T->cmds[i];
                bool ok = r->nresults == r->published;
                for (int k = 0; ok && k < r->published && k < MAX_RESULTS; k++)
                        ok = r->got[k] == r->exp[k].outcome &&
                             (r->got[k] != BG_OUTCOME_REJECTED || r->got_code[k] == r->exp[k].code);
                if (r->nresults > r->published)
                        extra++;
                if (!ok) {
                        char id[BG_UUID_STR_LEN + 1];
                        bad++;
                        bg_uuid_format(&r->id, id);
                        if (printed++ < 20)
                                e2e_log("  command %s (round %d): published %d, %d results; "
                                        "expected %s/%s, got %s/%s (%s)", id, r->round,
                                        r->published, r->nresults,
                                        bg_outcome_name(r->exp[0].outcome),
                                        bg_reject_code_name(r->exp[0].code) ?
                                                bg_reject_code_name(r->exp[0].code) : "-",
                                        r->nresults ? bg_outcome_name(r->got[0]) : "none",
                                        r->nresults && bg_reject_code_name(r->got_code[0]) ?
                                                bg_reject_code_name(r->got_code[0]) : "-",
                                        r->got_msg);
                }
        }
        check(bad == 0 && T->results_unknown == 0,
              "commands: %zu ids, %zu results; each publication has exactly one result with "
              "the predicted outcome (%zu differ, %zu with extra results, %zu unknown results)",
              T->ncmds, T->results_seen, bad, extra, T->results_unknown);
}

static int run_tool(const char *name, const char *path, char *const args[], char *const env[],
                    int timeout_s) {
        char log[400], line[2048];
        pid_t pid;
        int st = -1;
        FILE *f;

        snprintf(log, sizeof(log), "%s/%s.log", T->log_dir, name);
        pid = bg_proc_spawn(path, args, env, log);
        assert_true(pid > 0);
        for (int waited = 0; waited < timeout_s * 10 && bg_proc_running(pid, &st); waited++)
                usleep(100 * 1000);
        if (bg_proc_running(pid, &st)) {
                e2e_log("%s still running after %d s: killing it", name, timeout_s);
                st = bg_proc_stop(pid, SIGKILL, 5000);
                return -1;
        }
        /* The tool's last lines (its summary). */
        f = fopen(log, "r");
        if (f != NULL) {
                char tail[8][2048];
                int n = 0;
                while (fgets(line, sizeof(line), f) != NULL) {
                        line[strcspn(line, "\n")] = '\0';
                        snprintf(tail[n % 8], sizeof(tail[0]), "%s", line);
                        n++;
                }
                fclose(f);
                for (int i = n > 4 ? n - 4 : 0; i < n; i++)
                        e2e_log("  %s: %.300s", name, tail[i % 8]);
        }
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_audit(void) {
        char *args[] = {"audit", "verify", "--compare-read-models", "--schema", T->rm,
                        "--no-progress", NULL};
        int rc = run_tool("audit-verify", BG_BINARY_DIR "/services/cli/billingctl", args, NULL, 600);

        check(rc == 0, "billingctl audit verify --compare-read-models: exit %d", rc);
}

static const char *const rm_tables[] = {"accounts", "account_members", "billing_groups",
                                        "projects", "project_moves", "credits", "audit_log",
                                        "account_seq", "kafka_offsets", NULL};

static void check_rebuild(void) {
        char *args[] = {"rebuild", NULL};
        char env0[128], env1[128], env2[128];
        char *env[] = {env0, env1, env2, "BILLING_ADMIN_ADDR=127.0.0.1:0", NULL};
        int rc;
        size_t differ = 0;

        snprintf(env0, sizeof(env0), "BILLING_PG_SCHEMA=%s", T->rm);
        snprintf(env1, sizeof(env1), "BILLING_REBUILD_SCHEMA=%s", T->rb);
        snprintf(env2, sizeof(env2), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        rc = run_tool("projector-rebuild", BG_BINARY_DIR "/services/projector/billing-projector",
                      args, env, 900);
        check(rc == 0, "billing-projector rebuild into %s: exit %d", T->rb, rc);
        for (const char *const *tb = rm_tables; *tb; tb++) {
                int64_t na = pg_i64("SELECT count(*) FROM %s.%s", T->rm, *tb);
                int64_t nb = pg_i64("SELECT count(*) FROM %s.%s", T->rb, *tb);
                int64_t d = pg_i64("SELECT count(*) FROM ((SELECT * FROM %s.%s EXCEPT ALL SELECT * "
                                   "FROM %s.%s) UNION ALL (SELECT * FROM %s.%s EXCEPT ALL SELECT * "
                                   "FROM %s.%s)) d", T->rm, *tb, T->rb, *tb, T->rb, *tb, T->rm, *tb);
                if (na != nb || d != 0 || na < 0) {
                        differ++;
                        e2e_log("  table %s: live %lld rows, rebuild %lld rows, %lld rows differ",
                                *tb, (long long)na, (long long)nb, (long long)d);
                }
        }
        check(differ == 0, "read models equal a rebuild from the log, table by table (%zu tables "
              "differ)", differ);
}

static void compare(const char *what, e2e_strs_t *exp, e2e_strs_t *act) {
        size_t ne = exp->n, na = act->n, d = e2e_strs_diff(exp, act, what, 15);

        check(d == 0, "%s: %zu expected rows, %zu actual, %zu differ", what, ne, na, d);
        e2e_strs_free(exp);
        e2e_strs_free(act);
}

/* @tmpl with every '@' replaced by @schema. */
static void subst_schema(char *out, size_t size, const char *tmpl, const char *schema) {
        size_t n = 0, sl = strlen(schema);

        for (const char *p = tmpl; *p && n + sl + 1 < size; p++) {
                if (*p == '@') {
                        memcpy(out + n, schema, sl);
                        n += sl;
                } else {
                        out[n++] = *p;
                }
        }
        out[n] = '\0';
}

static void check_read_models(void) {
        static const struct {
                const char *table, *sql;
        } q[] = {
                {"accounts", "SELECT account_id || '|' || name || '|' || owner || '|' || "
                             "coalesce(primary_billing_group_id::text, '-') FROM @.accounts"},
                {"account_members", "SELECT account_id || '|' || lower(user_email) || '|' || role "
                                    "FROM @.account_members"},
                {"billing_groups", "SELECT billing_group_id || '|' || account_id || '|' || name || "
                                   "'|' || status || '|' || billing_currency || '|' || "
                                   "payment_method || '|' || coalesce(company, '') || '|' || "
                                   "coalesce(country_code, '') FROM @.billing_groups"},
                {"projects", "SELECT project_id || '|' || account_id || '|' || name || '|' || "
                             "billing_group_id || '|' || status FROM @.projects"},
                {"credits", "SELECT account_id || '|' || code || '|' || credit_type || '|' || "
                            "currency || '|' || value_micros || '|' || "
                            "(extract(epoch FROM start_time) * 1000)::bigint || '|' || "
                            "coalesce(((extract(epoch FROM expire_time) * 1000)::bigint)::text, "
                            "'-') || '|' || coalesce(billing_group_id::text, '-') || '|' || "
                            "coalesce(project_id::text, '-') FROM @.credits"},
                {"account_seq", "SELECT account_id || '|' || seq FROM @.account_seq"},
                {"audit_log", "SELECT account_id || '|' || count(*) FROM @.audit_log "
                              "GROUP BY account_id"},
                {"project_moves", "SELECT account_id || '|' || count(*) FROM @.project_moves "
                                  "GROUP BY account_id"},
        };

        for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
                e2e_strs_t exp = {0}, act = {0};
                char what[64], sql[1024];
                e2e_scen_rm_rows(T->scen, q[i].table, &exp);
                subst_schema(sql, sizeof(sql), q[i].sql, T->rm);
                snprintf(what, sizeof(what), "read model %s vs reference", q[i].table);
                if (!pg_rows(&act, "%s", sql))
                        note_failure(what);
                compare(what, &exp, &act);
        }
}

static void check_invoices_pg(e2e_ref_out_t *ref) {
        e2e_strs_t act = {0};

        pg_rows(&act, "SELECT invoice_number || '|' || billing_group_id || '|' || account_id || '|' || "
                "currency || '|' || (extract(epoch FROM period_begin) * 1000)::bigint || '|' || "
                "state || '|' || total_vat_zero || '|' || coalesce(total_inc_vat::text, 'null') || "
                "'|' || coalesce(vat_percent::text, 'null') || '|' || coalesce(country_code, '-') "
                "FROM %s.invoices", T->inv);
        compare("invoice headers vs reference", &ref->headers, &act);
        pg_rows(&act, "SELECT invoice_number || '|' || line_key || '|' || line_type || '|' || "
                "amount || '|' || coalesce(line_total::text, 'null') || '|' || quantity || '|' || "
                "usage_records || '|' || coalesce(project_id::text, '-') || '|' || "
                "coalesce(service_name, '-') || '|' || "
                "coalesce(((extract(epoch FROM late_period_begin) * 1000)::bigint)::text, '-') || "
                "'|' || coalesce(credit_code, '-') FROM %s.invoice_lines", T->inv);
        compare("invoice lines vs reference", &ref->lines, &act);
        pg_rows(&act, "SELECT account_id || '|' || code || '|' || value || '|' || remaining "
                "FROM %s.credits", T->inv);
        compare("invoicer credits (remaining) vs reference", &ref->credits, &act);
}

typedef struct pub_acc_s {
        e2e_strs_t headers, lines;
        size_t bad;
} pub_acc_t;

static void collect_invoice(void *opaque, const rd_kafka_message_t *m) {
        pub_acc_t *a = opaque;
        codec_invoice_t inv;
        char errstr[512];

        memset(&inv, 0, sizeof(inv));
        if (codec_decode_invoice(T->codec, m->payload, m->len, &inv, errstr, sizeof(errstr)) !=
            CODEC_OK) {
                e2e_log("  undecodable invoice at offset %lld: %s", (long long)m->offset, errstr);
                a->bad++;
                return;
        }
        e2e_strs_add(&a->headers, "%s|%s|%lld|%lld|%lld|%zu", inv.invoice_number,
                     codec_invoice_state_name(inv.state), (long long)inv.revision,
                     (long long)inv.total_vat_zero, (long long)inv.total_inc_vat, inv.n_lines);
        for (size_t i = 0; i < inv.n_lines; i++)
                e2e_strs_add(&a->lines, "%s|%s|%s|%lld", inv.invoice_number,
                             codec_line_type_name(inv.lines[i].line_type), inv.lines[i].service_name,
                             (long long)inv.lines[i].line_total);
        codec_invoice_clear(&inv);
}

static void check_invoices_topic(e2e_ref_out_t *ref) {
        pub_acc_t a = {0};

        cmdh_read_topic(T->topics.kt_invoices, PARTITIONS, true, collect_invoice, &a);
        check(a.bad == 0, "invoices topic: %zu undecodable records", a.bad);
        compare("published invoices (read_committed, each once) vs reference", &ref->published,
                &a.headers);
        compare("published invoice lines vs reference", &ref->published_lines, &a.lines);
}

typedef struct dlq_ent_s {
        int count;
        char reason[256];
} dlq_ent_t;

typedef struct dlq_acc_s {
        bg_uuidmap_t *map;
        size_t records, undecodable, no_reason;
} dlq_acc_t;

static void collect_dlq(void *opaque, const rd_kafka_message_t *m) {
        dlq_acc_t *a = opaque;
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t len;
        char errstr[256];
        dlq_ent_t *e;

        a->records++;
        if (codec_decode_usage(T->codec, m->payload, m->len, T->usage_buf, errstr,
                               sizeof(errstr)) != CODEC_OK) {
                a->undecodable++;
                return;
        }
        e = bg_uuidmap_get(a->map, &T->usage_buf->usage_id);
        if (e == NULL) {
                e = calloc(1, sizeof(*e));
                assert_non_null(e);
                assert_true(bg_uuidmap_put(a->map, &T->usage_buf->usage_id, e));
        }
        e->count++;
        if (rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, "dlq_reason", &v, &len) == 0 && len > 0)
                snprintf(e->reason, sizeof(e->reason), "%.*s", (int)len, (const char *)v);
        else
                a->no_reason++;
}

static void check_usage_dlq(void) {
        dlq_acc_t a = {.map = bg_uuidmap_new()};
        size_t missing = 0, wrong_reason = 0, unexpected = 0, expected = 0, repeats = 0;
        size_t pos = 0;
        bg_uuid_t key;
        void *val;
        static const char *const needle[] = {
                [E2E_U_UNKNOWN] = "unknown after holding",
                [E2E_U_DELETED] = "deletion",
                [E2E_U_CURRENCY] = "currency",
        };

        assert_non_null(a.map);
        cmdh_read_topic(T->topics.kt_usage_dlq, 1, true, collect_dlq, &a);
        for (size_t i = 0; i < e2e_scen_usage_count(T->scen); i++) {
                e2e_usage_t *u = e2e_scen_usage_at(T->scen, i);
                dlq_ent_t *e = bg_uuidmap_get(a.map, &u->usage_id);
                char id[BG_UUID_STR_LEN + 1];

                bg_uuid_format(&u->usage_id, id);
                if (u->kind == E2E_U_BILL || u->kind == E2E_U_LATE) {
                        if (e != NULL && unexpected++ < 10)
                                e2e_log("  billed record %s is in the DLQ: %s", id, e->reason);
                        if (e != NULL)
                                e->count = -1;
                        continue;
                }
                expected++;
                if (e == NULL) {
                        if (missing++ < 10)
                                e2e_log("  record %s (kind %d) is not in the DLQ", id, u->kind);
                        continue;
                }
                if (strstr(e->reason, needle[u->kind]) == NULL && wrong_reason++ < 10)
                        e2e_log("  record %s: reason \"%s\" lacks \"%s\"", id, e->reason,
                                needle[u->kind]);
                if (e->count > 1)
                        repeats++;
                e->count = -1;
        }
        while (bg_uuidmap_next(a.map, &pos, &key, &val)) {
                dlq_ent_t *e = val;
                if (e->count > 0)
                        unexpected++;
                free(e);
        }
        bg_uuidmap_destroy(a.map);
        check(missing == 0 && wrong_reason == 0 && unexpected == 0 && a.undecodable == 0 &&
              a.no_reason == 0,
              "usage DLQ: %zu records for %zu expected dead letters (%zu also dead-lettered "
              "again, at least once is allowed); %zu missing, %zu wrong reasons, %zu not "
              "expected, %zu undecodable, %zu without dlq_reason", a.records, expected, repeats,
              missing, wrong_reason, unexpected, a.undecodable, a.no_reason);
}

/* Billed exactly once: the de-duplication set holds each billed id once, and no other
 * (checked before the last clock move prunes it). */
static void check_usage_seen(void) {
        e2e_strs_t exp = {0}, act = {0};

        for (size_t i = 0; i < e2e_scen_usage_count(T->scen); i++) {
                e2e_usage_t *u = e2e_scen_usage_at(T->scen, i);
                char id[BG_UUID_STR_LEN + 1];
                if (u->kind != E2E_U_BILL && u->kind != E2E_U_LATE)
                        continue;
                bg_uuid_format(&u->usage_id, id);
                e2e_strs_add(&exp, "%s", id);
        }
        pg_rows(&act, "SELECT usage_id::text FROM %s.usage_seen", T->inv);
        compare("usage ids billed (usage_seen) vs reference: each exactly once", &exp, &act);
}

static void check_dlq_empty(const char *topic) {
        int64_t n = high_watermark(topic, 0);

        check(n == 0, "%s holds %lld records (expected none)", topic, (long long)n);
}

/* ------------------------------------------------------------------ the test */

static uint64_t env_u64(const char *name, uint64_t def) {
        const char *v = getenv(name);

        return v && *v ? strtoull(v, NULL, 10) : def;
}

static void setup(void) {
        const char *producer_props[] = {"enable.idempotence", "true", "partitioner",
                                        "murmur2_random", "linger.ms", "5", NULL};
        const char *results_props[] = {"group.id", "e2e-results", "isolation.level",
                                       "read_committed", "fetch.wait.max.ms", "10",
                                       "enable.auto.commit", "false", NULL};
        char errstr[512], sql[512];
        rd_kafka_topic_partition_list_t *parts;
        const char *dir = getenv("BILLING_TEST_LOG_DIR");

        bg_test_env("BILLING_KAFKA_BOOTSTRAP");
        bg_test_env("BILLING_PG_CONNINFO");
        bg_test_env("BILLING_STACK_DIR");
        bg_test_unique_name(T->unique, sizeof(T->unique), "e2e");
        snprintf(T->prefix, sizeof(T->prefix), "%s.", T->unique);
        snprintf(T->rm, sizeof(T->rm), "e2e_%ld_%ld_rm", (long)getpid(), (long)(e2e_real_ms() % 1000000));
        snprintf(T->rb, sizeof(T->rb), "e2e_%ld_%ld_rb", (long)getpid(), (long)(e2e_real_ms() % 1000000));
        snprintf(T->inv, sizeof(T->inv), "e2e_%ld_%ld_inv", (long)getpid(), (long)(e2e_real_ms() % 1000000));
        snprintf(T->log_dir, sizeof(T->log_dir), "%s/%s", dir ? dir : "/tmp", T->unique);
        mkdir(T->log_dir, 0755);
        snprintf(T->clock_path, sizeof(T->clock_path), "%s/invoicer.clock", T->log_dir);
        setenv("BILLING_TOPIC_PREFIX", T->prefix, 1);
        setenv("BILLING_PARTITIONS", "4", 1);
        setenv("BILLING_USAGE_PARTITIONS", "4", 1);
        setenv("BILLING_PG_SCHEMA", T->rm, 1);
        if (kc_topics_load(&T->topics, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        {
                char errs[512];
                rd_kafka_conf_t *conf = kc_conf_from_env(errs, sizeof(errs));
                assert_non_null(conf);
                for (const char *const *p = producer_props; p[0]; p += 2)
                        assert_int_equal(kc_conf_set(conf, p[0], p[1], errs, sizeof(errs)), 0);
                rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
                T->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errs, sizeof(errs));
                if (T->producer == NULL)
                        fail_msg("%s", errs);
        }
        if (kc_topics_ensure(T->producer, &T->topics, 30000, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        T->reg = bg_test_registry(errstr, sizeof(errstr));
        if (T->reg == NULL)
                fail_msg("%s", errstr);
        T->codec = codec_new(T->reg, NULL, errstr, sizeof(errstr));
        if (T->codec == NULL)
                fail_msg("%s", errstr);
        T->results = client(RD_KAFKA_CONSUMER, results_props);
        parts = rd_kafka_topic_partition_list_new(T->topics.kt_results_partitions);
        for (int p = 0; p < T->topics.kt_results_partitions; p++)
                rd_kafka_topic_partition_list_add(parts, T->topics.kt_results, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(T->results, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
        T->pg = PQconnectdb(getenv("BILLING_PG_CONNINFO"));
        if (PQstatus(T->pg) != CONNECTION_OK)
                fail_msg("%s", PQerrorMessage(T->pg));
        snprintf(sql, sizeof(sql), "SET client_min_messages = warning; SET TimeZone = 'UTC'");
        PQclear(pg_query(sql));
        T->cmdmap = bg_uuidmap_new();
        T->usage_buf = calloc(1, sizeof(*T->usage_buf));
        assert_non_null(T->cmdmap);
        assert_non_null(T->usage_buf);
}

static void start_services(const e2e_conf_t *conf) {
        char v[16][400];
        char *cmd_env[8], *pj_env[8], *inv_env[16];
        int n = 0;

        snprintf(v[0], sizeof(v[0]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(v[1], sizeof(v[1]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(v[2], sizeof(v[2]), "BILLING_COMMANDS_GROUP=%s-commands", T->unique);
        snprintf(v[3], sizeof(v[3]), "BILLING_PG_SCHEMA=%s", T->rm);
        snprintf(v[4], sizeof(v[4]), "BILLING_REBUILD_SCHEMA=%s", T->rb);
        snprintf(v[5], sizeof(v[5]), "BILLING_INVOICER_SCHEMA=%s", T->inv);
        snprintf(v[6], sizeof(v[6]), "BILLING_INVOICER_GROUP=%s-invoicer", T->unique);
        snprintf(v[7], sizeof(v[7]), "BILLING_CLOCK=file:%s", T->clock_path);
        snprintf(v[8], sizeof(v[8]), "BILLING_INVOICE_GRACE_MS=%lld", (long long)conf->grace_ms);
        snprintf(v[9], sizeof(v[9]), "BILLING_VAT_RATES=%s", E2E_VAT_RATES);

        cmd_env[n = 0] = v[0];
        cmd_env[++n] = v[1];
        cmd_env[++n] = v[2];
        cmd_env[++n] = "BILLING_INSTANCE_ID=0";
        cmd_env[++n] = "BILLING_SERVICE_PRINCIPALS=service:billing";
        cmd_env[++n] = "BILLING_BATCH_MS=5";
        cmd_env[++n] = NULL;
        pj_env[n = 0] = v[0];
        pj_env[++n] = v[1];
        pj_env[++n] = v[3];
        pj_env[++n] = v[4];
        pj_env[++n] = NULL;
        inv_env[n = 0] = v[0];
        inv_env[++n] = v[1];
        inv_env[++n] = v[5];
        inv_env[++n] = v[6];
        inv_env[++n] = v[7];
        inv_env[++n] = v[8];
        inv_env[++n] = v[9];
        inv_env[++n] = "BILLING_FINALIZE_INTERVAL_MS=200";
        inv_env[++n] = "BILLING_BATCH_MS=50";
        inv_env[++n] = "BILLING_UNKNOWN_PROJECT_HOLD_MS=3000";
        inv_env[++n] = "BILLING_DEDUP_CAPACITY=262144";
        inv_env[++n] = NULL;

        e2e_chaos_add(T->chaos, "commands", BG_BINARY_DIR "/services/commands/billing-commands",
                      NULL, cmd_env);
        e2e_chaos_add(T->chaos, "projector", BG_BINARY_DIR "/services/projector/billing-projector",
                      NULL, pj_env);
        e2e_chaos_add(T->chaos, "invoicer", BG_BINARY_DIR "/services/invoicer/billing-invoicer",
                      NULL, inv_env);
}

static void teardown(void) {
        char sql[512];

        e2e_chaos_destroy(T->chaos);
        if (getenv("BILLING_TEST_KEEP_SCHEMA") == NULL && T->failures == 0) {
                snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS "
                         "%s CASCADE; DROP SCHEMA IF EXISTS %s CASCADE", T->rm, T->rb, T->inv);
                PQclear(pg_query(sql));
        } else {
                e2e_log("schemas kept: %s %s %s; topics %s*; logs in %s", T->rm, T->rb, T->inv,
                        T->prefix, T->log_dir);
        }
        PQfinish(T->pg);
        rd_kafka_consumer_close(T->results);
        rd_kafka_destroy(T->results);
        rd_kafka_flush(T->producer, 10000);
        rd_kafka_destroy(T->producer);
        codec_destroy(T->codec);
        codec_registry_destroy(T->reg);
        bg_uuidmap_destroy(T->cmdmap);
        free(T->cmds);
        free(T->usage_buf);
        e2e_scen_destroy(T->scen);
}

static void fault_suite(void **state) {
        int64_t t_start = e2e_real_ms(), t_phase, clock2, clock4, m_late;
        uint64_t seed = env_u64("BILLING_E2E_SEED", (uint64_t)t_start);
        int scale = (int)env_u64("BILLING_E2E_SCALE", 1);
        int min_kills = 3;
        bool chaos = env_u64("BILLING_E2E_CHAOS", 1) != 0;     /* 0: a calm run, to debug */
        e2e_conf_t conf;
        e2e_stats_t st;
        e2e_ref_out_t ref;
        double secs[6] = {0};

        e2e_conf_init(&conf, seed, scale, t_start);
        printf("E2E fault suite: BILLING_E2E_SEED=%llu BILLING_E2E_SCALE=%d (replay with these)\n",
               (unsigned long long)seed, conf.scale);
        fflush(stdout);
        e2e_log("scenario: %d accounts, %d rounds after the set-up, %d fresh usage records per "
                "round, grace %lld ms", conf.accounts, conf.rounds, conf.usage_per_round,
                (long long)conf.grace_ms);
        T = calloc(1, sizeof(*T));
        assert_non_null(T);
        T->seed = seed;
        T->scale = conf.scale;
        setup();
        e2e_log("topics %s*, schemas %s (read models), %s (rebuild), %s (invoicer), logs in %s",
                T->prefix, T->rm, T->rb, T->inv, T->log_dir);
        T->scen = e2e_scen_new(&conf);
        T->chaos = e2e_chaos_new(seed, BG_SOURCE_DIR "/deploy/stack", T->clock_path, T->log_dir);
        e2e_chaos_clock(T->chaos, 0);
        start_services(&conf);
        e2e_chaos_start(T->chaos);
        if (chaos)
                e2e_chaos_set(T->chaos, true, 3000, 8000);

        /* Phase 1: rounds of commands, then the usage of each round, stamped after its
         * commands were applied and spread over some seconds (the faults need time to
         * land while records flow). */
        t_phase = e2e_real_ms();
        T->rounds = conf.rounds;
        T->round_target = conf.usage_per_round;
        T->round_ms = (int64_t)env_u64("BILLING_E2E_ROUND_MS", 7000 + 3000 * (uint64_t)conf.scale);
        for (int r = 0; r <= conf.rounds; r++) {
                int64_t lo;
                size_t before = T->ncmds;

                T->round = r;
                e2e_chaos_progress(T->chaos, (double)r / (conf.rounds + 1));
                e2e_scen_commands(T->scen, r, e2e_real_ms(), publish_cmd, NULL);
                flush_all();
                wait_results(600);
                lo = e2e_real_ms() + 1;
                T->pacing = true;
                T->round_t0 = e2e_real_ms();
                T->round_sent = 0;
                e2e_scen_usage(T->scen, r, lo, e2e_real_ms, publish_usage, NULL);
                T->pacing = false;
                flush_all();
                e2e_log("round %d: %zu commands answered, %lld usage records produced so far", r,
                        T->ncmds - before, (long long)T->usage_produced);
                usleep(5 * 1000);
        }
        e2e_chaos_progress(T->chaos, 1.0);
        secs[0] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* Phase 2: everything billed (held records dead-lettered), then the clock passes
         * the end of the months of the rounds plus the grace period: they become final. */
        t_phase = e2e_real_ms();
        wait_until("usage consumed by the invoicer, nothing held", 900, usage_consumed);
        m_late = e2e_month_next(e2e_scen_max_begin(T->scen));
        clock2 = m_late + conf.grace_ms + 1000;
        e2e_chaos_clock(T->chaos, clock2 - e2e_real_ms());
        e2e_log("invoicer clock moved to %lld (after the month ending %lld, plus grace)",
                (long long)clock2, (long long)m_late);
        final_cutoff = m_late;
        e2e_chaos_kill_soon(T->chaos, "invoicer", 1500);        /* while it finalizes */
        wait_until("the months of the rounds final and published", 900, months_final);
        secs[1] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* Phase 3: late records for the final months (extra charges on the next month),
         * and repeats of records billed before. */
        t_phase = e2e_real_ms();
        e2e_scen_late(T->scen, publish_usage, NULL);
        flush_all();
        wait_until("late usage consumed", 900, usage_consumed);
        check_usage_seen();
        secs[2] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* Phase 4: the month of the late records becomes final too. */
        t_phase = e2e_real_ms();
        clock4 = e2e_month_next(m_late) + conf.grace_ms + 1000;
        e2e_chaos_clock(T->chaos, clock4 - e2e_real_ms());
        e2e_log("invoicer clock moved to %lld", (long long)clock4);
        e2e_chaos_kill_soon(T->chaos, "invoicer", 1000);
        wait_until("every invoice final and published", 900, all_final);
        secs[3] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* The chaos quota (every service killed several times, both restarts), then calm. */
        t_phase = e2e_real_ms();
        for (int waited = 0; chaos && !e2e_chaos_quota_met(T->chaos, min_kills); waited++) {
                if (waited == 0)
                        e2e_log("waiting for the chaos quota (%d kills each, broker and "
                                "PostgreSQL restarted)", min_kills);
                if (waited > 6000)
                        fail_msg("the chaos quota was not met in 10 minutes");
                poll_results(100);
        }
        e2e_chaos_set(T->chaos, false, 0, 0);
        wait_until("every service running, no restart under way", 300, settled);
        wait_until("every command publication answered", 300, results_all_in);
        wait_until("projector at the end of the events log", 600, events_projected);
        wait_until("invoicer at the end of the usage topic", 600, usage_consumed);
        wait_until("every invoice final and published", 600, all_final);
        secs[4] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* Checks. */
        t_phase = e2e_real_ms();
        e2e_scen_stats(T->scen, &st);
        check(e2e_chaos_errors(T->chaos) == 0, "the chaos driver's own operations succeeded");
        check(e2e_chaos_unasked_clean_exits(T->chaos) == 0,
              "no service exited with status 0 unasked (%d did)",
              e2e_chaos_unasked_clean_exits(T->chaos));
        check_commands();
        check_dlq_empty(T->topics.kt_commands_dlq);
        check_dlq_empty(T->topics.kt_events_dlq);
        check_audit();
        check_rebuild();
        check_read_models();
        e2e_ref_invoices(T->scen, clock2, &ref);
        check_invoices_pg(&ref);
        check_invoices_topic(&ref);
        check(pg_i64("SELECT coalesce(sum(usage_records), 0) FROM %s.invoice_lines", T->inv) ==
                      ref.expected_billed,
              "usage records on invoice lines: %lld, distinct records billed in the reference: "
              "%lld", (long long)pg_i64("SELECT coalesce(sum(usage_records), 0) FROM "
                                        "%s.invoice_lines", T->inv),
              (long long)ref.expected_billed);
        {
                int64_t hw = 0;
                for (int p = 0; p < PARTITIONS; p++)
                        hw += high_watermark(T->topics.kt_usage, p);
                check(hw == T->usage_produced, "usage topic holds %lld records, %lld produced",
                      (long long)hw, (long long)T->usage_produced);
        }
        check_usage_dlq();
        secs[5] = (double)(e2e_real_ms() - t_phase) / 1000.0;

        /* Figures. */
        e2e_log("figures: seed %llu scale %d: %zu accounts, %zu commands decided (%zu accepted, "
                "%zu rejected: invalid_argument %zu, not_found %zu, already_exists %zu, "
                "failed_precondition %zu, conflict %zu, forbidden %zu; %zu duplicates), %zu events",
                (unsigned long long)seed, conf.scale, (size_t)conf.accounts, st.commands,
                st.accepted, st.rejected, st.rejected_by_code[BG_REJECT_INVALID_ARGUMENT],
                st.rejected_by_code[BG_REJECT_NOT_FOUND],
                st.rejected_by_code[BG_REJECT_ALREADY_EXISTS],
                st.rejected_by_code[BG_REJECT_FAILED_PRECONDITION],
                st.rejected_by_code[BG_REJECT_CONFLICT], st.rejected_by_code[BG_REJECT_FORBIDDEN],
                st.duplicates, st.events);
        e2e_log("figures: usage %zu distinct records, %zu sent (%zu repeats): billed on time %zu, "
                "late %zu, unknown project %zu, deleted project %zu, wrong currency %zu; "
                "%zu invoices over %zu months", st.usage_distinct, st.usage_sent, st.usage_repeats,
                st.usage_by_kind[E2E_U_BILL], st.usage_by_kind[E2E_U_LATE],
                st.usage_by_kind[E2E_U_UNKNOWN], st.usage_by_kind[E2E_U_DELETED],
                st.usage_by_kind[E2E_U_CURRENCY], ref.n_invoices, ref.n_periods);
        e2e_log("figures: durations: rounds %.1fs, finalization %.1fs, late usage %.1fs, "
                "second finalization %.1fs, chaos quota and catch-up %.1fs, checks %.1fs, "
                "total %.1fs", secs[0], secs[1], secs[2], secs[3], secs[4], secs[5],
                (double)(e2e_real_ms() - t_start) / 1000.0);
        e2e_chaos_summary(T->chaos);
        e2e_ref_free(&ref);
        {
                int failures = T->failures;
                char failed[sizeof(T->failed)];

                memcpy(failed, T->failed, sizeof(failed));
                teardown();
                free(T);
                T = NULL;
                if (failures > 0)
                        fail_msg("%d checks failed (seed %llu, scale %d): %s", failures,
                                 (unsigned long long)seed, scale, failed);
        }
        printf("E2E fault suite passed: BILLING_E2E_SEED=%llu BILLING_E2E_SCALE=%d\n",
               (unsigned long long)seed, scale);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fault_suite),
        };

        int rc;

        setvbuf(stdout, NULL, _IOLBF, 0);
        rc = cmocka_run_group_tests_name("e2e_faults", tests, NULL, NULL);
        if (T != NULL) {
                /* Stopped early by a failed assertion: no service may outlive the test. */
                e2e_log("stopped early (BILLING_E2E_SEED=%llu BILLING_E2E_SCALE=%d); schemas "
                        "%s %s %s and topics %s* kept, logs in %s", (unsigned long long)T->seed,
                        T->scale, T->rm, T->rb, T->inv, T->prefix, T->log_dir);
                if (T->chaos != NULL)
                        e2e_chaos_summary(T->chaos);
                e2e_chaos_destroy(T->chaos);
        }
        return rc;
}
