/* Strict field readers and small writers shared by every mapping of bg_json. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bg_money.h"
#include "bgj_int.h"

/* Longest piece of a rejected value quoted back in an error text. */
#define SNIPPET_MAX 40

/* ---- errors and paths ---- */

int bgj__fail(bgj_in_t *in, const char *path, const char *fmt, ...) {
        va_list ap;
        int n = 0;

        if (in->errstr == NULL || in->errstr_size == 0)
                return -1;
        if (path != NULL && *path != '\0')
                n = snprintf(in->errstr, in->errstr_size, "%s: ", path);
        if (n < 0 || (size_t)n >= in->errstr_size)
                return -1;
        va_start(ap, fmt);
        vsnprintf(in->errstr + n, in->errstr_size - (size_t)n, fmt, ap);
        va_end(ap);
        return -1;
}

/* Copies at most @max bytes of @s (length @len) to @out, as printable ASCII: anything
 * else, and '"' and '\\', becomes '?'; "..." marks a cut. Error texts stay valid UTF-8
 * and one line whatever the input. */
static void sanitize(char *out, size_t size, const char *s, size_t len, size_t max) {
        size_t n = len < max ? len : max, o = 0;

        if (size == 0)
                return;
        for (size_t i = 0; i < n && o + 1 < size; i++) {
                unsigned char c = (unsigned char)s[i];
                out[o++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
        }
        for (size_t i = 0; len > max && i < 3 && o + 1 < size; i++)
                out[o++] = '.';
        out[o] = '\0';
}

void bgj__join(char *out, size_t size, const char *path, const char *key) {
        char k[72];

        sanitize(k, sizeof(k), key, strlen(key), 64);
        if (path == NULL || *path == '\0')
                snprintf(out, size, "%s", k);
        else
                snprintf(out, size, "%s.%s", path, k);
}

void bgj__index(char *out, size_t size, const char *path, size_t i) {
        snprintf(out, size, "%s[%zu]", path != NULL ? path : "", i);
}

/* ---- enums ---- */

static int enum_first(bgj_enum_t kind) {
        return kind == BGJ_ENUM_OUTCOME ? 0 : 1;
}

static int enum_count(bgj_enum_t kind) {
        switch (kind) {
        case BGJ_ENUM_CURRENCY:      return BG_CURRENCY__COUNT;
        case BGJ_ENUM_PAYMENT:       return BG_PAYMENT__COUNT;
        case BGJ_ENUM_ROLE:          return BG_ROLE__COUNT;
        case BGJ_ENUM_CREDIT_TYPE:   return BG_CREDIT_TYPE__COUNT;
        case BGJ_ENUM_COMMAND:       return BG_CMD__COUNT;
        case BGJ_ENUM_OUTCOME:       return BG_OUTCOME__COUNT;
        case BGJ_ENUM_REJECT:        return BG_REJECT__COUNT;
        case BGJ_ENUM_LINE_TYPE:     return CODEC_LINE__COUNT;
        case BGJ_ENUM_INVOICE_STATE: return CODEC_INVOICE__COUNT;
        }
        return 0;
}

static const char *enum_what(bgj_enum_t kind) {
        switch (kind) {
        case BGJ_ENUM_CURRENCY:      return "currency";
        case BGJ_ENUM_PAYMENT:       return "payment method";
        case BGJ_ENUM_ROLE:          return "role";
        case BGJ_ENUM_CREDIT_TYPE:   return "credit type";
        case BGJ_ENUM_COMMAND:       return "command type";
        case BGJ_ENUM_OUTCOME:       return "outcome";
        case BGJ_ENUM_REJECT:        return "error code";
        case BGJ_ENUM_LINE_TYPE:     return "line type";
        case BGJ_ENUM_INVOICE_STATE: return "invoice state";
        }
        return "value";
}

const char *bgj__enum_name(bgj_enum_t kind, int v) {
        if (v < enum_first(kind) || v >= enum_count(kind))
                return NULL;
        switch (kind) {
        case BGJ_ENUM_CURRENCY:      return bg_currency_name((bg_currency_t)v);
        case BGJ_ENUM_PAYMENT:       return bg_payment_method_name((bg_payment_method_t)v);
        case BGJ_ENUM_ROLE:          return bg_role_name((bg_role_t)v);
        case BGJ_ENUM_CREDIT_TYPE:   return bg_credit_type_name((bg_credit_type_t)v);
        case BGJ_ENUM_COMMAND:       return bg_command_type_name((bg_command_type_t)v);
        case BGJ_ENUM_OUTCOME:       return bg_outcome_name((bg_outcome_t)v);
        case BGJ_ENUM_REJECT:        return bg_reject_code_name((bg_reject_code_t)v);
        case BGJ_ENUM_LINE_TYPE:     return codec_line_type_name((codec_line_type_t)v);
        case BGJ_ENUM_INVOICE_STATE:
                return codec_invoice_state_name((codec_invoice_state_t)v);
        }
        return NULL;
}

/* ---- members ---- */

int bgj__object(bgj_in_t *in, const json_t *j, const char *path) {
        if (!json_is_object(j))
                return bgj__fail(in, path != NULL && *path ? path : "document",
                                 "not an object");
        return 0;
}

int bgj__check_keys(bgj_in_t *in, const json_t *obj, const char *path,
                    const char *const *allowed, bool profile_keys) {
        const char *key;
        size_t key_len;
        json_t *v;

        json_object_keylen_foreach((json_t *)obj, key, key_len, v) {
                /* A key with a NUL inside would compare equal to its prefix. */
                bool whole = strlen(key) == key_len;
                bool ok = whole && profile_keys && bgj_profile_is_key(key);
                char fpath[BGJ_PATH_SIZE];

                for (size_t i = 0; whole && !ok && allowed != NULL && allowed[i] != NULL;
                     i++)
                        ok = strcmp(allowed[i], key) == 0;
                if (!ok) {
                        bgj__join(fpath, sizeof(fpath), path, key);
                        return bgj__fail(in, fpath, "unknown field");
                }
        }
        return 0;
}

int bgj__member(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
                unsigned flags, const json_t **vp) {
        const json_t *v = json_object_get(obj, key);
        char fpath[BGJ_PATH_SIZE];

        if (v != NULL && json_is_null(v) && (flags & BGJ_NULLOK))
                v = NULL;
        *vp = v;
        if (v == NULL && (flags & BGJ_REQ)) {
                bgj__join(fpath, sizeof(fpath), path, key);
                return bgj__fail(in, fpath, "required field is missing");
        }
        return 0;
}

/* ---- value readers ---- */

static const char *type_name(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:  return "an object";
        case JSON_ARRAY:   return "an array";
        case JSON_STRING:  return "a string";
        case JSON_INTEGER: return "an integer";
        case JSON_REAL:    return "a real number";
        case JSON_TRUE:
        case JSON_FALSE:   return "a boolean";
        case JSON_NULL:    return "null";
        }
        return "unknown";
}

