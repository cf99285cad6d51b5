#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_money.h"

/* Every expected value below is written out by hand (or computed with Python's decimal
 * module and int.to_bytes), never by the code under test. */

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Parsing
 */

static void parse_accepts_decimal_strings(void **state) {
        static const struct {
                const char *text;
                int64_t     micros;
        } ok[] = {
                { "12.34",                  12340000 },
                { "12.340000",              12340000 },
                { "-0.5",                   -500000 },
                { "0",                      0 },
                { "-0",                     0 },
                { "-0.000000",              0 },
                { "0.000001",               1 },
                { "-0.000001",              -1 },
                { "007.50",                 7500000 },
                { "1",                      1000000 },
                { "123456.789012",          123456789012 },
                { "00000000000000000000000000000001.5", 1500000 },
                { "9223372036854",          9223372036854000000 },
                { "9223372036854.775807",   INT64_MAX },
                { "-9223372036854.775808",  INT64_MIN },
                { "-9223372036854.775807",  -INT64_MAX },
        };
        char err[128];

        for (size_t i = 0; i < N_ELEMS(ok); i++) {
                int64_t v = 42;

                err[0] = '\0';
                assert_int_equal(bg_money_parse(ok[i].text, strlen(ok[i].text), &v,
                                                err, sizeof(err)), BG_MONEY_OK);
                assert_true(v == ok[i].micros);
                assert_string_equal(err, "");
        }
}

static void parse_rejects_bad_syntax(void **state) {
        static const char *const bad[] = {
                "", "+1", "1e3", "1E3", " 1", "1 ", " ", "1.", ".5", "-", "--1", "-.5",
                "1.2.3", "1,5", "0x10", "12a", "NaN", "inf", "-inf", "1.-5", "1. 5",
                "\xd9\xa1", /* ARABIC-INDIC DIGIT ONE: not an ASCII digit */
                "1_000",
        };
        char err[128];

        for (size_t i = 0; i < N_ELEMS(bad); i++) {
                int64_t v = 42;

                err[0] = '\0';
                assert_int_equal(bg_money_parse(bad[i], strlen(bad[i]), &v, err, sizeof(err)),
                                 BG_MONEY_ERR_SYNTAX);
                assert_true(v == 0);
                assert_true(strncmp(err, "invalid amount: ", 16) == 0);
        }
}

static void parse_explains_the_error(void **state) {
        char err[128];
        int64_t v;

        assert_int_equal(bg_money_parse("1e3", 3, &v, err, sizeof(err)), BG_MONEY_ERR_SYNTAX);
        assert_string_equal(err, "invalid amount: unexpected character 'e' at offset 1");

        assert_int_equal(bg_money_parse(" 1", 2, &v, err, sizeof(err)), BG_MONEY_ERR_SYNTAX);
        assert_string_equal(err, "invalid amount: unexpected byte 0x20 at offset 0");

        assert_int_equal(bg_money_parse("5.", 2, &v, err, sizeof(err)), BG_MONEY_ERR_SYNTAX);
        assert_string_equal(err, "invalid amount: expected a digit at offset 2, found the end");

        assert_int_equal(bg_money_parse("", 0, &v, err, sizeof(err)), BG_MONEY_ERR_SYNTAX);
        assert_string_equal(err, "invalid amount: empty");

        assert_int_equal(bg_money_parse("1.1234567", 9, &v, err, sizeof(err)),
                         BG_MONEY_ERR_PRECISION);
        assert_string_equal(err, "invalid amount: 7 fraction digits, at most 6 allowed");

        /* No errstr at all is fine too. */
        assert_int_equal(bg_money_parse("x", 1, &v, NULL, 0), BG_MONEY_ERR_SYNTAX);
        assert_int_equal(bg_money_parse(NULL, 0, &v, NULL, 0), BG_MONEY_ERR_SYNTAX);
}

