/*
 * inv_store: the invoicer's PostgreSQL side. One connection, one schema.
 *
 * inv_store_open connects (with backoff), takes the schema's session advisory lock (one
 * invoicer per schema: a second one waits), applies the migrations, sets search_path and
 * creates the session's staging tables. inv_store_commit writes one batch: the touched
 * invoice headers and lines (one multi-row upsert each, from COPY-loaded staging tables),
 * the usage ids billed, the held records taken or released, and the consumed offsets, in
 * one transaction. PGX_ERR_CONN from anything here means "the transaction is gone:
 * reopen, reload, replay from the stored offsets".
 *
 * @locality one thread.
 */
#ifndef INV_STORE_H
#define INV_STORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_uuid.h"
#include "inv_batch.h"
#include "inv_dedup.h"
#include "pgx.h"

typedef struct inv_store_s inv_store_t;

/* A usage id billed, with its record's timestamp_begin. */
typedef struct inv_seen_s {
        bg_uuid_t is_id;
        int64_t is_ts;
} inv_seen_t;

/* A usage record held for an unknown project: the message as it came. */
typedef struct inv_held_s {
        bg_uuid_t ih_id;
        bg_uuid_t ih_project;
        int32_t ih_partition;
        int64_t ih_offset;
        int64_t ih_held_at;             /* the invoicer's clock */
        uint8_t *ih_payload;            /* owned */
        size_t ih_len;
        bool ih_stored;                 /* in held_usage already */
} inv_held_t;

typedef struct inv_commit_s {
        const inv_batch_t *cm_batch;
        const inv_seen_t *cm_seen;
        size_t cm_nseen;
        inv_held_t *const *cm_hold;     /* new held records */
        size_t cm_nhold;
        const bg_uuid_t *cm_unhold;     /* held records billed or dead-lettered */
        size_t cm_nunhold;
        const char *cm_usage_topic;
        const int64_t *cm_usage_next;   /* next offset per partition; -1: unchanged */
        int cm_usage_nparts;
        const char *cm_events_topic;
        const int64_t *cm_events_next;
        int cm_events_nparts;
        bool cm_kill_before_commit;     /* fault injection: SIGKILL before COMMIT */
} inv_commit_t;

/* @conninfo, @schema and @migrations_dir are copied. NULL when out of memory. */
inv_store_t *inv_store_new(const char *conninfo, const char *schema, const char *migrations_dir);
void inv_store_destroy(inv_store_t *st);       /* NULL is a no-op; closes the connection */

/* (Re)connects with backoff until connected and set up, or *@stop (then PGX_ERR_CONN).
 * PGX_ERR_SQL / PGX_ERR_ARG when the schema cannot be migrated. */
pgx_err_t inv_store_open(inv_store_t *st, volatile sig_atomic_t *stop, char *errstr,
                         size_t errstr_size);
void inv_store_close(inv_store_t *st);
PGconn *inv_store_conn(inv_store_t *st);

/* The stored next offset of each of the @nparts partitions of @topic; -1 for none. */
pgx_err_t inv_store_offsets(inv_store_t *st, const char *topic, int nparts, int64_t *next,
                            char *errstr, size_t errstr_size);

/* Loads the usage ids with timestamp_begin >= @cutoff_ms into @d (streamed). */
pgx_err_t inv_store_load_dedup(inv_store_t *st, int64_t cutoff_ms, inv_dedup_t *d,
                               char *errstr, size_t errstr_size);

/* The held records, oldest first, into a malloc()ed array (caller frees each payload and
 * the array). */
pgx_err_t inv_store_load_held(inv_store_t *st, inv_held_t **out, size_t *n, char *errstr,
                              size_t errstr_size);

/* Adds the sums of every open (estimate) invoice and of its lines to @t. */
pgx_err_t inv_store_load_totals(inv_store_t *st, inv_totals_t *t, char *errstr,
                                size_t errstr_size);

/* Calls @fn for each final invoice (group, period_begin). */
pgx_err_t inv_store_load_finalized(inv_store_t *st,
                                   void (*fn)(void *opaque, const bg_uuid_t *group,
                                              int64_t period_begin),
                                   void *opaque, char *errstr, size_t errstr_size);

/* Writes one batch in one transaction (see above). */
pgx_err_t inv_store_commit(inv_store_t *st, const inv_commit_t *cm, char *errstr,
                           size_t errstr_size);

/* Deletes the usage ids older than @cutoff_ms (own transaction). */
pgx_err_t inv_store_prune_dedup(inv_store_t *st, int64_t cutoff_ms, char *errstr,
                                size_t errstr_size);

/* Helpers shared with inv_finalize.c */
pgx_err_t inv_store_begin(inv_store_t *st, char *errstr, size_t errstr_size);
void inv_store_rollback(inv_store_t *st);
pgx_err_t inv_store_commit_txn(inv_store_t *st, char *errstr, size_t errstr_size);

/* Parses a PostgreSQL bigint text; false when it is not one. */
bool inv_parse_i64(const char *s, int64_t *out);

#endif /* INV_STORE_H */
