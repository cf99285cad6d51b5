/*
 * The direct usage-record decoder (codec_usage.c) against the avro-c generic decoder it
 * replaced (codec_decode_usage_generic): for many generated messages, valid and not, in
 * the real schema and in writer schemas of other shapes, both must succeed or fail alike
 * (same error code) and, when they succeed, give the same codec_usage_t field by field.
 * Also: the walker's root field ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "codec_fixtures.h"
#include "codec_int.h"

#define ID_USAGE 1004
#define ID_ALT   2001   /* other field order, extra fields, int timestamp, plain bytes... */
#define ID_ODD   2002   /* fields we need with types the decoders refuse */
#define ID_LINK  2003   /* the enums referenced by name, maps of unions */

/* Fields reordered, three string fields missing, extra fields, an enum with symbols we
 * do not know, a union with a string branch, int timestamp_begin, plain bytes price. */
static const char alt_schema[] =
        "{\"type\":\"record\",\"name\":\"UsageRecord\",\"namespace\":\"billing\",\"fields\":["
        "{\"name\":\"extra_first\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
        "{\"name\":\"currency\",\"type\":{\"type\":\"enum\",\"name\":\"Currency\","
        "\"symbols\":[\"XXX\",\"EUR\",\"USD\"]}},"
        "{\"name\":\"project_id\",\"type\":\"string\"},"
        "{\"name\":\"usage_id\",\"type\":\"string\"},"
        "{\"name\":\"timestamp_begin\",\"type\":\"int\"},"
        "{\"name\":\"amount\",\"type\":[\"null\",\"bytes\",\"string\"]},"
        "{\"name\":\"unit_price\",\"type\":\"bytes\"},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
        "{\"name\":\"line_type\",\"type\":{\"type\":\"enum\",\"name\":\"LineType\","
        "\"symbols\":[\"rounding\",\"future_kind\",\"service_charge\"]}},"
        "{\"name\":\"quantity\",\"type\":\"bytes\"},"
        "{\"name\":\"other\",\"type\":[\"null\",\"billing.Currency\",\"double\"]},"
        "{\"name\":\"timestamp_end\",\"type\":\"long\"}]}";

/* usage_id a union, quantity a fixed, unit a long, tags a map of longs, amount null. */
static const char odd_schema[] =
        "{\"type\":\"record\",\"name\":\"UsageRecord\",\"namespace\":\"billing\",\"fields\":["
        "{\"name\":\"usage_id\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"quantity\",\"type\":{\"type\":\"fixed\",\"name\":\"Q\",\"size\":2}},"
        "{\"name\":\"unit\",\"type\":\"long\"},"
        "{\"name\":\"amount\",\"type\":\"null\"},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
        "{\"name\":\"timestamp_end\",\"type\":\"string\"}]}";

/* Enums defined in an extra field and referenced by name from ours. */
static const char link_schema[] =
        "{\"type\":\"record\",\"name\":\"UsageRecord\",\"namespace\":\"billing\",\"fields\":["
        "{\"name\":\"defs\",\"type\":{\"type\":\"record\",\"name\":\"Defs\",\"fields\":["
        "{\"name\":\"c\",\"type\":{\"type\":\"enum\",\"name\":\"Currency\","
        "\"symbols\":[\"USD\",\"EUR\",\"ZZZ\"]}},"
        "{\"name\":\"l\",\"type\":{\"type\":\"enum\",\"name\":\"LineType\","
        "\"symbols\":[\"multiplier\",\"rounding\"]}}]}},"
        "{\"name\":\"currency\",\"type\":\"billing.Currency\"},"
        "{\"name\":\"line_type\",\"type\":\"billing.LineType\"},"
        "{\"name\":\"unit_price\",\"type\":[\"bytes\",\"null\"]},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"string\"]}}]}";

static codec_registry_t *manifest;
static codec_usage_t u_fast, u_walk;
static char err_walk[512];
static size_t n_fast, n_fast_gave_up;
static codec_registry_t *reg;
static codec_t *codec;
static char err_new[512], err_old[512];
static codec_usage_t u_new, u_old, u_in;

static codec_err_t test_by_id(void *opaque, int32_t id, char **json_out, char *errstr,
                              size_t errstr_size) {
        const char *json = id == ID_ALT ? alt_schema : id == ID_ODD ? odd_schema
                         : id == ID_LINK ? link_schema : NULL;

        (void)opaque;
        if (json == NULL)
                return codec_registry_schema_by_id(manifest, id, json_out, errstr,
                                                   errstr_size);
        *json_out = strdup(json);
        return *json_out ? CODEC_OK : CODEC_ERR_NOMEM;
}

static codec_err_t test_latest(void *opaque, const char *subject, int32_t *id_out,
                               char *errstr, size_t errstr_size) {
        (void)opaque;
        return codec_registry_latest_id(manifest, subject, id_out, errstr, errstr_size);
}

