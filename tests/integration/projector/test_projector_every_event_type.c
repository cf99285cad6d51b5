/*
 * Every event type lands in the right rows: one account's story through every event of
 * the domain, produced to billing.events, projected by billing-projector, then each read
 * model checked row by row (and the audit log's descriptions word for word).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bg_proc.h"
#include "bg_test_support.h"
#include "pj_fixture.h"

static pjt_t *t;
static pjg_account_t *account;
static bg_command_t cmd;

static int run(bg_command_type_t type, const char *actor) {
        char why[512];
        int n;

        cmd.type = type;
        n = pjg_decide(t->pt_gen, account, &cmd, actor, pjt_emit, t, why, sizeof(why));
        if (n < 0)
                fail_msg("%s", why);
        memset(&cmd, 0, sizeof(cmd));
        return n;
}

static void expect_text(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expect_text(const char *want, const char *fmt, ...) {
        char sql[2048];
        va_list ap;
        char *got;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        got = pjt_text(t, "%s", sql);
        if (strcmp(got, want) != 0)
                fail_msg("%s\n  got:  %s\n  want: %s", sql, got, want);
        free(got);
}

static void every_event_type_lands_in_its_rows(void **state) {
        char schema[64], a[37], g1[37], g2[37], g3[37], p1[37], p2[37];
        bg_uuid_t ug1, ug2, ug3, up1, up2;
        pid_t pid;
        int status;
        long long events = 0;

        t = pjt_new("it-proj-types", 2, true);
        pjt_schema(t, schema);
        account = pjg_account_new(t->pt_gen);
        bg_uuid_format(pjg_account_id(account), a);
        bg_uuid_generate(&ug1);
        bg_uuid_generate(&ug2);
        bg_uuid_generate(&ug3);
        bg_uuid_generate(&up1);
        bg_uuid_generate(&up2);
        bg_uuid_format(&ug1, g1);
        bg_uuid_format(&ug2, g2);
        bg_uuid_format(&ug3, g3);
        bg_uuid_format(&up1, p1);
        bg_uuid_format(&up2, p2);

        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Acme");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        events += run(BG_CMD_CREATE_ACCOUNT, PJG_OWNER_ACTOR);                     /* 1 */

        snprintf(cmd.payload.grant_role.user, BG_EMAIL_SIZE, "Bob@Example.com");
        cmd.payload.grant_role.role = BG_ROLE_VIEWER;
        events += run(BG_CMD_GRANT_ROLE, PJG_OWNER_ACTOR);                         /* 2 */
        snprintf(cmd.payload.grant_role.user, BG_EMAIL_SIZE, "bob@example.com");
        cmd.payload.grant_role.role = BG_ROLE_BILLING_ADMIN;
        events += run(BG_CMD_GRANT_ROLE, PJG_OWNER_ACTOR);                         /* 3 */
        snprintf(cmd.payload.grant_role.user, BG_EMAIL_SIZE, "carol@example.com");
        cmd.payload.grant_role.role = BG_ROLE_VIEWER;
        events += run(BG_CMD_GRANT_ROLE, PJG_OWNER_ACTOR);                         /* 4 */

        cmd.payload.create_billing_group.billing_group_id = ug1;
        snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Production");
        cmd.payload.create_billing_group.profile.present =
                BG_PROFILE_F_BILLING_CURRENCY | BG_PROFILE_F_COMPANY | BG_PROFILE_F_BILLING_EMAILS |
                BG_PROFILE_F_ADDRESS_LINES | BG_PROFILE_F_BILLING_EXTRA_TEXT;
        cmd.payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
        snprintf(cmd.payload.create_billing_group.profile.v.company, BG_COMPANY_SIZE, "Acme Oy");
        cmd.payload.create_billing_group.profile.v.n_billing_emails = 2;
        snprintf(cmd.payload.create_billing_group.profile.v.billing_emails[0], BG_EMAIL_SIZE, "a@acme.fi");
        snprintf(cmd.payload.create_billing_group.profile.v.billing_emails[1], BG_EMAIL_SIZE, "b@acme.fi");
        cmd.payload.create_billing_group.profile.v.n_address_lines = 2;
        snprintf(cmd.payload.create_billing_group.profile.v.address_lines[0], BG_ADDRESS_LINE_SIZE,
                 "Main St 1");
        snprintf(cmd.payload.create_billing_group.profile.v.address_lines[1], BG_ADDRESS_LINE_SIZE,
                 "c/o \"Finance\" \\ {HQ}, 2nd floor");
        snprintf(cmd.payload.create_billing_group.profile.v.billing_extra_text, BG_EXTRA_TEXT_SIZE,
                 "PO 42\nCost center\t7");
        events += run(BG_CMD_CREATE_BILLING_GROUP, PJG_OWNER_ACTOR);               /* 5 */

        cmd.payload.create_billing_group.billing_group_id = ug2;
        snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Development");
        cmd.payload.create_billing_group.has_copy_from = true;
        cmd.payload.create_billing_group.copy_from = ug1;
        events += run(BG_CMD_CREATE_BILLING_GROUP, PJG_OWNER_ACTOR);               /* 6 */

        cmd.payload.create_billing_group.billing_group_id = ug3;
        snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Spare");
        events += run(BG_CMD_CREATE_BILLING_GROUP, PJG_OWNER_ACTOR);               /* 7 */

        cmd.payload.set_primary_billing_group.billing_group_id = ug1;
        events += run(BG_CMD_SET_PRIMARY_BILLING_GROUP, PJG_OWNER_ACTOR);          /* 8 */

        cmd.payload.create_project.project_id = up1;
        snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-prod");
        events += run(BG_CMD_CREATE_PROJECT, PJG_OWNER_ACTOR);                     /* 9 */
        cmd.payload.create_project.project_id = up2;
        snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-dev");
        cmd.payload.create_project.has_billing_group_id = true;
        cmd.payload.create_project.billing_group_id = ug2;
        events += run(BG_CMD_CREATE_PROJECT, PJG_OWNER_ACTOR);                     /* 10 */

        cmd.payload.update_billing_group.billing_group_id = ug2;
        cmd.payload.update_billing_group.has_name = true;
        snprintf(cmd.payload.update_billing_group.name, BG_NAME_SIZE, "Dev & Test");
        cmd.payload.update_billing_group.profile.present = BG_PROFILE_F_VAT_ID | BG_PROFILE_F_CITY;
        snprintf(cmd.payload.update_billing_group.profile.v.vat_id, BG_VAT_ID_SIZE, "FI12345678");
        snprintf(cmd.payload.update_billing_group.profile.v.city, BG_CITY_SIZE, "Espoo");
        events += run(BG_CMD_UPDATE_BILLING_GROUP, PJG_OWNER_ACTOR);               /* 11, 12 */

        cmd.payload.assign_projects.billing_group_id = ug2;
        cmd.payload.assign_projects.n_projects = 2;
        snprintf(cmd.payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE, "web-prod");
        snprintf(cmd.payload.assign_projects.project_names[1], BG_PROJECT_NAME_SIZE, "web-dev");
        events += run(BG_CMD_ASSIGN_PROJECTS, PJG_OWNER_ACTOR);                    /* 13 */

        snprintf(cmd.payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        cmd.payload.issue_credit.value = 100 * 1000000LL;
        cmd.payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd.payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd.payload.issue_credit.start_time = 1767225600000LL;
        cmd.payload.issue_credit.has_expire_time = true;
        cmd.payload.issue_credit.expire_time = 1798761600000LL;
        events += run(BG_CMD_ISSUE_CREDIT, PJG_SERVICE_ACTOR);                     /* 14 */
        snprintf(cmd.payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "SPARE-1");
        cmd.payload.issue_credit.value = 1500000LL;
        cmd.payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd.payload.issue_credit.type = BG_CREDIT_TYPE_DISCOUNT;
        cmd.payload.issue_credit.start_time = 1767225600000LL;
        events += run(BG_CMD_ISSUE_CREDIT, PJG_SERVICE_ACTOR);                     /* 15 */

        cmd.payload.claim_credit.billing_group_id = ug2;
        snprintf(cmd.payload.claim_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        cmd.payload.claim_credit.has_project_id = true;
        cmd.payload.claim_credit.project_id = up1;
        events += run(BG_CMD_CLAIM_CREDIT, PJG_OWNER_ACTOR);                       /* 16 */

        cmd.payload.delete_project.project_id = up2;
        events += run(BG_CMD_DELETE_PROJECT, PJG_OWNER_ACTOR);                     /* 17 */

        snprintf(cmd.payload.revoke_role.user, BG_EMAIL_SIZE, "carol@example.com");
        cmd.payload.revoke_role.role = BG_ROLE_VIEWER;
        events += run(BG_CMD_REVOKE_ROLE, PJG_OWNER_ACTOR);                        /* 18 */

        cmd.payload.delete_billing_group.billing_group_id = ug3;
        events += run(BG_CMD_DELETE_BILLING_GROUP, PJG_OWNER_ACTOR);               /* 19 */

        cmd.payload.set_primary_billing_group.billing_group_id = ug2;
        events += run(BG_CMD_SET_PRIMARY_BILLING_GROUP, PJG_OWNER_ACTOR);          /* 20 */
        assert_int_equal(events, 20);
        pjt_flush(t);

        pid = pjt_start(t, schema, "types", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 60000))
                fail_msg("the projector did not reach the end of the log");

        /* accounts and members */
        expect_text("Acme|owner@example.com|t", "SELECT concat_ws('|', name, owner, "
                    "primary_billing_group_id = '%s') FROM %s.accounts WHERE account_id = '%s'",
                    g2, schema, a);
        expect_text("Bob@Example.com:billing_admin,owner@example.com:admin",
                    "SELECT string_agg(user_email || ':' || role, ',' ORDER BY lower(user_email)) "
                    "FROM %s.account_members WHERE account_id = '%s'", schema, a);

        /* billing groups: profile, rename, copy, deletion */
        expect_text("Production|active|EUR|email|{a@acme.fi,b@acme.fi}|Acme Oy|"
                    "{\"Main St 1\",\"c/o \\\"Finance\\\" \\\\ {HQ}, 2nd floor\"}|PO 42\nCost center\t7|NULL",
                    "SELECT concat_ws('|', name, status, billing_currency, payment_method, "
                    "billing_emails, company, address_lines, billing_extra_text, "
                    "coalesce(vat_id, 'NULL')) FROM %s.billing_groups WHERE billing_group_id = '%s'",
                    schema, g1);
        expect_text("Dev & Test|active|EUR|Acme Oy|FI12345678|Espoo|t",
                    "SELECT concat_ws('|', name, status, billing_currency, company, vat_id, city, "
                    "copied_from = '%s') FROM %s.billing_groups WHERE billing_group_id = '%s'",
                    g1, schema, g2);
        expect_text("Spare|deleted|t", "SELECT concat_ws('|', name, status, deleted_at IS NOT NULL) "
                    "FROM %s.billing_groups WHERE billing_group_id = '%s'", schema, g3);

        /* projects and their moves */
        expect_text("web-prod|active|t", "SELECT concat_ws('|', name, status, billing_group_id = '%s') "
                    "FROM %s.projects WHERE project_id = '%s'", g2, schema, p1);
        expect_text("web-dev|deleted|t", "SELECT concat_ws('|', name, status, billing_group_id = '%s') "
                    "FROM %s.projects WHERE project_id = '%s'", g2, schema, p2);
        expect_text("13|t|t", "SELECT concat_ws('|', seq, from_billing_group_id = '%s', "
                    "to_billing_group_id = '%s') FROM %s.project_moves WHERE project_id = '%s'",
                    g1, g2, schema, p1);
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.project_moves WHERE account_id = '%s'",
                                   schema, a), 1);

        /* credits */
        expect_text("promotion|EUR|100000000|100000000|t|t|t", "SELECT concat_ws('|', credit_type, "
                    "currency, value_micros, remaining_micros, billing_group_id = '%s', "
                    "project_id = '%s', expire_time = '2027-01-01 00:00:00+00') FROM %s.credits "
                    "WHERE account_id = '%s' AND code = 'WELCOME-100'", g2, p1, schema, a);
        expect_text("discount|1500000|NULL|NULL", "SELECT concat_ws('|', credit_type, value_micros, "
                    "coalesce(billing_group_id::text, 'NULL'), coalesce(expire_time::text, 'NULL')) "
                    "FROM %s.credits WHERE account_id = '%s' AND code = 'SPARE-1'", schema, a);

        /* the audit log: one row per event, described */
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log WHERE account_id = '%s'",
                                   schema, a), 20);
        expect_text("1|20|20", "SELECT concat_ws('|', min(seq), max(seq), count(DISTINCT log_entry_id)) "
                    "FROM %s.audit_log WHERE account_id = '%s'", schema, a);
        expect_text("AccountCreated|Created account \"Acme\" owned by owner@example.com",
                    "SELECT event_type || '|' || event_desc FROM %s.audit_log WHERE account_id = '%s' "
                    "AND seq = 1", schema, a);
        expect_text("Changed the role of bob@example.com from viewer to billing_admin",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 3", schema, a);
        expect_text("BillingGroupCreated|Created billing group \"Production\"|t",
                    "SELECT concat_ws('|', event_type, event_desc, billing_group_id = '%s') "
                    "FROM %s.audit_log WHERE account_id = '%s' AND seq = 5", g1, schema, a);
        expect_text("Created billing group \"Development\" as a copy of \"Production\"",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 6", schema, a);
        expect_text("Created project \"web-prod\" in billing group \"Production\"|web-prod|t",
                    "SELECT concat_ws('|', event_desc, project_name, project_id = '%s') "
                    "FROM %s.audit_log WHERE account_id = '%s' AND seq = 9", p1, schema, a);
        expect_text("Renamed billing group \"Development\" to \"Dev & Test\"",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 11", schema, a);
        expect_text("Updated the billing information of \"Dev & Test\": city, vat_id",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 12", schema, a);
        expect_text("ProjectMoved|Moved project \"web-prod\" from \"Production\" to \"Dev & Test\"|t|t|web-prod",
                    "SELECT concat_ws('|', event_type, event_desc, billing_group_id = '%s', "
                    "previous_billing_group_id = '%s', project_name) FROM %s.audit_log "
                    "WHERE account_id = '%s' AND seq = 13", g2, g1, schema, a);
        expect_text("Issued promotion credit \"WELCOME-100\" of 100.00 EUR, valid from 2026-01-01 until 2027-01-01|service:billing",
                    "SELECT event_desc || '|' || actor FROM %s.audit_log WHERE account_id = '%s' "
                    "AND seq = 14", schema, a);
        expect_text("Claimed credit \"WELCOME-100\" for billing group \"Dev & Test\", project \"web-prod\" only",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 16", schema, a);
        expect_text("Deleted project \"web-dev\" of billing group \"Dev & Test\"",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 17", schema, a);
        expect_text("Revoked role viewer from carol@example.com",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 18", schema, a);
        expect_text("Deleted billing group \"Spare\"",
                    "SELECT event_desc FROM %s.audit_log WHERE account_id = '%s' AND seq = 19", schema, a);
        expect_text("Set \"Dev & Test\" as the primary billing group instead of \"Production\"|t",
                    "SELECT concat_ws('|', event_desc, previous_billing_group_id = '%s') "
                    "FROM %s.audit_log WHERE account_id = '%s' AND seq = 20", g1, schema, a);

        /* read-your-writes: the applied seq */
        assert_int_equal(pjt_count(t, "SELECT seq FROM %s.account_seq WHERE account_id = '%s'",
                                   schema, a), 20);

        /* Nothing left to do: the projector idles, healthy, until SIGTERM stops it cleanly. */
        assert_true(bg_proc_running(pid, &status));
        status = bg_proc_stop(pid, SIGTERM, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        pjg_account_destroy(account);
        pjt_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_event_type_lands_in_its_rows),
        };
        return cmocka_run_group_tests_name("projector_every_event_type", tests, NULL, NULL);
}
