#include "bg_uuidmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
        bg_uuid_t key;
        void *value;            /* NULL: empty slot */
} slot_t;

struct bg_uuidmap_s {
        slot_t *um_slots;
        size_t um_cap;          /* power of two */
        size_t um_count;
};

/* Mixes all 16 bytes: ids need not be random v4 UUIDs (tests and benchmarks number
 * them in a few bytes), and a hash of only some bytes would put them in one chain. */
static size_t slot_of(const bg_uuid_t *key, size_t cap) {
        uint64_t a, b, h;

        memcpy(&a, key->b, sizeof(a));
        memcpy(&b, key->b + 8, sizeof(b));
        h = a ^ (b * UINT64_C(0x9e3779b97f4a7c15));
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return (size_t)h & (cap - 1);
}

bg_uuidmap_t *bg_uuidmap_new(void) {
        bg_uuidmap_t *m = calloc(1, sizeof(*m));

        if (m == NULL)
                return NULL;
        m->um_cap = 16;
        m->um_slots = calloc(m->um_cap, sizeof(slot_t));
        if (m->um_slots == NULL) {
                free(m);
                return NULL;
        }
        return m;
}

void bg_uuidmap_destroy(bg_uuidmap_t *m) {
        if (m == NULL)
                return;
        free(m->um_slots);
        free(m);
}

static slot_t *find(const bg_uuidmap_t *m, const bg_uuid_t *key) {
        for (size_t i = slot_of(key, m->um_cap);; i = (i + 1) & (m->um_cap - 1)) {
                slot_t *s = &m->um_slots[i];
                if (s->value == NULL || bg_uuid_equal(&s->key, key))
                        return s;
        }
}

void *bg_uuidmap_get(const bg_uuidmap_t *m, const bg_uuid_t *key) {
        return find(m, key)->value;
}

static bool grow(bg_uuidmap_t *m) {
        size_t old_cap = m->um_cap;
        slot_t *old = m->um_slots;

        m->um_slots = calloc(old_cap * 2, sizeof(slot_t));
        if (m->um_slots == NULL) {
                m->um_slots = old;
                return false;
        }
        m->um_cap = old_cap * 2;
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].value != NULL)
                        *find(m, &old[i].key) = old[i];
        free(old);
        return true;
}

bool bg_uuidmap_put(bg_uuidmap_t *m, const bg_uuid_t *key, void *value) {
        slot_t *s;

        if ((m->um_count + 1) * 4 > m->um_cap * 3 && !grow(m))
                return false;
        s = find(m, key);
        if (s->value == NULL)
                m->um_count++;
        s->key = *key;
        s->value = value;
        return true;
}

void *bg_uuidmap_remove(bg_uuidmap_t *m, const bg_uuid_t *key) {
        slot_t *s = find(m, key);
        void *value = s->value;
        size_t i, j;

        if (value == NULL)
                return NULL;
        m->um_count--;
        /* Backward-shift deletion keeps probe chains intact without tombstones. */
        i = (size_t)(s - m->um_slots);
        for (j = (i + 1) & (m->um_cap - 1); m->um_slots[j].value != NULL;
             j = (j + 1) & (m->um_cap - 1)) {
                size_t home = slot_of(&m->um_slots[j].key, m->um_cap);
                /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        m->um_slots[i] = m->um_slots[j];
                        i = j;
                }
        }
        m->um_slots[i].value = NULL;
        return value;
}

size_t bg_uuidmap_count(const bg_uuidmap_t *m) {
        return m->um_count;
}

bool bg_uuidmap_next(const bg_uuidmap_t *m, size_t *pos, bg_uuid_t *key, void **value) {
        for (; *pos < m->um_cap; (*pos)++) {
                if (m->um_slots[*pos].value != NULL) {
                        if (key)
                                *key = m->um_slots[*pos].key;
                        if (value)
                                *value = m->um_slots[*pos].value;
                        (*pos)++;
                        return true;
                }
        }
        return false;
}
