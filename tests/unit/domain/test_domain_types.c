/* Names of the domain enums, the profile helpers and the validators behind
 * invalid_argument. */
#include <stdio.h>

#include "domain_fixture.h"

static void command_names_round_trip(void **state) {
        for (int t = BG_CMD_NONE + 1; t < BG_CMD__COUNT; t++) {
                const char *n = bg_command_type_name((bg_command_type_t)t);

                assert_non_null(n);
                assert_int_equal(bg_command_type_from_name(n), t);
        }
        assert_string_equal(bg_command_type_name(BG_CMD_ASSIGN_PROJECTS), "AssignProjects");
        assert_null(bg_command_type_name(BG_CMD_NONE));
        assert_null(bg_command_type_name(BG_CMD__COUNT));
        assert_int_equal(bg_command_type_from_name("assignprojects"), BG_CMD_NONE);
        assert_int_equal(bg_command_type_from_name(NULL), BG_CMD_NONE);
}

static void event_names_round_trip(void **state) {
        static const char *const expect[] = {
                NULL, "AccountCreated", "RoleGranted", "RoleRevoked", "BillingGroupCreated",
                "BillingGroupRenamed", "BillingProfileUpdated", "BillingGroupDeleted",
                "PrimaryBillingGroupSet", "ProjectCreated", "ProjectMoved", "ProjectDeleted",
                "CreditIssued", "CreditClaimed",
        };

        assert_int_equal(sizeof(expect) / sizeof(expect[0]), BG_EVT__COUNT);
        for (int t = BG_EVT_NONE + 1; t < BG_EVT__COUNT; t++) {
                assert_string_equal(bg_event_type_name((bg_event_type_t)t), expect[t]);
                assert_int_equal(bg_event_type_from_name(expect[t]), t);
        }
        assert_null(bg_event_type_name((bg_event_type_t)-1));
        assert_int_equal(bg_event_type_from_name("Nope"), BG_EVT_NONE);
}

static void enum_names(void **state) {
        assert_string_equal(bg_currency_name(BG_CURRENCY_AUD), "AUD");
        assert_string_equal(bg_currency_name(BG_CURRENCY_USD), "USD");
        for (int c = BG_CURRENCY_UNSET + 1; c < BG_CURRENCY__COUNT; c++)
                assert_int_equal(bg_currency_from_name(bg_currency_name((bg_currency_t)c)), c);
        assert_int_equal(bg_currency_from_name("usd"), BG_CURRENCY_UNSET);
        assert_int_equal(bg_currency_from_name("XBT"), BG_CURRENCY_UNSET);
        assert_null(bg_currency_name(BG_CURRENCY_UNSET));

        assert_string_equal(bg_payment_method_name(BG_PAYMENT_NO_PAYMENT_EXPECTED),
                            "no_payment_expected");
        for (int m = BG_PAYMENT_UNSET + 1; m < BG_PAYMENT__COUNT; m++)
                assert_int_equal(bg_payment_method_from_name(
                                         bg_payment_method_name((bg_payment_method_t)m)), m);
        assert_int_equal(bg_payment_method_from_name("cash"), BG_PAYMENT_UNSET);

        assert_string_equal(bg_role_name(BG_ROLE_BILLING_ADMIN), "billing_admin");
        assert_int_equal(bg_role_from_name("viewer"), BG_ROLE_VIEWER);
        assert_int_equal(bg_role_from_name("owner"), BG_ROLE_NONE);

        assert_string_equal(bg_reject_code_name(BG_REJECT_FAILED_PRECONDITION),
                            "failed_precondition");
        for (int r = BG_REJECT_NONE + 1; r < BG_REJECT__COUNT; r++)
                assert_int_equal(bg_reject_code_from_name(
                                         bg_reject_code_name((bg_reject_code_t)r)), r);
        assert_int_equal(bg_reject_code_from_name("duplicate"), BG_REJECT_NONE);

        assert_string_equal(bg_outcome_name(BG_OUTCOME_DUPLICATE), "duplicate");
        assert_int_equal(bg_outcome_from_name("accepted"), BG_OUTCOME_ACCEPTED);
        assert_int_equal(bg_outcome_from_name("rejected"), BG_OUTCOME_REJECTED);
        assert_int_equal(bg_outcome_from_name("x"), BG_OUTCOME__COUNT);

        assert_string_equal(bg_credit_type_name(BG_CREDIT_TYPE_TRIAL_OVER), "trial_over");
        for (int t = BG_CREDIT_TYPE_UNSET + 1; t < BG_CREDIT_TYPE__COUNT; t++)
                assert_int_equal(bg_credit_type_from_name(
                                         bg_credit_type_name((bg_credit_type_t)t)), t);
        assert_int_equal(bg_credit_type_from_name("gift"), BG_CREDIT_TYPE_UNSET);

        assert_string_equal(bg_profile_field_name(BG_PROFILE_F_VAT_ID), "vat_id");
        assert_string_equal(bg_profile_field_name(BG_PROFILE_F_BILLING_CURRENCY),
                            "billing_currency");
        assert_null(bg_profile_field_name(BG_PROFILE_F_VAT_ID | BG_PROFILE_F_CITY));
        assert_string_equal(acct_err_name(ACCT_ERR_SEQ), "seq");
}

