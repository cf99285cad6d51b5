/*
 * kc_topics: the topics of DESIGN.md section 3, their names and settings, from the
 * environment, and the `topics ensure` step that creates them.
 *
 *   BILLING_TOPIC_PREFIX        prefix of every name (default "billing.")
 *   BILLING_PARTITIONS          partitions of commands and events (default 4): they must
 *                               have the same count
 *   BILLING_RESULTS_PARTITIONS  partitions of command-results (default 1): every
 *                               transaction of the commands service writes to each results
 *                               partition its batch's command ids hash to, and each
 *                               partition costs it a produce request and a commit marker
 *   BILLING_USAGE_PARTITIONS    partitions of usage and invoices (default 4)
 *   BILLING_REPLICATION         replication factor (default 1: the local stack)
 *
 * Every input topic has a dead-letter topic "<topic>.dlq".
 */
#ifndef KC_TOPICS_H
#define KC_TOPICS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define KC_TOPIC_NAME_SIZE 200

typedef struct kc_topics_s {
        char kt_commands[KC_TOPIC_NAME_SIZE];
        char kt_events[KC_TOPIC_NAME_SIZE];
        char kt_results[KC_TOPIC_NAME_SIZE];
        char kt_usage[KC_TOPIC_NAME_SIZE];
        char kt_invoices[KC_TOPIC_NAME_SIZE];
        char kt_commands_dlq[KC_TOPIC_NAME_SIZE];
        char kt_events_dlq[KC_TOPIC_NAME_SIZE];
        char kt_usage_dlq[KC_TOPIC_NAME_SIZE];
        int kt_partitions;              /* commands and events */
        int kt_results_partitions;
        int kt_usage_partitions;
        int kt_replication;
} kc_topics_t;

/* Fills @t from the environment. Returns 0, or -1 with a reason in @errstr. */
int kc_topics_load(kc_topics_t *t, char *errstr, size_t errstr_size);

/* Creates the topics that do not exist, with their settings, and checks that commands and
 * events have the same partition count. Returns 0 or -1 with a reason. */
int kc_topics_ensure(rd_kafka_t *rk, const kc_topics_t *t, int timeout_ms, char *errstr,
                     size_t errstr_size);

/* The partition count of @topic, or -1 with a reason (unknown topic, no answer). */
int kc_topic_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size);

/* The low and high watermarks of @topic [@partition], asked of the broker. A partition
 * whose leader is moving (a topic just created, a broker just restarted) answers "not
 * leader" for a moment: those answers are retried for up to ten seconds. */
rd_kafka_resp_err_t kc_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                  int64_t *lo, int64_t *hi, int timeout_ms);

/* The end offsets of partitions 0 .. @nparts - 1 of @topic in one ListOffsets round trip
 * (kc_watermarks asks for both watermarks of one partition: two requests a partition).
 * The end is what @rk's isolation.level sees (its default, read_committed: the last
 * stable offset). "Not leader" answers are retried as kc_watermarks does. */
rd_kafka_resp_err_t kc_end_offsets(rd_kafka_t *rk, const char *topic, int nparts,
                                   int64_t *end, int timeout_ms);

#endif /* KC_TOPICS_H */
