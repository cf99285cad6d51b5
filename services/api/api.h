/*
 * billing-api: the HTTP/JSON API over the read models (docs/api.md).
 *
 *   api_conf      configuration from the environment (one table, api_conf.c)
 *   api_pool      a small pool of PostgreSQL connections (search_path set once)
 *   api_bus       commands out to billing.commands, results in from
 *                 billing.command-results, and the read-your-writes wait
 *   api_auth      bearer tokens (api_tokens, stored as SHA-256) and service tokens
 *   api_http      libmicrohttpd plumbing: bodies, limits, routing, replies
 *   api_routes_*  the endpoints
 *
 * Threads: libmicrohttpd runs one thread per connection (a write blocks only its own
 * connection while it waits for its command); api_bus runs one thread reading results.
 * Everything a request touches is either its own (api_req_t) or locked (pool, bus).
 */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_command.h"
#include "bg_metrics.h"
#include "bg_uuid.h"

#define API_SERVICE_TOKENS_MAX 16
#define API_MAX_SEGMENTS       8
#define API_ERRSTR_SIZE        512

/* ------------------------------------------------------------------ configuration */

typedef struct api_service_token_s {
        char st_name[BG_SERVICE_NAME_MAX + 1];  /* the principal is "service:<name>" */
        uint8_t st_sha256[32];
} api_service_token_t;

typedef struct api_conf_s {
        char ac_listen[64];             /* BILLING_API_ADDR */
        char ac_admin_addr[64];         /* BILLING_ADMIN_ADDR */
        char ac_conninfo[1024];         /* BILLING_PG_CONNINFO */
        char ac_schema[64];             /* BILLING_PG_SCHEMA: the projector's read models */
        char ac_invoicer_schema[64];    /* BILLING_INVOICER_SCHEMA: invoices and lines */
        char ac_api_schema[64];         /* BILLING_API_SCHEMA: api_tokens */
        char ac_migrations_dir[1024];   /* BILLING_API_MIGRATIONS_DIR */
        char ac_schemas_dir[1024];      /* BILLING_SCHEMAS_DIR: Avro schemas + manifest */
        int64_t ac_pg_pool;             /* BILLING_API_PG_POOL: connections at most */
        int64_t ac_max_connections;     /* BILLING_API_MAX_CONNECTIONS: HTTP clients */
        int64_t ac_body_max;            /* BILLING_API_BODY_MAX: bytes of a request body */
        int64_t ac_write_timeout_ms;    /* BILLING_API_WRITE_TIMEOUT_MS */
        int64_t ac_seq_poll_ms;         /* BILLING_API_SEQ_POLL_MS */
        int64_t ac_idle_timeout_s;      /* BILLING_API_IDLE_TIMEOUT_S */
        /* BILLING_API_SERVICE_TOKENS: "name:sha256hex,..." */
        api_service_token_t ac_service_tokens[API_SERVICE_TOKENS_MAX];
        size_t ac_n_service_tokens;
} api_conf_t;

