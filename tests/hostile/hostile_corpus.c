#include "hostile_corpus.h"

#include <avro.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_walk.h"

struct hc_schema_s {
        avro_schema_t hs_root;
};

const char *const hc_sql_strings[] = {
        "'; DROP TABLE billing_groups; --",
        "Robert'); DROP TABLE projects;--",
        "x' OR '1'='1",
        "\"; DELETE FROM accounts WHERE \"1\"=\"1",
        "1; SELECT pg_sleep(10); --",
        "$$; TRUNCATE credits; $$",
        "\\'; COPY audit_log TO '/tmp/x'; --",
        "%s%n%x{}[]\\\\%%_",
        "=HYPERLINK(\"http://evil\")",
        "<script>alert(1)</script>",
        "\xe2\x80\x8f\xf0\x9f\x92\xa3 ' \xc3\xa9 --",
        NULL,
};

static void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);

        if (p == NULL) {
                fprintf(stderr, "hostile_corpus: out of memory\n");
                abort();
        }
        return p;
}

hc_schema_t *hc_schema_parse(const char *json, char *errstr, size_t errstr_size) {
        hc_schema_t *s = xmalloc(sizeof(*s));

        if (avro_schema_from_json_length(json, strlen(json), &s->hs_root) != 0) {
                snprintf(errstr, errstr_size, "cannot parse schema: %s", avro_strerror());
                free(s);
                return NULL;
        }
        return s;
}

hc_schema_t *hc_schema_load(const char *path, char *errstr, size_t errstr_size) {
        FILE *f = fopen(path, "rb");
        hc_schema_t *s;
        char *text;
        long n;

        if (f == NULL) {
                snprintf(errstr, errstr_size, "cannot open %s", path);
                return NULL;
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = xmalloc((size_t)n + 1);
        if (fread(text, 1, (size_t)n, f) != (size_t)n) {
                snprintf(errstr, errstr_size, "cannot read %s", path);
                fclose(f);
                free(text);
                return NULL;
        }
        text[n] = '\0';
        fclose(f);
        s = hc_schema_parse(text, errstr, errstr_size);
        free(text);
        return s;
}

void hc_schema_free(hc_schema_t *s) {
        if (s == NULL)
                return;
        avro_schema_decref(s->hs_root);
        free(s);
}

/* Offset (relative to @buf) of field @idx of @record encoded at @buf, or -1. */
static long field_offset(avro_schema_t record, const uint8_t *buf, size_t len, int idx,
                         char *errstr, size_t errstr_size) {
        codec_walk_opts_t opts = {.max_items = len + 1, .base = 0, .stop_field = idx};
        codec_prog_t *prog = codec_prog_new(record, errstr, errstr_size);
        size_t at = 0;
        int rc;

        if (prog == NULL)
                return -1;
        rc = codec_walk(prog, buf, len, &opts, &at, errstr, errstr_size);
        codec_prog_destroy(prog);
        return rc == 0 ? (long)at : -1;
}

static size_t read_varint(const uint8_t *p, size_t n, int64_t *out) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; i < n && i < 10; i++) {
                v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
                if ((p[i] & 0x80) == 0) {
                        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                        return i + 1;
                }
        }
        return 0;
}

