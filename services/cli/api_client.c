#include "api_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bg_uuid.h"

#define MAX_RESPONSE (256 * 1024 * 1024)

struct apic_s {
        CURL *c_curl;
        char *c_url;
        char *c_auth;                   /* "Authorization: Bearer ..." */
        long c_timeout_s;
};

apic_t *apic_new(const char *url, const char *token, long timeout_s, char *errstr,
                 size_t errstr_size) {
        apic_t *c;
        size_t n;

        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
                snprintf(errstr, errstr_size, "API URL \"%s\" is not http:// or https://", url);
                return NULL;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                snprintf(errstr, errstr_size, "cannot initialise libcurl");
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
                goto out_oom;
        c->c_curl = curl_easy_init();
        c->c_url = strdup(url);
        if (c->c_curl == NULL || c->c_url == NULL ||
            asprintf(&c->c_auth, "Authorization: Bearer %s", token) < 0) {
                c->c_auth = NULL;
                apic_destroy(c);
                goto out_oom;
        }
        n = strlen(c->c_url);
        while (n > 0 && c->c_url[n - 1] == '/')
                c->c_url[--n] = '\0';
        c->c_timeout_s = timeout_s;
        return c;

out_oom:
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
}

void apic_destroy(apic_t *c) {
        if (c == NULL)
                return;
        if (c->c_curl != NULL)
                curl_easy_cleanup(c->c_curl);
        free(c->c_url);
        if (c->c_auth != NULL) {
                explicit_bzero(c->c_auth, strlen(c->c_auth));
                free(c->c_auth);
        }
        free(c);
}

char *apic_escape(apic_t *c, const char *s) {
        char *e = curl_easy_escape(c->c_curl, s, 0), *copy;

        if (e == NULL)
                return NULL;
        copy = strdup(e);
        curl_free(e);
        return copy;
}

void apic_resp_clear(apic_resp_t *r) {
        free(r->ar_body);
        memset(r, 0, sizeof(*r));
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *opaque) {
        apic_resp_t *r = opaque;
        size_t n = size * nmemb;
        char *nb;

        if (r->ar_len + n > MAX_RESPONSE)
                return 0;               /* aborts the transfer */
        nb = realloc(r->ar_body, r->ar_len + n + 1);
        if (nb == NULL)
                return 0;
        memcpy(nb + r->ar_len, ptr, n);
        r->ar_body = nb;
        r->ar_len += n;
        r->ar_body[r->ar_len] = '\0';
        return n;
}

static int once(apic_t *c, const char *method, const char *url, const char *payload,
                struct curl_slist *hdrs, apic_resp_t *out, char *errstr, size_t errstr_size) {
        CURL *h = c->c_curl;
        char *ct = NULL;
        CURLcode rc;

        apic_resp_clear(out);
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, c->c_timeout_s);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (payload != NULL) {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        }
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
                snprintf(errstr, errstr_size, "%s %s: %s", method, url, curl_easy_strerror(rc));
                return -1;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->ar_status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
                snprintf(out->ar_content_type, sizeof(out->ar_content_type), "%s", ct);
        if (out->ar_body == NULL && (out->ar_body = calloc(1, 1)) == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

int apic_request(apic_t *c, const char *method, const char *path, const json_t *body,
                 const char *accept, apic_resp_t *out, char *errstr, size_t errstr_size) {
        bool write = strcmp(method, "GET") != 0;
        struct curl_slist *hdrs = NULL, *l;
        char *url = NULL, *payload = NULL, acc[160], key[80], id[BG_UUID_STR_LEN + 1];
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (asprintf(&url, "%s%s", c->c_url, path) < 0) {
                url = NULL;
                goto out_oom;
        }
        if (body != NULL && (payload = json_dumps(body, JSON_COMPACT)) == NULL)
                goto out_oom;
        snprintf(acc, sizeof(acc), "Accept: %s", accept ? accept : "application/json");
        hdrs = curl_slist_append(hdrs, c->c_auth);
        if (hdrs != NULL && (l = curl_slist_append(hdrs, acc)) != NULL)
                hdrs = l;
        else
                goto out_oom;
        if (payload != NULL) {
                if ((l = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
                        goto out_oom;
        }
        if (write) {
                bg_uuid_t k;
                bg_uuid_generate(&k);
                bg_uuid_format(&k, id);
                snprintf(key, sizeof(key), "Idempotency-Key: %s", id);
                if ((l = curl_slist_append(hdrs, key)) == NULL)
                        goto out_oom;
        }
        rc = once(c, method, url, payload, hdrs, out, errstr, errstr_size);
        if (rc != 0 || out->ar_status == 502 || out->ar_status == 503 || out->ar_status == 504) {
                /* One retry: safe for reads, and for writes thanks to the same key. */
                char why[512];
                sleep(1);
                if (once(c, method, url, payload, hdrs, out, why, sizeof(why)) == 0)
                        rc = 0;
        }
        goto out_free;

out_oom:
        snprintf(errstr, errstr_size, "out of memory");
        rc = -1;
out_free:
        curl_slist_free_all(hdrs);
        free(payload);
        free(url);
        return rc;
}

void apic_error_text(const apic_resp_t *r, char *buf, size_t size) {
        json_t *j = r->ar_body ? json_loads(r->ar_body, 0, NULL) : NULL;
        json_t *e = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));

        if (msg == NULL)
                msg = json_string_value(json_object_get(j, "message"));
        if (msg != NULL)
                snprintf(buf, size, "%ld %s: %s", r->ar_status, code ? code : "error", msg);
        else
                snprintf(buf, size, "%ld: %.200s", r->ar_status, r->ar_body ? r->ar_body : "");
        json_decref(j);
}
