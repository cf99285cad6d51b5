/*
 * bg_time: the two clocks services read. Wall time (CLOCK_REALTIME) for what is recorded
 * (occurred_at, timestamps); monotonic time for what is measured (timeouts, latencies).
 */
#ifndef BG_TIME_H
#define BG_TIME_H

#include <stdint.h>

int64_t bg_time_now_ms(void);    /* milliseconds since the epoch */
int64_t bg_time_mono_ms(void);   /* milliseconds of CLOCK_MONOTONIC */
double bg_time_mono_s(void);     /* seconds of CLOCK_MONOTONIC, for latency metrics */

#endif /* BG_TIME_H */
