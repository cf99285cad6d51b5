/*
 * bg_uuidmap: a hash map from bg_uuid_t to a pointer (accounts by id, projects by id...).
 * Open addressing with linear probing; UUIDs are random enough that their first 8 bytes
 * are the hash. The map never owns the values.
 */
#ifndef BG_UUIDMAP_H
#define BG_UUIDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "bg_uuid.h"

typedef struct bg_uuidmap_s bg_uuidmap_t;

bg_uuidmap_t *bg_uuidmap_new(void);          /* NULL when out of memory */
void bg_uuidmap_destroy(bg_uuidmap_t *m);    /* NULL is a no-op; values are not freed */

/* The value stored for @key, or NULL. */
void *bg_uuidmap_get(const bg_uuidmap_t *m, const bg_uuid_t *key);

/* Stores @value (not NULL) for @key, replacing any previous value. Returns false when
 * out of memory (the map is then unchanged). */
bool bg_uuidmap_put(bg_uuidmap_t *m, const bg_uuid_t *key, void *value);

/* Removes @key; returns its value, or NULL when it was not there. */
void *bg_uuidmap_remove(bg_uuidmap_t *m, const bg_uuid_t *key);

size_t bg_uuidmap_count(const bg_uuidmap_t *m);

/* Iteration in no particular order: start with *pos = 0; returns false at the end.
 * The map must not change during the iteration. */
bool bg_uuidmap_next(const bg_uuidmap_t *m, size_t *pos, bg_uuid_t *key, void **value);

#endif /* BG_UUIDMAP_H */
