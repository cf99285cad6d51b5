/*
 * Field helpers: one place where values cross between avro-c generic values and C
 * structs, and where every decoded value is range-checked.
 */
#include "codec_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bg_money.h"

codec_err_t codec_fail(codec_ctx_t *x, codec_err_t err, const char *field,
                       const char *fmt, ...) {
        va_list ap;
        int n;

        if (x->errstr == NULL || x->errstr_size == 0)
                return err;
        va_start(ap, fmt);
        n = vsnprintf(x->errstr, x->errstr_size, fmt, ap);
        va_end(ap);
        if (field != NULL && n >= 0 && (size_t)n < x->errstr_size)
                snprintf(x->errstr + n, x->errstr_size - (size_t)n, " in field '%s%s'", x->path,
                         field);
        return err;
}

size_t codec_ctx_push(codec_ctx_t *x, const char *name) {
        size_t mark = strlen(x->path);

        snprintf(x->path + mark, sizeof(x->path) - mark, "%s.", name);
        return mark;
}

void codec_ctx_pop(codec_ctx_t *x, size_t mark) {
        x->path[mark] = '\0';
}

/* A printable excerpt of untrusted text for reasons: at most 40 bytes, control
 * characters, quotes and backslashes replaced by '?'. */
static const char *excerpt(const char *s, size_t len, char out[48]) {
        size_t n = len < 40 ? len : 40, i;

        for (i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)s[i];
                out[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
        }
        if (len > n) {
                memcpy(out + i, "...", 3);
                i += 3;
        }
        out[i] = '\0';
        return out;
}

static size_t utf8_chars(const char *s, size_t len) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        n++;
        return n;
}

const char *codec_avro_type_name(avro_type_t t) {
        switch (t) {
        case AVRO_STRING:  return "string";
        case AVRO_BYTES:   return "bytes";
        case AVRO_INT32:   return "int";
        case AVRO_INT64:   return "long";
        case AVRO_FLOAT:   return "float";
        case AVRO_DOUBLE:  return "double";
        case AVRO_BOOLEAN: return "boolean";
        case AVRO_NULL:    return "null";
        case AVRO_RECORD:  return "record";
        case AVRO_ENUM:    return "enum";
        case AVRO_FIXED:   return "fixed";
        case AVRO_MAP:     return "map";
        case AVRO_ARRAY:   return "array";
        case AVRO_UNION:   return "union";
        case AVRO_LINK:    return "link";
        }
        return "unknown";
}

static const char *type_name(avro_value_t *v) {
        return codec_avro_type_name(avro_value_get_type(v));
}

static codec_err_t wrong_type(codec_ctx_t *x, const char *name, avro_value_t *v,
                              const char *expected) {
        return codec_fail(x, CODEC_ERR_INVALID, name, "%s where %s was expected", type_name(v),
                          expected);
}

/*
 * Decode
 */

int codec_d_field(avro_value_t *rec, const char *name, avro_value_t *out) {
        return avro_value_get_by_name(rec, name, out, NULL) == 0;
}

codec_err_t codec_d_opt(codec_ctx_t *x, avro_value_t *rec, const char *name, avro_value_t *out,
                        bool *present) {
        avro_value_t f = {0};

        *present = false;
        if (!codec_d_field(rec, name, &f))
                return CODEC_OK;
        if (avro_value_get_type(&f) == AVRO_UNION) {
                if (avro_value_get_current_branch(&f, out) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "union without a branch");
        } else {
                *out = f;
        }
        *present = avro_value_get_type(out) != AVRO_NULL;
        return CODEC_OK;
}

codec_err_t codec_d_str_raw(codec_ctx_t *x, const char *name, const char *s, size_t len,
                            char *dst, size_t dst_size, size_t max_chars) {
        if (len > 0 && memchr(s, '\0', len) != NULL)
                return codec_fail(x, CODEC_ERR_INVALID, name, "string contains a NUL byte");
        if (len >= dst_size)
                return codec_fail(x, CODEC_ERR_INVALID, name,
                                  "string of %zu bytes is longer than %zu bytes", len,
                                  dst_size - 1);
        if (max_chars > 0) {
                size_t chars = utf8_chars(s, len);
                if (chars > max_chars)
                        return codec_fail(x, CODEC_ERR_INVALID, name,
                                          "string of %zu characters is longer than %zu", chars,
                                          max_chars);
        }
        if (len > 0)
                memcpy(dst, s, len);
        dst[len] = '\0';
        return CODEC_OK;
}

