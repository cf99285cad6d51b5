/*
 * Internal to bg_codec: the codec object, its schema cache, and the helpers that move
 * values between avro-c generic values and C structs.
 */
#ifndef CODEC_INT_H
#define CODEC_INT_H

#include <avro.h>
#include <stdarg.h>

#include "codec.h"
#include "codec_walk.h"

#define CODEC_SCHEMAS_MAX 64          /* schema ids one codec keeps compiled */
#define CODEC_INITIAL_BUFFER 4096

/* One writer schema, compiled for the walker and instantiated for avro-c. */
typedef struct codec_schema_s {
        int32_t id;
        codec_kind_t kind;            /* CODEC_KIND__COUNT: a record of no known kind */
        char *name;                   /* full name of the root record */
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;           /* reused by every decode and encode */
        codec_prog_t *prog;
        int hash_field;               /* events: top-level index of "hash", else -1 */
        int cmd_branch[BG_CMD__COUNT];  /* payload union branch per type; -1: none */
        int evt_branch[BG_EVT__COUNT];
        size_t *field_ends;           /* where each root field ends, filled by every walk */
        struct codec_usage_plan_s *usage;  /* usage records: codec_usage.c's field plan */
} codec_schema_t;

typedef struct codec_buf_s {
        uint8_t *p;
        size_t cap;
} codec_buf_t;

struct codec_s {
        codec_registry_t *reg;
        codec_conf_t conf;
        codec_schema_t *schemas[CODEC_SCHEMAS_MAX];
        size_t n_schemas;
        codec_schema_t *latest[CODEC_KIND__COUNT];
        avro_reader_t reader;
        avro_writer_t writer;
        codec_buf_t wire;             /* encode output */
        codec_buf_t canon;            /* canonical output */
};

/*
 * Decode and encode plumbing (codec.c).
 */

/* The writer schema @id if this codec has already loaded it, else NULL (never loads). */
codec_schema_t *codec_schema_cached(const codec_t *c, int32_t id);

/* Checks size, framing, schema id and record kind, walks the body and reads it into
 * (*sp)->value. */
codec_err_t codec_decode_begin(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                               codec_schema_t **sp, char *errstr, size_t errstr_size);

/* Checks size, framing, schema id and record kind, and walks the body, which fills
 * (*sp)->field_ends; no avro-c. */
codec_err_t codec_decode_walk(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                              codec_schema_t **sp, char *errstr, size_t errstr_size);

/* Only the first part of codec_decode_walk: size, framing, schema id and record kind, with
 * the same codes and reasons; no walk. */
codec_err_t codec_decode_frame(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                               codec_schema_t **sp, char *errstr, size_t errstr_size);

/* The latest schema of @kind, its value reset and ready to fill. */
codec_err_t codec_encode_begin(codec_t *c, codec_kind_t kind, codec_schema_t **sp,
                               char *errstr, size_t errstr_size);

/* Writes s->value framed with s->id into @b (growing it up to max_message_size). */
codec_err_t codec_encode_finish(codec_t *c, codec_schema_t *s, codec_buf_t *b,
                                const uint8_t **out, size_t *out_len,
                                char *errstr, size_t errstr_size);

/* The offset in @p (header included) of a received event's hash field, after the checks
 * of a decode up to and including the walk of the fields before it. */
codec_err_t codec_event_hash_offset(codec_t *c, const uint8_t *p, size_t len, size_t *off,
                                    char *errstr, size_t errstr_size);

/*
 * Field helpers (codec_value.c). Each returns CODEC_OK or an error with a reason naming
 * the field by its path ("payload.profile.city"). The decode helpers treat a field the
 * writer schema lacks as absent (older schema version): they leave the C default (zero,
 * "", false) and return CODEC_OK.
 */

typedef struct codec_ctx_s {
        char *errstr;
        size_t errstr_size;
        char path[160];               /* record path prefix: "", "payload.", ... */
} codec_ctx_t;

