/*
 * e2e_scen: the fault suite's scenario generator and its reference (docs/e2e.md).
 *
 * Deterministic from a seed: N accounts with billing groups, projects, moves, credits,
 * role changes, invalid commands and repeated command ids, in rounds; M usage records with
 * duplicates, late records, records for unknown and deleted projects and in the wrong
 * currency. No Kafka, no PostgreSQL: the test publishes what this generates.
 *
 * The reference, computed independently of the services:
 *  - the expected account state: every command is decided here with the domain
 *    (acct_decide, acct_evolve), because the domain *is* the specification of the
 *    rules; the predicted outcome of each command is checked against its result, and
 *    the state against the read models;
 *  - the expected invoices: plain arithmetic of its own (e2e_ref.c), never the
 *    invoicer's or common/money's code: quantity x price per record, sums per line, half-up
 *    rounding per line to the currency's minor unit, credits in the documented order,
 *    a rounding line, VAT.
 *
 * Usage timestamps come from the real clock: the invoicer places a record by the
 * events' occurred_at (the commands service's clock), so the records of a round are
 * stamped after the round's commands were applied and before the next round's are
 * published; the group a record belongs to is then the reference state's group.
 */
#ifndef E2E_SCEN_H
#define E2E_SCEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "bg_command.h"
#include "codec.h"

/* ------------------------------------------------------------------ random numbers */

typedef struct e2e_rng_s {
        uint64_t s;
} e2e_rng_t;

uint64_t e2e_rng_next(e2e_rng_t *r);                  /* splitmix64 */
uint64_t e2e_rng_below(e2e_rng_t *r, uint64_t n);     /* 0 .. n-1 (n > 0) */
bool e2e_rng_chance(e2e_rng_t *r, unsigned percent);
void e2e_rng_uuid(e2e_rng_t *r, bg_uuid_t *out);      /* a version-4 shaped uuid */

/* ------------------------------------------------------------------ string lists */

/* A list of strings (rows rendered as text), compared as sorted multisets. */
typedef struct e2e_strs_s {
        char **v;
        size_t n, cap;
} e2e_strs_t;

