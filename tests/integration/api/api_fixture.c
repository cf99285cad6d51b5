#include "api_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bg_proc.h"
#include "bg_test_support.h"
#include "pgx.h"

#define START_TIMEOUT_MS 60000

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void apit_sql(apit_t *t, const char *fmt, ...) {
        char sql[8192], errstr[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        if (pgx_exec(t->at_pg, sql, errstr, sizeof(errstr)) != PGX_OK)
                fail_msg("%s", errstr);
}

static void log_path(apit_t *t, const char *what, char *buf, size_t size) {
        snprintf(buf, size, "%s-%s-%d.log", t->at_cmd->ch_log, what, t->at_restarts++);
}

void apit_start_projector(apit_t *t) {
        static char vars[4][256];
        char *env[5], log[300];

        snprintf(vars[0], sizeof(vars[0]), "BILLING_PG_SCHEMA=%s", t->at_schema);
        snprintf(vars[1], sizeof(vars[1]), "BILLING_REBUILD_SCHEMA=%s_rb", t->at_schema);
        snprintf(vars[2], sizeof(vars[2]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(vars[3], sizeof(vars[3]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        for (int i = 0; i < 4; i++)
                env[i] = vars[i];
        env[4] = NULL;
        log_path(t, "projector", log, sizeof(log));
        t->at_projector = bg_proc_spawn(BG_BINARY_DIR "/services/projector/billing-projector",
                                        NULL, env, log);
        assert_true(t->at_projector > 0);
}

void apit_stop_projector(apit_t *t) {
        if (t->at_projector > 0)
                bg_proc_stop(t->at_projector, SIGTERM, 15000);
        t->at_projector = 0;
}

void apit_start_commands(apit_t *t) {
        int64_t until = mono_ms() + START_TIMEOUT_MS;

        /* The instance names the transactional.id: unique, or parallel tests fence each
         * other's commands service. */
        if (t->at_instance[0] == '\0')
                snprintf(t->at_instance, sizeof(t->at_instance), "api-%ld-%s",
                         (long)getpid(), t->at_schema);
        t->at_commands = cmdh_start(t->at_cmd, t->at_instance, NULL);
        /* Ready once it has rebuilt the state of both partitions (the fixture's topics
         * have 2): a short write timeout then measures the write, not the start-up. */
        while (!cmdh_log_contains(t->at_cmd, t->at_instance, "events\\\" [0]: ") ||
               !cmdh_log_contains(t->at_cmd, t->at_instance, "events\\\" [1]: ")) {
                if (mono_ms() > until)
                        fail_msg("billing-commands did not rebuild its partitions in time");
                sleep_ms(50);
        }
}

void apit_stop_commands(apit_t *t) {
        if (t->at_commands > 0)
                bg_proc_stop(t->at_commands, SIGTERM, 15000);
        t->at_commands = 0;
}

static void start_api(apit_t *t) {
        static char vars[9][512];
        char *env[10], sha_hex[65], line[4096];
        uint8_t sha[32];
        int64_t until = mono_ms() + START_TIMEOUT_MS;
        int port = 0;

        SHA256((const unsigned char *)APIT_SERVICE_TOKEN, strlen(APIT_SERVICE_TOKEN), sha);
        for (int i = 0; i < 32; i++)
                snprintf(sha_hex + 2 * i, 3, "%02x", sha[i]);
        snprintf(vars[0], sizeof(vars[0]), "BILLING_API_ADDR=127.0.0.1:0");
        snprintf(vars[1], sizeof(vars[1]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(vars[2], sizeof(vars[2]), "BILLING_PG_SCHEMA=%s", t->at_schema);
        snprintf(vars[3], sizeof(vars[3]), "BILLING_INVOICER_SCHEMA=%s", t->at_inv_schema);
        snprintf(vars[4], sizeof(vars[4]), "BILLING_API_SCHEMA=%s", t->at_api_schema);
        snprintf(vars[5], sizeof(vars[5]), "BILLING_API_SERVICE_TOKENS=billing:%s", sha_hex);
        snprintf(vars[6], sizeof(vars[6]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(vars[7], sizeof(vars[7]), "BILLING_API_WRITE_TIMEOUT_MS=%d",
                 t->at_opts.ao_write_timeout_ms ? t->at_opts.ao_write_timeout_ms : 20000);
        snprintf(vars[8], sizeof(vars[8]), "BILLING_API_MIGRATIONS_DIR=%s",
                 BG_SOURCE_DIR "/services/api/migrations");
        for (int i = 0; i < 9; i++)
                env[i] = vars[i];
        env[9] = NULL;
        log_path(t, "api", t->at_api_log, sizeof(t->at_api_log));
        t->at_api = bg_proc_spawn(BG_BINARY_DIR "/services/api/billing-api", NULL, env,
                                  t->at_api_log);
        assert_true(t->at_api > 0);
        /* The port is in the start-up line: "api listening on 127.0.0.1:<port> ...". */
        while (port == 0) {
                FILE *f = fopen(t->at_api_log, "r");
                int status;

                while (f != NULL && port == 0 && fgets(line, sizeof(line), f) != NULL) {
                        char *p = strstr(line, "api listening on 127.0.0.1:");
                        if (p != NULL)
                                port = atoi(p + strlen("api listening on 127.0.0.1:"));
                }
                if (f != NULL)
                        fclose(f);
                if (port != 0)
                        break;
                if (!bg_proc_running(t->at_api, &status))
                        fail_msg("billing-api exited at start (status %d): see %s", status,
                                 t->at_api_log);
                if (mono_ms() > until)
                        fail_msg("billing-api did not start within %d ms: see %s",
                                 START_TIMEOUT_MS, t->at_api_log);
                sleep_ms(50);
        }
        snprintf(t->at_url, sizeof(t->at_url), "http://127.0.0.1:%d", port);
}

apit_t *apit_new(const char *name, const apit_opts_t *opts) {
        apit_t *t = calloc(1, sizeof(*t));
        char errstr[512];
        static unsigned n;

        assert_non_null(t);
        if (opts != NULL)
                t->at_opts = *opts;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        t->at_cmd = cmdh_new(name, 2);
        snprintf(t->at_schema, sizeof(t->at_schema), "apit_%ld_%u_rm", (long)getpid(), n);
        snprintf(t->at_inv_schema, sizeof(t->at_inv_schema), "apit_%ld_%u_inv", (long)getpid(), n);
        snprintf(t->at_api_schema, sizeof(t->at_api_schema), "apit_%ld_%u_api", (long)getpid(), n);
        n++;
        t->at_pg = pgx_connect(bg_test_env("BILLING_PG_CONNINFO"), 10000, NULL, errstr,
                               sizeof(errstr));
        if (t->at_pg == NULL)
                fail_msg("%s", errstr);
        /* The invoicer's own migration files: the same tables the invoicer writes. */
        if (pgx_migrate(t->at_pg, t->at_inv_schema, BG_SOURCE_DIR "/services/invoicer/migrations",
                        NULL, errstr, sizeof(errstr)) != PGX_OK)
                fail_msg("%s", errstr);
        if (!t->at_opts.ao_no_commands)
                apit_start_commands(t);
        apit_start_projector(t);
        start_api(t);
        return t;
}

void apit_restart_api(apit_t *t, int write_timeout_ms) {
        assert_int_equal(bg_proc_stop(t->at_api, SIGTERM, 15000), 0);
        t->at_opts.ao_write_timeout_ms = write_timeout_ms;
        start_api(t);
}

void apit_destroy(apit_t *t) {
        if (t == NULL)
                return;
        if (t->at_api > 0)
                assert_int_equal(bg_proc_stop(t->at_api, SIGTERM, 15000), 0);
        apit_stop_projector(t);
        apit_stop_commands(t);
        apit_sql(t, "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s_rb CASCADE; "
                 "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s CASCADE",
                 t->at_schema, t->at_schema, t->at_inv_schema, t->at_api_schema);
        PQfinish(t->at_pg);
        cmdh_destroy(t->at_cmd);
        free(t);
}

/* ------------------------------------------------------------------ HTTP */

typedef struct buf_s {
        char *b;
        size_t len;
} buf_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque) {
        buf_t *buf = opaque;
        size_t n = size * nmemb;
        char *p = realloc(buf->b, buf->len + n + 1);

        if (p == NULL)
                return 0;
        memcpy(p + buf->len, data, n);
        buf->b = p;
        buf->len += n;
        buf->b[buf->len] = '\0';
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *opaque) {
        apit_resp_t *r = opaque;
        size_t n = size * nmemb;
        char line[512];

        if (r == NULL || n >= sizeof(line))
                return n;
        memcpy(line, data, n);
        line[n] = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        if (strncasecmp(line, "ETag: ", 6) == 0)
                snprintf(r->ar_etag, sizeof(r->ar_etag), "%.63s", line + 6);
        else if (strncasecmp(line, "Allow: ", 7) == 0)
                snprintf(r->ar_allow, sizeof(r->ar_allow), "%.127s", line + 7);
        return n;
}

long apit_req(apit_t *t, const char *method, const char *path, const char *token,
              const char *body, const char *const *headers, apit_resp_t *out) {
        CURL *c = curl_easy_init();
        struct curl_slist *hl = NULL;
        char url[4096], auth[512];
        buf_t buf = {NULL, 0};
        apit_resp_t local;
        apit_resp_t *r = out ? out : &local;
        char *ct = NULL;
        CURLcode rc;

        assert_non_null(c);
        memset(r, 0, sizeof(*r));
        snprintf(url, sizeof(url), "%s%s", t->at_url, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
        if (token != NULL) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                hl = curl_slist_append(hl, auth);
        }
        if (body != NULL) {
                hl = curl_slist_append(hl, "Content-Type: application/json");
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        hl = curl_slist_append(hl, "Expect:");
        for (const char *const *h = headers; h && *h; h++)
                hl = curl_slist_append(hl, *h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->ar_status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct != NULL)
                snprintf(r->ar_type, sizeof(r->ar_type), "%s", ct);
        r->ar_body = buf.b ? buf.b : strdup("");
        r->ar_len = buf.len;
        if (strncmp(r->ar_type, "application/json", 16) == 0) {
                r->ar_json = json_loads(r->ar_body, 0, NULL);
                if (r->ar_json == NULL)
                        fail_msg("%s %s: response is not JSON: %s", method, path, r->ar_body);
        }
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        if (out == NULL) {
                long st = r->ar_status;
                apit_resp_free(r);
                return st;
        }
        return r->ar_status;
}

long apit_reqf(apit_t *t, const char *method, const char *token, const char *body,
               apit_resp_t *out, const char *fmt, ...) {
        char path[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        return apit_req(t, method, path, token, body, NULL, out);
}

void apit_resp_free(apit_resp_t *r) {
        if (r == NULL)
                return;
        free(r->ar_body);
        json_decref(r->ar_json);
        memset(r, 0, sizeof(*r));
}

const char *apit_str(const apit_resp_t *r, const char *path) {
        char copy[256], *save = NULL, *tok;
        json_t *j = r->ar_json;

        snprintf(copy, sizeof(copy), "%s", path);
        for (tok = strtok_r(copy, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
                if (json_is_array(j))
                        j = json_array_get(j, (size_t)atoi(tok));
                else
                        j = json_object_get(j, tok);
        }
        return json_is_string(j) ? json_string_value(j) : NULL;
}

void apit_expect(apit_resp_t *r, long status, const char *code) {
        if (r->ar_status != status)
                fail_msg("expected HTTP %ld, got %ld: %s", status, r->ar_status, r->ar_body);
        if (code != NULL) {
                const char *got = apit_str(r, "error.code");
                const char *msg = apit_str(r, "error.message");

                if (got == NULL || strcmp(got, code) != 0)
                        fail_msg("expected error code %s: %s", code, r->ar_body);
                if (msg == NULL || *msg == '\0' || apit_str(r, "message") == NULL)
                        fail_msg("error body without a message: %s", r->ar_body);
        }
}

/* ------------------------------------------------------------------ scenario steps */

void apit_account(apit_t *t, const char *name, const char *owner, char account_id[37]) {
        apit_resp_t r;
        json_t *body = json_pack("{s:s, s:s}", "account_name", name, "owner", owner);
        char *text = json_dumps(body, 0);

        apit_req(t, "POST", "/v1/account", APIT_SERVICE_TOKEN, text, NULL, &r);
        apit_expect(&r, 201, NULL);
        assert_non_null(apit_str(&r, "account.account_id"));
        assert_string_equal(apit_str(&r, "account.account_name"), name);
        snprintf(account_id, 37, "%s", apit_str(&r, "account.account_id"));
        apit_resp_free(&r);
        free(text);
        json_decref(body);
}

void apit_token(apit_t *t, const char *account_id, const char *email, const char *role,
                char token[65]) {
        char body[512];
        apit_resp_t r;

        snprintf(body, sizeof(body), "{\"user_email\": \"%s\", \"role\": \"%s\"}", email, role);
        apit_reqf(t, "POST", APIT_SERVICE_TOKEN, body, &r, "/v1/account/%s/token", account_id);
        apit_expect(&r, 201, NULL);
        assert_non_null(apit_str(&r, "token"));
        assert_int_equal(strlen(apit_str(&r, "token")), 64);
        snprintf(token, 65, "%s", apit_str(&r, "token"));
        apit_resp_free(&r);
}

void apit_group(apit_t *t, const char *token, const char *name, const char *currency,
                char group_id[37]) {
        char body[512];
        apit_resp_t r;

        snprintf(body, sizeof(body), "{\"billing_group_name\": \"%s\", \"billing_currency\": "
                 "\"%s\"}", name, currency);
        apit_req(t, "POST", "/v1/billing-group", token, body, NULL, &r);
        apit_expect(&r, 201, NULL);
        assert_string_equal(apit_str(&r, "billing_group.billing_group_name"), name);
        snprintf(group_id, 37, "%s", apit_str(&r, "billing_group.billing_group_id"));
        apit_resp_free(&r);
}

void apit_project(apit_t *t, const char *token, const char *name, const char *group_id,
                  char project_id[37]) {
        char body[512];
        apit_resp_t r;

        if (group_id != NULL)
                snprintf(body, sizeof(body), "{\"project\": \"%s\", \"billing_group_id\": "
                         "\"%s\"}", name, group_id);
        else
                snprintf(body, sizeof(body), "{\"project\": \"%s\"}", name);
        apit_req(t, "POST", "/v1/project", token, body, NULL, &r);
        apit_expect(&r, 201, NULL);
        assert_string_equal(apit_str(&r, "project.project_name"), name);
        if (project_id != NULL)
                snprintf(project_id, 37, "%s", apit_str(&r, "project.project_id"));
        apit_resp_free(&r);
}

void apit_publish_accepted(apit_t *t, bg_command_t *cmd) {
        bg_command_result_t res;
        char aid[BG_UUID_STR_LEN + 1], sql[512];
        int64_t until = mono_ms() + 30000;

        snprintf(cmd->actor, sizeof(cmd->actor), "service:billing");
        cmdh_publish(t->at_cmd, cmd);
        assert_true(cmdh_wait_result(t->at_cmd, &cmd->command_id, 30000, &res));
        if (res.outcome != BG_OUTCOME_ACCEPTED)
                fail_msg("command %s rejected: %s", bg_command_type_name(cmd->type),
                         res.rejection.message);
        bg_uuid_format(&cmd->account_id, aid);
        snprintf(sql, sizeof(sql), "SELECT seq FROM %s.account_seq WHERE account_id = '%s'",
                 t->at_schema, aid);
        for (;;) {
                PGresult *pr = PQexec(t->at_pg, sql);
                long long seq = (PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) == 1) ?
                                atoll(PQgetvalue(pr, 0, 0)) : 0;

                PQclear(pr);
                if (seq >= res.last_seq)
                        return;
                if (mono_ms() > until)
                        fail_msg("projector did not reach seq %lld", (long long)res.last_seq);
                sleep_ms(20);
        }
}
