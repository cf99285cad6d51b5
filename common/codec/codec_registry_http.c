/*
 * A Confluent-compatible schema registry client over libcurl (Karapace, Apicurio's ccompat
 * API, Confluent Schema Registry). Only three calls of the API are used; see codec.h.
 */
#include "codec.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTP_BODY_MAX        (4 * 1024 * 1024)   /* a registry answer larger is refused */
#define HTTP_UNKNOWN_TTL_S   60                  /* how long an unknown id stays unknown */
#define HTTP_CACHE_MAX       1024                /* ids and subjects remembered */

typedef struct http_id_s {
        int32_t id;
        char *json;                /* NULL: the registry did not know it (negative) */
        time_t expires;            /* negative entries only */
} http_id_t;

typedef struct http_subject_s {
        char *subject;
        int32_t id;
} http_subject_t;

typedef struct http_reg_s {
        char *base;
        long timeout_ms;
        pthread_mutex_t lock;      /* guards the caches; requests run unlocked */
        http_id_t ids[HTTP_CACHE_MAX];
        size_t n_ids;
        http_subject_t subjects[HTTP_CACHE_MAX];
        size_t n_subjects;
} http_reg_t;

typedef struct body_s {
        char *p;
        size_t n;
        int too_big;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
        body_t *b = ud;
        size_t n = size * nmemb;
        char *p;

        if (b->n + n > HTTP_BODY_MAX) {
                b->too_big = 1;
                return 0;
        }
        p = realloc(b->p, b->n + n + 1);
        if (p == NULL)
                return 0;
        memcpy(p + b->n, data, n);
        b->p = p;
        b->n += n;
        b->p[b->n] = '\0';
        return n;
}

/* One request. *status is the HTTP status; the body is malloc()ed into *out. */
static codec_err_t http_call(http_reg_t *r, const char *path, const char *post, long *status,
                             char **out, char *errstr, size_t errstr_size) {
        struct curl_slist *hdrs = NULL;
        body_t b = {0};
        char url[2048];
        CURLcode rc;
        CURL *h;

        *out = NULL;
        if ((size_t)snprintf(url, sizeof(url), "%s%s", r->base, path) >= sizeof(url)) {
                snprintf(errstr, errstr_size, "registry URL too long");
                return CODEC_ERR_ARG;
        }
        h = curl_easy_init();
        if (h == NULL) {
                snprintf(errstr, errstr_size, "cannot start a registry request");
                return CODEC_ERR_NOMEM;
        }
        hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json, "
                                       "application/json");
        if (post != NULL)
                hdrs = curl_slist_append(hdrs,
                                         "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        if (post != NULL)
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
        if (rc != CURLE_OK) {
                free(b.p);
                snprintf(errstr, errstr_size, "schema registry request %s %s failed: %s",
                         post ? "POST" : "GET", path,
                         b.too_big ? "answer too large" : curl_easy_strerror(rc));
                return CODEC_ERR_REGISTRY;
        }
        *out = b.p ? b.p : strdup("");
        return *out ? CODEC_OK : CODEC_ERR_NOMEM;
}

/* Reads {"<key>": <integer or string>} from a registry answer. */
static json_t *answer_get(const char *body, const char *key, char *errstr, size_t errstr_size) {
        json_error_t jerr;
        json_t *root = json_loads(body, 0, &jerr), *v;

        if (root == NULL) {
                snprintf(errstr, errstr_size, "schema registry answer is not JSON: %s",
                         jerr.text);
                return NULL;
        }
        v = json_object_get(root, key);
        if (v == NULL) {
                snprintf(errstr, errstr_size, "schema registry answer has no \"%s\"", key);
                json_decref(root);
                return NULL;
        }
        json_incref(v);
        json_decref(root);
        return v;
}

static char *url_escape(const char *s) {
        char *e = curl_easy_escape(NULL, s, 0), *copy;

        if (e == NULL)
                return NULL;
        copy = strdup(e);
        curl_free(e);
        return copy;
}

