#include "bg_money.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Magnitude limits of int64 micros, as unsigned values. */
#define MAG_MAX_POS ((uint64_t)INT64_MAX)
#define MAG_MAX_NEG ((uint64_t)INT64_MAX + 1u)

static const bg_money_currency_t currencies[] = {
        { "AUD", 2 }, { "CAD", 2 }, { "CHF", 2 }, { "DKK", 2 },
        { "EUR", 2 }, { "GBP", 2 }, { "JPY", 0 }, { "NOK", 2 },
        { "NZD", 2 }, { "SEK", 2 }, { "SGD", 2 }, { "USD", 2 },
};

/* 10^(6 - digits) for digits 0..6: micros per step of the last kept digit. */
static const int64_t step_of_digits[BG_MONEY_FRAC_DIGITS + 1] = {
        1000000, 100000, 10000, 1000, 100, 10, 1,
};

const char *bg_money_err2str(bg_money_err_t err) {
        switch (err) {
        case BG_MONEY_OK:            return "success";
        case BG_MONEY_ERR_SYNTAX:    return "syntax error";
        case BG_MONEY_ERR_PRECISION: return "too many fraction digits";
        case BG_MONEY_ERR_OVERFLOW:  return "out of range";
        case BG_MONEY_ERR_INEXACT:   return "not representable at this precision";
        case BG_MONEY_ERR_INVALID:   return "invalid argument";
        case BG_MONEY_ERR_TOO_LONG:  return "decimal encoding too long";
        }
        return "unknown error";
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Describes the byte at @s[@i] (or the end of input) for an error message. */
static void describe_unexpected(const char *s, size_t len, size_t i,
                                char *errstr, size_t errstr_size) {
        unsigned char c;

        if (errstr_size == 0)
                return;
        if (i >= len) {
                snprintf(errstr, errstr_size,
                         "invalid amount: expected a digit at offset %zu, found the end", i);
                return;
        }
        c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f)
                snprintf(errstr, errstr_size,
                         "invalid amount: unexpected character '%c' at offset %zu", c, i);
        else
                snprintf(errstr, errstr_size,
                         "invalid amount: unexpected byte 0x%02x at offset %zu", c, i);
}

bg_money_err_t bg_money_parse(const char *s, size_t len, int64_t *out,
                              char *errstr, size_t errstr_size) {
        /* Integer part, capped once it is already past any int64 amount so that it
         * cannot wrap; the rest of the input is still checked for syntax first. */
        const uint64_t units_cap = MAG_MAX_NEG / BG_MONEY_SCALE + 1;
        uint64_t units = 0, frac = 0, limit;
        unsigned __int128 mag;
        size_t i = 0, start, nfrac = 0;
        bool neg = false;

        *out = 0;
        if (len == 0 || s == NULL) {
                if (errstr_size > 0)
                        snprintf(errstr, errstr_size, "invalid amount: empty");
                return BG_MONEY_ERR_SYNTAX;
        }
        if (s[0] == '-') {
                neg = true;
                i++;
        }
        start = i;
        for (; i < len && is_digit(s[i]); i++) {
                if (units < units_cap)
                        units = units * 10 + (uint64_t)(s[i] - '0');
        }
        if (i == start)
                goto err_syntax;
        if (i < len) {
                if (s[i] != '.')
                        goto err_syntax;
                start = ++i;
                for (; i < len && is_digit(s[i]); i++, nfrac++) {
                        if (nfrac < BG_MONEY_FRAC_DIGITS)
                                frac = frac * 10 + (uint64_t)(s[i] - '0');
                }
                if (i == start || i < len)
                        goto err_syntax;
        }
        if (nfrac > BG_MONEY_FRAC_DIGITS) {
                if (errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "invalid amount: %zu fraction digits, at most %d allowed",
                                 nfrac, BG_MONEY_FRAC_DIGITS);
                return BG_MONEY_ERR_PRECISION;
        }
        for (; nfrac < BG_MONEY_FRAC_DIGITS; nfrac++)
                frac *= 10;

        mag = (unsigned __int128)units * BG_MONEY_SCALE + frac;
        limit = neg ? MAG_MAX_NEG : MAG_MAX_POS;
        if (mag > limit) {
                if (errstr_size > 0)
                        snprintf(errstr, errstr_size,
                                 "invalid amount: out of range, the limits are "
                                 "-9223372036854.775808 and 9223372036854.775807");
                return BG_MONEY_ERR_OVERFLOW;
        }
        /* Negate in unsigned arithmetic: -(2^63) is INT64_MIN without signed overflow. */
        *out = neg ? (int64_t)(0u - (uint64_t)mag) : (int64_t)mag;
        return BG_MONEY_OK;

err_syntax:
        describe_unexpected(s, len, i, errstr, errstr_size);
        return BG_MONEY_ERR_SYNTAX;
}

