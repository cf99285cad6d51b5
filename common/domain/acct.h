/*
 * acct: the account aggregate. Pure: no I/O, no clock, no randomness, no globals; the
 * current time, fresh event ids and the trusted service principals come in acct_ctx_t.
 *
 *   acct_decide(state, command, ctx) -> events | rejection | duplicate
 *   acct_evolve(state, event)        -> state'  (or an error: the log is inconsistent)
 *
 * The commands service, the invoicer, the projector's checks and `audit verify` all fold
 * the log through the same acct_evolve.
 *
 * @locality any thread; an acct_state_t is not shared between threads without a lock
 * (decide only reads it, evolve writes it).
 */
#ifndef ACCT_H
#define ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_command.h"
#include "bg_event.h"
#include "bg_profile.h"
#include "bg_uuid.h"

typedef struct acct_state_s acct_state_t;

typedef enum {
        ACCT_OK = 0,
        ACCT_ERR_SEQ,           /* event seq is not version + 1 */
        ACCT_ERR_INCONSISTENT,  /* event contradicts the state (unknown group, ...) */
        ACCT_ERR_INVALID,       /* event malformed (bad string, enum, account id ...) */
        ACCT_ERR_NOMEM,
        ACCT_ERR_ARG,           /* caller error: NULL argument, missing ctx callback */
} acct_err_t;

/* ---- read-only views of the state (pointers valid until the next acct_evolve) ---- */

typedef struct acct_member_s {
        char user[BG_EMAIL_SIZE];
        bg_role_t role;
} acct_member_t;

typedef struct acct_group_s {
        bg_uuid_t id;
        char name[BG_NAME_SIZE];
        /* The profile is kept packed (acct_group_profile() gives the whole of it); the
         * fields read on hot paths are copied out. */
        bg_currency_t billing_currency;
        char country_code[BG_COUNTRY_CODE_SIZE];
        bg_profile_packed_t *profile;
        bool deleted;
        int64_t created_seq;
        int64_t deleted_seq;                    /* 0 while active */
        size_t n_live_projects;                 /* live projects currently in the group */
        size_t n_claimed_credits;
} acct_group_t;

typedef struct acct_project_s {
        bg_uuid_t id;
        char name[BG_PROJECT_NAME_SIZE];
        bg_uuid_t billing_group_id;             /* current (or last, when deleted) group */
        bool deleted;
        int64_t created_seq;
        int64_t deleted_seq;
} acct_project_t;

typedef struct acct_credit_s {
        char code[BG_CREDIT_CODE_SIZE];
        int64_t value;                          /* micros */
        bg_currency_t currency;
        bg_credit_type_t type;
        int64_t start_time;
        bool has_expire_time;
        int64_t expire_time;
        int64_t issued_seq;
        bool claimed;
        bg_uuid_t billing_group_id;             /* when claimed */
        bool has_project_id;
        bg_uuid_t project_id;
        int64_t claimed_seq;
} acct_credit_t;

/* ---- life cycle ---- */

/* An empty state (version 0: the account does not exist yet). NULL when out of memory.
 * Free with acct_state_destroy. */
acct_state_t *acct_state_new(void);
/* Frees @st; NULL is a no-op. */
void acct_state_destroy(acct_state_t *st);

/* ---- queries ---- */

int64_t acct_version(const acct_state_t *st);         /* last seq applied, 0 when empty */
bool acct_exists(const acct_state_t *st);             /* version > 0 */
const bg_uuid_t *acct_account_id(const acct_state_t *st);     /* nil when empty */
const char *acct_name(const acct_state_t *st);        /* "" when empty */
const uint8_t *acct_last_hash(const acct_state_t *st);        /* BG_HASH_SIZE bytes */
/* Copies the primary group's id to @out and returns true, or returns false (none). */
bool acct_primary_group(const acct_state_t *st, bg_uuid_t *out);

size_t acct_member_count(const acct_state_t *st);
const acct_member_t *acct_member_at(const acct_state_t *st, size_t i);
/* The role of @user (e-mail, compared case-insensitively), BG_ROLE_NONE if no member. */
bg_role_t acct_member_role(const acct_state_t *st, const char *user);
size_t acct_admin_count(const acct_state_t *st);

