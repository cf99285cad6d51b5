#include "bg_metrics.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } metric_kind_t;

#define MAX_BUCKETS 24

struct bg_metric_s {
        metric_kind_t bm_kind;
        char *bm_name;
        char *bm_help;
        char *bm_labels;                          /* "" when none */
        _Atomic uint64_t bm_count;                /* counter; histogram observations */
        _Atomic int64_t bm_gauge;
        _Atomic uint64_t bm_sum_us;               /* histogram sum, microseconds */
        double bm_bounds[MAX_BUCKETS];
        size_t bm_nbounds;
        _Atomic uint64_t bm_buckets[MAX_BUCKETS]; /* non-cumulative; +Inf is bm_count */
        struct bg_metric_s *bm_next;
};

struct bg_metrics_s {
        struct bg_metric_s *bms_first, *bms_last;
};

static const double default_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1,    2.5,   5, 10};

bg_metrics_t *bg_metrics_new(void) {
        return calloc(1, sizeof(bg_metrics_t));
}

void bg_metrics_destroy(bg_metrics_t *m) {
        if (m == NULL)
                return;
        for (struct bg_metric_s *x = m->bms_first, *next; x != NULL; x = next) {
                next = x->bm_next;
                free(x->bm_name);
                free(x->bm_help);
                free(x->bm_labels);
                free(x);
        }
        free(m);
}

static struct bg_metric_s *metric_add(bg_metrics_t *m, metric_kind_t kind, const char *name,
                                      const char *help, const char *labels) {
        struct bg_metric_s *x = calloc(1, sizeof(*x));

        if (x == NULL)
                return NULL;
        x->bm_kind = kind;
        x->bm_name = strdup(name);
        x->bm_help = strdup(help ? help : "");
        x->bm_labels = strdup(labels ? labels : "");
        if (!x->bm_name || !x->bm_help || !x->bm_labels) {
                free(x->bm_name);
                free(x->bm_help);
                free(x->bm_labels);
                free(x);
                return NULL;
        }
        if (m->bms_last)
                m->bms_last->bm_next = x;
        else
                m->bms_first = x;
        m->bms_last = x;
        return x;
}

bg_counter_t *bg_metrics_counter(bg_metrics_t *m, const char *name, const char *help,
                                 const char *labels) {
        return metric_add(m, M_COUNTER, name, help, labels);
}

bg_gauge_t *bg_metrics_gauge(bg_metrics_t *m, const char *name, const char *help,
                             const char *labels) {
        return metric_add(m, M_GAUGE, name, help, labels);
}

bg_histogram_t *bg_metrics_histogram(bg_metrics_t *m, const char *name, const char *help,
                                     const char *labels, const double *bounds, size_t nbounds) {
        struct bg_metric_s *x = metric_add(m, M_HISTOGRAM, name, help, labels);

        if (x == NULL)
                return NULL;
        if (bounds == NULL) {
                bounds = default_bounds;
                nbounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
        }
        if (nbounds > MAX_BUCKETS)
                nbounds = MAX_BUCKETS;
        memcpy(x->bm_bounds, bounds, nbounds * sizeof(*bounds));
        x->bm_nbounds = nbounds;
        return x;
}

void bg_counter_add(bg_counter_t *c, uint64_t n) {
        if (c)
                atomic_fetch_add_explicit(&c->bm_count, n, memory_order_relaxed);
}

void bg_gauge_set(bg_gauge_t *g, int64_t v) {
        if (g)
                atomic_store_explicit(&g->bm_gauge, v, memory_order_relaxed);
}

void bg_gauge_add(bg_gauge_t *g, int64_t delta) {
        if (g)
                atomic_fetch_add_explicit(&g->bm_gauge, delta, memory_order_relaxed);
}

void bg_histogram_observe(bg_histogram_t *h, double seconds) {
        if (h == NULL)
                return;
        if (seconds < 0)
                seconds = 0;
        for (size_t i = 0; i < h->bm_nbounds; i++) {
                if (seconds <= h->bm_bounds[i]) {
                        atomic_fetch_add_explicit(&h->bm_buckets[i], 1, memory_order_relaxed);
                        break;
                }
        }
        atomic_fetch_add_explicit(&h->bm_sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
        atomic_fetch_add_explicit(&h->bm_count, 1, memory_order_relaxed);
}

uint64_t bg_counter_value(const bg_counter_t *c) {
        return atomic_load_explicit(&((struct bg_metric_s *)c)->bm_count, memory_order_relaxed);
}

int64_t bg_gauge_value(const bg_gauge_t *g) {
        return atomic_load_explicit(&((struct bg_metric_s *)g)->bm_gauge, memory_order_relaxed);
}

static const char *kind_name(metric_kind_t k) {
        return k == M_COUNTER ? "counter" : k == M_GAUGE ? "gauge" : "histogram";
}

/* Was a metric of this name already rendered (so HELP/TYPE are written once)? */
static int seen_before(const bg_metrics_t *m, const struct bg_metric_s *x) {
        for (const struct bg_metric_s *y = m->bms_first; y != x; y = y->bm_next)
                if (strcmp(y->bm_name, x->bm_name) == 0)
                        return 1;
        return 0;
}

char *bg_metrics_render(bg_metrics_t *m) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (f == NULL)
                return NULL;
        for (struct bg_metric_s *x = m->bms_first; x != NULL; x = x->bm_next) {
                const char *sep = *x->bm_labels ? "," : "";

                if (!seen_before(m, x))
                        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", x->bm_name, x->bm_help,
                                x->bm_name, kind_name(x->bm_kind));
                switch (x->bm_kind) {
                case M_COUNTER:
                        fprintf(f, "%s%s%s%s %" PRIu64 "\n", x->bm_name, *x->bm_labels ? "{" : "",
                                x->bm_labels, *x->bm_labels ? "}" : "", bg_counter_value(x));
                        break;
                case M_GAUGE:
                        fprintf(f, "%s%s%s%s %" PRId64 "\n", x->bm_name, *x->bm_labels ? "{" : "",
                                x->bm_labels, *x->bm_labels ? "}" : "", bg_gauge_value(x));
                        break;
                case M_HISTOGRAM: {
                        uint64_t cum = 0, count = atomic_load(&x->bm_count);
                        for (size_t i = 0; i < x->bm_nbounds; i++) {
                                cum += atomic_load(&x->bm_buckets[i]);
                                fprintf(f, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", x->bm_name,
                                        x->bm_labels, sep, x->bm_bounds[i], cum);
                        }
                        fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", x->bm_name,
                                x->bm_labels, sep, count);
                        fprintf(f, "%s_sum%s%s%s %.6f\n", x->bm_name, *x->bm_labels ? "{" : "",
                                x->bm_labels, *x->bm_labels ? "}" : "",
                                (double)atomic_load(&x->bm_sum_us) / 1e6);
                        fprintf(f, "%s_count%s%s%s %" PRIu64 "\n", x->bm_name,
                                *x->bm_labels ? "{" : "", x->bm_labels, *x->bm_labels ? "}" : "",
                                count);
                        break;
                }
                }
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}
