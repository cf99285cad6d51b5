#include "codec_walk.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The program is a flat array of nodes; composite nodes name their children by index into
 * `kids` (record fields, union branches) or in `item` (array items, map values), so that a
 * recursive schema compiles to a cycle of indices rather than to infinite recursion.
 */

typedef enum {
        W_NULL,
        W_BOOLEAN,
        W_INT,
        W_LONG,
        W_FLOAT,
        W_DOUBLE,
        W_BYTES,
        W_STRING,
        W_FIXED,
        W_ENUM,
        W_ARRAY,
        W_MAP,
        W_RECORD,
        W_UNION,
} wkind_t;

typedef struct wnode_s {
        wkind_t  kind;
        uint32_t n;        /* record fields, union branches, enum symbols, fixed size */
        uint32_t first;    /* record/union: index of the first child in kids[] */
        uint32_t item;     /* array items / map values */
        uint64_t min;      /* the fewest bytes any value of this node encodes to */
} wnode_t;

struct codec_prog_s {
        wnode_t  *nodes;
        size_t    n_nodes, cap_nodes;
        struct wkid_s {
                uint32_t node;
                char    *name;   /* record field name; NULL for a union branch */
        } *kids;
        size_t    n_kids, cap_kids;
};

typedef struct memo_s {
        avro_schema_t schema;
        uint32_t      node;
        bool          done;
} memo_t;

typedef struct compiler_s {
        codec_prog_t *prog;
        memo_t       *memo;
        size_t        n_memo, cap_memo;
        char         *errstr;
        size_t        errstr_size;
} compiler_t;

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
        size_t ncap;
        void *p;

        if (need <= *cap)
                return 0;
        ncap = *cap ? *cap * 2 : 16;
        while (ncap < need)
                ncap *= 2;
        p = realloc(*arr, ncap * elem);
        if (p == NULL)
                return -1;
        *arr = p;
        *cap = ncap;
        return 0;
}

static int new_node(compiler_t *c, wkind_t kind, uint32_t *out) {
        codec_prog_t *prog = c->prog;

        if (grow((void **)&prog->nodes, &prog->cap_nodes, prog->n_nodes + 1,
                 sizeof(*prog->nodes)) != 0) {
                snprintf(c->errstr, c->errstr_size, "out of memory compiling schema");
                return -1;
        }
        memset(&prog->nodes[prog->n_nodes], 0, sizeof(prog->nodes[0]));
        prog->nodes[prog->n_nodes].kind = kind;
        *out = (uint32_t)prog->n_nodes++;
        return 0;
}

/* Reserves @n child slots; returns the first index. */
static int new_kids(compiler_t *c, size_t n, uint32_t *first) {
        codec_prog_t *prog = c->prog;

        if (grow((void **)&prog->kids, &prog->cap_kids, prog->n_kids + n,
                 sizeof(*prog->kids)) != 0) {
                snprintf(c->errstr, c->errstr_size, "out of memory compiling schema");
                return -1;
        }
        memset(&prog->kids[prog->n_kids], 0, n * sizeof(*prog->kids));
        *first = (uint32_t)prog->n_kids;
        prog->n_kids += n;
        return 0;
}

static int compile(compiler_t *c, avro_schema_t s, uint32_t *out);

static int memo_find(compiler_t *c, avro_schema_t s, uint32_t *node) {
        for (size_t i = 0; i < c->n_memo; i++)
                if (c->memo[i].schema == s) {
                        *node = c->memo[i].node;
                        return 1;
                }
        return 0;
}

static int memo_add(compiler_t *c, avro_schema_t s, uint32_t node) {
        if (grow((void **)&c->memo, &c->cap_memo, c->n_memo + 1, sizeof(*c->memo)) != 0) {
                snprintf(c->errstr, c->errstr_size, "out of memory compiling schema");
                return -1;
        }
        c->memo[c->n_memo].schema = s;
        c->memo[c->n_memo].node = node;
        c->memo[c->n_memo].done = false;
        c->n_memo++;
        return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}

