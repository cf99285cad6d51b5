#include "kc_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int kc_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                size_t errstr_size) {
        if (rd_kafka_conf_set(conf, name, value, errstr, errstr_size) != RD_KAFKA_CONF_OK)
                return -1;
        return 0;
}

int kc_conf_apply_env(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size) {
        const char *bootstrap = getenv("BILLING_KAFKA_BOOTSTRAP");
        char name[256], why[512];

        if (bootstrap != NULL && *bootstrap != '\0' &&
            kc_conf_set(conf, "bootstrap.servers", bootstrap, why, sizeof(why)) != 0)
                goto err_bad_property;

        for (char **e = environ; *e != NULL; e++) {
                const char *eq = strchr(*e, '=');
                size_t len;

                if (strncmp(*e, "KAFKA_", 6) != 0 || eq == NULL)
                        continue;
                len = (size_t)(eq - (*e + 6));
                if (len == 0 || len >= sizeof(name))
                        continue;
                for (size_t i = 0; i < len; i++) {
                        char c = (*e)[6 + i];
                        name[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
                }
                name[len] = '\0';
                if (kc_conf_set(conf, name, eq + 1, why, sizeof(why)) != 0)
                        goto err_bad_property;
        }
        return 0;

err_bad_property:
        snprintf(errstr, errstr_size, "invalid Kafka configuration from the environment: %s",
                 why);
        return -1;
}

rd_kafka_conf_t *kc_conf_from_env(char *errstr, size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        if (kc_conf_apply_env(conf, errstr, errstr_size) != 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        return conf;
}