/* |v| as unsigned; defined for INT64_MIN. */
static uint64_t magnitude(int64_t v) {
        return v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
}

size_t bg_money_format(int64_t micros, char buf[BG_MONEY_STR_SIZE]) {
        size_t len = 0;

        /* Cannot fail: BG_MONEY_FRAC_DIGITS is valid and every value is exact at it. */
        (void)bg_money_format_digits(micros, BG_MONEY_FRAC_DIGITS, buf, &len);
        return len;
}

bg_money_err_t bg_money_format_digits(int64_t micros, unsigned digits,
                                      char buf[BG_MONEY_STR_SIZE], size_t *lenp) {
        const char *sign = micros < 0 ? "-" : "";
        uint64_t mag = magnitude(micros), step;
        int n;

        buf[0] = '\0';
        if (lenp != NULL)
                *lenp = 0;
        if (digits > BG_MONEY_FRAC_DIGITS)
                return BG_MONEY_ERR_INVALID;
        step = (uint64_t)step_of_digits[digits];
        if (mag % step != 0)
                return BG_MONEY_ERR_INEXACT;
        if (digits == 0)
                n = snprintf(buf, BG_MONEY_STR_SIZE, "%s%" PRIu64, sign, mag / BG_MONEY_SCALE);
        else
                n = snprintf(buf, BG_MONEY_STR_SIZE, "%s%" PRIu64 ".%0*" PRIu64, sign,
                             mag / BG_MONEY_SCALE, (int)digits,
                             (mag % BG_MONEY_SCALE) / step);
        if (lenp != NULL)
                *lenp = (size_t)n;
        return BG_MONEY_OK;
}

bg_money_err_t bg_money_format_currency(int64_t micros, const bg_money_currency_t *cur,
                                        char buf[BG_MONEY_STR_SIZE], size_t *lenp) {
        return bg_money_format_digits(micros, cur->minor_digits, buf, lenp);
}

const bg_money_currency_t *bg_money_currency_find(const char *code, size_t len) {
        if (code == NULL || len != 3)
                return NULL;
        for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++) {
                if (memcmp(currencies[i].code, code, 3) == 0)
                        return &currencies[i];
        }
        return NULL;
}

const bg_money_currency_t *bg_money_currencies(size_t *countp) {
        *countp = sizeof(currencies) / sizeof(currencies[0]);
        return currencies;
}

/* The one rounding mechanism: *q = @n / @d (@d > 0) rounded to an integer with @mode.
 * Exact quotients are returned unchanged; otherwise the truncated quotient moves one step
 * away from zero when the remainder is more than half of @d, or exactly half and the mode
 * says so. Callers pass |n| <= 2^126, so nothing here can overflow. */
static bg_money_err_t div_round(__int128 n, int64_t d, bg_money_round_t mode, __int128 *q) {
        __int128 quot = n / d, rem = n % d;
        __int128 twice = (rem < 0 ? -rem : rem) * 2;
        bool away;

        switch (mode) {
        case BG_MONEY_ROUND_HALF_UP:
                away = twice >= d;
                break;
        case BG_MONEY_ROUND_HALF_EVEN:
                away = twice > d || (twice == d && quot % 2 != 0);
                break;
        default:
                return BG_MONEY_ERR_INVALID;
        }
        if (rem != 0 && away)
                quot += n < 0 ? -1 : 1;
        *q = quot;
        return BG_MONEY_OK;
}

