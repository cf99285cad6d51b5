/*
 * The commands service: consumes billing.commands, decides each command against its
 * account's state, and appends the events (billing.events), the result
 * (billing.command-results) and the consumed offsets in one Kafka transaction.
 *
 * Setup order (stopped in reverse): configuration, metrics + admin port, codec, Kafka
 * clients (log reader, transactional producers, group consumer), then the loop.
 */
#ifndef CMD_SERVICE_H
#define CMD_SERVICE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cmd_conf_s {
        char cc_instance[64];           /* BILLING_INSTANCE_ID: names the transactional.id */
        char cc_group[128];             /* BILLING_COMMANDS_GROUP */
        char cc_admin_addr[64];         /* BILLING_ADMIN_ADDR */
        int cc_batch_max;               /* BILLING_BATCH_MAX: commands per transaction */
        /* BILLING_BATCH_MS: longest wait for more commands once one is there. Small: while
         * a transaction commits, new commands queue up anyway, so batches grow with load
         * by themselves and a quiet system answers fast. */
        int cc_batch_ms;
        size_t cc_max_message_bytes;    /* BILLING_MAX_MESSAGE_BYTES: larger is dead-lettered */
        /* BILLING_TXN_PRODUCERS: transactional producers used in turn, 1-4 (default 2).
         * With 2, the next batch's offsets and records go to the broker while the
         * previous transaction's EndTxn is under way; commits stay in order. */
        int cc_producers;
        /* BILLING_FAULT_KILL_BEFORE_COMMIT=N: the Nth transaction is flushed to the broker,
         * then the process sends itself SIGKILL instead of committing. Crash tests only;
         * 0 (the default) never. */
        int cc_fault_kill_before_commit;
        /* BILLING_FAULT_FAIL_COMMIT=N: the Nth transaction's commit fails as an abortable
         * error would, once the next transaction is queued behind it (when there are two
         * producers or more). Tests only; 0 (the default) never. */
        int cc_fault_fail_commit;
        /* BILLING_SERVICE_PRINCIPALS: comma-separated "service:<name>" list */
        char cc_principals_buf[1024];
        const char *cc_principals[32];
        size_t cc_n_principals;
} cmd_conf_t;

/* Reads the configuration from the environment; -1 with a reason on a bad value. */
int cmd_conf_load(cmd_conf_t *conf, char *errstr, size_t errstr_size);

/* Runs until *@stop becomes non-zero (SIGTERM) or a fatal error. Returns the exit code:
 * 0 after a clean stop, 1 on a fatal error (fenced, log inconsistent, Kafka unusable). */
int cmd_service_run(const cmd_conf_t *conf, volatile sig_atomic_t *stop);

#endif /* CMD_SERVICE_H */
