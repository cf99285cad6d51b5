/*
 * libmicrohttpd plumbing: request bodies under a cap, routing, query parameter checks,
 * replies and error bodies, and the PostgreSQL connection of a request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bg_admin.h"
#include "bg_json.h"
#include "bg_log.h"
#include "codec_walk.h"
#include "pgx.h"

/* ------------------------------------------------------------------ replies */

static void count_status(api_req_t *req, unsigned status) {
        api_svc_t *svc = req->ar_svc;
        unsigned cls = status / 100;

        if (cls >= 1 && cls <= 5 && svc->m_status[cls] != NULL)
                bg_counter_add(svc->m_status[cls], 1);
        bg_histogram_observe(svc->m_seconds, (double)(api_mono_ms() - req->ar_t0_ms) / 1000.0);
}

static int queue(api_req_t *req, unsigned status, const char *type, char *data, size_t len) {
        struct MHD_Response *resp;

        if (req->ar_answered) {
                bg_log_error("second answer (%u) to %s: a bug", status, req->ar_method);
                free(data);
                return 0;
        }
        req->ar_answered = true;
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
                free(data);
                return 0;
        }
        MHD_add_response_header(resp, "Content-Type", type);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (req->ar_etag[0])
                MHD_add_response_header(resp, "ETag", req->ar_etag);
        if (req->ar_allow[0])
                MHD_add_response_header(resp, "Allow", req->ar_allow);
        if (status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
        if (MHD_queue_response(req->ar_conn, status, resp) != MHD_YES)
                bg_log_warn("cannot queue a %u response", status);
        MHD_destroy_response(resp);
        count_status(req, status);
        return 0;
}

int api_reply_text(api_req_t *req, unsigned status, const char *content_type, char *text,
                   size_t len) {
        return queue(req, status, content_type, text, len);
}

int api_reply_json(api_req_t *req, unsigned status, json_t *body) {
        char *text;

        if (body == NULL)
                return api_reply_error(req, 500, "internal", "cannot build the response");
        text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(body);
        if (text == NULL)
                return api_reply_error(req, 500, "internal", "cannot build the response");
        return queue(req, status, "application/json", text, strlen(text));
}

int api_reply_error(api_req_t *req, unsigned status, const char *code, const char *fmt, ...) {
        char msg[1024], *text;
        json_t *body;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        body = json_pack("{s:s, s:[{s:s, s:i}], s:{s:s, s:s}}", "message", msg, "errors",
                         "message", msg, "status", (int)status, "error", "code", code,
                         "message", msg);
        text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(body);
        if (text == NULL) {
                /* Messages are ours and may hold bytes that are not UTF-8 (quoted input):
                 * jansson refuses those. Say so without them. */
                text = strdup("{\"message\":\"error\",\"error\":{\"code\":\"internal\","
                              "\"message\":\"error\"}}");
                if (text == NULL)
                        return 0;
        }
        return queue(req, status, "application/json", text, strlen(text));
}

/* ------------------------------------------------------------------ request helpers */