codec_err_t codec_fail(codec_ctx_t *x, codec_err_t err, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends "name." to x->path; returns the previous length for codec_ctx_pop. */
size_t codec_ctx_push(codec_ctx_t *x, const char *name);
void codec_ctx_pop(codec_ctx_t *x, size_t mark);

/* Decode: look-ups. Returns 1 when found, 0 when the schema has no such field. */
int codec_d_field(avro_value_t *rec, const char *name, avro_value_t *out);
/* For a ["null", T] field: 1 with *out = the T value, 0 when null or absent. */
codec_err_t codec_d_opt(codec_ctx_t *x, avro_value_t *rec, const char *name, avro_value_t *out,
                        bool *present);

/* Decode: conversions of a value (not a field). @name is for reasons. */
codec_err_t codec_d_str_value(codec_ctx_t *x, const char *name, avro_value_t *v, char *dst,
                              size_t dst_size, size_t max_chars);
codec_err_t codec_d_uuid_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               bg_uuid_t *out);
codec_err_t codec_d_long_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               int64_t *out);
codec_err_t codec_d_decimal_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                                  int64_t *out);
/* The symbol of an enum value. */
codec_err_t codec_d_enum_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               const char **symbol);

/* Decode: the same conversions of raw wire bytes (codec_usage.c reads them straight from
 * the message): @s is @len bytes, not NUL-terminated. */
codec_err_t codec_d_str_raw(codec_ctx_t *x, const char *name, const char *s, size_t len,
                            char *dst, size_t dst_size, size_t max_chars);
codec_err_t codec_d_uuid_raw(codec_ctx_t *x, const char *name, const char *s, size_t len,
                             bg_uuid_t *out);
codec_err_t codec_d_decimal_raw(codec_ctx_t *x, const char *name, const uint8_t *buf,
                                size_t size, int64_t *out);
/* "string", "bytes", "union" ...: the type names reasons use. */
const char *codec_avro_type_name(avro_type_t t);

/* Decode: required fields (a field missing from an older writer schema is left as is). */
codec_err_t codec_d_str(codec_ctx_t *x, avro_value_t *rec, const char *name, char *dst,
                        size_t dst_size, size_t max_chars);
codec_err_t codec_d_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name, bg_uuid_t *out);
codec_err_t codec_d_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t *out);
codec_err_t codec_d_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t *out);
codec_err_t codec_d_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const char **symbol);
codec_err_t codec_d_fixed(codec_ctx_t *x, avro_value_t *rec, const char *name, uint8_t *dst,
                          size_t size);

/* Decode: optional (["null", T]) fields. */
codec_err_t codec_d_opt_str(codec_ctx_t *x, avro_value_t *rec, const char *name, char *dst,
                            size_t dst_size, size_t max_chars, bool *present);
codec_err_t codec_d_opt_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             bg_uuid_t *out, bool *present);
codec_err_t codec_d_opt_long(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             int64_t *out, bool *present);
codec_err_t codec_d_opt_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                int64_t *out, bool *present);
codec_err_t codec_d_opt_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const char **symbol);

/* Decode: an array of strings into @dst, rows of @row_size bytes, at most @max_rows. */
codec_err_t codec_d_str_array_value(codec_ctx_t *x, const char *name, avro_value_t *arr,
                                    char *dst, size_t row_size, size_t max_rows,
                                    size_t max_chars, size_t *n_out);
/* Decode: a map<string> of tags. */
codec_err_t codec_d_tags(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         codec_tag_t *dst, size_t max_tags, size_t *n_out);

/* Encode: the field must exist in the (latest) schema. */
codec_err_t codec_e_field(codec_ctx_t *x, avro_value_t *rec, const char *name,
                          avro_value_t *out);
/* Encode: sets a ["null", T] field to T (present) or null; *out is the T value. */
codec_err_t codec_e_opt(codec_ctx_t *x, avro_value_t *rec, const char *name, bool present,
                        avro_value_t *out);

codec_err_t codec_e_str_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                              const char *s, size_t dst_size, size_t max_chars);
codec_err_t codec_e_decimal_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                                  int64_t micros);
codec_err_t codec_e_enum_value(codec_ctx_t *x, const char *name, avro_value_t *v,
                               const char *symbol);

codec_err_t codec_e_str(codec_ctx_t *x, avro_value_t *rec, const char *name, const char *s,
                        size_t dst_size, size_t max_chars);
codec_err_t codec_e_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const bg_uuid_t *id);
codec_err_t codec_e_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t v);
codec_err_t codec_e_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                            int64_t micros);
/* @symbol NULL: the value is not representable (an UNSET enum): CODEC_ERR_ARG. */
codec_err_t codec_e_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const char *symbol);
codec_err_t codec_e_fixed(codec_ctx_t *x, avro_value_t *rec, const char *name,
                          const uint8_t *src, size_t size);

