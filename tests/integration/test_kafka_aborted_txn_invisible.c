/*
 * The exactly-once ground the services stand on, checked against the real broker:
 *  - a read_committed consumer never sees the messages of an aborted transaction, while a
 *    read_uncommitted one does (so the log really holds them and the filter is what hides
 *    them);
 *  - consumer offsets sent within a transaction become the group's committed offsets only
 *    when that transaction commits.
 * librdkafka's mock cluster gets both wrong, which is why this test runs on real Kafka.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_test_support.h"
#include "kc_admin.h"
#include "kc_conf.h"

#define TIMEOUT_MS 30000

typedef struct {
        char topic[128];
        char txn_id[128];
        char group[128];
} fixture_t;

static rd_kafka_t *client_new(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;

        bg_test_env("BILLING_KAFKA_BOOTSTRAP");
        conf = kc_conf_from_env(errstr, sizeof(errstr));
        if (conf == NULL)
                fail_msg("%s", errstr);
        for (const char *const *p = props; p && p[0]; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        fail_msg("%s", errstr);
        rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fail_msg("cannot create client: %s", errstr);
        return rk;
}

static void txn_check(rd_kafka_error_t *error, const char *what) {
        if (error != NULL) {
                fail_msg("%s failed: %s", what, rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
}

static void produce_batch(rd_kafka_t *rk, const char *topic, const char *prefix, int n) {
        for (int i = 0; i < n; i++) {
                char value[64];
                rd_kafka_resp_err_t err;

                snprintf(value, sizeof(value), "%s-%d", prefix, i);
                err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                        RD_KAFKA_V_VALUE(value, strlen(value)),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        }
}

/* Reads partition 0 of @topic from the start to its end; returns the data messages'
 * values, each NUL-terminated, in @values (at most @max), and their count. */
static int read_all(const char *topic, const char *isolation, char values[][64], int max) {
        const char *props[] = {"group.id", "bg-test-reader", "isolation.level", isolation,
                               "enable.partition.eof", "true", "enable.auto.commit", "false",
                               NULL};
        rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, props);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        int n = 0;

        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
        for (int polls = 0; polls < 300; polls++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                if (m->err)
                        fail_msg("consume error: %s", rd_kafka_message_errstr(m));
                assert_true(n < max);
                assert_true(m->len < 64);
                memcpy(values[n], m->payload, m->len);
                values[n][m->len] = '\0';
                n++;
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

static int setup(void **state) {
        fixture_t *f = calloc(1, sizeof(*f));
        const char *props[] = {NULL};
        kc_topic_spec_t spec;
        char errstr[512];
        rd_kafka_t *rk;

        bg_test_unique_name(f->topic, sizeof(f->topic), "it-txn");
        bg_test_unique_name(f->txn_id, sizeof(f->txn_id), "it-txn-producer");
        bg_test_unique_name(f->group, sizeof(f->group), "it-txn-group");
        rk = client_new(RD_KAFKA_PRODUCER, props);
        spec = (kc_topic_spec_t){.kts_name = f->topic, .kts_partitions = 1, .kts_replication = 1};
        if (kc_topics_create(rk, &spec, 1, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        rd_kafka_destroy(rk);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        free(*state);
        return 0;
}

static void aborted_messages_are_invisible_to_read_committed(void **state) {
        fixture_t *f = *state;
        const char *props[] = {"transactional.id", f->txn_id, "linger.ms", "5", NULL};
        rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, props);
        static char values[64][64];
        int n;

        txn_check(rd_kafka_init_transactions(rk, TIMEOUT_MS), "init_transactions");

        txn_check(rd_kafka_begin_transaction(rk), "begin 1");
        produce_batch(rk, f->topic, "committed-a", 10);
        txn_check(rd_kafka_commit_transaction(rk, TIMEOUT_MS), "commit 1");

        txn_check(rd_kafka_begin_transaction(rk), "begin 2");
        produce_batch(rk, f->topic, "aborted", 5);
        /* Make sure the aborted messages really reach the log before the abort. */
        assert_int_equal(rd_kafka_flush(rk, TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
        txn_check(rd_kafka_abort_transaction(rk, TIMEOUT_MS), "abort 2");

        txn_check(rd_kafka_begin_transaction(rk), "begin 3");
        produce_batch(rk, f->topic, "committed-b", 3);
        txn_check(rd_kafka_commit_transaction(rk, TIMEOUT_MS), "commit 3");
        rd_kafka_destroy(rk);

        n = read_all(f->topic, "read_committed", values, 64);
        assert_int_equal(n, 13);
        for (int i = 0; i < 10; i++) {
                char want[64];
                snprintf(want, sizeof(want), "committed-a-%d", i);
                assert_string_equal(values[i], want);
        }
        for (int i = 0; i < 3; i++) {
                char want[64];
                snprintf(want, sizeof(want), "committed-b-%d", i);
                assert_string_equal(values[10 + i], want);
        }

        /* The aborted records are in the log: only the isolation level hides them. */
        n = read_all(f->topic, "read_uncommitted", values, 64);
        assert_int_equal(n, 18);
        assert_string_equal(values[10], "aborted-0");
        assert_string_equal(values[14], "aborted-4");
}

static int64_t committed_offset(const char *group, const char *topic) {
        const char *props[] = {"group.id", group, "enable.auto.commit", "false", NULL};
        rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, props);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        int64_t off;

        rd_kafka_topic_partition_list_add(parts, topic, 0);
        assert_int_equal(rd_kafka_committed(rk, parts, TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
        off = parts->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(rk);
        return off;
}

static void send_offsets(rd_kafka_t *rk, const char *group, const char *topic, int64_t offset,
                         int commit) {
        rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata_new(group);

        rd_kafka_topic_partition_list_add(offsets, topic, 0)->offset = offset;
        txn_check(rd_kafka_begin_transaction(rk), "begin");
        produce_batch(rk, topic, commit ? "with-offsets" : "with-aborted-offsets", 1);
        txn_check(rd_kafka_send_offsets_to_transaction(rk, offsets, cgmd, TIMEOUT_MS),
                  "send_offsets_to_transaction");
        if (commit)
                txn_check(rd_kafka_commit_transaction(rk, TIMEOUT_MS), "commit");
        else
                txn_check(rd_kafka_abort_transaction(rk, TIMEOUT_MS), "abort");
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        rd_kafka_topic_partition_list_destroy(offsets);
}

static void transactional_offsets_commit_only_with_the_transaction(void **state) {
        fixture_t *f = *state;
        char txn_id[160];
        const char *props[] = {"transactional.id", txn_id, NULL};
        rd_kafka_t *rk;

        snprintf(txn_id, sizeof(txn_id), "%s-offsets", f->txn_id);
        rk = client_new(RD_KAFKA_PRODUCER, props);
        txn_check(rd_kafka_init_transactions(rk, TIMEOUT_MS), "init_transactions");

        assert_true(committed_offset(f->group, f->topic) < 0); /* nothing committed yet */
        send_offsets(rk, f->group, f->topic, 7, 1);
        assert_int_equal(committed_offset(f->group, f->topic), 7);
        send_offsets(rk, f->group, f->topic, 11, 0);
        assert_int_equal(committed_offset(f->group, f->topic), 7);
        send_offsets(rk, f->group, f->topic, 12, 1);
        assert_int_equal(committed_offset(f->group, f->topic), 12);
        rd_kafka_destroy(rk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(aborted_messages_are_invisible_to_read_committed),
                cmocka_unit_test(transactional_offsets_commit_only_with_the_transaction),
        };
        return cmocka_run_group_tests_name("kafka_transactions", tests, setup, teardown);
}