static void cache_id(http_reg_t *r, int32_t id, char *json) {
        http_id_t *slot = NULL;

        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < r->n_ids; i++)
                if (r->ids[i].id == id)
                        slot = &r->ids[i];
        if (slot == NULL && r->n_ids < HTTP_CACHE_MAX)
                slot = &r->ids[r->n_ids++];
        if (slot == NULL) {
                /* Full: replace a negative entry, never a schema. */
                for (size_t i = 0; i < r->n_ids && slot == NULL; i++)
                        if (r->ids[i].json == NULL)
                                slot = &r->ids[i];
        }
        if (slot != NULL && slot->json == NULL) {
                slot->id = id;
                slot->json = json;
                slot->expires = time(NULL) + HTTP_UNKNOWN_TTL_S;
                json = NULL;
        }
        pthread_mutex_unlock(&r->lock);
        free(json);
}

static codec_err_t http_schema_by_id(void *opaque, int32_t id, char **json_out, char *errstr,
                                     size_t errstr_size) {
        http_reg_t *r = opaque;
        char path[64], *body;
        codec_err_t err;
        long status = 0;
        json_t *schema;

        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < r->n_ids; i++) {
                if (r->ids[i].id != id)
                        continue;
                if (r->ids[i].json != NULL) {
                        *json_out = strdup(r->ids[i].json);
                        pthread_mutex_unlock(&r->lock);
                        return *json_out ? CODEC_OK : CODEC_ERR_NOMEM;
                }
                if (r->ids[i].expires > time(NULL)) {
                        pthread_mutex_unlock(&r->lock);
                        snprintf(errstr, errstr_size, "unknown schema id %" PRId32, id);
                        return CODEC_ERR_UNKNOWN_SCHEMA;
                }
        }
        pthread_mutex_unlock(&r->lock);

        snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
        err = http_call(r, path, NULL, &status, &body, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        if (status == 404) {
                free(body);
                cache_id(r, id, NULL);
                snprintf(errstr, errstr_size, "unknown schema id %" PRId32, id);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        if (status != 200) {
                free(body);
                snprintf(errstr, errstr_size, "schema registry answered HTTP %ld for GET %s",
                         status, path);
                return CODEC_ERR_REGISTRY;
        }
        schema = answer_get(body, "schema", errstr, errstr_size);
        free(body);
        if (schema == NULL || !json_is_string(schema)) {
                json_decref(schema);
                return CODEC_ERR_REGISTRY;
        }
        *json_out = strdup(json_string_value(schema));
        json_decref(schema);
        if (*json_out == NULL)
                return CODEC_ERR_NOMEM;
        cache_id(r, id, strdup(*json_out));
        return CODEC_OK;
}

static codec_err_t http_latest_id(void *opaque, const char *subject, int32_t *id_out,
                                  char *errstr, size_t errstr_size) {
        http_reg_t *r = opaque;
        char path[1024], *body, *esc;
        codec_err_t err;
        long status = 0;
        json_t *id;

        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < r->n_subjects; i++)
                if (strcmp(r->subjects[i].subject, subject) == 0) {
                        *id_out = r->subjects[i].id;
                        pthread_mutex_unlock(&r->lock);
                        return CODEC_OK;
                }
        pthread_mutex_unlock(&r->lock);

        esc = url_escape(subject);
        if (esc == NULL)
                return CODEC_ERR_NOMEM;
        snprintf(path, sizeof(path), "/subjects/%s/versions/latest", esc);
        free(esc);
        err = http_call(r, path, NULL, &status, &body, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        if (status == 404) {
                free(body);
                snprintf(errstr, errstr_size, "no schema for subject \"%s\" in the registry",
                         subject);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        if (status != 200) {
                free(body);
                snprintf(errstr, errstr_size, "schema registry answered HTTP %ld for GET %s",
                         status, path);
                return CODEC_ERR_REGISTRY;
        }
        id = answer_get(body, "id", errstr, errstr_size);
        free(body);
        if (id == NULL || !json_is_integer(id) || json_integer_value(id) <= 0 ||
            json_integer_value(id) > INT32_MAX) {
                json_decref(id);
                snprintf(errstr, errstr_size, "schema registry gave no valid id for \"%s\"",
                         subject);
                return CODEC_ERR_REGISTRY;
        }
        *id_out = (int32_t)json_integer_value(id);
        json_decref(id);
        pthread_mutex_lock(&r->lock);
        if (r->n_subjects < HTTP_CACHE_MAX) {
                char *copy = strdup(subject);
                if (copy != NULL) {
                        r->subjects[r->n_subjects].subject = copy;
                        r->subjects[r->n_subjects].id = *id_out;
                        r->n_subjects++;
                }
        }
        pthread_mutex_unlock(&r->lock);
        return CODEC_OK;
}

static codec_err_t http_register(void *opaque, const char *subject, const char *json,
                                 int32_t *id_out, char *errstr, size_t errstr_size) {
        http_reg_t *r = opaque;
        char path[1024], *body, *esc, *post;
        codec_err_t err;
        long status = 0;
        json_t *req, *id;

        req = json_pack("{s:s}", "schema", json);
        post = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        esc = url_escape(subject);
        if (post == NULL || esc == NULL) {
                free(post);
                free(esc);
                snprintf(errstr, errstr_size, "cannot build the registration request");
                return CODEC_ERR_ARG;
        }
        snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
        free(esc);
        err = http_call(r, path, post, &status, &body, errstr, errstr_size);
        free(post);
        if (err != CODEC_OK)
                return err;
        if (status != 200) {
                snprintf(errstr, errstr_size,
                         "schema registry refused the schema for \"%s\": HTTP %ld %.200s", subject,
                         status, body);
                free(body);
                return status == 409 || status == 422 ? CODEC_ERR_INVALID : CODEC_ERR_REGISTRY;
        }
        id = answer_get(body, "id", errstr, errstr_size);
        free(body);
        if (id == NULL || !json_is_integer(id) || json_integer_value(id) <= 0 ||
            json_integer_value(id) > INT32_MAX) {
                json_decref(id);
                snprintf(errstr, errstr_size, "schema registry gave no valid id for \"%s\"",
                         subject);
                return CODEC_ERR_REGISTRY;
        }
        *id_out = (int32_t)json_integer_value(id);
        json_decref(id);
        return CODEC_OK;
}

static void http_free(void *opaque) {
        http_reg_t *r = opaque;

        if (r == NULL)
                return;
        for (size_t i = 0; i < r->n_ids; i++)
                free(r->ids[i].json);
        for (size_t i = 0; i < r->n_subjects; i++)
                free(r->subjects[i].subject);
        pthread_mutex_destroy(&r->lock);
        free(r->base);
        free(r);
}

codec_registry_t *codec_registry_http_new(const char *base_url, long timeout_ms,
                                          char *errstr, size_t errstr_size) {
        static const codec_registry_ops_t ops = {
                .schema_by_id = http_schema_by_id,
                .latest_id = http_latest_id,
                .register_schema = http_register,
                .destroy = http_free,
        };
        codec_registry_t *reg;
        http_reg_t *r;
        size_t n;

        if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 &&
                                 strncmp(base_url, "https://", 8) != 0)) {
                snprintf(errstr, errstr_size, "schema registry URL \"%s\" is not http(s)://",
                         base_url ? base_url : "");
                return NULL;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(errstr, errstr_size, "cannot initialise libcurl");
                return NULL;
        }
        r = calloc(1, sizeof(*r));
        if (r == NULL || (r->base = strdup(base_url)) == NULL) {
                free(r);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        n = strlen(r->base);
        while (n > 0 && r->base[n - 1] == '/')
                r->base[--n] = '\0';
        r->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
        pthread_mutex_init(&r->lock, NULL);
        reg = codec_registry_new(&ops, r);
        if (reg == NULL) {
                http_free(r);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        return reg;
}
