/*
 * billing.UsageRecord -> codec_usage_t, read straight from the message bytes.
 *
 * The invoicer decodes every usage record, and avro-c's generic values cost most of the
 * time (clearing and re-allocating strings and maps per message, field look-ups by
 * name). This decoder keeps the codec's safety contract by the same means as every other
 * decode: the walker (codec_walk.c) first accepts the whole body against the writer
 * schema, rejecting every length, count, index, varint, UTF-8 and depth problem, and
 * notes where each top-level field ends. Then each field we know is read from its byte
 * span with small readers, guided by a plan made once per writer schema: the writer's
 * field index and type for each of our fields, by name, so that older and newer writer
 * schemas decode as the generic decoder decodes them (a missing field keeps its default,
 * an unknown one is skipped, a field of an unexpected type is CODEC_ERR_INVALID).
 *
 * The values are checked by the same functions as on the generic path (codec_d_*_raw in
 * codec_value.c) and in the same field order, so results, failures and reasons are the
 * generic decoder's (codec_decode_usage_generic, kept as the reference: the differential
 * unit test and the fuzz target compare the two), but for one: more than 32 distinct tag
 * keys is "more than 32 tags" here, the exact count there. Where avro-c's behaviour is odd it is
 * reproduced on purpose: map keys are C strings to avro-c (a key is cut at its first NUL
 * byte), and a repeated key keeps its first place and its last value.
 */
#include "codec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_profile.h"

#define TRY(e)                                  \
        do {                                    \
                if ((err = (e)) != CODEC_OK)    \
                        return err;             \
        } while (0)

typedef enum {
        UF_USAGE_ID,
        UF_PROJECT_ID,
        UF_SERVICE_NAME,
        UF_SERVICE_TYPE,
        UF_SERVICE_PLAN,
        UF_LINE_TYPE,
        UF_QUANTITY,
        UF_UNIT,
        UF_UNIT_PRICE,
        UF_AMOUNT,
        UF_CURRENCY,
        UF_TIMESTAMP_BEGIN,
        UF_TIMESTAMP_END,
        UF_TAGS,
        UF__COUNT
} ufield_id_t;

static const char *const ufield_names[UF__COUNT] = {
        "usage_id", "project_id", "service_name", "service_type", "service_plan",
        "line_type", "quantity", "unit", "unit_price", "amount", "currency",
        "timestamp_begin", "timestamp_end", "tags",
};

/* One of our fields as the writer schema has it. */
typedef struct ufield_s {
        int index;                    /* the writer's root field index; -1: no such field */
        avro_type_t type;             /* its type, links followed */
        avro_schema_t schema;         /* that type's schema (enum symbols for reasons) */
        size_t n_branches;            /* unions: branch types, links followed */
        avro_type_t *branches;
        size_t n_symbols;             /* enums: our value per writer symbol; 0: unknown */
        int *symbols;
        avro_type_t values;           /* maps: the type of the values */
} ufield_t;

struct codec_usage_plan_s {
        ufield_t f[UF__COUNT];
        bool fast;                    /* the writer's root fields are ours: see usage_fast */
};

static avro_schema_t resolve(avro_schema_t s) {
        return (s != NULL && is_avro_link(s)) ? avro_schema_link_target(s) : s;
}

void codec_usage_plan_destroy(codec_usage_plan_t *plan) {
        if (plan == NULL)
                return;
        for (int i = 0; i < UF__COUNT; i++) {
                free(plan->f[i].branches);
                free(plan->f[i].symbols);
        }
        free(plan);
}

/* Our value of the writer's enum symbol @sym for field @id; 0 when we do not know it. */
static int symbol_value(ufield_id_t id, const char *sym) {
        if (sym == NULL)
                return 0;
        if (id == UF_LINE_TYPE)
                return (int)codec_line_type_from_name(sym);
        if (id == UF_CURRENCY)
                return (int)bg_currency_from_name(sym);
        return 0;
}

/* The type each of our fields has in our own schema (usage-record.v1.avsc); unions are
 * ["null", "bytes"], enums have only symbols we know, maps have string values. */
