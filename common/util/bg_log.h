/*
 * bg_log: one JSON object per line on stderr, so that log shippers need no parser of ours.
 *
 *   {"ts":"2026-11-26T16:01:02.345Z","level":"info","svc":"commands","msg":"..."}
 *
 * Context (topic, partition, offset, account) goes into the message text, subject first:
 *   bg_log_error("cannot decode command at %s [%d] offset %lld: %s", ...)
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef BG_LOG_H
#define BG_LOG_H

typedef enum {
        BG_LOG_DEBUG,
        BG_LOG_INFO,
        BG_LOG_WARN,
        BG_LOG_ERROR,
} bg_log_level_t;

/* Sets the service name put on every line and the minimum level (from BILLING_LOG_LEVEL
 * when it names one: debug, info, warn, error). Call once at start-up. */
void bg_log_setup(const char *service);

void bg_log(bg_log_level_t level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#define bg_log_debug(...) bg_log(BG_LOG_DEBUG, __VA_ARGS__)
#define bg_log_info(...)  bg_log(BG_LOG_INFO, __VA_ARGS__)
#define bg_log_warn(...)  bg_log(BG_LOG_WARN, __VA_ARGS__)
#define bg_log_error(...) bg_log(BG_LOG_ERROR, __VA_ARGS__)

#endif /* BG_LOG_H */
