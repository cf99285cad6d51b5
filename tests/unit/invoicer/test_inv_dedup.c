#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bg_uuidmap.h"
#include "inv_dedup.h"

/* The de-duplication set against a reference (bg_uuidmap of id -> time): random ids,
 * ids whose hash collides in full (same bucket, same tag: only the id tells them apart),
 * a cluster of 100 ids of one hash, growth past the capacity, pruning by the window, and a
 * reload from the (id, time) pairs as after a restart. */

#define DAY INT64_C(86400000)

static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t rnd(void) {
        uint64_t x = rng_state;         /* xorshift64 */

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return rng_state = x;
}

static bg_uuid_t random_id(void) {
        bg_uuid_t id;
        uint64_t a = rnd(), b = rnd();

        memcpy(id.b, &a, 8);
        memcpy(id.b + 8, &b, 8);
        return id;
}

/* An id other than @x with the same hash: the set folds the halves as
 * lo ^ hi * K before mixing, so any hi with lo = fold ^ hi * K collides. Checked, so a
 * change of the hash makes this test fail rather than silently stop colliding. */
static bg_uuid_t collider(const bg_uuid_t *x) {
        const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
        uint64_t lo, hi, fold, hi2, lo2;
        bg_uuid_t y;

        memcpy(&lo, x->b, 8);
        memcpy(&hi, x->b + 8, 8);
        fold = lo ^ hi * k;
        hi2 = rnd();
        lo2 = fold ^ hi2 * k;
        memcpy(y.b, &lo2, 8);
        memcpy(y.b + 8, &hi2, 8);
        assert_int_equal(inv_dedup_hash(&y), inv_dedup_hash(x));
        assert_memory_not_equal(y.b, x->b, 16);
        return y;
}

/* The reference: ids and their latest time. */
typedef struct ref_s {
        bg_uuidmap_t *map;
        bg_uuid_t *ids;
        int64_t *ts;
        size_t n, cap;
} ref_t;

static void ref_init(ref_t *r, size_t cap) {
        r->map = bg_uuidmap_new();
        r->ids = calloc(cap, sizeof(*r->ids));
        r->ts = calloc(cap, sizeof(*r->ts));
        r->n = 0;
        r->cap = cap;
        assert_non_null(r->map);
        assert_non_null(r->ids);
        assert_non_null(r->ts);
}

static void ref_free(ref_t *r) {
        bg_uuidmap_destroy(r->map);
        free(r->ids);
        free(r->ts);
}

static int64_t *ref_get(ref_t *r, const bg_uuid_t *id) {
        return bg_uuidmap_get(r->map, id);
}

static void ref_add(ref_t *r, const bg_uuid_t *id, int64_t ts) {
        int64_t *t = ref_get(r, id);

        if (t != NULL) {
                if (ts > *t)
                        *t = ts;
                return;
        }
        assert_true(r->n < r->cap);
        r->ids[r->n] = *id;
        r->ts[r->n] = ts;
        assert_true(bg_uuidmap_put(r->map, &r->ids[r->n], &r->ts[r->n]));
        r->n++;
}

/* Rebuilds the reference without the ids older than @cutoff. */
static void ref_prune(ref_t *r, int64_t cutoff) {
        size_t k = 0;

        bg_uuidmap_destroy(r->map);
        r->map = bg_uuidmap_new();
        assert_non_null(r->map);
        for (size_t i = 0; i < r->n; i++) {
                if (r->ts[i] < cutoff)
                        continue;
                r->ids[k] = r->ids[i];
                r->ts[k] = r->ts[i];
                k++;
        }
        r->n = k;
        for (size_t i = 0; i < r->n; i++)
                assert_true(bg_uuidmap_put(r->map, &r->ids[i], &r->ts[i]));
}

/* Every reference id is in @d, @d holds no more, and @absent ids are not in it. */
static void check_same(const inv_dedup_t *d, ref_t *r, const bg_uuid_t *absent,
                       size_t nabsent) {
        assert_int_equal(inv_dedup_count(d), r->n);
        for (size_t i = 0; i < r->n; i++)
                assert_true(inv_dedup_contains(d, &r->ids[i]));
        for (size_t i = 0; i < nabsent; i++)
                if (ref_get(r, &absent[i]) == NULL)
                        assert_false(inv_dedup_contains(d, &absent[i]));
}

