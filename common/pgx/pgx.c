#include "pgx.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "bg_log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000
#define MIGRATIONS_MAX   1000
#define MIGRATION_FILE_MAX (16 * 1024 * 1024)

const char *pgx_err2str(pgx_err_t err) {
        switch (err) {
        case PGX_OK: return "ok";
        case PGX_ERR_CONN: return "connection lost";
        case PGX_ERR_SQL: return "statement failed";
        case PGX_ERR_ARG: return "invalid argument";
        case PGX_ERR_NOMEM: return "out of memory";
        }
        return "unknown error";
}

bool pgx_ident_valid(const char *name) {
        size_t n;

        if (name == NULL || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return false;
        for (n = 0; name[n] != '\0'; n++)
                if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= '0' && name[n] <= '9') ||
                      name[n] == '_'))
                        return false;
        return n <= 63;
}

/* ------------------------------------------------------------------ errors */

/* The message of @res or @conn without its trailing newline. */
static void error_text(PGconn *conn, const PGresult *res, char *buf, size_t size) {
        const char *msg = res ? PQresultErrorMessage(res) : NULL;
        size_t n;

        if (msg == NULL || *msg == '\0')
                msg = conn ? PQerrorMessage(conn) : "no connection";
        if (msg == NULL || *msg == '\0')
                msg = "no result from the server";
        snprintf(buf, size, "%s", msg);
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
}

pgx_err_t pgx_classify(PGconn *conn, const PGresult *res) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        if (conn == NULL || PQstatus(conn) != CONNECTION_OK || res == NULL)
                return PGX_ERR_CONN;
        if (state == NULL)
                return PQresultStatus(res) == PGRES_FATAL_ERROR ? PGX_ERR_CONN : PGX_ERR_SQL;
        /* 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now;
         * 53300: too many connections; 40001/40P01: serialization failure, deadlock. */
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
            strcmp(state, "53300") == 0 || strcmp(state, "40001") == 0 ||
            strcmp(state, "40P01") == 0)
                return PGX_ERR_CONN;
        return PGX_ERR_SQL;
}

pgx_err_t pgx_result_error(PGconn *conn, const PGresult *res, const char *what, char *errstr,
                           size_t errstr_size) {
        char msg[1024];
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

        error_text(conn, res, msg, sizeof(msg));
        if (state != NULL)
                snprintf(errstr, errstr_size, "%s: %s (SQLSTATE %s)", what, msg, state);
        else
                snprintf(errstr, errstr_size, "%s: %s", what, msg);
        return pgx_classify(conn, res);
}

static pgx_err_t fail_res(PGconn *conn, PGresult *res, const char *what, char *errstr,
                          size_t errstr_size) {
        pgx_err_t err = pgx_result_error(conn, res, what, errstr, errstr_size);

        PQclear(res);
        return err;
}

/* A short, recognisable head of @sql for error messages. */
static void sql_head(const char *sql, char *buf, size_t size) {
        size_t i, n = 0;

        for (i = 0; sql[i] != '\0' && n + 4 < size && i < 60; i++)
                buf[n++] = (sql[i] == '\n' || sql[i] == '\t') ? ' ' : sql[i];
        if (sql[i] != '\0' && n + 4 < size) {
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = '\0';
}

/* ------------------------------------------------------------------ connecting */

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "host=... port=..." of @conn, never the password. */
static void conn_where(PGconn *conn, char *buf, size_t size) {
        const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);

        snprintf(buf, size, "host=%s port=%s dbname=%s", host ? host : "?", port ? port : "?",
                 db ? db : "?");
}

/* Server notices and warnings go to the JSON log, not raw to stderr. */
static void on_notice(void *arg, const char *message) {
        size_t n = strlen(message);

        (void)arg;
        while (n > 0 && message[n - 1] == '\n')
                n--;
        bg_log_warn("PostgreSQL: %.*s", (int)n, message);
}

