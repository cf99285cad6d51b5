/*
 * inv_dedup: the set of usage ids already billed, with each record's timestamp_begin,
 * over the de-duplication window.
 *
 * Open addressing with linear probing over 24-byte slots (id, time), load at most 1/2.
 * The table is allocated and touched for the configured capacity at start, so memory is
 * flat while the set fills; past the capacity it doubles (and logs it). Pruning rebuilds
 * the table without the ids older than the cutoff (no tombstones).
 *
 * Persistence is the caller's: the ids are written to PostgreSQL in the transaction that
 * bills them, and loaded back at start.
 *
 * @locality one thread.
 */
#ifndef INV_DEDUP_H
#define INV_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_uuid.h"

typedef struct inv_dedup_s inv_dedup_t;

/* A set sized for @capacity ids; NULL when out of memory. */
inv_dedup_t *inv_dedup_new(size_t capacity);
void inv_dedup_destroy(inv_dedup_t *d);         /* NULL is a no-op */

bool inv_dedup_contains(const inv_dedup_t *d, const bg_uuid_t *id);

/* Asks the CPU to bring the slot where @id's probe starts into the cache, so that the
 * probe a few records later does not wait for memory. A hint: the set is unchanged. */
void inv_dedup_prefetch(const inv_dedup_t *d, const bg_uuid_t *id);

/* The hash the set places @id by (tests use it to make ids that collide). */
uint64_t inv_dedup_hash(const bg_uuid_t *id);

/* Adds @id (seen with timestamp_begin @ts_ms); false when out of memory. Adding an id
 * already there keeps the later time. */
bool inv_dedup_add(inv_dedup_t *d, const bg_uuid_t *id, int64_t ts_ms);

/* Forgets the ids whose time is before @cutoff_ms; returns how many. */
size_t inv_dedup_prune(inv_dedup_t *d, int64_t cutoff_ms);

void inv_dedup_clear(inv_dedup_t *d);
size_t inv_dedup_count(const inv_dedup_t *d);
/* Bytes held by the table. */
size_t inv_dedup_bytes(const inv_dedup_t *d);

#endif /* INV_DEDUP_H */
