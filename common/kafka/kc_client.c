#include "kc_client.h"

#include "bg_log.h"
#include "kc_conf.h"

#include <stdatomic.h>

/* librdkafka before 2.4.0 (Debian 12 ships 2.0.2) rounds its main loop's wait down to
 * whole milliseconds and spins whenever a timer is due in under one: a transactional
 * producer arms such a timer twice per transaction (deploy/librdkafka). The build asks for
 * 2.4.0, but LD_LIBRARY_PATH can still load an older one; say so once per process. */
static void warn_old_for_transactions(rd_kafka_t *rk) {
        static atomic_flag warned = ATOMIC_FLAG_INIT;
        char txn_id[256];
        size_t size = sizeof(txn_id);

        if (rd_kafka_version() >= 0x020400ff ||
            rd_kafka_conf_get(rd_kafka_conf(rk), "transactional.id", txn_id, &size) !=
                    RD_KAFKA_CONF_OK ||
            txn_id[0] == '\0' || atomic_flag_test_and_set(&warned))
                return;
        bg_log_warn("librdkafka %s spins a thread on every transaction; 2.4.0 or newer is "
                    "expected (deploy/librdkafka)", rd_kafka_version_str());
}

rd_kafka_t *kc_client_new(rd_kafka_type_t type, const char *const *props,
                          const kc_client_opts_t *opts, char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t *rk;

        for (const char *const *p = opts ? opts->kco_defaults : NULL; p != NULL && p[0] != NULL;
             p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, errstr_size) != 0)
                        goto out_destroy_conf;
        if (kc_conf_apply_env(conf, errstr, errstr_size) != 0)
                goto out_destroy_conf;
        for (const char *const *p = props; p != NULL && p[0] != NULL; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, errstr_size) != 0)
                        goto out_destroy_conf;
        if (opts != NULL) {
                rd_kafka_conf_set_opaque(conf, opts->kco_opaque);
                if (opts->kco_dr_msg_cb)
                        rd_kafka_conf_set_dr_msg_cb(conf, opts->kco_dr_msg_cb);
                if (opts->kco_rebalance_cb)
                        rd_kafka_conf_set_rebalance_cb(conf, opts->kco_rebalance_cb);
                if (opts->kco_error_cb)
                        rd_kafka_conf_set_error_cb(conf, opts->kco_error_cb);
        }
        rk = rd_kafka_new(type, conf, errstr, errstr_size);   /* takes ownership of conf */
        if (rk != NULL) {
                warn_old_for_transactions(rk);
                return rk;
        }
out_destroy_conf:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

void kc_dr_commit_wakeup(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err)
                bg_log_debug("delivery to \"%s\" [%d] failed: %s", rd_kafka_topic_name(m->rkt),
                             (int)m->partition, rd_kafka_err2str(m->err));
}
