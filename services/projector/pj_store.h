/*
 * pj_store: the projector's PostgreSQL side. One connection, one schema.
 *
 * Connecting (pj_store_open) also: takes the advisory locks of the store's partitions in
 * the schema (one writer per partition: a second projector waits), applies the migrations, sets search_path to the schema and
 * creates the session's staging tables. pj_store_commit writes one batch and the Kafka
 * offsets it consumed in one transaction; a PGX_ERR_CONN from anything here means "the
 * transaction is gone: reopen, reload the offsets, replay".
 *
 * @locality one thread.
 */
#ifndef PJ_STORE_H
#define PJ_STORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgx.h"
#include "pj_model.h"

typedef struct pj_store_s pj_store_t;

/* A store writing partitions @parts (@nparts of them) of the events topic into @schema:
 * pj_store_open takes their advisory locks (one writer per partition of a schema).
 * Everything is copied. NULL when out of memory. */
pj_store_t *pj_store_new(const char *conninfo, const char *schema, const char *migrations_dir,
                         const int *parts, int nparts);
void pj_store_destroy(pj_store_t *st);         /* NULL is a no-op; closes the connection */

/* (Re)connects with backoff until connected and set up, or *@stop. PGX_ERR_CONN only when
 * stopped; PGX_ERR_SQL / PGX_ERR_ARG when the schema cannot be migrated. */
pgx_err_t pj_store_open(pj_store_t *st, volatile sig_atomic_t *stop, char *errstr,
                        size_t errstr_size);
void pj_store_close(pj_store_t *st);
bool pj_store_connected(const pj_store_t *st);
PGconn *pj_store_conn(pj_store_t *st);

/* Drops the schema and everything in it (rebuild starts from nothing), holding the locks
 * of all its @nparts partitions. Connects with backoff on its own. */
pgx_err_t pj_store_drop_schema(const char *conninfo, const char *schema, int nparts,
                               volatile sig_atomic_t *stop, char *errstr, size_t errstr_size);

/* The stored next offset of each of the @nparts partitions of @topic into @offsets;
 * -1 for a partition with none. */
pgx_err_t pj_store_offsets(pj_store_t *st, const char *topic, int nparts, int64_t *offsets,
                           char *errstr, size_t errstr_size);

/* Answers the model's pre-pass: looks up the ids pj_model_need noted (one query per kind)
 * and ends the pre-pass. */
pgx_err_t pj_store_prepass(pj_store_t *st, pj_model_t *m, char *errstr, size_t errstr_size);

/* Writes @w and, for each partition p with @offsets[p] >= 0, next_offset = @offsets[p]
 * of @topic, in one transaction. @kill_mid: fault injection, the process SIGKILLs itself
 * after half of the writes were sent, before COMMIT. */
pgx_err_t pj_store_commit(pj_store_t *st, const pj_writes_t *w, const char *topic,
                          const int64_t *offsets, int nparts, bool kill_mid, char *errstr,
                          size_t errstr_size);

/* Waits (polling every second, until *@stop) for the advisory locks of all @nparts
 * partitions of projector schema @schema on this connection: no projector writes to it
 * while they are held. */
pgx_err_t pj_store_lock_schema(pj_store_t *st, const char *schema, int nparts,
                               volatile sig_atomic_t *stop, char *errstr, size_t errstr_size);

/* In one transaction: renames @live (when it exists) to @old_out and the store's schema
 * to @live. */
pgx_err_t pj_store_swap(pj_store_t *st, const char *live, char *old_out, size_t old_size,
                        char *errstr, size_t errstr_size);

#endif /* PJ_STORE_H */