static int setup(void **state) {
        static const codec_registry_ops_t ops = {.schema_by_id = test_by_id,
                                                 .latest_id = test_latest};
        char e[512];

        (void)state;
        manifest = codec_registry_manifest_new(BG_SCHEMAS_DIR, e, sizeof(e));
        if (manifest == NULL) {
                fprintf(stderr, "manifest: %s\n", e);
                return -1;
        }
        reg = codec_registry_new(&ops, NULL);
        codec = reg ? codec_new(reg, NULL, e, sizeof(e)) : NULL;
        if (codec == NULL) {
                fprintf(stderr, "codec: %s\n", e);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        (void)state;
        codec_destroy(codec);
        codec_registry_destroy(reg);
        codec_registry_destroy(manifest);
        return 0;
}

/*
 * A deterministic generator and a message buffer.
 */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n) {   /* 0 .. n-1 */
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return n ? (uint32_t)(rng % n) : 0;
}

static bool chance(uint32_t percent) {
        return rnd(100) < percent;
}

typedef struct mbuf_s {
        uint8_t p[65536];
        size_t n;
} mbuf_t;

static mbuf_t m;

static void put_byte(uint8_t b) {
        assert_true(m.n < sizeof(m.p));
        m.p[m.n++] = b;
}

static void put_raw(const void *p, size_t n) {
        assert_true(m.n + n <= sizeof(m.p));
        memcpy(m.p + m.n, p, n);
        m.n += n;
}

static void put_long(int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

        while (z >= 0x80) {
                put_byte((uint8_t)(z | 0x80));
                z >>= 7;
        }
        put_byte((uint8_t)z);
}

static void put_blob(const void *p, size_t n) {
        put_long((int64_t)n);
        put_raw(p, n);
}

static void put_header(uint32_t id) {
        m.n = 0;
        put_byte(0);
        put_byte((uint8_t)(id >> 24));
        put_byte((uint8_t)(id >> 16));
        put_byte((uint8_t)(id >> 8));
        put_byte((uint8_t)id);
}

/* Random text of about @max bytes, at most @cap: ASCII, 2-, 3- and 4-byte UTF-8, now and
 * then nothing at all and, unless @clean, a NUL or an invalid byte. */
static size_t gen_text(char *out, size_t max, size_t cap, bool clean) {
        static const char *const pieces[] = {"a", "Z", "-", "0", "é", "ß", "✓", "€",
                                             "日本", "😀", " ", "\"", "\\"};
        size_t n = 0, target;

        if (chance(10))
                return 0;
        target = chance(30) ? max - 2 + rnd(5) : 1 + rnd((uint32_t)max);
        while (n < target) {
                const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
                size_t k = strlen(p);

                if (n + k > cap)
                        break;
                memcpy(out + n, p, k);
                n += k;
        }
        if (!clean && n > 0 && chance(3))
                out[rnd((uint32_t)n)] = '\0';
        if (!clean && n > 0 && chance(2))
                out[rnd((uint32_t)n)] = (char)0xff;
        return n;
}

/* Clean text into a C string field of @size bytes, at most @size - 1 bytes long. */
static void gen_field(char *dst, size_t size) {
        dst[gen_text(dst, size - 1, size - 1, true)] = '\0';
}

static void put_text(size_t max) {
        char s[1200];

        put_blob(s, gen_text(s, max, sizeof(s), false));
}

