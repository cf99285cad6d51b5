/*
 * The API service: setup in a fixed order, stopped in reverse.
 *
 *   1. metrics + admin port (/healthz, /metrics)
 *   2. PostgreSQL: the API's migrations (api_tokens in BILLING_API_SCHEMA), then the pools
 *   3. the command bus (producer, results reader positioned at the end)
 *   4. the HTTP server (only now: every request finds everything it needs)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bg_admin.h"
#include "bg_log.h"
#include "pgx.h"

#define MIGRATE_WAIT_MS 60000

static bool health(void *opaque, char *why, size_t why_size) {
        api_svc_t *svc = opaque;
        api_bus_t *bus = svc->as_bus;   /* the admin port answers before it exists */
        int64_t idle;

        if (bus == NULL) {
                snprintf(why, why_size, "starting");
                return false;
        }
        idle = api_bus_idle_ms(bus);
        if (idle > 30000) {
                snprintf(why, why_size, "command results reader stalled for %" PRId64 " ms",
                         idle);
                return false;
        }
        return true;
}

static int metrics_setup(api_svc_t *svc, bg_admin_t **admin, char *errstr, size_t errstr_size) {
        static const char *const classes[6] = {NULL, "class=\"1xx\"", "class=\"2xx\"",
                                               "class=\"3xx\"", "class=\"4xx\"", "class=\"5xx\""};
        static const char *const outcomes[BG_OUTCOME__COUNT] = {
                [BG_OUTCOME_ACCEPTED] = "outcome=\"accepted\"",
                [BG_OUTCOME_REJECTED] = "outcome=\"rejected\"",
                [BG_OUTCOME_DUPLICATE] = "outcome=\"duplicate\"",
        };

        if ((svc->as_metrics = bg_metrics_new()) == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (int c = 1; c <= 5; c++)
                svc->m_status[c] = bg_metrics_counter(svc->as_metrics, "billing_api_responses_total",
                                                      "HTTP responses, by status class",
                                                      classes[c]);
        for (int o = 0; o < BG_OUTCOME__COUNT; o++)
                svc->m_outcome[o] = bg_metrics_counter(svc->as_metrics, "billing_api_commands_total",
                                                       "Commands answered, by outcome",
                                                       outcomes[o]);
        svc->m_write_timeout = bg_metrics_counter(svc->as_metrics, "billing_api_write_timeouts_total",
                                                  "Writes answered 504: no command result in time",
                                                  NULL);
        svc->m_write_unprojected = bg_metrics_counter(
                svc->as_metrics, "billing_api_write_unprojected_total",
                "Writes answered 202: accepted but not projected in time", NULL);
        svc->m_seconds = bg_metrics_histogram(svc->as_metrics, "billing_api_request_seconds",
                                              "Time to answer a request", NULL, NULL, 0);
        svc->m_write_seconds = bg_metrics_histogram(svc->as_metrics, "billing_api_write_seconds",
                                                    "Time from publishing a command to reading "
                                                    "its projection", NULL, NULL, 0);
        *admin = bg_admin_start(svc->as_conf->ac_admin_addr, svc->as_metrics, health, svc,
                                errstr, errstr_size);
        return *admin ? 0 : -1;
}

static int pg_setup(api_svc_t *svc, volatile sig_atomic_t *stop, char *errstr,
                    size_t errstr_size) {
        const api_conf_t *c = svc->as_conf;
        char path[256];
        PGconn *conn;
        int applied = 0;
        pgx_err_t err;

        conn = pgx_connect(c->ac_conninfo, MIGRATE_WAIT_MS, stop, errstr, errstr_size);
        if (conn == NULL)
                return -1;
        err = pgx_migrate(conn, c->ac_api_schema, c->ac_migrations_dir, &applied, errstr,
                          errstr_size);
        PQfinish(conn);
        if (err != PGX_OK)
                return -1;
        bg_log_info("schema \"%s\": %d migrations applied", c->ac_api_schema, applied);
        /* The read models first: their names are the ones the API means. */
        snprintf(path, sizeof(path), "%s, %s", c->ac_schema, c->ac_api_schema);
        svc->as_pool = api_pool_new(c->ac_conninfo, path, (int)c->ac_pg_pool);
        svc->as_inv_pool = api_pool_new(c->ac_conninfo, c->ac_invoicer_schema,
                                        (int)c->ac_pg_pool);
        if (svc->as_pool == NULL || svc->as_inv_pool == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

int api_service_run(const api_conf_t *conf, volatile sig_atomic_t *stop) {
        api_svc_t svc;
        bg_admin_t *admin = NULL;
        char errstr[API_ERRSTR_SIZE];
        int rc = 1;

        memset(&svc, 0, sizeof(svc));
        svc.as_conf = conf;
        if (metrics_setup(&svc, &admin, errstr, sizeof(errstr)) != 0 ||
            pg_setup(&svc, stop, errstr, sizeof(errstr)) != 0 ||
            (svc.as_bus = api_bus_new(conf->ac_schemas_dir, errstr, sizeof(errstr))) == NULL ||
            api_http_start(&svc, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                goto out;
        }
        bg_log_info("admin port on 127.0.0.1:%d (/healthz, /metrics)", bg_admin_port(admin));
        bg_log_info("api listening on 127.0.0.1:%d (read models \"%s\", invoices \"%s\", "
                    "tokens \"%s\", %zu service tokens)", svc.as_port, conf->ac_schema,
                    conf->ac_invoicer_schema, conf->ac_api_schema, conf->ac_n_service_tokens);
        while (!*stop) {
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
        }
        bg_log_info("stopping");
        rc = 0;
out:
        if (svc.as_daemon != NULL)
                MHD_stop_daemon(svc.as_daemon);         /* waits for every connection */
        api_bus_destroy(svc.as_bus);
        api_pool_destroy(svc.as_inv_pool);
        api_pool_destroy(svc.as_pool);
        bg_admin_stop(admin);
        bg_metrics_destroy(svc.as_metrics);
        return rc;
}
