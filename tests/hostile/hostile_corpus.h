/*
 * hostile_corpus: malformed and hostile messages derived from valid ones, for the
 * bad-input suite (tests/hostile, docs/hostile-input.md).
 *
 * A source hands out valid framed messages (Confluent header + Avro body) of one schema,
 * each with fresh ids. The derivations take one fresh message each and break it in one
 * way: cut short, random bytes, wrong magic, unknown schema ids, a 1 GiB length prefix at
 * a string field, a 2^40 block count at an array or map, a field's encoding replaced
 * (invalid UUID text, 17-byte decimals, out-of-range enum indexes, union branches), bytes
 * past the end, oversize. Fields are found by walking the message with the codec's own
 * bounds walker against the schema (hc_field_span), so the patches land exactly on the
 * field whatever comes before it.
 *
 * No cmocka, no Kafka: plain C, reasons in errstr.
 */
#ifndef HOSTILE_CORPUS_H
#define HOSTILE_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hc_schema_s hc_schema_t;

/* An Avro schema (the JSON text of an .avsc file) for field lookups. NULL + reason. */
hc_schema_t *hc_schema_load(const char *path, char *errstr, size_t errstr_size);
hc_schema_t *hc_schema_parse(const char *json, char *errstr, size_t errstr_size);
void hc_schema_free(hc_schema_t *s);

/* The byte span [*off, *end) of the field at @path in the framed message @msg: a
 * top-level field ("actor", "tags"), or a field of a record inside a union or record
 * ("payload.project_names", "payload.name"); on a union the branch the message holds is
 * followed (null branches fail). Offsets count from the start of the message. */
int hc_field_span(const hc_schema_t *s, const uint8_t *msg, size_t len, const char *path,
                  size_t *off, size_t *end, char *errstr, size_t errstr_size);

/* A growable byte string, for building encodings. */
typedef struct hc_buf_s {
        uint8_t *b;
        size_t n, cap;
} hc_buf_t;

void hc_put(hc_buf_t *b, const void *p, size_t n);
void hc_put_long(hc_buf_t *b, int64_t v);               /* Avro zig-zag varint */
void hc_put_bytes(hc_buf_t *b, const void *p, size_t n); /* length, then the bytes */
void hc_put_str(hc_buf_t *b, const char *s);
void hc_buf_free(hc_buf_t *b);

/* One hostile message. */
typedef struct hc_msg_s {
        char hm_what[192];              /* what was done to it, for failure messages */
        uint8_t *hm_buf;
        size_t hm_len;
        bool hm_null_key;               /* publish it without a key */
        int hm_tag;                     /* free for the test (expected fate ...) */
} hc_msg_t;

typedef struct hc_corpus_s {
        hc_msg_t *hc_msgs;
        size_t hc_n, hc_cap;
        uint64_t hc_rng;                /* xorshift64*: seeded, so a failure reproduces */
} hc_corpus_t;

void hc_init(hc_corpus_t *c, uint64_t seed);
void hc_free(hc_corpus_t *c);
uint64_t hc_rand(hc_corpus_t *c);
/* Adds a copy of @buf/@len. Returns the new message (valid until the next add). */
hc_msg_t *hc_add(hc_corpus_t *c, const void *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Valid framed messages of @schema; each call gives a fresh one (new ids), valid until
 * the next call. */
typedef const uint8_t *(*hc_fresh_fn)(void *opaque, size_t *len);
typedef struct hc_src_s {
        hc_fresh_fn hs_fresh;
        void *hs_opaque;
        const hc_schema_t *hs_schema;
} hc_src_t;

/* Every derivation adds to @c and returns the number of messages added, or 0 and a
 * reason when the source's message does not have what it needs (e.g. no such field). */

/* Prefixes: lengths 0..6, then @npoints more spread over the rest, and len - 1. */
size_t hc_truncations(hc_corpus_t *c, const hc_src_t *src, size_t npoints);
/* @n messages of random bytes, 1..@max_len long. */
size_t hc_random_bytes(hc_corpus_t *c, size_t n, size_t max_len);
/* @n messages: a fresh message's valid header, then a random body (reaches the walker). */
size_t hc_random_bodies(hc_corpus_t *c, const hc_src_t *src, size_t n, size_t max_len);
/* @n messages: a fresh message with 1..4 random bytes overwritten in its body. The result
 * may still be valid: only for inputs where the test classifies each message itself. */
size_t hc_byte_flips(hc_corpus_t *c, const hc_src_t *src, size_t n);
/* Magic byte 1, 0x7f, 0xff, 'g'. */
size_t hc_wrong_magic(hc_corpus_t *c, const hc_src_t *src);
/* Schema ids 0, 17, 999999, 0x7fffffff, -1. */
size_t hc_unknown_schema_ids(hc_corpus_t *c, const hc_src_t *src);
/* The schema id replaced by @id (another kind's, say). */
size_t hc_with_schema_id(hc_corpus_t *c, const hc_src_t *src, int32_t id, const char *what);
/* For each string or bytes field in @fields (NULL-terminated): its length prefix set to
 * 1 GiB, to 2^62 and to -1, the rest of the message unchanged. */
size_t hc_huge_lengths(hc_corpus_t *c, const hc_src_t *src, const char *const fields[],
                       char *errstr, size_t errstr_size);
/* The array or map at @path: block count 2^40; count -1 with a block size of 2^40;
 * count 2^62. */
size_t hc_huge_counts(hc_corpus_t *c, const hc_src_t *src, const char *path, char *errstr,
                      size_t errstr_size);
/* The encoding of the field at @path replaced by @bytes/@n. */
size_t hc_replace(hc_corpus_t *c, const hc_src_t *src, const char *path, const void *bytes,
                  size_t n, const char *what, char *errstr, size_t errstr_size);
/* For each field in @fields, a string field holding UUID text: replaced by invalid UUID
 * texts (a 'g', no dashes, 35 and 37 characters, empty, braces, NUL inside). */
size_t hc_bad_uuids(hc_corpus_t *c, const hc_src_t *src, const char *const fields[],
                    char *errstr, size_t errstr_size);
/* A fresh message followed by @extra filler bytes (trailing data). */
size_t hc_trailing(hc_corpus_t *c, const hc_src_t *src, size_t extra);
/* A fresh message padded with zero bytes to @size bytes in all (the size cap). */
size_t hc_oversize(hc_corpus_t *c, const hc_src_t *src, size_t size);
/* The empty message, with a key and without one. */
size_t hc_empty(hc_corpus_t *c);
/* The whole standard corpus for @src: truncations, random bytes and bodies, wrong magic,
 * unknown ids, 1 GiB lengths (@string_fields), bad UUIDs (@uuid_fields), huge counts
 * (@array_path, may be NULL), trailing bytes, oversize (@cap + 1 and 4 x @cap), empty.
 * Returns the count, 0 with a reason when a field is missing. */
size_t hc_standard(hc_corpus_t *c, const hc_src_t *src, const char *const string_fields[],
                   const char *const uuid_fields[], const char *array_path, size_t cap,
                   char *errstr, size_t errstr_size);

/* Strings with SQL metacharacters (and other injection classics), NULL-terminated. Each
 * is valid UTF-8 without NUL, at most 60 bytes. */
extern const char *const hc_sql_strings[];

#endif /* HOSTILE_CORPUS_H */
