/*
 * billingctl audit verify --compare-read-models on the real stack: random account stories
 * (pj_gen: decided and chained by the domain) are produced to a topic of the test's own,
 * billing-projector projects them into a schema of its own; the replay agrees with every
 * table. Then rows are changed, deleted and added by hand, and each difference is
 * reported with its table, account, entity and column.
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

#include "bg_proc.h"
#include "bg_test_support.h"
#include "cli_fixture.h"
#include "pj_fixture.h"

static pjt_t *t;
static char schema[64];

static int setup(void **state) {
        pid_t pid;

        t = pjt_new("it-cli-rm", 2, true);
        pjt_schema(t, schema);
        assert_true(pjt_produce_random(t, 12, 600) >= 600);
        pid = pjt_start(t, schema, "projector", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 120000))
                fail_msg("the projector did not catch up");
        bg_proc_stop(pid, SIGTERM, 20000);
        return 0;
}

static int teardown(void **state) {
        pjt_destroy(t);
        return 0;
}

static json_t *compare(int want_exit) {
        char *out;
        json_t *report;

        assert_int_equal(clit_run(&out, "audit verify --json --no-progress --compare-read-models "
                                        "--schema %s", schema), want_exit);
        report = json_loads(out, 0, NULL);
        if (report == NULL)
                fail_msg("not JSON: %s", out);
        free(out);
        return report;
}

/* The differences of @report matching @kind, @table, @key and @field (NULL: any). */
static size_t count_diffs(json_t *report, const char *kind, const char *table, const char *key,
                          const char *field) {
        json_t *diffs = json_object_get(json_object_get(report, "read_models"), "differences");
        json_t *d;
        size_t i, n = 0;

#define MATCH(name, want)                                                                   \
        ((want) == NULL || (json_string_value(json_object_get(d, name)) != NULL &&            \
                            strcmp(json_string_value(json_object_get(d, name)), want) == 0))
        json_array_foreach(diffs, i, d)
                if (MATCH("kind", kind) && MATCH("table", table) && MATCH("key", key) &&
                    MATCH("field", field))
                        n++;
#undef MATCH
        return n;
}

static void replay_agrees_with_the_projection(void **state) {
        json_t *report = compare(0), *rm = json_object_get(report, "read_models");

        assert_true(json_is_true(json_object_get(report, "ok")));
        assert_int_equal(json_integer_value(json_object_get(report, "accounts")), 12);
        assert_int_equal(json_integer_value(json_object_get(rm, "accounts_compared")), 12);
        assert_int_equal(json_integer_value(json_object_get(rm, "difference_count")), 0);
        assert_true(json_integer_value(json_object_get(rm, "rows")) > 12 * 4);
        json_decref(report);
}

static void hand_edits_are_reported(void **state) {
        char *group = pjt_text(t, "SELECT billing_group_id::text FROM %s.billing_groups "
                                  "ORDER BY billing_group_id LIMIT 1", schema);
        char *project = pjt_text(t, "SELECT project_id::text FROM %s.projects "
                                    "ORDER BY project_id LIMIT 1", schema);
        char *account = pjt_text(t, "SELECT account_id::text FROM %s.accounts "
                                    "ORDER BY account_id LIMIT 1", schema);
        json_t *report, *rm;
        char *out, needle[256];

        pjt_count(t, "WITH u AS (UPDATE %s.billing_groups SET name = 'Tampered', "
                     "vat_id = 'XX999' WHERE billing_group_id = '%s' RETURNING 1) "
                     "SELECT count(*) FROM u", schema, group);
        pjt_count(t, "WITH d AS (DELETE FROM %s.projects WHERE project_id = '%s' RETURNING 1) "
                     "SELECT count(*) FROM d", schema, project);
        pjt_count(t, "WITH i AS (INSERT INTO %s.account_members VALUES ('%s', "
                     "'mallory@example.com', 'admin', now()) RETURNING 1) SELECT count(*) FROM i",
                     schema, account);
        pjt_count(t, "WITH u AS (UPDATE %s.account_seq SET seq = seq + 1 "
                     "WHERE account_id = '%s' RETURNING 1) SELECT count(*) FROM u", schema,
                     account);

        report = compare(1);
        rm = json_object_get(report, "read_models");
        assert_false(json_is_true(json_object_get(report, "ok")));
        /* The log itself is intact: only the read models differ. */
        assert_int_equal(json_integer_value(json_object_get(report, "problem_count")), 0);
        assert_int_equal(count_diffs(report, "differs", "billing_groups", group, "name"), 1);
        assert_int_equal(count_diffs(report, "differs", "billing_groups", group, "vat_id"), 1);
        assert_int_equal(count_diffs(report, "missing_row", "projects", project, NULL), 1);
        assert_int_equal(count_diffs(report, "extra_row", "account_members",
                                     "mallory@example.com", NULL), 1);
        assert_int_equal(count_diffs(report, "differs", "account_seq", NULL, "seq"), 1);
        assert_int_equal(json_integer_value(json_object_get(rm, "difference_count")), 5);
        json_decref(report);

        /* The text form names the same. */
        assert_int_equal(clit_run(&out, "audit verify --no-progress --compare-read-models "
                                        "--schema %s", schema), 1);
        snprintf(needle, sizeof(needle), "billing group %s: name: log \"", group);
        assert_non_null(strstr(out, needle));
        assert_non_null(strstr(out, "read model \"Tampered\""));
        snprintf(needle, sizeof(needle), "project %s: missing row", project);
        assert_non_null(strstr(out, needle));
        assert_non_null(strstr(out, ": 5 differences"));
        free(out);
        free(group);
        free(project);
        free(account);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(replay_agrees_with_the_projection),
                cmocka_unit_test(hand_edits_are_reported),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