/* Reads the configuration; -1 with a reason naming the variable on a bad value. */
int api_conf_load(api_conf_t *conf, char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------ PostgreSQL pool */

typedef struct api_pool_s api_pool_t;

/* A pool of at most @max connections to @conninfo, each with search_path @search_path
 * (a list of validated identifiers). Connects lazily. */
api_pool_t *api_pool_new(const char *conninfo, const char *search_path, int max);
void api_pool_destroy(api_pool_t *pool);        /* NULL is a no-op; every conn returned */

/* A connection for this thread's exclusive use, or NULL (and a reason) when none could
 * be had within @wait_ms. Return it with api_pool_put. */
PGconn *api_pool_get(api_pool_t *pool, int wait_ms, char *errstr, size_t errstr_size);
/* Gives @conn back; a connection that failed (@broken, or not CONNECTION_OK) is closed. */
void api_pool_put(api_pool_t *pool, PGconn *conn, bool broken);

/* ------------------------------------------------------------------ command bus */

typedef struct api_bus_s api_bus_t;

typedef enum {
        API_BUS_OK = 0,         /* a result came: see *out */
        API_BUS_TIMEOUT,        /* no result within the time given */
        API_BUS_ERROR,          /* the command could not be published */
} api_bus_status_t;

/* Producer (murmur2 partitioner, idempotent) and the results reader, positioned at the
 * end of every partition of billing.command-results before this returns, so that no
 * result of a command published afterwards can be missed. */
api_bus_t *api_bus_new(const char *schemas_dir, char *errstr, size_t errstr_size);
void api_bus_destroy(api_bus_t *bus);           /* NULL is a no-op */

/* Publishes @cmd keyed by its account id and waits until @deadline_ms (CLOCK_MONOTONIC
 * ms) for its result. @locality any thread. */
api_bus_status_t api_bus_submit(api_bus_t *bus, const bg_command_t *cmd, int64_t deadline_ms,
                                bg_command_result_t *out, char *errstr, size_t errstr_size);

/* Milliseconds since the results reader last polled (health). */
int64_t api_bus_idle_ms(const api_bus_t *bus);

/* ------------------------------------------------------------------ service */

typedef struct api_svc_s {
        const api_conf_t *as_conf;
        api_pool_t *as_pool;                    /* read models and api_tokens */
        api_pool_t *as_inv_pool;                /* the invoicer's schema */
        api_bus_t *_Atomic as_bus;   /* read by the admin thread (health) */
        struct MHD_Daemon *as_daemon;
        int as_port;
        bg_metrics_t *as_metrics;
        bg_counter_t *m_status[6];              /* 1xx..5xx, by hundreds */
        bg_counter_t *m_outcome[BG_OUTCOME__COUNT];
        bg_counter_t *m_write_timeout;
        bg_counter_t *m_write_unprojected;
        bg_histogram_t *m_seconds;
        bg_histogram_t *m_write_seconds;
} api_svc_t;

/* Starts libmicrohttpd on ac_listen (api_http.c); svc->as_port gets the bound port. */
int api_http_start(api_svc_t *svc, char *errstr, size_t errstr_size);

/* Runs until *@stop. Returns the exit code (0 clean stop, 1 fatal). */
int api_service_run(const api_conf_t *conf, volatile sig_atomic_t *stop);

int64_t api_mono_ms(void);
int64_t api_now_ms(void);

/* ------------------------------------------------------------------ requests */

/* Who is calling: a user token (scoped to one account) or a service token (any account). */
typedef struct api_principal_s {
        bool ap_service;
        char ap_actor[BG_ACTOR_SIZE];           /* "user:<email>" or "service:<name>" */
        char ap_email[BG_EMAIL_SIZE];           /* users */
        bg_uuid_t ap_account;                   /* users: the token's account */
        bg_role_t ap_role;                      /* users: min(token role, member role) */
        uint8_t ap_token_sha256[32];
} api_principal_t;

typedef struct api_req_s {
        api_svc_t *ar_svc;
        struct MHD_Connection *ar_conn;
        const char *ar_method;
        int64_t ar_t0_ms;
        /* the body, at most ac_body_max bytes */
        char *ar_body;
        size_t ar_body_len, ar_body_cap;
        bool ar_too_large;
        bool ar_answered;                       /* a response is queued */
        char ar_etag[32];                       /* ETag of the response, when set */
        char ar_allow[64];                      /* Allow of a 405 */
        /* the matched route's {} segments, NUL-terminated, percent-decoded */
        char ar_path[2048];
        const char *ar_arg[API_MAX_SEGMENTS];
        int ar_nargs;
        api_principal_t ar_who;
        PGconn *ar_pg[2];                       /* per API_DB_*, on first use */
        bool ar_pg_broken[2];
} api_req_t;

/* The two databases a request may read: the read models (search_path: BILLING_PG_SCHEMA,
 * BILLING_API_SCHEMA) and the invoicer's schema (its own, because its table names, such as
 * credits, overlap the projector's). */
#define API_DB_MAIN     0
#define API_DB_INVOICER 1

/* Runs @sql with text @params on the request's connection to @db (taken from its pool on
 * first use, returned when the request is answered). On failure answers 503 (no or lost
 * connection) or 500 and returns NULL. The caller PQclears the result. */
PGresult *api_query_db(api_req_t *req, int db, const char *sql, int nparams,
                       const char *const *params);
#define api_query(req, sql, n, params) api_query_db((req), API_DB_MAIN, (sql), (n), (params))

/* Returns the request's connections to their pools (before a long wait, and at the end). */
void api_req_release(api_req_t *req);

/* Replies. Each queues the response (at most one per request) and returns 0. */
int api_reply_json(api_req_t *req, unsigned status, json_t *body);     /* steals @body */
int api_reply_text(api_req_t *req, unsigned status, const char *content_type, char *text,
                   size_t len);                                         /* takes @text */
/* {"message": ..., "errors": [{"message", "status"}], "error": {"code", "message"}} */
int api_reply_error(api_req_t *req, unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* The HTTP status of a rejection code: invalid_argument 400, forbidden 403, not_found 404,
 * already_exists and failed_precondition 409, conflict 412. */
unsigned api_reject_status(bg_reject_code_t code);

/* Query parameter @name, or NULL. */
const char *api_query_arg(api_req_t *req, const char *name);
/* Request header @name, or NULL. */
const char *api_header(api_req_t *req, const char *name);

/* The body as a JSON object (strict: bgj_parse), or NULL after answering 400. */
json_t *api_body_object(api_req_t *req);

/* Parses the path argument @i as a UUID; answers 400 naming @what and returns false. */
bool api_arg_uuid(api_req_t *req, int i, const char *what, bg_uuid_t *out);

/* Rank of a role for comparisons: viewer 1 < billing_admin 2 < admin 3; none 0. */
int api_role_rank(bg_role_t role);

/* ------------------------------------------------------------------ auth */

/* Authenticates the Authorization header. Returns true with req->ar_who filled, or false
 * after answering 401 (no / unknown / revoked token), 403 (no longer a member) or 503. */
bool api_auth(api_req_t *req);

/* The account the request acts on: for users their token's account (an @explicit account
 * id that differs answers 404); services must name it (@explicit; else 400). Returns
 * false after answering. @explicit may be NULL. */
bool api_scope_account(api_req_t *req, const char *explicit_id, bg_uuid_t *out);

/* True when the caller's role reaches @need (services always); else answers 403. */
bool api_require_role(api_req_t *req, bg_role_t need);

/* A new random token: 64 lower-case hex digits (32 bytes of RAND_bytes) into @hex (65
 * bytes) and its SHA-256 into @sha. Returns false when the RNG failed. */
bool api_token_new(char hex[65], uint8_t sha[32]);

/* Lower-case hex of @len bytes into @out (2 * len + 1 bytes). */
void api_hex(const uint8_t *bytes, size_t len, char *out);

/* ------------------------------------------------------------------ writes */

/* Fills the envelope of @cmd: command_id (the Idempotency-Key header when it is a UUID,
 * else random), @account, the caller as actor, issued_at now, expected_version from
 * If-Match ("<n>" or n). Returns false after answering 400 (bad header). */
bool api_command_init(api_req_t *req, bg_command_t *cmd, bg_command_type_t type,
                      const bg_uuid_t *account);

/* The id of the resource a create command makes, derived from its command id (a version 4
 * UUID from SHA-256(command_id || @what)): a retry with the same Idempotency-Key names
 * the same resource, and the duplicate answer can read it back. */
void api_derived_id(const bg_uuid_t *command_id, const char *what, bg_uuid_t *out);

/* Reads @payload (an object; borrowed) into @cmd->payload through bgj_command_from_json
 * (strict: unknown keys, types, limits). Returns false after answering 400. */
bool api_command_payload(api_req_t *req, bg_command_t *cmd, json_t *payload);

/* Publishes @cmd, waits for its result and then for the projector to reach its last
 * seq. Returns true when the caller may now read its own write and answer; otherwise it
 * has answered (rejection: 4xx; no result: 504; accepted but not yet projected: 202;
 * not published: 503). */
bool api_command_run(api_req_t *req, const bg_command_t *cmd);

/* ------------------------------------------------------------------ routes */

typedef int (*api_handler_fn)(api_req_t *req);

typedef struct api_route_s {
        const char *rt_method;
        const char *rt_pattern;                 /* "/v1/billing-group/{}/projects" */
        api_handler_fn rt_fn;
        const char *const *rt_params;           /* allowed query parameters, NULL-ended */
        bool rt_public;                         /* no token needed */
} api_route_t;

extern const api_route_t api_routes[];

/* Handlers (api_routes_*.c). */
int api_h_account_list(api_req_t *req);
int api_h_account_create(api_req_t *req);
int api_h_account_get(api_req_t *req);
int api_h_account_update(api_req_t *req);
int api_h_account_token_create(api_req_t *req);
int api_h_token_revoke_self(api_req_t *req);
int api_h_group_list(api_req_t *req);
int api_h_account_group_list(api_req_t *req);
int api_h_group_create(api_req_t *req);
int api_h_group_get(api_req_t *req);
int api_h_group_update(api_req_t *req);
int api_h_group_delete(api_req_t *req);
int api_h_group_projects(api_req_t *req);
int api_h_group_projects_assign(api_req_t *req);
int api_h_group_events(api_req_t *req);
int api_h_group_credits(api_req_t *req);
int api_h_group_credit_claim(api_req_t *req);
int api_h_group_invoices(api_req_t *req);
int api_h_group_invoice_lines(api_req_t *req);
int api_h_project_list(api_req_t *req);
int api_h_project_create(api_req_t *req);
int api_h_project_get(api_req_t *req);
int api_h_project_delete(api_req_t *req);

/* Shared by the route files: the billing group @id as a response object, within the
 * caller's scope, or NULL (404/5xx answered when @answer). */
json_t *api_group_load(api_req_t *req, const bg_uuid_t *id, bool answer, bg_uuid_t *account_out);
/* Looks up the group of path argument 0 in the caller's scope: its account into
 * @account_out (404 when unknown or not the caller's). */
bool api_group_scope(api_req_t *req, bg_uuid_t *id_out, bg_uuid_t *account_out);
/* Keys of the object @body that are not in @allowed (NULL-ended) nor, when @profile, a
 * billing profile key: answers 400 naming the first and returns false. */
bool api_check_keys(api_req_t *req, json_t *body, const char *const *allowed, bool profile);
/* A row value as JSON: text, or null when SQL NULL. */
json_t *api_col_str(const PGresult *res, int row, int col);
/* A bigint column of ms since the epoch as a timestamp string, or null. */
json_t *api_col_time(const PGresult *res, int row, int col);
/* A bigint column of micros as a money string ("12.340000"), or null. */
json_t *api_col_money(const PGresult *res, int row, int col);

#endif /* API_H */
