/*
 * pj_model: what the projector knows between PostgreSQL round trips, and what one batch
 * of events does to the read models.
 *
 * Caches (valid while they mirror committed rows plus the open batch):
 *   account id -> last applied seq and hash (the seq / chain check)
 *   group id   -> current name, project id -> name (the audit descriptions)
 * They are filled for a batch's ids in one query per kind (the pre-pass: pj_model_need,
 * then the store answers with pj_model_cache_*) and dropped whole after a rollback
 * (pj_model_forget) or when they grow past a bound (pj_model_trim, after a commit).
 *
 * The write set coalesces a batch per row: a row created in the batch is written once,
 * complete, by COPY; a row that existed before gets one staged update carrying only the
 * column groups the batch changed (name, profile, status, group, primary ...). Append-only
 * rows (audit_log, project_moves, issued credits, claims) are rendered as the events come.
 * All buffers hold COPY binary rows (no header) for the column lists in pj_model.c (PJ_COPY_*).
 *
 * Pure: no I/O, no clock. @locality one thread.
 */
#ifndef PJ_MODEL_H
#define PJ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_event.h"
#include "bg_uuid.h"
#include "pgx.h"

/* COPY statements matching the buffers of pj_writes_t, and the temporary staging tables. */
extern const char *const PJ_COPY_ACCOUNTS;
extern const char *const PJ_COPY_GROUPS;
extern const char *const PJ_COPY_PROJECTS;
extern const char *const PJ_COPY_CREDITS;
extern const char *const PJ_COPY_AUDIT;
extern const char *const PJ_COPY_MOVES;
extern const char *const PJ_COPY_ST_ACCOUNTS;
extern const char *const PJ_COPY_ST_GROUPS;
extern const char *const PJ_COPY_ST_PROJECTS;
extern const char *const PJ_COPY_ST_CREDITS;
extern const char *const PJ_COPY_ST_MEMBERS;
extern const char *const PJ_COPY_ST_SEQ;

/* The rows of one batch, in COPY binary format (without the file header and trailer). */
typedef struct pj_writes_s {
        pgx_buf_t pw_accounts;          /* accounts created in the batch */
        pgx_buf_t pw_groups;            /* billing groups created in the batch */
        pgx_buf_t pw_projects;          /* projects created in the batch */
        pgx_buf_t pw_credits;           /* credits issued */
        pgx_buf_t pw_audit;             /* one row per applied event */
        pgx_buf_t pw_moves;             /* one row per ProjectMoved */
        pgx_buf_t pw_st_accounts;       /* staged updates of existing rows ... */
        pgx_buf_t pw_st_groups;
        pgx_buf_t pw_st_projects;
        pgx_buf_t pw_st_credits;        /* claims */
        pgx_buf_t pw_st_members;        /* final membership of each (account, user) touched */
        pgx_buf_t pw_st_seq;            /* last seq and hash of each account touched */
        size_t pw_events;               /* events applied into these buffers */
} pj_writes_t;

typedef struct pj_model_s pj_model_t;

/* NULL when out of memory. */
pj_model_t *pj_model_new(void);
void pj_model_destroy(pj_model_t *m);          /* NULL is a no-op */

/* Drops every cache and the open batch: after a rollback or a lost connection. */
void pj_model_forget(pj_model_t *m);
/* Drops the caches when they hold more than @max entries (call between batches). */
void pj_model_trim(pj_model_t *m, size_t max);

/* ---- the pre-pass ---- */

/* Notes the ids @ev needs that no cache holds (its account, the groups and projects its
 * description names). */
void pj_model_need(pj_model_t *m, const bg_event_t *ev);
/* The ids noted, as a PostgreSQL array literal '{...}' (NUL-terminated), or NULL when none.
 * @kind: 0 accounts, 1 groups, 2 projects. Valid until pj_model_need_done. */
const char *pj_model_needed(pj_model_t *m, int kind);
/* Answers from the store. */
void pj_model_cache_account(pj_model_t *m, const bg_uuid_t *id, int64_t seq,
                            const uint8_t hash[BG_HASH_SIZE]);
void pj_model_cache_group(pj_model_t *m, const bg_uuid_t *id, const char *name);
void pj_model_cache_project(pj_model_t *m, const bg_uuid_t *id, const char *name);
/* Ends the pre-pass: noted accounts the store did not know start at seq 0. */
void pj_model_need_done(pj_model_t *m);

/* ---- applying ---- */

typedef enum {
        PJ_APPLIED = 0,
        PJ_SKIPPED,             /* seq <= the account's applied seq: already in the tables */
        PJ_SEQ_GAP,             /* seq > applied + 1: an event is missing */
        PJ_CHAIN_BROKEN,        /* prev_hash is not the hash of the applied event */
        PJ_NOMEM,
} pj_apply_t;

/* Applies @ev to the batch, or says why not (@why, subject first). */
pj_apply_t pj_model_apply(pj_model_t *m, const bg_event_t *ev, char *why, size_t why_size);

/* Renders the coalesced rows of the batch and returns every buffer of it; NULL when out
 * of memory. The buffers stay valid until pj_model_batch_done or pj_model_forget. */
const pj_writes_t *pj_model_render(pj_model_t *m);

/* The batch is committed: its rows become "existing" and its buffers are emptied. */
void pj_model_batch_done(pj_model_t *m);

/* Entries in the caches (accounts + groups + projects). */
size_t pj_model_cached(const pj_model_t *m);

#endif /* PJ_MODEL_H */
