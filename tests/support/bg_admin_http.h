/*
 * The services' admin port (/healthz, /metrics) from a test: where it is and what it says.
 * Services started with BILLING_ADMIN_ADDR=127.0.0.1:0 log the port they bound.
 */
#ifndef BG_ADMIN_HTTP_H
#define BG_ADMIN_HTTP_H

#include <stddef.h>

/* The port of the first "admin port on 127.0.0.1:<port>" line of the log at @log_path;
 * -1 until the service has logged it. */
int bg_admin_port_in_log(const char *log_path);

/* GET @path on 127.0.0.1:@port (HTTP/1.0, 5 s timeouts): the status, 0 when nothing
 * answered. The body goes into @body (may be NULL), cut to @body_size. */
int bg_http_get(int port, const char *path, char *body, size_t body_size);

/* The value of the /metrics line on @port starting with @series (e.g.
 * "x_total{a=\"b\"}"), or -1. */
long long bg_admin_metric(int port, const char *series);

#endif
