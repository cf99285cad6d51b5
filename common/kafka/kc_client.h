/*
 * kc_client: a librdkafka client configured the way every service configures one: the
 * caller's tunable defaults first, then the environment (kc_conf_apply_env: bootstrap
 * servers, KAFKA_<PROPERTY>), then the properties the caller requires, then its callbacks.
 */
#ifndef KC_CLIENT_H
#define KC_CLIENT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct kc_client_opts_s {
        void *kco_opaque;               /* passed to every callback */
        void (*kco_dr_msg_cb)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
        void (*kco_rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t *parts, void *opaque);
        void (*kco_error_cb)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
        /* NULL-terminated name, value ... list applied before the environment: tuning
         * (linger.ms, fetch.wait.max.ms ...) that KAFKA_<PROPERTY> may override. */
        const char *const *kco_defaults;
} kc_client_opts_t;

/*
 * A new client of @type. @props is a NULL-terminated name, value, name, value ... list
 * applied over the environment's settings (the caller's requirements win: a service's
 * transactional.id or isolation.level is not the environment's to change). @opts may be
 * NULL. Returns NULL with a reason in @errstr on a bad property or a failed rd_kafka_new.
 */
rd_kafka_t *kc_client_new(rd_kafka_type_t type, const char *const *props,
                          const kc_client_opts_t *opts, char *errstr, size_t errstr_size);

/*
 * A delivery-report callback for a transactional producer whose outcome reaches the
 * caller through commit_transaction: it only logs a failed delivery (debug). Having one
 * at all matters: commit_transaction flushes by polling for delivery reports, and with
 * no callback (librdkafka 2.0) there are none to wake the poll, which then sleeps its
 * full 10 ms after the last acknowledgement before EndTxn is sent.
 */
void kc_dr_commit_wakeup(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

#endif /* KC_CLIENT_H */
