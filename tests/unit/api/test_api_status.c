/*
 * The HTTP status of every domain rejection code, written out as docs/api.md documents
 * it ("Rejection codes"): invalid_argument 400, forbidden 403, not_found 404,
 * already_exists 409, failed_precondition 409, conflict 412. A code added to
 * bg_reject_code_t without a row here fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api.h"

static const struct {
        bg_reject_code_t code;
        const char *name;       /* the stable code in the JSON error body */
        unsigned status;
} expected[] = {
        {BG_REJECT_NONE, NULL, 500},                    /* not a rejection: a bug if sent */
        {BG_REJECT_INVALID_ARGUMENT, "invalid_argument", 400},
        {BG_REJECT_NOT_FOUND, "not_found", 404},
        {BG_REJECT_ALREADY_EXISTS, "already_exists", 409},
        {BG_REJECT_FAILED_PRECONDITION, "failed_precondition", 409},
        {BG_REJECT_CONFLICT, "conflict", 412},
        {BG_REJECT_FORBIDDEN, "forbidden", 403},
};

static void test_every_code_has_its_status(void **state) {
        bool seen[BG_REJECT__COUNT] = {false};
        const size_t n = sizeof(expected) / sizeof(expected[0]);

        (void)state;
        assert_int_equal(n, BG_REJECT__COUNT);
        for (size_t i = 0; i < n; i++) {
                assert_true((unsigned)expected[i].code < BG_REJECT__COUNT);
                assert_false(seen[expected[i].code]);
                seen[expected[i].code] = true;
                if (api_reject_status(expected[i].code) != expected[i].status)
                        fail_msg("%s: HTTP %u, expected %u",
                                 expected[i].name ? expected[i].name : "(none)",
                                 api_reject_status(expected[i].code), expected[i].status);
                if (expected[i].name != NULL)
                        assert_string_equal(bg_reject_code_name(expected[i].code),
                                            expected[i].name);
        }
}

/* Values outside the enum's range would be undefined behaviour (UBSan's enum check). */
static void test_out_of_range_is_internal(void **state) {
        (void)state;
        assert_int_equal(api_reject_status(BG_REJECT__COUNT), 500);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_code_has_its_status),
                cmocka_unit_test(test_out_of_range_is_internal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