static const avro_type_t our_types[UF__COUNT] = {
        [UF_USAGE_ID] = AVRO_STRING,       [UF_PROJECT_ID] = AVRO_STRING,
        [UF_SERVICE_NAME] = AVRO_STRING,   [UF_SERVICE_TYPE] = AVRO_STRING,
        [UF_SERVICE_PLAN] = AVRO_STRING,   [UF_LINE_TYPE] = AVRO_ENUM,
        [UF_QUANTITY] = AVRO_BYTES,        [UF_UNIT] = AVRO_STRING,
        [UF_UNIT_PRICE] = AVRO_UNION,      [UF_AMOUNT] = AVRO_UNION,
        [UF_CURRENCY] = AVRO_ENUM,         [UF_TIMESTAMP_BEGIN] = AVRO_INT64,
        [UF_TIMESTAMP_END] = AVRO_INT64,   [UF_TAGS] = AVRO_MAP,
};

/* Whether @schema's root fields are exactly ours, in our order, with our types: then
 * every message of it can be read in one pass by usage_fast. Decided once per writer
 * schema, when its plan is made. */
static bool plan_is_fast(const codec_usage_plan_t *plan, avro_schema_t schema) {
        if (avro_schema_record_size(schema) != UF__COUNT)
                return false;
        for (int i = 0; i < UF__COUNT; i++) {
                const ufield_t *f = &plan->f[i];

                if (f->index != i || f->type != our_types[i])
                        return false;
                switch (f->type) {
                case AVRO_UNION:
                        if (f->n_branches != 2 || f->branches[0] != AVRO_NULL ||
                            f->branches[1] != AVRO_BYTES)
                                return false;
                        break;
                case AVRO_ENUM:
                        /* Every symbol known (usage_fast takes one-byte indexes only,
                         * 0 to 63, and gives up on others). */
                        if (f->n_symbols == 0)
                                return false;
                        for (size_t k = 0; k < f->n_symbols; k++)
                                if (f->symbols[k] == 0)
                                        return false;
                        break;
                case AVRO_MAP:
                        if (f->values != AVRO_STRING)
                                return false;
                        break;
                default:
                        break;
                }
        }
        return true;
}

codec_usage_plan_t *codec_usage_plan_new(avro_schema_t schema) {
        codec_usage_plan_t *plan = calloc(1, sizeof(*plan));

        if (plan == NULL)
                return NULL;
        for (int i = 0; i < UF__COUNT; i++) {
                ufield_t *f = &plan->f[i];
                avro_schema_t fs;

                f->index = avro_schema_record_field_get_index(schema, ufield_names[i]);
                if (f->index < 0) {
                        f->index = -1;
                        continue;
                }
                fs = resolve(avro_schema_record_field_get_by_index(schema, f->index));
                if (fs == NULL) {
                        f->index = -1;
                        continue;
                }
                f->schema = fs;
                f->type = avro_typeof(fs);
                switch (f->type) {
                case AVRO_UNION:
                        f->n_branches = avro_schema_union_size(fs);
                        f->branches = calloc(f->n_branches + 1, sizeof(*f->branches));
                        if (f->branches == NULL)
                                goto out_free_plan;
                        for (size_t b = 0; b < f->n_branches; b++)
                                f->branches[b] = avro_typeof(
                                        resolve(avro_schema_union_branch(fs, (int)b)));
                        break;
                case AVRO_ENUM: {
                        int n = avro_schema_enum_number_of_symbols(fs);

                        f->n_symbols = n > 0 ? (size_t)n : 0;
                        f->symbols = calloc(f->n_symbols + 1, sizeof(*f->symbols));
                        if (f->symbols == NULL)
                                goto out_free_plan;
                        for (size_t k = 0; k < f->n_symbols; k++)
                                f->symbols[k] = symbol_value((ufield_id_t)i,
                                                             avro_schema_enum_get(fs, (int)k));
                        break;
                }
                case AVRO_MAP:
                        f->values = avro_typeof(resolve(avro_schema_map_values(fs)));
                        break;
                default:
                        break;
                }
        }
        plan->fast = plan_is_fast(plan, schema);
        return plan;

out_free_plan:
        codec_usage_plan_destroy(plan);
        return NULL;
}

/*
 * Readers of bytes the walker has accepted. They still check every bound: a failure
 * means the decoder and the walker disagree (a bug), reported as CODEC_ERR_AVRO like an
 * avro-c failure after the walk.
 */

