/*
 * kc_conf: librdkafka configuration from the environment.
 *
 * bootstrap.servers comes from BILLING_KAFKA_BOOTSTRAP; then every variable named
 * KAFKA_<PROPERTY> is passed through as the librdkafka property <property> (lower case,
 * '_' becomes '.'), so TLS and SASL settings work without code changes:
 *   KAFKA_SECURITY_PROTOCOL=ssl  ->  security.protocol=ssl
 */
#ifndef KC_CONF_H
#define KC_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Returns a new configuration (the caller owns it), or NULL with a reason in @errstr when
 * a passed-through property is unknown or has a bad value. */
rd_kafka_conf_t *kc_conf_from_env(char *errstr, size_t errstr_size);

/* The same settings applied to an existing @conf, over what it holds: 0, or -1 with a
 * reason in @errstr (@conf is then partly updated; the caller destroys it). */
int kc_conf_apply_env(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);

/* Sets @name=@value on @conf; on failure writes the reason and returns -1. */
int kc_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                size_t errstr_size);

#endif /* KC_CONF_H */