static int compile(compiler_t *c, avro_schema_t s, uint32_t *out) {
        codec_prog_t *prog = c->prog;
        uint32_t idx, first, child;
        size_t n;

        if (s == NULL) {
                snprintf(c->errstr, c->errstr_size, "schema is NULL");
                return -1;
        }
        if (is_avro_link(s))
                s = avro_schema_link_target(s);
        if (is_avro_named_type(s) && memo_find(c, s, out))
                return 0;   /* already compiled, or in progress (recursion) */

        switch (avro_typeof(s)) {
        case AVRO_NULL:
                return new_node(c, W_NULL, out);
        case AVRO_BOOLEAN:
                if (new_node(c, W_BOOLEAN, out) != 0)
                        return -1;
                prog->nodes[*out].min = 1;
                return 0;
        case AVRO_INT32:
        case AVRO_INT64:
                if (new_node(c, avro_typeof(s) == AVRO_INT32 ? W_INT : W_LONG, out) != 0)
                        return -1;
                prog->nodes[*out].min = 1;
                return 0;
        case AVRO_FLOAT:
        case AVRO_DOUBLE:
                if (new_node(c, avro_typeof(s) == AVRO_FLOAT ? W_FLOAT : W_DOUBLE, out) != 0)
                        return -1;
                prog->nodes[*out].min = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
                return 0;
        case AVRO_BYTES:
        case AVRO_STRING:
                if (new_node(c, avro_typeof(s) == AVRO_BYTES ? W_BYTES : W_STRING, out) != 0)
                        return -1;
                prog->nodes[*out].min = 1;
                return 0;
        case AVRO_FIXED: {
                int64_t size = avro_schema_fixed_size(s);
                if (size < 0 || size > UINT32_MAX) {
                        snprintf(c->errstr, c->errstr_size, "fixed \"%s\" has size %" PRId64,
                                 avro_schema_name(s), size);
                        return -1;
                }
                if (new_node(c, W_FIXED, out) != 0 || memo_add(c, s, *out) != 0)
                        return -1;
                prog->nodes[*out].n = (uint32_t)size;
                prog->nodes[*out].min = (uint64_t)size;
                return 0;
        }
        case AVRO_ENUM: {
                int symbols = avro_schema_enum_number_of_symbols(s);
                if (symbols <= 0) {
                        snprintf(c->errstr, c->errstr_size, "enum \"%s\" has no symbols",
                                 avro_schema_name(s));
                        return -1;
                }
                if (new_node(c, W_ENUM, out) != 0 || memo_add(c, s, *out) != 0)
                        return -1;
                prog->nodes[*out].n = (uint32_t)symbols;
                prog->nodes[*out].min = 1;
                return 0;
        }
        case AVRO_ARRAY:
        case AVRO_MAP: {
                avro_schema_t items = avro_typeof(s) == AVRO_ARRAY ? avro_schema_array_items(s)
                                                                   : avro_schema_map_values(s);
                if (new_node(c, avro_typeof(s) == AVRO_ARRAY ? W_ARRAY : W_MAP, &idx) != 0 ||
                    compile(c, items, &child) != 0)
                        return -1;
                prog->nodes[idx].item = child;
                prog->nodes[idx].min = 1;   /* the terminating zero block count */
                *out = idx;
                return 0;
        }
        case AVRO_RECORD: {
                uint64_t min = 0;

                n = avro_schema_record_size(s);
                if (new_node(c, W_RECORD, &idx) != 0 || memo_add(c, s, idx) != 0 ||
                    new_kids(c, n, &first) != 0)
                        return -1;
                prog->nodes[idx].n = (uint32_t)n;
                prog->nodes[idx].first = first;
                for (size_t i = 0; i < n; i++) {
                        const char *fname = avro_schema_record_field_name(s, (int)i);
                        char *copy = strdup(fname ? fname : "?");

                        if (copy == NULL) {
                                snprintf(c->errstr, c->errstr_size,
                                         "out of memory compiling schema");
                                return -1;
                        }
                        prog->kids[first + i].name = copy;
                        if (compile(c, avro_schema_record_field_get_by_index(s, (int)i),
                                    &child) != 0)
                                return -1;
                        prog->kids[first + i].node = child;
                        /* A field that refers back to a record in progress counts as 0:
                         * the minimum only ever under-estimates. */
                        min = sat_add(min, prog->nodes[child].min);
                }
                prog->nodes[idx].min = min;
                *out = idx;
                return 0;
        }
        case AVRO_UNION: {
                uint64_t min = UINT64_MAX;

                n = avro_schema_union_size(s);
                if (n == 0) {
                        snprintf(c->errstr, c->errstr_size, "union has no branches");
                        return -1;
                }
                if (new_node(c, W_UNION, &idx) != 0 || new_kids(c, n, &first) != 0)
                        return -1;
                prog->nodes[idx].n = (uint32_t)n;
                prog->nodes[idx].first = first;
                for (size_t i = 0; i < n; i++) {
                        if (compile(c, avro_schema_union_branch(s, (int)i), &child) != 0)
                                return -1;
                        prog->kids[first + i].node = child;
                        if (prog->nodes[child].min < min)
                                min = prog->nodes[child].min;
                }
                prog->nodes[idx].min = sat_add(1, min);
                *out = idx;
                return 0;
        }
        default:
                snprintf(c->errstr, c->errstr_size, "unsupported schema type %d",
                         (int)avro_typeof(s));
                return -1;
        }
}