PGconn *pgx_connect(const char *conninfo, int max_wait_ms, volatile sig_atomic_t *stop,
                    char *errstr, size_t errstr_size) {
        int64_t deadline = mono_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
        int backoff = BACKOFF_FIRST_MS;

        for (;;) {
                PGconn *conn = PQconnectdb(conninfo);
                char where[256], msg[512];

                if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
                        PGresult *res;

                        PQsetNoticeProcessor(conn, on_notice, NULL);
                        res = PQexec(conn, "SET TimeZone = 'UTC'; "
                                                     "SET client_min_messages = warning");
                        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                                PQclear(res);
                                return conn;
                        }
                        PQclear(res);
                }
                if (conn == NULL) {
                        snprintf(errstr, errstr_size, "cannot connect to PostgreSQL: out of memory");
                        return NULL;
                }
                conn_where(conn, where, sizeof(where));
                error_text(conn, NULL, msg, sizeof(msg));
                snprintf(errstr, errstr_size, "cannot connect to PostgreSQL at %s: %s", where, msg);
                PQfinish(conn);
                if (max_wait_ms == 0 || (stop != NULL && *stop) ||
                    (max_wait_ms > 0 && mono_ms() + backoff > deadline))
                        return NULL;
                sleep_ms(backoff);
                backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
                if (stop != NULL && *stop)
                        return NULL;
        }
}

/* ------------------------------------------------------------------ statements */

pgx_err_t pgx_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size) {
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = PQresultStatus(res);
        char head[80];

        if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
                PQclear(res);
                return PGX_OK;
        }
        sql_head(sql, head, sizeof(head));
        return fail_res(conn, res, head, errstr, errstr_size);
}

pgx_err_t pgx_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                    PGresult **out, char *errstr, size_t errstr_size) {
        PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);
        char head[80];

        *out = NULL;
        if (res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
                *out = res;
                return PGX_OK;
        }
        sql_head(sql, head, sizeof(head));
        return fail_res(conn, res, head, errstr, errstr_size);
}

/* ------------------------------------------------------------------ migrations */

typedef struct migration_s {
        long version;
        char name[256];
} migration_t;

static int migration_cmp(const void *a, const void *b) {
        const migration_t *x = a, *y = b;
        return x->version < y->version ? -1 : x->version > y->version;
}

/* Reads "NNN_name.sql" entries of @dir into @out, sorted; -1 with a reason. */
static int migrations_list(const char *dir, migration_t *out, size_t *n, char *errstr,
                           size_t errstr_size) {
        DIR *d = opendir(dir);
        struct dirent *de;

        *n = 0;
        if (d == NULL) {
                snprintf(errstr, errstr_size, "cannot open migrations directory \"%s\": %s", dir,
                         strerror(errno));
                return -1;
        }
        while ((de = readdir(d)) != NULL) {
                const char *s = de->d_name;
                size_t len = strlen(s);
                char *end;
                long v;

                if (len < 6 || strcmp(s + len - 4, ".sql") != 0 || s[0] < '0' || s[0] > '9')
                        continue;
                errno = 0;
                v = strtol(s, &end, 10);
                if (errno != 0 || *end != '_' || v <= 0 || len >= sizeof(out->name)) {
                        snprintf(errstr, errstr_size, "migration file \"%s/%s\": expected "
                                 "NNN_name.sql with NNN > 0", dir, s);
                        closedir(d);
                        return -1;
                }
                if (*n == MIGRATIONS_MAX) {
                        snprintf(errstr, errstr_size, "more than %d migrations in \"%s\"",
                                 MIGRATIONS_MAX, dir);
                        closedir(d);
                        return -1;
                }
                out[*n].version = v;
                snprintf(out[*n].name, sizeof(out[*n].name), "%s", s);
                (*n)++;
        }
        closedir(d);
        qsort(out, *n, sizeof(*out), migration_cmp);
        for (size_t i = 1; i < *n; i++)
                if (out[i].version == out[i - 1].version) {
                        snprintf(errstr, errstr_size, "migrations \"%s\" and \"%s\" have the "
                                 "same version %ld", out[i - 1].name, out[i].name,
                                 out[i].version);
                        return -1;
                }
        return 0;
}

static char *read_file(const char *path, char *errstr, size_t errstr_size) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long len;

        if (f == NULL) {
                snprintf(errstr, errstr_size, "cannot open \"%s\": %s", path, strerror(errno));
                return NULL;
        }
        if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > MIGRATION_FILE_MAX ||
            fseek(f, 0, SEEK_SET) != 0) {
                snprintf(errstr, errstr_size, "cannot read \"%s\" (or larger than %d bytes)",
                         path, MIGRATION_FILE_MAX);
                goto out_close;
        }
        buf = malloc((size_t)len + 1);
        if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
                snprintf(errstr, errstr_size, "cannot read \"%s\"", path);
                free(buf);
                buf = NULL;
                goto out_close;
        }
        buf[len] = '\0';
