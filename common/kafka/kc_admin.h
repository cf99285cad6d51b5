/*
 * kc_admin: topic creation through the Admin API (the `topics ensure` step and tests).
 */
#ifndef KC_ADMIN_H
#define KC_ADMIN_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct kc_topic_spec_s {
        const char *kts_name;
        int kts_partitions;
        int kts_replication;
        /* NULL-terminated name, value, name, value, ... list of topic configs, or NULL. */
        const char *const *kts_configs;
} kc_topic_spec_t;

/*
 * Creates each topic in @specs that does not exist yet; an existing topic counts as success
 * (its settings are not changed). Blocks up to @timeout_ms. Returns 0, or -1 with the first
 * failure ("cannot create topic \"x\": ...") in @errstr. @rk may be any client handle.
 */
int kc_topics_create(rd_kafka_t *rk, const kc_topic_spec_t *specs, size_t n, int timeout_ms,
                     char *errstr, size_t errstr_size);

#endif /* KC_ADMIN_H */