codec_prog_t *codec_prog_new(avro_schema_t schema, char *errstr, size_t errstr_size) {
        compiler_t c = {0};
        uint32_t root;

        c.errstr = errstr;
        c.errstr_size = errstr_size;
        c.prog = calloc(1, sizeof(*c.prog));
        if (c.prog == NULL) {
                snprintf(errstr, errstr_size, "out of memory compiling schema");
                return NULL;
        }
        if (compile(&c, schema, &root) != 0)
                goto out_free_prog;
        /* compile() numbers nodes in pre-order, so the root is node 0. */
        if (root != 0) {
                snprintf(errstr, errstr_size, "schema root compiled to node %u", root);
                goto out_free_prog;
        }
        free(c.memo);
        return c.prog;

out_free_prog:
        free(c.memo);
        codec_prog_destroy(c.prog);
        return NULL;
}

void codec_prog_destroy(codec_prog_t *prog) {
        if (prog == NULL)
                return;
        for (size_t i = 0; i < prog->n_kids; i++)
                free(prog->kids[i].name);
        free(prog->kids);
        free(prog->nodes);
        free(prog);
}

size_t codec_prog_field_count(const codec_prog_t *prog) {
        if (prog == NULL || prog->n_nodes == 0 || prog->nodes[0].kind != W_RECORD)
                return 0;
        return prog->nodes[0].n;
}

int codec_prog_field_index(const codec_prog_t *prog, const char *name) {
        const wnode_t *root;

        if (prog == NULL || prog->n_nodes == 0 || prog->nodes[0].kind != W_RECORD)
                return -1;
        root = &prog->nodes[0];
        for (uint32_t i = 0; i < root->n; i++)
                if (strcmp(prog->kids[root->first + i].name, name) == 0)
                        return (int)i;
        return -1;
}

/*
 * The walk.
 */

typedef struct wstate_s {
        const codec_prog_t *prog;
        const uint8_t      *p;
        size_t              len;
        size_t              pos;
        size_t              base;
        size_t              items;
        size_t              max_items;
        const char         *field;      /* innermost record field, for reasons */
        int                 stop_field;
        size_t              stop_off;
        size_t             *field_ends;
        char               *errstr;
        size_t              errstr_size;
} wstate_t;

#define WALK_STOP 1   /* reached opts->stop_field: not an error */

