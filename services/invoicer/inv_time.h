/*
 * inv_time: the invoicer's clock and calendar.
 *
 * The clock is the one thing tests must control: period ends, grace periods, hold
 * timeouts and the "not in the future" rule are all measured with it. BILLING_CLOCK:
 *
 *   system            the real time (default)
 *   fixed:<ms>        always <ms> (milliseconds since the epoch)
 *   file:<path>       the decimal milliseconds written in <path>, read at every call,
 *                     so a test advances time by rewriting it (write a new file and
 *                     rename it over the old one). An unreadable or malformed file keeps
 *                     the last good value (logged once, when it turns bad).
 *
 * Periods are calendar months in UTC: [first day 00:00, first day of next month 00:00).
 */
#ifndef INV_TIME_H
#define INV_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum {
        INV_CLOCK_SYSTEM = 0,
        INV_CLOCK_FIXED,
        INV_CLOCK_FILE,
} inv_clock_kind_t;

typedef struct inv_clock_s {
        inv_clock_kind_t ck_kind;
        int64_t ck_fixed_ms;            /* FIXED; FILE: the last good value read */
        char ck_path[1024];             /* FILE */
        bool ck_have_value;             /* FILE: the last read succeeded */
} inv_clock_t;

/* Parses @spec (see above). -1 with a reason when it is none of the forms; for "file:"
 * the file must exist and hold a time at setup. */
int inv_clock_init(inv_clock_t *ck, const char *spec, char *errstr, size_t errstr_size);

/* The current time in ms since the epoch. */
int64_t inv_clock_now(inv_clock_t *ck);

/* The calendar month (UTC) holding @ms: [*begin, *end) in ms and YYYYMM in *yyyymm.
 * Any of the outputs may be NULL. */
void inv_period_of(int64_t ms, int64_t *begin, int64_t *end, int *yyyymm);

/* The month after the one starting at @period_begin: its begin. */
int64_t inv_period_next(int64_t period_begin);

/* "2026-11-26 16:01:02.345+00" (PostgreSQL timestamptz text) into @buf (>= 40 bytes). */
void inv_time_pg(int64_t ms, char *buf, size_t size);

/* "2026-11" for the month holding @ms. */
void inv_time_month(int64_t ms, char *buf, size_t size);

#endif /* INV_TIME_H */
