/*
 * Schema registries: the seam (ops), and the manifest registry that serves the schemas
 * checked into schemas/ under the ids that schemas/manifest.json assigns them.
 */
#include "codec.h"

#include <avro.h>
#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct codec_registry_s {
        codec_registry_ops_t ops;
        void *opaque;
};

codec_registry_t *codec_registry_new(const codec_registry_ops_t *ops, void *opaque) {
        codec_registry_t *reg;

        if (ops == NULL || ops->schema_by_id == NULL || ops->latest_id == NULL)
                return NULL;
        reg = calloc(1, sizeof(*reg));
        if (reg == NULL)
                return NULL;
        reg->ops = *ops;
        reg->opaque = opaque;
        return reg;
}

void codec_registry_destroy(codec_registry_t *reg) {
        if (reg == NULL)
                return;
        if (reg->ops.destroy != NULL)
                reg->ops.destroy(reg->opaque);
        free(reg);
}

codec_err_t codec_registry_schema_by_id(codec_registry_t *reg, int32_t id, char **json_out,
                                        char *errstr, size_t errstr_size) {
        if (reg == NULL || json_out == NULL) {
                snprintf(errstr, errstr_size, "no registry");
                return CODEC_ERR_ARG;
        }
        return reg->ops.schema_by_id(reg->opaque, id, json_out, errstr, errstr_size);
}

codec_err_t codec_registry_latest_id(codec_registry_t *reg, const char *subject,
                                     int32_t *id_out, char *errstr, size_t errstr_size) {
        if (reg == NULL || subject == NULL || id_out == NULL) {
                snprintf(errstr, errstr_size, "no registry or subject");
                return CODEC_ERR_ARG;
        }
        return reg->ops.latest_id(reg->opaque, subject, id_out, errstr, errstr_size);
}

codec_err_t codec_registry_register(codec_registry_t *reg, const char *subject,
                                    const char *json, int32_t *id_out,
                                    char *errstr, size_t errstr_size) {
        if (reg == NULL || subject == NULL || json == NULL || id_out == NULL) {
                snprintf(errstr, errstr_size, "no registry, subject or schema");
                return CODEC_ERR_ARG;
        }
        if (reg->ops.register_schema == NULL) {
                snprintf(errstr, errstr_size, "this schema registry is read-only");
                return CODEC_ERR_ARG;
        }
        return reg->ops.register_schema(reg->opaque, subject, json, id_out, errstr,
                                        errstr_size);
}

/*
 * The manifest registry.
 */

typedef struct manifest_entry_s {
        int32_t id;
        int version;
        char *subject;
        char *file;
        char *json;
} manifest_entry_t;

typedef struct manifest_s {
        manifest_entry_t *entries;
        size_t n_entries;
} manifest_t;

static void manifest_free(void *opaque) {
        manifest_t *m = opaque;

        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n_entries; i++) {
                free(m->entries[i].subject);
                free(m->entries[i].file);
                free(m->entries[i].json);
        }
        free(m->entries);
        free(m);
}

static codec_err_t manifest_schema_by_id(void *opaque, int32_t id, char **json_out,
                                         char *errstr, size_t errstr_size) {
        const manifest_t *m = opaque;

        for (size_t i = 0; i < m->n_entries; i++) {
                if (m->entries[i].id != id)
                        continue;
                *json_out = strdup(m->entries[i].json);
                if (*json_out == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return CODEC_ERR_NOMEM;
                }
                return CODEC_OK;
        }
        snprintf(errstr, errstr_size, "unknown schema id %" PRId32, id);
        return CODEC_ERR_UNKNOWN_SCHEMA;
}

static codec_err_t manifest_latest_id(void *opaque, const char *subject, int32_t *id_out,
                                      char *errstr, size_t errstr_size) {
        const manifest_t *m = opaque;
        const manifest_entry_t *best = NULL;

        for (size_t i = 0; i < m->n_entries; i++)
                if (strcmp(m->entries[i].subject, subject) == 0 &&
                    (best == NULL || m->entries[i].version > best->version))
                        best = &m->entries[i];
        if (best == NULL) {
                snprintf(errstr, errstr_size, "no schema for subject \"%s\" in the manifest",
                         subject);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        *id_out = best->id;
        return CODEC_OK;
}

/* Reads a whole (small) file; NUL-terminated. */
static char *read_file(const char *path, size_t *len_out, char *errstr, size_t errstr_size) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long size;

        if (f == NULL) {
                snprintf(errstr, errstr_size, "cannot open \"%s\": %s", path, strerror(errno));
                return NULL;
        }
        if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
                snprintf(errstr, errstr_size, "cannot read \"%s\": %s", path, strerror(errno));
                goto out_close;
        }
        if (size > 16 * 1024 * 1024) {
                snprintf(errstr, errstr_size, "cannot read \"%s\": larger than 16 MiB", path);
                goto out_close;
        }
        buf = malloc((size_t)size + 1);
        if (buf == NULL) {
                snprintf(errstr, errstr_size, "cannot read \"%s\": out of memory", path);
                goto out_close;
        }
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
                snprintf(errstr, errstr_size, "cannot read \"%s\": short read", path);
                free(buf);
                buf = NULL;
                goto out_close;
        }
        buf[size] = '\0';
        *len_out = (size_t)size;
