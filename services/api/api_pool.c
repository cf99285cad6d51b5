/*
 * A small pool of PostgreSQL connections. Connections are made on demand up to the
 * maximum, each with its search_path set once (so that every statement is a constant
 * text with $n parameters), and closed when a request saw them fail.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bg_log.h"
#include "pgx.h"

struct api_pool_s {
        pthread_mutex_t pl_mu;
        pthread_cond_t pl_cv;
        char *pl_conninfo;
        char *pl_search_path;
        PGconn **pl_idle;
        int pl_nidle;
        int pl_total;                           /* idle + handed out + being made */
        int pl_max;
};

api_pool_t *api_pool_new(const char *conninfo, const char *search_path, int max) {
        api_pool_t *pool = calloc(1, sizeof(*pool));
        pthread_condattr_t ca;

        if (pool == NULL)
                return NULL;
        pool->pl_conninfo = strdup(conninfo);
        pool->pl_search_path = strdup(search_path);
        pool->pl_idle = calloc((size_t)max, sizeof(*pool->pl_idle));
        pool->pl_max = max;
        if (!pool->pl_conninfo || !pool->pl_search_path || !pool->pl_idle) {
                free(pool->pl_conninfo);
                free(pool->pl_search_path);
                free(pool->pl_idle);
                free(pool);
                return NULL;
        }
        pthread_mutex_init(&pool->pl_mu, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pool->pl_cv, &ca);
        pthread_condattr_destroy(&ca);
        return pool;
}

void api_pool_destroy(api_pool_t *pool) {
        if (pool == NULL)
                return;
        for (int i = 0; i < pool->pl_nidle; i++)
                PQfinish(pool->pl_idle[i]);
        pthread_cond_destroy(&pool->pl_cv);
        pthread_mutex_destroy(&pool->pl_mu);
        free(pool->pl_conninfo);
        free(pool->pl_search_path);
        free(pool->pl_idle);
        free(pool);
}

static PGconn *connect_one(api_pool_t *pool, int wait_ms, char *errstr, size_t errstr_size) {
        const char *params[1] = {pool->pl_search_path};
        PGresult *res = NULL;
        PGconn *conn;

        conn = pgx_connect(pool->pl_conninfo, wait_ms, NULL, errstr, errstr_size);
        if (conn == NULL)
                return NULL;
        /* The schema names are validated identifiers, and even so they travel as a
         * parameter: no statement text is ever built from configuration or input. */
        if (pgx_query(conn, "SELECT set_config('search_path', $1, false)", 1, params, &res,
                      errstr, errstr_size) != PGX_OK) {
                PQfinish(conn);
                return NULL;
        }
        PQclear(res);
        return conn;
}

static void deadline_ts(struct timespec *ts, int wait_ms) {
        clock_gettime(CLOCK_MONOTONIC, ts);
        ts->tv_sec += wait_ms / 1000;
        ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

PGconn *api_pool_get(api_pool_t *pool, int wait_ms, char *errstr, size_t errstr_size) {
        struct timespec until;
        PGconn *conn = NULL;

        deadline_ts(&until, wait_ms);
        pthread_mutex_lock(&pool->pl_mu);
        for (;;) {
                if (pool->pl_nidle > 0) {
                        conn = pool->pl_idle[--pool->pl_nidle];
                        pthread_mutex_unlock(&pool->pl_mu);
                        return conn;
                }
                if (pool->pl_total < pool->pl_max) {
                        pool->pl_total++;
                        break;
                }
                if (pthread_cond_timedwait(&pool->pl_cv, &pool->pl_mu, &until) == ETIMEDOUT) {
                        pthread_mutex_unlock(&pool->pl_mu);
                        snprintf(errstr, errstr_size, "no PostgreSQL connection free within "
                                 "%d ms (BILLING_API_PG_POOL=%d)", wait_ms, pool->pl_max);
                        return NULL;
                }
        }
        pthread_mutex_unlock(&pool->pl_mu);

        conn = connect_one(pool, wait_ms, errstr, errstr_size);
        if (conn == NULL) {
                pthread_mutex_lock(&pool->pl_mu);
                pool->pl_total--;
                pthread_cond_signal(&pool->pl_cv);
                pthread_mutex_unlock(&pool->pl_mu);
                bg_log_warn("%s", errstr);
        }
        return conn;
}

void api_pool_put(api_pool_t *pool, PGconn *conn, bool broken) {
        if (conn == NULL)
                return;
        if (!broken && PQstatus(conn) == CONNECTION_OK &&
            PQtransactionStatus(conn) == PQTRANS_IDLE) {
                pthread_mutex_lock(&pool->pl_mu);
                pool->pl_idle[pool->pl_nidle++] = conn;
                pthread_cond_signal(&pool->pl_cv);
                pthread_mutex_unlock(&pool->pl_mu);
                return;
        }
        PQfinish(conn);
        pthread_mutex_lock(&pool->pl_mu);
        pool->pl_total--;
        pthread_cond_signal(&pool->pl_cv);
        pthread_mutex_unlock(&pool->pl_mu);
}
