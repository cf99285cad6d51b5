/*
 * bg_money: amounts of money as int64_t micro-units (1 unit = 1,000,000 micros).
 *
 * Never floating point. Amounts travel as decimal strings in JSON ("12.340000" or "12.34"),
 * as the Avro `decimal` logical type (bytes, scale 6) on the wire, and as int64 micros in C.
 * The range is INT64_MIN..INT64_MAX micros, i.e. -9223372036854.775808..9223372036854.775807.
 * Every operation that can leave that range reports BG_MONEY_ERR_OVERFLOW instead of
 * wrapping. The rounding rules and their reasons are in docs/money.md.
 *
 * All functions are pure and thread-safe.
 */
#ifndef BG_MONEY_H
#define BG_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BG_MONEY_SCALE       1000000   /* micros per unit */
#define BG_MONEY_FRAC_DIGITS 6         /* decimal digits after the point, and the Avro scale */

/* Buffer size for any formatted amount: "-9223372036854.775808" is 21 characters + NUL. */
#define BG_MONEY_STR_SIZE 24

/* Largest Avro decimal encoding of an int64 (bg_money_to_avro never writes more). */
#define BG_MONEY_AVRO_MAX 8

/* Largest encoding bg_money_from_avro examines; longer byte strings are rejected. */
#define BG_MONEY_AVRO_DECODE_MAX 16

typedef enum {
        BG_MONEY_OK = 0,
        BG_MONEY_ERR_SYNTAX,      /* not a decimal number of the accepted form */
        BG_MONEY_ERR_PRECISION,   /* more fraction digits than allowed */
        BG_MONEY_ERR_OVERFLOW,    /* result outside int64 micros */
        BG_MONEY_ERR_INEXACT,     /* value not representable at the requested precision */
        BG_MONEY_ERR_INVALID,     /* invalid argument (digits > 6, unknown rounding mode...) */
        BG_MONEY_ERR_TOO_LONG,    /* Avro decimal longer than BG_MONEY_AVRO_DECODE_MAX bytes */
} bg_money_err_t;

/* Rounding of a value that falls between two representable ones. Exact values are never
 * changed; the modes differ only for exact halves. */
typedef enum {
        BG_MONEY_ROUND_HALF_UP = 0,  /* halves away from zero: 0.125 -> 0.13, -0.125 -> -0.13 */
        BG_MONEY_ROUND_HALF_EVEN,    /* halves to the even neighbour (banker's): 0.125 -> 0.12 */
} bg_money_round_t;

/* The mode invoices use, for line amounts, totals and quantity x price (docs/money.md). */
#define BG_MONEY_ROUND_INVOICE BG_MONEY_ROUND_HALF_UP

typedef struct bg_money_currency_s {
        char    code[4];        /* ISO 4217, upper case, NUL-terminated */
        uint8_t minor_digits;   /* digits of the minor unit: 2 for cents, 0 for JPY */
} bg_money_currency_t;

/* A static, never-NULL description of @err ("syntax error", "overflow"...). */
const char *bg_money_err2str(bg_money_err_t err);

/*
 * Parsing and formatting
 */

/* Parses exactly @len bytes of @s as a decimal amount into *out (micros).
 * Accepted: an optional '-', one or more digits, then optionally '.' and 1 to 6 digits.
 * Rejected, with a reason in @errstr: empty input, '+', spaces anywhere, exponents,
 * ".5" and "5.", embedded NULs (BG_MONEY_ERR_SYNTAX); more than 6 fraction digits, even
 * zeros (BG_MONEY_ERR_PRECISION); values outside int64 micros (BG_MONEY_ERR_OVERFLOW).
 * Leading zeros are accepted ("007.50" is 7.5); "-0" is 0. @s need not be NUL-terminated
 * and may be NULL when @len is 0. *out is set to 0 on error.
 * @errstr may be NULL when @errstr_size is 0. */
bg_money_err_t bg_money_parse(const char *s, size_t len, int64_t *out,
                              char *errstr, size_t errstr_size);

/* Writes @micros with exactly 6 fraction digits ("12.340000", "-0.500000", "0.000000") and
 * a NUL into @buf. Returns the length written, without the NUL. Handles INT64_MIN. */
size_t bg_money_format(int64_t micros, char buf[BG_MONEY_STR_SIZE]);

