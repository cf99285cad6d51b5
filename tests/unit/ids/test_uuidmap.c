#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_uuidmap.h"

/* Ids that collide on purpose: only the last byte differs, so the hash puts many of them
 * in one probe chain and removal has to repair it. */
static bg_uuid_t id_of(unsigned n) {
        bg_uuid_t id;
        memset(&id, 0, sizeof(id));
        id.b[14] = (uint8_t)(n >> 8);
        id.b[15] = (uint8_t)n;
        return id;
}

static void put_get_replace_remove(void **state) {
        bg_uuidmap_t *m = bg_uuidmap_new();
        static int values[5000];

        for (unsigned i = 0; i < 5000; i++) {
                bg_uuid_t id = id_of(i);
                values[i] = (int)i;
                assert_true(bg_uuidmap_put(m, &id, &values[i]));
        }
        assert_int_equal(bg_uuidmap_count(m), 5000);
        for (unsigned i = 0; i < 5000; i++) {
                bg_uuid_t id = id_of(i);
                assert_ptr_equal(bg_uuidmap_get(m, &id), &values[i]);
        }
        /* Remove every third; the others must stay reachable through repaired chains. */
        for (unsigned i = 0; i < 5000; i += 3) {
                bg_uuid_t id = id_of(i);
                assert_ptr_equal(bg_uuidmap_remove(m, &id), &values[i]);
                assert_null(bg_uuidmap_remove(m, &id));
        }
        for (unsigned i = 0; i < 5000; i++) {
                bg_uuid_t id = id_of(i);
                if (i % 3 == 0)
                        assert_null(bg_uuidmap_get(m, &id));
                else
                        assert_ptr_equal(bg_uuidmap_get(m, &id), &values[i]);
        }
        assert_int_equal(bg_uuidmap_count(m), 5000 - 1667);
        {
                bg_uuid_t id = id_of(1);
                assert_true(bg_uuidmap_put(m, &id, &values[2]));
                assert_ptr_equal(bg_uuidmap_get(m, &id), &values[2]);
                assert_int_equal(bg_uuidmap_count(m), 5000 - 1667);
        }
        bg_uuidmap_destroy(m);
        bg_uuidmap_destroy(NULL);
}

static void iterates_every_entry_once(void **state) {
        bg_uuidmap_t *m = bg_uuidmap_new();
        static int values[100];
        int seen[100] = {0};
        size_t pos = 0, n = 0;
        bg_uuid_t key;
        void *value;

        for (unsigned i = 0; i < 100; i++) {
                bg_uuid_t id = id_of(i * 7919);
                assert_true(bg_uuidmap_put(m, &id, &values[i]));
        }
        while (bg_uuidmap_next(m, &pos, &key, &value)) {
                int i = (int)((int *)value - values);
                bg_uuid_t want = id_of((unsigned)i * 7919);
                assert_true(bg_uuid_equal(&key, &want));
                seen[i]++;
                n++;
        }
        assert_int_equal(n, 100);
        for (int i = 0; i < 100; i++)
                assert_int_equal(seen[i], 1);
        bg_uuidmap_destroy(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(put_get_replace_remove),
                cmocka_unit_test(iterates_every_entry_once),
        };
        return cmocka_run_group_tests_name("uuidmap", tests, NULL, NULL);
}