static bool fits_int64(__int128 v) {
        return v >= INT64_MIN && v <= INT64_MAX;
}

bg_money_err_t bg_money_round(int64_t micros, unsigned digits, bg_money_round_t mode,
                              int64_t *out) {
        bg_money_err_t err;
        __int128 q, v;
        int64_t step;

        if (digits > BG_MONEY_FRAC_DIGITS)
                return BG_MONEY_ERR_INVALID;
        step = step_of_digits[digits];
        if ((err = div_round(micros, step, mode, &q)) != BG_MONEY_OK)
                return err;
        v = q * step;
        if (!fits_int64(v))
                return BG_MONEY_ERR_OVERFLOW;
        *out = (int64_t)v;
        return BG_MONEY_OK;
}

bg_money_err_t bg_money_round_currency(int64_t micros, const bg_money_currency_t *cur,
                                       bg_money_round_t mode, int64_t *out) {
        return bg_money_round(micros, cur->minor_digits, mode, out);
}

bg_money_err_t bg_money_add(int64_t a, int64_t b, int64_t *out) {
        int64_t r;

        if (__builtin_add_overflow(a, b, &r))
                return BG_MONEY_ERR_OVERFLOW;
        *out = r;
        return BG_MONEY_OK;
}

bg_money_err_t bg_money_sub(int64_t a, int64_t b, int64_t *out) {
        int64_t r;

        if (__builtin_sub_overflow(a, b, &r))
                return BG_MONEY_ERR_OVERFLOW;
        *out = r;
        return BG_MONEY_OK;
}

bg_money_err_t bg_money_mul(int64_t quantity, int64_t unit_price, bg_money_round_t mode,
                            int64_t *out) {
        /* |quantity x unit_price| <= 2^126: exact in 128 bits. */
        __int128 product = (__int128)quantity * unit_price, q;
        bg_money_err_t err;

        if ((err = div_round(product, BG_MONEY_SCALE, mode, &q)) != BG_MONEY_OK)
                return err;
        if (!fits_int64(q))
                return BG_MONEY_ERR_OVERFLOW;
        *out = (int64_t)q;
        return BG_MONEY_OK;
}

size_t bg_money_to_avro(int64_t micros, uint8_t out[BG_MONEY_AVRO_MAX]) {
        uint64_t u = (uint64_t)micros;
        size_t skip = 0;

        for (int i = 0; i < BG_MONEY_AVRO_MAX; i++)
                out[i] = (uint8_t)(u >> (8 * (BG_MONEY_AVRO_MAX - 1 - i)));
        /* A leading byte is redundant when it only repeats the sign bit of the next. */
        while (skip < BG_MONEY_AVRO_MAX - 1 &&
               ((out[skip] == 0x00 && (out[skip + 1] & 0x80) == 0) ||
                (out[skip] == 0xff && (out[skip + 1] & 0x80) != 0)))
                skip++;
        memmove(out, out + skip, BG_MONEY_AVRO_MAX - skip);
        return BG_MONEY_AVRO_MAX - skip;
}

bg_money_err_t bg_money_from_avro(const uint8_t *bytes, size_t len, int64_t *out) {
        __int128 v;

        *out = 0;
        if (len == 0 || bytes == NULL)
                return BG_MONEY_ERR_SYNTAX;
        if (len > BG_MONEY_AVRO_DECODE_MAX)
                return BG_MONEY_ERR_TOO_LONG;
        /* Start from the sign extension, then shift bytes in. Each step stays within
         * [-2^(8k-1), 2^(8k-1)) for k bytes read, so 16 bytes fit __int128 exactly. */
        v = (bytes[0] & 0x80) ? -1 : 0;
        for (size_t i = 0; i < len; i++)
                v = v * 256 + bytes[i];
        if (!fits_int64(v))
                return BG_MONEY_ERR_OVERFLOW;
        *out = (int64_t)v;
        return BG_MONEY_OK;
}