int hc_field_span(const hc_schema_t *s, const uint8_t *msg, size_t len, const char *path,
                  size_t *off_out, size_t *end_out, char *errstr, size_t errstr_size) {
        avro_schema_t rec = s->hs_root;
        size_t off = 5, end = len;
        char copy[256], *save = NULL, *name;

        snprintf(copy, sizeof(copy), "%s", path);
        if (len < 5) {
                snprintf(errstr, errstr_size, "message of %zu bytes has no body", len);
                return -1;
        }
        for (name = strtok_r(copy, ".", &save); name != NULL; name = strtok_r(NULL, ".", &save)) {
                int idx, nfields;
                long a, b;
                avro_schema_t fs;

                if (!is_avro_record(rec)) {
                        snprintf(errstr, errstr_size, "'%s' of %s: not in a record", name, path);
                        return -1;
                }
                idx = avro_schema_record_field_get_index(rec, name);
                nfields = (int)avro_schema_record_size(rec);
                if (idx < 0) {
                        snprintf(errstr, errstr_size, "no field '%s' (%s)", name, path);
                        return -1;
                }
                a = field_offset(rec, msg + off, end - off, idx, errstr, errstr_size);
                if (a < 0)
                        return -1;
                b = idx + 1 < nfields ?
                    field_offset(rec, msg + off, end - off, idx + 1, errstr, errstr_size) :
                    (long)(end - off);
                if (b < 0)
                        return -1;
                end = off + (size_t)b;
                off += (size_t)a;
                fs = avro_schema_record_field_get_by_index(rec, idx);
                if (is_avro_link(fs))
                        fs = avro_schema_link_target(fs);
                if (save == NULL || *save == '\0')
                        break;
                if (is_avro_union(fs)) {
                        int64_t branch;
                        size_t vl = read_varint(msg + off, end - off, &branch);

                        if (vl == 0 || branch < 0 || (size_t)branch >= avro_schema_union_size(fs)) {
                                snprintf(errstr, errstr_size, "bad union branch at %s", name);
                                return -1;
                        }
                        off += vl;
                        fs = avro_schema_union_branch(fs, (int)branch);
                        if (is_avro_link(fs))
                                fs = avro_schema_link_target(fs);
                }
                rec = fs;
        }
        *off_out = off;
        *end_out = end;
        return 0;
}

/* ------------------------------------------------------------------ bytes */

void hc_put(hc_buf_t *b, const void *p, size_t n) {
        if (b->n + n > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                while (cap < b->n + n)
                        cap *= 2;
                b->b = realloc(b->b, cap);
                if (b->b == NULL)
                        abort();
                b->cap = cap;
        }
        if (n > 0)
                memcpy(b->b + b->n, p, n);
        b->n += n;
}

void hc_put_long(hc_buf_t *b, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        uint8_t out[10];
        size_t n = 0;

        do {
                out[n] = z & 0x7f;
                z >>= 7;
                if (z)
                        out[n] |= 0x80;
                n++;
        } while (z);
        hc_put(b, out, n);
}

void hc_put_bytes(hc_buf_t *b, const void *p, size_t n) {
        hc_put_long(b, (int64_t)n);
        hc_put(b, p, n);
}

void hc_put_str(hc_buf_t *b, const char *s) {
        hc_put_bytes(b, s, strlen(s));
}