typedef struct ucur_s {
        const uint8_t *p;
        size_t pos;
        size_t end;
} ucur_t;

static bool rd_varint(ucur_t *r, int64_t *out) {
        uint64_t v = 0;

        for (unsigned i = 0; i < 10; i++) {
                uint8_t b;

                if (r->pos >= r->end)
                        return false;
                b = r->p[r->pos++];
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if (!(b & 0x80)) {
                        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                        return true;
                }
        }
        return false;
}

/* A string or bytes: varint length, then that many bytes. */
static bool rd_blob(ucur_t *r, const uint8_t **s, size_t *n) {
        int64_t len;

        if (!rd_varint(r, &len) || len < 0 || (uint64_t)len > r->end - r->pos)
                return false;
        *s = r->p + r->pos;
        *n = (size_t)len;
        r->pos += (size_t)len;
        return true;
}

static codec_err_t disagree(codec_ctx_t *x, const char *name) {
        return codec_fail(x, CODEC_ERR_AVRO, name,
                          "usage decoder cannot read what the walker accepted");
}

static codec_err_t wrong_type(codec_ctx_t *x, const char *name, avro_type_t t,
                              const char *expected) {
        return codec_fail(x, CODEC_ERR_INVALID, name, "%s where %s was expected",
                          codec_avro_type_name(t), expected);
}

/*
 * Field readers: @r spans the field's bytes. Each mirrors a codec_d_* helper.
 */

static codec_err_t d_uuid(codec_ctx_t *x, const ufield_t *f, const char *name, ucur_t *r,
                          bg_uuid_t *out) {
        const uint8_t *s;
        size_t n;

        if (f->type != AVRO_STRING)
                return wrong_type(x, name, f->type, "string");
        if (!rd_blob(r, &s, &n))
                return disagree(x, name);
        return codec_d_uuid_raw(x, name, (const char *)s, n, out);
}

static codec_err_t d_str(codec_ctx_t *x, const ufield_t *f, const char *name, ucur_t *r,
                         char *dst, size_t dst_size) {
        const uint8_t *s;
        size_t n;

        if (f->type != AVRO_STRING)
                return wrong_type(x, name, f->type, "string");
        if (!rd_blob(r, &s, &n))
                return disagree(x, name);
        return codec_d_str_raw(x, name, (const char *)s, n, dst, dst_size, 0);
}

static codec_err_t d_long(codec_ctx_t *x, const ufield_t *f, const char *name, ucur_t *r,
                          int64_t *out) {
        /* int promotes to long; the walker kept an int within 5 bytes and 32 bits */
        if (f->type != AVRO_INT64 && f->type != AVRO_INT32)
                return wrong_type(x, name, f->type, "long");
        if (!rd_varint(r, out))
                return disagree(x, name);
        return CODEC_OK;
}

static codec_err_t d_decimal_of(codec_ctx_t *x, avro_type_t t, const char *name, ucur_t *r,
                                int64_t *out) {
        const uint8_t *s;
        size_t n;

        if (t != AVRO_BYTES)
                return wrong_type(x, name, t, "bytes (decimal)");
        if (!rd_blob(r, &s, &n))
                return disagree(x, name);
        return codec_d_decimal_raw(x, name, s, n, out);
}

/* A ["null", T] field, or a plain T or null one, as codec_d_opt_decimal reads it. */
static codec_err_t d_opt_decimal(codec_ctx_t *x, const ufield_t *f, const char *name,
                                 ucur_t *r, int64_t *out, bool *present) {
        avro_type_t t = f->type;

        if (t == AVRO_UNION) {
                int64_t b;

                if (!rd_varint(r, &b) || b < 0 || (uint64_t)b >= f->n_branches)
                        return disagree(x, name);
                t = f->branches[b];
        }
        if (t == AVRO_NULL)
                return CODEC_OK;
        *present = true;
        return d_decimal_of(x, t, name, r, out);
}

/* An enum whose symbol we know (@value > 0); @what names it in the refusal of one we do
 * not ("unknown line type \"X\""). */
