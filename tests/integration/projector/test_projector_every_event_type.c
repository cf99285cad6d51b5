/*
 * Every event type lands in the right rows: one account's story through every event of
 * the domain, produced to billing.events, projected by billing-projector, then each read
 * model checked row by row: timestamps, ids and the audit log's descriptions against
 * values the test works out itself (the generator's clock, the events it produced).
 *
 * The story is projected twice: once with every event in one batch (rows created and
 * changed in the same batch: the insert paths), once with batches of one event
 * (BILLING_BATCH_MAX=1: every change is an UPDATE or DELETE of a committed row). Both
 * schemas must pass the checks and equal each other table by table. The projector's
 * /metrics are read once: events applied and no lag.
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

/* The generator's clock (pjt_new): command k (from 1) is decided at T(k). */
#define T0   1767225600000LL            /* 2026-01-01 00:00:00 UTC */
#define T(k) (T0 + ((k) - 1) * 1000LL)
#define EVENTS 20

static pjt_t *t;
static pjg_account_t *account;
static bg_command_t cmd;
static int commands;                    /* commands decided so far */

/* What the test produced, by seq: to check the rows against. */
static struct {
        int command;                    /* the number of the command that made it */
        char event_id[BG_UUID_STR_LEN + 1];
        char command_id[BG_UUID_STR_LEN + 1];
        char hash[2 * BG_HASH_SIZE + 1];
} produced[EVENTS + 1];

static void record_and_emit(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        assert_true(ev->seq >= 1 && ev->seq <= EVENTS);
        produced[ev->seq].command = commands;
        bg_uuid_format(&ev->event_id, produced[ev->seq].event_id);
        bg_uuid_format(&ev->command_id, produced[ev->seq].command_id);
        for (int i = 0; i < BG_HASH_SIZE; i++)
                snprintf(produced[ev->seq].hash + 2 * i, 3, "%02x", ev->hash[i]);
        pjt_emit(opaque, ev, buf, len);
}

static int run(bg_command_type_t type, const char *actor) {
        char why[512];
        int n;

        cmd.type = type;
        commands++;
        n = pjg_decide(t->pt_gen, account, &cmd, actor, record_and_emit, t, why, sizeof(why));
        if (n < 0)
                fail_msg("%s", why);
        memset(&cmd, 0, sizeof(cmd));
        return n;
}