void hc_buf_free(hc_buf_t *b) {
        free(b->b);
        memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ corpus */

void hc_init(hc_corpus_t *c, uint64_t seed) {
        memset(c, 0, sizeof(*c));
        c->hc_rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

void hc_free(hc_corpus_t *c) {
        for (size_t i = 0; i < c->hc_n; i++)
                free(c->hc_msgs[i].hm_buf);
        free(c->hc_msgs);
        memset(c, 0, sizeof(*c));
}

uint64_t hc_rand(hc_corpus_t *c) {
        c->hc_rng ^= c->hc_rng >> 12;
        c->hc_rng ^= c->hc_rng << 25;
        c->hc_rng ^= c->hc_rng >> 27;
        return c->hc_rng * 0x2545f4914f6cdd1dULL;
}

hc_msg_t *hc_add(hc_corpus_t *c, const void *buf, size_t len, const char *fmt, ...) {
        hc_msg_t *m;
        va_list ap;

        if (c->hc_n == c->hc_cap) {
                c->hc_cap = c->hc_cap ? c->hc_cap * 2 : 64;
                c->hc_msgs = realloc(c->hc_msgs, c->hc_cap * sizeof(*c->hc_msgs));
                if (c->hc_msgs == NULL)
                        abort();
        }
        m = &c->hc_msgs[c->hc_n++];
        memset(m, 0, sizeof(*m));
        va_start(ap, fmt);
        vsnprintf(m->hm_what, sizeof(m->hm_what), fmt, ap);
        va_end(ap);
        m->hm_buf = xmalloc(len);
        if (len > 0)
                memcpy(m->hm_buf, buf, len);
        m->hm_len = len;
        return m;
}

/* A private copy of a fresh message. */
static uint8_t *fresh(const hc_src_t *src, size_t *len) {
        const uint8_t *p = src->hs_fresh(src->hs_opaque, len);
        uint8_t *copy = xmalloc(*len);

        memcpy(copy, p, *len);
        return copy;
}

size_t hc_truncations(hc_corpus_t *c, const hc_src_t *src, size_t npoints) {
        size_t len, added = 0, full;
        uint8_t *m = fresh(src, &full);
        size_t cuts[64 + 8];
        size_t ncuts = 0;

        free(m);
        for (size_t i = 0; i <= 6 && i < full; i++)
                cuts[ncuts++] = i;
        if (npoints > 64)
                npoints = 64;
        for (size_t i = 1; i <= npoints; i++) {
                size_t at = 7 + (full - 8) * i / (npoints + 1);
                if (at > cuts[ncuts - 1] && at < full - 1)
                        cuts[ncuts++] = at;
        }
        cuts[ncuts++] = full - 1;
        for (size_t i = 0; i < ncuts; i++) {
                m = fresh(src, &len);
                hc_add(c, m, cuts[i] < len ? cuts[i] : len - 1, "truncated to %zu of %zu bytes",
                       cuts[i], len);
                free(m);
                added++;
        }
        return added;
}

size_t hc_random_bytes(hc_corpus_t *c, size_t n, size_t max_len) {
        uint8_t *b = xmalloc(max_len);

        for (size_t i = 0; i < n; i++) {
                size_t len = 1 + hc_rand(c) % max_len;
                for (size_t k = 0; k < len; k++)
                        b[k] = (uint8_t)hc_rand(c);
                /* Keep them clearly non-framed half of the time, random the rest. */
                if (i % 2 == 0 && b[0] == 0)
                        b[0] = 0x42;
                hc_add(c, b, len, "random bytes #%zu (%zu bytes)", i, len);
        }
        free(b);
        return n;
}

size_t hc_random_bodies(hc_corpus_t *c, const hc_src_t *src, size_t n, size_t max_len) {
        uint8_t *b = xmalloc(max_len + 5);

        for (size_t i = 0; i < n; i++) {
                size_t len, body = 1 + hc_rand(c) % max_len;
                uint8_t *m = fresh(src, &len);

                memcpy(b, m, 5);
                for (size_t k = 0; k < body; k++)
                        b[5 + k] = (uint8_t)hc_rand(c);
                hc_add(c, b, 5 + body, "valid header, random body #%zu (%zu bytes)", i, body);
                free(m);
        }
        free(b);
        return n;
}

size_t hc_byte_flips(hc_corpus_t *c, const hc_src_t *src, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t len;
                uint8_t *m = fresh(src, &len);
                int flips = 1 + (int)(hc_rand(c) % 4);
                char what[128];
                size_t w = 0;

                w += (size_t)snprintf(what + w, sizeof(what) - w, "bytes overwritten:");
                for (int k = 0; k < flips && len > 5; k++) {
                        size_t at = 5 + hc_rand(c) % (len - 5);
                        uint8_t v = (uint8_t)hc_rand(c);
                        m[at] = v;
                        if (w < sizeof(what))
                                w += (size_t)snprintf(what + w, sizeof(what) - w, " [%zu]=0x%02x",
                                                      at, v);
                }
                hc_add(c, m, len, "%s", what);
                free(m);
        }
        return n;
}

size_t hc_wrong_magic(hc_corpus_t *c, const hc_src_t *src) {
        static const uint8_t magics[] = {1, 0x7f, 0xff, 'g'};

        for (size_t i = 0; i < sizeof(magics); i++) {
                size_t len;
                uint8_t *m = fresh(src, &len);
                m[0] = magics[i];
                hc_add(c, m, len, "magic byte 0x%02x", magics[i]);
                free(m);
        }
        return sizeof(magics);
}

size_t hc_with_schema_id(hc_corpus_t *c, const hc_src_t *src, int32_t id, const char *what) {
        size_t len;
        uint8_t *m = fresh(src, &len);

        m[1] = (uint8_t)((uint32_t)id >> 24);
        m[2] = (uint8_t)((uint32_t)id >> 16);
        m[3] = (uint8_t)((uint32_t)id >> 8);
        m[4] = (uint8_t)id;
        hc_add(c, m, len, "schema id %d (%s)", (int)id, what);
        free(m);
        return 1;
}

size_t hc_unknown_schema_ids(hc_corpus_t *c, const hc_src_t *src) {
        /* Ids no registry here hands out: a small one like 17 belongs to a real schema
         * once the test suites have registered enough of theirs on one registry (the
         * events corpus then found its "unknown" id 17 decoding as an event). */
        static const int32_t ids[] = {0, 999999, 0x7fffffff, -1};

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
                hc_with_schema_id(c, src, ids[i], "unknown");
        return sizeof(ids) / sizeof(ids[0]);
}

/* A fresh message with [field start, field start + @skip) replaced by @rep, where the
 * span is that of @path (@skip == SIZE_MAX: the whole field). */
static int splice(hc_corpus_t *c, const hc_src_t *src, const char *path, size_t skip,
                  const void *rep, size_t rep_len, const char *what, char *errstr,
                  size_t errstr_size) {
        size_t len, off, end;
        uint8_t *m = fresh(src, &len);
        hc_buf_t b = {0};

        if (hc_field_span(src->hs_schema, m, len, path, &off, &end, errstr, errstr_size) != 0) {
                free(m);
                return -1;
        }
        if (skip != SIZE_MAX)
                end = off + skip;
        hc_put(&b, m, off);
        hc_put(&b, rep, rep_len);
        hc_put(&b, m + end, len - end);
        hc_add(c, b.b, b.n, "%s: %s (at byte %zu)", path, what, off);
        hc_buf_free(&b);
        free(m);
        return 0;
}

/* Length of the varint at the start of field @path of a fresh message. */
static size_t varint_len_at(const hc_src_t *src, const char *path, char *errstr,
                            size_t errstr_size) {
        size_t len, off, end, n = 0;
        uint8_t *m = fresh(src, &len);
        int64_t v;

        if (hc_field_span(src->hs_schema, m, len, path, &off, &end, errstr, errstr_size) == 0)
                n = read_varint(m + off, end - off, &v);
        free(m);
        return n;
}

size_t hc_huge_lengths(hc_corpus_t *c, const hc_src_t *src, const char *const fields[],
                       char *errstr, size_t errstr_size) {
        static const int64_t lens[] = {INT64_C(1) << 30, INT64_C(1) << 62, -1};
        static const char *const names[] = {"length prefix 1 GiB", "length prefix 2^62",
                                            "length prefix -1"};
        size_t added = 0;

        for (const char *const *f = fields; *f; f++) {
                size_t vl = varint_len_at(src, *f, errstr, errstr_size);
                if (vl == 0)
                        return 0;
                for (size_t i = 0; i < 3; i++) {
                        hc_buf_t b = {0};
                        hc_put_long(&b, lens[i]);
                        if (splice(c, src, *f, vl, b.b, b.n, names[i], errstr, errstr_size) != 0) {
                                hc_buf_free(&b);
                                return 0;
                        }
                        hc_buf_free(&b);
                        added++;
                }
        }
        return added;
}

size_t hc_huge_counts(hc_corpus_t *c, const hc_src_t *src, const char *path, char *errstr,
                      size_t errstr_size) {
        size_t vl = varint_len_at(src, path, errstr, errstr_size);
        hc_buf_t b = {0};
        size_t added = 0;

        if (vl == 0)
                return 0;
        hc_put_long(&b, INT64_C(1) << 40);
        added += splice(c, src, path, vl, b.b, b.n, "block count 2^40", errstr, errstr_size) == 0;
        b.n = 0;
        hc_put_long(&b, -1);
        hc_put_long(&b, INT64_C(1) << 40);
        added += splice(c, src, path, vl, b.b, b.n, "block count -1, block size 2^40", errstr,
                        errstr_size) == 0;
        b.n = 0;
        hc_put_long(&b, INT64_C(1) << 62);
        added += splice(c, src, path, vl, b.b, b.n, "block count 2^62", errstr, errstr_size) == 0;
        hc_buf_free(&b);
        return added == 3 ? added : 0;
}

size_t hc_replace(hc_corpus_t *c, const hc_src_t *src, const char *path, const void *bytes,
                  size_t n, const char *what, char *errstr, size_t errstr_size) {
        return splice(c, src, path, SIZE_MAX, bytes, n, what, errstr, errstr_size) == 0 ? 1 : 0;
}

size_t hc_bad_uuids(hc_corpus_t *c, const hc_src_t *src, const char *const fields[],
                    char *errstr, size_t errstr_size) {
        static const struct {
                const char *text;
                size_t len;
        } bad[] = {
                {"g215181b-1e21-4427-aa2d-303336393c3f", 36},
                {"0f8fad5bd9cb469fa16570867728950e", 32},
                {"0f8fad5b-d9cb-469f-a165-70867728950", 35},
                {"0f8fad5b-d9cb-469f-a165-70867728950e0", 37},
                {"", 0},
                {"{0f8fad5b-d9cb-469f-a165-70867728950}", 37},
                {"0f8fad5b-d9cb-469f-a165-7086772\0950e", 36},
                {"' OR 1=1; --", 12},
        };
        size_t added = 0;

        for (const char *const *f = fields; *f; f++)
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        hc_buf_t b = {0};
                        char what[96];

                        hc_put_bytes(&b, bad[i].text, bad[i].len);
                        snprintf(what, sizeof(what), "invalid UUID text #%zu", i);
                        if (splice(c, src, *f, SIZE_MAX, b.b, b.n, what, errstr,
                                   errstr_size) != 0) {
                                hc_buf_free(&b);
                                return 0;
                        }
                        hc_buf_free(&b);
                        added++;
                }
        return added;
}