static codec_err_t d_enum(codec_ctx_t *x, const ufield_t *f, const char *name, ucur_t *r,
                          const char *what, int *value) {
        const char *symbol;
        int64_t idx;

        if (f->type != AVRO_ENUM)
                return wrong_type(x, name, f->type, "enum");
        if (!rd_varint(r, &idx) || idx < 0 || (uint64_t)idx >= f->n_symbols)
                return disagree(x, name);
        *value = f->symbols[idx];
        if (*value != 0)
                return CODEC_OK;
        symbol = avro_schema_enum_get(f->schema, (int)idx);
        return codec_fail(x, CODEC_ERR_INVALID, name, "unknown %s \"%s\"", what,
                          symbol ? symbol : "");
}

static codec_err_t tag_key_check(codec_ctx_t *x, const char *name, size_t klen) {
        if (klen == 0 || klen > CODEC_TAG_KEY_MAX)
                return codec_fail(x, CODEC_ERR_INVALID, name,
                                  "tag key of %zu bytes is not 1 to %d bytes", klen,
                                  CODEC_TAG_KEY_MAX);
        return CODEC_OK;
}

/* The tags map, as codec_d_tags reads what avro-c made of it: keys cut at a NUL byte, a
 * repeated key in its first place with its last value, at most @max_tags keys. */
static codec_err_t d_tags(codec_ctx_t *x, const ufield_t *f, const char *name, ucur_t *r,
                          codec_tag_t *dst, size_t *n_out) {
        struct {
                const char *k, *v;
                size_t klen, vlen;
        } ent[CODEC_TAGS_MAX];
        size_t n = 0;
        codec_err_t err;

        if (f->type != AVRO_MAP)
                return wrong_type(x, name, f->type, "map");
        for (;;) {
                int64_t count, size;

                if (!rd_varint(r, &count))
                        return disagree(x, name);
                if (count == 0)
                        break;
                if (count < 0) {
                        if (!rd_varint(r, &size))
                                return disagree(x, name);
                        count = -count;   /* the walker refused INT64_MIN */
                }
                for (int64_t i = 0; i < count; i++) {
                        const uint8_t *k, *v;
                        size_t kn, vn, klen, j;

                        if (!rd_blob(r, &k, &kn))
                                return disagree(x, name);
                        klen = strnlen((const char *)k, kn);
                        if (f->values != AVRO_STRING) {
                                /* Any entry fails, and this is the first one. */
                                TRY(tag_key_check(x, name, klen));
                                return wrong_type(x, name, f->values, "string");
                        }
                        if (!rd_blob(r, &v, &vn))
                                return disagree(x, name);
                        for (j = 0; j < n; j++)
                                if (ent[j].klen == klen && memcmp(ent[j].k, k, klen) == 0)
                                        break;
                        if (j == n) {
                                if (n == CODEC_TAGS_MAX)
                                        return codec_fail(x, CODEC_ERR_INVALID, name,
                                                          "more than %d tags", CODEC_TAGS_MAX);
                                ent[n].k = (const char *)k;
                                ent[n].klen = klen;
                                n++;
                        }
                        ent[j].v = (const char *)v;
                        ent[j].vlen = vn;
                }
        }
        for (size_t j = 0; j < n; j++) {
                TRY(tag_key_check(x, name, ent[j].klen));
                memcpy(dst[j].key, ent[j].k, ent[j].klen);
                dst[j].key[ent[j].klen] = '\0';
                TRY(codec_d_str_raw(x, name, ent[j].v, ent[j].vlen, dst[j].value,
                                    sizeof(dst[j].value), 0));
        }
        *n_out = n;
        return CODEC_OK;
}