out_close:
        fclose(f);
        return buf;
}

static int load_entry(const char *dir, size_t index, json_t *obj, manifest_entry_t *e,
                      char *errstr, size_t errstr_size) {
        const char *subject, *file;
        json_int_t id, version;
        avro_schema_t schema;
        char path[PATH_MAX];
        size_t len;

        if (json_unpack(obj, "{s:s, s:I, s:I, s:s}", "subject", &subject, "version", &version,
                        "id", &id, "file", &file) != 0) {
                snprintf(errstr, errstr_size,
                         "manifest.json: schemas[%zu] needs subject (string), version, "
                         "id (integers) and file (string)", index);
                return -1;
        }
        if (id <= 0 || id > INT32_MAX || version <= 0 || version > INT32_MAX) {
                snprintf(errstr, errstr_size, "manifest.json: schemas[%zu]: id and version "
                         "must be positive 32-bit integers", index);
                return -1;
        }
        if (strchr(file, '/') != NULL || file[0] == '.' || file[0] == '\0') {
                snprintf(errstr, errstr_size, "manifest.json: schemas[%zu]: file \"%s\" must "
                         "be a plain file name in the schemas directory", index, file);
                return -1;
        }
        e->id = (int32_t)id;
        e->version = (int)version;
        e->subject = strdup(subject);
        e->file = strdup(file);
        if (e->subject == NULL || e->file == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
                snprintf(errstr, errstr_size, "manifest.json: schemas[%zu]: path too long", index);
                return -1;
        }
        e->json = read_file(path, &len, errstr, errstr_size);
        if (e->json == NULL)
                return -1;
        if (avro_schema_from_json_length(e->json, len, &schema) != 0) {
                snprintf(errstr, errstr_size, "cannot parse schema \"%s\": %s", path,
                         avro_strerror());
                return -1;
        }
        avro_schema_decref(schema);
        return 0;
}

codec_registry_t *codec_registry_manifest_new(const char *schemas_dir,
                                              char *errstr, size_t errstr_size) {
        char path[PATH_MAX];
        json_error_t jerr;
        json_t *root = NULL, *list;
        manifest_t *m = NULL;
        codec_registry_t *reg;
        static const codec_registry_ops_t ops = {
                .schema_by_id = manifest_schema_by_id,
                .latest_id = manifest_latest_id,
                .register_schema = NULL,
                .destroy = manifest_free,
        };

        if (schemas_dir == NULL) {
                snprintf(errstr, errstr_size, "no schemas directory");
                return NULL;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/manifest.json", schemas_dir) >=
            sizeof(path)) {
                snprintf(errstr, errstr_size, "schemas directory path too long");
                return NULL;
        }
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
                snprintf(errstr, errstr_size, "cannot load \"%s\": %s (line %d)", path,
                         jerr.text, jerr.line);
                return NULL;
        }
        list = json_object_get(root, "schemas");
        if (!json_is_array(list) || json_array_size(list) == 0) {
                snprintf(errstr, errstr_size, "\"%s\": \"schemas\" must be a non-empty array",
                         path);
                goto out_free;
        }
        m = calloc(1, sizeof(*m));
        if (m == NULL || (m->entries = calloc(json_array_size(list), sizeof(*m->entries))) ==
                                 NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out_free;
        }
        for (size_t i = 0; i < json_array_size(list); i++) {
                manifest_entry_t *e = &m->entries[i];

                m->n_entries = i + 1;
                if (load_entry(schemas_dir, i, json_array_get(list, i), e, errstr,
                               errstr_size) != 0)
                        goto out_free;
                for (size_t j = 0; j < i; j++) {
                        if (m->entries[j].id == e->id) {
                                snprintf(errstr, errstr_size,
                                         "\"%s\": schema id %" PRId32 " assigned twice", path,
                                         e->id);
                                goto out_free;
                        }
                        if (m->entries[j].version == e->version &&
                            strcmp(m->entries[j].subject, e->subject) == 0) {
                                snprintf(errstr, errstr_size,
                                         "\"%s\": subject \"%s\" version %d listed twice", path,
                                         e->subject, e->version);
                                goto out_free;
                        }
                }
        }
        reg = codec_registry_new(&ops, m);
        if (reg == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out_free;
        }
        json_decref(root);
        return reg;