static void patch_and_diff(void **state) {
        bg_profile_t a, b;
        bg_profile_patch_t patch;

        memset(&a, 0, sizeof(a));
        a.payment_method = BG_PAYMENT_EMAIL;
        a.billing_currency = BG_CURRENCY_EUR;
        FX_SET(a.city, "Helsinki");
        FX_SET(a.billing_emails[0], "a@example.com");
        a.n_billing_emails = 1;
        b = a;
        assert_int_equal(bg_profile_diff(&a, &b), 0);

        memset(&patch, 0, sizeof(patch));
        patch.present = BG_PROFILE_F_CITY | BG_PROFILE_F_BILLING_EMAILS;
        FX_SET(patch.v.city, "Espoo");
        FX_SET(patch.v.billing_emails[0], "a@example.com");
        FX_SET(patch.v.billing_emails[1], "b@example.com");
        patch.v.n_billing_emails = 2;
        FX_SET(patch.v.company, "ignored: not present");
        bg_profile_apply_patch(&b, &patch);
        assert_string_equal(b.city, "Espoo");
        assert_int_equal(b.n_billing_emails, 2);
        assert_string_equal(b.billing_emails[1], "b@example.com");
        assert_string_equal(b.company, "");
        assert_int_equal(b.billing_currency, BG_CURRENCY_EUR);
        assert_int_equal(bg_profile_diff(&a, &b),
                         BG_PROFILE_F_CITY | BG_PROFILE_F_BILLING_EMAILS);

        /* Garbage after the used entries does not count as a difference. */
        b = a;
        FX_SET(b.billing_emails[5], "stale@example.com");
        assert_int_equal(bg_profile_diff(&a, &b), 0);
        b.billing_currency = BG_CURRENCY_USD;
        b.payment_method = BG_PAYMENT_CARD;
        assert_int_equal(bg_profile_diff(&a, &b),
                         BG_PROFILE_F_BILLING_CURRENCY | BG_PROFILE_F_PAYMENT_METHOD);
}