/* Reads our field @id of @out from its span, if the writer has it. */
static codec_err_t d_field(codec_ctx_t *x, const codec_schema_t *s, const uint8_t *body,
                           ufield_id_t id, codec_usage_t *out) {
        const ufield_t *f = &s->usage->f[id];
        const char *name = ufield_names[id];
        ucur_t r;
        codec_err_t err;
        int v = 0;

        if (f->index < 0) {
                if (id == UF_LINE_TYPE)         /* older writer schema: the default */
                        out->line_type = CODEC_LINE_SERVICE_CHARGE;
                return CODEC_OK;
        }
        r.p = body;
        r.pos = f->index > 0 ? s->field_ends[f->index - 1] : 0;
        r.end = s->field_ends[f->index];
        switch (id) {
        case UF_USAGE_ID:
                TRY(d_uuid(x, f, name, &r, &out->usage_id));
                break;
        case UF_PROJECT_ID:
                TRY(d_uuid(x, f, name, &r, &out->project_id));
                break;
        case UF_SERVICE_NAME:
                TRY(d_str(x, f, name, &r, out->service_name, sizeof(out->service_name)));
                break;
        case UF_SERVICE_TYPE:
                TRY(d_str(x, f, name, &r, out->service_type, sizeof(out->service_type)));
                break;
        case UF_SERVICE_PLAN:
                TRY(d_str(x, f, name, &r, out->service_plan, sizeof(out->service_plan)));
                break;
        case UF_LINE_TYPE:
                TRY(d_enum(x, f, name, &r, "line type", &v));
                out->line_type = (codec_line_type_t)v;
                break;
        case UF_QUANTITY:
                TRY(d_decimal_of(x, f->type, name, &r, &out->quantity));
                break;
        case UF_UNIT:
                TRY(d_str(x, f, name, &r, out->unit, sizeof(out->unit)));
                break;
        case UF_UNIT_PRICE:
                TRY(d_opt_decimal(x, f, name, &r, &out->unit_price, &out->has_unit_price));
                break;
        case UF_AMOUNT:
                TRY(d_opt_decimal(x, f, name, &r, &out->amount, &out->has_amount));
                break;
        case UF_CURRENCY:
                TRY(d_enum(x, f, name, &r, "currency", &v));
                out->currency = (bg_currency_t)v;
                break;
        case UF_TIMESTAMP_BEGIN:
                TRY(d_long(x, f, name, &r, &out->timestamp_begin));
                break;
        case UF_TIMESTAMP_END:
                TRY(d_long(x, f, name, &r, &out->timestamp_end));
                break;
        case UF_TAGS:
                TRY(d_tags(x, f, name, &r, out->tags, &out->n_tags));
                break;
        case UF__COUNT:
                break;
        }
        if (r.pos != r.end)
                return disagree(x, name);
        return CODEC_OK;
}

/*
 * The fused fast path: when the writer schema is ours (plan->fast), the whole body in one
 * pass, straight from the bytes, without the walker. It either decodes the message
 * exactly as the walker and the field readers above would (true), or gives up (false)
 * and the caller runs them, which then produce the code and the reason. So it has no
 * reasons of its own and is free to give up on whatever it would rather not reproduce:
 * anything the walker or the checks refuse, but also non-minimal varints for enum
 * indexes and union branches, negative map block counts, tag keys with a NUL byte,
 * repeated tag keys, more than CODEC_TAGS_MAX map entries. What it must never do: read
 * outside [p, end), or accept a message the other path refuses, or decode one
 * differently. On giving up, *out is partly written (unspecified, as on any failure).
 */

/* A long varint as the walker takes it: at most 10 bytes, the 10th at most 1. */
static inline bool fast_long(const uint8_t **pp, const uint8_t *end, int64_t *out) {
        const uint8_t *p = *pp;
        uint64_t v = 0;

        for (unsigned i = 0; i < 10; i++) {
                uint8_t b;

                if (p == end)
                        return false;
                b = *p++;
                if (i == 9 && b > 1)
                        return false;
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if (!(b & 0x80)) {
                        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                        *pp = p;
                        return true;
                }
        }
        return false;
}

/* A length prefix and that many bytes, all within [*pp, end). */
static inline bool fast_blob(const uint8_t **pp, const uint8_t *end, const uint8_t **s,
                             size_t *n) {
        const uint8_t *p = *pp;
        int64_t len;

        if (p < end && *p < 0x80) {           /* one-byte length: 0 to 63 */
                len = (int64_t)((*p >> 1) ^ (~(*p & 1u) + 1u));
                p++;
        } else if (!fast_long(&p, end, &len)) {
                return false;
        }
        if (len < 0 || (uint64_t)len > (uint64_t)(end - p))
                return false;
        *s = p;
        *n = (size_t)len;
        *pp = p + len;
        return true;
}

/* A string into @dst as codec_d_str_raw copies it: UTF-8 (the walker), no NUL, shorter
 * than @dst_size. */
