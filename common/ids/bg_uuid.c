#include "bg_uuid.h"

#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

/* A hex digit's value, 0xff for anything else. */
static inline uint8_t hexval(uint8_t c) {
        uint8_t l = (uint8_t)(c | 0x20);

        if ((uint8_t)(c - '0') < 10)
                return (uint8_t)(c - '0');
        if ((uint8_t)(l - 'a') < 6)
                return (uint8_t)(l - 'a' + 10);
        return 0xff;
}

/* Offsets of the 16 bytes' first hex digits in "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
static const uint8_t digit_at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

/* The same language as libuuid's uuid_parse() (the 36-character form, either case),
 * digit by digit rather than a strtoul per byte: ids are parsed on every hot path (usage
 * records, commands). tests/unit/ids checks it against uuid_parse() on random input. */
bool bg_uuid_parse(const char *text, size_t len, bg_uuid_t *out) {
        const uint8_t *t = (const uint8_t *)text;
        uint8_t bad = 0;

        memset(out, 0, sizeof(*out));
        if (text == NULL || len != BG_UUID_STR_LEN || t[8] != '-' || t[13] != '-' ||
            t[18] != '-' || t[23] != '-')
                return false;
        for (int i = 0; i < 16; i++) {
                uint8_t hi = hexval(t[digit_at[i]]), lo = hexval(t[digit_at[i] + 1]);
                bad |= (uint8_t)(hi | lo);
                out->b[i] = (uint8_t)(hi << 4 | (lo & 0x0f));
        }
        if (bad & 0xf0) {
                memset(out, 0, sizeof(*out));
                return false;
        }
        return true;
}

void bg_uuid_format(const bg_uuid_t *id, char buf[BG_UUID_STR_LEN + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (int i = 0, j = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        buf[j++] = '-';
                buf[j++] = hex[id->b[i] >> 4];
                buf[j++] = hex[id->b[i] & 0x0f];
        }
        buf[BG_UUID_STR_LEN] = '\0';
}

/* Random bytes come from getrandom(2) a page at a time: one system call per 256 ids
 * instead of one per id (event ids are drawn on the commands service's hot path). The
 * buffer is per thread, so no lock; a failing getrandom falls back to libuuid. */
void bg_uuid_generate(bg_uuid_t *out) {
        static __thread uint8_t pool[4096];
        static __thread size_t used = sizeof(pool);

        if (used == sizeof(pool)) {
                if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool)) {
                        uuid_generate_random(out->b);
                        return;
                }
                used = 0;
        }
        memcpy(out->b, pool + used, sizeof(out->b));
        memset(pool + used, 0, sizeof(out->b));         /* never hand out the same bytes */
        used += sizeof(out->b);
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);        /* version 4 */
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);        /* RFC 4122 variant */
}

bool bg_uuid_is_nil(const bg_uuid_t *id) {
        return uuid_is_null(id->b) != 0;
}

bool bg_uuid_equal(const bg_uuid_t *a, const bg_uuid_t *b) {
        return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int bg_uuid_compare(const bg_uuid_t *a, const bg_uuid_t *b) {
        return memcmp(a->b, b->b, sizeof(a->b));
}