/* E-mail validation, seen through GrantRole's invalid_argument. */
static void email_validation(void **state) {
        static const char *const good[] = {
                "a@b.io", "first.last+tag@sub.example.com", "x_y-z@a-b.example.org",
        };
        static const char *const bad[] = {
                "", "plain", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com",
                "a@b..com", ".a@b.com", "a.@b.com", "a..b@c.com", "a@-b.com", "a@b-.com",
                "a@b.com.", "ä@b.com", "a@b.com\n", "a@b.co-",
        };
        fx_t *fx = fx_new();

        fx_create_account(fx);
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                fx_grant(fx, good[i], BG_ROLE_VIEWER);
        assert_int_equal(acct_member_count(fx->st), 4);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                bg_command_t *c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);

                FX_SET(c->payload.grant_role.user, bad[i]);
                c->payload.grant_role.role = BG_ROLE_VIEWER;
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid user");
        }
        /* The local part is at most 64 characters, a domain label at most 63. */
        {
                bg_command_t *c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);
                char *u = c->payload.grant_role.user;

                c->payload.grant_role.role = BG_ROLE_VIEWER;
                memset(u, 'l', 65);
                memcpy(u + 65, "@b.com", 7);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid user");
                memcpy(u + 64, "@b.com", 7);
                fx_accept(fx, 1);
                c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);
                c->payload.grant_role.role = BG_ROLE_VIEWER;
                memcpy(u, "a@", 2);
                memset(u + 2, 'd', 64);
                memcpy(u + 66, ".com", 5);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid user");
                memcpy(u + 65, ".com", 5);
                fx_accept(fx, 1);
        }
        /* 255 characters: one over the limit. */
        {
                bg_command_t *c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);
                char *u = c->payload.grant_role.user;

                memset(u, 'a', 64);
                u[64] = '@';
                for (int i = 65; i < 254; i++)
                        u[i] = (i % 60 == 0) ? '.' : 'b';
                memcpy(u + 250, ".com", 5);     /* exactly 254 */
                c->payload.grant_role.role = BG_ROLE_VIEWER;
                fx_accept(fx, 1);
                c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);
                memset(u, 'a', 64);
                u[64] = '@';
                for (int i = 65; i < 255; i++)
                        u[i] = (i % 60 == 0) ? '.' : 'b';
                memcpy(u + 251, ".com", 4);     /* 255 fills the array: no NUL */
                c->payload.grant_role.role = BG_ROLE_VIEWER;
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid user");
        }
        fx_free(fx);
}

/* A packed profile gives back every field exactly: full lists and strings at their
 * limits, empty ones, and the enums. */
static void packed_profile_round_trip(void **state) {
        static bg_profile_t full, out;
        bg_profile_t empty;
        bg_profile_packed_t *pk;

        memset(&full, 0, sizeof(full));
        full.n_billing_emails = BG_BILLING_EMAILS_MAX;
        for (size_t i = 0; i < BG_BILLING_EMAILS_MAX; i++)
                snprintf(full.billing_emails[i], BG_EMAIL_SIZE, "billing%zu@example.com", i);
        full.n_billing_contact_emails = 1;
        memset(full.billing_contact_emails[0], 'c', BG_EMAIL_MAX);
        memset(full.billing_extra_text, 'x', sizeof(full.billing_extra_text) - 1);
        full.payment_method = BG_PAYMENT_CARD;
        snprintf(full.card_id, sizeof(full.card_id), "card_1");
        snprintf(full.company, sizeof(full.company), "Acme Oy");
        full.n_address_lines = BG_ADDRESS_LINES_MAX;
        for (size_t i = 0; i < BG_ADDRESS_LINES_MAX; i++)
                snprintf(full.address_lines[i], BG_ADDRESS_LINE_SIZE, "line %zu", i);
        memset(full.address_lines[2], 0, BG_ADDRESS_LINE_SIZE);        /* an empty one */
        snprintf(full.city, sizeof(full.city), "Helsinki");
        snprintf(full.zip_code, sizeof(full.zip_code), "00100");
        snprintf(full.country_code, sizeof(full.country_code), "FI");
        snprintf(full.vat_id, sizeof(full.vat_id), "FI12345678");
        full.billing_currency = BG_CURRENCY_EUR;

        pk = bg_profile_pack(&full);
        assert_non_null(pk);
        memset(&out, 0x5a, sizeof(out));
        bg_profile_unpack(pk, &out);
        assert_int_equal(bg_profile_diff(&full, &out), 0);
        assert_memory_equal(&full, &out, sizeof(full));
        bg_profile_packed_free(pk);

        memset(&empty, 0, sizeof(empty));
        empty.payment_method = BG_PAYMENT_EMAIL;
        empty.billing_currency = BG_CURRENCY_JPY;
        pk = bg_profile_pack(&empty);
        bg_profile_unpack(pk, &out);
        assert_memory_equal(&empty, &out, sizeof(empty));
        bg_profile_packed_free(pk);
        bg_profile_packed_free(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(command_names_round_trip),
                cmocka_unit_test(event_names_round_trip),
                cmocka_unit_test(enum_names),
                cmocka_unit_test(patch_and_diff),
                cmocka_unit_test(email_validation),
                cmocka_unit_test(packed_profile_round_trip),
        };
        return cmocka_run_group_tests_name("domain types", tests, NULL, NULL);
}