static inline bool fast_str(const uint8_t **pp, const uint8_t *end, char *dst,
                            size_t dst_size) {
        const uint8_t *s;
        size_t n;

        if (!fast_blob(pp, end, &s, &n) || n >= dst_size ||
            (n > 0 && memchr(s, '\0', n) != NULL) || !codec_utf8_valid(s, n))
                return false;
        memcpy(dst, s, n);
        dst[n] = '\0';
        return true;
}

static inline bool fast_uuid(const uint8_t **pp, const uint8_t *end, bg_uuid_t *out) {
        const uint8_t *s;
        size_t n;

        return fast_blob(pp, end, &s, &n) && codec_utf8_valid(s, n) &&
               bg_uuid_parse((const char *)s, n, out);
}

static inline bool fast_decimal(const uint8_t **pp, const uint8_t *end, int64_t *out) {
        codec_ctx_t quiet = {.errstr = NULL, .errstr_size = 0};
        const uint8_t *s;
        size_t n;

        return fast_blob(pp, end, &s, &n) &&
               codec_d_decimal_raw(&quiet, NULL, s, n, out) == CODEC_OK;
}

/* ["null", bytes (decimal)]: branch byte 0 or 2 (zig-zag 0 and 1). */
static inline bool fast_opt_decimal(const uint8_t **pp, const uint8_t *end, int64_t *out,
                                    bool *present) {
        if (*pp == end)
                return false;
        switch (*(*pp)++) {
        case 0:
                return true;
        case 2:
                *present = true;
                return fast_decimal(pp, end, out);
        default:
                return false;
        }
}

/* An enum index in one byte, to our value (the plan knows every symbol). */
static inline bool fast_enum(const uint8_t **pp, const uint8_t *end, const ufield_t *f,
                             int *value) {
        uint8_t b;

        if (*pp == end)
                return false;
        b = *(*pp)++;
        if (b & 0x81)                         /* more bytes follow, or negative */
                return false;
        if ((size_t)(b >> 1) >= f->n_symbols)
                return false;
        *value = f->symbols[b >> 1];
        return true;
}

static bool usage_fast(const codec_usage_plan_t *plan, const uint8_t *p, size_t len,
                       codec_usage_t *out) {
        const uint8_t *const end = p + len;
        struct {
                const uint8_t *k, *v;
                size_t klen, vlen;
        } ent[CODEC_TAGS_MAX];
        size_t n = 0;
        int v;

        memset(out, 0, offsetof(codec_usage_t, tags));
        if (!fast_uuid(&p, end, &out->usage_id) || !fast_uuid(&p, end, &out->project_id) ||
            !fast_str(&p, end, out->service_name, sizeof(out->service_name)) ||
            !fast_str(&p, end, out->service_type, sizeof(out->service_type)) ||
            !fast_str(&p, end, out->service_plan, sizeof(out->service_plan)) ||
            !fast_enum(&p, end, &plan->f[UF_LINE_TYPE], &v))
                return false;
        out->line_type = (codec_line_type_t)v;
        if (!fast_decimal(&p, end, &out->quantity) ||
            !fast_str(&p, end, out->unit, sizeof(out->unit)) ||
            !fast_opt_decimal(&p, end, &out->unit_price, &out->has_unit_price) ||
            !fast_opt_decimal(&p, end, &out->amount, &out->has_amount) ||
            !fast_enum(&p, end, &plan->f[UF_CURRENCY], &v))
                return false;
        out->currency = (bg_currency_t)v;
        if (!fast_long(&p, end, &out->timestamp_begin) ||
            !fast_long(&p, end, &out->timestamp_end))
                return false;
        /* The tags: positive block counts, at most CODEC_TAGS_MAX entries in all, keys of
         * 1 to CODEC_TAG_KEY_MAX bytes without NUL, each key once, values that fit. */
        for (;;) {
                int64_t count;

                if (!fast_long(&p, end, &count) || count < 0 ||
                    (uint64_t)count > CODEC_TAGS_MAX - n)
                        return false;
                if (count == 0)
                        break;
                for (int64_t i = 0; i < count; i++, n++) {
                        if (!fast_blob(&p, end, &ent[n].k, &ent[n].klen) ||
                            ent[n].klen == 0 || ent[n].klen > CODEC_TAG_KEY_MAX ||
                            memchr(ent[n].k, '\0', ent[n].klen) != NULL ||
                            !codec_utf8_valid(ent[n].k, ent[n].klen))
                                return false;
                        for (size_t j = 0; j < n; j++)
                                if (ent[j].klen == ent[n].klen &&
                                    memcmp(ent[j].k, ent[n].k, ent[n].klen) == 0)
                                        return false;
                        if (!fast_blob(&p, end, &ent[n].v, &ent[n].vlen) ||
                            ent[n].vlen > CODEC_TAG_VALUE_MAX ||
                            (ent[n].vlen > 0 && memchr(ent[n].v, '\0', ent[n].vlen) != NULL) ||
                            !codec_utf8_valid(ent[n].v, ent[n].vlen))
                                return false;
                }
        }
        if (p != end)
                return false;
        for (size_t j = 0; j < n; j++) {
                memcpy(out->tags[j].key, ent[j].k, ent[j].klen);
                out->tags[j].key[ent[j].klen] = '\0';
                memcpy(out->tags[j].value, ent[j].v, ent[j].vlen);
                out->tags[j].value[ent[j].vlen] = '\0';
        }
        out->n_tags = n;
        return true;
}