codec_err_t codec_d_str_value(codec_ctx_t *x, const char *name, avro_value_t *v, char *dst,
                              size_t dst_size, size_t max_chars) {
        const char *s;
        size_t size;

        if (avro_value_get_type(v) != AVRO_STRING)
                return wrong_type(x, name, v, "string");
        if (avro_value_get_string(v, &s, &size) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read string");
        /* avro-c counts the NUL */
        return codec_d_str_raw(x, name, s, size > 0 ? size - 1 : 0, dst, dst_size, max_chars);
}

codec_err_t codec_d_uuid_raw(codec_ctx_t *x, const char *name, const char *s, size_t len,
                             bg_uuid_t *out) {
        char ex[48];

        if (!bg_uuid_parse(s, len, out))
                return codec_fail(x, CODEC_ERR_INVALID, name, "invalid UUID text \"%s\"",
                                  excerpt(s, len, ex));
        return CODEC_OK;
}

codec_err_t codec_d_uuid_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               bg_uuid_t *out) {
        const char *s;
        size_t size;

        if (avro_value_get_type(v) != AVRO_STRING)
                return wrong_type(x, name, v, "string");
        if (avro_value_get_string(v, &s, &size) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read string");
        return codec_d_uuid_raw(x, name, s, size > 0 ? size - 1 : 0, out);
}

codec_err_t codec_d_long_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               int64_t *out) {
        int32_t i;

        switch (avro_value_get_type(v)) {
        case AVRO_INT64:
                if (avro_value_get_long(v, out) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read long");
                return CODEC_OK;
        case AVRO_INT32:   /* int promotes to long */
                if (avro_value_get_int(v, &i) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read int");
                *out = i;
                return CODEC_OK;
        default:
                return wrong_type(x, name, v, "long");
        }
}

codec_err_t codec_d_decimal_raw(codec_ctx_t *x, const char *name, const uint8_t *buf,
                                size_t size, int64_t *out) {
        switch (bg_money_from_avro(buf, size, out)) {
        case BG_MONEY_OK:
                break;
        case BG_MONEY_ERR_SYNTAX:
                return codec_fail(x, CODEC_ERR_INVALID, name, "empty decimal");
        case BG_MONEY_ERR_TOO_LONG:
                return codec_fail(x, CODEC_ERR_INVALID, name,
                                  "decimal of %zu bytes is longer than %d bytes", size,
                                  BG_MONEY_AVRO_DECODE_MAX);
        case BG_MONEY_ERR_OVERFLOW:
                return codec_fail(x, CODEC_ERR_INVALID, name,
                                  "decimal out of the int64 micros range");
        default:
                return codec_fail(x, CODEC_ERR_INVALID, name, "invalid decimal");
        }
        if (*out > CODEC_DECIMAL_MAX || *out < -CODEC_DECIMAL_MAX)
                return codec_fail(x, CODEC_ERR_INVALID, name,
                                  "decimal %" PRId64 " micros exceeds precision 18", *out);
        return CODEC_OK;
}

codec_err_t codec_d_decimal_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                                  int64_t *out) {
        const void *buf;
        size_t size;

        if (avro_value_get_type(v) != AVRO_BYTES)
                return wrong_type(x, name, v, "bytes (decimal)");
        if (avro_value_get_bytes(v, &buf, &size) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read bytes");
        return codec_d_decimal_raw(x, name, buf, size, out);
}

codec_err_t codec_d_enum_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               const char **symbol) {
        int idx;

        if (avro_value_get_type(v) != AVRO_ENUM)
                return wrong_type(x, name, v, "enum");
        if (avro_value_get_enum(v, &idx) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read enum");
        *symbol = avro_schema_enum_get(avro_value_get_schema(v), idx);
        if (*symbol == NULL)
                return codec_fail(x, CODEC_ERR_INVALID, name, "enum index %d out of range", idx);
        return CODEC_OK;
}

codec_err_t codec_d_str(codec_ctx_t *x, avro_value_t *rec, const char *name, char *dst,
                        size_t dst_size, size_t max_chars) {
        avro_value_t v = {0};

        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        return codec_d_str_value(x, name, &v, dst, dst_size, max_chars);
}

codec_err_t codec_d_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name, bg_uuid_t *out) {
        avro_value_t v = {0};

        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        return codec_d_uuid_value(x, name, &v, out);
}

codec_err_t codec_d_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t *out) {
        avro_value_t v = {0};

        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        return codec_d_long_value(x, name, &v, out);
}