/* Groups, projects and credits iterate in creation order, deleted ones included. */
size_t acct_group_count(const acct_state_t *st);
const acct_group_t *acct_group_at(const acct_state_t *st, size_t i);
/* The full profile of @g, unpacked into @out. */
void acct_group_profile(const acct_group_t *g, bg_profile_t *out);
/* NULL when unknown; deleted groups are found (check ->deleted). */
const acct_group_t *acct_find_group(const acct_state_t *st, const bg_uuid_t *id);

size_t acct_project_count(const acct_state_t *st);
const acct_project_t *acct_project_at(const acct_state_t *st, size_t i);
const acct_project_t *acct_find_project(const acct_state_t *st, const bg_uuid_t *id);
/* The live project named @name, or NULL. */
const acct_project_t *acct_find_live_project_by_name(const acct_state_t *st,
                                                     const char *name);

size_t acct_credit_count(const acct_state_t *st);
const acct_credit_t *acct_credit_at(const acct_state_t *st, size_t i);
const acct_credit_t *acct_find_credit(const acct_state_t *st, const char *code);

/* Seqs of the events @command_id produced, true when it was accepted with events. */
bool acct_command_seqs(const acct_state_t *st, const bg_uuid_t *command_id,
                       int64_t *first_seq, int64_t *last_seq);
/* Number of command ids remembered for idempotency (grows with every accepted command). */
size_t acct_command_count(const acct_state_t *st);

/* ---- decide ---- */

/* Writes a fresh event id to @out. Called once per event, in seq order. */
typedef void (acct_new_id_fn)(void *opaque, bg_uuid_t *out);

typedef struct acct_ctx_s {
        int64_t now_ms;                         /* occurred_at of the events */
        acct_new_id_fn *new_event_id;           /* required */
        void *new_event_id_opaque;
        /* Trusted service principals, full strings ("service:metering"). */
        const char *const *service_principals;
        size_t n_service_principals;
} acct_ctx_t;

typedef struct acct_decision_s {
        bg_command_result_t result;             /* outcome, seqs, rejection */
        bg_event_t *events;                     /* n_events, owned: acct_decision_clear */
        size_t n_events;
        size_t cap_events;
} acct_decision_t;

/* Zeroes @d. A zeroed acct_decision_t is initialized too. */
void acct_decision_init(acct_decision_t *d);
/* Frees the events of @d and zeroes it (it can be reused). NULL is a no-op. */
void acct_decision_clear(acct_decision_t *d);

/* Decides @cmd against @st. @out must be initialized; previous contents are cleared (its
 * events buffer is kept for reuse: decide many commands with one decision).
 * ACCT_OK: out->result.outcome says accepted (out->events, seq = version + 1 ...,
 * event_id from ctx, occurred_at = ctx->now_ms, hashes zero), rejected (no events) or
 * duplicate (no events, the original seq range). ACCT_ERR_ARG (NULL argument, no
 * new_event_id) or ACCT_ERR_NOMEM: nothing decided, @out holds no events. @st is never
 * modified: apply the events with acct_evolve after they are appended. */
acct_err_t acct_decide(const acct_state_t *st, const bg_command_t *cmd,
                       const acct_ctx_t *ctx, acct_decision_t *out);

/* ---- evolve ---- */

/* Applies @ev to @st. On any error @st is unchanged and @errstr says why:
 * ACCT_ERR_SEQ if ev->seq != version + 1, ACCT_ERR_INVALID if the event is malformed or
 * names another account, ACCT_ERR_INCONSISTENT if it contradicts the state (prev_hash not
 * the last hash, unknown or deleted group, project in another group, ...). @errstr may be
 * NULL. */
acct_err_t acct_evolve(acct_state_t *st, const bg_event_t *ev, char *errstr,
                       size_t errstr_size);

const char *acct_err_name(acct_err_t err);

#endif /* ACCT_H */
