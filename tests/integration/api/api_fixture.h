/*
 * The API's integration fixture (cmocka): the real stack for one test. Topics with a
 * unique prefix and billing-commands (bg_cmd_harness), billing-projector writing a schema
 * of its own, the invoicer's tables in another schema (its migration files applied, so
 * that tests can insert invoice rows without running the invoicer), and billing-api on a
 * free port with a service token. Requests go through libcurl.
 */
#ifndef API_FIXTURE_H
#define API_FIXTURE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bg_cmd_harness.h"

#define APIT_SERVICE_TOKEN "service-token-for-tests-0123456789abcdef"

typedef struct apit_opts_s {
        int ao_write_timeout_ms;        /* 0: 20000 */
        bool ao_no_commands;            /* do not start billing-commands */
} apit_opts_t;

typedef struct apit_s {
        cmdh_t *at_cmd;                 /* topics, billing-commands, publishing */
        pid_t at_commands;
        pid_t at_projector;
        pid_t at_api;
        char at_schema[64];             /* read models */
        char at_inv_schema[64];         /* the invoicer's tables */
        char at_api_schema[64];         /* api_tokens */
        char at_instance[128];          /* BILLING_INSTANCE_ID of billing-commands */
        char at_url[64];                /* http://127.0.0.1:<port> */
        char at_api_log[300];
        int at_restarts;
        apit_opts_t at_opts;
        PGconn *at_pg;
} apit_t;

apit_t *apit_new(const char *name, const apit_opts_t *opts);   /* @opts may be NULL */
void apit_destroy(apit_t *t);

/* Restarts billing-api (a clean stop, asserted) with another write timeout. */
void apit_restart_api(apit_t *t, int write_timeout_ms);

/* Stops (SIGTERM) and starts the projector / the commands service. */
void apit_stop_projector(apit_t *t);
void apit_start_projector(apit_t *t);
void apit_stop_commands(apit_t *t);
void apit_start_commands(apit_t *t);

typedef struct apit_resp_s {
        long ar_status;
        char *ar_body;                  /* NUL-terminated */
        size_t ar_len;
        json_t *ar_json;                /* the body parsed, when it is JSON */
        char ar_type[128];              /* Content-Type */
        char ar_etag[64];
        char ar_allow[128];
} apit_resp_t;

/* @method @path (with query) with @token (NULL: none) and @body (NULL: none);
 * @headers: extra "Name: value" lines, NULL-terminated, may be NULL. Returns the status;
 * *out (may be NULL) gets the response (apit_resp_free it). */
long apit_req(apit_t *t, const char *method, const char *path, const char *token,
              const char *body, const char *const *headers, apit_resp_t *out);
/* As apit_req with a printf-formatted path. */
long apit_reqf(apit_t *t, const char *method, const char *token, const char *body,
               apit_resp_t *out, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void apit_resp_free(apit_resp_t *r);

/* The string at @path ("billing_group.billing_group_id", "error.code") of the JSON
 * response, or NULL. */
const char *apit_str(const apit_resp_t *r, const char *path);

/* Asserts the status and, for errors, the stable code of the JSON error body. */
void apit_expect(apit_resp_t *r, long status, const char *code);

/* Scenario steps (each asserts success). */
void apit_account(apit_t *t, const char *name, const char *owner, char account_id[37]);
void apit_token(apit_t *t, const char *account_id, const char *email, const char *role,
                char token[65]);
void apit_group(apit_t *t, const char *token, const char *name, const char *currency,
                char group_id[37]);
void apit_project(apit_t *t, const char *token, const char *name, const char *group_id,
                  char project_id[37]);

/* Publishes @cmd (actor "service:billing") straight to the commands topic and waits for
 * its result; asserts it was accepted. For commands the API does not offer (IssueCredit,
 * GrantRole). */
void apit_publish_accepted(apit_t *t, bg_command_t *cmd);

/* Runs @sql (printf-style) on the test's connection; asserts success. */
void apit_sql(apit_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* API_FIXTURE_H */