static void put_uuid_text(void) {
        static const char hex[] = "0123456789abcdefABCDEF";
        char s[40];

        for (int i = 0; i < 36; i++)
                s[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[rnd(22)];
        if (chance(5))
                s[rnd(36)] = 'g';
        put_blob(s, chance(3) ? 35 + rnd(3) : 36);
}

/* Two's-complement big-endian, 0 to 17 bytes, with extreme values now and then. */
static void put_decimal(void) {
        uint8_t b[17];
        size_t n = chance(90) ? 1 + rnd(8) : rnd(18);

        for (size_t i = 0; i < n; i++)
                b[i] = (uint8_t)rnd(256);
        if (n > 0 && chance(30))
                b[0] = chance(50) ? 0x7f : 0x80;
        if (n > 8 && chance(50))
                memset(b, b[n - 1] & 0x80 ? 0xff : 0x00, n - 8);
        put_blob(b, n);
}

/* A map<string>: 0..40 entries, in one or more blocks (negative counts with sizes too),
 * repeated keys, keys with NUL bytes, empty and over-long keys and values. */
static void put_tags(bool string_values, bool union_values) {
        static const char *const keys[] = {"env", "team", "a", "b\0x", "b", "ключ", ""};
        size_t total = chance(50) ? rnd(8) : rnd(41), done = 0;

        while (done < total) {
                size_t block = 1 + rnd((uint32_t)(total - done));
                mbuf_t save;
                size_t start;

                if (chance(30)) {       /* negative count: the block's byte size follows */
                        save = m;
                        m.n = 0;
                        start = 0;
                } else {
                        put_long((int64_t)block);
                        start = SIZE_MAX;
                }
                for (size_t i = 0; i < block; i++) {
                        char k[80];
                        size_t kn;

                        if (chance(40)) {
                                uint32_t ki = rnd(7);

                                kn = ki == 3 ? 3 : strlen(keys[ki]);   /* "b\0x" whole */
                                memcpy(k, keys[ki], kn);
                        } else if (chance(3)) {
                                kn = 65 + rnd(3);
                                memset(k, 'k', kn);
                        } else {
                                kn = 1 + rnd(10);
                                for (size_t j = 0; j < kn; j++)
                                        k[j] = (char)('a' + rnd(26));
                        }
                        put_blob(k, kn);
                        if (union_values) {
                                put_long(chance(20) ? 0 : 1);
                                if (m.p[m.n - 1] == 0)
                                        continue;
                        }
                        if (string_values)
                                put_text(chance(5) ? 300 : 40);
                        else
                                put_long((int64_t)rnd(1000));
                }
                if (start == 0) {
                        mbuf_t items = m;

                        m = save;
                        put_long(-(int64_t)block);
                        put_long((int64_t)items.n);
                        put_raw(items.p, items.n);
                }
                done += block;
        }
        put_long(0);
}

/* A body of the real schema (usage-record.v1.avsc) with random, often invalid, values. */
static void gen_v1(void) {
        put_header(ID_USAGE);
        put_uuid_text();
        put_uuid_text();
        put_text(CODEC_SERVICE_NAME_MAX);
        put_text(CODEC_SERVICE_TYPE_MAX);
        put_text(CODEC_SERVICE_PLAN_MAX);
        put_long((int64_t)rnd(8));
        put_decimal();
        put_text(CODEC_UNIT_MAX);
        for (int i = 0; i < 2; i++) {
                put_long(chance(50) ? 0 : 1);
                if (m.p[m.n - 1] != 0)
                        put_decimal();
        }
        put_long((int64_t)rnd(12));
        put_long(chance(10) ? INT64_MIN : (int64_t)rnd(UINT32_MAX) * 1000);
        put_long(chance(10) ? INT64_MAX : (int64_t)rnd(UINT32_MAX) * 1000);
        put_tags(true, false);
}

static void gen_alt(void) {
        put_header(ID_ALT);
        for (size_t n = rnd(3), i = 0; i < n; i++) {   /* extra_first */
                put_long(1);
                put_text(10);
        }
        put_long(0);
        put_long((int64_t)rnd(3));                      /* currency */
        put_uuid_text();
        put_uuid_text();
        put_long((int64_t)rnd(UINT32_MAX) - INT32_MAX); /* int timestamp_begin */
        put_long((int64_t)rnd(3));                      /* amount */
        if (m.p[m.n - 1] == 2)
                put_decimal();
        else if (m.p[m.n - 1] == 4)
                put_text(10);
        put_decimal();                                  /* unit_price */
        put_tags(true, false);
        put_long((int64_t)rnd(3));                      /* line_type */
        put_decimal();
        put_long((int64_t)rnd(3));                      /* other */
        if (m.p[m.n - 1] == 2)
                put_long((int64_t)rnd(3));
        else if (m.p[m.n - 1] == 4)
                put_raw("\0\0\0\0\0\0\xf0\x3f", 8);
        put_long((int64_t)rnd(UINT32_MAX));
}

static void gen_odd(void) {
        put_header(ID_ODD);
        put_long(chance(20) ? 0 : 1);
        if (m.p[m.n - 1] != 0)
                put_uuid_text();
        put_raw("\x01\x02", 2);
        put_long(7);
        put_tags(false, false);
        put_text(5);
}

static void gen_link(void) {
        put_header(ID_LINK);
        put_long((int64_t)rnd(3));
        put_long((int64_t)rnd(2));
        put_long((int64_t)rnd(3));
        put_long((int64_t)rnd(2));
        put_long(chance(50) ? 0 : 1);
        if (m.p[m.n - 1] == 0)
                put_decimal();
        put_tags(true, true);
}

/*
 * The comparison
 */

static void hexdump(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%02x", p[i]);
        fprintf(stderr, "\n");
}

static void assert_usage_equal(const codec_usage_t *a, const codec_usage_t *b) {
        assert_memory_equal(&a->usage_id, &b->usage_id, sizeof(a->usage_id));
        assert_memory_equal(&a->project_id, &b->project_id, sizeof(a->project_id));
        assert_string_equal(a->service_name, b->service_name);
        assert_string_equal(a->service_type, b->service_type);
        assert_string_equal(a->service_plan, b->service_plan);
        assert_int_equal(a->line_type, b->line_type);
        assert_int_equal(a->quantity, b->quantity);
        assert_string_equal(a->unit, b->unit);
        assert_int_equal(a->has_unit_price, b->has_unit_price);
        assert_int_equal(a->unit_price, b->unit_price);
        assert_int_equal(a->has_amount, b->has_amount);
        assert_int_equal(a->amount, b->amount);
        assert_int_equal(a->currency, b->currency);
        assert_int_equal(a->timestamp_begin, b->timestamp_begin);
        assert_int_equal(a->timestamp_end, b->timestamp_end);
        assert_int_equal(a->n_tags, b->n_tags);
        for (size_t i = 0; i < a->n_tags; i++) {
                assert_string_equal(a->tags[i].key, b->tags[i].key);
                assert_string_equal(a->tags[i].value, b->tags[i].value);
        }
}

static size_t n_ok, n_invalid, n_malformed, n_other;

/* The fused fast path against the walker and field readers it sits in front of: when it
 * decodes, they must too, to the same struct; codec_decode_usage must give the walked
 * path's code, reason and struct whatever the fast path did. Returns whether the fast
 * path decoded @msg. */
static bool differ_fast(const uint8_t *msg, size_t len) {
        codec_err_t e_walk, e_all;
        bool fast;

        memset(&u_fast, 0xa5, sizeof(u_fast));
        memset(&u_walk, 0x5a, sizeof(u_walk));
        fast = codec_decode_usage_fast(codec, msg, len, &u_fast);
        e_walk = codec_decode_usage_walked(codec, msg, len, &u_walk, err_walk,
                                           sizeof(err_walk));
        if (fast && e_walk != CODEC_OK) {
                fprintf(stderr, "fast path decoded what the walked path refuses (%d: %s): ",
                        e_walk, err_walk);
                hexdump(msg, len);
        }
        if (fast) {
                assert_int_equal(e_walk, CODEC_OK);
                assert_usage_equal(&u_fast, &u_walk);
                /* Byte for byte up to the tags (padding and string tails included). */
                assert_memory_equal(&u_fast, &u_walk, offsetof(codec_usage_t, tags));
                n_fast++;
        } else {
                n_fast_gave_up++;
        }
        memset(&u_fast, 0x3c, sizeof(u_fast));
        e_all = codec_decode_usage(codec, msg, len, &u_fast, err_new, sizeof(err_new));
        assert_int_equal(e_all, e_walk);
        if (e_all == CODEC_OK) {
                assert_usage_equal(&u_fast, &u_walk);
                assert_memory_equal(&u_fast, &u_walk, offsetof(codec_usage_t, tags));
        } else {
                assert_string_equal(err_new, err_walk);
        }
        return fast;
}

/* Decodes @msg both ways and requires the same outcome; returns the code. */
static codec_err_t differ(const uint8_t *msg, size_t len) {
        codec_err_t e_new, e_old;

        differ_fast(msg, len);
        memset(&u_new, 0xa5, sizeof(u_new));
        memset(&u_old, 0x5a, sizeof(u_old));
        e_new = codec_decode_usage(codec, msg, len, &u_new, err_new, sizeof(err_new));
        e_old = codec_decode_usage_generic(codec, msg, len, &u_old, err_old, sizeof(err_old));
        if (e_new != e_old || e_new == CODEC_ERR_AVRO) {
                fprintf(stderr, "new %d (%s), old %d (%s) for ", e_new,
                            e_new ? err_new : "ok", e_old, e_old ? err_old : "ok");
                hexdump(msg, len);
        }
        assert_int_not_equal(e_new, CODEC_ERR_AVRO);
        assert_int_equal(e_new, e_old);
        /* The peek reads any bytes safely, and an id it reads is the decoder's. */
        {
                bg_uuid_t peeked;

                if (codec_peek_usage_id(codec, msg, len, &peeked) && e_new == CODEC_OK)
                        assert_memory_equal(peeked.b, u_new.usage_id.b, 16);
        }
        switch (e_new) {
        case CODEC_OK:
                assert_usage_equal(&u_new, &u_old);
                n_ok++;
                break;
        case CODEC_ERR_INVALID:
                /* The reasons are the generic decoder's, but for the tag count (the
                 * direct decoder stops counting at the first key too many). */
                if (strstr(err_old, " tags, more than ") == NULL)
                        assert_string_equal(err_new, err_old);
                assert_non_null(strstr(err_new, " in field '"));
                n_invalid++;
                break;
        case CODEC_ERR_MALFORMED:
                assert_string_equal(err_new, err_old);
                n_malformed++;
                break;
        default:
                n_other++;
                break;
        }
        return e_new;
}

/* The message, every prefix of it, and copies with one byte changed. */
static void differ_mutated(const uint8_t *msg, size_t len, bool every_byte) {
        static uint8_t copy[65536];

        differ(msg, len);
        for (size_t cut = 0; cut < len; cut++)
                differ(msg, cut);
        memcpy(copy, msg, len);
        for (size_t i = CODEC_HEADER_SIZE; i < len; i++) {
                static const uint8_t flips[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};

                if (!every_byte && !chance(10))
                        continue;
                for (size_t f = 0; f < sizeof(flips); f++) {
                        copy[i] = flips[f];
                        differ(copy, len);
                }
                copy[i] ^= (uint8_t)(1u << rnd(8));
                differ(copy, len);
                copy[i] = msg[i];
        }
}

/*
 * Tests
 */

static void walker_reports_root_field_ends(void **state) {
        const uint8_t *msg;
        size_t len, ends[16], n;
        codec_walk_opts_t opts = {.stop_field = -1};
        codec_schema_t *s;
        char e[256];

        (void)state;
        fx_usage(&u_in);
        assert_int_equal(codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)), CODEC_OK);
        assert_int_equal(codec_decode_walk(codec, CODEC_KIND_USAGE, msg, len, &s, e,
                                           sizeof(e)), CODEC_OK);
        n = codec_prog_field_count(s->prog);
        assert_int_equal(n, 14);
        opts.max_items = len;
        opts.field_ends = ends;
        assert_int_equal(codec_walk(s->prog, msg + CODEC_HEADER_SIZE, len - CODEC_HEADER_SIZE,
                                    &opts, NULL, e, sizeof(e)), 0);
        /* usage_id: length byte 72 (36) and 36 characters; project_id likewise. */
        assert_int_equal(ends[0], 37);
        assert_int_equal(ends[1], 74);
        assert_int_equal(ends[n - 1], len - CODEC_HEADER_SIZE);
        for (size_t i = 1; i < n; i++)
                assert_true(ends[i] >= ends[i - 1]);
}