/* Writes @micros with exactly @digits (0..6) fraction digits and no point when @digits is 0
 * ("12.34", "12"; "-0.50" for -0.5 at 2 digits). Does not round: returns
 * BG_MONEY_ERR_INEXACT when @micros has non-zero digits beyond @digits (round first with
 * bg_money_round), BG_MONEY_ERR_INVALID when @digits > 6; @buf is then "". The length
 * written (without the NUL) goes to *lenp unless @lenp is NULL. */
bg_money_err_t bg_money_format_digits(int64_t micros, unsigned digits,
                                      char buf[BG_MONEY_STR_SIZE], size_t *lenp);

/* bg_money_format_digits() with @cur's minor-unit digits: "12.34" for EUR, "12" for JPY.
 * @cur must not be NULL (look it up with bg_money_currency_find and check). */
bg_money_err_t bg_money_format_currency(int64_t micros, const bg_money_currency_t *cur,
                                        char buf[BG_MONEY_STR_SIZE], size_t *lenp);

/*
 * Currencies: AUD CAD CHF DKK EUR GBP JPY NOK NZD SEK SGD USD
 */

/* The currency whose code is exactly the @len bytes at @code (upper case, as ISO 4217;
 * "usd" is not found), or NULL. The result points into a static table. */
const bg_money_currency_t *bg_money_currency_find(const char *code, size_t len);

/* The whole static table, in code order; its length goes to *countp. */
const bg_money_currency_t *bg_money_currencies(size_t *countp);

/*
 * Rounding and arithmetic
 */

/* Rounds @micros to @digits (0..6) fraction digits with @mode; the result is still in
 * micros (1234567 at 2 digits -> 1230000). BG_MONEY_ERR_OVERFLOW when the rounded value
 * does not fit int64 (INT64_MAX rounded up), BG_MONEY_ERR_INVALID for @digits > 6 or an
 * unknown @mode. *out is written only on success. */
bg_money_err_t bg_money_round(int64_t micros, unsigned digits, bg_money_round_t mode,
                              int64_t *out);

/* bg_money_round() to @cur's minor unit. @cur must not be NULL. */
bg_money_err_t bg_money_round_currency(int64_t micros, const bg_money_currency_t *cur,
                                       bg_money_round_t mode, int64_t *out);

/* *out = a + b, or BG_MONEY_ERR_OVERFLOW (and *out untouched). */
bg_money_err_t bg_money_add(int64_t a, int64_t b, int64_t *out);

/* *out = a - b, or BG_MONEY_ERR_OVERFLOW (and *out untouched). */
bg_money_err_t bg_money_sub(int64_t a, int64_t b, int64_t *out);

/* Amount of @quantity (micro-units of the usage unit: 1.5 hours = 1500000) at
 * @unit_price (micros per unit): quantity x price / 1,000,000, computed exactly in
 * 128 bits and then rounded to the nearest micro with @mode (the only rounding).
 * BG_MONEY_ERR_OVERFLOW when the rounded amount does not fit int64,
 * BG_MONEY_ERR_INVALID for an unknown @mode; *out is written only on success. */
bg_money_err_t bg_money_mul(int64_t quantity, int64_t unit_price, bg_money_round_t mode,
                            int64_t *out);

/*
 * Avro `decimal` (bytes, scale 6)
 */

/* Writes @micros as the big-endian two's-complement minimal byte string of the unscaled
 * value (what Java's BigDecimal.unscaledValue().toByteArray() gives): 0 -> 00,
 * 128 -> 00 80, -1 -> FF. Returns the length, 1..8. */
size_t bg_money_to_avro(int64_t micros, uint8_t out[BG_MONEY_AVRO_MAX]);

/* Reads a big-endian two's-complement byte string of @len bytes into *out (micros).
 * Non-minimal encodings (redundant sign bytes) are accepted. BG_MONEY_ERR_SYNTAX for
 * @len 0, BG_MONEY_ERR_TOO_LONG for @len > 16, BG_MONEY_ERR_OVERFLOW when the value does
 * not fit int64. *out is set to 0 on error. */
bg_money_err_t bg_money_from_avro(const uint8_t *bytes, size_t len, int64_t *out);

#endif /* BG_MONEY_H */
