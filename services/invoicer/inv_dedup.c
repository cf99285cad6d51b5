#include "inv_dedup.h"

#include <stdlib.h>
#include <string.h>

#include "bg_log.h"

#define EMPTY INT64_MIN

typedef struct slot_s {
        uint8_t id[16];
        int64_t ts;                     /* EMPTY: free slot */
} slot_t;

struct inv_dedup_s {
        slot_t *d_slots;
        size_t d_mask;                  /* slots - 1 (a power of two) */
        size_t d_count;
};

static uint64_t hash_id(const uint8_t id[16]) {
        uint64_t a, b;

        /* Ids are random (v4) or at least well mixed; fold and mix anyway so that
         * sequential test ids spread too. */
        memcpy(&a, id, 8);
        memcpy(&b, id + 8, 8);
        a ^= b * UINT64_C(0x9e3779b97f4a7c15);
        a ^= a >> 31;
        a *= UINT64_C(0xbf58476d1ce4e5b9);
        a ^= a >> 29;
        return a;
}

uint64_t inv_dedup_hash(const bg_uuid_t *id) {
        return hash_id(id->b);
}

static slot_t *alloc_slots(size_t n) {
        slot_t *s = malloc(n * sizeof(*s));

        if (s == NULL)
                return NULL;
        /* Touches every page now: the set's memory is all there from the start. */
        for (size_t i = 0; i < n; i++)
                s[i].ts = EMPTY;
        return s;
}

inv_dedup_t *inv_dedup_new(size_t capacity) {
        inv_dedup_t *d = calloc(1, sizeof(*d));
        size_t n = 1024;

        if (d == NULL)
                return NULL;
        while (n < capacity * 2)
                n *= 2;
        d->d_slots = alloc_slots(n);
        if (d->d_slots == NULL) {
                free(d);
                return NULL;
        }
        d->d_mask = n - 1;
        return d;
}

void inv_dedup_destroy(inv_dedup_t *d) {
        if (d == NULL)
                return;
        free(d->d_slots);
        free(d);
}

static slot_t *find(const inv_dedup_t *d, const uint8_t id[16]) {
        size_t i = (size_t)hash_id(id) & d->d_mask;

        for (;;) {
                slot_t *s = &d->d_slots[i];
                if (s->ts == EMPTY || memcmp(s->id, id, 16) == 0)
                        return s;
                i = (i + 1) & d->d_mask;
        }
}

bool inv_dedup_contains(const inv_dedup_t *d, const bg_uuid_t *id) {
        return find(d, id->b)->ts != EMPTY;
}

void inv_dedup_prefetch(const inv_dedup_t *d, const bg_uuid_t *id) {
        /* for writing: an id not in the set is added to the slot its probe ends on */
        __builtin_prefetch(&d->d_slots[(size_t)hash_id(id->b) & d->d_mask], 1);
}

static bool rehash(inv_dedup_t *d, size_t n, int64_t cutoff) {
        slot_t *old = d->d_slots, *s;
        size_t old_n = d->d_mask + 1;

        s = alloc_slots(n);
        if (s == NULL)
                return false;
        d->d_slots = s;
        d->d_mask = n - 1;
        d->d_count = 0;
        for (size_t i = 0; i < old_n; i++) {
                slot_t *o = &old[i], *t;
                if (o->ts == EMPTY || o->ts < cutoff)
                        continue;
                t = find(d, o->id);
                *t = *o;
                d->d_count++;
        }
        free(old);
        return true;
}

bool inv_dedup_add(inv_dedup_t *d, const bg_uuid_t *id, int64_t ts_ms) {
        slot_t *s;

        if ((d->d_count + 1) * 2 > d->d_mask + 1) {
                bg_log_warn("de-duplication set is full at %zu ids: doubling it (raise "
                            "BILLING_DEDUP_CAPACITY to keep memory flat)", d->d_count);
                if (!rehash(d, (d->d_mask + 1) * 2, INT64_MIN))
                        return false;
        }
        if (ts_ms == EMPTY)
                ts_ms = EMPTY + 1;
        s = find(d, id->b);
        if (s->ts == EMPTY) {
                memcpy(s->id, id->b, 16);
                s->ts = ts_ms;
                d->d_count++;
        } else if (ts_ms > s->ts) {
                s->ts = ts_ms;
        }
        return true;
}

size_t inv_dedup_prune(inv_dedup_t *d, int64_t cutoff_ms) {
        size_t before = d->d_count, stale = 0;

        for (size_t i = 0; i <= d->d_mask; i++)
                if (d->d_slots[i].ts != EMPTY && d->d_slots[i].ts < cutoff_ms)
                        stale++;
        if (stale == 0 || !rehash(d, d->d_mask + 1, cutoff_ms))
                return 0;
        return before - d->d_count;
}

void inv_dedup_clear(inv_dedup_t *d) {
        for (size_t i = 0; i <= d->d_mask; i++)
                d->d_slots[i].ts = EMPTY;
        d->d_count = 0;
}

size_t inv_dedup_count(const inv_dedup_t *d) {
        return d->d_count;
}

size_t inv_dedup_bytes(const inv_dedup_t *d) {
        return (d->d_mask + 1) * sizeof(slot_t);
}