static void random_structs_decode_alike(void **state) {
        const uint8_t *msg;
        size_t len;
        char e[512];

        (void)state;
        for (int iter = 0; iter < 3000; iter++) {
                memset(&u_in, 0, sizeof(u_in));
                for (int k = 0; k < 16; k++)
                        u_in.usage_id.b[k] = (uint8_t)rnd(256);
                for (int k = 0; k < 16; k++)
                        u_in.project_id.b[k] = (uint8_t)rnd(256);
                gen_field(u_in.service_name, sizeof(u_in.service_name));
                gen_field(u_in.service_type, sizeof(u_in.service_type));
                gen_field(u_in.service_plan, sizeof(u_in.service_plan));
                gen_field(u_in.unit, sizeof(u_in.unit));
                u_in.n_tags = rnd(CODEC_TAGS_MAX + 1);
                for (size_t t = 0; t < u_in.n_tags; t++) {
                        snprintf(u_in.tags[t].key, sizeof(u_in.tags[t].key), "k%zu-%.*s", t,
                                 (int)(2 * rnd(20)), "ключключключключключ");
                        gen_field(u_in.tags[t].value, sizeof(u_in.tags[t].value));
                }
                u_in.line_type = (codec_line_type_t)(1 + rnd(CODEC_LINE__COUNT - 1));
                u_in.quantity = chance(20) ? -INT64_C(999999999999999999)
                                           : (int64_t)rnd(UINT32_MAX) * 1000 - (INT64_C(1) << 40);
                u_in.has_unit_price = chance(50);
                u_in.unit_price = u_in.has_unit_price ? INT64_C(999999999999999999) : 0;
                u_in.has_amount = chance(50);
                u_in.amount = u_in.has_amount ? (int64_t)rnd(1000) - 500 : 0;
                u_in.currency = (bg_currency_t)(1 + rnd(12));
                u_in.timestamp_begin = (int64_t)rnd(UINT32_MAX) * 1000;
                u_in.timestamp_end = chance(5) ? INT64_MAX : u_in.timestamp_begin + 1;
                if (codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)) != CODEC_OK)
                        fail_msg("encode: %s", e);
                assert_int_equal(differ(msg, len), CODEC_OK);
                assert_usage_equal(&u_new, &u_in);
                /* Our own schema has usage_id first: the peek always reads it. */
                {
                        bg_uuid_t peeked;

                        assert_true(codec_peek_usage_id(codec, msg, len, &peeked));
                        assert_memory_equal(peeked.b, u_in.usage_id.b, 16);
                }
        }
}