static void parse_rejects_extra_fraction_digits(void **state) {
        static const char *const bad[] = {
                "1.2345678", "0.0000000", "12.3400000", "-0.0000001",
                /* precision is reported before overflow */
                "99999999999999999999.1234567",
        };
        int64_t v;

        for (size_t i = 0; i < N_ELEMS(bad); i++) {
                v = 42;
                assert_int_equal(bg_money_parse(bad[i], strlen(bad[i]), &v, NULL, 0),
                                 BG_MONEY_ERR_PRECISION);
                assert_true(v == 0);
        }
}

static void parse_rejects_overflow(void **state) {
        static const char *const bad[] = {
                "9223372036854.775808",   /* INT64_MAX + 1 micro */
                "-9223372036854.775809",  /* INT64_MIN - 1 micro */
                "9223372036855",
                "-9223372036855",
                "18446744073709.551616",  /* 2^64 micros: must not wrap to 0 */
                "99999999999999999999999999999999999999999",
        };
        char err[160];
        int64_t v;

        for (size_t i = 0; i < N_ELEMS(bad); i++) {
                v = 42;
                assert_int_equal(bg_money_parse(bad[i], strlen(bad[i]), &v, err, sizeof(err)),
                                 BG_MONEY_ERR_OVERFLOW);
                assert_true(v == 0);
        }
        assert_string_equal(err, "invalid amount: out of range, the limits are "
                                 "-9223372036854.775808 and 9223372036854.775807");
}

static void parse_reads_exactly_len_bytes(void **state) {
        const char with_nul[] = { '1', '\0', '5' };
        int64_t v;

        /* A longer buffer: only the first 5 bytes count. */
        assert_int_equal(bg_money_parse("12.34xyz", 5, &v, NULL, 0), BG_MONEY_OK);
        assert_true(v == 12340000);
        /* An embedded NUL is a bad byte, not an end. */
        assert_int_equal(bg_money_parse(with_nul, sizeof(with_nul), &v, NULL, 0),
                         BG_MONEY_ERR_SYNTAX);
}

/*
 * Formatting
 */

static void format_six_digits(void **state) {
        static const struct {
                int64_t     micros;
                const char *text;
        } cases[] = {
                { 12340000,   "12.340000" },
                { -500000,    "-0.500000" },
                { 0,          "0.000000" },
                { 1,          "0.000001" },
                { -1,         "-0.000001" },
                { 1000000,    "1.000000" },
                { INT64_MAX,  "9223372036854.775807" },
                { INT64_MIN,  "-9223372036854.775808" },
        };
        char buf[BG_MONEY_STR_SIZE];

        for (size_t i = 0; i < N_ELEMS(cases); i++) {
                size_t n = bg_money_format(cases[i].micros, buf);

                assert_string_equal(buf, cases[i].text);
                assert_int_equal(n, strlen(cases[i].text));
        }
}

