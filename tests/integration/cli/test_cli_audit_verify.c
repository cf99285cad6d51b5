/*
 * billingctl audit verify on the real stack: a log written by billing-commands from real
 * commands verifies clean; copies of it with one event changed (re-encoded with its hash
 * kept, or with its hash recomputed), dropped, duplicated or two events swapped fail, and
 * the report names the right account, seq and kind, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_cmd_harness.h"
#include "bg_hashchain.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "cli_fixture.h"

#define ADMIN "user:alice@example.com"
#define SERVICE "service:billing"
#define PARTS 3

static cmdh_t *h;
static pid_t commands;
static bg_uuid_t acct_a, acct_b;
static clit_rec_t *recs;
static size_t nrecs;
static int64_t a_events, b_events;
static bg_command_t *cmd;

static void send_cmd(const bg_uuid_t *account, bg_command_type_t type, const char *actor,
                 int64_t *events) {
        bg_command_result_t res;

        cmd->type = type;
        cmd->account_id = *account;
        bg_uuid_generate(&cmd->command_id);
        snprintf(cmd->actor, sizeof(cmd->actor), "%s", actor);
        cmdh_publish(h, cmd);
        if (!cmdh_wait_result(h, &cmd->command_id, 60000, &res))
                fail_msg("no result for %s within 60 s", bg_command_type_name(type));
        if (res.outcome != BG_OUTCOME_ACCEPTED)
                fail_msg("%s: %s: %s", bg_command_type_name(type),
                         bg_reject_code_name(res.rejection.code), res.rejection.message);
        *events += res.last_seq - res.first_seq + 1;
        memset(&cmd->payload, 0, sizeof(cmd->payload));
}

static void story(const bg_uuid_t *account, bool full, int64_t *events) {
        bg_uuid_t g1, g2, p1, p2;

        bg_uuid_generate(&g1);
        bg_uuid_generate(&g2);
        bg_uuid_generate(&p1);
        bg_uuid_generate(&p2);
        snprintf(cmd->payload.create_account.name, BG_NAME_SIZE, full ? "Acme" : "Globex");
        snprintf(cmd->payload.create_account.owner, BG_EMAIL_SIZE, "alice@example.com");
        send_cmd(account, BG_CMD_CREATE_ACCOUNT, ADMIN, events);                    /* 1 */
        cmd->payload.create_billing_group.billing_group_id = g1;
        snprintf(cmd->payload.create_billing_group.name, BG_NAME_SIZE, "Production");
        cmd->payload.create_billing_group.profile.present = BG_PROFILE_F_BILLING_CURRENCY;
        cmd->payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
        send_cmd(account, BG_CMD_CREATE_BILLING_GROUP, ADMIN, events);              /* 2 */
        cmd->payload.set_primary_billing_group.billing_group_id = g1;
        send_cmd(account, BG_CMD_SET_PRIMARY_BILLING_GROUP, ADMIN, events);         /* 3 */
        cmd->payload.create_project.project_id = p1;
        snprintf(cmd->payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-prod");
        send_cmd(account, BG_CMD_CREATE_PROJECT, ADMIN, events);                    /* 4 */
        if (!full)
                return;
        cmd->payload.create_billing_group.billing_group_id = g2;
        snprintf(cmd->payload.create_billing_group.name, BG_NAME_SIZE, "Development");
        cmd->payload.create_billing_group.has_copy_from = true;
        cmd->payload.create_billing_group.copy_from = g1;
        send_cmd(account, BG_CMD_CREATE_BILLING_GROUP, ADMIN, events);              /* 5 */
        snprintf(cmd->payload.grant_role.user, BG_EMAIL_SIZE, "bob@example.com");
        cmd->payload.grant_role.role = BG_ROLE_BILLING_ADMIN;
        send_cmd(account, BG_CMD_GRANT_ROLE, ADMIN, events);                        /* 6 */
        cmd->payload.create_project.project_id = p2;
        snprintf(cmd->payload.create_project.name, BG_PROJECT_NAME_SIZE, "web-dev");
        cmd->payload.create_project.has_billing_group_id = true;
        cmd->payload.create_project.billing_group_id = g2;
        send_cmd(account, BG_CMD_CREATE_PROJECT, ADMIN, events);                    /* 7 */
        cmd->payload.assign_projects.billing_group_id = g2;
        cmd->payload.assign_projects.n_projects = 1;
        snprintf(cmd->payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE, "web-prod");
        send_cmd(account, BG_CMD_ASSIGN_PROJECTS, "user:bob@example.com", events);  /* 8 */
        cmd->payload.update_billing_group.billing_group_id = g2;
        cmd->payload.update_billing_group.has_name = true;
        snprintf(cmd->payload.update_billing_group.name, BG_NAME_SIZE, "Dev & Test");
        cmd->payload.update_billing_group.profile.present = BG_PROFILE_F_VAT_ID;
        snprintf(cmd->payload.update_billing_group.profile.v.vat_id, BG_VAT_ID_SIZE, "FI12345678");
        send_cmd(account, BG_CMD_UPDATE_BILLING_GROUP, ADMIN, events);              /* 9, 10 */
        snprintf(cmd->payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        cmd->payload.issue_credit.value = 100 * 1000000LL;
        cmd->payload.issue_credit.currency = BG_CURRENCY_EUR;
        cmd->payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        cmd->payload.issue_credit.start_time = 1767225600000LL;
        send_cmd(account, BG_CMD_ISSUE_CREDIT, SERVICE, events);                    /* 11 */
        cmd->payload.claim_credit.billing_group_id = g2;
        snprintf(cmd->payload.claim_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME-100");
        send_cmd(account, BG_CMD_CLAIM_CREDIT, ADMIN, events);                      /* 12 */
}

static int setup(void **state) {
        h = cmdh_new("it-cli-audit", PARTS);
        commands = cmdh_start(h, "audit-0", NULL);
        cmd = calloc(1, sizeof(*cmd));
        assert_non_null(cmd);
        bg_uuid_generate(&acct_a);
        bg_uuid_generate(&acct_b);
        story(&acct_a, true, &a_events);
        story(&acct_b, false, &b_events);
        assert_int_equal(a_events, 12);
        assert_int_equal(b_events, 4);
        bg_proc_stop(commands, SIGTERM, 20000);
        nrecs = clit_read_records(h->ch_codec, h->ch_topics.kt_events, PARTS, &recs);
        assert_int_equal(nrecs, 16);
        return 0;
}

static int teardown(void **state) {
        clit_free_records(recs, nrecs);
        free(cmd);
        cmdh_destroy(h);
        return 0;
}

/* Runs verify --json on @topic (NULL: the default from BILLING_TOPIC_PREFIX), checks the
 * exit status against the report, returns the report. */
static json_t *verify_json(const char *topic, int want_exit) {
        char *out;
        json_t *report;
        int rc;

        if (topic != NULL)
                rc = clit_run(&out, "audit verify --json --no-progress --topic '%s'", topic);
        else
                rc = clit_run(&out, "audit verify --json --no-progress");
        assert_int_equal(rc, want_exit);
        report = json_loads(out, 0, NULL);
        if (report == NULL)
                fail_msg("not JSON: %s", out);
        free(out);
        assert_int_equal(json_is_true(json_object_get(report, "ok")), want_exit == 0);
        return report;
}

/* A copy of the log with @recs_copy, verified: exactly one problem of @kind at (A, @seq). */
static void expect_single_problem(const char *name, const clit_rec_t *copy, size_t n,
                                  const char *kind, int64_t seq) {
        char topic[KC_TOPIC_NAME_SIZE], *out;
        char id[BG_UUID_STR_LEN + 1], needle[128];
        json_t *report;

        clit_write_copy(name, PARTS, copy, n, topic);
        report = verify_json(topic, 1);
        assert_int_equal(json_integer_value(json_object_get(report, "problem_count")), 1);
        assert_int_equal(json_array_size(json_object_get(report, "problems")), 1);
        assert_int_equal(clit_count_problems(report, kind, &acct_a, seq), 1);
        assert_int_equal(clit_count_problems(report, kind, &acct_b, 0), 0);
        json_decref(report);

        /* The text report pinpoints it the same way, as "account <id> seq <n>: <kind>". */
        assert_int_equal(clit_run(&out, "audit verify --no-progress --topic '%s'", topic), 1);
        bg_uuid_format(&acct_a, id);
        snprintf(needle, sizeof(needle), "account %s seq %lld: %s:", id, (long long)seq, kind);
        if (strstr(out, needle) == NULL)
                fail_msg("\"%s\" not in the output", needle);
        assert_non_null(strstr(out, "LOG BROKEN"));
        free(out);
}

static clit_rec_t *copy_recs(void) {
        clit_rec_t *c = calloc(nrecs + 1, sizeof(*c));

        assert_non_null(c);
        memcpy(c, recs, nrecs * sizeof(*c));    /* values shared with recs: not freed */
        return c;
}

static void clean_log_verifies(void **state) {
        json_t *report = verify_json(NULL, 0);
        char *out;

        assert_int_equal(json_integer_value(json_object_get(report, "events")), 16);
        assert_int_equal(json_integer_value(json_object_get(report, "accounts")), 2);
        assert_int_equal(json_integer_value(json_object_get(report, "partitions")), PARTS);
        assert_int_equal(json_array_size(json_object_get(report, "problems")), 0);
        json_decref(report);

        /* An identical copy verifies too (the copy machinery itself changes nothing). */
        char topic[KC_TOPIC_NAME_SIZE];
        clit_write_copy("it-cli-copy", PARTS, recs, nrecs, topic);
        json_decref(verify_json(topic, 0));

        assert_int_equal(clit_run(&out, "audit verify --no-progress"), 0);
        assert_non_null(strstr(out, "verified 16 events of 2 accounts"));
        assert_non_null(strstr(out, "log intact"));
        free(out);
}

/* Re-encodes record @i with the group name changed; @rehash: recompute its hash. */
static uint8_t *tamper_name(size_t i, bool rehash, size_t *len) {
        bg_event_t *ev = malloc(sizeof(*ev));
        const uint8_t *buf;
        uint8_t *copy;
        char errstr[512];

        assert_non_null(ev);
        assert_int_equal(codec_decode_event(h->ch_codec, recs[i].cr_value, recs[i].cr_len, ev,
                                            errstr, sizeof(errstr)), CODEC_OK);
        assert_int_equal(ev->type, BG_EVT_BILLING_GROUP_CREATED);
        snprintf(ev->payload.billing_group_created.name, BG_NAME_SIZE, "Sneaky Ltd");
        if (rehash) {
                const uint8_t *canon;
                size_t clen;
                assert_int_equal(codec_event_canonical(h->ch_codec, ev, &canon, &clen, errstr,
                                                       sizeof(errstr)), CODEC_OK);
                assert_true(bg_hash_event(ev->prev_hash, canon, clen, ev->hash));
        }
        assert_int_equal(codec_encode_event(h->ch_codec, ev, &buf, len, errstr, sizeof(errstr)),
                         CODEC_OK);
        copy = malloc(*len);
        assert_non_null(copy);
        memcpy(copy, buf, *len);
        free(ev);
        return copy;
}

static void changed_event_is_pinpointed(void **state) {
        clit_rec_t *c = copy_recs();
        size_t i = clit_find(recs, nrecs, &acct_a, 5), len;
        uint8_t *v = tamper_name(i, false, &len);

        c[i].cr_value = v;
        c[i].cr_len = len;
        expect_single_problem("it-cli-changed", c, nrecs, "changed", 5);
        free(v);
        free(c);
}

static void rehashed_event_breaks_the_chain_at_the_next(void **state) {
        clit_rec_t *c = copy_recs();
        size_t i = clit_find(recs, nrecs, &acct_a, 5), len;
        uint8_t *v = tamper_name(i, true, &len);

        /* Its own hash is right now: the next event's prev_hash no longer is. */
        c[i].cr_value = v;
        c[i].cr_len = len;
        expect_single_problem("it-cli-rehashed", c, nrecs, "chain", 6);
        free(v);
        free(c);
}

static void dropped_event_is_pinpointed(void **state) {
        clit_rec_t *c = copy_recs();
        size_t i = clit_find(recs, nrecs, &acct_a, 7);

        memmove(&c[i], &c[i + 1], (nrecs - i - 1) * sizeof(*c));
        expect_single_problem("it-cli-dropped", c, nrecs - 1, "missing", 7);
        free(c);
}

static void duplicated_event_is_pinpointed(void **state) {
        clit_rec_t *c = copy_recs();
        size_t i = clit_find(recs, nrecs, &acct_a, 8);

        memmove(&c[i + 1], &c[i], (nrecs - i) * sizeof(*c));    /* c[i] == c[i + 1] */
        expect_single_problem("it-cli-duplicated", c, nrecs + 1, "duplicate", 8);
        free(c);
}

static void reordered_events_are_pinpointed(void **state) {
        clit_rec_t *c = copy_recs(), tmp;
        size_t i = clit_find(recs, nrecs, &acct_a, 9), j = clit_find(recs, nrecs, &acct_a, 10);

        tmp = c[i];
        c[i] = c[j];
        c[j] = tmp;
        /* seq 10 comes first: seq 9 is missing, then arrives late: one reorder, no gap. */
        expect_single_problem("it-cli-reordered", c, nrecs, "reordered", 9);
        free(c);
}

static void usage_errors_exit_2(void **state) {
        assert_int_equal(clit_run(NULL, "audit verify --no-such-option 2>/dev/null"), 2);
        assert_int_equal(clit_run(NULL, "audit verify --max-problems x 2>/dev/null"), 2);
        assert_int_equal(clit_run(NULL, "audit frobnicate 2>/dev/null"), 2);
        /* A topic that does not exist is a failure, not a clean log. */
        assert_int_equal(clit_run(NULL, "audit verify --no-progress --topic it-cli-no-such-topic"
                                        " 2>/dev/null"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(clean_log_verifies),
                cmocka_unit_test(changed_event_is_pinpointed),
                cmocka_unit_test(rehashed_event_breaks_the_chain_at_the_next),
                cmocka_unit_test(dropped_event_is_pinpointed),
                cmocka_unit_test(duplicated_event_is_pinpointed),
                cmocka_unit_test(reordered_events_are_pinpointed),
                cmocka_unit_test(usage_errors_exit_2),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