codec_err_t codec_d_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t *out) {
        avro_value_t v = {0};

        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        return codec_d_decimal_value(x, name, &v, out);
}

codec_err_t codec_d_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const char **symbol) {
        avro_value_t v = {0};

        *symbol = NULL;
        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        return codec_d_enum_value(x, name, &v, symbol);
}

codec_err_t codec_d_fixed(codec_ctx_t *x, avro_value_t *rec, const char *name, uint8_t *dst,
                          size_t size) {
        avro_value_t v = {0};
        const void *buf;
        size_t got;
        int rc;

        if (!codec_d_field(rec, name, &v))
                return CODEC_OK;
        if (avro_value_get_type(&v) == AVRO_FIXED)
                rc = avro_value_get_fixed(&v, &buf, &got);
        else if (avro_value_get_type(&v) == AVRO_BYTES)
                rc = avro_value_get_bytes(&v, &buf, &got);
        else
                return wrong_type(x, name, &v, "fixed");
        if (rc != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read fixed");
        if (got != size)
                return codec_fail(x, CODEC_ERR_INVALID, name, "%zu bytes where %zu were expected",
                                  got, size);
        memcpy(dst, buf, size);
        return CODEC_OK;
}

codec_err_t codec_d_opt_str(codec_ctx_t *x, avro_value_t *rec, const char *name, char *dst,
                            size_t dst_size, size_t max_chars, bool *present) {
        avro_value_t v = {0};
        codec_err_t err = codec_d_opt(x, rec, name, &v, present);

        if (err != CODEC_OK || !*present)
                return err;
        return codec_d_str_value(x, name, &v, dst, dst_size, max_chars);
}

codec_err_t codec_d_opt_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             bg_uuid_t *out, bool *present) {
        avro_value_t v = {0};
        codec_err_t err = codec_d_opt(x, rec, name, &v, present);

        if (err != CODEC_OK || !*present)
                return err;
        return codec_d_uuid_value(x, name, &v, out);
}

codec_err_t codec_d_opt_long(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             int64_t *out, bool *present) {
        avro_value_t v = {0};
        codec_err_t err = codec_d_opt(x, rec, name, &v, present);

        if (err != CODEC_OK || !*present)
                return err;
        return codec_d_long_value(x, name, &v, out);
}

codec_err_t codec_d_opt_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                int64_t *out, bool *present) {
        avro_value_t v = {0};
        codec_err_t err = codec_d_opt(x, rec, name, &v, present);

        if (err != CODEC_OK || !*present)
                return err;
        return codec_d_decimal_value(x, name, &v, out);
}

codec_err_t codec_d_opt_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const char **symbol) {
        avro_value_t v = {0};
        bool present;
        codec_err_t err = codec_d_opt(x, rec, name, &v, &present);

        *symbol = NULL;
        if (err != CODEC_OK || !present)
                return err;
        return codec_d_enum_value(x, name, &v, symbol);
}

