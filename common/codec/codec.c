/*
 * The codec object: configuration, the per-codec cache of compiled writer schemas,
 * Confluent framing, and the decode / encode pipelines the record codecs share.
 */
#include "codec_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_records[CODEC_KIND__COUNT] = {
        "billing.Command", "billing.Event", "billing.CommandResult", "billing.UsageRecord",
        "billing.Invoice",
};

static const char *const kind_subjects[CODEC_KIND__COUNT] = {
        "billing.commands-value",        "billing.events-value",
        "billing.command-results-value", "billing.usage-value",
        "billing.invoices-value",
};

const char *codec_kind_record_name(codec_kind_t kind) {
        return (unsigned)kind < CODEC_KIND__COUNT ? kind_records[kind] : NULL;
}

const char *codec_kind_default_subject(codec_kind_t kind) {
        return (unsigned)kind < CODEC_KIND__COUNT ? kind_subjects[kind] : NULL;
}

const char *codec_err2str(codec_err_t err) {
        switch (err) {
        case CODEC_OK:                 return "success";
        case CODEC_ERR_ARG:            return "invalid argument";
        case CODEC_ERR_TOO_LARGE:      return "message too large";
        case CODEC_ERR_FRAMING:        return "bad framing";
        case CODEC_ERR_UNKNOWN_SCHEMA: return "unknown schema";
        case CODEC_ERR_WRONG_TYPE:     return "wrong record type";
        case CODEC_ERR_MALFORMED:      return "malformed message";
        case CODEC_ERR_INVALID:        return "invalid value";
        case CODEC_ERR_REGISTRY:       return "schema registry failure";
        case CODEC_ERR_NOMEM:          return "out of memory";
        case CODEC_ERR_AVRO:           return "avro-c failure";
        case CODEC_ERR_UNKNOWN_TYPE:   return "unknown type";
        }
        return "unknown error";
}

void codec_conf_init(codec_conf_t *conf) {
        memset(conf, 0, sizeof(*conf));
        conf->max_message_size = CODEC_DEFAULT_MAX_MESSAGE;
}

static void schema_free(codec_schema_t *s) {
        if (s == NULL)
                return;
        if (s->iface != NULL) {
                avro_value_decref(&s->value);
                avro_value_iface_decref(s->iface);
        }
        if (s->schema != NULL)
                avro_schema_decref(s->schema);
        codec_prog_destroy(s->prog);
        codec_usage_plan_destroy(s->usage);
        free(s->field_ends);
        free(s->name);
        free(s);
}

