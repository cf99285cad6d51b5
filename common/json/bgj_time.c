/* ISO-8601 UTC timestamps <-> int64 ms, and the guarded JSON parse entry point. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bgj_int.h"

#define MS_PER_DAY INT64_C(86400000)

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant's algorithm,
 * exact for every int64 year we accept). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400);
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
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

static bool is_leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
        static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads @n decimal digits at @s; false when one is not a digit. */
static bool digits(const char *s, size_t n, unsigned *out) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *out = v;
        return true;
}

bool bgj_time_parse(const char *s, size_t len, int64_t *out_ms) {
        unsigned y, mo, d, h, mi, sec, frac = 0;
        size_t nfrac = 0;
        int64_t days;

        *out_ms = 0;
        if (s == NULL || len < 20)
                return false;
        if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
            !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
            s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
            !digits(s + 17, 2, &sec))
                return false;
        if (s[19] == '.') {
                nfrac = len - 21;               /* between '.' and the final 'Z' */
                if (len < 22 || nfrac > 3 || !digits(s + 20, nfrac, &frac))
                        return false;
                for (size_t i = nfrac; i < 3; i++)
                        frac *= 10;
        } else if (len != 20) {
                return false;
        }
        if (s[len - 1] != 'Z')
                return false;
        if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
            mi > 59 || sec > 59)
                return false;
        days = days_from_civil(y, mo, d);
        *out_ms = ((days * 24 + h) * 60 + mi) * INT64_C(60000) + sec * INT64_C(1000) + frac;
        return true;
}

bool bgj_time_format(int64_t ms, char buf[BGJ_TIME_STR_SIZE]) {
        static const int64_t min_ms = INT64_C(-62135596800000);  /* 0001-01-01T00:00:00Z */
        static const int64_t max_ms = INT64_C(253402300799999);  /* 9999-12-31T23:59:59.999Z */
        char tmp[64];
        int64_t days, rem, y;
        size_t n;
        unsigned m, d;

        buf[0] = '\0';
        if (ms < min_ms || ms > max_ms)
                return false;
        days = ms / MS_PER_DAY;
        rem = ms % MS_PER_DAY;
        if (rem < 0) {
                rem += MS_PER_DAY;
                days--;
        }
        civil_from_days(days, &y, &m, &d);
        /* The year is 1..9999 here, so the text fits; the compiler cannot know it. */
        if (rem % 1000 == 0)
                snprintf(tmp, sizeof(tmp), "%04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ",
                         y, m, d, (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
                         (unsigned)(rem / 1000 % 60));
        else
                snprintf(tmp, sizeof(tmp), "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ",
                         y, m, d, (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
                         (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
        n = strlen(tmp);
        if (n >= BGJ_TIME_STR_SIZE)
                return false;
        memcpy(buf, tmp, n + 1);
        return true;
}

json_t *bgj_parse(const char *buf, size_t len, size_t max_len,
                  char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *j;

        if (max_len == 0)
                max_len = BGJ_PARSE_MAX_DEFAULT;
        if (buf == NULL && len > 0) {
                if (errstr_size > 0)
                        snprintf(errstr, errstr_size, "invalid JSON: no input");
                return NULL;
        }
        if (len > max_len) {
                if (errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "invalid JSON: document of %zu bytes exceeds the limit of "
                                 "%zu bytes", len, max_len);
                return NULL;
        }
        j = json_loadb(buf != NULL ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (j == NULL && errstr_size > 0) {
                /* jansson quotes the offending token: keep the reason ASCII-printable so
                 * that it can go into a JSON response or a log line. */
                for (char *p = jerr.text; *p != '\0'; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                                *p = '?';
                snprintf(errstr, errstr_size, "invalid JSON at line %d column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        }
        return j;
}