codec_err_t codec_d_str_array_value(codec_ctx_t *x, const char *name, avro_value_t *arr,
                                    char *dst, size_t row_size, size_t max_rows,
                                    size_t max_chars, size_t *n_out) {
        size_t n;

        *n_out = 0;
        if (avro_value_get_type(arr) != AVRO_ARRAY)
                return wrong_type(x, name, arr, "array");
        if (avro_value_get_size(arr, &n) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read array");
        if (n > max_rows)
                return codec_fail(x, CODEC_ERR_INVALID, name, "%zu items, more than %zu", n,
                                  max_rows);
        for (size_t i = 0; i < n; i++) {
                avro_value_t el = {0};
                codec_err_t err;

                if (avro_value_get_by_index(arr, i, &el, NULL) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read item %zu", i);
                err = codec_d_str_value(x, name, &el, dst + i * row_size, row_size, max_chars);
                if (err != CODEC_OK)
                        return err;
        }
        *n_out = n;
        return CODEC_OK;
}

codec_err_t codec_d_tags(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         codec_tag_t *dst, size_t max_tags, size_t *n_out) {
        avro_value_t map = {0};
        size_t n;

        *n_out = 0;
        if (!codec_d_field(rec, name, &map))
                return CODEC_OK;
        if (avro_value_get_type(&map) != AVRO_MAP)
                return wrong_type(x, name, &map, "map");
        if (avro_value_get_size(&map, &n) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read map");
        if (n > max_tags)
                return codec_fail(x, CODEC_ERR_INVALID, name, "%zu tags, more than %zu", n,
                                  max_tags);
        for (size_t i = 0; i < n; i++) {
                avro_value_t el = {0};
                const char *key;
                size_t klen;
                codec_err_t err;

                if (avro_value_get_by_index(&map, i, &el, &key) != 0 || key == NULL)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot read tag %zu", i);
                klen = strlen(key);
                if (klen == 0 || klen > CODEC_TAG_KEY_MAX)
                        return codec_fail(x, CODEC_ERR_INVALID, name,
                                          "tag key of %zu bytes is not 1 to %d bytes", klen,
                                          CODEC_TAG_KEY_MAX);
                memcpy(dst[i].key, key, klen + 1);
                err = codec_d_str_value(x, name, &el, dst[i].value, sizeof(dst[i].value), 0);
                if (err != CODEC_OK)
                        return err;
        }
        *n_out = n;
        return CODEC_OK;
}

/*
 * Decode: domain enums and the payload union
 */

/* Role enum <-> bg_role_t; NONE is never on the wire. */
codec_err_t codec_d_role(codec_ctx_t *x, avro_value_t *rec, const char *name, bg_role_t *out) {
        const char *sym;
        codec_err_t err = codec_d_enum(x, rec, name, &sym);

        if (err != CODEC_OK || sym == NULL)
                return err;
        *out = bg_role_from_name(sym);
        if (*out == BG_ROLE_NONE)
                return codec_fail(x, CODEC_ERR_INVALID, name, "unknown role \"%s\"", sym);
        return CODEC_OK;
}

codec_err_t codec_d_currency(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             bg_currency_t *out) {
        const char *sym;
        codec_err_t err = codec_d_enum(x, rec, name, &sym);

        if (err != CODEC_OK || sym == NULL)
                return err;
        *out = bg_currency_from_name(sym);
        if (*out == BG_CURRENCY_UNSET)
                return codec_fail(x, CODEC_ERR_INVALID, name, "unknown currency \"%s\"", sym);
        return CODEC_OK;
}

codec_err_t codec_d_credit_type(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                bg_credit_type_t *out) {
        const char *sym;
        codec_err_t err = codec_d_enum(x, rec, name, &sym);

        if (err != CODEC_OK || sym == NULL)
                return err;
        *out = bg_credit_type_from_name(sym);
        if (*out == BG_CREDIT_TYPE_UNSET)
                return codec_fail(x, CODEC_ERR_INVALID, name, "unknown credit type \"%s\"", sym);
        return CODEC_OK;
}

/* Reads the payload union: its record value and its record name. */
codec_err_t codec_d_payload(codec_ctx_t *x, avro_value_t *root, avro_value_t *rec,
                            const char **name) {
        avro_value_t u = {0};

        if (!codec_d_field(root, "payload", &u))
                return codec_fail(x, CODEC_ERR_INVALID, "payload", "schema has no payload");
        if (avro_value_get_type(&u) != AVRO_UNION ||
            avro_value_get_current_branch(&u, rec) != 0 ||
            avro_value_get_type(rec) != AVRO_RECORD)
                return codec_fail(x, CODEC_ERR_INVALID, "payload", "payload is not a record");
        *name = avro_schema_name(avro_value_get_schema(rec));
        return CODEC_OK;
}

/*
 * Encode
 */

codec_err_t codec_e_field(codec_ctx_t *x, avro_value_t *rec, const char *name,
                          avro_value_t *out) {
        if (avro_value_get_by_name(rec, name, out, NULL) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "the latest schema has no such field");
        return CODEC_OK;
}

codec_err_t codec_e_opt(codec_ctx_t *x, avro_value_t *rec, const char *name, bool present,
                        avro_value_t *out) {
        avro_value_t f = {0}, b = {0};
        avro_schema_t u;
        int null_branch;

        if (codec_e_field(x, rec, name, &f) != CODEC_OK)
                return CODEC_ERR_AVRO;
        if (avro_value_get_type(&f) != AVRO_UNION) {
                if (!present)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "field is not nullable");
                *out = f;
                return CODEC_OK;
        }
        u = avro_value_get_schema(&f);
        null_branch = is_avro_null(avro_schema_union_branch(u, 0)) ? 0 : 1;
        if (avro_value_set_branch(&f, present ? 1 - null_branch : null_branch, &b) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set union branch");
        if (present)
                *out = b;
        else if (avro_value_set_null(&b) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set null");
        return CODEC_OK;
}

codec_err_t codec_e_str_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                              const char *s, size_t dst_size, size_t max_chars) {
        size_t len = strnlen(s, dst_size);

        if (len == dst_size)
                return codec_fail(x, CODEC_ERR_ARG, name, "string not terminated within %zu bytes",
                                  dst_size);
        if (!codec_utf8_valid((const uint8_t *)s, len))
                return codec_fail(x, CODEC_ERR_ARG, name, "string is not valid UTF-8");
        if (max_chars > 0 && utf8_chars(s, len) > max_chars)
                return codec_fail(x, CODEC_ERR_ARG, name,
                                  "string of %zu characters is longer than %zu",
                                  utf8_chars(s, len), max_chars);
        if (avro_value_set_string_len(v, s, len + 1) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set string");
        return CODEC_OK;
}

codec_err_t codec_e_decimal_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                                  int64_t micros) {
        uint8_t buf[BG_MONEY_AVRO_MAX];
        size_t n;

        if (micros > CODEC_DECIMAL_MAX || micros < -CODEC_DECIMAL_MAX)
                return codec_fail(x, CODEC_ERR_ARG, name,
                                  "decimal %" PRId64 " micros exceeds precision 18", micros);
        n = bg_money_to_avro(micros, buf);
        if (avro_value_set_bytes(v, buf, n) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set bytes");
        return CODEC_OK;
}

codec_err_t codec_e_enum_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               const char *symbol) {
        int idx;

        if (symbol == NULL)
                return codec_fail(x, CODEC_ERR_ARG, name, "value not set or out of range");
        idx = avro_schema_enum_get_by_name(avro_value_get_schema(v), symbol);
        if (idx < 0)
                return codec_fail(x, CODEC_ERR_ARG, name, "\"%s\" is not a symbol of the schema",
                                  symbol);
        if (avro_value_set_enum(v, idx) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set enum");
        return CODEC_OK;
}

codec_err_t codec_e_str(codec_ctx_t *x, avro_value_t *rec, const char *name, const char *s,
                        size_t dst_size, size_t max_chars) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        return codec_e_str_value(x, name, &v, s, dst_size, max_chars);
}

static codec_err_t set_uuid(codec_ctx_t *x, const char *name, avro_value_t *v,
                            const bg_uuid_t *id) {
        char text[BG_UUID_STR_LEN + 1];

        bg_uuid_format(id, text);
        if (avro_value_set_string_len(v, text, sizeof(text)) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set string");
        return CODEC_OK;
}

codec_err_t codec_e_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const bg_uuid_t *id) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        return set_uuid(x, name, &v, id);
}

codec_err_t codec_e_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t val) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        if (avro_value_set_long(&v, val) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set long");
        return CODEC_OK;
}

codec_err_t codec_e_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                            int64_t micros) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        return codec_e_decimal_value(x, name, &v, micros);
}