static void random_bodies_decode_alike(void **state) {
        static void (*const gens[])(void) = {gen_v1, gen_alt, gen_odd, gen_link};

        (void)state;
        for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
                n_ok = n_invalid = n_malformed = n_other = 0;
                for (int iter = 0; iter < 4000; iter++) {
                        gens[g]();
                        differ(m.p, m.n);
                }
                fprintf(stderr, "generator %zu: %zu ok, %zu invalid, %zu malformed\n", g,
                        n_ok, n_invalid, n_malformed);
                /* The generators reach both outcomes (gen_odd only fails). */
                assert_true(n_invalid > 0);
                if (g != 2)
                        assert_true(n_ok > 0);
        }
}

static void damaged_messages_decode_alike(void **state) {
        static void (*const gens[])(void) = {gen_v1, gen_alt, gen_odd, gen_link};
        const uint8_t *msg;
        size_t len;
        char e[256];

        (void)state;
        fx_usage(&u_in);
        assert_int_equal(codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)), CODEC_OK);
        memcpy(m.p, msg, len);
        differ_mutated(m.p, len, true);
        n_ok = n_invalid = n_malformed = n_other = 0;
        for (int iter = 0; iter < 60; iter++) {
                mbuf_t orig;

                gens[iter % 4]();
                orig = m;
                differ_mutated(orig.p, orig.n, false);
        }
        fprintf(stderr, "damaged: %zu ok, %zu invalid, %zu malformed, %zu other\n", n_ok,
                n_invalid, n_malformed, n_other);
        assert_true(n_malformed > 0);
}