/* Writes "<reason> at byte <offset>[ in field '<name>']" and returns -1. */
static int fail_at(wstate_t *st, size_t pos, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail_at(wstate_t *st, size_t pos, const char *fmt, ...) {
        va_list ap;
        int n;

        if (st->errstr == NULL || st->errstr_size == 0)
                return -1;
        va_start(ap, fmt);
        n = vsnprintf(st->errstr, st->errstr_size, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= st->errstr_size)
                return -1;
        if (st->field != NULL)
                snprintf(st->errstr + n, st->errstr_size - (size_t)n,
                         " at byte %zu in field '%s'", st->base + pos, st->field);
        else
                snprintf(st->errstr + n, st->errstr_size - (size_t)n, " at byte %zu",
                         st->base + pos);
        return -1;
}

static int truncated(wstate_t *st, const char *what) {
        if (st->errstr == NULL || st->errstr_size == 0)
                return -1;
        if (st->field != NULL)
                snprintf(st->errstr, st->errstr_size,
                         "truncated at byte %zu reading %s in field '%s'", st->base + st->pos,
                         what, st->field);
        else
                snprintf(st->errstr, st->errstr_size, "truncated at byte %zu reading %s",
                         st->base + st->pos, what);
        return -1;
}

static inline size_t remaining(const wstate_t *st) {
        return st->len - st->pos;
}

/* Reads one zig-zag varint: at most 5 bytes for an int (value within int32), 10 for a
 * long (value within int64). */
static int read_varint(wstate_t *st, const char *what, bool is_int, int64_t *out) {
        const unsigned max_bytes = is_int ? 5 : 10;
        const size_t start = st->pos;
        uint64_t v = 0;
        unsigned i;

        for (i = 0;; i++) {
                uint8_t b;

                if (st->pos >= st->len)
                        return truncated(st, what);
                b = st->p[st->pos++];
                if (i == max_bytes - 1) {
                        if (b & 0x80)
                                return fail_at(st, start, "%s varint longer than %u bytes",
                                               what, max_bytes);
                        if (b > (is_int ? 0x0f : 0x01))
                                return fail_at(st, start, "%s varint overflows %d bits",
                                               what, is_int ? 32 : 64);
                }
                v |= (uint64_t)(b & 0x7f) << (7 * i);
                if (!(b & 0x80))
                        break;
        }
        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
        return 0;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool codec_utf8_valid(const uint8_t *s, size_t n) {
        size_t i = 0;

        while (i < n) {
                uint8_t c;
                uint32_t cp;
                size_t k;
                uint64_t w;

                /* Eight ASCII bytes at a time: ids, names and most tags are ASCII, and
                 * every string of every record passes here. */
                if (n - i >= 8) {
                        memcpy(&w, s + i, 8);
                        if ((w & UINT64_C(0x8080808080808080)) == 0) {
                                i += 8;
                                continue;
                        }
                }
                c = s[i];
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        k = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        k = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        k = 3;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (n - i - 1 < k)
                        return false;
                for (size_t j = 1; j <= k; j++) {
                        if ((s[i + j] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + j] & 0x3f);
                }
                if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += k + 1;
        }
        return true;
}

static int walk(wstate_t *st, uint32_t ni, int depth);

static int walk_blocks(wstate_t *st, const wnode_t *node, int depth) {
        const bool is_map = node->kind == W_MAP;
        const char *what_count = is_map ? "map block count" : "array block count";
        const char *what_size = is_map ? "map block size" : "array block size";
        const char *kind = is_map ? "map" : "array";
        /* The fewest bytes one item takes: a map entry also has its key's length. */
        const uint64_t item_min = sat_add(st->prog->nodes[node->item].min, is_map ? 1 : 0);

        for (;;) {
                int64_t count, size = -1;
                size_t at = st->pos, block_start;

                if (read_varint(st, what_count, false, &count) != 0)
                        return -1;
                if (count == 0)
                        return 0;
                if (count < 0) {
                        if (count == INT64_MIN)
                                return fail_at(st, at, "%s %" PRId64 " out of range",
                                               what_count, count);
                        count = -count;
                        at = st->pos;
                        if (read_varint(st, what_size, false, &size) != 0)
                                return -1;
                        if (size < 0)
                                return fail_at(st, at, "negative %s %" PRId64, what_size,
                                               size);
                        if ((uint64_t)size > remaining(st))
                                return fail_at(st, at,
                                               "%s %" PRId64 " exceeds remaining %zu bytes",
                                               what_size, size, remaining(st));
                }
                if (item_min > 0 && (uint64_t)count > remaining(st) / item_min)
                        return fail_at(st, at, "%s %" PRId64 " exceeds remaining %zu bytes",
                                       what_count, count, remaining(st));
                if ((uint64_t)count > st->max_items - st->items)
                        return fail_at(st, at,
                                       "%s of %" PRId64 " more items exceeds the limit of %zu "
                                       "items in a message",
                                       kind, count, st->max_items);
                st->items += (size_t)count;
                block_start = st->pos;
                for (int64_t i = 0; i < count; i++) {
                        if (is_map) {
                                int64_t klen;
                                size_t kat = st->pos;

                                if (read_varint(st, "map key length", false, &klen) != 0)
                                        return -1;
                                if (klen < 0)
                                        return fail_at(st, kat, "negative map key length %" PRId64,
                                                       klen);
                                if ((uint64_t)klen > remaining(st))
                                        return fail_at(st, kat,
                                                       "map key length %" PRId64
                                                       " exceeds remaining %zu bytes",
                                                       klen, remaining(st));
                                if (!codec_utf8_valid(st->p + st->pos, (size_t)klen))
                                        return fail_at(st, kat, "map key is not valid UTF-8");
                                st->pos += (size_t)klen;
                        }
                        if (walk(st, node->item, depth + 1) != 0)
                                return -1;
                }
                if (size >= 0 && st->pos - block_start != (uint64_t)size)
                        return fail_at(st, block_start,
                                       "%s %" PRId64 " does not match its items' %zu bytes",
                                       what_size, size, st->pos - block_start);
        }
}

static int walk(wstate_t *st, uint32_t ni, int depth) {
        const wnode_t *node = &st->prog->nodes[ni];
        const size_t at = st->pos;
        int64_t v;

        if (depth > CODEC_WALK_MAX_DEPTH)
                return fail_at(st, at, "nesting deeper than %d levels", CODEC_WALK_MAX_DEPTH);

        switch (node->kind) {
        case W_NULL:
                return 0;
        case W_BOOLEAN:
                if (remaining(st) < 1)
                        return truncated(st, "boolean");
                if (st->p[st->pos] > 1)
                        return fail_at(st, at, "boolean byte 0x%02x is neither 0 nor 1",
                                       st->p[st->pos]);
                st->pos++;
                return 0;
        case W_INT:
                return read_varint(st, "int", true, &v);
        case W_LONG:
                return read_varint(st, "long", false, &v);
        case W_FLOAT:
                if (remaining(st) < 4)
                        return truncated(st, "float");
                st->pos += 4;
                return 0;
        case W_DOUBLE:
                if (remaining(st) < 8)
                        return truncated(st, "double");
                st->pos += 8;
                return 0;
        case W_BYTES:
        case W_STRING: {
                const char *what = node->kind == W_STRING ? "string" : "bytes";
                const char *what_len = node->kind == W_STRING ? "string length" : "bytes length";

                if (read_varint(st, what_len, false, &v) != 0)
                        return -1;
                if (v < 0)
                        return fail_at(st, at, "negative %s %" PRId64, what_len, v);
                if ((uint64_t)v > remaining(st))
                        return fail_at(st, at, "%s %" PRId64 " exceeds remaining %zu bytes",
                                       what_len, v, remaining(st));
                if (node->kind == W_STRING && !codec_utf8_valid(st->p + st->pos, (size_t)v))
                        return fail_at(st, at, "%s is not valid UTF-8", what);
                st->pos += (size_t)v;
                return 0;
        }
        case W_FIXED:
                if (remaining(st) < node->n)
                        return truncated(st, "fixed");
                st->pos += node->n;
                return 0;
        case W_ENUM:
                if (read_varint(st, "enum index", true, &v) != 0)
                        return -1;
                if (v < 0 || v >= (int64_t)node->n)
                        return fail_at(st, at, "enum index %" PRId64 " out of range (%u symbols)",
                                       v, node->n);
                return 0;
        case W_UNION:
                if (read_varint(st, "union branch", false, &v) != 0)
                        return -1;
                if (v < 0 || v >= (int64_t)node->n)
                        return fail_at(st, at,
                                       "union branch %" PRId64 " out of range (%u branches)", v,
                                       node->n);
                return walk(st, st->prog->kids[node->first + (uint32_t)v].node, depth + 1);
        case W_ARRAY:
        case W_MAP:
                return walk_blocks(st, node, depth);
        case W_RECORD: {
                const char *outer = st->field;

                for (uint32_t i = 0; i < node->n; i++) {
                        if (depth == 0 && (int)i == st->stop_field) {
                                st->stop_off = st->pos;
                                return WALK_STOP;
                        }
                        st->field = st->prog->kids[node->first + i].name;
                        if (walk(st, st->prog->kids[node->first + i].node, depth + 1) != 0)
                                return -1;
                        if (depth == 0 && st->field_ends != NULL)
                                st->field_ends[i] = st->pos;
                }
                st->field = outer;
                return 0;
        }
        }
        return fail_at(st, at, "corrupt walker program");
}

int codec_walk(const codec_prog_t *prog, const uint8_t *buf, size_t len,
               const codec_walk_opts_t *opts, size_t *stop_off,
               char *errstr, size_t errstr_size) {
        wstate_t st = {
                .prog = prog,
                .p = buf,
                .len = len,
                .base = opts ? opts->base : 0,
                .max_items = opts ? opts->max_items : len,
                .stop_field = opts ? opts->stop_field : -1,
                .field_ends = opts ? opts->field_ends : NULL,
                .errstr = errstr,
                .errstr_size = errstr_size,
        };
        int rc;

        if (prog == NULL || prog->n_nodes == 0 || (buf == NULL && len > 0)) {
                snprintf(errstr, errstr_size, "nothing to walk");
                return -1;
        }
        rc = walk(&st, 0, 0);
        if (rc == WALK_STOP) {
                if (stop_off != NULL)
                        *stop_off = st.stop_off;
                return 0;
        }
        if (rc != 0)
                return -1;
        if (st.stop_field >= 0) {
                snprintf(errstr, errstr_size, "field %d not found", st.stop_field);
                return -1;
        }
        if (st.pos != len) {
                st.field = NULL;
                return fail_at(&st, st.pos, "%zu trailing bytes after the value", len - st.pos);
        }
        return 0;
}
