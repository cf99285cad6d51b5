/*
 * pgx: the libpq helpers every service shares.
 *
 *   pgx_connect      connect with retry and exponential backoff, session set up for UTC
 *   pgx_exec/query   one statement, parameters as text, the error as text and a class
 *   pgx_migrate      versioned NNN_name.sql files applied once, in one transaction, under
 *                    an advisory lock, recorded in <schema>.schema_migrations
 *   pgx_copy_in      COPY ... FROM STDIN of a buffer (text format)
 *   pgx_pipeline     many statements in one round trip (libpq pipeline mode)
 *   pgx_buf          a growable buffer with the COPY text escapes and array literals
 *
 * Errors come as pgx_err_t: PGX_ERR_CONN means the server went away, is shutting down or
 * is restarting (retry on a new connection: nothing of the open transaction survived);
 * PGX_ERR_SQL means the statement itself failed (a bug or bad data: retrying will not
 * help). The reason goes into @errstr, subject first.
 *
 * Server notices and warnings of connections made here go to bg_log.
 *
 * @locality a PGconn belongs to one thread at a time; the functions keep no global state.
 */
#ifndef PGX_H
#define PGX_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
        PGX_OK = 0,
        PGX_ERR_CONN,   /* connection lost / server shutting down or starting: retry */
        PGX_ERR_SQL,    /* the statement failed: do not retry blindly */
        PGX_ERR_ARG,    /* caller error: bad schema name, unreadable migration file ... */
        PGX_ERR_NOMEM,
} pgx_err_t;

/* A static, never-NULL name for @err. */
const char *pgx_err2str(pgx_err_t err);

/* True for a name usable unquoted as a schema: [a-z_][a-z0-9_]{0,62}. Services take
 * schema names from configuration; this keeps them out of SQL injection's way. */
bool pgx_ident_valid(const char *name);

/*
 * Connecting
 */

/* Connects to @conninfo, retrying with exponential backoff (100 ms doubling up to 5 s)
 * until it succeeds, @max_wait_ms passes (0: a single attempt; -1: forever) or *@stop
 * becomes non-zero (@stop may be NULL). The session gets TimeZone=UTC and
 * client_min_messages=warning. Returns the connection (PQfinish it), or NULL with the last
 * reason ("cannot connect to PostgreSQL at host=... port=...: ...") in @errstr. */
PGconn *pgx_connect(const char *conninfo, int max_wait_ms, volatile sig_atomic_t *stop,
                    char *errstr, size_t errstr_size);

/* Classifies a failed @res (NULL: a result that never came) of @conn. */
pgx_err_t pgx_classify(PGconn *conn, const PGresult *res);

/* Describes a failed @res of @conn in @errstr as "@what: message (SQLSTATE x)" and
 * classifies it (never PGX_OK); @res stays the caller's to PQclear. */
pgx_err_t pgx_result_error(PGconn *conn, const PGresult *res, const char *what, char *errstr,
                           size_t errstr_size);

/*
 * Statements
 */

/* Runs @sql (may hold several statements when @nparams is 0) and discards the result.
 * PGX_OK when it succeeded. */
pgx_err_t pgx_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size);

/* Runs @sql with @nparams text parameters (NULL entries are SQL NULL). On PGX_OK *@out
 * holds the result (PQclear it); otherwise *@out is NULL and @errstr says why. */
pgx_err_t pgx_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                    PGresult **out, char *errstr, size_t errstr_size);

/*
 * Migrations
 */

/* Applies to @schema (created if missing) every file "NNN_name.sql" of @dir (NNN a
 * positive decimal version; files are applied in version order) that
 * @schema.schema_migrations does not list yet. All pending files run in one transaction
 * with search_path set to @schema (so migrations name tables unqualified and the same
 * files can build any schema), under a transaction-level advisory lock on the schema, so
 * that concurrent starters apply each version once. A version recorded under another
 * file name, or two files with one version, is an error (PGX_ERR_ARG). *@applied (may be
 * NULL) gets the number of files applied now. */
pgx_err_t pgx_migrate(PGconn *conn, const char *schema, const char *dir, int *applied,
                      char *errstr, size_t errstr_size);

/*
 * Bulk writes
 */

