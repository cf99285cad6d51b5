/*
 * Internal to bg_json: the strict field readers and the writer helpers shared by the
 * command, result, event, usage and invoice mappings.
 *
 * Readers take the object, the path of that object ("" at the top, "payload",
 * "payload.billing_emails[3]") and a key; errors are written as "<path>.<key>: <reason>".
 * They return 0 or -1.
 */
#ifndef BGJ_INT_H
#define BGJ_INT_H

#include <stdarg.h>

#include "bg_json.h"

#define BGJ_PATH_SIZE 160

/* Where errors go. */
typedef struct bgj_in_s {
        char *errstr;
        size_t errstr_size;
} bgj_in_t;

/* Reader flags. */
#define BGJ_REQ     0x1         /* absent is an error */
#define BGJ_NULLOK  0x2         /* null counts as absent (optional fields only) */
#define BGJ_TEXT    0x4         /* string limit counts UTF-8 characters, not bytes */

/* The enums the readers and writers know by name. */
typedef enum {
        BGJ_ENUM_CURRENCY,
        BGJ_ENUM_PAYMENT,
        BGJ_ENUM_ROLE,
        BGJ_ENUM_CREDIT_TYPE,
        BGJ_ENUM_COMMAND,
        BGJ_ENUM_OUTCOME,
        BGJ_ENUM_REJECT,
        BGJ_ENUM_LINE_TYPE,
        BGJ_ENUM_INVOICE_STATE,
} bgj_enum_t;

/* Writes "<path>: <fmt...>" to in->errstr. Returns -1. */
int bgj__fail(bgj_in_t *in, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* @out = @path "." @key (or @key alone when @path is empty); @key is shown with its
 * control and non-ASCII bytes as '?' and cut at 64 bytes. */
void bgj__join(char *out, size_t size, const char *path, const char *key);
/* @out = @path "[" @i "]". */
void bgj__index(char *out, size_t size, const char *path, size_t i);

/* Checks that @j is an object (error "<path>: not an object"). */
int bgj__object(bgj_in_t *in, const json_t *j, const char *path);

/* Rejects any key of @obj that is not in the NULL-terminated @allowed list, nor a
 * profile key when @profile_keys. */
int bgj__check_keys(bgj_in_t *in, const json_t *obj, const char *path,
                    const char *const *allowed, bool profile_keys);

/* The member @key of @obj for a reader with @flags: sets *vp (NULL when absent, or null
 * with BGJ_NULLOK). Fails when absent and BGJ_REQ. */
int bgj__member(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
                unsigned flags, const json_t **vp);

/* Value readers: @v not NULL, @fpath is the full path of the value. */
int bgj__v_str(bgj_in_t *in, const json_t *v, const char *fpath, unsigned flags,
               size_t max, char *dst, size_t dst_size);
int bgj__v_uuid(bgj_in_t *in, const json_t *v, const char *fpath, bg_uuid_t *dst);
int bgj__v_money(bgj_in_t *in, const json_t *v, const char *fpath, int64_t *dst);
int bgj__v_time(bgj_in_t *in, const json_t *v, const char *fpath, int64_t *dst);
int bgj__v_int(bgj_in_t *in, const json_t *v, const char *fpath, int64_t min, int64_t max,
               int64_t *dst);
int bgj__v_enum(bgj_in_t *in, const json_t *v, const char *fpath, bgj_enum_t kind,
                int *dst);

/* Key readers: *found (may be NULL) tells whether the field was given. Unless
 * BGJ_REQ, an absent field leaves @dst untouched. */
int bgj__str(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
             unsigned flags, size_t max, char *dst, size_t dst_size, bool *found);
int bgj__uuid(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, bg_uuid_t *dst, bool *found);
int bgj__money(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
               unsigned flags, int64_t *dst, bool *found);
int bgj__time(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, int64_t *dst, bool *found);
int bgj__int(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
             unsigned flags, int64_t min, int64_t max, int64_t *dst, bool *found);
int bgj__enum(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              unsigned flags, bgj_enum_t kind, int *dst, bool *found);

/* Tags object {k: v}: at most CODEC_TAGS_MAX, key 1..CODEC_TAG_KEY_MAX bytes, value
 * ..CODEC_TAG_VALUE_MAX bytes. Optional; absent or null gives 0 tags. */
int bgj__tags(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
              codec_tag_t *tags, size_t *n_tags);

/* The wire name of @v, or NULL. */
const char *bgj__enum_name(bgj_enum_t kind, int v);

/* ---- writers: each returns a new reference or NULL ---- */

/* A string from a fixed char array: up to its NUL, at most @size bytes; NULL when not
 * valid UTF-8 (or out of memory). */
json_t *bgj__w_str(const char *s, size_t size);
/* As bgj__w_str, but an empty string gives null. */
json_t *bgj__w_str_or_null(const char *s, size_t size);
json_t *bgj__w_uuid(const bg_uuid_t *id);
json_t *bgj__w_money(int64_t micros);
json_t *bgj__w_time(int64_t ms);
json_t *bgj__w_enum(bgj_enum_t kind, int v);
json_t *bgj__w_tags(const codec_tag_t *tags, size_t n);

/* json_object_set_new(@obj, @key, @v) that accepts v == NULL (returns -1). */
int bgj__put(json_t *obj, const char *key, json_t *v);

#define BGJ_W_STR(field) bgj__w_str((field), sizeof(field))

#endif /* BGJ_INT_H */
