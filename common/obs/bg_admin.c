#include "bg_admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bg_admin_s {
        struct MHD_Daemon *ba_daemon;
        bg_metrics_t *ba_metrics;
        bg_admin_health_cb ba_health;
        void *ba_opaque;
        int ba_port;
};

bool bg_parse_listen_addr(const char *addr, struct sockaddr_in *out) {
        const char *colon = addr ? strrchr(addr, ':') : NULL;
        char host[64], *end;
        long port;

        if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
                return false;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
                return false;
        memset(out, 0, sizeof(*out));
        out->sin_family = AF_INET;
        out->sin_port = htons((uint16_t)port);
        if (strcmp(host, "localhost") == 0)
                strcpy(host, "127.0.0.1");
        return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             char *body, enum MHD_ResponseMemoryMode mode) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(body), body, mode);
        enum MHD_Result ret;

        MHD_add_response_header(resp, "Content-Type", type);
        ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        bg_admin_t *admin = cls;

        if (strcmp(method, "GET") != 0)
                return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             "{\"error\":\"method not allowed\"}", MHD_RESPMEM_PERSISTENT);
        if (strcmp(url, "/metrics") == 0) {
                char *text = bg_metrics_render(admin->ba_metrics);
                if (text == NULL)
                        return reply(conn, 500, "text/plain", "out of memory\n",
                                     MHD_RESPMEM_PERSISTENT);
                return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text,
                             MHD_RESPMEM_MUST_FREE);
        }
        if (strcmp(url, "/healthz") == 0) {
                char why[256] = "", body[400];
                bool ok = admin->ba_health == NULL ||
                          admin->ba_health(admin->ba_opaque, why, sizeof(why));
                if (ok)
                        return reply(conn, MHD_HTTP_OK, "application/json", "{\"status\":\"ok\"}",
                                     MHD_RESPMEM_PERSISTENT);
                /* @why is ours: keep it to characters that need no JSON escaping. */
                for (char *p = why; *p; p++)
                        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                                *p = '\'';
                snprintf(body, sizeof(body), "{\"status\":\"unhealthy\",\"reason\":\"%s\"}", why);
                return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", body,
                             MHD_RESPMEM_MUST_COPY);
        }
        return reply(conn, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}",
                     MHD_RESPMEM_PERSISTENT);
}

bg_admin_t *bg_admin_start(const char *addr, bg_metrics_t *metrics, bg_admin_health_cb health,
                           void *opaque, char *errstr, size_t errstr_size) {
        struct sockaddr_in sa;
        bg_admin_t *admin;
        const union MHD_DaemonInfo *info;

        if (!bg_parse_listen_addr(addr, &sa)) {
                snprintf(errstr, errstr_size,
                         "invalid admin address \"%s\": expected host:port, e.g. 127.0.0.1:9100",
                         addr ? addr : "(null)");
                return NULL;
        }
        admin = calloc(1, sizeof(*admin));
        if (admin == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        admin->ba_metrics = metrics;
        admin->ba_health = health;
        admin->ba_opaque = opaque;
        admin->ba_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                                            NULL, NULL, on_request, admin, MHD_OPTION_SOCK_ADDR,
                                            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                                            (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                                            (unsigned)10, MHD_OPTION_END);
        if (admin->ba_daemon == NULL) {
                snprintf(errstr, errstr_size, "cannot listen on admin address \"%s\"", addr);
                free(admin);
                return NULL;
        }
        info = MHD_get_daemon_info(admin->ba_daemon, MHD_DAEMON_INFO_BIND_PORT);
        admin->ba_port = info ? info->port : ntohs(sa.sin_port);
        return admin;
}

int bg_admin_port(const bg_admin_t *admin) {
        return admin->ba_port;
}

void bg_admin_stop(bg_admin_t *admin) {
        if (admin == NULL)
                return;
        MHD_stop_daemon(admin->ba_daemon);
        free(admin);
}