static void test_random_and_colliding_ids(void **state) {
        enum { N = 60000, ABSENT = 4000 };
        inv_dedup_t *d = inv_dedup_new(1024);     /* grows several times */
        bg_uuid_t *absent = calloc(ABSENT, sizeof(*absent));
        ref_t r;

        (void)state;
        assert_non_null(d);
        assert_non_null(absent);
        ref_init(&r, N + 200);
        for (size_t i = 0; i < N; i++) {
                uint64_t what = rnd() % 10;
                int64_t ts = (int64_t)(rnd() % (uint64_t)(60 * DAY));
                bg_uuid_t id;

                if (what < 6 || r.n == 0)
                        id = random_id();
                else if (what < 8)               /* same hash as an id in the set */
                        id = collider(&r.ids[rnd() % r.n]);
                else                             /* again, at another time */
                        id = r.ids[rnd() % r.n];
                assert_true(inv_dedup_add(d, &id, ts));
                ref_add(&r, &id, ts);
        }
        /* A cluster of 100 ids of one hash: one long probe sequence. */
        {
                bg_uuid_t base = random_id();

                assert_true(inv_dedup_add(d, &base, 1));
                ref_add(&r, &base, 1);
                for (int i = 0; i < 99; i++) {
                        bg_uuid_t c = collider(&base);
                        assert_true(inv_dedup_add(d, &c, 2));
                        ref_add(&r, &c, 2);
                }
        }
        /* Absent ids: half of them collide with ids in the set. */
        for (size_t i = 0; i < ABSENT; i++)
                absent[i] = i % 2 ? random_id() : collider(&r.ids[rnd() % r.n]);
        check_same(d, &r, absent, ABSENT);

        /* Pruning by the window: 35 days before day 60. */
        {
                int64_t cutoff = 25 * DAY;
                size_t before = r.n, pruned = inv_dedup_prune(d, cutoff);

                ref_prune(&r, cutoff);
                assert_int_equal(pruned, before - r.n);
                assert_true(pruned > 0);
                check_same(d, &r, absent, ABSENT);
                assert_int_equal(inv_dedup_prune(d, cutoff), 0);
        }
        ref_free(&r);
        free(absent);
        inv_dedup_destroy(d);
}

static void test_later_time_is_kept(void **state) {
        inv_dedup_t *d = inv_dedup_new(1024);
        bg_uuid_t a = random_id(), b = collider(&a);

        (void)state;
        assert_true(inv_dedup_add(d, &a, 100 * DAY));
        assert_true(inv_dedup_add(d, &a, 10 * DAY));    /* earlier: keeps 100 */
        assert_true(inv_dedup_add(d, &b, 10 * DAY));
        assert_true(inv_dedup_add(d, &b, 50 * DAY));    /* later: 50 */
        assert_int_equal(inv_dedup_count(d), 2);
        assert_int_equal(inv_dedup_prune(d, 50 * DAY), 0);
        assert_int_equal(inv_dedup_prune(d, 50 * DAY + 1), 1);
        assert_true(inv_dedup_contains(d, &a));
        assert_false(inv_dedup_contains(d, &b));
        /* b is gone with the rebuild; a is still found. */
        assert_true(inv_dedup_add(d, &b, 200 * DAY));
        assert_true(inv_dedup_contains(d, &b));
        assert_int_equal(inv_dedup_count(d), 2);
        inv_dedup_destroy(d);
}

/* A restart: the set is cleared and loaded back from the stored (id, time) pairs, in
 * another order, into the same table and into a new one of another size. */
static void test_reload(void **state) {
        enum { N = 20000 };
        inv_dedup_t *d = inv_dedup_new(N), *e = inv_dedup_new(1024);
        size_t bytes;
        ref_t r;

        (void)state;
        assert_non_null(d);
        assert_non_null(e);
        bytes = inv_dedup_bytes(d);
        ref_init(&r, N);
        for (size_t i = 0; i < N; i++) {
                bg_uuid_t id = i % 3 == 2 ? collider(&r.ids[i - 1]) : random_id();
                int64_t ts = (int64_t)i;
                assert_true(inv_dedup_add(d, &id, ts));
                ref_add(&r, &id, ts);
        }
        assert_int_equal(inv_dedup_bytes(d), bytes);    /* flat up to the capacity */
        inv_dedup_clear(d);
        assert_int_equal(inv_dedup_count(d), 0);
        for (size_t i = 0; i < r.n; i++)
                assert_false(inv_dedup_contains(d, &r.ids[i]));
        for (size_t i = r.n; i-- > 0;) {
                assert_true(inv_dedup_add(d, &r.ids[i], r.ts[i]));
                assert_true(inv_dedup_add(e, &r.ids[i], r.ts[i]));
        }
        check_same(d, &r, NULL, 0);
        check_same(e, &r, NULL, 0);
        assert_true(inv_dedup_bytes(e) > bytes / 2);    /* grew */
        assert_int_equal(inv_dedup_prune(d, N / 2), N / 2);
        assert_int_equal(inv_dedup_prune(e, N / 2), N / 2);
        ref_prune(&r, N / 2);
        check_same(d, &r, NULL, 0);
        check_same(e, &r, NULL, 0);
        ref_free(&r);
        inv_dedup_destroy(d);
        inv_dedup_destroy(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random_and_colliding_ids),
                cmocka_unit_test(test_later_time_is_kept),
                cmocka_unit_test(test_reload),
        };
        inv_dedup_destroy(NULL);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
