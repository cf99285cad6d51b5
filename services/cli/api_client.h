/*
 * api_client: the billing HTTP API (docs/api.md) over libcurl, for the billing-group,
 * account and project verbs.
 *
 * Every request carries "Authorization: Bearer <token>". A write (POST, PUT, DELETE)
 * carries a fresh "Idempotency-Key" (a UUID: the API uses it as the command id), so that
 * the one retry after a lost connection or a 502/503/504 cannot apply the change twice.
 */
#ifndef API_CLIENT_H
#define API_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct apic_s apic_t;

/* A client of @url (e.g. "http://127.0.0.1:8080", no trailing path) with @token (copied),
 * waiting at most @timeout_s for a response. NULL with a reason. */
apic_t *apic_new(const char *url, const char *token, long timeout_s, char *errstr,
                 size_t errstr_size);
void apic_destroy(apic_t *c);          /* NULL is a no-op */

/* A percent-encoded copy of @s for a path segment or query value (free it), or NULL. */
char *apic_escape(apic_t *c, const char *s);

typedef struct apic_resp_s {
        long ar_status;                 /* HTTP status */
        char *ar_body;                  /* NUL-terminated (malloc()ed; apic_resp_clear) */
        size_t ar_len;
        char ar_content_type[128];
} apic_resp_t;

void apic_resp_clear(apic_resp_t *r);

/* Sends @method @path (path and query, already escaped) with @body (JSON, may be NULL)
 * and Accept: @accept (NULL: application/json). 0 when a response came (whatever its
 * status), -1 with a reason when none did (connection refused, timeout ...). */
int apic_request(apic_t *c, const char *method, const char *path, const json_t *body,
                 const char *accept, apic_resp_t *out, char *errstr, size_t errstr_size);

/* "404 not_found: billing group not found" from an error response into @buf. */
void apic_error_text(const apic_resp_t *r, char *buf, size_t size);

#endif /* API_CLIENT_H */