static size_t utf8_chars(const char *s, size_t len) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        n++;
        return n;
}

int bgj__v_str(bgj_in_t *in, const json_t *v, const char *fpath, unsigned flags,
               size_t max, char *dst, size_t dst_size) {
        const char *s;
        size_t len;

        if (!json_is_string(v))
                return bgj__fail(in, fpath, "not a string (%s)", type_name(v));
        s = json_string_value(v);
        len = json_string_length(v);
        if (memchr(s, '\0', len) != NULL)
                return bgj__fail(in, fpath, "contains a NUL character");
        if (flags & BGJ_TEXT) {
                size_t chars = utf8_chars(s, len);

                if (chars > max)
                        return bgj__fail(in, fpath, "too long: %zu characters, at most %zu",
                                         chars, max);
        } else if (len > max) {
                return bgj__fail(in, fpath, "too long: %zu bytes, at most %zu", len, max);
        }
        if (len >= dst_size)            /* not valid UTF-8 (jansson checks it): never */
                return bgj__fail(in, fpath, "too long: %zu bytes", len);
        memcpy(dst, s, len);
        dst[len] = '\0';
        return 0;
}

int bgj__v_uuid(bgj_in_t *in, const json_t *v, const char *fpath, bg_uuid_t *dst) {
        char snip[SNIPPET_MAX + 4];
        const char *s;
        size_t len;

        if (!json_is_string(v))
                return bgj__fail(in, fpath, "not a string (%s)", type_name(v));
        s = json_string_value(v);
        len = json_string_length(v);
        if (!bg_uuid_parse(s, len, dst)) {
                sanitize(snip, sizeof(snip), s, len, SNIPPET_MAX);
                return bgj__fail(in, fpath, "invalid UUID \"%s\"", snip);
        }
        return 0;
}