static void format_currency_digits(void **state) {
        const bg_money_currency_t *eur = bg_money_currency_find("EUR", 3);
        const bg_money_currency_t *jpy = bg_money_currency_find("JPY", 3);
        char buf[BG_MONEY_STR_SIZE];
        size_t n = 99;

        assert_non_null(eur);
        assert_non_null(jpy);
        assert_int_equal(bg_money_format_currency(12340000, eur, buf, &n), BG_MONEY_OK);
        assert_string_equal(buf, "12.34");
        assert_int_equal(n, 5);
        assert_int_equal(bg_money_format_currency(12000000, jpy, buf, &n), BG_MONEY_OK);
        assert_string_equal(buf, "12");
        assert_int_equal(n, 2);
        assert_int_equal(bg_money_format_currency(-500000, eur, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "-0.50");
        assert_int_equal(bg_money_format_currency(0, eur, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "0.00");
        assert_int_equal(bg_money_format_currency(0, jpy, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "0");
        assert_int_equal(bg_money_format_currency(-9223372036854000000, jpy, buf, NULL),
                         BG_MONEY_OK);
        assert_string_equal(buf, "-9223372036854");
        assert_int_equal(bg_money_format_currency(9223372036854770000, eur, buf, NULL),
                         BG_MONEY_OK);
        assert_string_equal(buf, "9223372036854.77");

        /* Formatting never rounds: unrounded amounts are refused. */
        assert_int_equal(bg_money_format_currency(12345000, eur, buf, &n),
                         BG_MONEY_ERR_INEXACT);
        assert_string_equal(buf, "");
        assert_int_equal(n, 0);
        assert_int_equal(bg_money_format_currency(12500000, jpy, buf, NULL),
                         BG_MONEY_ERR_INEXACT);
        assert_int_equal(bg_money_format_currency(INT64_MIN, jpy, buf, NULL),
                         BG_MONEY_ERR_INEXACT);
}

static void format_any_digits(void **state) {
        char buf[BG_MONEY_STR_SIZE];

        assert_int_equal(bg_money_format_digits(12345600, 4, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "12.3456");
        assert_int_equal(bg_money_format_digits(100000, 1, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "0.1");
        assert_int_equal(bg_money_format_digits(INT64_MIN, 6, buf, NULL), BG_MONEY_OK);
        assert_string_equal(buf, "-9223372036854.775808");
        assert_int_equal(bg_money_format_digits(1, 7, buf, NULL), BG_MONEY_ERR_INVALID);
        assert_string_equal(buf, "");
}

static void format_then_parse_round_trips(void **state) {
        static const int64_t values[] = {
                0, 1, -1, 999999, 1000000, -1000001, 12340000, 4611686018427387904,
                INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
        };
        char buf[BG_MONEY_STR_SIZE];

        for (size_t i = 0; i < N_ELEMS(values); i++) {
                size_t n = bg_money_format(values[i], buf);
                int64_t back = 0;

                assert_int_equal(bg_money_parse(buf, n, &back, NULL, 0), BG_MONEY_OK);
                assert_true(back == values[i]);
        }
}

/*
 * Currencies
 */

static void currency_table(void **state) {
        static const struct {
                const char *code;
                unsigned    digits;
        } want[] = {
                { "AUD", 2 }, { "CAD", 2 }, { "CHF", 2 }, { "DKK", 2 }, { "EUR", 2 },
                { "GBP", 2 }, { "JPY", 0 }, { "NOK", 2 }, { "NZD", 2 }, { "SEK", 2 },
                { "SGD", 2 }, { "USD", 2 },
        };
        const bg_money_currency_t *all;
        size_t count = 0;

        all = bg_money_currencies(&count);
        assert_int_equal(count, N_ELEMS(want));
        for (size_t i = 0; i < N_ELEMS(want); i++) {
                const bg_money_currency_t *c = bg_money_currency_find(want[i].code, 3);

                assert_non_null(c);
                assert_string_equal(c->code, want[i].code);
                assert_int_equal(c->minor_digits, want[i].digits);
                assert_ptr_equal(c, &all[i]);
        }
}

static void currency_lookup_is_exact(void **state) {
        assert_null(bg_money_currency_find("usd", 3));
        assert_null(bg_money_currency_find("US", 2));
        assert_null(bg_money_currency_find("USDX", 4));
        assert_null(bg_money_currency_find("XXX", 3));
        assert_null(bg_money_currency_find("", 0));
        assert_null(bg_money_currency_find(NULL, 0));
        /* Only @len bytes count: "USD" followed by more text is found. */
        assert_non_null(bg_money_currency_find("USD,EUR", 3));
        assert_null(bg_money_currency_find("US\0", 3));
}

/*
 * Rounding
 */

struct round_case {
        int64_t  in;
        unsigned digits;
        int64_t  half_up;
        int64_t  half_even;
};

static void round_exact_halves_and_neighbours(void **state) {
        static const struct round_case cases[] = {
                /* 2 digits (cents) */
                { 12345000,  2, 12350000,  12340000 },   /* 12.345: the modes differ */
                { 12355000,  2, 12360000,  12360000 },   /* 12.355: 5 is odd -> 6 */
                { -12345000, 2, -12350000, -12340000 },
                { -12355000, 2, -12360000, -12360000 },
                { 12344999,  2, 12340000,  12340000 },   /* just below half */
                { 12345001,  2, 12350000,  12350000 },   /* just above half */
                { -12344999, 2, -12340000, -12340000 },
                { -12345001, 2, -12350000, -12350000 },
                { 5000,      2, 10000,     0 },          /* 0.005 */
                { 15000,     2, 20000,     20000 },
                { 25000,     2, 30000,     20000 },
                { -5000,     2, -10000,    0 },
                { -15000,    2, -20000,    -20000 },
                { 4999,      2, 0,         0 },
                { 12340000,  2, 12340000,  12340000 },   /* exact: unchanged */
                { 0,         2, 0,         0 },
                /* 0 digits (JPY) */
                { 2500000,   0, 3000000,   2000000 },
                { 3500000,   0, 4000000,   4000000 },
                { -2500000,  0, -3000000,  -2000000 },
                { 500000,    0, 1000000,   0 },
                { -500000,   0, -1000000,  0 },
                { 2499999,   0, 2000000,   2000000 },
                { 2500001,   0, 3000000,   3000000 },
                { 12000000,  0, 12000000,  12000000 },
                /* other digits */
                { 1234565,   5, 1234570,   1234560 },
                { 1234567,   6, 1234567,   1234567 },
                /* near the int64 limits, where the rounded value still fits */
                { 9223372036854774999, 2, 9223372036854770000, 9223372036854770000 },
                { -9223372036854774999, 2, -9223372036854770000, -9223372036854770000 },
                { 9223372036854499999, 0, 9223372036854000000, 9223372036854000000 },
                { INT64_MAX, 6, INT64_MAX, INT64_MAX },
                { INT64_MIN, 6, INT64_MIN, INT64_MIN },
        };

        for (size_t i = 0; i < N_ELEMS(cases); i++) {
                int64_t up = 42, even = 42;

                assert_int_equal(bg_money_round(cases[i].in, cases[i].digits,
                                                BG_MONEY_ROUND_HALF_UP, &up), BG_MONEY_OK);
                assert_int_equal(bg_money_round(cases[i].in, cases[i].digits,
                                                BG_MONEY_ROUND_HALF_EVEN, &even), BG_MONEY_OK);
                assert_true(up == cases[i].half_up);
                assert_true(even == cases[i].half_even);
        }
}

static void round_detects_overflow_at_the_limits(void **state) {
        int64_t v = 42;

        /* INT64_MAX = ...854.775807 rounds up past the limit in both modes. */
        assert_int_equal(bg_money_round(INT64_MAX, 2, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_round(INT64_MAX, 2, BG_MONEY_ROUND_HALF_EVEN, &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_round(INT64_MIN, 2, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_round(INT64_MAX, 0, BG_MONEY_ROUND_HALF_EVEN, &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_true(v == 42);   /* untouched on error */

        /* An exact half at the negative limit: half-up goes to -9223372036855 (too far),
         * half-even to the even -9223372036854, which fits. */
        assert_int_equal(bg_money_round(-9223372036854500000, 0, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_round(-9223372036854500000, 0, BG_MONEY_ROUND_HALF_EVEN,
                                        &v), BG_MONEY_OK);
        assert_true(v == -9223372036854000000);
}

static void round_rejects_bad_arguments(void **state) {
        int64_t v = 42;

        assert_int_equal(bg_money_round(1, 7, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_ERR_INVALID);
        assert_int_equal(bg_money_round(1, 2, (bg_money_round_t)99, &v), BG_MONEY_ERR_INVALID);
        assert_true(v == 42);
}

static void round_to_currency(void **state) {
        const bg_money_currency_t *usd = bg_money_currency_find("USD", 3);
        const bg_money_currency_t *jpy = bg_money_currency_find("JPY", 3);
        int64_t v;

        assert_int_equal(bg_money_round_currency(1005000, usd, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_OK);
        assert_true(v == 1010000);
        assert_int_equal(bg_money_round_currency(1005000, usd, BG_MONEY_ROUND_HALF_EVEN, &v),
                         BG_MONEY_OK);
        assert_true(v == 1000000);
        assert_int_equal(bg_money_round_currency(1005000, jpy, BG_MONEY_ROUND_HALF_UP, &v),
                         BG_MONEY_OK);
        assert_true(v == 1000000);
        assert_int_equal(bg_money_round_currency(1500000, jpy, BG_MONEY_ROUND_INVOICE, &v),
                         BG_MONEY_OK);
        assert_true(v == 2000000);
        /* The invoice default is the documented one (docs/money.md). */
        assert_int_equal(BG_MONEY_ROUND_INVOICE, BG_MONEY_ROUND_HALF_UP);
}

/*
 * Arithmetic
 */

static void add_and_sub_detect_overflow(void **state) {
        int64_t v = 42;

        assert_int_equal(bg_money_add(1000000, 2340000, &v), BG_MONEY_OK);
        assert_true(v == 3340000);
        assert_int_equal(bg_money_add(INT64_MAX, -1, &v), BG_MONEY_OK);
        assert_true(v == 9223372036854775806);
        assert_int_equal(bg_money_sub(-1, INT64_MAX, &v), BG_MONEY_OK);
        assert_true(v == INT64_MIN);
        assert_int_equal(bg_money_sub(5, 7, &v), BG_MONEY_OK);
        assert_true(v == -2);

        v = 42;
        assert_int_equal(bg_money_add(INT64_MAX, 1, &v), BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_add(INT64_MIN, -1, &v), BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_sub(INT64_MIN, 1, &v), BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_sub(0, INT64_MIN, &v), BG_MONEY_ERR_OVERFLOW);
        assert_true(v == 42);
}

static void mul_quantity_by_price(void **state) {
        static const struct {
                int64_t qty, price, half_up, half_even;
        } cases[] = {
                { 1500000, 20000, 30000, 30000 },            /* 1.5 h x 0.02 = 0.03 */
                { 2000000, 12340000, 24680000, 24680000 },   /* 2 x 12.34 */
                { 3000000, -333333, -999999, -999999 },      /* 3 x -0.333333 */
                { 333333, 30000, 10000, 10000 },             /* 9999.99 micros */
                { 1, 1, 0, 0 },                              /* 1e-12 units */
                { 500000, 1, 1, 0 },                         /* exactly half a micro */
                { -500000, 1, -1, 0 },
                { 1500000, 1, 2, 2 },                        /* 1.5 micros */
                { 2500000, 1, 3, 2 },                        /* 2.5 micros */
                { -2500000, 1, -3, -2 },
                { 0, INT64_MAX, 0, 0 },
                /* 1,000,000 units x 9223372.036854 = 9223372036854 units */
                { 1000000000000, 9223372036854, 9223372036854000000, 9223372036854000000 },
                { INT64_MAX, 1000000, INT64_MAX, INT64_MAX },  /* x 1 */
                { INT64_MIN, 1000000, INT64_MIN, INT64_MIN },
                { INT64_MAX, 1, 9223372036855, 9223372036855 }, /* x 0.000001 */
                { INT64_MIN, 1, -9223372036855, -9223372036855 },
        };

        for (size_t i = 0; i < N_ELEMS(cases); i++) {
                int64_t up = 42, even = 42;

                assert_int_equal(bg_money_mul(cases[i].qty, cases[i].price,
                                              BG_MONEY_ROUND_HALF_UP, &up), BG_MONEY_OK);
                assert_int_equal(bg_money_mul(cases[i].qty, cases[i].price,
                                              BG_MONEY_ROUND_HALF_EVEN, &even), BG_MONEY_OK);
                assert_true(up == cases[i].half_up);
                assert_true(even == cases[i].half_even);
        }
}

static void mul_detects_overflow(void **state) {
        static const struct {
                int64_t qty, price;
        } cases[] = {
                { 1000001000000, 9223372036854 },
                { INT64_MAX, INT64_MAX },
                { INT64_MIN, INT64_MIN },
                { INT64_MIN, INT64_MAX },
                { INT64_MIN, -1000000 },      /* -INT64_MIN */
                { INT64_MAX, 1000001 },       /* x 1.000001 */
        };
        int64_t v = 42;

        for (size_t i = 0; i < N_ELEMS(cases); i++)
                assert_int_equal(bg_money_mul(cases[i].qty, cases[i].price,
                                              BG_MONEY_ROUND_HALF_UP, &v),
                                 BG_MONEY_ERR_OVERFLOW);
        assert_true(v == 42);
        assert_int_equal(bg_money_mul(1, 1, (bg_money_round_t)-1, &v), BG_MONEY_ERR_INVALID);
}

/*
 * Avro decimal (bytes, scale 6)
 */

static void avro_encodes_minimal_twos_complement(void **state) {
        static const struct {
                int64_t micros;
                size_t  len;
                uint8_t bytes[8];
        } cases[] = {
                { 0,           1, { 0x00 } },
                { 1,           1, { 0x01 } },
                { 127,         1, { 0x7f } },
                { 128,         2, { 0x00, 0x80 } },
                { 255,         2, { 0x00, 0xff } },
                { 256,         2, { 0x01, 0x00 } },
                { -1,          1, { 0xff } },
                { -128,        1, { 0x80 } },
                { -129,        2, { 0xff, 0x7f } },
                { -256,        2, { 0xff, 0x00 } },
                { 12340000,    4, { 0x00, 0xbc, 0x4b, 0x20 } },   /* 12.34 */
                { -12340000,   4, { 0xff, 0x43, 0xb4, 0xe0 } },
                { 2147483648,  5, { 0x00, 0x80, 0x00, 0x00, 0x00 } },
                { -2147483649, 5, { 0xff, 0x7f, 0xff, 0xff, 0xff } },
                { INT64_MAX,   8, { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
                { INT64_MIN,   8, { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } },
        };

        for (size_t i = 0; i < N_ELEMS(cases); i++) {
                uint8_t out[BG_MONEY_AVRO_MAX];
                int64_t back = 42;
                size_t n;

                memset(out, 0xaa, sizeof(out));
                n = bg_money_to_avro(cases[i].micros, out);
                assert_int_equal(n, cases[i].len);
                assert_memory_equal(out, cases[i].bytes, n);
                assert_int_equal(bg_money_from_avro(cases[i].bytes, cases[i].len, &back),
                                 BG_MONEY_OK);
                assert_true(back == cases[i].micros);
        }
}

static void avro_decodes_non_minimal_encodings(void **state) {
        static const uint8_t padded_min[9] = { 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 };
        static const uint8_t padded_one[16] = { [15] = 0x01 };
        static const uint8_t all_ff[16] = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        static const uint8_t padded_max[16] = {
                0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        static const uint8_t zero_zero[2] = { 0, 0 };
        int64_t v;

        assert_int_equal(bg_money_from_avro(padded_min, sizeof(padded_min), &v), BG_MONEY_OK);
        assert_true(v == INT64_MIN);
        assert_int_equal(bg_money_from_avro(padded_one, sizeof(padded_one), &v), BG_MONEY_OK);
        assert_true(v == 1);
        assert_int_equal(bg_money_from_avro(all_ff, sizeof(all_ff), &v), BG_MONEY_OK);
        assert_true(v == -1);
        assert_int_equal(bg_money_from_avro(padded_max, sizeof(padded_max), &v), BG_MONEY_OK);
        assert_true(v == INT64_MAX);
        assert_int_equal(bg_money_from_avro(zero_zero, sizeof(zero_zero), &v), BG_MONEY_OK);
        assert_true(v == 0);
}

static void avro_decode_rejects_bad_input(void **state) {
        static const uint8_t two_pow_63[9] = { 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0 };
        static const uint8_t min_minus_one[9] = {
                0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        };
        static const uint8_t big16[16] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
        static const uint8_t neg16[16] = { 0x80 };
        static const uint8_t hi_bit_16[16] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
        static const uint8_t ones17[17] = { [16] = 0x01 };
        static const uint8_t one = 0x01;
        int64_t v;

        v = 42;
        assert_int_equal(bg_money_from_avro(two_pow_63, sizeof(two_pow_63), &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_true(v == 0);
        assert_int_equal(bg_money_from_avro(min_minus_one, sizeof(min_minus_one), &v),
                         BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_from_avro(big16, sizeof(big16), &v), BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_from_avro(neg16, sizeof(neg16), &v), BG_MONEY_ERR_OVERFLOW);
        assert_int_equal(bg_money_from_avro(hi_bit_16, sizeof(hi_bit_16), &v),
                         BG_MONEY_ERR_OVERFLOW);
        /* A valid value padded to 17 bytes is still too long: the cap comes first. */
        v = 42;
        assert_int_equal(bg_money_from_avro(ones17, sizeof(ones17), &v),
                         BG_MONEY_ERR_TOO_LONG);
        assert_true(v == 0);
        assert_int_equal(bg_money_from_avro(&one, 0, &v), BG_MONEY_ERR_SYNTAX);
        assert_int_equal(bg_money_from_avro(NULL, 0, &v), BG_MONEY_ERR_SYNTAX);
}

static void err2str_names_every_error(void **state) {
        assert_string_equal(bg_money_err2str(BG_MONEY_OK), "success");
        assert_string_equal(bg_money_err2str(BG_MONEY_ERR_OVERFLOW), "out of range");
        assert_string_equal(bg_money_err2str(BG_MONEY_ERR_TOO_LONG),
                            "decimal encoding too long");
        assert_string_equal(bg_money_err2str((bg_money_err_t)1234), "unknown error");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parse_accepts_decimal_strings),
                cmocka_unit_test(parse_rejects_bad_syntax),
                cmocka_unit_test(parse_explains_the_error),
                cmocka_unit_test(parse_rejects_extra_fraction_digits),
                cmocka_unit_test(parse_rejects_overflow),
                cmocka_unit_test(parse_reads_exactly_len_bytes),
                cmocka_unit_test(format_six_digits),
                cmocka_unit_test(format_currency_digits),
                cmocka_unit_test(format_any_digits),
                cmocka_unit_test(format_then_parse_round_trips),
                cmocka_unit_test(currency_table),
                cmocka_unit_test(currency_lookup_is_exact),
                cmocka_unit_test(round_exact_halves_and_neighbours),
                cmocka_unit_test(round_detects_overflow_at_the_limits),
                cmocka_unit_test(round_rejects_bad_arguments),
                cmocka_unit_test(round_to_currency),
                cmocka_unit_test(add_and_sub_detect_overflow),
                cmocka_unit_test(mul_quantity_by_price),
                cmocka_unit_test(mul_detects_overflow),
                cmocka_unit_test(avro_encodes_minimal_twos_complement),
                cmocka_unit_test(avro_decodes_non_minimal_encodings),
                cmocka_unit_test(avro_decode_rejects_bad_input),
                cmocka_unit_test(err2str_names_every_error),
        };
        return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
