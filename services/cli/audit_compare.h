/*
 * audit_compare: `audit verify --compare-read-models`. After the replay, compares the
 * state rebuilt from the log (audit_t) with the projector's read models in PostgreSQL
 * (services/projector/migrations, docs/read-models.md), table by table, and reports every
 * difference: a column that differs, a row the log implies that the table lacks, a row the
 * table has that the log does not imply.
 *
 * Compared: accounts (name, owner, primary group), account_seq (seq, last hash),
 * account_members (member set, role), billing_groups (name, status, the 13 profile
 * fields), projects (name, group, status), credits (type, currency, value, validity,
 * claim: group, project), audit_log (one row per seq 1..version). Not compared: the
 * timestamps the projector derives from occurred_at (created_at, updated_at ...),
 * credits.remaining_micros (the invoicer's business), project_moves, audit_log texts.
 * Accounts whose log is broken (audit.h, "tainted") are skipped and reported as such.
 *
 * Rows are streamed (libpq single-row mode): memory stays bounded by the rebuilt state.
 */
#ifndef AUDIT_COMPARE_H
#define AUDIT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define AUDIT_DIFF_VALUE_SIZE 256

typedef enum {
        AUDIT_D_DIFFERS = 0,            /* a column differs */
        AUDIT_D_MISSING_ROW,            /* the log implies a row the table lacks */
        AUDIT_D_EXTRA_ROW,              /* the table has a row the log does not imply */
        AUDIT_D_NOT_COMPARED,           /* the account's log is broken: not a difference */
} audit_dkind_t;

typedef struct audit_diff_s {
        audit_dkind_t ad_kind;
        const char *ad_table;           /* "billing_groups" ... */
        bg_uuid_t ad_account;
        const char *ad_entity;          /* "billing group", "project", "credit", "member",
                                         * or NULL for the account's own row */
        char ad_key[BG_EMAIL_SIZE];     /* the entity: id, credit code, e-mail */
        const char *ad_field;           /* AUDIT_D_DIFFERS: the column */
        char ad_log[AUDIT_DIFF_VALUE_SIZE];     /* the value rebuilt from the log */
        char ad_model[AUDIT_DIFF_VALUE_SIZE];   /* the value in the read model */
} audit_diff_t;

typedef void (audit_diff_fn)(void *opaque, const audit_diff_t *d);

typedef struct audit_cmp_stats_s {
        size_t acs_accounts_compared;
        size_t acs_accounts_skipped;    /* broken log */
        uint64_t acs_rows;              /* rows read */
        uint64_t acs_differences;       /* diffs other than NOT_COMPARED */
} audit_cmp_stats_t;

/* Connects to @conninfo, reads the read models of @schema (a plain identifier, see
 * pgx_ident_valid) and calls @fn for each difference. The rebuilt state is that of the @n
 * verifiers at @audits (one per worker thread; each account is in one of them). 0 when
 * the comparison ran (whatever it found), -1 with a reason when it could not
 * (connection, SQL, memory). */
int audit_compare(const audit_t *const *audits, size_t n, const char *conninfo,
                  const char *schema, audit_diff_fn *fn, void *opaque,
                  audit_cmp_stats_t *stats, char *errstr, size_t errstr_size);

/* "read model <table>: account <id> [<entity> <key>]: <field>: log "x", read model "y""
 * (or "... missing row" / "... extra row" / "... not compared: ..."). */
void audit_diff_format(const audit_diff_t *d, char *buf, size_t size);

#endif /* AUDIT_COMPARE_H */