const char *api_query_arg(api_req_t *req, const char *name) {
        return MHD_lookup_connection_value(req->ar_conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(api_req_t *req, const char *name) {
        return MHD_lookup_connection_value(req->ar_conn, MHD_HEADER_KIND, name);
}

int api_role_rank(bg_role_t role) {
        switch (role) {
        case BG_ROLE_ADMIN:
                return 3;
        case BG_ROLE_BILLING_ADMIN:
                return 2;
        case BG_ROLE_VIEWER:
                return 1;
        default:
                return 0;
        }
}

static api_pool_t *pool_of(api_req_t *req, int db) {
        return db == API_DB_INVOICER ? req->ar_svc->as_inv_pool : req->ar_svc->as_pool;
}

void api_req_release(api_req_t *req) {
        for (int db = 0; db < 2; db++)
                if (req->ar_pg[db] != NULL) {
                        api_pool_put(pool_of(req, db), req->ar_pg[db], req->ar_pg_broken[db]);
                        req->ar_pg[db] = NULL;
                        req->ar_pg_broken[db] = false;
                }
}

PGresult *api_query_db(api_req_t *req, int db, const char *sql, int nparams,
                       const char *const *params) {
        char errstr[API_ERRSTR_SIZE];
        PGresult *res = NULL;
        pgx_err_t err;

        if (req->ar_pg[db] == NULL) {
                req->ar_pg[db] = api_pool_get(pool_of(req, db), 5000, errstr, sizeof(errstr));
                req->ar_pg_broken[db] = false;
                if (req->ar_pg[db] == NULL) {
                        api_reply_error(req, 503, "unavailable", "the database is not available");
                        return NULL;
                }
        }
        err = pgx_query(req->ar_pg[db], sql, nparams, params, &res, errstr, sizeof(errstr));
        if (err == PGX_OK)
                return res;
        req->ar_pg_broken[db] = true;
        if (err == PGX_ERR_CONN) {
                bg_log_warn("%s", errstr);
                api_reply_error(req, 503, "unavailable", "the database is not available");
        } else {
                bg_log_error("query failed: %s", errstr);
                api_reply_error(req, 500, "internal", "internal error");
        }
        return NULL;
}

json_t *api_body_object(api_req_t *req) {
        char errstr[256];
        json_t *j;

        if (req->ar_body_len == 0) {
                api_reply_error(req, 400, "invalid_argument", "a JSON object body is required");
                return NULL;
        }
        j = bgj_parse(req->ar_body, req->ar_body_len, (size_t)req->ar_svc->as_conf->ac_body_max,
                      errstr, sizeof(errstr));
        if (j == NULL) {
                api_reply_error(req, 400, "invalid_argument", "malformed JSON body: %s", errstr);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                api_reply_error(req, 400, "invalid_argument", "the body must be a JSON object");
                return NULL;
        }
        return j;
}

bool api_arg_uuid(api_req_t *req, int i, const char *what, bg_uuid_t *out) {
        const char *s = i < req->ar_nargs ? req->ar_arg[i] : "";

        if (bg_uuid_parse(s, strlen(s), out))
                return true;
        api_reply_error(req, 400, "invalid_argument", "%s: not a UUID", what);
        return false;
}

/* ------------------------------------------------------------------ routing */

/* Splits @path ("/v1/billing-group/x/projects") in place on '/'. Returns the count or -1
 * when there are too many or an empty one (a doubled slash). */
static int split_path(char *path, char **seg, int max) {
        size_t len = strlen(path);
        char *p;
        int n = 0;

        if (path[0] != '/')
                return -1;
        if (len > 1 && path[len - 1] == '/')
                path[--len] = '\0';                     /* one trailing slash is allowed */
        if (len == 1)
                return 0;
        p = path + 1;
        for (;;) {
                char *slash = strchr(p, '/');

                if (n == max || slash == p || *p == '\0')
                        return -1;
                seg[n++] = p;
                if (slash == NULL)
                        return n;
                *slash = '\0';
                p = slash + 1;
        }
}

/* True when @seg (n segments) matches @pattern; the {} segments go to req->ar_arg. */
static bool match(const char *pattern, char **seg, int n, api_req_t *req) {
        const char *p = pattern;
        int i = 0, nargs = 0;

        while (*p == '/') {
                const char *start = ++p;
                size_t plen;

                while (*p && *p != '/')
                        p++;
                plen = (size_t)(p - start);
                if (i == n)
                        return false;
                if (plen == 2 && start[0] == '{' && start[1] == '}') {
                        if (req != NULL)
                                req->ar_arg[nargs] = seg[i];
                        nargs++;
                } else if (strlen(seg[i]) != plen || memcmp(seg[i], start, plen) != 0) {
                        return false;
                }
                i++;
        }
        if (i != n)
                return false;
        if (req != NULL)
                req->ar_nargs = nargs;
        return true;
}

typedef struct param_check_s {
        const char *const *pc_allowed;
        const char *pc_bad;
        bool pc_dup;
        const char *pc_seen[8];
        int pc_nseen;
} param_check_t;

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
        param_check_t *pc = cls;
        bool ok = false;

        (void)kind;
        (void)value;
        for (const char *const *a = pc->pc_allowed; a && *a; a++)
                if (strcmp(*a, key) == 0)
                        ok = true;
        if (!ok) {
                pc->pc_bad = key;
                return MHD_NO;
        }
        for (int i = 0; i < pc->pc_nseen; i++)
                if (strcmp(pc->pc_seen[i], key) == 0) {
                        pc->pc_bad = key;
                        pc->pc_dup = true;
                        return MHD_NO;
                }
        if (pc->pc_nseen < 8)
                pc->pc_seen[pc->pc_nseen++] = key;
        return MHD_YES;
}

/* Printable ASCII of at most 40 bytes of @s, for error texts. */
static void quote_safe(const char *s, char *out, size_t size) {
        size_t i = 0;

        for (; s && *s && i + 1 < size && i < 40; s++)
                out[i++] = (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') ? *s : '?';
        out[i] = '\0';
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Percent-decoding of the path and the query arguments (MHD_OPTION_UNESCAPE_CALLBACK)
 * that leaves "%00" as it is: libmicrohttpd's own decoder writes a NUL byte there, and the
 * C string then ends early, so "/v1/billing-group/<id>%00junk" would be routed as
 * "/v1/billing-group/<id>" and "/v1/account/%00" as "/v1/account". Kept as text, such a
 * segment or value is simply not a valid id (400 / 404). */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s) {
        char *r = s, *w = s;

        (void)cls;
        (void)conn;
        while (*r != '\0') {
                int hi = r[0] == '%' ? hex_digit(r[1]) : -1;
                int lo = hi >= 0 ? hex_digit(r[2]) : -1;

                if (lo >= 0 && (hi | lo) != 0) {
                        *w++ = (char)(hi << 4 | lo);
                        r += 3;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
        return (size_t)(w - s);
}

static void dispatch(api_req_t *req, const char *url) {
        char *seg[API_MAX_SEGMENTS + 1], shown[48];
        const api_route_t *route = NULL;
        param_check_t pc;
        int n;

        quote_safe(url, shown, sizeof(shown));
        if (strlen(url) >= sizeof(req->ar_path)) {
                api_reply_error(req, 414, "invalid_argument", "path too long");
                return;
        }
        /* Path segments reach PostgreSQL as text (project names, invoice numbers): bytes
         * that are not UTF-8 would make it fail the query (a 500) rather than not match. */
        if (!codec_utf8_valid((const uint8_t *)url, strlen(url))) {
                api_reply_error(req, 400, "invalid_argument", "path is not valid UTF-8: \"%s\"",
                                shown);
                return;
        }
        strcpy(req->ar_path, url);
        n = split_path(req->ar_path, seg, API_MAX_SEGMENTS);
        if (n < 0) {
                api_reply_error(req, 404, "not_found", "no such path: \"%s\"", shown);
                return;
        }
        for (const api_route_t *r = api_routes; r->rt_method != NULL; r++) {
                if (!match(r->rt_pattern, seg, n, NULL))
                        continue;
                if (strcmp(r->rt_method, req->ar_method) == 0) {
                        route = r;
                        break;
                }
                if (strlen(req->ar_allow) + strlen(r->rt_method) + 3 < sizeof(req->ar_allow)) {
                        if (req->ar_allow[0])
                                strcat(req->ar_allow, ", ");
                        strcat(req->ar_allow, r->rt_method);
                }
        }
        if (route == NULL) {
                if (req->ar_allow[0])
                        api_reply_error(req, 405, "method_not_allowed", "%s is not allowed on "
                                        "\"%s\" (allowed: %s)", req->ar_method, shown,
                                        req->ar_allow);
                else
                        api_reply_error(req, 404, "not_found", "no such path: \"%s\"", shown);
                return;
        }
        match(route->rt_pattern, seg, n, req);

        memset(&pc, 0, sizeof(pc));
        pc.pc_allowed = route->rt_params;
        MHD_get_connection_values(req->ar_conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
        if (pc.pc_bad != NULL) {
                quote_safe(pc.pc_bad, shown, sizeof(shown));
                api_reply_error(req, 400, "invalid_argument", pc.pc_dup ?
                                "query parameter \"%s\" given twice" :
                                "unknown query parameter \"%s\"", shown);
                return;
        }
        if (!route->rt_public && !api_auth(req))
                return;
        route->rt_fn(req);
        if (!req->ar_answered)
                api_reply_error(req, 500, "internal", "no answer");
}

/* ------------------------------------------------------------------ libmicrohttpd */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        api_svc_t *svc = cls;
        api_req_t *req = *req_cls;
        size_t max = (size_t)svc->as_conf->ac_body_max;

        (void)version;
        if (req == NULL) {
                const char *cl;

                req = calloc(1, sizeof(*req));
                if (req == NULL)
                        return MHD_NO;
                req->ar_svc = svc;
                req->ar_conn = conn;
                req->ar_method = method;
                req->ar_t0_ms = api_mono_ms();
                *req_cls = req;
                cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl != NULL) {
                        char *end;
                        unsigned long long v;

                        errno = 0;
                        v = strtoull(cl, &end, 10);
                        if (errno == 0 && end != cl && *end == '\0' && v > max)
                                api_reply_error(req, 413, "payload_too_large", "request body of "
                                                "%llu bytes exceeds the limit of %zu bytes",
                                                v, max);
                }
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                if (req->ar_answered || req->ar_too_large)
                        return MHD_YES;
                if (req->ar_body_len + n > max) {
                        req->ar_too_large = true;       /* read and drop the rest */
                        return MHD_YES;
                }
                if (req->ar_body_len + n + 1 > req->ar_body_cap) {
                        size_t cap = req->ar_body_cap ? req->ar_body_cap : 1024;
                        char *b;

                        while (cap < req->ar_body_len + n + 1)
                                cap *= 2;
                        b = realloc(req->ar_body, cap);
                        if (b == NULL)
                                return MHD_NO;
                        req->ar_body = b;
                        req->ar_body_cap = cap;
                }
                memcpy(req->ar_body + req->ar_body_len, upload_data, n);
                req->ar_body_len += n;
                req->ar_body[req->ar_body_len] = '\0';
                return MHD_YES;
        }
        if (req->ar_answered)
                return MHD_YES;
        if (req->ar_too_large)
                api_reply_error(req, 413, "payload_too_large", "request body exceeds the limit "
                                "of %zu bytes", max);
        else
                dispatch(req, url);
        api_req_release(req);
        return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
        api_req_t *req = *req_cls;

        (void)cls;
        (void)conn;
        (void)toe;
        if (req == NULL)
                return;
        api_req_release(req);
        free(req->ar_body);
        free(req);
        *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        char line[512];

        (void)cls;
        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = '\0';
        bg_log_warn("http: %s", line);
}

int api_http_start(api_svc_t *svc, char *errstr, size_t errstr_size) {
        const api_conf_t *c = svc->as_conf;
        const union MHD_DaemonInfo *info;
        struct sockaddr_in sa;

        if (!bg_parse_listen_addr(c->ac_listen, &sa)) {
                snprintf(errstr, errstr_size, "invalid BILLING_API_ADDR \"%s\": expected "
                         "a.b.c.d:port", c->ac_listen);
                return -1;
        }
        /* One thread per connection: a write waits for its command without holding up
         * other clients. */
        svc->as_daemon = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                        MHD_USE_ERROR_LOG,
                0, NULL, NULL, on_request, svc,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->ac_max_connections,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->ac_idle_timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, svc,
                MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
                MHD_OPTION_END);
        if (svc->as_daemon == NULL) {
                snprintf(errstr, errstr_size, "cannot listen on \"%s\"", c->ac_listen);
                return -1;
        }
        info = MHD_get_daemon_info(svc->as_daemon, MHD_DAEMON_INFO_BIND_PORT);
        svc->as_port = info ? info->port : ntohs(sa.sin_port);
        return 0;
}
