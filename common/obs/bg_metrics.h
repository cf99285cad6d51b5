/*
 * bg_metrics: counters, gauges and histograms, exposed in the Prometheus text format.
 *
 * Metrics are registered once at start-up (not thread-safe against concurrent
 * registration) and then updated from any thread with atomics. A registered metric lives
 * as long as its registry: the pointers need no freeing.
 *
 * Histograms observe seconds (Prometheus convention): they are for latencies, never money.
 */
#ifndef BG_METRICS_H
#define BG_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bg_metrics_s bg_metrics_t;
typedef struct bg_metric_s bg_counter_t;
typedef struct bg_metric_s bg_gauge_t;
typedef struct bg_metric_s bg_histogram_t;

bg_metrics_t *bg_metrics_new(void);
void bg_metrics_destroy(bg_metrics_t *m);   /* NULL is a no-op */

/* @labels is the label set in Prometheus syntax without braces, e.g. `outcome="accepted"`,
 * or NULL. Several metrics may share a name with different labels; help is taken from the
 * first. Returns NULL only when out of memory. */
bg_counter_t *bg_metrics_counter(bg_metrics_t *m, const char *name, const char *help,
                                 const char *labels);
bg_gauge_t *bg_metrics_gauge(bg_metrics_t *m, const char *name, const char *help,
                             const char *labels);
/* Default latency buckets (1 ms to 10 s) when @bounds is NULL. */
bg_histogram_t *bg_metrics_histogram(bg_metrics_t *m, const char *name, const char *help,
                                     const char *labels, const double *bounds, size_t nbounds);

void bg_counter_add(bg_counter_t *c, uint64_t n);
void bg_gauge_set(bg_gauge_t *g, int64_t v);
void bg_gauge_add(bg_gauge_t *g, int64_t delta);
void bg_histogram_observe(bg_histogram_t *h, double seconds);

uint64_t bg_counter_value(const bg_counter_t *c);
int64_t bg_gauge_value(const bg_gauge_t *g);

/* The whole registry in the Prometheus text exposition format; the caller frees it. */
char *bg_metrics_render(bg_metrics_t *m);

#endif /* BG_METRICS_H */
