/*
 * A harness for tests of the commands service on the real local stack: topics of their
 * own (a unique prefix), the service binary started and killed as a child process,
 * commands published the way platform services do, results and events read back
 * read_committed.
 */
#ifndef BG_CMD_HARNESS_H
#define BG_CMD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bg_command.h"
#include "bg_event.h"
#include "codec.h"
#include "kc_topics.h"

typedef struct cmdh_s {
        char ch_prefix[96];
        char ch_group[128];
        kc_topics_t ch_topics;
        codec_registry_t *ch_reg;
        codec_t *ch_codec;
        rd_kafka_t *ch_producer;
        rd_kafka_t *ch_results;         /* assigned every results partition */
        bg_command_result_t *ch_seen;   /* results read so far */
        size_t ch_nseen, ch_capseen;
        char ch_log[256];               /* log path prefix: <dir>/<unique> */
} cmdh_t;

/* The registry the services use (BILLING_SCHEMA_REGISTRY_URL, else the manifest), with
 * the manifest's schemas registered in it as billing-topics ensure does. */
codec_registry_t *bg_test_registry(char *errstr, size_t errstr_size);

/* Creates topics "<name>-<unique>.commands" ... with @partitions partitions each. */
cmdh_t *cmdh_new(const char *name, int partitions);
void cmdh_destroy(cmdh_t *h);

/* Starts billing-commands as instance @instance; @env adds "NAME=value" settings. */
pid_t cmdh_start(cmdh_t *h, const char *instance, char *const env[]);

/* Encodes and publishes @cmd keyed by its account id (murmur2 partitioner), flushed. */
void cmdh_publish(cmdh_t *h, const bg_command_t *cmd);
/* Publishes raw bytes with @key to the commands topic (partition chosen by murmur2). */
void cmdh_publish_raw(cmdh_t *h, const char *key, const void *value, size_t len);

/* Waits up to @timeout_ms for the result of @command_id. */
bool cmdh_wait_result(cmdh_t *h, const bg_uuid_t *command_id, int timeout_ms,
                      bg_command_result_t *out);
/* How many results for @command_id were published so far (reads what is there). */
size_t cmdh_count_results(cmdh_t *h, const bg_uuid_t *command_id, int settle_ms);

/* Every committed event of the events topic, all partitions, in partition then offset
 * order; *partitions_out (may be NULL) gets each event's partition. Caller frees both. */
size_t cmdh_read_events(cmdh_t *h, bg_event_t **events_out, int **partitions_out);

size_t cmdh_read_events_isolation(cmdh_t *h, bool committed, bg_event_t **events_out,
                                  int **partitions_out);

/* The log file of instance @instance, and whether it has a line containing @needle. */
/* Reads every partition of @topic from the beginning to its end (read_committed when
 * @committed), calling @fn for each record; fails the test when an end is not reached
 * within 60 s a partition. */
void cmdh_read_topic(const char *topic, int nparts, bool committed,
                     void (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque);

void cmdh_log_path(const cmdh_t *h, const char *instance, char *buf, size_t size);
bool cmdh_log_contains(const cmdh_t *h, const char *instance, const char *needle);

/* Committed records of @topic (values' lengths and a header), for DLQ checks: returns the
 * count and copies the first record's "dlq_reason" header into @reason. */
size_t cmdh_read_dlq(cmdh_t *h, char *reason, size_t reason_size);

/* A command envelope with fresh ids filled in. */
void cmdh_command_init(bg_command_t *cmd, bg_command_type_t type, const bg_uuid_t *account,
                       const char *actor);

#endif /* BG_CMD_HARNESS_H */
