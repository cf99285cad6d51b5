#include "inv_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_log.h"

#define MS_PER_DAY INT64_C(86400000)

/* Howard Hinnant's civil calendar algorithms (proleptic Gregorian, any int64 day). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400);
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        int64_t era;
        unsigned doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned)(z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void inv_period_of(int64_t ms, int64_t *begin, int64_t *end, int *yyyymm) {
        int64_t y;
        unsigned m, d;

        civil_from_days(floor_div(ms, MS_PER_DAY), &y, &m, &d);
        if (begin)
                *begin = days_from_civil(y, m, 1) * MS_PER_DAY;
        if (end)
                *end = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) *
                       MS_PER_DAY;
        if (yyyymm)
                *yyyymm = (int)(y * 100 + m);
}

int64_t inv_period_next(int64_t period_begin) {
        int64_t end;

        inv_period_of(period_begin, NULL, &end, NULL);
        return end;
}

void inv_time_pg(int64_t ms, char *buf, size_t size) {
        int64_t days = floor_div(ms, MS_PER_DAY), rem = ms - days * MS_PER_DAY, y;
        unsigned m, d;

        civil_from_days(days, &y, &m, &d);
        snprintf(buf, size, "%04" PRId64 "-%02u-%02u %02d:%02d:%02d.%03d+00", y, m, d,
                 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
                 (int)(rem % 1000));
}

void inv_time_month(int64_t ms, char *buf, size_t size) {
        int yyyymm;

        inv_period_of(ms, NULL, NULL, &yyyymm);
        snprintf(buf, size, "%04d-%02d", yyyymm / 100, yyyymm % 100);
}

static bool parse_ms(const char *s, int64_t *out) {
        char *end;
        long long v;

        while (*s == ' ' || *s == '\t')
                s++;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s)
                return false;
        while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
                end++;
        if (*end != '\0' || v < 0)
                return false;
        *out = (int64_t)v;
        return true;
}

static bool read_file_ms(inv_clock_t *ck, bool log) {
        char buf[64];
        size_t n;
        FILE *f = fopen(ck->ck_path, "r");
        int64_t v;

        if (f == NULL) {
                if (log)
                        bg_log_warn("cannot read clock file \"%s\": %s", ck->ck_path,
                                    strerror(errno));
                return false;
        }
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (!parse_ms(buf, &v)) {
                if (log)
                        bg_log_warn("clock file \"%s\" does not hold milliseconds since the epoch",
                                    ck->ck_path);
                return false;
        }
        ck->ck_fixed_ms = v;
        ck->ck_have_value = true;
        return true;
}

int inv_clock_init(inv_clock_t *ck, const char *spec, char *errstr, size_t errstr_size) {
        memset(ck, 0, sizeof(*ck));
        if (spec == NULL || strcmp(spec, "system") == 0)
                return 0;
        if (strncmp(spec, "fixed:", 6) == 0) {
                ck->ck_kind = INV_CLOCK_FIXED;
                if (!parse_ms(spec + 6, &ck->ck_fixed_ms))
                        goto bad;
                return 0;
        }
        if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0' &&
            strlen(spec + 5) < sizeof(ck->ck_path)) {
                ck->ck_kind = INV_CLOCK_FILE;
                snprintf(ck->ck_path, sizeof(ck->ck_path), "%s", spec + 5);
                if (!read_file_ms(ck, false)) {
                        snprintf(errstr, errstr_size,
                                 "BILLING_CLOCK: cannot read milliseconds from \"%s\"",
                                 ck->ck_path);
                        return -1;
                }
                return 0;
        }
bad:
        snprintf(errstr, errstr_size,
                 "BILLING_CLOCK \"%s\" is not system, fixed:<ms> or file:<path>", spec);
        return -1;
}

int64_t inv_clock_now(inv_clock_t *ck) {
        struct timespec ts;
        bool ok;

        switch (ck->ck_kind) {
        case INV_CLOCK_FIXED:
                return ck->ck_fixed_ms;
        case INV_CLOCK_FILE:
                /* Read on every call (once per loop pass: cheap); a failure is logged
                 * once, when the file turns bad, and the last good value stays. */
                ok = read_file_ms(ck, ck->ck_have_value);
                ck->ck_have_value = ok;
                return ck->ck_fixed_ms;
        case INV_CLOCK_SYSTEM:
        default:
                clock_gettime(CLOCK_REALTIME, &ts);
                return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        }
}
