/*
 * Every command type end to end through billing-commands on the real stack: the command
 * goes in on billing.commands, its events come out on billing.events (in the account's
 * partition, seq 1..N without gaps, hash-chained) and its result on
 * billing.command-results.
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

#include "bg_cmd_harness.h"
#include "bg_hashchain.h"
#include "bg_proc.h"
#include "bg_test_support.h"

#define ADMIN "user:alice@example.com"
#define SERVICE "service:billing"

static cmdh_t *h;
static bg_uuid_t account;
static bg_command_t cmd;

static bg_command_result_t send_command(bg_command_type_t type, const char *actor) {
        bg_command_result_t res;

        cmd.type = type;
        bg_uuid_generate(&cmd.command_id);
        snprintf(cmd.actor, sizeof(cmd.actor), "%s", actor);
        cmd.account_id = account;
        cmdh_publish(h, &cmd);
        if (!cmdh_wait_result(h, &cmd.command_id, 60000, &res))
                fail_msg("no result for %s within 60 s", bg_command_type_name(type));
        return res;
}

static void expect_accepted(bg_command_type_t type, const char *actor, int64_t first,
                            int64_t last) {
        bg_command_result_t res = send_command(type, actor);

        if (res.outcome != BG_OUTCOME_ACCEPTED)
                fail_msg("%s: %s %s: %s", bg_command_type_name(type), bg_outcome_name(res.outcome),
                         bg_reject_code_name(res.rejection.code), res.rejection.message);
        assert_int_equal(res.first_seq, first);
        assert_int_equal(res.last_seq, last);
        memset(&cmd.payload, 0, sizeof(cmd.payload));
}

static void expect_rejected(bg_command_type_t type, const char *actor, bg_reject_code_t code) {
        bg_command_result_t res = send_command(type, actor);

        assert_int_equal(res.outcome, BG_OUTCOME_REJECTED);
        assert_int_equal(res.rejection.code, code);
        assert_true(strlen(res.rejection.message) > 0);
        memset(&cmd.payload, 0, sizeof(cmd.payload));
}

static void every_command_type_appends_its_events(void **state) {
        bg_uuid_t g1, g2, p1, p2;
        pid_t pid;
        bg_event_t *events;
        int *parts;
        size_t n, mine = 0;
        static const bg_event_type_t want[] = {
                BG_EVT_ACCOUNT_CREATED,       BG_EVT_ROLE_GRANTED,
                BG_EVT_BILLING_GROUP_CREATED, BG_EVT_BILLING_GROUP_CREATED,
                BG_EVT_PRIMARY_BILLING_GROUP_SET,
                BG_EVT_PROJECT_CREATED,       BG_EVT_PROJECT_CREATED,
                BG_EVT_BILLING_GROUP_RENAMED, BG_EVT_BILLING_PROFILE_UPDATED,
                BG_EVT_PROJECT_MOVED,         BG_EVT_CREDIT_ISSUED,
                BG_EVT_CREDIT_CLAIMED,        BG_EVT_PROJECT_DELETED,
                BG_EVT_ROLE_REVOKED,          BG_EVT_PROJECT_MOVED,
                BG_EVT_BILLING_GROUP_DELETED,
        };
        uint8_t prev[BG_HASH_SIZE] = {0};
        int partition = -1;

        h = cmdh_new("it-cmd-types", 3);
        pid = cmdh_start(h, "types-0", NULL);
        bg_uuid_generate(&account);
        bg_uuid_generate(&g1);
        bg_uuid_generate(&g2);
        bg_uuid_generate(&p1);
        bg_uuid_generate(&p2);

        /* An account that does not exist takes nothing but CreateAccount. */
        cmd.payload.set_primary_billing_group.billing_group_id = g1;
        expect_rejected(BG_CMD_SET_PRIMARY_BILLING_GROUP, ADMIN, BG_REJECT_NOT_FOUND);

        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Acme");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "alice@example.com");
        expect_accepted(BG_CMD_CREATE_ACCOUNT, ADMIN, 1, 1);

        snprintf(cmd.payload.grant_role.user, BG_EMAIL_SIZE, "bob@example.com");
        cmd.payload.grant_role.role = BG_ROLE_BILLING_ADMIN;
        expect_accepted(BG_CMD_GRANT_ROLE, ADMIN, 2, 2);

        cmd.payload.create_billing_group.billing_group_id = g1;
        snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Production");
        cmd.payload.create_billing_group.profile.present =
                BG_PROFILE_F_BILLING_CURRENCY | BG_PROFILE_F_COMPANY;
        cmd.payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
        snprintf(cmd.payload.create_billing_group.profile.v.company, BG_COMPANY_SIZE, "Acme Oy");
        expect_accepted(BG_CMD_CREATE_BILLING_GROUP, "user:bob@example.com", 3, 3);

        cmd.payload.create_billing_group.billing_group_id = g2;
        snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Development");
        cmd.payload.create_billing_group.has_copy_from = true;
        cmd.payload.create_billing_group.copy_from = g1;
        expect_accepted(BG_CMD_CREATE_BILLING_GROUP, ADMIN, 4, 4);

        cmd.payload.set_primary_billing_group.billing_group_id = g1;
        expect_accepted(BG_CMD_SET_PRIMARY_BILLING_GROUP, ADMIN, 5, 5);

        cmd.payload.create_project.project_id = p1;         /* to the primary group */
        snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-prod");
        expect_accepted(BG_CMD_CREATE_PROJECT, ADMIN, 6, 6);

        cmd.payload.create_project.project_id = p2;
        snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-dev");
        cmd.payload.create_project.has_billing_group_id = true;
        cmd.payload.create_project.billing_group_id = g2;
        expect_accepted(BG_CMD_CREATE_PROJECT, ADMIN, 7, 7);

        cmd.payload.update_billing_group.billing_group_id = g2;
        cmd.payload.update_billing_group.has_name = true;
        snprintf(cmd.payload.update_billing_group.name, BG_NAME_SIZE, "Dev & Test");
        cmd.payload.update_billing_group.profile.present = BG_PROFILE_F_VAT_ID;
        snprintf(cmd.payload.update_billing_group.profile.v.vat_id, BG_VAT_ID_SIZE, "FI12345678");
        expect_accepted(BG_CMD_UPDATE_BILLING_GROUP, ADMIN, 8, 9);

        cmd.payload.assign_projects.billing_group_id = g2;
        cmd.payload.assign_projects.n_projects = 2;         /* web-dev is there already */
        snprintf(cmd.payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE, "web-prod");
        snprintf(cmd.payload.assign_projects.project_names[1], BG_PROJECT_NAME_SIZE, "web-dev");
        expect_accepted(BG_CMD_ASSIGN_PROJECTS, ADMIN, 10, 10);

        snprintf(cmd.payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        cmd.payload.issue_credit.value = 100 * 1000000LL;
        cmd.payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd.payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd.payload.issue_credit.start_time = 1767225600000LL;
        expect_rejected(BG_CMD_ISSUE_CREDIT, ADMIN, BG_REJECT_FORBIDDEN);   /* users cannot */
        snprintf(cmd.payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        cmd.payload.issue_credit.value = 100 * 1000000LL;
        cmd.payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd.payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd.payload.issue_credit.start_time = 1767225600000LL;
        expect_accepted(BG_CMD_ISSUE_CREDIT, SERVICE, 11, 11);

        cmd.payload.claim_credit.billing_group_id = g1;
        snprintf(cmd.payload.claim_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        expect_accepted(BG_CMD_CLAIM_CREDIT, "user:bob@example.com", 12, 12);

        cmd.payload.delete_project.project_id = p2;
        expect_accepted(BG_CMD_DELETE_PROJECT, ADMIN, 13, 13);

        snprintf(cmd.payload.revoke_role.user, BG_EMAIL_SIZE, "bob@example.com");
        cmd.payload.revoke_role.role = BG_ROLE_BILLING_ADMIN;
        expect_accepted(BG_CMD_REVOKE_ROLE, ADMIN, 14, 14);

        /* A group with projects cannot go; once emptied it can. */
        cmd.payload.delete_billing_group.billing_group_id = g2;
        expect_rejected(BG_CMD_DELETE_BILLING_GROUP, ADMIN, BG_REJECT_FAILED_PRECONDITION);
        cmd.payload.assign_projects.billing_group_id = g1;
        cmd.payload.assign_projects.n_projects = 1;
        snprintf(cmd.payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE, "web-prod");
        expect_accepted(BG_CMD_ASSIGN_PROJECTS, ADMIN, 15, 15);
        cmd.payload.delete_billing_group.billing_group_id = g2;
        expect_accepted(BG_CMD_DELETE_BILLING_GROUP, ADMIN, 16, 16);

        n = cmdh_read_events(h, &events, &parts);
        for (size_t i = 0; i < n; i++) {
                if (!bg_uuid_equal(&events[i].account_id, &account))
                        continue;
                if (partition < 0)
                        partition = parts[i];
                assert_int_equal(parts[i], partition);          /* one account, one partition */
                assert_true(mine < sizeof(want) / sizeof(want[0]));
                assert_int_equal(events[i].seq, (int64_t)mine + 1);
                assert_int_equal(events[i].type, want[mine]);
                assert_memory_equal(events[i].prev_hash, prev, BG_HASH_SIZE);
                memcpy(prev, events[i].hash, BG_HASH_SIZE);
                mine++;
        }
        assert_int_equal(mine, sizeof(want) / sizeof(want[0]));
        /* The copy took the source group's profile; the update changed only the VAT id. */
        assert_int_equal(events[3].payload.billing_group_created.profile.billing_currency,
                         BG_CURRENCY_EUR);
        assert_string_equal(events[3].payload.billing_group_created.profile.company, "Acme Oy");
        assert_string_equal(events[8].payload.billing_profile_updated.profile.vat_id, "FI12345678");
        assert_true(bg_uuid_equal(&events[9].payload.project_moved.project_id, &p1));
        free(events);
        free(parts);

        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_command_type_appends_its_events),
        };
        return cmocka_run_group_tests_name("commands_every_type", tests, NULL, NULL);
}
