/*
 * bg_uuid: 128-bit identifiers (accounts, groups, projects, commands, events, usage).
 *
 * Ids travel as canonical lower-case UUID text ("8-4-4-4-12", 36 characters) on the wire
 * (the Avro `uuid` logical type) and in JSON, and as 16 bytes in memory.
 */
#ifndef BG_UUID_H
#define BG_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BG_UUID_STR_LEN 36          /* without the terminating NUL */

typedef struct bg_uuid_s {
        uint8_t b[16];
} bg_uuid_t;

/* Parses exactly @len bytes of canonical UUID text (hex digits in either case, dashes at
 * 8, 13, 18, 23; nothing before or after). Returns false, leaving *out zeroed, on anything
 * else. @text need not be NUL-terminated. */
bool bg_uuid_parse(const char *text, size_t len, bg_uuid_t *out);

/* Writes the canonical lower-case text and a NUL into @buf (at least 37 bytes). */
void bg_uuid_format(const bg_uuid_t *id, char buf[BG_UUID_STR_LEN + 1]);

/* A fresh random (version 4) UUID from libuuid. */
void bg_uuid_generate(bg_uuid_t *out);

bool bg_uuid_is_nil(const bg_uuid_t *id);
bool bg_uuid_equal(const bg_uuid_t *a, const bg_uuid_t *b);
int  bg_uuid_compare(const bg_uuid_t *a, const bg_uuid_t *b);

#endif /* BG_UUID_H */