/* A growable byte buffer. A zeroed pgx_buf_t is empty and valid. Appends never fail
 * visibly: when memory runs out the buffer sets pb_oom and ignores further appends;
 * check it once before using the contents. */
typedef struct pgx_buf_s {
        char *pb_data;
        size_t pb_len;
        size_t pb_cap;
        bool pb_oom;
} pgx_buf_t;

void pgx_buf_reset(pgx_buf_t *b);               /* empties, keeps the memory */
void pgx_buf_free(pgx_buf_t *b);                /* frees and zeroes; NULL is a no-op */
void pgx_buf_put(pgx_buf_t *b, const void *data, size_t len);
void pgx_buf_puts(pgx_buf_t *b, const char *s);
void pgx_buf_putc(pgx_buf_t *b, char c);
void pgx_buf_printf(pgx_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* COPY text format: a field is written escaped (backslash, tab, newline, carriage
 * return); pgx_buf_copy_null writes \N; the caller writes the '\t' between fields and
 * the '\n' after a row. */
void pgx_buf_copy_text(pgx_buf_t *b, const char *s);
/* @s, or \N when @s is NULL or "". */
void pgx_buf_copy_text_or_null(pgx_buf_t *b, const char *s);
/* A text[] field: the array literal {"a","b"} of the @n strings at @items, each @stride
 * bytes apart (fixed-size char arrays), escaped for the literal and then for COPY. */
void pgx_buf_copy_text_array(pgx_buf_t *b, const char *items, size_t stride, size_t n);
/* A timestamptz field from milliseconds since the epoch: "2026-11-26 16:01:02.345+00". */
void pgx_buf_copy_time_ms(pgx_buf_t *b, int64_t ms);

/* COPY binary format (no text parsing on the server: the fast path for bulk loads). A
 * row is pgx_bin_row(n) followed by exactly n fields; pgx_copy_in_binary adds the file
 * header and trailer. Integers are big-endian as the format wants. */
void pgx_bin_row(pgx_buf_t *b, int nfields);
void pgx_bin_null(pgx_buf_t *b);
void pgx_bin_uuid(pgx_buf_t *b, const uint8_t bytes[16]);
void pgx_bin_int8(pgx_buf_t *b, int64_t v);
void pgx_bin_int4(pgx_buf_t *b, int32_t v);
void pgx_bin_bool(pgx_buf_t *b, bool v);
/* text: the bytes of @s (UTF-8, no escaping); pgx_bin_text_or_null: NULL for NULL or "". */
void pgx_bin_text(pgx_buf_t *b, const char *s);
void pgx_bin_text_or_null(pgx_buf_t *b, const char *s);
void pgx_bin_bytea(pgx_buf_t *b, const void *data, size_t len);
/* timestamptz from milliseconds since the Unix epoch. */
void pgx_bin_time_ms(pgx_buf_t *b, int64_t ms);
/* text[] of the @n strings at @items, each @stride bytes apart. */
void pgx_bin_text_array(pgx_buf_t *b, const char *items, size_t stride, size_t n);

/* Runs @copy_sql ("COPY t (a, b) FROM STDIN (FORMAT binary)") and sends the header, the
 * @len bytes of rows at @data and the trailer. */
pgx_err_t pgx_copy_in_binary(PGconn *conn, const char *copy_sql, const char *data, size_t len,
                             char *errstr, size_t errstr_size);

/* Runs @copy_sql ("COPY t (a, b) FROM STDIN") and sends the @len bytes at @data (rows
 * in COPY text format). PGX_OK when the server accepted every row. */
pgx_err_t pgx_copy_in(PGconn *conn, const char *copy_sql, const char *data, size_t len,
                      char *errstr, size_t errstr_size);

/* One statement of a pipeline: text parameters, NULL entries are SQL NULL. */
typedef struct pgx_stmt_s {
        const char *ps_sql;
        int ps_nparams;
        const char *const *ps_params;
} pgx_stmt_t;

/* Sends the @n statements in pipeline mode with one sync at the end and reads every
 * result: one round trip. The statements run in order; after the first failure the
 * server skips the rest (so run them inside a transaction the caller rolls back). The
 * first error is returned. The connection leaves pipeline mode before returning. */
pgx_err_t pgx_pipeline(PGconn *conn, const pgx_stmt_t *stmts, size_t n, char *errstr,
                       size_t errstr_size);

#endif /* PGX_H */
