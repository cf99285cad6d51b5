/*
 * Two instances in one consumer group split the partitions, and an account is only ever
 * written by the instance that owns its partition: every account's events sit in one
 * partition with seq 1..N, no gap, no repeat, a valid hash chain link to the previous
 * event, also across a hand-over when one instance stops.
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
#include <unistd.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_topics.h"

#define NACCOUNTS 24
#define ACTOR "user:owner@example.com"

static bg_uuid_t accounts[NACCOUNTS];
static bg_command_t cmds[NACCOUNTS];

static void send_round(cmdh_t *h, int round) {
        bg_command_result_t res;

        for (int i = 0; i < NACCOUNTS; i++) {
                if (round == 0) {
                        cmdh_command_init(&cmds[i], BG_CMD_CREATE_ACCOUNT, &accounts[i], ACTOR);
                        snprintf(cmds[i].payload.create_account.name, BG_NAME_SIZE, "Acct %d", i);
                        snprintf(cmds[i].payload.create_account.owner, BG_EMAIL_SIZE,
                                 "owner@example.com");
                } else {
                        cmdh_command_init(&cmds[i], BG_CMD_CREATE_BILLING_GROUP, &accounts[i], ACTOR);
                        bg_uuid_generate(&cmds[i].payload.create_billing_group.billing_group_id);
                        snprintf(cmds[i].payload.create_billing_group.name, BG_NAME_SIZE,
                                 "Round %d", round);
                }
                cmdh_publish(h, &cmds[i]);
        }
        for (int i = 0; i < NACCOUNTS; i++) {
                assert_true(cmdh_wait_result(h, &cmds[i].command_id, 90000, &res));
                assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
                assert_int_equal(res.first_seq, round + 1);
        }
}

static void wait_for_log(cmdh_t *h, const char *instance, const char *needle) {
        for (int i = 0; i < 600 && !cmdh_log_contains(h, instance, needle); i++)
                usleep(100 * 1000);
        assert_true(cmdh_log_contains(h, instance, needle));
}

static void instances_split_partitions_and_never_share_an_account(void **state) {
        cmdh_t *h;
        pid_t a, b;
        bg_event_t *events;
        int *parts;
        size_t n;
        char errstr[256];

        /* Results in three partitions, not the default one: both instances write to all
         * of them, and every reader must find a result in whichever its id hashes to. */
        setenv("BILLING_RESULTS_PARTITIONS", "3", 1);
        h = cmdh_new("it-cmd-two", 4);
        assert_int_equal(kc_topic_partition_count(h->ch_producer, h->ch_topics.kt_results, 10000,
                                                  errstr, sizeof(errstr)),
                         3);
        for (int i = 0; i < NACCOUNTS; i++)
                bg_uuid_generate(&accounts[i]);
        a = cmdh_start(h, "a", NULL);
        wait_for_log(h, "a", "assigned 4 partitions");
        b = cmdh_start(h, "b", NULL);
        /* The group rebalances: each ends with two of the four partitions. */
        wait_for_log(h, "b", "assigned 2 partitions");
        wait_for_log(h, "a", "assigned 2 partitions");

        send_round(h, 0);
        send_round(h, 1);

        /* Hand-over: b stops cleanly, a takes all four and continues every account. */
        assert_int_equal(WEXITSTATUS(bg_proc_stop(b, SIGTERM, 30000)), 0);
        send_round(h, 2);

        n = cmdh_read_events(h, &events, &parts);
        for (int i = 0; i < NACCOUNTS; i++) {
                int64_t next = 1;
                int partition = -1;
                uint8_t prev[BG_HASH_SIZE] = {0};

                for (size_t e = 0; e < n; e++) {
                        if (!bg_uuid_equal(&events[e].account_id, &accounts[i]))
                                continue;
                        if (partition < 0)
                                partition = parts[e];
                        assert_int_equal(parts[e], partition);
                        assert_int_equal(events[e].seq, next);
                        assert_memory_equal(events[e].prev_hash, prev, BG_HASH_SIZE);
                        memcpy(prev, events[e].hash, BG_HASH_SIZE);
                        next++;
                }
                assert_int_equal(next, 4);      /* three events, one per round */
        }
        free(events);
        free(parts);
        assert_int_equal(WEXITSTATUS(bg_proc_stop(a, SIGTERM, 30000)), 0);
        cmdh_destroy(h);
        unsetenv("BILLING_RESULTS_PARTITIONS");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(instances_split_partitions_and_never_share_an_account),
        };
        return cmocka_run_group_tests_name("commands_two_instances", tests, NULL, NULL);
}
