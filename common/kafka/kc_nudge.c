#include "kc_nudge.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kc_nudge_s {
        rd_kafka_t *n_rk;
        char *n_topic;
        int n_partitions, n_interval_ms;
        pthread_t n_thread;
        pthread_mutex_t n_mu;
        pthread_cond_t n_cv;            /* signalled on stop */
        bool n_quit;
};

static void *nudge_main(void *arg) {
        kc_nudge_t *n = arg;
        int p = 0;

        pthread_mutex_lock(&n->n_mu);
        while (!n->n_quit) {
                struct timespec until;
                int64_t lo, hi;

                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_nsec += (long)n->n_interval_ms * 1000000L;
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
                while (!n->n_quit &&
                       pthread_cond_timedwait(&n->n_cv, &n->n_mu, &until) != ETIMEDOUT)
                        ;
                if (n->n_quit)
                        break;
                pthread_mutex_unlock(&n->n_mu);
                /* The answer is not used: sending the request is the point. A failure
                 * (the broker restarting) is the consumer's to report, not ours. */
                (void)rd_kafka_query_watermark_offsets(n->n_rk, n->n_topic, p, &lo, &hi, 1000);
                p = (p + 1) % n->n_partitions;
                pthread_mutex_lock(&n->n_mu);
        }
        pthread_mutex_unlock(&n->n_mu);
        return NULL;
}

kc_nudge_t *kc_nudge_start(rd_kafka_t *rk, const char *topic, int partitions,
                           int interval_ms) {
        pthread_condattr_t ca;
        kc_nudge_t *n;

        if (partitions < 1 || interval_ms < 1 || (n = calloc(1, sizeof(*n))) == NULL)
                return NULL;
        n->n_rk = rk;
        n->n_partitions = partitions;
        n->n_interval_ms = interval_ms;
        if ((n->n_topic = strdup(topic)) == NULL || pthread_mutex_init(&n->n_mu, NULL) != 0)
                goto fail_free;
        if (pthread_condattr_init(&ca) != 0)
                goto fail_mu;
        if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&n->n_cv, &ca) != 0) {
                pthread_condattr_destroy(&ca);
                goto fail_mu;
        }
        pthread_condattr_destroy(&ca);
        if (pthread_create(&n->n_thread, NULL, nudge_main, n) != 0)
                goto fail_cv;
        return n;
fail_cv:
        pthread_cond_destroy(&n->n_cv);
fail_mu:
        pthread_mutex_destroy(&n->n_mu);
fail_free:
        free(n->n_topic);
        free(n);
        return NULL;
}

void kc_nudge_stop(kc_nudge_t *n) {
        if (n == NULL)
                return;
        pthread_mutex_lock(&n->n_mu);
        n->n_quit = true;
        pthread_cond_signal(&n->n_cv);
        pthread_mutex_unlock(&n->n_mu);
        pthread_join(n->n_thread, NULL);
        pthread_cond_destroy(&n->n_cv);
        pthread_mutex_destroy(&n->n_mu);
        free(n->n_topic);
        free(n);
}
