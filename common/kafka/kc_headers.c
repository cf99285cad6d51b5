#include "kc_headers.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

rd_kafka_headers_t *kc_ce_headers(const char *id, const char *type, const char *source,
                                  int64_t time_ms) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(5);
        time_t secs = (time_t)(time_ms / 1000);
        char date[24], when[32];
        struct tm tm;

        gmtime_r(&secs, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when, sizeof(when), "%s.%03dZ", date, (int)(time_ms % 1000));
        rd_kafka_header_add(h, "ce_id", -1, id, -1);
        rd_kafka_header_add(h, "ce_type", -1, type, -1);
        rd_kafka_header_add(h, "ce_source", -1, source, -1);
        rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
        rd_kafka_header_add(h, "ce_time", -1, when, -1);
        return h;
}

rd_kafka_headers_t *kc_dlq_headers(const char *source_topic, int32_t partition, int64_t offset,
                                   const char *service, const char *reason) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(5);
        char num[32];

        rd_kafka_header_add(h, "dlq_reason", -1, reason, -1);
        rd_kafka_header_add(h, "dlq_source_topic", -1, source_topic, -1);
        snprintf(num, sizeof(num), "%" PRId32, partition);
        rd_kafka_header_add(h, "dlq_source_partition", -1, num, -1);
        snprintf(num, sizeof(num), "%" PRId64, offset);
        rd_kafka_header_add(h, "dlq_source_offset", -1, num, -1);
        rd_kafka_header_add(h, "dlq_service", -1, service, -1);
        return h;
}