bool codec_decode_usage_fast(codec_t *c, const void *buf, size_t len, codec_usage_t *out) {
        codec_schema_t *s;
        char e[256];

        if (out == NULL ||
            codec_decode_frame(c, CODEC_KIND_USAGE, buf, len, &s, e, sizeof(e)) != CODEC_OK ||
            s->usage == NULL || !s->usage->fast)
                return false;
        return usage_fast(s->usage, (const uint8_t *)buf + CODEC_HEADER_SIZE,
                          len - CODEC_HEADER_SIZE, out);
}

/* The fast path when it can; else the walked one, which gives the reason of a refusal
 * (a bad frame included: the fast path gives up on it without one). */
codec_err_t codec_decode_usage(codec_t *c, const void *buf, size_t len, codec_usage_t *out,
                               char *errstr, size_t errstr_size) {
        if (codec_decode_usage_fast(c, buf, len, out))
                return CODEC_OK;
        return codec_decode_usage_walked(c, buf, len, out, errstr, errstr_size);
}

codec_err_t codec_decode_usage_walked(codec_t *c, const void *buf, size_t len,
                                      codec_usage_t *out, char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        const uint8_t *body;
        codec_schema_t *s;
        codec_err_t err;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        TRY(codec_decode_walk(c, CODEC_KIND_USAGE, buf, len, &s, errstr, errstr_size));
        if (s->usage == NULL) {
                snprintf(errstr, errstr_size, "schema id %d has no usage plan", (int)s->id);
                return CODEC_ERR_AVRO;
        }
        body = (const uint8_t *)buf + CODEC_HEADER_SIZE;
        /* The tags are 10 KiB: zero all but them; d_tags writes the used ones. */
        memset(out, 0, offsetof(codec_usage_t, tags));
        for (int id = 0; id < UF__COUNT; id++)
                TRY(d_field(&x, s, body, (ufield_id_t)id, out));
        return CODEC_OK;
}

bool codec_peek_usage_id(const codec_t *c, const void *buf, size_t len, bg_uuid_t *out) {
        const uint8_t *text;
        const codec_schema_t *s;
        const ufield_t *f;
        int32_t id;
        ucur_t r;
        size_t n;

        if (buf == NULL || codec_peek_schema_id(c, buf, len, &id, NULL, 0) != CODEC_OK)
                return false;
        s = codec_schema_cached(c, id);
        if (s == NULL || s->kind != CODEC_KIND_USAGE || s->usage == NULL)
                return false;
        /* Only the first field starts at a known place without the walk. */
        f = &s->usage->f[UF_USAGE_ID];
        if (f->index != 0 || f->type != AVRO_STRING)
                return false;
        r.p = (const uint8_t *)buf + CODEC_HEADER_SIZE;
        r.pos = 0;
        r.end = len - CODEC_HEADER_SIZE;
        return rd_blob(&r, &text, &n) && bg_uuid_parse((const char *)text, n, out);
}
