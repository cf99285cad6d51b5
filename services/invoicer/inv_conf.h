/*
 * inv_conf: the invoicer's configuration, from the environment. The whole surface is the
 * table in inv_conf.c (one row per setting: name, default, range) and docs/invoicer.md.
 */
#ifndef INV_CONF_H
#define INV_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_VAT_MAX 64

/* A VAT rate of one country: percent in micros ("25.5" -> 25500000). */
typedef struct inv_vat_s {
        char iv_country[3];
        int64_t iv_percent_micros;
} inv_vat_t;

typedef struct inv_conf_s {
        char ic_instance[64];           /* BILLING_INSTANCE_ID: names the transactional.id */
        char ic_group[128];             /* BILLING_INVOICER_GROUP: client group names */
        char ic_admin_addr[64];         /* BILLING_ADMIN_ADDR */
        char ic_pg_conninfo[1024];      /* BILLING_PG_CONNINFO (required) */
        char ic_pg_schema[64];          /* BILLING_INVOICER_SCHEMA */
        char ic_migrations_dir[1024];   /* BILLING_INVOICER_MIGRATIONS_DIR */
        char ic_clock[1100];            /* BILLING_CLOCK: see inv_time.h */
        int64_t ic_batch_max;           /* BILLING_BATCH_MAX: usage records per transaction */
        int64_t ic_batch_ms;            /* BILLING_BATCH_MS: longest wait to fill a batch */
        int64_t ic_prefetch_kb;         /* BILLING_USAGE_PREFETCH_KB: usage read ahead */
        int64_t ic_fetch_backoff_ms;    /* BILLING_FETCH_BACKOFF_MS: fetch.queue.backoff.ms */
        int64_t ic_max_message_bytes;   /* BILLING_MAX_MESSAGE_BYTES: larger: dead-lettered */
        int64_t ic_grace_ms;            /* BILLING_INVOICE_GRACE_MS: after period end */
        int64_t ic_hold_ms;             /* BILLING_UNKNOWN_PROJECT_HOLD_MS */
        int64_t ic_dedup_window_ms;     /* BILLING_DEDUP_WINDOW_DAYS (>= 35) in ms */
        int64_t ic_dedup_capacity;      /* BILLING_DEDUP_CAPACITY: ids preallocated */
        int64_t ic_max_future_ms;       /* BILLING_USAGE_MAX_FUTURE_MS */
        int64_t ic_payment_terms_ms;    /* BILLING_PAYMENT_TERMS_DAYS in ms */
        int64_t ic_finalize_every_ms;   /* BILLING_FINALIZE_INTERVAL_MS: real time */
        /* BILLING_FAULT_KILL_BEFORE_COMMIT=N: in the Nth usage transaction, after every
         * write was sent and before COMMIT, the process SIGKILLs itself. Tests only. */
        int64_t ic_fault_kill_before_commit;
        /* BILLING_FAULT_KILL_AFTER_PUBLISH=N: after the Nth invoice transaction committed
         * on the broker, before the outbox rows are marked published: SIGKILL. Tests only. */
        int64_t ic_fault_kill_after_publish;
        /* BILLING_VAT_RATES: "FI=25.5,DE=19"; countries not listed: 0 %. */
        inv_vat_t ic_vat[INV_VAT_MAX];
        size_t ic_n_vat;
} inv_conf_t;

/* Reads the configuration; -1 with a reason naming the variable on a bad value. */
int inv_conf_load(inv_conf_t *conf, char *errstr, size_t errstr_size);

/* The VAT rate (percent, micros) for @country ("" or unknown: 0). */
int64_t inv_conf_vat(const inv_conf_t *conf, const char *country);

#endif /* INV_CONF_H */