static void expect_text(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expect_text(const char *want, const char *fmt, ...) {
        char sql[4096];
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

/* "(extract(epoch from x) * 1000)::bigint": a timestamptz as ms since the epoch. */
#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static char a[37], g1[37], g2[37], g3[37], p1[37], p2[37];

/* Compares @got and @want line by line, naming the first line that differs. */
static void expect_lines(const char *what, const char *got, const char *want) {
        const char *g = got, *w = want;
        int line = 1;

        while (*g || *w) {
                size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");
                if (gl != wl || memcmp(g, w, gl) != 0)
                        fail_msg("%s, line %d:\n  got:  %.*s\n  want: %.*s", what, line, (int)gl,
                                 g, (int)wl, w);
                g += gl + (g[gl] == '\n');
                w += wl + (w[wl] == '\n');
                line++;
        }
}

/* The audit row the test expects for @seq. */
static void audit_row(char *out, size_t size, int seq) {
        static const struct {
                const char *type, *desc;
                const char *bg, *prev, *project, *project_name;  /* "g1" ... or NULL */
        } rows[EVENTS + 1] = {
                [1] = {"AccountCreated", "Created account \"Acme\" owned by owner@example.com"},
                [2] = {"RoleGranted", "Granted role viewer to Bob@Example.com"},
                [3] = {"RoleGranted", "Changed the role of bob@example.com from viewer to billing_admin"},
                [4] = {"RoleGranted", "Granted role viewer to carol@example.com"},
                [5] = {"BillingGroupCreated", "Created billing group \"Production\"", "g1"},
                [6] = {"BillingGroupCreated",
                       "Created billing group \"Development\" as a copy of \"Production\"", "g2"},
                [7] = {"BillingGroupCreated", "Created billing group \"Spare\"", "g3"},
                [8] = {"PrimaryBillingGroupSet", "Set \"Production\" as the primary billing group",
                       "g1"},
                [9] = {"ProjectCreated", "Created project \"web-prod\" in billing group \"Production\"",
                       "g1", NULL, "p1", "web-prod"},
                [10] = {"ProjectCreated",
                        "Created project \"web-dev\" in billing group \"Development\"", "g2", NULL,
                        "p2", "web-dev"},
                [11] = {"BillingGroupRenamed", "Renamed billing group \"Development\" to \"Dev & Test\"",
                        "g2"},
                [12] = {"BillingProfileUpdated",
                        "Updated the billing information of \"Dev & Test\": city, vat_id", "g2"},
                [13] = {"ProjectMoved", "Moved project \"web-prod\" from \"Production\" to \"Dev & Test\"",
                        "g2", "g1", "p1", "web-prod"},
                [14] = {"CreditIssued", "Issued promotion credit \"WELCOME-100\" of 100.00 EUR, valid "
                        "from 2026-01-01 until 2027-01-01"},
                [15] = {"CreditIssued",
                        "Issued discount credit \"SPARE-1\" of 1.50 EUR, valid from 2026-01-01"},
                [16] = {"CreditClaimed", "Claimed credit \"WELCOME-100\" for billing group \"Dev & "
                        "Test\", project \"web-prod\" only", "g2", NULL, "p1", "web-prod"},
                [17] = {"ProjectDeleted", "Deleted project \"web-dev\" of billing group \"Dev & Test\"",
                        "g2", NULL, "p2", "web-dev"},
                [18] = {"RoleRevoked", "Revoked role viewer from carol@example.com"},
                [19] = {"BillingGroupDeleted", "Deleted billing group \"Spare\"", "g3"},
                [20] = {"PrimaryBillingGroupSet",
                        "Set \"Dev & Test\" as the primary billing group instead of \"Production\"",
                        "g2", "g1"},
        };
        const char *ids[][2] = {{"g1", g1}, {"g2", g2}, {"g3", g3}, {"p1", p1}, {"p2", p2}};
        const char *r[4] = {rows[seq].bg, rows[seq].prev, rows[seq].project, NULL};
        int command;

        for (int i = 0; i < 3; i++)
                for (size_t j = 0; r[i] && j < sizeof(ids) / sizeof(ids[0]); j++)
                        if (strcmp(r[i], ids[j][0]) == 0) {
                                r[i] = ids[j][1];
                                break;
                        }
        /* Commands 1 to 11 made seq 1 to 12 (the 11th two events), one event each after. */
        command = seq <= 11 ? seq : seq == 12 ? 11 : seq - 1;
        assert_int_equal(produced[seq].command, command);
        snprintf(out, size, "%d|%s|%lld|%s|%s|%s|%s|%s|%s|%s|%s", seq, rows[seq].type, T(command),
                 seq == 14 || seq == 15 ? PJG_SERVICE_ACTOR : PJG_OWNER_ACTOR,
                 produced[seq].event_id, produced[seq].command_id, r[0] ? r[0] : "-",
                 r[1] ? r[1] : "-", r[2] ? r[2] : "-",
                 rows[seq].project_name ? rows[seq].project_name : "-", rows[seq].desc);
}

/* Every read model of @schema after the story. */
static void check_rows(const char *schema) {
        char want[16384], *got;
        size_t len = 0;

        /* accounts and members */
        expect_text("Acme|owner@example.com|t", "SELECT concat_ws('|', name, owner, "
                    "primary_billing_group_id = '%s') FROM %s.accounts WHERE account_id = '%s'",
                    g2, schema, a);
        snprintf(want, sizeof(want), "%lld", T(1));
        expect_text(want, "SELECT " MS("created_at") " FROM %s.accounts WHERE account_id = '%s'",
                    schema, a);
        /* Bob: the spelling of the first grant, the time of the role change. */
        snprintf(want, sizeof(want), "Bob@Example.com:billing_admin:%lld,owner@example.com:admin:%lld",
                 T(3), T(1));
        expect_text(want, "SELECT string_agg(user_email || ':' || role || ':' || " MS("granted_at")
                    ", ',' ORDER BY lower(user_email)) FROM %s.account_members "
                    "WHERE account_id = '%s'", schema, a);

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
        snprintf(want, sizeof(want), "%s|%lld|%lld|-|-\n%s|%lld|%lld|-|%s\n%s|%lld|%lld|%lld|-", g1,
                 T(5), T(5), g2, T(6), T(11), g1, g3, T(7), T(18), T(18));
        got = pjt_text(t, "SELECT string_agg(concat_ws('|', billing_group_id, " MS("created_at") ", "
                       MS("updated_at") ", coalesce(" MS("deleted_at") "::text, '-'), "
                       "coalesce(copied_from::text, '-')), E'\\n' ORDER BY created_at) "
                       "FROM %s.billing_groups WHERE account_id = '%s'", schema, a);
        expect_lines("billing_groups times", got, want);
        free(got);

        /* projects and their moves */
        expect_text("web-prod|active|t", "SELECT concat_ws('|', name, status, billing_group_id = '%s') "
                    "FROM %s.projects WHERE project_id = '%s'", g2, schema, p1);
        expect_text("web-dev|deleted|t", "SELECT concat_ws('|', name, status, billing_group_id = '%s') "
                    "FROM %s.projects WHERE project_id = '%s'", g2, schema, p2);
        snprintf(want, sizeof(want), "%s|%lld|%lld|-\n%s|%lld|%lld|%lld", p1, T(9), T(12), p2,
                 T(10), T(16), T(16));
        got = pjt_text(t, "SELECT string_agg(concat_ws('|', project_id, " MS("created_at") ", "
                       MS("updated_at") ", coalesce(" MS("deleted_at") "::text, '-')), E'\\n' "
                       "ORDER BY created_at) FROM %s.projects WHERE account_id = '%s'", schema, a);
        expect_lines("projects times", got, want);
        free(got);
        snprintf(want, sizeof(want), "13|%s|%s|%lld|%s", g1, g2, T(12), PJG_OWNER_ACTOR);
        expect_text(want, "SELECT concat_ws('|', seq, from_billing_group_id, to_billing_group_id, "
                    MS("moved_at") ", actor) FROM %s.project_moves WHERE project_id = '%s'",
                    schema, p1);
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.project_moves WHERE account_id = '%s'",
                                   schema, a), 1);

        /* credits */
        snprintf(want, sizeof(want), "promotion|EUR|100000000|100000000|%s|%s|%lld|%lld|%lld|%lld",
                 g2, p1, T0, 1798761600000LL, T(13), T(15));
        expect_text(want, "SELECT concat_ws('|', credit_type, currency, value_micros, "
                    "remaining_micros, billing_group_id, project_id, " MS("start_time") ", "
                    MS("expire_time") ", " MS("issued_at") ", " MS("claimed_at") ") FROM %s.credits "
                    "WHERE account_id = '%s' AND code = 'WELCOME-100'", schema, a);
        snprintf(want, sizeof(want), "discount|EUR|1500000|1500000|-|-|%lld|-|%lld|-", T0, T(14));
        expect_text(want, "SELECT concat_ws('|', credit_type, currency, value_micros, "
                    "remaining_micros, coalesce(billing_group_id::text, '-'), "
                    "coalesce(project_id::text, '-'), " MS("start_time") ", "
                    "coalesce(" MS("expire_time") "::text, '-'), " MS("issued_at") ", "
                    "coalesce(" MS("claimed_at") "::text, '-')) FROM %s.credits "
                    "WHERE account_id = '%s' AND code = 'SPARE-1'", schema, a);

        /* the audit log: one row per event, every column */
        for (int seq = 1; seq <= EVENTS; seq++) {
                audit_row(want + len, sizeof(want) - len, seq);
                len += strlen(want + len);
                if (seq < EVENTS)
                        want[len++] = '\n';
        }
        got = pjt_text(t, "SELECT string_agg(concat_ws('|', seq, event_type, " MS("time") ", actor, "
                       "log_entry_id, command_id, coalesce(billing_group_id::text, '-'), "
                       "coalesce(previous_billing_group_id::text, '-'), "
                       "coalesce(project_id::text, '-'), coalesce(project_name, '-'), event_desc), "
                       "E'\\n' ORDER BY seq) FROM %s.audit_log WHERE account_id = '%s'", schema, a);
        expect_lines("audit_log", got, want);
        free(got);

        /* read-your-writes: the applied seq, its hash and time */
        snprintf(want, sizeof(want), "%d|%s|%lld", EVENTS, produced[EVENTS].hash, T(19));
        expect_text(want, "SELECT concat_ws('|', seq, encode(last_hash, 'hex'), " MS("updated_at")
                    ") FROM %s.account_seq WHERE account_id = '%s'", schema, a);
}

