/*
 * kc_headers: the record headers every service writes the same way.
 *
 * CloudEvents Kafka binding (binary mode): ce_id, ce_type, ce_source, ce_specversion 1.0,
 * ce_time (RFC 3339, UTC, milliseconds), so generic tooling can route our records.
 *
 * Dead letters: dlq_reason, dlq_source_topic, dlq_source_partition, dlq_source_offset,
 * dlq_service, beside the original key and bytes.
 *
 * Both return a new header list; producev(RD_KAFKA_V_HEADERS) takes ownership of it on
 * success, otherwise the caller destroys it.
 */
#ifndef KC_HEADERS_H
#define KC_HEADERS_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

rd_kafka_headers_t *kc_ce_headers(const char *id, const char *type, const char *source,
                                  int64_t time_ms);

rd_kafka_headers_t *kc_dlq_headers(const char *source_topic, int32_t partition, int64_t offset,
                                   const char *service, const char *reason);

#endif /* KC_HEADERS_H */