size_t hc_trailing(hc_corpus_t *c, const hc_src_t *src, size_t extra) {
        size_t len;
        uint8_t *m = fresh(src, &len);
        hc_buf_t b = {0};

        hc_put(&b, m, len);
        for (size_t i = 0; i < extra; i++)
                hc_put(&b, "\x02", 1);
        hc_add(c, b.b, b.n, "%zu trailing bytes", extra);
        hc_buf_free(&b);
        free(m);
        return 1;
}

size_t hc_oversize(hc_corpus_t *c, const hc_src_t *src, size_t size) {
        size_t len;
        uint8_t *m = fresh(src, &len);
        uint8_t *big = calloc(1, size);

        if (big == NULL)
                abort();
        memcpy(big, m, len < size ? len : size);
        hc_add(c, big, size, "oversize: %zu bytes", size);
        free(big);
        free(m);
        return 1;
}

size_t hc_empty(hc_corpus_t *c) {
        hc_add(c, "", 0, "empty message");
        hc_add(c, "", 0, "empty message, null key")->hm_null_key = true;
        return 2;
}

size_t hc_standard(hc_corpus_t *c, const hc_src_t *src, const char *const string_fields[],
                   const char *const uuid_fields[], const char *array_path, size_t cap,
                   char *errstr, size_t errstr_size) {
        size_t n = 0, k;

        n += hc_truncations(c, src, 24);
        n += hc_random_bytes(c, 24, 300);
        n += hc_random_bodies(c, src, 24, 300);
        n += hc_wrong_magic(c, src);
        n += hc_unknown_schema_ids(c, src);
        if ((k = hc_huge_lengths(c, src, string_fields, errstr, errstr_size)) == 0)
                return 0;
        n += k;
        if ((k = hc_bad_uuids(c, src, uuid_fields, errstr, errstr_size)) == 0)
                return 0;
        n += k;
        if (array_path != NULL) {
                if ((k = hc_huge_counts(c, src, array_path, errstr, errstr_size)) == 0)
                        return 0;
                n += k;
        }
        n += hc_trailing(c, src, 1);
        n += hc_trailing(c, src, 1000);
        n += hc_oversize(c, src, cap + 1);
        n += hc_oversize(c, src, 4 * cap);
        n += hc_empty(c);
        /* A few of them without a key. */
        for (size_t i = 0; i < c->hc_n; i += 17)
                c->hc_msgs[i].hm_null_key = true;
        return n;
}
