#include "inv_conf.h"

#include <stdio.h>
#include <string.h>

#include "bg_env.h"
#include "bg_money.h"

#define DAY_MS INT64_C(86400000)

typedef struct str_setting_s {
        const char *name;
        const char *def;                /* NULL: required */
        size_t off;
        size_t size;
} str_setting_t;

typedef struct int_setting_s {
        const char *name;
        int64_t def, min, max;
        int64_t scale;                  /* the value is multiplied by it (days -> ms) */
        size_t off;
} int_setting_t;

#define S(name, def, field) {name, def, offsetof(inv_conf_t, field), \
                             sizeof(((inv_conf_t *)0)->field)}
#define I(name, def, min, max, scale, field) {name, def, min, max, scale, \
                                              offsetof(inv_conf_t, field)}

static const str_setting_t str_settings[] = {
        S("BILLING_INSTANCE_ID", "0", ic_instance),
        S("BILLING_INVOICER_GROUP", "billing-invoicer", ic_group),
        S("BILLING_ADMIN_ADDR", "127.0.0.1:9103", ic_admin_addr),
        S("BILLING_PG_CONNINFO", NULL, ic_pg_conninfo),
        S("BILLING_INVOICER_SCHEMA", "invoicer", ic_pg_schema),
        S("BILLING_INVOICER_MIGRATIONS_DIR", BG_DEFAULT_MIGRATIONS_DIR, ic_migrations_dir),
        S("BILLING_CLOCK", "system", ic_clock),
};

static const int_setting_t int_settings[] = {
        I("BILLING_BATCH_MAX", 20000, 1, 1000000, 1, ic_batch_max),
        I("BILLING_BATCH_MS", 200, 0, 60000, 1, ic_batch_ms),
        I("BILLING_USAGE_PREFETCH_KB", 131072, 1024, 2097151, 1, ic_prefetch_kb),
        I("BILLING_FETCH_BACKOFF_MS", 20, 1, 1000, 1, ic_fetch_backoff_ms),
        I("BILLING_MAX_MESSAGE_BYTES", 1 << 20, 1024, 64 << 20, 1, ic_max_message_bytes),
        I("BILLING_INVOICE_GRACE_MS", 3600000, 0, 31 * DAY_MS, 1, ic_grace_ms),
        I("BILLING_UNKNOWN_PROJECT_HOLD_MS", 600000, 0, 7 * DAY_MS, 1, ic_hold_ms),
        I("BILLING_DEDUP_WINDOW_DAYS", 35, 35, 3650, DAY_MS, ic_dedup_window_ms),
        I("BILLING_DEDUP_CAPACITY", 1 << 20, 1024, INT64_C(1) << 30, 1, ic_dedup_capacity),
        I("BILLING_USAGE_MAX_FUTURE_MS", 300000, 0, DAY_MS, 1, ic_max_future_ms),
        I("BILLING_PAYMENT_TERMS_DAYS", 14, 0, 365, DAY_MS, ic_payment_terms_ms),
        I("BILLING_FINALIZE_INTERVAL_MS", 1000, 10, 3600000, 1, ic_finalize_every_ms),
        I("BILLING_FAULT_KILL_BEFORE_COMMIT", 0, 0, INT32_MAX, 1, ic_fault_kill_before_commit),
        I("BILLING_FAULT_KILL_AFTER_PUBLISH", 0, 0, INT32_MAX, 1, ic_fault_kill_after_publish),
};

/* "FI=25.5,DE=19": percent with at most 4 fraction digits, 0..100. */
static int parse_vat(inv_conf_t *c, const char *spec, char *errstr, size_t errstr_size) {
        const char *p = spec;

        while (*p != '\0') {
                const char *comma = strchr(p, ','), *eq;
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                inv_vat_t *v;
                char merr[128];

                eq = memchr(p, '=', len);
                if (eq == NULL || eq - p != 2 || p[0] < 'A' || p[0] > 'Z' || p[1] < 'A' ||
                    p[1] > 'Z') {
                        snprintf(errstr, errstr_size, "BILLING_VAT_RATES: \"%.*s\" is not "
                                 "CC=percent (an upper-case country code)", (int)len, p);
                        return -1;
                }
                if (c->ic_n_vat == INV_VAT_MAX) {
                        snprintf(errstr, errstr_size, "BILLING_VAT_RATES lists more than %d "
                                 "countries", INV_VAT_MAX);
                        return -1;
                }
                v = &c->ic_vat[c->ic_n_vat++];
                memcpy(v->iv_country, p, 2);
                v->iv_country[2] = '\0';
                if (bg_money_parse(eq + 1, len - 3, &v->iv_percent_micros, merr,
                                   sizeof(merr)) != BG_MONEY_OK ||
                    v->iv_percent_micros < 0 || v->iv_percent_micros > 100 * BG_MONEY_SCALE ||
                    v->iv_percent_micros % 100 != 0) {
                        snprintf(errstr, errstr_size, "BILLING_VAT_RATES: rate of %s \"%.*s\" is "
                                 "not a percentage 0..100 with at most 4 decimals",
                                 v->iv_country, (int)(len - 3), eq + 1);
                        return -1;
                }
                p += len;
                if (*p == ',')
                        p++;
        }
        return 0;
}

int inv_conf_load(inv_conf_t *c, char *errstr, size_t errstr_size) {
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < sizeof(str_settings) / sizeof(str_settings[0]); i++) {
                const str_setting_t *s = &str_settings[i];
                const char *v = bg_env_str(s->name, s->def);

                if (v == NULL) {
                        snprintf(errstr, errstr_size, "%s is required", s->name);
                        return -1;
                }
                if (strlen(v) >= s->size) {
                        snprintf(errstr, errstr_size, "%s is longer than %zu bytes", s->name,
                                 s->size - 1);
                        return -1;
                }
                memcpy((char *)c + s->off, v, strlen(v) + 1);
        }
        for (size_t i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
                const int_setting_t *s = &int_settings[i];
                int64_t v;

                if (!bg_env_int(s->name, s->def, s->min, s->max, &v, errstr, errstr_size))
                        return -1;
                *(int64_t *)(void *)((char *)c + s->off) = v * s->scale;
        }
        return parse_vat(c, bg_env_str("BILLING_VAT_RATES", ""), errstr, errstr_size);
}

int64_t inv_conf_vat(const inv_conf_t *c, const char *country) {
        for (size_t i = 0; i < c->ic_n_vat; i++)
                if (strcmp(c->ic_vat[i].iv_country, country) == 0)
                        return c->ic_vat[i].iv_percent_micros;
        return 0;
}
