/*
 * A failed commit with the next transaction already queued behind it, on the other
 * producer (the pipeline of docs/commands.md, "How it works", 3). Fault injection fails
 * the 4th commit once the 5th is queued: the committer must skip the 5th, the service
 * abort both and redo them from the committed offsets. Afterwards every command has
 * exactly one committed result and every account's events are seq 1..N with no gap and
 * no repeat, each linked to the previous one's hash.
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

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"

#define NACCOUNTS 8
#define ROUNDS    6                     /* CreateAccount, then 5 CreateBillingGroup each */
#define NCMDS     (NACCOUNTS * ROUNDS)
#define ACTOR     "user:owner@example.com"

static bg_uuid_t accounts[NACCOUNTS];
static bg_command_t cmds[NCMDS];

typedef struct {
        size_t counts[NCMDS];
        size_t others;
} results_acc_t;

/* Counts committed results by command id (the record key). */
static void count_result(void *opaque, const rd_kafka_message_t *m) {
        results_acc_t *a = opaque;
        bg_uuid_t id;

        if (m->key == NULL || !bg_uuid_parse(m->key, m->key_len, &id)) {
                a->others++;
                return;
        }
        for (int i = 0; i < NCMDS; i++)
                if (bg_uuid_equal(&cmds[i].command_id, &id)) {
                        a->counts[i]++;
                        return;
                }
        a->others++;
}

static void failed_commit_aborts_the_queued_one_too_then_exactly_once(void **state) {
        cmdh_t *h = cmdh_new("it-cmd-pipe", 2);
        /* Batches of 5 and no waiting for more: the 48 commands make about ten
         * transactions, back to back, so the pipeline is full when the 4th fails. */
        char *env[] = {"BILLING_TXN_PRODUCERS=2", "BILLING_BATCH_MAX=5", "BILLING_BATCH_MS=0",
                       "BILLING_FAULT_FAIL_COMMIT=4", NULL};
        static results_acc_t acc;
        bg_command_result_t res;
        char needle[300];
        bg_event_t *events;
        size_t nev;
        pid_t pid;

        /* The whole backlog first, so that the service finds it at once. */
        for (int r = 0; r < ROUNDS; r++)
                for (int a = 0; a < NACCOUNTS; a++) {
                        bg_command_t *c = &cmds[r * NACCOUNTS + a];

                        if (r == 0) {
                                bg_uuid_generate(&accounts[a]);
                                cmdh_command_init(c, BG_CMD_CREATE_ACCOUNT, &accounts[a], ACTOR);
                                snprintf(c->payload.create_account.name, BG_NAME_SIZE, "Pipe %d", a);
                                snprintf(c->payload.create_account.owner, BG_EMAIL_SIZE,
                                         "owner@example.com");
                        } else {
                                cmdh_command_init(c, BG_CMD_CREATE_BILLING_GROUP, &accounts[a], ACTOR);
                                bg_uuid_generate(&c->payload.create_billing_group.billing_group_id);
                                snprintf(c->payload.create_billing_group.name, BG_NAME_SIZE,
                                         "Round %d", r);
                        }
                        cmdh_publish(h, c);
                }
        pid = cmdh_start(h, "pipe-0", env);

        for (int i = 0; i < NCMDS; i++) {
                assert_true(cmdh_wait_result(h, &cmds[i].command_id, 90000, &res));
                assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
                assert_int_equal(res.first_seq, i / NACCOUNTS + 1);
        }

        /* The failure happened, with the next transaction queued: both producers'
         * transactions were aborted. */
        assert_true(cmdh_log_contains(h, "pipe-0", "fault injection: failing the commit"));
        snprintf(needle, sizeof(needle), "commands (%s-pipe-0.t0)", h->ch_group);
        assert_true(cmdh_log_contains(h, "pipe-0", needle));
        snprintf(needle, sizeof(needle), "commands (%s-pipe-0.t1)", h->ch_group);
        assert_true(cmdh_log_contains(h, "pipe-0", needle));

        /* Exactly once: one committed result per command, nothing else. */
        cmdh_read_topic(h->ch_topics.kt_results, h->ch_topics.kt_results_partitions, true,
                        count_result, &acc);
        for (int i = 0; i < NCMDS; i++)
                assert_int_equal(acc.counts[i], 1);
        assert_int_equal(acc.others, 0);

        /* Each account: seq 1..ROUNDS in log order, each event chained to the one before. */
        nev = cmdh_read_events(h, &events, NULL);
        assert_int_equal(nev, NCMDS);
        for (int a = 0; a < NACCOUNTS; a++) {
                const bg_event_t *prev = NULL;
                int64_t seq = 0;

                for (size_t i = 0; i < nev; i++) {
                        if (!bg_uuid_equal(&events[i].account_id, &accounts[a]))
                                continue;
                        assert_int_equal(events[i].seq, ++seq);
                        if (prev != NULL)
                                assert_memory_equal(events[i].prev_hash, prev->hash,
                                                    sizeof(events[i].prev_hash));
                        prev = &events[i];
                }
                assert_int_equal(seq, ROUNDS);
        }
        free(events);

        assert_int_equal(WEXITSTATUS(bg_proc_stop(pid, SIGTERM, 20000)), 0);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(failed_commit_aborts_the_queued_one_too_then_exactly_once),
        };
        return cmocka_run_group_tests_name("commands_failed_commit_pipeline", tests, NULL, NULL);
}