/* codec_utf8_valid reads ASCII 8 bytes at a time: ASCII between two strings changes
 * nothing, so a + ascii + b (at least one ASCII byte) is valid exactly when a and b are
 * (each under 8 bytes: read byte by byte). Bytes are drawn from ASCII, continuation and lead bytes to reach
 * sequences cut, overlong, surrogate and straddling the 8-byte steps. */
static void utf8_ascii_words_change_nothing(void **state) {
        static const uint8_t pool[] = {'a', 'Z', '0', 0x7f, 0x80, 0xbf, 0xa0, 0x9f, 0xc0,
                                       0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
        uint8_t a[8], b[8], x[40], all[56];
        unsigned n_valid = 0;

        (void)state;
        for (int iter = 0; iter < 200000; iter++) {
                size_t na = rnd(8), nb = rnd(8), nx = 1 + rnd(24), n = 0;

                for (size_t i = 0; i < na; i++)
                        a[i] = pool[rnd(sizeof(pool))];
                for (size_t i = 0; i < nb; i++)
                        b[i] = pool[rnd(sizeof(pool))];
                for (size_t i = 0; i < nx; i++)
                        x[i] = (uint8_t)(1 + rnd(0x7f));
                memcpy(all + n, a, na);
                n += na;
                memcpy(all + n, x, nx);
                n += nx;
                memcpy(all + n, b, nb);
                n += nb;
                bool want = codec_utf8_valid(a, na) && codec_utf8_valid(b, nb);
                assert_int_equal(codec_utf8_valid(all, n), want);
                n_valid += want;
        }
        assert_true(n_valid > 1000);
}

/* Our schema's scalar fields, valid, then the tags map is the caller's. */
static void put_v1_head(void) {
        put_header(ID_USAGE);
        put_blob("00000000-0000-0000-0000-000000000001", 36);
        put_blob("00000000-0000-0000-0000-000000000002", 36);
        put_blob("s", 1);
        put_blob("t", 1);
        put_blob("p", 1);
        put_long(0);
        put_blob("\x01", 1);
        put_blob("h", 1);
        put_long(0);
        put_long(0);
        put_long(11);
        put_long(1);
        put_long(2);
}

/* Cases the generators reach only by luck, each checked on its own. */
static void avro_c_quirks_are_kept(void **state) {
        (void)state;
        /* A repeated key keeps its first place and takes its last value. */
        put_v1_head();
        put_long(3);
        put_blob("a", 1);
        put_blob("first", 5);
        put_blob("b\0z", 3);   /* avro-c keys are C strings: "b" */
        put_blob("x", 1);
        put_blob("a", 1);
        put_blob("last", 4);
        put_long(1);
        put_blob("b", 1);
        put_blob("y", 1);
        put_long(0);
        assert_int_equal(differ(m.p, m.n), CODEC_OK);
        assert_int_equal(u_new.n_tags, 2);
        assert_string_equal(u_new.tags[0].key, "a");
        assert_string_equal(u_new.tags[0].value, "last");
        assert_string_equal(u_new.tags[1].key, "b");
        assert_string_equal(u_new.tags[1].value, "y");
}

/*
 * The fused fast path (codec_decode_usage_fast) against the walked path
 * (codec_decode_usage_walked); differ() above also runs differ_fast on every message.
 */

/* A random valid record: 0 to 32 tags with unicode keys and values, optional prices
 * null or present, every line type and currency, extreme numbers now and then. */
static void gen_struct(codec_usage_t *u) {
        memset(u, 0, sizeof(*u));
        for (int k = 0; k < 16; k++) {
                u->usage_id.b[k] = (uint8_t)rnd(256);
                u->project_id.b[k] = (uint8_t)rnd(256);
        }
        gen_field(u->service_name, sizeof(u->service_name));
        gen_field(u->service_type, sizeof(u->service_type));
        gen_field(u->service_plan, sizeof(u->service_plan));
        gen_field(u->unit, sizeof(u->unit));
        u->n_tags = chance(20) ? CODEC_TAGS_MAX - rnd(2) : rnd(CODEC_TAGS_MAX + 1);
        for (size_t t = 0; t < u->n_tags; t++) {
                char k[CODEC_TAG_KEY_MAX + 1];
                int kn = snprintf(k, sizeof(k), "%zu:", t);   /* unique */

                k[kn + gen_text(k + kn, 20, sizeof(k) - 1 - (size_t)kn, true)] = '\0';
                memcpy(u->tags[t].key, k, sizeof(k));
                gen_field(u->tags[t].value, chance(10) ? sizeof(u->tags[t].value) : 40);
        }
        u->line_type = (codec_line_type_t)(1 + rnd(CODEC_LINE__COUNT - 1));
        u->quantity = chance(10) ? (chance(50) ? 1 : -1) * CODEC_DECIMAL_MAX
                                 : (int64_t)rnd(UINT32_MAX) * (int64_t)rnd(100000);
        u->has_unit_price = chance(50);
        u->unit_price = u->has_unit_price ? (int64_t)rnd(UINT32_MAX) - INT32_MAX : 0;
        u->has_amount = chance(50);
        u->amount = u->has_amount ? (chance(10) ? CODEC_DECIMAL_MAX : (int64_t)rnd(1000)) : 0;
        u->currency = (bg_currency_t)(1 + rnd(12));
        u->timestamp_begin = chance(5) ? INT64_MIN : (int64_t)rnd(UINT32_MAX) * 1000;
        u->timestamp_end = chance(5) ? INT64_MAX : u->timestamp_begin + (int64_t)rnd(3600000);
}

/* The fixtures: fx_usage, it without prices and tags, fastavro's bytes of it. */
static void fast_path_takes_the_fixtures(void **state) {
        static const char golden[] =   /* test_codec.c golden_usage (fastavro 1.12) */
                "4835353538356235652d363136342d343736612d616437302d3733373637393763376638324837"
                "383762376538312d383438372d346138642d393039332d393639393963396661326135146b6166"
                "6b612d70726f640a6b61666b6114627573696e6573732d34020616e36008686f7572020601e240"
                "0210f21f494c589c0001168098c780d86680d2fe83d8660406656e760870726f64087465616d1a"
                "446174656e62616e6b2d4f707300";
        const uint8_t *msg;
        size_t len;
        char e[256];

        (void)state;
        fx_usage(&u_in);
        assert_int_equal(codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)), CODEC_OK);
        assert_true(differ_fast(msg, len));
        assert_usage_equal(&u_fast, &u_in);
        differ_mutated(msg, len, true);

        u_in.has_amount = u_in.has_unit_price = false;
        u_in.amount = u_in.unit_price = 0;
        u_in.n_tags = 0;
        assert_int_equal(codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)), CODEC_OK);
        assert_true(differ_fast(msg, len));
        assert_usage_equal(&u_fast, &u_in);

        fx_usage(&u_in);
        put_header(ID_USAGE);
        for (size_t i = 0; golden[i] != '\0'; i += 2) {
                unsigned b;

                assert_int_equal(sscanf(golden + i, "%2x", &b), 1);
                put_byte((uint8_t)b);
        }
        assert_true(differ_fast(m.p, m.n));
        assert_usage_equal(&u_fast, &u_in);
}