out_close:
        fclose(f);
        return buf;
}

pgx_err_t pgx_migrate(PGconn *conn, const char *schema, const char *dir, int *applied,
                      char *errstr, size_t errstr_size) {
        migration_t *files = NULL;
        size_t nfiles = 0;
        PGresult *res = NULL;
        pgx_err_t err;
        char sql[512], why[1024];
        const char *params[2];
        int napplied = 0;

        if (applied)
                *applied = 0;
        if (!pgx_ident_valid(schema)) {
                snprintf(errstr, errstr_size, "invalid schema name \"%s\": expected "
                         "[a-z_][a-z0-9_]*, at most 63 characters", schema ? schema : "");
                return PGX_ERR_ARG;
        }
        files = calloc(MIGRATIONS_MAX, sizeof(*files));
        if (files == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        if (migrations_list(dir, files, &nfiles, errstr, errstr_size) != 0) {
                free(files);
                return PGX_ERR_ARG;
        }

        if ((err = pgx_exec(conn, "BEGIN", errstr, errstr_size)) != PGX_OK)
                goto out_free;
        params[0] = schema;
        err = pgx_query(conn, "SELECT pg_advisory_xact_lock(hashtext('pgx_migrate'), hashtext($1))",
                        1, params, &res, errstr, errstr_size);
        PQclear(res);
        res = NULL;
        if (err != PGX_OK)
                goto out_rollback;
        snprintf(sql, sizeof(sql),
                 "CREATE SCHEMA IF NOT EXISTS %s; SET LOCAL search_path TO %s; "
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "version integer PRIMARY KEY, name text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now())",
                 schema, schema);
        if ((err = pgx_exec(conn, sql, errstr, errstr_size)) != PGX_OK)
                goto out_rollback;
        if ((err = pgx_query(conn, "SELECT version, name FROM schema_migrations ORDER BY version",
                             0, NULL, &res, errstr, errstr_size)) != PGX_OK)
                goto out_rollback;

        for (size_t i = 0; i < nfiles; i++) {
                bool done = false;
                char path[4096], vbuf[24], *text;

                for (int r = 0; r < PQntuples(res); r++) {
                        if (atol(PQgetvalue(res, r, 0)) != files[i].version)
                                continue;
                        if (strcmp(PQgetvalue(res, r, 1), files[i].name) != 0) {
                                snprintf(errstr, errstr_size, "migration version %ld of schema "
                                         "\"%s\" was applied as \"%s\", the directory has \"%s\"",
                                         files[i].version, schema, PQgetvalue(res, r, 1),
                                         files[i].name);
                                err = PGX_ERR_ARG;
                                goto out_rollback;
                        }
                        done = true;
                }
                if (done)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
                if ((text = read_file(path, errstr, errstr_size)) == NULL) {
                        err = PGX_ERR_ARG;
                        goto out_rollback;
                }
                err = pgx_exec(conn, text, why, sizeof(why));
                free(text);
                if (err != PGX_OK) {
                        snprintf(errstr, errstr_size, "migration \"%s\" of schema \"%s\" failed: %s",
                                 files[i].name, schema, why);
                        goto out_rollback;
                }
                snprintf(vbuf, sizeof(vbuf), "%ld", files[i].version);
                params[0] = vbuf;
                params[1] = files[i].name;
                PGresult *ins;
                if ((err = pgx_query(conn, "INSERT INTO schema_migrations (version, name) "
                                           "VALUES ($1, $2)", 2, params, &ins, errstr,
                                     errstr_size)) != PGX_OK)
                        goto out_rollback;
                PQclear(ins);
                napplied++;
        }
        if ((err = pgx_exec(conn, "COMMIT", errstr, errstr_size)) != PGX_OK)
                goto out_free;
        if (applied)
                *applied = napplied;
        goto out_free;

out_rollback:
        PQclear(PQexec(conn, "ROLLBACK"));
out_free:
        PQclear(res);
        free(files);
        return err;
}

/* ------------------------------------------------------------------ buffers */

static bool buf_reserve(pgx_buf_t *b, size_t more) {
        size_t cap;
        char *p;

        if (b->pb_oom)
                return false;
        if (b->pb_len + more <= b->pb_cap)
                return true;
        cap = b->pb_cap ? b->pb_cap : 4096;
        while (cap < b->pb_len + more)
                cap *= 2;
        p = realloc(b->pb_data, cap);
        if (p == NULL) {
                b->pb_oom = true;
                return false;
        }
        b->pb_data = p;
        b->pb_cap = cap;
        return true;
}

void pgx_buf_reset(pgx_buf_t *b) {
        b->pb_len = 0;
        b->pb_oom = false;
}

void pgx_buf_free(pgx_buf_t *b) {
        if (b == NULL)
                return;
        free(b->pb_data);
        memset(b, 0, sizeof(*b));
}

void pgx_buf_put(pgx_buf_t *b, const void *data, size_t len) {
        if (len == 0 || !buf_reserve(b, len))
                return;
        memcpy(b->pb_data + b->pb_len, data, len);
        b->pb_len += len;
}

void pgx_buf_puts(pgx_buf_t *b, const char *s) {
        pgx_buf_put(b, s, strlen(s));
}

void pgx_buf_putc(pgx_buf_t *b, char c) {
        if (!buf_reserve(b, 1))
                return;
        b->pb_data[b->pb_len++] = c;
}

void pgx_buf_printf(pgx_buf_t *b, const char *fmt, ...) {
        va_list ap;
        int n;

        if (!buf_reserve(b, 64))
                return;
        va_start(ap, fmt);
        n = vsnprintf(b->pb_data + b->pb_len, b->pb_cap - b->pb_len, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n >= b->pb_cap - b->pb_len) {
                if (!buf_reserve(b, (size_t)n + 1))
                        return;
                va_start(ap, fmt);
                vsnprintf(b->pb_data + b->pb_len, b->pb_cap - b->pb_len, fmt, ap);
                va_end(ap);
        }
        b->pb_len += (size_t)n;
}

/* Appends @s escaped for COPY text; @quote_array also escapes '"' and '\' for an array
 * element (the array layer first, then COPY's backslash doubling). */
static void copy_escape(pgx_buf_t *b, const char *s, bool array_elem) {
        size_t len = strlen(s);

        if (!buf_reserve(b, len * 4 + 2))
                return;
        for (const char *p = s; *p != '\0'; p++) {
                char *o = b->pb_data + b->pb_len;
                switch (*p) {
                case '\\':
                        if (array_elem) {       /* \\ in the literal, each doubled for COPY */
                                memcpy(o, "\\\\\\\\", 4);
                                b->pb_len += 4;
                        } else {
                                memcpy(o, "\\\\", 2);
                                b->pb_len += 2;
                        }
                        break;
                case '"':
                        if (array_elem) {       /* \" in the literal; its \ doubled */
                                memcpy(o, "\\\\\"", 3);
                                b->pb_len += 3;
                        } else {
                                *o = '"';
                                b->pb_len++;
                        }
                        break;
                case '\t': memcpy(o, "\\t", 2); b->pb_len += 2; break;
                case '\n': memcpy(o, "\\n", 2); b->pb_len += 2; break;
                case '\r': memcpy(o, "\\r", 2); b->pb_len += 2; break;
                default:
                        *o = *p;
                        b->pb_len++;
                }
        }
}

void pgx_buf_copy_text(pgx_buf_t *b, const char *s) {
        copy_escape(b, s, false);
}

void pgx_buf_copy_text_or_null(pgx_buf_t *b, const char *s) {
        if (s == NULL || *s == '\0')
                pgx_buf_put(b, "\\N", 2);
        else
                copy_escape(b, s, false);
}

void pgx_buf_copy_text_array(pgx_buf_t *b, const char *items, size_t stride, size_t n) {
        pgx_buf_putc(b, '{');
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        pgx_buf_putc(b, ',');
                pgx_buf_putc(b, '"');
                copy_escape(b, items + i * stride, true);
                pgx_buf_putc(b, '"');
        }
        pgx_buf_putc(b, '}');
}

