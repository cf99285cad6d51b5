#include "kc_admin.h"

#include <stdio.h>
#include <stdlib.h>

int kc_topics_create(rd_kafka_t *rk, const kc_topic_spec_t *specs, size_t n, int timeout_ms,
                     char *errstr, size_t errstr_size) {
        rd_kafka_NewTopic_t **topics = calloc(n ? n : 1, sizeof(*topics));
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_event_t *ev = NULL;
        const rd_kafka_CreateTopics_result_t *res;
        const rd_kafka_topic_result_t **results;
        size_t nresults = 0;
        int ret = -1;

        if (topics == NULL) {
                snprintf(errstr, errstr_size, "cannot create topics: out of memory");
                goto out;
        }
        rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, NULL, 0);
        rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, NULL, 0);
        for (size_t i = 0; i < n; i++) {
                topics[i] = rd_kafka_NewTopic_new(specs[i].kts_name, specs[i].kts_partitions,
                                                  specs[i].kts_replication, errstr, errstr_size);
                if (topics[i] == NULL)
                        goto out;
                for (const char *const *c = specs[i].kts_configs; c && c[0] && c[1]; c += 2)
                        rd_kafka_NewTopic_set_config(topics[i], c[0], c[1]);
        }
        rd_kafka_CreateTopics(rk, topics, n, opts, q);
        ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
        if (ev == NULL) {
                snprintf(errstr, errstr_size, "cannot create topics: no answer within %d ms",
                         timeout_ms);
                goto out;
        }
        if (rd_kafka_event_error(ev)) {
                snprintf(errstr, errstr_size, "cannot create topics: %s",
                         rd_kafka_event_error_string(ev));
                goto out;
        }
        res = rd_kafka_event_CreateTopics_result(ev);
        results = rd_kafka_CreateTopics_result_topics(res, &nresults);
        for (size_t i = 0; i < nresults; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
                if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        snprintf(errstr, errstr_size, "cannot create topic \"%s\": %s",
                                 rd_kafka_topic_result_name(results[i]),
                                 rd_kafka_topic_result_error_string(results[i])
                                         ? rd_kafka_topic_result_error_string(results[i])
                                         : rd_kafka_err2str(err));
                        goto out;
                }
        }
        ret = 0;
out:
        if (ev != NULL)
                rd_kafka_event_destroy(ev);
        if (topics != NULL) {
                for (size_t i = 0; i < n; i++)
                        if (topics[i] != NULL)
                                rd_kafka_NewTopic_destroy(topics[i]);
                free(topics);
        }
        rd_kafka_AdminOptions_destroy(opts);
        rd_kafka_queue_destroy(q);
        return ret;
}