codec_err_t codec_e_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const char *symbol) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        return codec_e_enum_value(x, name, &v, symbol);
}

codec_err_t codec_e_fixed(codec_ctx_t *x, avro_value_t *rec, const char *name,
                          const uint8_t *src, size_t size) {
        avro_value_t v = {0};

        if (codec_e_field(x, rec, name, &v) != CODEC_OK)
                return CODEC_ERR_AVRO;
        if (avro_value_set_fixed(&v, (void *)src, size) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set fixed of %zu bytes", size);
        return CODEC_OK;
}

codec_err_t codec_e_opt_str(codec_ctx_t *x, avro_value_t *rec, const char *name,
                            const char *s, size_t dst_size, size_t max_chars, bool present) {
        avro_value_t v = {0};
        codec_err_t err = codec_e_opt(x, rec, name, present, &v);

        if (err != CODEC_OK || !present)
                return err;
        return codec_e_str_value(x, name, &v, s, dst_size, max_chars);
}

codec_err_t codec_e_opt_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const bg_uuid_t *id, bool present) {
        avro_value_t v = {0};
        codec_err_t err = codec_e_opt(x, rec, name, present, &v);

        if (err != CODEC_OK || !present)
                return err;
        return set_uuid(x, name, &v, id);
}

codec_err_t codec_e_opt_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t val,
                             bool present) {
        avro_value_t v = {0};
        codec_err_t err = codec_e_opt(x, rec, name, present, &v);

        if (err != CODEC_OK || !present)
                return err;
        if (avro_value_set_long(&v, val) != 0)
                return codec_fail(x, CODEC_ERR_AVRO, name, "cannot set long");
        return CODEC_OK;
}