/* A few thousand random valid records: the fast path decodes every one; then damaged
 * copies (every prefix, bytes changed): never a success the walked path does not have. */
static void fast_path_agrees_on_random_records(void **state) {
        const uint8_t *msg;
        size_t len;
        char e[512];

        (void)state;
        n_fast = n_fast_gave_up = 0;
        for (int iter = 0; iter < 4000; iter++) {
                gen_struct(&u_in);
                if (codec_encode_usage(codec, &u_in, &msg, &len, e, sizeof(e)) != CODEC_OK)
                        fail_msg("encode: %s", e);
                if (!differ_fast(msg, len)) {
                        hexdump(msg, len);
                        fail_msg("fast path gave up on a valid record");
                }
                assert_usage_equal(&u_fast, &u_in);
                if (iter % 40 == 0) {
                        static uint8_t copy[65536];

                        memcpy(copy, msg, len);
                        for (size_t cut = 0; cut < len; cut++)
                                if (len <= 1024 || chance(10))
                                        differ_fast(copy, cut);
                        for (size_t i = CODEC_HEADER_SIZE; i < len; i++) {
                                static const uint8_t flips[] = {0x00, 0x01, 0x02, 0x7f, 0x80,
                                                                0xff};

                                if (len > 1024 && !chance(10))   /* big: a sample */
                                        continue;
                                for (size_t f = 0; f < sizeof(flips); f++) {
                                        copy[i] = flips[f];
                                        differ_fast(copy, len);
                                }
                                copy[i] ^= (uint8_t)(1u << rnd(8));
                                differ_fast(copy, len);
                                copy[i] = msg[i];
                        }
                }
        }
        /* And the raw generators' bodies, valid or not, in all four writer schemas. */
        for (int iter = 0; iter < 4000; iter++) {
                static void (*const gens[])(void) = {gen_v1, gen_alt, gen_odd, gen_link};

                gens[iter % 4]();
                differ_fast(m.p, m.n);
        }
        fprintf(stderr, "fast path: %zu decoded, %zu gave up\n", n_fast, n_fast_gave_up);
        assert_true(n_fast >= 4000);
        assert_true(n_fast_gave_up > 1000);
}

