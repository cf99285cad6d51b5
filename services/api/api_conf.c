/*
 * The API's configuration: one row per setting (name, default, range), so that the whole
 * surface is visible here and in docs/api.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bg_env.h"
#include "pgx.h"

#ifndef BG_DEFAULT_SCHEMAS_DIR
#define BG_DEFAULT_SCHEMAS_DIR "schemas"
#endif
#ifndef BG_DEFAULT_API_MIGRATIONS_DIR
#define BG_DEFAULT_API_MIGRATIONS_DIR "migrations"
#endif

typedef struct conf_str_s {
        const char *cs_name;
        const char *cs_def;
        size_t cs_off;
        size_t cs_size;
        bool cs_ident;                          /* a PostgreSQL schema name */
} conf_str_t;

typedef struct conf_int_s {
        const char *ci_name;
        int64_t ci_def, ci_min, ci_max;
        size_t ci_off;
} conf_int_t;

#define S(name, def, field, ident) \
        {name, def, offsetof(api_conf_t, field), sizeof(((api_conf_t *)0)->field), ident}
#define I(name, def, min, max, field) {name, def, min, max, offsetof(api_conf_t, field)}

static const conf_str_t conf_strs[] = {
        S("BILLING_API_ADDR", "127.0.0.1:8080", ac_listen, false),
        S("BILLING_ADMIN_ADDR", "127.0.0.1:9104", ac_admin_addr, false),
        S("BILLING_PG_CONNINFO", "dbname=billing", ac_conninfo, false),
        S("BILLING_PG_SCHEMA", "billing", ac_schema, true),
        S("BILLING_INVOICER_SCHEMA", "invoicer", ac_invoicer_schema, true),
        S("BILLING_API_SCHEMA", "billing_api", ac_api_schema, true),
        S("BILLING_API_MIGRATIONS_DIR", BG_DEFAULT_API_MIGRATIONS_DIR, ac_migrations_dir, false),
        S("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR, ac_schemas_dir, false),
};

static const conf_int_t conf_ints[] = {
        I("BILLING_API_PG_POOL", 16, 1, 1024, ac_pg_pool),
        I("BILLING_API_MAX_CONNECTIONS", 256, 1, 65536, ac_max_connections),
        I("BILLING_API_BODY_MAX", 64 * 1024, 1024, 4 * 1024 * 1024, ac_body_max),
        I("BILLING_API_WRITE_TIMEOUT_MS", 10000, 100, 600000, ac_write_timeout_ms),
        I("BILLING_API_SEQ_POLL_MS", 5, 1, 1000, ac_seq_poll_ms),
        I("BILLING_API_IDLE_TIMEOUT_S", 60, 1, 3600, ac_idle_timeout_s),
};

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* "name:sha256hex,name2:sha256hex" */
static int load_service_tokens(api_conf_t *c, char *errstr, size_t errstr_size) {
        const char *v = bg_env_str("BILLING_API_SERVICE_TOKENS", "");
        char *copy = strdup(v), *save = NULL, *tok;
        int rc = -1;

        if (copy == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
                api_service_token_t *st;
                char *colon = strchr(tok, ':');
                size_t nlen;

                if (c->ac_n_service_tokens == API_SERVICE_TOKENS_MAX) {
                        snprintf(errstr, errstr_size, "BILLING_API_SERVICE_TOKENS lists more "
                                 "than %d tokens", API_SERVICE_TOKENS_MAX);
                        goto out;
                }
                st = &c->ac_service_tokens[c->ac_n_service_tokens];
                nlen = colon ? (size_t)(colon - tok) : 0;
                if (colon == NULL || nlen == 0 || nlen > BG_SERVICE_NAME_MAX ||
                    strlen(colon + 1) != 64) {
                        snprintf(errstr, errstr_size, "BILLING_API_SERVICE_TOKENS: expected "
                                 "<service name>:<SHA-256 of the token, 64 hex digits>");
                        goto out;
                }
                for (size_t i = 0; i < nlen; i++) {
                        char ch = tok[i];
                        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                              ch == '.' || ch == '_' || ch == '-')) {
                                snprintf(errstr, errstr_size, "BILLING_API_SERVICE_TOKENS: "
                                         "service name must be 1..64 of [a-z0-9._-]");
                                goto out;
                        }
                }
                memcpy(st->st_name, tok, nlen);
                st->st_name[nlen] = '\0';
                for (size_t i = 0; i < 32; i++) {
                        int hi = hexval(colon[1 + 2 * i]), lo = hexval(colon[2 + 2 * i]);
                        if (hi < 0 || lo < 0) {
                                snprintf(errstr, errstr_size, "BILLING_API_SERVICE_TOKENS: "
                                         "the SHA-256 of service \"%s\" is not hex", st->st_name);
                                goto out;
                        }
                        st->st_sha256[i] = (uint8_t)(hi << 4 | lo);
                }
                c->ac_n_service_tokens++;
        }
        rc = 0;
out:
        free(copy);
        return rc;
}

int api_conf_load(api_conf_t *c, char *errstr, size_t errstr_size) {
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < sizeof(conf_strs) / sizeof(conf_strs[0]); i++) {
                const conf_str_t *cs = &conf_strs[i];
                const char *v = bg_env_str(cs->cs_name, cs->cs_def);
                char *dst = (char *)c + cs->cs_off;

                if (strlen(v) >= cs->cs_size) {
                        snprintf(errstr, errstr_size, "%s is longer than %zu bytes", cs->cs_name,
                                 cs->cs_size - 1);
                        return -1;
                }
                if (cs->cs_ident && !pgx_ident_valid(v)) {
                        snprintf(errstr, errstr_size, "invalid %s \"%s\": expected "
                                 "[a-z_][a-z0-9_]{0,62}", cs->cs_name, v);
                        return -1;
                }
                memcpy(dst, v, strlen(v) + 1);
        }
        for (size_t i = 0; i < sizeof(conf_ints) / sizeof(conf_ints[0]); i++) {
                const conf_int_t *ci = &conf_ints[i];

                if (!bg_env_int(ci->ci_name, ci->ci_def, ci->ci_min, ci->ci_max,
                                (int64_t *)((char *)c + ci->ci_off), errstr, errstr_size))
                        return -1;
        }
        if (strcmp(c->ac_api_schema, c->ac_schema) == 0 ||
            strcmp(c->ac_api_schema, c->ac_invoicer_schema) == 0) {
                snprintf(errstr, errstr_size, "BILLING_API_SCHEMA \"%s\" must differ from the "
                         "projector's and the invoicer's schemas (each has its own migrations)",
                         c->ac_api_schema);
                return -1;
        }
        return load_service_tokens(c, errstr, errstr_size);
}