codec_err_t codec_e_opt_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                int64_t micros, bool present) {
        avro_value_t v = {0};
        codec_err_t err = codec_e_opt(x, rec, name, present, &v);

        if (err != CODEC_OK || !present)
                return err;
        return codec_e_decimal_value(x, name, &v, micros);
}

codec_err_t codec_e_opt_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const char *symbol) {
        avro_value_t v = {0};
        codec_err_t err = codec_e_opt(x, rec, name, symbol != NULL, &v);

        if (err != CODEC_OK || symbol == NULL)
                return err;
        return codec_e_enum_value(x, name, &v, symbol);
}

codec_err_t codec_e_str_array_value(codec_ctx_t *x, const char *name, avro_value_t *arr,
                                    const char *src, size_t row_size, size_t n,
                                    size_t max_rows, size_t max_chars) {
        if (n > max_rows)
                return codec_fail(x, CODEC_ERR_ARG, name, "%zu items, more than %zu", n, max_rows);
        for (size_t i = 0; i < n; i++) {
                avro_value_t el = {0};
                codec_err_t err;

                if (avro_value_append(arr, &el, NULL) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot append");
                err = codec_e_str_value(x, name, &el, src + i * row_size, row_size, max_chars);
                if (err != CODEC_OK)
                        return err;
        }
        return CODEC_OK;
}

codec_err_t codec_e_tags(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const codec_tag_t *tags, size_t n) {
        avro_value_t map = {0};

        if (n > CODEC_TAGS_MAX)
                return codec_fail(x, CODEC_ERR_ARG, name, "%zu tags, more than %d", n,
                                  CODEC_TAGS_MAX);
        if (n > 0 && tags == NULL)
                return codec_fail(x, CODEC_ERR_ARG, name, "%zu tags but no array", n);
        if (codec_e_field(x, rec, name, &map) != CODEC_OK)
                return CODEC_ERR_AVRO;
        for (size_t i = 0; i < n; i++) {
                size_t klen = strnlen(tags[i].key, sizeof(tags[i].key));
                avro_value_t el = {0};
                int is_new = 0;
                codec_err_t err;

                if (klen == 0 || klen == sizeof(tags[i].key) ||
                    !codec_utf8_valid((const uint8_t *)tags[i].key, klen))
                        return codec_fail(x, CODEC_ERR_ARG, name,
                                          "tag %zu: key must be 1 to %d bytes of UTF-8", i,
                                          CODEC_TAG_KEY_MAX);
                if (avro_value_add(&map, tags[i].key, &el, NULL, &is_new) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, name, "cannot add tag");
                if (!is_new)
                        return codec_fail(x, CODEC_ERR_ARG, name, "duplicate tag key \"%s\"",
                                          tags[i].key);
                err = codec_e_str_value(x, name, &el, tags[i].value, sizeof(tags[i].value), 0);
                if (err != CODEC_OK)
                        return err;
        }
        return CODEC_OK;
}
