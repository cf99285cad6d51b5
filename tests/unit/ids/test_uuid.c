#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "bg_uuid.h"

static void parse_format_round_trip(void **state) {
        const char *text = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        char out[BG_UUID_STR_LEN + 1];
        bg_uuid_t id;

        assert_true(bg_uuid_parse(text, strlen(text), &id));
        assert_int_equal(id.b[0], 0x0f);
        assert_int_equal(id.b[15], 0x0e);
        bg_uuid_format(&id, out);
        assert_string_equal(out, "0f8fad5b-d9cb-469f-a165-70867728950e");
}

static void rejects_malformed_text(void **state) {
        static const char *const bad[] = {
                "",
                "0f8fad5b-d9cb-469f-a165-70867728950",    /* one short */
                "0f8fad5b-d9cb-469f-a165-70867728950e0",  /* one long */
                "0f8fad5bxd9cb-469f-a165-70867728950e",   /* dash missing */
                "0f8fad5b-d9cb-469f-a165-70867728950g",   /* not hex */
                "{f8fad5b-d9cb-469f-a165-70867728950}",
                "' OR 1=1 --                         ",
        };
        bg_uuid_t id;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(&id, 0xff, sizeof(id));
                assert_false(bg_uuid_parse(bad[i], strlen(bad[i]), &id));
                assert_true(bg_uuid_is_nil(&id));
        }
}

static void rejects_embedded_nul(void **state) {
        char text[BG_UUID_STR_LEN] = "0f8fad5b-d9cb-469f-a165-70867728950e";
        bg_uuid_t id;

        text[10] = '\0';
        assert_false(bg_uuid_parse(text, sizeof(text), &id));
}

static void generate_gives_distinct_v4(void **state) {
        bg_uuid_t a, b;

        bg_uuid_generate(&a);
        bg_uuid_generate(&b);
        assert_false(bg_uuid_equal(&a, &b));
        assert_int_equal(a.b[6] >> 4, 4);
        assert_false(bg_uuid_is_nil(&a));
        assert_true(bg_uuid_compare(&a, &a) == 0);
}

/* bg_uuid_parse and bg_uuid_format are table-driven; libuuid is the reference: on random
 * 36-byte texts (mostly well-formed, with one byte changed at random in most of them)
 * both accept the same texts with the same bytes, and formatting matches
 * uuid_unparse_lower(). */
static void agrees_with_libuuid(void **state) {
        static const char alphabet[] = "0123456789abcdefABCDEF-gG{} x/:@`";
        char text[BG_UUID_STR_LEN + 1], ours[BG_UUID_STR_LEN + 1], theirs[BG_UUID_STR_LEN + 1];
        size_t accepted = 0;
        uuid_t ref;
        bg_uuid_t id;

        srand(20261126);
        for (int n = 0; n < 200000; n++) {
                for (int i = 0; i < 16; i++)
                        id.b[i] = (uint8_t)rand();
                uuid_unparse_lower(id.b, theirs);
                bg_uuid_format(&id, ours);
                assert_string_equal(ours, theirs);
                memcpy(text, ours, sizeof(text));
                if (n % 3 == 1)
                        uuid_unparse_upper(id.b, text);
                if (n % 4 != 0)
                        text[rand() % BG_UUID_STR_LEN] = alphabet[rand() % (sizeof(alphabet) - 1)];
                if (uuid_parse(text, ref) == 0) {
                        accepted++;
                        assert_true(bg_uuid_parse(text, BG_UUID_STR_LEN, &id));
                        assert_memory_equal(id.b, ref, 16);
                } else {
                        assert_false(bg_uuid_parse(text, BG_UUID_STR_LEN, &id));
                        assert_true(bg_uuid_is_nil(&id));
                }
        }
        /* Both outcomes were exercised many times. */
        assert_in_range(accepted, 60000, 180000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parse_format_round_trip),
                cmocka_unit_test(rejects_malformed_text),
                cmocka_unit_test(rejects_embedded_nul),
                cmocka_unit_test(generate_gives_distinct_v4),
                cmocka_unit_test(agrees_with_libuuid),
        };
        return cmocka_run_group_tests_name("uuid", tests, NULL, NULL);
}