void pgx_buf_copy_time_ms(pgx_buf_t *b, int64_t ms) {
        int64_t secs = ms / 1000, frac = ms % 1000;
        time_t t;
        struct tm tm;

        if (frac < 0) {
                frac += 1000;
                secs -= 1;
        }
        t = (time_t)secs;
        if (gmtime_r(&t, &tm) == NULL) {
                pgx_buf_put(b, "\\N", 2);
                return;
        }
        pgx_buf_printf(b, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* ------------------------------------------------------------------ binary COPY */

static void put_be32(pgx_buf_t *b, uint32_t v) {
        uint32_t n = htonl(v);
        pgx_buf_put(b, &n, 4);
}

static void put_be16(pgx_buf_t *b, uint16_t v) {
        uint16_t n = htons(v);
        pgx_buf_put(b, &n, 2);
}

static void put_be64(pgx_buf_t *b, uint64_t v) {
        put_be32(b, (uint32_t)(v >> 32));
        put_be32(b, (uint32_t)v);
}

void pgx_bin_row(pgx_buf_t *b, int nfields) {
        put_be16(b, (uint16_t)nfields);
}

void pgx_bin_null(pgx_buf_t *b) {
        put_be32(b, 0xFFFFFFFFu);
}

void pgx_bin_uuid(pgx_buf_t *b, const uint8_t bytes[16]) {
        put_be32(b, 16);
        pgx_buf_put(b, bytes, 16);
}

void pgx_bin_int8(pgx_buf_t *b, int64_t v) {
        put_be32(b, 8);
        put_be64(b, (uint64_t)v);
}

void pgx_bin_int4(pgx_buf_t *b, int32_t v) {
        put_be32(b, 4);
        put_be32(b, (uint32_t)v);
}

void pgx_bin_bool(pgx_buf_t *b, bool v) {
        put_be32(b, 1);
        pgx_buf_putc(b, v ? 1 : 0);
}

void pgx_bin_text(pgx_buf_t *b, const char *s) {
        size_t len = strlen(s);
        put_be32(b, (uint32_t)len);
        pgx_buf_put(b, s, len);
}

void pgx_bin_text_or_null(pgx_buf_t *b, const char *s) {
        if (s == NULL || *s == '\0')
                pgx_bin_null(b);
        else
                pgx_bin_text(b, s);
}

void pgx_bin_bytea(pgx_buf_t *b, const void *data, size_t len) {
        put_be32(b, (uint32_t)len);
        pgx_buf_put(b, data, len);
}

/* PostgreSQL's epoch is 2000-01-01 00:00:00 UTC; timestamps are microseconds from it. */
#define PG_EPOCH_MS INT64_C(946684800000)

void pgx_bin_time_ms(pgx_buf_t *b, int64_t ms) {
        put_be32(b, 8);
        put_be64(b, (uint64_t)((ms - PG_EPOCH_MS) * 1000));
}

#define TEXTOID 25

void pgx_bin_text_array(pgx_buf_t *b, const char *items, size_t stride, size_t n) {
        size_t total = n == 0 ? 12 : 20;

        for (size_t i = 0; i < n; i++)
                total += 4 + strlen(items + i * stride);
        put_be32(b, (uint32_t)total);
        put_be32(b, n == 0 ? 0 : 1);    /* dimensions */
        put_be32(b, 0);                 /* no NULL elements */
        put_be32(b, TEXTOID);
        if (n == 0)
                return;
        put_be32(b, (uint32_t)n);       /* size of dimension 1 */
        put_be32(b, 1);                 /* its lower bound */
        for (size_t i = 0; i < n; i++) {
                const char *s = items + i * stride;
                size_t len = strlen(s);
                put_be32(b, (uint32_t)len);
                pgx_buf_put(b, s, len);
        }
}

pgx_err_t pgx_copy_in_binary(PGconn *conn, const char *copy_sql, const char *data, size_t len,
                             char *errstr, size_t errstr_size) {
        static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
        pgx_buf_t all = {0};
        pgx_err_t err;

        pgx_buf_put(&all, header, sizeof(header));
        pgx_buf_put(&all, data, len);
        put_be16(&all, 0xFFFF);
        if (all.pb_oom) {
                pgx_buf_free(&all);
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        err = pgx_copy_in(conn, copy_sql, all.pb_data, all.pb_len, errstr, errstr_size);
        pgx_buf_free(&all);
        return err;
}

/* ------------------------------------------------------------------ bulk writes */

pgx_err_t pgx_copy_in(PGconn *conn, const char *copy_sql, const char *data, size_t len,
                      char *errstr, size_t errstr_size) {
        PGresult *res = PQexec(conn, copy_sql);
        char head[80];
        pgx_err_t err;

        sql_head(copy_sql, head, sizeof(head));
        if (PQresultStatus(res) != PGRES_COPY_IN)
                return fail_res(conn, res, head, errstr, errstr_size);
        PQclear(res);
        /* Blocking connection: PQputCopyData queues and flushes as needed. Send in 1 MiB
         * pieces so libpq's buffer stays small. */
        for (size_t off = 0; off < len;) {
                size_t n = len - off > (1u << 20) ? (1u << 20) : len - off;
                if (PQputCopyData(conn, data + off, (int)n) != 1) {
                        err = fail_res(conn, NULL, head, errstr, errstr_size);
                        return err == PGX_OK ? PGX_ERR_CONN : err;
                }
                off += n;
        }
        if (PQputCopyEnd(conn, NULL) != 1)
                return fail_res(conn, NULL, head, errstr, errstr_size);
        err = PGX_OK;
        while ((res = PQgetResult(conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && err == PGX_OK) {
                        err = fail_res(conn, res, head, errstr, errstr_size);
                        continue;
                }
                PQclear(res);
        }
        if (err == PGX_OK && PQstatus(conn) != CONNECTION_OK)
                return fail_res(conn, NULL, head, errstr, errstr_size);
        return err;
}

pgx_err_t pgx_pipeline(PGconn *conn, const pgx_stmt_t *stmts, size_t n, char *errstr,
                       size_t errstr_size) {
        pgx_err_t err = PGX_OK;
        char head[80];
        size_t got = 0;
        int nulls = 0;

        if (n == 0)
                return PGX_OK;
        if (PQenterPipelineMode(conn) != 1)
                return fail_res(conn, NULL, "cannot enter pipeline mode", errstr, errstr_size);
        for (size_t i = 0; i < n; i++)
                if (PQsendQueryParams(conn, stmts[i].ps_sql, stmts[i].ps_nparams, NULL,
                                      stmts[i].ps_params, NULL, NULL, 0) != 1) {
                        sql_head(stmts[i].ps_sql, head, sizeof(head));
                        err = fail_res(conn, NULL, head, errstr, errstr_size);
                        if (err == PGX_OK)
                                err = PGX_ERR_CONN;
                        goto out;
                }
        if (PQpipelineSync(conn) != 1) {
                err = fail_res(conn, NULL, "pipeline sync", errstr, errstr_size);
                goto out;
        }
        /* One result set per statement, each followed by NULL, then the sync's result. */
        while (got <= n) {
                PGresult *res = PQgetResult(conn);
                ExecStatusType st;

                if (res == NULL) {
                        /* The end of one statement's results; two in a row mean that
                         * nothing more will come (the connection broke). */
                        if (PQstatus(conn) != CONNECTION_OK || ++nulls > 1) {
                                if (err == PGX_OK)
                                        err = fail_res(conn, NULL, "pipeline", errstr,
                                                       errstr_size);
                                if (err == PGX_OK)
                                        err = PGX_ERR_CONN;
                                break;
                        }
                        continue;
                }
                nulls = 0;
                st = PQresultStatus(res);
                if (st == PGRES_PIPELINE_SYNC) {
                        PQclear(res);
                        break;
                }
                got++;
                if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_PIPELINE_ABORTED) {
                        PQclear(res);
                        continue;
                }
                if (err == PGX_OK) {
                        sql_head(got - 1 < n ? stmts[got - 1].ps_sql : "pipeline", head,
                                 sizeof(head));
                        err = fail_res(conn, res, head, errstr, errstr_size);
                } else {
                        PQclear(res);
                }
        }
out:
        if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn) != 1 &&
            err == PGX_OK)
                err = fail_res(conn, NULL, "cannot leave pipeline mode", errstr, errstr_size);
        return err;
}