codec_err_t codec_e_opt_str(codec_ctx_t *x, avro_value_t *rec, const char *name,
                            const char *s, size_t dst_size, size_t max_chars, bool present);
codec_err_t codec_e_opt_uuid(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const bg_uuid_t *id, bool present);
codec_err_t codec_e_opt_long(codec_ctx_t *x, avro_value_t *rec, const char *name, int64_t v,
                             bool present);
codec_err_t codec_e_opt_decimal(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                int64_t micros, bool present);
/* @symbol NULL: null. */
codec_err_t codec_e_opt_enum(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             const char *symbol);

codec_err_t codec_e_str_array_value(codec_ctx_t *x, const char *name, avro_value_t *arr,
                                    const char *src, size_t row_size, size_t n,
                                    size_t max_rows, size_t max_chars);
codec_err_t codec_e_tags(codec_ctx_t *x, avro_value_t *rec, const char *name,
                         const codec_tag_t *tags, size_t n);

/* Decode: domain enums by symbol; an unknown symbol is CODEC_ERR_INVALID. */
codec_err_t codec_d_role(codec_ctx_t *x, avro_value_t *rec, const char *name, bg_role_t *out);
codec_err_t codec_d_currency(codec_ctx_t *x, avro_value_t *rec, const char *name,
                             bg_currency_t *out);
codec_err_t codec_d_credit_type(codec_ctx_t *x, avro_value_t *rec, const char *name,
                                bg_credit_type_t *out);
/* Decode: the "payload" union of @root: its record value and the record's name. */
codec_err_t codec_d_payload(codec_ctx_t *x, avro_value_t *root, avro_value_t *rec,
                            const char **name);

/* Billing profiles (codec_profile.c): @rec is the BillingProfile / BillingProfilePatch
 * record value. */
codec_err_t codec_d_profile(codec_ctx_t *x, avro_value_t *rec, bg_profile_t *out);
codec_err_t codec_d_profile_patch(codec_ctx_t *x, avro_value_t *rec, bg_profile_patch_t *out);
codec_err_t codec_e_profile(codec_ctx_t *x, avro_value_t *rec, const bg_profile_t *p);
codec_err_t codec_e_profile_patch(codec_ctx_t *x, avro_value_t *rec,
                                  const bg_profile_patch_t *pp);

/* Usage records read straight from the bytes (codec_usage.c). The plan maps our fields to
 * the writer schema's, by name; built when a billing.UsageRecord schema is loaded. */
typedef struct codec_usage_plan_s codec_usage_plan_t;
codec_usage_plan_t *codec_usage_plan_new(avro_schema_t schema);   /* NULL: out of memory */
void codec_usage_plan_destroy(codec_usage_plan_t *plan);          /* NULL-safe */

/* codec_decode_usage is the fused fast path (one pass over the bytes, only for a writer
 * schema whose root fields are exactly ours) and, when that gives up, the walker and the
 * direct field readers. Each half on its own, for the differential test and the fuzz
 * target: */
/* The walker and the field readers: the codes and reasons of codec_decode_usage. */
codec_err_t codec_decode_usage_walked(codec_t *c, const void *buf, size_t len,
                                      codec_usage_t *out, char *errstr, size_t errstr_size);
/* The fast path alone: true when it decoded the message (then codec_decode_usage_walked
 * succeeds too, with the same *out), false when it gave up (for any reason: framing,
 * another writer schema, a value refused, or only something it does not handle). */
bool codec_decode_usage_fast(codec_t *c, const void *buf, size_t len, codec_usage_t *out);

/* The avro-c generic decoder of usage records that codec_decode_usage replaced, same
 * contract: kept as the reference for the differential test, the fuzz oracle and the
 * benchmark (codec_records.c). */
codec_err_t codec_decode_usage_generic(codec_t *c, const void *buf, size_t len,
                                       codec_usage_t *out, char *errstr, size_t errstr_size);

/* The largest magnitude a decimal(18, 6) holds, in micros. */
#define CODEC_DECIMAL_MAX INT64_C(999999999999999999)

#endif /* CODEC_INT_H */
