#include "inv_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_admin_http.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_conf.h"

#define WAIT_MS 60000

/* The admin port the current instance bound (it is started with port 0, so that tests
 * running side by side never collide), read from its log; -1 until it has logged it. */
static int admin_port_of(invh_t *t) {
        char path[300];

        snprintf(path, sizeof(path), "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);
        return bg_admin_port_in_log(path);
}

int64_t invh_real_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void invh_set_clock(invh_t *t, int64_t ms) {
        char tmp[300];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", t->t_clock_path);
        f = fopen(tmp, "w");
        assert_non_null(f);
        fprintf(f, "%lld\n", (long long)ms);
        fclose(f);
        assert_int_equal(rename(tmp, t->t_clock_path), 0);
}

static void pg_exec(invh_t *t, const char *sql) {
        PGresult *res = PQexec(t->t_pg, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("%s: %s", sql, PQerrorMessage(t->t_pg));
        PQclear(res);
}

static void wait_accepted(invh_t *t, const bg_command_t *cmd) {
        bg_command_result_t res;

        cmdh_publish(t->t_cmd, cmd);
        assert_true(cmdh_wait_result(t->t_cmd, &cmd->command_id, WAIT_MS, &res));
        if (res.outcome != BG_OUTCOME_ACCEPTED)
                fail_msg("command %s not accepted: %s", bg_command_type_name(cmd->type),
                         res.rejection.message);
}

invh_t *invh_new(const char *name, int partitions, int64_t clock_ms) {
        invh_t *t = calloc(1, sizeof(*t));
        static bg_command_t cmd;
        char *cmd_env[] = {"BILLING_BATCH_MS=5", NULL};
        char sql[256];

        assert_non_null(t);
        t->t_cmd = cmdh_new(name, partitions);
        snprintf(t->t_unique, sizeof(t->t_unique), "%.*s", (int)strlen(t->t_cmd->ch_prefix) - 1,
                 t->t_cmd->ch_prefix);
        snprintf(t->t_group, sizeof(t->t_group), "%s-invoicer", t->t_unique);
        {
                static unsigned schemas;        /* per process: tests may start in one ms */
                snprintf(t->t_schema, sizeof(t->t_schema), "inv_%ld_%ld_%u", (long)getpid(),
                         (long)(invh_real_ms() % 100000000), schemas++);
        }
        snprintf(t->t_clock_path, sizeof(t->t_clock_path), "/tmp/%s.clock", t->t_unique);
        invh_set_clock(t, clock_ms);
        t->t_pg = PQconnectdb(bg_test_env("BILLING_PG_CONNINFO"));
        if (PQstatus(t->t_pg) != CONNECTION_OK)
                fail_msg("%s", PQerrorMessage(t->t_pg));
        snprintf(sql, sizeof(sql), "SET client_min_messages = warning; SET TimeZone = 'UTC'; "
                 "CREATE SCHEMA %s; SET search_path = %s", t->t_schema, t->t_schema);
        pg_exec(t, sql);
        t->t_cmd_pid = cmdh_start(t->t_cmd, "cmd-0", cmd_env);

        bg_uuid_generate(&t->t_account);
        cmdh_command_init(&cmd, BG_CMD_CREATE_ACCOUNT, &t->t_account, ACTOR);
        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Acme");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        wait_accepted(t, &cmd);
        return t;
}

void invh_destroy(invh_t *t) {
        char sql[128];

        if (t == NULL)
                return;
        if (t->t_inv_pid > 0)
                invh_stop(t);
        assert_int_equal(WEXITSTATUS(bg_proc_stop(t->t_cmd_pid, SIGTERM, 20000)), 0);
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", t->t_schema);
        if (getenv("BILLING_TEST_KEEP_SCHEMA") == NULL)
                pg_exec(t, sql);
        PQfinish(t->t_pg);
        unlink(t->t_clock_path);
        cmdh_destroy(t->t_cmd);
        free(t);
}

pid_t invh_start(invh_t *t, char *const env[]) {
        static char vars[8][1400];
        char *all[32], log[300];
        size_t n = 0;

        t->t_starts++;
        snprintf(vars[0], sizeof(vars[0]), "BILLING_INVOICER_SCHEMA=%s", t->t_schema);
        snprintf(vars[1], sizeof(vars[1]), "BILLING_INVOICER_GROUP=%s", t->t_group);
        snprintf(vars[2], sizeof(vars[2]), "BILLING_CLOCK=file:%s", t->t_clock_path);
        snprintf(vars[3], sizeof(vars[3]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(vars[4], sizeof(vars[4]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(vars[5], sizeof(vars[5]), "BILLING_FINALIZE_INTERVAL_MS=200");
        snprintf(vars[6], sizeof(vars[6]), "BILLING_BATCH_MS=50");
        for (int i = 0; i < 7; i++)
                all[n++] = vars[i];
        for (char *const *e = env; e && *e && n < 31; e++)
                all[n++] = *e;
        all[n] = NULL;
        snprintf(log, sizeof(log), "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);
        t->t_inv_pid = bg_proc_spawn(BG_BINARY_DIR "/services/invoicer/billing-invoicer", NULL,
                                     all, log);
        assert_true(t->t_inv_pid > 0);
        return t->t_inv_pid;
}

/* True once the current instance's log has a line containing @needle. */
static bool current_log_contains(invh_t *t, const char *needle) {
        char path[300], line[8192];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "%s-invoicer-%d.log", t->t_cmd->ch_log, t->t_starts);
        if ((f = fopen(path, "r")) == NULL)
                return false;
        while (!found && fgets(line, sizeof(line), f) != NULL)
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

void invh_stop(invh_t *t) {
        int st;

        /* A SIGTERM that lands before the process has set its handlers kills it: wait
         * until it is up (it logs "caught up" once it has read the events). */
        for (int i = 0; i < 300 && bg_proc_running(t->t_inv_pid, NULL) &&
                        !current_log_contains(t, "caught up with");
             i++)
                usleep(100 * 1000);
        st = bg_proc_stop(t->t_inv_pid, SIGTERM, 30000);

        t->t_inv_pid = 0;
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

bool invh_log_contains(invh_t *t, const char *needle) {
        char path[300], line[8192];
        bool found = false;
        FILE *f;

        for (int i = 1; i <= t->t_starts && !found; i++) {
                snprintf(path, sizeof(path), "%s-invoicer-%d.log", t->t_cmd->ch_log, i);
                f = fopen(path, "r");
                if (f == NULL)
                        continue;
                while (!found && fgets(line, sizeof(line), f) != NULL)
                        found = strstr(line, needle) != NULL;
                fclose(f);
        }
        return found;
}

/* ------------------------------------------------------------------ commands */

void invh_create_group(invh_t *t, bg_uuid_t *id, const char *name, bg_currency_t currency,
                       const char *country) {
        static bg_command_t cmd;
        bg_cmd_create_billing_group_t *p = &cmd.payload.create_billing_group;

        cmdh_command_init(&cmd, BG_CMD_CREATE_BILLING_GROUP, &t->t_account, ACTOR);
        bg_uuid_generate(id);
        p->billing_group_id = *id;
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->profile.present = BG_PROFILE_F_BILLING_CURRENCY;
        p->profile.v.billing_currency = currency;
        if (country != NULL) {
                p->profile.present |= BG_PROFILE_F_COUNTRY_CODE;
                snprintf(p->profile.v.country_code, sizeof(p->profile.v.country_code), "%s",
                         country);
        }
        wait_accepted(t, &cmd);
}

void invh_set_primary(invh_t *t, const bg_uuid_t *group) {
        static bg_command_t cmd;

        cmdh_command_init(&cmd, BG_CMD_SET_PRIMARY_BILLING_GROUP, &t->t_account, ACTOR);
        cmd.payload.set_primary_billing_group.billing_group_id = *group;
        wait_accepted(t, &cmd);
}

void invh_create_project(invh_t *t, bg_uuid_t *id, const char *name, const bg_uuid_t *group) {
        static bg_command_t cmd;
        bg_cmd_create_project_t *p = &cmd.payload.create_project;

        cmdh_command_init(&cmd, BG_CMD_CREATE_PROJECT, &t->t_account, ACTOR);
        if (bg_uuid_is_nil(id))
                bg_uuid_generate(id);
        p->project_id = *id;
        snprintf(p->name, sizeof(p->name), "%s", name);
        if (group != NULL) {
                p->has_billing_group_id = true;
                p->billing_group_id = *group;
        }
        wait_accepted(t, &cmd);
}

void invh_move_project(invh_t *t, const char *name, const bg_uuid_t *group) {
        static bg_command_t cmd;
        bg_cmd_assign_projects_t *p = &cmd.payload.assign_projects;

        cmdh_command_init(&cmd, BG_CMD_ASSIGN_PROJECTS, &t->t_account, ACTOR);
        p->billing_group_id = *group;
        p->n_projects = 1;
        snprintf(p->project_names[0], sizeof(p->project_names[0]), "%s", name);
        wait_accepted(t, &cmd);
}

void invh_delete_project(invh_t *t, const bg_uuid_t *id) {
        static bg_command_t cmd;

        cmdh_command_init(&cmd, BG_CMD_DELETE_PROJECT, &t->t_account, ACTOR);
        cmd.payload.delete_project.project_id = *id;
        wait_accepted(t, &cmd);
}

void invh_credit(invh_t *t, const char *code, int64_t value, bg_currency_t currency,
                 int64_t start, bool has_expire, int64_t expire, const bg_uuid_t *group,
                 const bg_uuid_t *project) {
        static bg_command_t cmd;
        bg_cmd_issue_credit_t *ic = &cmd.payload.issue_credit;
        bg_cmd_claim_credit_t *cc = &cmd.payload.claim_credit;

        cmdh_command_init(&cmd, BG_CMD_ISSUE_CREDIT, &t->t_account, SERVICE_ACTOR);
        snprintf(ic->code, sizeof(ic->code), "%s", code);
        ic->value = value;
        ic->currency = currency;
        ic->type = BG_CREDIT_TYPE_PROMOTION;
        ic->start_time = start;
        ic->has_expire_time = has_expire;
        ic->expire_time = expire;
        wait_accepted(t, &cmd);

        cmdh_command_init(&cmd, BG_CMD_CLAIM_CREDIT, &t->t_account, ACTOR);
        cc->billing_group_id = *group;
        snprintf(cc->code, sizeof(cc->code), "%s", code);
        if (project != NULL) {
                cc->has_project_id = true;
                cc->project_id = *project;
        }
        wait_accepted(t, &cmd);
}

/* ------------------------------------------------------------------ usage */

void invh_usage(codec_usage_t *u, const bg_uuid_t *project, const char *service, int64_t begin,
                int64_t qty, int64_t price) {
        memset(u, 0, offsetof(codec_usage_t, tags));
        bg_uuid_generate(&u->usage_id);
        u->project_id = *project;
        snprintf(u->service_name, sizeof(u->service_name), "%s", service);
        snprintf(u->service_type, sizeof(u->service_type), "%.*s", 5, service);
        snprintf(u->service_plan, sizeof(u->service_plan), "business-4");
        u->line_type = CODEC_LINE_SERVICE_CHARGE;
        u->quantity = qty;
        snprintf(u->unit, sizeof(u->unit), "hour");
        u->has_unit_price = true;
        u->unit_price = price;
        u->currency = BG_CURRENCY_EUR;
        u->timestamp_begin = begin;
        u->timestamp_end = begin + 1000;
        u->n_tags = 1;
        snprintf(u->tags[0].key, sizeof(u->tags[0].key), "env");
        snprintf(u->tags[0].value, sizeof(u->tags[0].value), "prod");
}

void invh_publish(invh_t *t, const codec_usage_t *u) {
        char key[BG_UUID_STR_LEN + 1], errstr[512];
        const uint8_t *buf;
        size_t len;
        rd_kafka_resp_err_t err;

        if (codec_encode_usage(t->t_cmd->ch_codec, u, &buf, &len, errstr, sizeof(errstr)) !=
            CODEC_OK)
                fail_msg("cannot encode usage: %s", errstr);
        bg_uuid_format(&u->project_id, key);
        do {
                err = rd_kafka_producev(t->t_cmd->ch_producer,
                                        RD_KAFKA_V_TOPIC(t->t_cmd->ch_topics.kt_usage),
                                        RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                        RD_KAFKA_V_VALUE((void *)buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        rd_kafka_poll(t->t_cmd->ch_producer, 10);
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        t->t_produced++;
}

void invh_flush(invh_t *t) {
        assert_int_equal(rd_kafka_flush(t->t_cmd->ch_producer, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
}

int64_t invh_i64(invh_t *t, const char *fmt, ...) {
        char sql[2048];
        va_list ap;
        PGresult *res;
        int64_t v = -1;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        res = PQexec(t->t_pg, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                /* The invoicer creates the tables when it starts: not there yet is -1. */
                PQclear(res);
                return -1;
        }
        if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
                v = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        return v;
}

void invh_wait_consumed(invh_t *t, int timeout_ms) {
        int64_t got = -1;

        for (int waited = 0; waited < timeout_ms; waited += 100) {
                got = invh_i64(t, "SELECT sum(next_offset) FROM consumer_offsets WHERE topic = '%s'",
                               t->t_cmd->ch_topics.kt_usage);
                if (got == t->t_produced)
                        return;
                usleep(100 * 1000);
        }
        fail_msg("the invoicer consumed %lld of %lld usage records", (long long)got,
                 (long long)t->t_produced);
}

void invh_wait_due(invh_t *t, const char *number, int timeout_ms) {
        for (int waited = 0; waited < timeout_ms; waited += 100) {
                if (invh_i64(t, "SELECT count(*) FROM invoices WHERE invoice_number = '%s' "
                             "AND state = 'due'", number) == 1)
                        return;
                usleep(100 * 1000);
        }
        fail_msg("invoice %s not final after %d ms", number, timeout_ms);
}

int64_t invh_metric(invh_t *t, const char *series) {
        return bg_admin_metric(admin_port_of(t), series);
}

/* ------------------------------------------------------------------ calendar, numbers */

static void ym_of(int64_t ms, int *y, int *m) {
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        *y = tm.tm_year + 1900;
        *m = tm.tm_mon + 1;
}

void invh_number(const bg_uuid_t *group, int64_t ms, char *buf, size_t size) {
        char id[BG_UUID_STR_LEN + 1];
        int y, m;

        bg_uuid_format(group, id);
        ym_of(ms, &y, &m);
        snprintf(buf, size, "%.8s%.4s%.4s-%04d%02d", id, id + 9, id + 14, y, m);
}

int64_t invh_next_month(int64_t ms) {
        struct tm tm = {0};
        int y, m;

        ym_of(ms, &y, &m);
        tm.tm_year = (m == 12 ? y + 1 : y) - 1900;
        tm.tm_mon = m == 12 ? 0 : m;
        tm.tm_mday = 1;
        return (int64_t)timegm(&tm) * 1000;
}

/* ------------------------------------------------------------------ topics */

typedef struct {
        invh_t *t;
        codec_invoice_t *inv;
        size_t n, cap;
} inv_acc_t;

static void collect_invoice(void *opaque, const rd_kafka_message_t *m) {
        inv_acc_t *a = opaque;
        char errstr[512];

        if (a->n == a->cap) {
                a->cap = a->cap ? a->cap * 2 : 16;
                a->inv = realloc(a->inv, a->cap * sizeof(*a->inv));
                assert_non_null(a->inv);
        }
        memset(&a->inv[a->n], 0, sizeof(a->inv[a->n]));
        if (codec_decode_invoice(a->t->t_cmd->ch_codec, m->payload, m->len, &a->inv[a->n], errstr,
                                 sizeof(errstr)) != CODEC_OK)
                fail_msg("undecodable invoice at offset %lld: %s", (long long)m->offset, errstr);
        assert_int_equal(m->key_len, strlen(a->inv[a->n].invoice_number));
        assert_memory_equal(m->key, a->inv[a->n].invoice_number, m->key_len);
        a->n++;
}

size_t invh_read_invoices(invh_t *t, codec_invoice_t **out) {
        inv_acc_t a = {.t = t};

        cmdh_read_topic(t->t_cmd->ch_topics.kt_invoices, t->t_cmd->ch_topics.kt_usage_partitions,
                        true, collect_invoice, &a);
        *out = a.inv;
        return a.n;
}

void invh_free_invoices(codec_invoice_t *inv, size_t n) {
        for (size_t i = 0; i < n; i++)
                codec_invoice_clear(&inv[i]);
        free(inv);
}

typedef struct {
        size_t n;
        const char *needle;
        char *reason;
        size_t size;
        bool found;
} dlq_acc_t;

static void collect_dlq(void *opaque, const rd_kafka_message_t *m) {
        dlq_acc_t *a = opaque;
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t len;

        a->n++;
        if (a->found || rd_kafka_message_headers(m, &h) != 0 ||
            rd_kafka_header_get_last(h, "dlq_reason", &v, &len) != 0)
                return;
        if (a->needle == NULL || memmem(v, len, a->needle, strlen(a->needle)) != NULL ||
            a->reason[0] == '\0') {
                snprintf(a->reason, a->size, "%.*s", (int)len, (const char *)v);
                a->found = a->needle == NULL || strstr(a->reason, a->needle) != NULL;
        }
}

size_t invh_read_usage_dlq(invh_t *t, const char *needle, char *reason, size_t size) {
        dlq_acc_t a = {0, needle, reason, size, false};

        reason[0] = '\0';
        cmdh_read_topic(t->t_cmd->ch_topics.kt_usage_dlq, 1, true, collect_dlq, &a);
        return a.n;
}

/* ------------------------------------------------------------------ reference */

static __int128 ref_amount(const codec_usage_t *u) {
        __int128 p;

        if (u->has_amount)
                return u->amount;
        /* quantity x price / 10^6, half-up to the micro (both non-negative here). */
        p = (__int128)u->quantity * u->unit_price;
        return (p + 500000) / 1000000;
}

void ref_add(ref_t *r, const bg_uuid_t *group, const codec_usage_t *u) {
        int y, m;
        ref_line_t *l = NULL;

        ym_of(u->timestamp_begin, &y, &m);
        for (size_t i = 0; i < r->n && l == NULL; i++)
                if (bg_uuid_equal(&r->lines[i].group, group) && r->lines[i].year == y &&
                    r->lines[i].month == m && bg_uuid_equal(&r->lines[i].project, &u->project_id) &&
                    strcmp(r->lines[i].service, u->service_name) == 0)
                        l = &r->lines[i];
        if (l == NULL) {
                if (r->n == r->cap) {
                        r->cap = r->cap ? r->cap * 2 : 16;
                        r->lines = realloc(r->lines, r->cap * sizeof(*r->lines));
                        assert_non_null(r->lines);
                }
                l = &r->lines[r->n++];
                memset(l, 0, sizeof(*l));
                l->group = *group;
                l->year = y;
                l->month = m;
                l->project = u->project_id;
                snprintf(l->service, sizeof(l->service), "%s", u->service_name);
        }
        l->amount += ref_amount(u);
        l->records++;
}

const ref_line_t *ref_find(const ref_t *r, const bg_uuid_t *group, int64_t ms,
                           const bg_uuid_t *project, const char *service) {
        int y, m;

        ym_of(ms, &y, &m);
        for (size_t i = 0; i < r->n; i++)
                if (bg_uuid_equal(&r->lines[i].group, group) && r->lines[i].year == y &&
                    r->lines[i].month == m && bg_uuid_equal(&r->lines[i].project, project) &&
                    strcmp(r->lines[i].service, service) == 0)
                        return &r->lines[i];
        return NULL;
}

int64_t ref_round_cents(__int128 micros) {
        /* Half-up (away from zero) to 10^4 micros. */
        __int128 q = (micros >= 0 ? micros + 5000 : micros - 5000) / 10000;
        return (int64_t)(q * 10000);
}

int64_t ref_invoice_cents_total(const ref_t *r, const bg_uuid_t *group, int64_t ms) {
        int y, m;
        int64_t sum = 0;

        ym_of(ms, &y, &m);
        for (size_t i = 0; i < r->n; i++)
                if (bg_uuid_equal(&r->lines[i].group, group) && r->lines[i].year == y &&
                    r->lines[i].month == m)
                        sum += ref_round_cents(r->lines[i].amount);
        return sum;
}

int64_t ref_invoice_exact(const ref_t *r, const bg_uuid_t *group, int64_t ms) {
        int y, m;
        __int128 sum = 0;

        ym_of(ms, &y, &m);
        for (size_t i = 0; i < r->n; i++)
                if (bg_uuid_equal(&r->lines[i].group, group) && r->lines[i].year == y &&
                    r->lines[i].month == m)
                        sum += r->lines[i].amount;
        return (int64_t)sum;
}

void ref_free(ref_t *r) {
        free(r->lines);
        memset(r, 0, sizeof(*r));
}
