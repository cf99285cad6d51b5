#include "kc_topics.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg_env.h"
#include "kc_admin.h"

int kc_topics_load(kc_topics_t *t, char *errstr, size_t errstr_size) {
        const char *prefix = bg_env_str("BILLING_TOPIC_PREFIX", "billing.");
        int64_t n;

        memset(t, 0, sizeof(*t));
        if (strlen(prefix) > 100) {
                snprintf(errstr, errstr_size, "BILLING_TOPIC_PREFIX is longer than 100 characters");
                return -1;
        }
        snprintf(t->kt_commands, sizeof(t->kt_commands), "%scommands", prefix);
        snprintf(t->kt_events, sizeof(t->kt_events), "%sevents", prefix);
        snprintf(t->kt_results, sizeof(t->kt_results), "%scommand-results", prefix);
        snprintf(t->kt_usage, sizeof(t->kt_usage), "%susage", prefix);
        snprintf(t->kt_invoices, sizeof(t->kt_invoices), "%sinvoices", prefix);
        snprintf(t->kt_commands_dlq, sizeof(t->kt_commands_dlq), "%scommands.dlq", prefix);
        snprintf(t->kt_events_dlq, sizeof(t->kt_events_dlq), "%sevents.dlq", prefix);
        snprintf(t->kt_usage_dlq, sizeof(t->kt_usage_dlq), "%susage.dlq", prefix);
        if (!bg_env_int("BILLING_PARTITIONS", 4, 1, 1000, &n, errstr, errstr_size))
                return -1;
        t->kt_partitions = (int)n;
        if (!bg_env_int("BILLING_RESULTS_PARTITIONS", 1, 1, 1000, &n, errstr, errstr_size))
                return -1;
        t->kt_results_partitions = (int)n;
        if (!bg_env_int("BILLING_USAGE_PARTITIONS", 4, 1, 1000, &n, errstr, errstr_size))
                return -1;
        t->kt_usage_partitions = (int)n;
        if (!bg_env_int("BILLING_REPLICATION", 1, 1, 10, &n, errstr, errstr_size))
                return -1;
        t->kt_replication = (int)n;
        return 0;
}

int kc_topics_ensure(rd_kafka_t *rk, const kc_topics_t *t, int timeout_ms, char *errstr,
                     size_t errstr_size) {
        static const char *const commands_cfg[] = {"retention.ms", "604800000", NULL};
        /* The log is the source of truth: kept forever, never compacted. */
        static const char *const events_cfg[] = {"retention.ms", "-1", "retention.bytes", "-1",
                                                 "cleanup.policy", "delete", NULL};
        static const char *const results_cfg[] = {"retention.ms", "86400000", NULL};
        /* De-duplication looks back 35 days: keep a little more than that. */
        static const char *const usage_cfg[] = {"retention.ms", "3456000000", NULL};
        static const char *const invoices_cfg[] = {"cleanup.policy", "compact", NULL};
        static const char *const dlq_cfg[] = {"retention.ms", "2592000000", NULL};
        const kc_topic_spec_t specs[] = {
                {t->kt_commands, t->kt_partitions, t->kt_replication, commands_cfg},
                {t->kt_events, t->kt_partitions, t->kt_replication, events_cfg},
                {t->kt_results, t->kt_results_partitions, t->kt_replication, results_cfg},
                {t->kt_usage, t->kt_usage_partitions, t->kt_replication, usage_cfg},
                {t->kt_invoices, t->kt_usage_partitions, t->kt_replication, invoices_cfg},
                {t->kt_commands_dlq, 1, t->kt_replication, dlq_cfg},
                {t->kt_events_dlq, 1, t->kt_replication, dlq_cfg},
                {t->kt_usage_dlq, 1, t->kt_replication, dlq_cfg},
        };
        int nc, ne;

        if (kc_topics_create(rk, specs, sizeof(specs) / sizeof(specs[0]), timeout_ms, errstr,
                             errstr_size) != 0)
                return -1;
        /* A topic just created may take a moment to appear in the metadata. */
        for (int waited = 0;; waited += 100) {
                nc = kc_topic_partition_count(rk, t->kt_commands, timeout_ms, errstr, errstr_size);
                ne = kc_topic_partition_count(rk, t->kt_events, timeout_ms, errstr, errstr_size);
                if (nc >= 0 && ne >= 0)
                        break;
                if (waited >= timeout_ms)
                        return -1;
                usleep(100 * 1000);
        }
        if (nc != ne) {
                snprintf(errstr, errstr_size,
                         "topics \"%s\" (%d partitions) and \"%s\" (%d partitions) must have the "
                         "same partition count: account i's commands and events share a partition",
                         t->kt_commands, nc, t->kt_events, ne);
                return -1;
        }
        return 0;
}

int kc_topic_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err;
        int n = -1;

        err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size, "cannot read metadata of topic \"%s\": %s", topic,
                         rd_kafka_err2str(err));
        } else if (md->topic_cnt != 1 || md->topics[0].err) {
                snprintf(errstr, errstr_size, "cannot read metadata of topic \"%s\": %s", topic,
                         md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not returned");
        } else {
                n = md->topics[0].partition_cnt;
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

static bool leader_moving(rd_kafka_resp_err_t err) {
        return err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
               err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
               err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
}

rd_kafka_resp_err_t kc_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                  int64_t *lo, int64_t *hi, int timeout_ms) {
        rd_kafka_resp_err_t err;

        for (int attempt = 0;; attempt++) {
                err = rd_kafka_query_watermark_offsets(rk, topic, partition, lo, hi, timeout_ms);
                if (attempt >= 50 || !leader_moving(err))
                        return err;
                usleep(200 * 1000);
        }
}

rd_kafka_resp_err_t kc_end_offsets(rd_kafka_t *rk, const char *topic, int nparts,
                                   int64_t *end, int timeout_ms) {
        rd_kafka_resp_err_t err;

        for (int attempt = 0;; attempt++) {
                rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);

                for (int p = 0; p < nparts; p++)
                        rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                            RD_KAFKA_OFFSET_END;
                err = rd_kafka_offsets_for_times(rk, parts, timeout_ms);
                for (int i = 0; i < parts->cnt && err == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
                        const rd_kafka_topic_partition_t *tp = &parts->elems[i];

                        if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR)
                                err = tp->err;
                        else if (tp->partition < 0 || tp->partition >= nparts || tp->offset < 0)
                                err = RD_KAFKA_RESP_ERR__BAD_MSG;
                        else
                                end[tp->partition] = tp->offset;
                }
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR && parts->cnt != nparts)
                        err = RD_KAFKA_RESP_ERR__BAD_MSG;
                rd_kafka_topic_partition_list_destroy(parts);
                if (attempt >= 50 || !leader_moving(err))
                        return err;
                usleep(200 * 1000);
        }
}