int bgj__v_money(bgj_in_t *in, const json_t *v, const char *fpath, int64_t *dst) {
        char reason[160];

        if (json_is_number(v))
                return bgj__fail(in, fpath, "money must be a decimal string such as "
                                 "\"12.34\", not a JSON number");
        if (!json_is_string(v))
                return bgj__fail(in, fpath, "not a string (%s)", type_name(v));
        if (bg_money_parse(json_string_value(v), json_string_length(v), dst, reason,
                           sizeof(reason)) != BG_MONEY_OK)
                return bgj__fail(in, fpath, "%s", reason);
        return 0;
}

int bgj__v_time(bgj_in_t *in, const json_t *v, const char *fpath, int64_t *dst) {
        char snip[SNIPPET_MAX + 4];
        const char *s;
        size_t len;

        if (json_is_number(v))
                return bgj__fail(in, fpath, "a timestamp must be an ISO-8601 UTC string "
                                 "such as \"2026-11-26T16:04:28Z\", not a JSON number");
        if (!json_is_string(v))
                return bgj__fail(in, fpath, "not a string (%s)", type_name(v));
        s = json_string_value(v);
        len = json_string_length(v);
        if (!bgj_time_parse(s, len, dst)) {
                sanitize(snip, sizeof(snip), s, len, SNIPPET_MAX);
                return bgj__fail(in, fpath, "invalid timestamp \"%s\": expected UTC "
                                 "YYYY-MM-DDTHH:MM:SS[.sss]Z", snip);
        }
        return 0;
}

int bgj__v_int(bgj_in_t *in, const json_t *v, const char *fpath, int64_t min, int64_t max,
               int64_t *dst) {
        json_int_t x;

        if (!json_is_integer(v))
                return bgj__fail(in, fpath, "not an integer (%s)", type_name(v));
        x = json_integer_value(v);
        if (x < min || x > max)
                return bgj__fail(in, fpath, "%lld is out of range %" PRId64 "..%" PRId64,
                                 (long long)x, min, max);
        *dst = (int64_t)x;
        return 0;
}

int bgj__v_enum(bgj_in_t *in, const json_t *v, const char *fpath, bgj_enum_t kind,
                int *dst) {
        char snip[SNIPPET_MAX + 4], list[400];
        const char *s;
        size_t len, o = 0;

        if (!json_is_string(v))
                return bgj__fail(in, fpath, "not a string (%s)", type_name(v));
        s = json_string_value(v);
        len = json_string_length(v);
        for (int i = enum_first(kind); i < enum_count(kind); i++) {
                const char *name = bgj__enum_name(kind, i);

                if (name != NULL && strlen(name) == len && memcmp(name, s, len) == 0) {
                        *dst = i;
                        return 0;
                }
        }
        list[0] = '\0';
        for (int i = enum_first(kind); i < enum_count(kind) && o < sizeof(list); i++) {
                const char *name = bgj__enum_name(kind, i);
                int n;

                if (name == NULL)
                        continue;
                n = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", name);
                if (n < 0)
                        break;
                o += (size_t)n;
        }
        sanitize(snip, sizeof(snip), s, len, SNIPPET_MAX);
        return bgj__fail(in, fpath, "unknown %s \"%s\" (expected one of: %s)",
                         enum_what(kind), snip, list);
}

/* ---- key readers ---- */

#define KEY_READER(call)                                                        \
        const json_t *v;                                                        \
        char fpath[BGJ_PATH_SIZE];                                              \
                                                                                \
        if (found != NULL)                                                      \
                *found = false;                                                 \
        if (bgj__member(in, obj, path, key, flags, &v) != 0)                    \
                return -1;                                                      \
        if (v == NULL)                                                          \
                return 0;                                                       \
        bgj__join(fpath, sizeof(fpath), path, key);                             \
        if ((call) != 0)                                                        \
                return -1;                                                      \
        if (found != NULL)                                                      \
                *found = true;                                                  \
        return 0

int bgj__str(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
             unsigned flags, size_t max, char *dst, size_t dst_size, bool *found) {
        KEY_READER(bgj__v_str(in, v, fpath, flags, max, dst, dst_size));
}

