/*
 * codec_walk: a schema-guided bounds check of untrusted Avro binary, run before avro-c
 * sees the bytes.
 *
 * avro-c 1.11 allocates whatever a string, bytes or block-count prefix declares before it
 * checks that the bytes are there, so a 20-byte message can ask it for 1 GiB. The walker
 * reads the message once against the writer schema, allocates nothing, and accepts it only
 * if every declared length and block count fits in the bytes that remain, every union
 * branch and enum index is in range, every varint is at most 10 bytes (5 for int) and does
 * not overflow, every boolean is 0 or 1, every string is UTF-8, nesting is at most
 * CODEC_WALK_MAX_DEPTH deep, the total number of array and map items is at most
 * @max_items (so that arrays of zero-size items such as null are bounded too), and no byte
 * is left over. A message the walker accepts makes avro-c allocate at most a small
 * multiple of its size.
 *
 * A program (the compiled schema) is immutable once built: one program may be walked by
 * many threads at once.
 */
#ifndef CODEC_WALK_H
#define CODEC_WALK_H

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CODEC_WALK_MAX_DEPTH 64

typedef struct codec_prog_s codec_prog_t;

/* Compiles @schema (not retained) into a walker program. Returns NULL and a reason in
 * @errstr when the schema uses something the walker cannot bound. Free with
 * codec_prog_destroy(). */
codec_prog_t *codec_prog_new(avro_schema_t schema, char *errstr, size_t errstr_size);

/* Frees @prog; NULL is a no-op. */
void codec_prog_destroy(codec_prog_t *prog);

/* The index of the top-level record field named @name, or -1 (also when the program's
 * root is not a record). */
int codec_prog_field_index(const codec_prog_t *prog, const char *name);

/* The number of fields of the root record, or 0 when the root is not a record. */
size_t codec_prog_field_count(const codec_prog_t *prog);

typedef struct codec_walk_opts_s {
        size_t max_items;   /* cap on array + map items in the whole value */
        size_t base;        /* added to byte offsets in reasons (e.g. 5 for the
                             * Confluent header), so they count from the message start */
        int    stop_field;  /* >= 0: stop when the root record reaches this field and
                             * report its offset in *stop_off; -1: walk everything */
        size_t *field_ends; /* non-NULL: field_ends[i] is set to the offset in @buf
                             * (without @base) just past root record field i, once that
                             * field has walked; codec_prog_field_count() entries. Field i
                             * spans [i ? field_ends[i - 1] : 0, field_ends[i]). */
} codec_walk_opts_t;

/* Walks @len bytes at @buf as one value of @prog's schema. Returns 0 when the bytes are a
 * well-formed value with nothing left over (or, with opts->stop_field >= 0, when every
 * field before it is well-formed: *stop_off is then the field's offset in @buf, without
 * @base). Returns -1 and a reason such as "string length 1073741824 exceeds remaining 12
 * bytes at byte 17 in field 'name'" otherwise. Never allocates. */
int codec_walk(const codec_prog_t *prog, const uint8_t *buf, size_t len,
               const codec_walk_opts_t *opts, size_t *stop_off,
               char *errstr, size_t errstr_size);

/* Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), as the
 * walker requires of every string. */
bool codec_utf8_valid(const uint8_t *s, size_t n);

#endif /* CODEC_WALK_H */