/* Waits until @series of the projector @tag reads @want; fails with what it read. */
static void expect_metric(const char *tag, const char *series, long long want) {
        long long got = -1;

        for (int i = 0; i < 100; i++) {
                if ((got = pjt_metric(t, tag, series)) == want)
                        return;
                usleep(100 * 1000);
        }
        fail_msg("%s of the projector \"%s\": %lld, want %lld", series, tag, got, want);
}

static void every_event_type_lands_in_its_rows(void **state) {
        char schema[64], one[64];
        char *batches_of_one[] = {"BILLING_BATCH_MAX=1", NULL};
        bg_uuid_t ug1, ug2, ug3, up1, up2;
        pid_t pid, pid1;
        int status;
        long long events = 0;

        t = pjt_new("it-proj-types", 2, true);
        pjt_schema(t, schema);
        pjt_schema(t, one);
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
        assert_int_equal(events, EVENTS);
        assert_int_equal(commands, 19);
        pjt_flush(t);

        pid = pjt_start(t, schema, "types", NULL, NULL);
        pid1 = pjt_start(t, one, "types-one", NULL, batches_of_one);
        if (!pjt_wait_caught_up(t, schema, 60000) || !pjt_wait_caught_up(t, one, 60000))
                fail_msg("the projectors did not reach the end of the log");

        check_rows(schema);
        check_rows(one);
        pjt_assert_same_tables(t, schema, one);

        /* /metrics: every event applied, none left to project, none dead-lettered; the
         * second projector did commit one event at a time. */
        expect_metric("types", "billing_projector_events_total{outcome=\"applied\"}", EVENTS);
        expect_metric("types", "billing_projector_lag_events", 0);
        expect_metric("types", "billing_projector_events_total{outcome=\"dead_lettered\"}", 0);
        expect_metric("types-one", "billing_projector_events_total{outcome=\"applied\"}", EVENTS);
        expect_metric("types-one", "billing_projector_batch_events_bucket{le=\"1\"}",
                      pjt_metric(t, "types-one", "billing_projector_batch_events_count"));
        assert_true(pjt_metric(t, "types-one", "billing_projector_transactions_total") >= EVENTS);

        /* Nothing left to do: the projectors idle, healthy, until SIGTERM stops them. */
        assert_true(bg_proc_running(pid, &status));
        status = bg_proc_stop(pid, SIGTERM, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        status = bg_proc_stop(pid1, SIGTERM, 10000);
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
