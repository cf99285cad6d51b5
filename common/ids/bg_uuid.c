#include "bg_uuid.h"

#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

bool bg_uuid_parse(const char *text, size_t len, bg_uuid_t *out) {
        char buf[BG_UUID_STR_LEN + 1];

        memset(out, 0, sizeof(*out));
        if (text == NULL || len != BG_UUID_STR_LEN)
                return false;
        /* uuid_parse() accepts only the 36-character form, but it reads up to a NUL:
         * copy so that embedded NULs or trailing bytes are rejected, not ignored. */
        if (memchr(text, '\0', len) != NULL)
                return false;
        memcpy(buf, text, len);
        buf[len] = '\0';
        if (uuid_parse(buf, out->b) != 0) {
                memset(out, 0, sizeof(*out));
                return false;
        }
        return true;
}

void bg_uuid_format(const bg_uuid_t *id, char buf[BG_UUID_STR_LEN + 1]) {
        uuid_unparse_lower(id->b, buf);
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
