/*
 * The local stack's schema registry enforces the evolution rule of schemas/README.md:
 * every subject is BACKWARD compatible. Through the codec's registry client (the one
 * billing-topics uses): a new version that adds a field without a default is refused
 * (CODEC_ERR_INVALID, HTTP 409), the same field with a default is accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bg_test_support.h"
#include "codec.h"

#define V1 "{\"type\":\"record\",\"name\":\"Compat\",\"namespace\":\"billing.test\"," \
           "\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}"
#define V2_NO_DEFAULT "{\"type\":\"record\",\"name\":\"Compat\",\"namespace\":\"billing.test\"," \
           "\"fields\":[{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"b\",\"type\":\"string\"}]}"
#define V2_DEFAULT "{\"type\":\"record\",\"name\":\"Compat\",\"namespace\":\"billing.test\"," \
           "\"fields\":[{\"name\":\"a\",\"type\":\"long\"}," \
           "{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}"

static void backward_compatibility_is_enforced(void **state) {
        char errstr[512], subject[128];
        codec_registry_t *reg;
        int32_t id1 = 0, id2 = 0, id3 = 0;

        (void)state;
        reg = codec_registry_http_new(bg_test_env("BILLING_SCHEMA_REGISTRY_URL"), 5000, errstr,
                                      sizeof(errstr));
        if (reg == NULL)
                fail_msg("%s", errstr);
        bg_test_unique_name(subject, sizeof(subject), "it-compat");
        strncat(subject, "-value", sizeof(subject) - strlen(subject) - 1);

        assert_int_equal(codec_registry_register(reg, subject, V1, &id1, errstr,
                                                 sizeof(errstr)), CODEC_OK);
        assert_true(id1 > 0);

        errstr[0] = '\0';
        assert_int_equal(codec_registry_register(reg, subject, V2_NO_DEFAULT, &id2, errstr,
                                                 sizeof(errstr)), CODEC_ERR_INVALID);
        print_message("refused as expected: %s\n", errstr);
        assert_non_null(strstr(errstr, "HTTP 409"));

        assert_int_equal(codec_registry_register(reg, subject, V2_DEFAULT, &id3, errstr,
                                                 sizeof(errstr)), CODEC_OK);
        assert_true(id3 > 0 && id3 != id1);
        codec_registry_destroy(reg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(backward_compatibility_is_enforced),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