int bgj__uuid(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, bg_uuid_t *dst, bool *found) {
        KEY_READER(bgj__v_uuid(in, v, fpath, dst));
}

int bgj__money(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
               unsigned flags, int64_t *dst, bool *found) {
        KEY_READER(bgj__v_money(in, v, fpath, dst));
}

int bgj__time(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, int64_t *dst, bool *found) {
        KEY_READER(bgj__v_time(in, v, fpath, dst));
}

int bgj__int(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
             unsigned flags, int64_t min, int64_t max, int64_t *dst, bool *found) {
        KEY_READER(bgj__v_int(in, v, fpath, min, max, dst));
}

int bgj__enum(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, bgj_enum_t kind, int *dst, bool *found) {
        KEY_READER(bgj__v_enum(in, v, fpath, kind, dst));
}

int bgj__tags(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              codec_tag_t *tags, size_t *n_tags) {
        char tpath[BGJ_PATH_SIZE], fpath[BGJ_PATH_SIZE];
        const json_t *t;
        const char *k;
        size_t klen;
        json_t *v;
        size_t n = 0;

        *n_tags = 0;
        if (bgj__member(in, obj, path, key, BGJ_NULLOK, &t) != 0)
                return -1;
        if (t == NULL)
                return 0;
        bgj__join(tpath, sizeof(tpath), path, key);
        if (!json_is_object(t))
                return bgj__fail(in, tpath, "not an object (%s)", type_name(t));
        if (json_object_size(t) > CODEC_TAGS_MAX)
                return bgj__fail(in, tpath, "%zu tags, at most %d", json_object_size(t),
                                 CODEC_TAGS_MAX);
        json_object_keylen_foreach((json_t *)t, k, klen, v) {
                bgj__join(fpath, sizeof(fpath), tpath, k);
                if (strlen(k) != klen)
                        return bgj__fail(in, fpath, "tag key contains a NUL character");
                if (klen == 0)
                        return bgj__fail(in, tpath, "empty tag key");
                if (klen > CODEC_TAG_KEY_MAX)
                        return bgj__fail(in, fpath, "tag key too long: %zu bytes, at most %d",
                                         klen, CODEC_TAG_KEY_MAX);
                memcpy(tags[n].key, k, klen + 1);
                if (bgj__v_str(in, v, fpath, 0, CODEC_TAG_VALUE_MAX, tags[n].value,
                               sizeof(tags[n].value)) != 0)
                        return -1;
                n++;
        }
        *n_tags = n;
        return 0;
}

/* ---- writers ---- */

json_t *bgj__w_str(const char *s, size_t size) {
        return json_stringn(s, strnlen(s, size));
}

json_t *bgj__w_str_or_null(const char *s, size_t size) {
        if (size == 0 || s[0] == '\0')
                return json_null();
        return bgj__w_str(s, size);
}

json_t *bgj__w_uuid(const bg_uuid_t *id) {
        char buf[BG_UUID_STR_LEN + 1];

        bg_uuid_format(id, buf);
        return json_stringn(buf, BG_UUID_STR_LEN);
}

json_t *bgj__w_money(int64_t micros) {
        char buf[BG_MONEY_STR_SIZE];
        size_t n = bg_money_format(micros, buf);

        return json_stringn(buf, n);
}

json_t *bgj__w_time(int64_t ms) {
        char buf[BGJ_TIME_STR_SIZE];

        if (!bgj_time_format(ms, buf))
                return NULL;
        return json_string(buf);
}

json_t *bgj__w_enum(bgj_enum_t kind, int v) {
        const char *name = bgj__enum_name(kind, v);

        return name != NULL ? json_string(name) : NULL;
}

json_t *bgj__w_tags(const codec_tag_t *tags, size_t n) {
        json_t *o = json_object();

        if (o == NULL)
                return NULL;
        if (n > CODEC_TAGS_MAX)
                goto out_free;
        for (size_t i = 0; i < n; i++) {
                const codec_tag_t *t = &tags[i];

                if (json_object_setn_new(o, t->key, strnlen(t->key, sizeof(t->key)),
                                         BGJ_W_STR(t->value)) != 0)
                        goto out_free;
        }
        return o;
out_free:
        json_decref(o);
        return NULL;
}

int bgj__put(json_t *obj, const char *key, json_t *v) {
        if (v == NULL)
                return -1;
        return json_object_set_new(obj, key, v);
}