codec_t *codec_new(codec_registry_t *reg, const codec_conf_t *conf,
                   char *errstr, size_t errstr_size) {
        codec_t *c;

        if (reg == NULL) {
                snprintf(errstr, errstr_size, "no schema registry");
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->reg = reg;
        if (conf != NULL)
                c->conf = *conf;
        else
                codec_conf_init(&c->conf);
        if (c->conf.max_message_size == 0)
                c->conf.max_message_size = CODEC_DEFAULT_MAX_MESSAGE;
        if (c->conf.max_message_size < CODEC_HEADER_SIZE + 1 ||
            c->conf.max_message_size > CODEC_MAX_MESSAGE_LIMIT) {
                snprintf(errstr, errstr_size,
                         "max_message_size %zu is outside %d .. %d bytes",
                         c->conf.max_message_size, CODEC_HEADER_SIZE + 1,
                         CODEC_MAX_MESSAGE_LIMIT);
                goto out_free_codec;
        }
        for (int k = 0; k < CODEC_KIND__COUNT; k++)
                if (c->conf.subjects[k] == NULL)
                        c->conf.subjects[k] = kind_subjects[k];
        c->reader = avro_reader_memory("", 0);
        c->writer = avro_writer_memory("", 0);
        if (c->reader == NULL || c->writer == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out_free_codec;
        }
        return c;

out_free_codec:
        codec_destroy(c);
        return NULL;
}

void codec_destroy(codec_t *c) {
        if (c == NULL)
                return;
        for (size_t i = 0; i < c->n_schemas; i++)
                schema_free(c->schemas[i]);
        if (c->reader != NULL)
                avro_reader_free(c->reader);
        if (c->writer != NULL)
                avro_writer_free(c->writer);
        free(c->wire.p);
        free(c->canon.p);
        free(c);
}

/* Fills s->cmd_branch / s->evt_branch from the payload union's record names. */
static void map_payload_branches(codec_schema_t *s) {
        avro_schema_t u;

        for (int i = 0; i < BG_CMD__COUNT; i++)
                s->cmd_branch[i] = -1;
        for (int i = 0; i < BG_EVT__COUNT; i++)
                s->evt_branch[i] = -1;
        if (s->kind != CODEC_KIND_COMMAND && s->kind != CODEC_KIND_EVENT)
                return;
        u = avro_schema_record_field_get(s->schema, "payload");
        if (u == NULL || !is_avro_union(u))
                return;
        for (size_t i = 0; i < avro_schema_union_size(u); i++) {
                avro_schema_t b = avro_schema_union_branch(u, (int)i);
                const char *name;

                if (is_avro_link(b))
                        b = avro_schema_link_target(b);
                if (!is_avro_record(b))
                        continue;
                name = avro_schema_name(b);
                if (s->kind == CODEC_KIND_COMMAND) {
                        bg_command_type_t t = bg_command_type_from_name(name);
                        if (t != BG_CMD_NONE && s->cmd_branch[t] < 0)
                                s->cmd_branch[t] = (int)i;
                } else {
                        bg_event_type_t t = bg_event_type_from_name(name);
                        if (t != BG_EVT_NONE && s->evt_branch[t] < 0)
                                s->evt_branch[t] = (int)i;
                }
        }
}

/* Fetches, parses and compiles the writer schema @id. */
static codec_err_t schema_load(codec_t *c, int32_t id, codec_schema_t **out,
                               char *errstr, size_t errstr_size) {
        codec_schema_t *s;
        codec_err_t err;
        char *json = NULL;
        char why[256];
        const char *ns;

        err = codec_registry_schema_by_id(c->reg, id, &json, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
                free(json);
                snprintf(errstr, errstr_size, "out of memory");
                return CODEC_ERR_NOMEM;
        }
        s->id = id;
        s->hash_field = -1;
        if (avro_schema_from_json_length(json, strlen(json), &s->schema) != 0) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " does not parse: %s", id,
                         avro_strerror());
                err = CODEC_ERR_UNKNOWN_SCHEMA;
                goto out_free;
        }
        if (!is_avro_record(s->schema)) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " is not a record", id);
                err = CODEC_ERR_WRONG_TYPE;
                goto out_free;
        }
        ns = avro_schema_namespace(s->schema);
        if (asprintf(&s->name, "%s%s%s", ns ? ns : "", ns && *ns ? "." : "",
                     avro_schema_name(s->schema)) < 0) {
                s->name = NULL;
                snprintf(errstr, errstr_size, "out of memory");
                err = CODEC_ERR_NOMEM;
                goto out_free;
        }
        s->kind = CODEC_KIND__COUNT;
        for (int k = 0; k < CODEC_KIND__COUNT; k++)
                if (strcmp(s->name, kind_records[k]) == 0)
                        s->kind = (codec_kind_t)k;
        s->prog = codec_prog_new(s->schema, why, sizeof(why));
        if (s->prog == NULL) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " cannot be bounded: %s", id,
                         why);
                err = CODEC_ERR_UNKNOWN_SCHEMA;
                goto out_free;
        }
        s->field_ends = calloc(codec_prog_field_count(s->prog) + 1, sizeof(*s->field_ends));
        if (s->field_ends == NULL ||
            (s->kind == CODEC_KIND_USAGE &&
             (s->usage = codec_usage_plan_new(s->schema)) == NULL)) {
                snprintf(errstr, errstr_size, "out of memory");
                err = CODEC_ERR_NOMEM;
                goto out_free;
        }
        s->iface = avro_generic_class_from_schema(s->schema);
        if (s->iface == NULL || avro_generic_value_new(s->iface, &s->value) != 0) {
                if (s->iface != NULL) {
                        avro_value_iface_decref(s->iface);
                        s->iface = NULL;
                }
                snprintf(errstr, errstr_size, "schema id %" PRId32 ": avro-c: %s", id,
                         avro_strerror());
                err = CODEC_ERR_AVRO;
                goto out_free;
        }
        if (s->kind == CODEC_KIND_EVENT) {
                /* Canonical bytes zero the hash in place: only a fixed(32) allows that. */
                avro_schema_t h = avro_schema_record_field_get(s->schema, "hash");

                if (h != NULL && is_avro_link(h))
                        h = avro_schema_link_target(h);
                if (h != NULL && is_avro_fixed(h) && avro_schema_fixed_size(h) == BG_HASH_SIZE)
                        s->hash_field = codec_prog_field_index(s->prog, "hash");
        }
        map_payload_branches(s);
        free(json);
        *out = s;
        return CODEC_OK;

