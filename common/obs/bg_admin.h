/*
 * bg_admin: the admin HTTP port every long-running service opens: GET /healthz and
 * GET /metrics (Prometheus text). Served by libmicrohttpd from its own thread.
 */
#ifndef BG_ADMIN_H
#define BG_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "bg_metrics.h"

typedef struct bg_admin_s bg_admin_t;

/* Health probe: returns true when healthy; otherwise writes why into @why.
 * @locality the admin server's thread: read only atomics or lock. */
typedef bool (*bg_admin_health_cb)(void *opaque, char *why, size_t why_size);

/*
 * Listens on @addr ("host:port"; port 0 picks a free one) and serves until
 * bg_admin_stop(). @metrics and @opaque stay owned by the caller and must outlive the
 * server. Returns NULL with a reason in @errstr when the address is bad or taken.
 */
bg_admin_t *bg_admin_start(const char *addr, bg_metrics_t *metrics, bg_admin_health_cb health,
                           void *opaque, char *errstr, size_t errstr_size);

/* The port actually bound (useful with port 0). */
int bg_admin_port(const bg_admin_t *admin);

void bg_admin_stop(bg_admin_t *admin);   /* NULL is a no-op */

/* Splits "host:port" into a sockaddr for 127.0.0.1-style IPv4 hosts; shared with the API.
 * Returns false when @addr is not "a.b.c.d:port" or "localhost:port" with port 0-65535. */
struct sockaddr_in;
bool bg_parse_listen_addr(const char *addr, struct sockaddr_in *out);

#endif /* BG_ADMIN_H */
