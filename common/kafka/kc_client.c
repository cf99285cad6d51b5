#include "kc_client.h"

#include "bg_log.h"
#include "kc_conf.h"

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
        if (rk != NULL)
                return rk;
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