void e2e_strs_add(e2e_strs_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void e2e_strs_free(e2e_strs_t *l);
/* Sorts both; prints up to @max_print rows found only in one of them, prefixed with
 * @what; returns the number of such rows (0: equal multisets). */
size_t e2e_strs_diff(e2e_strs_t *expected, e2e_strs_t *actual, const char *what,
                     size_t max_print);

/* ------------------------------------------------------------------ scenario */

typedef struct e2e_conf_s {
        uint64_t seed;
        int scale;                      /* 1: CI, 10: by hand */
        int accounts;                   /* 20 x scale */
        int rounds;                     /* command rounds after the set-up round */
        int usage_per_round;            /* fresh records per round (before extras) */
        int64_t grace_ms;               /* the invoicer's BILLING_INVOICE_GRACE_MS */
} e2e_conf_t;

/* Sizes for @scale and @seed (@now_ms picks the grace period, see docs/e2e.md). */
void e2e_conf_init(e2e_conf_t *c, uint64_t seed, int scale, int64_t now_ms);

/* What a published command is expected to produce. */
typedef struct e2e_expect_s {
        bg_outcome_t outcome;
        bg_reject_code_t code;          /* when rejected */
        size_t n_events;
} e2e_expect_t;

/* Fates of a usage record. */
typedef enum {
        E2E_U_BILL = 0,                 /* billed in its month */
        E2E_U_LATE,                     /* sent after its month is final: extra_charge */
        E2E_U_UNKNOWN,                  /* project never exists: held, then DLQ */
        E2E_U_DELETED,                  /* begins after its project's deletion: DLQ */
        E2E_U_CURRENCY,                 /* not the group's currency: DLQ */
} e2e_ukind_t;

typedef struct e2e_usage_s {
        bg_uuid_t usage_id;
        bg_uuid_t project_id;
        bg_uuid_t group;                /* the project's group at begin (billed kinds) */
        bg_uuid_t account;
        int64_t quantity, unit_price, amount;
        int64_t begin, end;
        uint8_t kind;                   /* e2e_ukind_t */
        uint8_t service;                /* index into e2e_services */
        uint8_t line_type;              /* codec_line_type_t */
        uint8_t currency;               /* bg_currency_t */
        bool has_amount;
        int round;
        int sent;                       /* times published */
} e2e_usage_t;

extern const char *const e2e_services[];
extern const size_t e2e_n_services;

typedef struct e2e_scen_s e2e_scen_t;

/* Receives each command to publish, in order, with its predicted result. */
typedef void (*e2e_cmd_fn)(void *opaque, const bg_command_t *cmd, const e2e_expect_t *exp);
/* Receives each usage record to publish now (a fresh one or a repeat). */
typedef void (*e2e_usage_fn)(void *opaque, e2e_usage_t *u);
/* The real clock, ms since the epoch. */
typedef int64_t (*e2e_now_fn)(void);

e2e_scen_t *e2e_scen_new(const e2e_conf_t *conf);
void e2e_scen_destroy(e2e_scen_t *s);
const e2e_conf_t *e2e_scen_conf(const e2e_scen_t *s);

/* Round @round (0: the set-up; 1..rounds): generates the commands, decides them against
 * the reference state (clock @now_ms) and hands them to @fn in publishing order. */
void e2e_scen_commands(e2e_scen_t *s, int round, int64_t now_ms, e2e_cmd_fn fn, void *opaque);

/* The usage of round @round, stamped in [@lo_ms, now()) with the real clock: fresh
 * records and repeats go to @fn; late records are kept for e2e_scen_late. Call once the
 * round's commands all have their results. */
void e2e_scen_usage(e2e_scen_t *s, int round, int64_t lo_ms, e2e_now_fn now, e2e_usage_fn fn,
                    void *opaque);

/* After the months of the rounds are final: the late records, and repeats of records
 * billed before (each goes to @fn). */
void e2e_scen_late(e2e_scen_t *s, e2e_usage_fn fn, void *opaque);

/* The largest timestamp_begin generated so far (late records included). */
int64_t e2e_scen_max_begin(const e2e_scen_t *s);

/* Every distinct record generated. */
size_t e2e_scen_usage_count(const e2e_scen_t *s);
e2e_usage_t *e2e_scen_usage_at(const e2e_scen_t *s, size_t i);

/* The record as metering sends it. */
void e2e_usage_to_codec(const e2e_usage_t *u, codec_usage_t *out);

/* The reference state. */
size_t e2e_scen_account_count(const e2e_scen_t *s);
const acct_state_t *e2e_scen_account(const e2e_scen_t *s, size_t i);
/* ProjectMoved events decided for account @i. */
size_t e2e_scen_moves(const e2e_scen_t *s, size_t i);

typedef struct e2e_stats_s {
        size_t commands, accepted, rejected, duplicates, events;
        size_t rejected_by_code[BG_REJECT__COUNT];
        size_t usage_sent, usage_distinct, usage_repeats;
        size_t usage_by_kind[5];
} e2e_stats_t;
void e2e_scen_stats(const e2e_scen_t *s, e2e_stats_t *out);

/* The read-model rows the reference state implies, as text (the test renders the
 * projector's tables the same way): table one of "accounts", "account_members",
 * "billing_groups", "projects", "credits", "account_seq", "audit_log" (count per
 * account), "project_moves" (count per account). */
void e2e_scen_rm_rows(const e2e_scen_t *s, const char *table, e2e_strs_t *out);

/* ------------------------------------------------------------------ reference invoices */

/* VAT rates of the invoicer's BILLING_VAT_RATES, in micros of a percent. */
#define E2E_VAT_RATES "FI=25.5,DE=19,SE=25,NO=25.125"
int64_t e2e_vat_percent_micros(const char *country);

/* The expected invoices, final, once @late_clock_ms (the invoicer's clock when the late
 * records were billed) decided where late records go. Rendered as rows:
 *  headers: number|group|account|currency|period_begin_ms|state|total_vat_zero|
 *           total_inc_vat|vat_percent|country
 *  lines:   number|line_key|line_type|amount|line_total|quantity|usage_records|project|
 *           service|late_period_ms|credit_code
 *  credits: account|code|value|remaining            (credits some invoice used)
 *  published (the invoices topic): number|state|revision|total_vat_zero|total_inc_vat|
 *           n_lines, and per line number|line_type|service|line_total
 * Also the months (period begins) that have invoices, for waiting. */
typedef struct e2e_ref_out_s {
        e2e_strs_t headers, lines, credits, published, published_lines;
        size_t n_invoices;
        int64_t *periods;               /* distinct period begins, ascending */
        size_t n_periods;
        int64_t expected_billed;        /* distinct usage records billed */
} e2e_ref_out_t;

void e2e_ref_invoices(const e2e_scen_t *s, int64_t late_clock_ms, e2e_ref_out_t *out);
void e2e_ref_free(e2e_ref_out_t *out);

/* Calendar helpers (UTC): first instant of the month holding @ms, of the next month. */
int64_t e2e_month_begin(int64_t ms);
int64_t e2e_month_next(int64_t ms);
/* The invoice number of @group for the month holding @ms (docs/invoicer.md). */
void e2e_invoice_number(const bg_uuid_t *group, int64_t ms, char *buf, size_t size);

#endif /* E2E_SCEN_H */