out_free:
        free(json);
        schema_free(s);
        return err;
}

static codec_err_t schema_get(codec_t *c, int32_t id, codec_schema_t **out,
                              char *errstr, size_t errstr_size) {
        codec_err_t err;

        for (size_t i = 0; i < c->n_schemas; i++)
                if (c->schemas[i]->id == id) {
                        *out = c->schemas[i];
                        return CODEC_OK;
                }
        if (c->n_schemas == CODEC_SCHEMAS_MAX) {
                snprintf(errstr, errstr_size,
                         "unknown schema id %" PRId32 ": this codec already holds %d schemas",
                         id, CODEC_SCHEMAS_MAX);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        err = schema_load(c, id, out, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        c->schemas[c->n_schemas++] = *out;
        return CODEC_OK;
}

codec_schema_t *codec_schema_cached(const codec_t *c, int32_t id) {
        for (size_t i = 0; i < c->n_schemas; i++)
                if (c->schemas[i]->id == id)
                        return c->schemas[i];
        return NULL;
}

codec_err_t codec_peek_schema_id(const codec_t *c, const void *buf, size_t len,
                                 int32_t *id_out, char *errstr, size_t errstr_size) {
        const uint8_t *p = buf;

        if (c == NULL || (buf == NULL && len > 0) || id_out == NULL) {
                snprintf(errstr, errstr_size, "no codec, message or output");
                return CODEC_ERR_ARG;
        }
        if (len > c->conf.max_message_size) {
                snprintf(errstr, errstr_size, "message of %zu bytes exceeds the limit of %zu bytes",
                         len, c->conf.max_message_size);
                return CODEC_ERR_TOO_LARGE;
        }
        if (len < 1) {
                snprintf(errstr, errstr_size, "empty message");
                return CODEC_ERR_FRAMING;
        }
        if (p[0] != CODEC_MAGIC) {
                snprintf(errstr, errstr_size, "bad magic byte 0x%02x", p[0]);
                return CODEC_ERR_FRAMING;
        }
        if (len < CODEC_HEADER_SIZE) {
                snprintf(errstr, errstr_size, "truncated at byte %zu reading the schema id", len);
                return CODEC_ERR_FRAMING;
        }
        *id_out = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
                            ((uint32_t)p[3] << 8) | (uint32_t)p[4]);
        return CODEC_OK;
}

/* Size, framing, and a known writer schema of @kind. */
static codec_err_t frame_check(codec_t *c, codec_kind_t kind, const uint8_t *p, size_t len,
                               codec_schema_t **sp, char *errstr, size_t errstr_size) {
        codec_schema_t *s;
        codec_err_t err;
        int32_t id;

        err = codec_peek_schema_id(c, p, len, &id, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        err = schema_get(c, id, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        if (s->kind != kind) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " is %s, not %s", id, s->name,
                         kind_records[kind]);
                return CODEC_ERR_WRONG_TYPE;
        }
        *sp = s;
        return CODEC_OK;
}

/* Framing, schema and walk: everything before avro-c. */
static codec_err_t decode_check(codec_t *c, codec_kind_t kind, const uint8_t *p, size_t len,
                                codec_schema_t **sp, char *errstr, size_t errstr_size) {
        codec_walk_opts_t opts = {.max_items = len, .base = CODEC_HEADER_SIZE, .stop_field = -1};
        codec_schema_t *s;
        codec_err_t err;

        err = frame_check(c, kind, p, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        opts.field_ends = s->field_ends;
        if (codec_walk(s->prog, p + CODEC_HEADER_SIZE, len - CODEC_HEADER_SIZE, &opts, NULL,
                       errstr, errstr_size) != 0)
                return CODEC_ERR_MALFORMED;
        *sp = s;
        return CODEC_OK;
}

codec_err_t codec_decode_walk(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                              codec_schema_t **sp, char *errstr, size_t errstr_size) {
        if (c == NULL || buf == NULL) {
                snprintf(errstr, errstr_size, "no codec or message");
                return CODEC_ERR_ARG;
        }
        return decode_check(c, kind, buf, len, sp, errstr, errstr_size);
}

codec_err_t codec_decode_frame(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                               codec_schema_t **sp, char *errstr, size_t errstr_size) {
        if (c == NULL || buf == NULL) {
                snprintf(errstr, errstr_size, "no codec or message");
                return CODEC_ERR_ARG;
        }
        return frame_check(c, kind, buf, len, sp, errstr, errstr_size);
}

codec_err_t codec_decode_begin(codec_t *c, codec_kind_t kind, const void *buf, size_t len,
                               codec_schema_t **sp, char *errstr, size_t errstr_size) {
        const uint8_t *p = buf;
        codec_schema_t *s;
        codec_err_t err;

        if (c == NULL || buf == NULL) {
                snprintf(errstr, errstr_size, "no codec or message");
                return CODEC_ERR_ARG;
        }
        err = decode_check(c, kind, p, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        avro_reader_memory_set_source(c->reader, (const char *)p + CODEC_HEADER_SIZE,
                                      (int64_t)(len - CODEC_HEADER_SIZE));
        if (avro_value_read(c->reader, &s->value) != 0) {
                snprintf(errstr, errstr_size, "avro-c cannot read what the walker accepted: %s",
                         avro_strerror());
                return CODEC_ERR_AVRO;
        }
        *sp = s;
        return CODEC_OK;
}

codec_err_t codec_encode_begin(codec_t *c, codec_kind_t kind, codec_schema_t **sp,
                               char *errstr, size_t errstr_size) {
        codec_err_t err;
        int32_t id;

        if (c->latest[kind] == NULL) {
                codec_schema_t *s;

                err = codec_registry_latest_id(c->reg, c->conf.subjects[kind], &id, errstr,
                                               errstr_size);
                if (err != CODEC_OK)
                        return err;
                err = schema_get(c, id, &s, errstr, errstr_size);
                if (err != CODEC_OK)
                        return err;
                if (s->kind != kind) {
                        snprintf(errstr, errstr_size,
                                 "subject \"%s\": latest schema id %" PRId32 " is %s, not %s",
                                 c->conf.subjects[kind], id, s->name, kind_records[kind]);
                        return CODEC_ERR_WRONG_TYPE;
                }
                c->latest[kind] = s;
        }
        if (avro_value_reset(&c->latest[kind]->value) != 0) {
                snprintf(errstr, errstr_size, "avro-c cannot reset a value: %s", avro_strerror());
                return CODEC_ERR_AVRO;
        }
        *sp = c->latest[kind];
        return CODEC_OK;
}

static codec_err_t buf_reserve(codec_buf_t *b, size_t cap) {
        uint8_t *p;

        if (b->cap >= cap)
                return CODEC_OK;
        p = realloc(b->p, cap);
        if (p == NULL)
                return CODEC_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
        return CODEC_OK;
}

codec_err_t codec_encode_finish(codec_t *c, codec_schema_t *s, codec_buf_t *b,
                                const uint8_t **out, size_t *out_len,
                                char *errstr, size_t errstr_size) {
        const size_t max = c->conf.max_message_size;
        size_t want = max < CODEC_INITIAL_BUFFER ? max : CODEC_INITIAL_BUFFER;
        size_t len;
        int rc;

        if (b->cap > want)
                want = b->cap;
        if (buf_reserve(b, want) != CODEC_OK) {
                snprintf(errstr, errstr_size, "out of memory");
                return CODEC_ERR_NOMEM;
        }
        for (;;) {
                avro_writer_memory_set_dest(c->writer, (const char *)b->p + CODEC_HEADER_SIZE,
                                            (int64_t)(b->cap - CODEC_HEADER_SIZE));
                rc = avro_value_write(c->writer, &s->value);
                if (rc == 0)
                        break;
                if (rc != ENOSPC) {
                        snprintf(errstr, errstr_size, "avro-c cannot write the value: %s",
                                 avro_strerror());
                        return CODEC_ERR_AVRO;
                }
                if (b->cap >= max) {
                        snprintf(errstr, errstr_size,
                                 "encoded %s exceeds the limit of %zu bytes", s->name, max);
                        return CODEC_ERR_TOO_LARGE;
                }
                if (buf_reserve(b, b->cap > max / 2 ? max : b->cap * 2) != CODEC_OK) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return CODEC_ERR_NOMEM;
                }
        }
        len = CODEC_HEADER_SIZE + (size_t)avro_writer_tell(c->writer);
        b->p[0] = CODEC_MAGIC;
        b->p[1] = (uint8_t)((uint32_t)s->id >> 24);
        b->p[2] = (uint8_t)((uint32_t)s->id >> 16);
        b->p[3] = (uint8_t)((uint32_t)s->id >> 8);
        b->p[4] = (uint8_t)(uint32_t)s->id;
        *out = b->p;
        *out_len = len;
        return CODEC_OK;
}

codec_err_t codec_event_hash_offset(codec_t *c, const uint8_t *p, size_t len, size_t *off,
                                    char *errstr, size_t errstr_size) {
        codec_walk_opts_t opts = {.max_items = len, .base = CODEC_HEADER_SIZE};
        codec_schema_t *s;
        codec_err_t err;

        if (c == NULL || p == NULL) {
                snprintf(errstr, errstr_size, "no codec or message");
                return CODEC_ERR_ARG;
        }
        err = decode_check(c, CODEC_KIND_EVENT, p, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        if (s->hash_field < 0) {
                snprintf(errstr, errstr_size,
                         "schema id %" PRId32 " has no 32-byte fixed hash field", s->id);
                return CODEC_ERR_WRONG_TYPE;
        }
        opts.stop_field = s->hash_field;
        if (codec_walk(s->prog, p + CODEC_HEADER_SIZE, len - CODEC_HEADER_SIZE, &opts, off,
                       errstr, errstr_size) != 0)
                return CODEC_ERR_MALFORMED;
        *off += CODEC_HEADER_SIZE;
        return CODEC_OK;
}

/* Reads the top-level string field @name of a command whose fields up to and including it
 * are well-formed, as a UUID. */
static codec_err_t peek_uuid_field(codec_schema_t *s, const uint8_t *body, size_t len,
                                   const char *name, bg_uuid_t *out,
                                   char *errstr, size_t errstr_size) {
        codec_walk_opts_t opts = {.max_items = len, .base = CODEC_HEADER_SIZE};
        avro_schema_t fs = avro_schema_record_field_get(s->schema, name);
        int idx = codec_prog_field_index(s->prog, name);
        size_t off, end;
        uint64_t v = 0;
        unsigned shift = 0;
        int64_t n;

        if (idx < 0 || fs == NULL || !is_avro_string(fs)) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " has no string field '%s'",
                         s->id, name);
                return CODEC_ERR_WRONG_TYPE;
        }
        /* The fields before @name, then @name itself, must walk. */
        opts.stop_field = idx;
        if (codec_walk(s->prog, body, len, &opts, &off, errstr, errstr_size) != 0)
                return CODEC_ERR_MALFORMED;
        opts.stop_field = idx + 1;
        if (idx + 1 < (int)avro_schema_record_size(s->schema) &&
            codec_walk(s->prog, body, len, &opts, &end, errstr, errstr_size) != 0)
                return CODEC_ERR_MALFORMED;
        /* A string the walker accepted: a varint length, then that many bytes. */
        while (off < len) {
                uint8_t b = body[off++];
                v |= (uint64_t)(b & 0x7f) << shift;
                shift += 7;
                if (!(b & 0x80) || shift > 63)
                        break;
        }
        n = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
        if (n < 0 || (uint64_t)n > len - off || !bg_uuid_parse((const char *)body + off,
                                                              (size_t)n, out)) {
                snprintf(errstr, errstr_size, "invalid UUID text in field '%s'", name);
                return CODEC_ERR_INVALID;
        }
        return CODEC_OK;
}

codec_err_t codec_peek_command_ids(codec_t *c, const void *buf, size_t len,
                                   bg_uuid_t *command_id, bg_uuid_t *account_id,
                                   char *errstr, size_t errstr_size) {
        const uint8_t *p = buf;
        codec_schema_t *s;
        codec_err_t err;

        if (c == NULL || buf == NULL || command_id == NULL || account_id == NULL) {
                snprintf(errstr, errstr_size, "no codec, message or output");
                return CODEC_ERR_ARG;
        }
        err = frame_check(c, CODEC_KIND_COMMAND, p, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        err = peek_uuid_field(s, p + CODEC_HEADER_SIZE, len - CODEC_HEADER_SIZE, "command_id",
                              command_id, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        return peek_uuid_field(s, p + CODEC_HEADER_SIZE, len - CODEC_HEADER_SIZE, "account_id",
                               account_id, errstr, errstr_size);
}
