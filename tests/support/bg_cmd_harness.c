#include "bg_cmd_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_client.h"

#define TIMEOUT_MS 30000

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_t *rk;

        bg_test_env("BILLING_KAFKA_BOOTSTRAP");
        rk = kc_client_new(type, props, NULL, errstr, sizeof(errstr));
        if (rk == NULL)
                fail_msg("%s", errstr);
        return rk;
}

static void assign_all(rd_kafka_t *rk, const char *topic, int n) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);

        for (int p = 0; p < n; p++)
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(rk, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
}

codec_registry_t *bg_test_registry(char *errstr, size_t errstr_size) {
        const char *url = getenv("BILLING_SCHEMA_REGISTRY_URL");
        codec_registry_t *reg = codec_registry_from_env(BG_SCHEMAS_DIR, errstr, errstr_size);

        if (reg != NULL && url != NULL && *url != '\0' &&
            codec_registry_sync_manifest(reg, BG_SCHEMAS_DIR, errstr, errstr_size) != 0) {
                codec_registry_destroy(reg);
                return NULL;
        }
        return reg;
}

cmdh_t *cmdh_new(const char *name, int partitions) {
        cmdh_t *h = calloc(1, sizeof(*h));
        const char *producer_props[] = {"partitioner", "murmur2_random", "linger.ms", "1", NULL};
        /* read_committed fetches wait for fetch.wait.max.ms when the data is beyond the
         * last stable offset: keep it short so results are seen soon after commit. */
        const char *results_props[] = {"group.id", "unused", "isolation.level", "read_committed",
                                       "fetch.wait.max.ms", "10",
                                       "enable.auto.commit", "false", NULL};
        char errstr[512], num[16], unique[80];

        bg_test_unique_name(unique, sizeof(unique), name);
        snprintf(h->ch_prefix, sizeof(h->ch_prefix), "%s.", unique);
        snprintf(h->ch_group, sizeof(h->ch_group), "%s-commands", unique);
        snprintf(h->ch_log, sizeof(h->ch_log), "%s/%s",
                 getenv("BILLING_TEST_LOG_DIR") ? getenv("BILLING_TEST_LOG_DIR") : "/tmp", unique);
        setenv("BILLING_TOPIC_PREFIX", h->ch_prefix, 1);
        snprintf(num, sizeof(num), "%d", partitions);
        setenv("BILLING_PARTITIONS", num, 1);
        setenv("BILLING_USAGE_PARTITIONS", num, 1);
        if (kc_topics_load(&h->ch_topics, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);

        h->ch_producer = client(RD_KAFKA_PRODUCER, producer_props);
        if (kc_topics_ensure(h->ch_producer, &h->ch_topics, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        /* The stack's registry when it runs one (the services use it too), else the
         * manifest; the schemas are registered as billing-topics ensure would. */
        h->ch_reg = bg_test_registry(errstr, sizeof(errstr));
        if (h->ch_reg == NULL)
                fail_msg("%s", errstr);
        h->ch_codec = codec_new(h->ch_reg, NULL, errstr, sizeof(errstr));
        if (h->ch_codec == NULL)
                fail_msg("%s", errstr);
        h->ch_results = client(RD_KAFKA_CONSUMER, results_props);
        assign_all(h->ch_results, h->ch_topics.kt_results, h->ch_topics.kt_results_partitions);
        return h;
}

void cmdh_destroy(cmdh_t *h) {
        if (h == NULL)
                return;
        rd_kafka_consumer_close(h->ch_results);
        rd_kafka_destroy(h->ch_results);
        rd_kafka_flush(h->ch_producer, 5000);
        rd_kafka_destroy(h->ch_producer);
        codec_destroy(h->ch_codec);
        codec_registry_destroy(h->ch_reg);
        free(h->ch_seen);
        free(h);
}

pid_t cmdh_start(cmdh_t *h, const char *instance, char *const env[]) {
        static char vars[8][256];
        char *all[24], log[300];
        size_t n = 0;
        pid_t pid;

        snprintf(vars[0], sizeof(vars[0]), "BILLING_INSTANCE_ID=%s", instance);
        snprintf(vars[1], sizeof(vars[1]), "BILLING_COMMANDS_GROUP=%s", h->ch_group);
        snprintf(vars[2], sizeof(vars[2]), "BILLING_ADMIN_ADDR=127.0.0.1:0");
        snprintf(vars[3], sizeof(vars[3]), "BILLING_SCHEMAS_DIR=%s", BG_SCHEMAS_DIR);
        snprintf(vars[4], sizeof(vars[4]), "BILLING_SERVICE_PRINCIPALS=service:metering,service:billing");
        for (int i = 0; i < 5; i++)
                all[n++] = vars[i];
        for (char *const *e = env; e && *e && n < 23; e++)
                all[n++] = *e;
        all[n] = NULL;
        cmdh_log_path(h, instance, log, sizeof(log));
        pid = bg_proc_spawn(BG_BINARY_DIR "/services/commands/billing-commands", NULL, all, log);
        assert_true(pid > 0);
        return pid;
}

void cmdh_log_path(const cmdh_t *h, const char *instance, char *buf, size_t size) {
        snprintf(buf, size, "%s-%s.log", h->ch_log, instance);
}

bool cmdh_log_contains(const cmdh_t *h, const char *instance, const char *needle) {
        char path[300], line[4096];
        bool found = false;
        FILE *f;

        cmdh_log_path(h, instance, path, sizeof(path));
        f = fopen(path, "r");
        if (f == NULL)
                return false;
        while (!found && fgets(line, sizeof(line), f) != NULL)
                found = strstr(line, needle) != NULL;
        fclose(f);
        return found;
}

void cmdh_publish_raw(cmdh_t *h, const char *key, const void *value, size_t len) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
                h->ch_producer, RD_KAFKA_V_TOPIC(h->ch_topics.kt_commands),
                RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)value, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(h->ch_producer, TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
}

void cmdh_publish(cmdh_t *h, const bg_command_t *cmd) {
        char key[BG_UUID_STR_LEN + 1], errstr[512];
        const uint8_t *buf;
        size_t len;

        if (codec_encode_command(h->ch_codec, cmd, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode command: %s", errstr);
        bg_uuid_format(&cmd->account_id, key);
        cmdh_publish_raw(h, key, buf, len);
}

static void read_results(cmdh_t *h, int timeout_ms) {
        rd_kafka_message_t *m;

        while ((m = rd_kafka_consumer_poll(h->ch_results, timeout_ms)) != NULL) {
                timeout_ms = 0;
                if (!m->err) {
                        bg_command_result_t res;
                        char errstr[512];
                        if (codec_decode_result(h->ch_codec, m->payload, m->len, &res, errstr,
                                                sizeof(errstr)) != CODEC_OK)
                                fail_msg("undecodable result: %s", errstr);
                        if (h->ch_nseen == h->ch_capseen) {
                                h->ch_capseen = h->ch_capseen ? h->ch_capseen * 2 : 64;
                                h->ch_seen = realloc(h->ch_seen, h->ch_capseen * sizeof(res));
                                assert_non_null(h->ch_seen);
                        }
                        h->ch_seen[h->ch_nseen++] = res;
                }
                rd_kafka_message_destroy(m);
        }
}

bool cmdh_wait_result(cmdh_t *h, const bg_uuid_t *command_id, int timeout_ms,
                      bg_command_result_t *out) {
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                for (size_t i = 0; i < h->ch_nseen; i++)
                        if (bg_uuid_equal(&h->ch_seen[i].command_id, command_id)) {
                                *out = h->ch_seen[i];
                                return true;
                        }
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
                        return false;
                read_results(h, 100);
        }
}

size_t cmdh_count_results(cmdh_t *h, const bg_uuid_t *command_id, int settle_ms) {
        size_t n = 0;

        read_results(h, settle_ms);
        for (size_t i = 0; i < h->ch_nseen; i++)
                if (bg_uuid_equal(&h->ch_seen[i].command_id, command_id))
                        n++;
        return n;
}

void cmdh_read_topic(const char *topic, int nparts, bool committed,
                     void (*fn)(void *opaque, const rd_kafka_message_t *m), void *opaque) {
        const char *props[] = {"group.id", "unused", "isolation.level",
                               committed ? "read_committed" : "read_uncommitted",
                               "enable.partition.eof", "true", "enable.auto.commit", "false", NULL};
        rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, props);
        int eofs = 0;

        for (int p = 0; p < nparts; p++) {
                rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
                assert_int_equal(rd_kafka_assign(rk, parts), 0);
                rd_kafka_topic_partition_list_destroy(parts);
                for (int polls = 0; polls < 600; polls++) {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                        if (m == NULL)
                                continue;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                rd_kafka_message_destroy(m);
                                eofs++;
                                break;
                        }
                        if (!m->err)
                                fn(opaque, m);
                        rd_kafka_message_destroy(m);
                }
        }
        assert_int_equal(eofs, nparts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
}

typedef struct {
        cmdh_t *h;
        bg_event_t *events;
        int *parts;
        size_t n, cap;
} events_acc_t;

static void collect_event(void *opaque, const rd_kafka_message_t *m) {
        events_acc_t *a = opaque;
        char errstr[512];

        if (a->n == a->cap) {
                a->cap = a->cap ? a->cap * 2 : 64;
                a->events = realloc(a->events, a->cap * sizeof(bg_event_t));
                a->parts = realloc(a->parts, a->cap * sizeof(int));
                assert_non_null(a->events);
                assert_non_null(a->parts);
        }
        if (codec_decode_event(a->h->ch_codec, m->payload, m->len, &a->events[a->n], errstr,
                               sizeof(errstr)) != CODEC_OK)
                fail_msg("undecodable event at offset %lld: %s", (long long)m->offset, errstr);
        a->parts[a->n] = m->partition;
        a->n++;
}

size_t cmdh_read_events(cmdh_t *h, bg_event_t **events_out, int **partitions_out) {
        return cmdh_read_events_isolation(h, true, events_out, partitions_out);
}

size_t cmdh_read_events_isolation(cmdh_t *h, bool committed, bg_event_t **events_out,
                                  int **partitions_out) {
        events_acc_t a = {.h = h};

        cmdh_read_topic(h->ch_topics.kt_events, h->ch_topics.kt_partitions, committed, collect_event, &a);
        *events_out = a.events;
        if (partitions_out)
                *partitions_out = a.parts;
        else
                free(a.parts);
        return a.n;
}

typedef struct {
        size_t n;
        char *reason;
        size_t reason_size;
} dlq_acc_t;

static void collect_dlq(void *opaque, const rd_kafka_message_t *m) {
        dlq_acc_t *a = opaque;
        rd_kafka_headers_t *hdrs = NULL;
        const void *v;
        size_t len;

        if (a->n++ == 0 && rd_kafka_message_headers(m, &hdrs) == 0 &&
            rd_kafka_header_get_last(hdrs, "dlq_reason", &v, &len) == 0)
                snprintf(a->reason, a->reason_size, "%.*s", (int)len, (const char *)v);
}

size_t cmdh_read_dlq(cmdh_t *h, char *reason, size_t reason_size) {
        dlq_acc_t a = {0, reason, reason_size};

        reason[0] = '\0';
        cmdh_read_topic(h->ch_topics.kt_commands_dlq, 1, true, collect_dlq, &a);
        return a.n;
}

void cmdh_command_init(bg_command_t *cmd, bg_command_type_t type, const bg_uuid_t *account,
                       const char *actor) {
        memset(cmd, 0, sizeof(*cmd));
        bg_uuid_generate(&cmd->command_id);
        cmd->account_id = *account;
        snprintf(cmd->actor, sizeof(cmd->actor), "%s", actor);
        cmd->issued_at = (int64_t)time(NULL) * 1000;
        cmd->type = type;
}
