#include "bg_uuid.h"

#include <string.h>
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

void bg_uuid_generate(bg_uuid_t *out) {
        uuid_generate_random(out->b);
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
