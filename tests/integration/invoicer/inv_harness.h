/*
 * A harness for the invoicer's integration tests on the real stack: topics of their own
 * (a unique prefix, through the commands harness), billing-commands to turn commands
 * into events, billing-invoicer with its own PostgreSQL schema and a clock file the test
 * moves, usage records produced as metering would, and readers for PostgreSQL, the
 * invoices topic and the usage dead-letter topic.
 *
 * Also the independent reference: ref_* compute what the invoices must hold from the
 * records the test generated, with arithmetic of their own (not the invoicer's code).
 */
#ifndef INV_HARNESS_H
#define INV_HARNESS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bg_cmd_harness.h"
#include "codec.h"

#define ACTOR "user:owner@example.com"
#define SERVICE_ACTOR "service:billing"

typedef struct invh_s {
        cmdh_t *t_cmd;
        pid_t t_cmd_pid;
        pid_t t_inv_pid;
        char t_schema[64];
        char t_group[128];
        char t_clock_path[256];
        char t_unique[96];
        PGconn *t_pg;
        bg_uuid_t t_account;
        int64_t t_produced;             /* usage records produced */
        int t_starts;                   /* invoicer starts, names the log files */
} invh_t;

/* Topics (@partitions each), billing-commands started, a PostgreSQL connection, the
 * clock file at @clock_ms, and an account created. */
invh_t *invh_new(const char *name, int partitions, int64_t clock_ms);
/* Stops what runs (SIGTERM), drops the schema. */
void invh_destroy(invh_t *t);

/* Starts billing-invoicer; @env adds "NAME=value" settings (NULL-terminated, may be NULL). */
pid_t invh_start(invh_t *t, char *const env[]);
/* SIGTERM and a clean exit. */
void invh_stop(invh_t *t);
bool invh_log_contains(invh_t *t, const char *needle);

void invh_set_clock(invh_t *t, int64_t ms);
int64_t invh_real_ms(void);

/* Commands, each waited for and asserted accepted. */
void invh_create_group(invh_t *t, bg_uuid_t *id, const char *name, bg_currency_t currency,
                       const char *country);
void invh_set_primary(invh_t *t, const bg_uuid_t *group);
/* @group NULL: the primary group. @id: a nil id gets a fresh one, else it is used. */
void invh_create_project(invh_t *t, bg_uuid_t *id, const char *name, const bg_uuid_t *group);
void invh_move_project(invh_t *t, const char *name, const bg_uuid_t *group);
void invh_delete_project(invh_t *t, const bg_uuid_t *id);
void invh_credit(invh_t *t, const char *code, int64_t value, bg_currency_t currency,
                 int64_t start, bool has_expire, int64_t expire, const bg_uuid_t *group,
                 const bg_uuid_t *project);

/* A usage record with a fresh id: @qty micro-units at @price micros each, EUR. */
void invh_usage(codec_usage_t *u, const bg_uuid_t *project, const char *service, int64_t begin,
                int64_t qty, int64_t price);
void invh_publish(invh_t *t, const codec_usage_t *u);   /* produced, not flushed */
void invh_flush(invh_t *t);
/* Waits until the invoicer has stored offsets for every record produced. */
void invh_wait_consumed(invh_t *t, int timeout_ms);

/* One bigint (or -1 for NULL / no row) from a query run in the test's schema. */
int64_t invh_i64(invh_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits until invoice @number has state "due". */
void invh_wait_due(invh_t *t, const char *number, int timeout_ms);
/* A metric's value from the invoicer's /metrics (the line that starts with @series). */
int64_t invh_metric(invh_t *t, const char *series);

/* The invoice number of @group for the month holding @ms (the documented rule). */
void invh_number(const bg_uuid_t *group, int64_t ms, char *buf, size_t size);
/* The first instant of the month after the one holding @ms. */
int64_t invh_next_month(int64_t ms);

/* The final invoices read from the invoices topic (read_committed): decoded into a
 * malloc()ed array (free with invh_free_invoices). */
size_t invh_read_invoices(invh_t *t, codec_invoice_t **out);
void invh_free_invoices(codec_invoice_t *inv, size_t n);

/* Dead letters of the usage topic: the count, and the first reason containing @needle
 * (or the first one) copied into @reason. */
size_t invh_read_usage_dlq(invh_t *t, const char *needle, char *reason, size_t size);

/*
 * The reference calculation: kept apart from the invoicer's code on purpose.
 */
typedef struct ref_line_s {
        bg_uuid_t group;
        int year, month;
        bg_uuid_t project;
        char service[CODEC_SERVICE_NAME_MAX + 1];
        __int128 amount;                /* exact micros */
        int64_t records;
} ref_line_t;

typedef struct ref_s {
        ref_line_t *lines;
        size_t n, cap;
} ref_t;

/* Adds the record @u billed to @group (the test knows where it belongs). */
void ref_add(ref_t *r, const bg_uuid_t *group, const codec_usage_t *u);
/* The line of (group, month of @ms, project, service), or NULL. */
const ref_line_t *ref_find(const ref_t *r, const bg_uuid_t *group, int64_t ms,
                           const bg_uuid_t *project, const char *service);
/* Sum over the lines of (group, month of @ms) of each line rounded half-up to cents. */
int64_t ref_invoice_cents_total(const ref_t *r, const bg_uuid_t *group, int64_t ms);
/* Exact (unrounded) micros of (group, month of @ms). */
int64_t ref_invoice_exact(const ref_t *r, const bg_uuid_t *group, int64_t ms);
/* Half-up to cents, in micros. */
int64_t ref_round_cents(__int128 micros);
void ref_free(ref_t *r);

#endif /* INV_HARNESS_H */