out_free:
        manifest_free(m);
        json_decref(root);
        return NULL;
}

/*
 * From the environment, and the manifest's schemas into a live registry.
 */

codec_registry_t *codec_registry_from_env(const char *default_schemas_dir, char *errstr,
                                          size_t errstr_size) {
        const char *url = getenv("BILLING_SCHEMA_REGISTRY_URL");
        const char *dir = getenv("BILLING_SCHEMAS_DIR");

        if (url != NULL && *url != '\0')
                return codec_registry_http_new(url, 0, errstr, errstr_size);
        return codec_registry_manifest_new(dir != NULL && *dir != '\0' ? dir : default_schemas_dir,
                                           errstr, errstr_size);
}

/*
 * Is a schema one of the manifest's?
 */

/* Drops every "doc" member of the objects in @v, recursively. */
static void drop_docs(json_t *v) {
        const char *key;
        json_t *el;
        size_t i;

        if (json_is_object(v)) {
                json_object_del(v, "doc");
                json_object_foreach(v, key, el)
                        drop_docs(el);
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, el)
                        drop_docs(el);
        }
}

/* @json without its "doc" strings, keys sorted, compact: equal for two spellings of one
 * schema (a registry may store it re-indented), different when anything a reader of the
 * bytes depends on differs (a field, a branch, an enum symbol, a logical type). NULL when
 * it is not JSON or out of memory. */
static char *normal_form(const char *json) {
        json_t *root = json_loads(json, 0, NULL);
        char *out;

        if (root == NULL)
                return NULL;
        drop_docs(root);
        out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_decref(root);
        return out;
}

codec_err_t codec_registry_schema_is_local(codec_registry_t *reg, int32_t id,
                                           const codec_registry_t *manifest, bool *local,
                                           char *errstr, size_t errstr_size) {
        const manifest_t *m;
        char *json = NULL, *theirs;
        codec_err_t err;

        if (reg == NULL || manifest == NULL || local == NULL ||
            manifest->ops.schema_by_id != manifest_schema_by_id) {
                snprintf(errstr, errstr_size, "no registry, or no manifest registry");
                return CODEC_ERR_ARG;
        }
        *local = false;
        m = manifest->opaque;
        err = codec_registry_schema_by_id(reg, id, &json, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        theirs = normal_form(json);
        free(json);
        if (theirs == NULL) {
                snprintf(errstr, errstr_size, "schema id %" PRId32 " is not JSON", id);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        for (size_t i = 0; i < m->n_entries && !*local; i++) {
                char *ours = normal_form(m->entries[i].json);

                if (ours == NULL) {
                        free(theirs);
                        snprintf(errstr, errstr_size, "out of memory");
                        return CODEC_ERR_NOMEM;
                }
                *local = strcmp(ours, theirs) == 0;
                free(ours);
        }
        free(theirs);
        return CODEC_OK;
}

int codec_registry_sync_manifest(codec_registry_t *dst, const char *schemas_dir, char *errstr,
                                 size_t errstr_size) {
        codec_registry_t *src = codec_registry_manifest_new(schemas_dir, errstr, errstr_size);
        const manifest_t *m;
        int ret = 0;

        if (src == NULL)
                return -1;
        m = src->opaque;
        /* Versions in ascending order per subject: the registry's latest must be ours. */
        for (int version = 1; ret == 0; version++) {
                bool any = false;

                for (size_t i = 0; i < m->n_entries && ret == 0; i++) {
                        int32_t id;
                        char why[512];

                        if (m->entries[i].version != version)
                                continue;
                        any = true;
                        if (codec_registry_register(dst, m->entries[i].subject, m->entries[i].json,
                                                    &id, why, sizeof(why)) != CODEC_OK) {
                                snprintf(errstr, errstr_size,
                                         "cannot register \"%s\" version %d: %s",
                                         m->entries[i].subject, version, why);
                                ret = -1;
                        }
                }
                if (!any)
                        break;
        }
        codec_registry_destroy(src);
        return ret;
}