static void put_n_tags(size_t n, size_t value_len) {
        char v[300];

        memset(v, 'v', sizeof(v));
        if (n > 0)
                put_long((int64_t)n);
        for (size_t i = 0; i < n; i++) {
                char k[16];

                put_blob(k, (size_t)snprintf(k, sizeof(k), "key%zu", i));
                put_blob(v, value_len);
        }
        put_long(0);
}

/* What the fast path gives up on still decodes, or fails with today's code and reason. */
static void fast_path_gives_up_and_reasons_stay(void **state) {
        char e[512];

        (void)state;
        /* 32 tags: fast. 33: the walked path's reason, exactly. */
        put_v1_head();
        put_n_tags(CODEC_TAGS_MAX, 3);
        assert_true(differ_fast(m.p, m.n));
        assert_int_equal(u_fast.n_tags, CODEC_TAGS_MAX);
        put_v1_head();
        put_n_tags(CODEC_TAGS_MAX + 1, 3);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)),
                         CODEC_ERR_INVALID);
        assert_string_equal(e, "more than 32 tags in field 'tags'");

        /* A value of 256 bytes: fast; of 257: the reason of today. */
        put_v1_head();
        put_n_tags(1, CODEC_TAG_VALUE_MAX);
        assert_true(differ_fast(m.p, m.n));
        put_v1_head();
        put_n_tags(1, CODEC_TAG_VALUE_MAX + 1);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)),
                         CODEC_ERR_INVALID);
        assert_string_equal(e, "string of 257 bytes is longer than 256 bytes in field 'tags'");

        /* A byte left over: the walker's reason. */
        put_v1_head();
        put_n_tags(0, 0);
        put_byte(0);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)),
                         CODEC_ERR_MALFORMED);
        assert_non_null(strstr(e, "1 trailing bytes after the value"));

        /* Valid, but not for the fast path: decoded by the walked one. A negative block
         * count with its byte size... */
        put_v1_head();
        put_long(-1);
        put_long(4);
        put_blob("a", 1);
        put_blob("b", 1);
        put_long(0);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)), CODEC_OK);
        assert_int_equal(u_fast.n_tags, 1);
        /* ... a repeated key, and a key with a NUL byte (avro-c's quirks)... */
        put_v1_head();
        put_long(2);
        put_blob("a", 1);
        put_blob("x", 1);
        put_blob("a", 1);
        put_blob("y", 1);
        put_long(0);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)), CODEC_OK);
        assert_string_equal(u_fast.tags[0].value, "y");
        put_v1_head();
        put_long(1);
        put_blob("a\0b", 3);
        put_blob("x", 1);
        put_long(0);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)), CODEC_OK);
        assert_string_equal(u_fast.tags[0].key, "a");
        /* ... an enum index in two bytes (currency: the 11th byte of the head). */
        put_v1_head();
        m.n -= 3;
        put_raw("\x96\x00\x02\x04", 4);   /* 11 = zig-zag 22 as 0x96 0x00 */
        put_long(0);
        assert_false(differ_fast(m.p, m.n));
        assert_int_equal(codec_decode_usage(codec, m.p, m.n, &u_fast, e, sizeof(e)), CODEC_OK);
        assert_int_equal(u_fast.currency, BG_CURRENCY_USD);

        /* Other writer schemas never take the fast path. */
        do
                gen_alt();
        while (codec_decode_usage_walked(codec, m.p, m.n, &u_walk, e, sizeof(e)) != CODEC_OK);
        assert_false(differ_fast(m.p, m.n));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(walker_reports_root_field_ends),
                cmocka_unit_test(random_structs_decode_alike),
                cmocka_unit_test(random_bodies_decode_alike),
                cmocka_unit_test(damaged_messages_decode_alike),
                cmocka_unit_test(avro_c_quirks_are_kept),
                cmocka_unit_test(utf8_ascii_words_change_nothing),
                cmocka_unit_test(fast_path_takes_the_fixtures),
                cmocka_unit_test(fast_path_agrees_on_random_records),
                cmocka_unit_test(fast_path_gives_up_and_reasons_stay),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
