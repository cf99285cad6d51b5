#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_env.h"
#include "cli.h"
#include "kc_conf.h"

int cli_usage_error(const char *cmd, const char *synopsis, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "billingctl %s: ", cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nusage: billingctl %s %s\n", cmd, synopsis);
        return CLI_EXIT_USAGE;
}

int cli_fail(const char *fmt, ...) {
        va_list ap;

        fputs("billingctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return CLI_EXIT_FAIL;
}

bool cli_parse_int(const char *s, long long min, long long max, long long *out) {
        char *end;
        long long v;

        if (s == NULL || *s == '\0')
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return false;
        *out = v;
        return true;
}

int64_t cli_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when KAFKA_<NAME> (upper case, '.' as '_') is set: the user's setting wins. */
static bool user_set(const char *name) {
        char env[128] = "KAFKA_";
        size_t n = strlen(env);

        for (const char *p = name; *p && n + 1 < sizeof(env); p++)
                env[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
        env[n] = '\0';
        return getenv(env) != NULL;
}

rd_kafka_t *cli_consumer_new(const char *const *extra, char *errstr, size_t errstr_size) {
        /* The group id only names the client: partitions are assigned by hand and nothing
         * is ever committed. */
        static const char *const base[] = {
                "group.id", "billingctl", "isolation.level", "read_committed",
                "enable.auto.commit", "false", "enable.auto.offset.store", "false",
                "enable.partition.eof", "true", "fetch.max.bytes", "52428800",
                "max.partition.fetch.bytes", "8388608", "queued.max.messages.kbytes", "65536",
                "fetch.wait.max.ms", "100", NULL};
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, errstr_size);
        rd_kafka_t *rk;

        if (conf == NULL)
                return NULL;
        for (const char *const *p = base; p[0] != NULL; p += 2)
                if (!user_set(p[0]) && kc_conf_set(conf, p[0], p[1], errstr, errstr_size) != 0)
                        goto out_destroy_conf;
        for (const char *const *p = extra; p != NULL && p[0] != NULL; p += 2)
                if (!user_set(p[0]) && kc_conf_set(conf, p[0], p[1], errstr, errstr_size) != 0)
                        goto out_destroy_conf;
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size); /* takes conf */
        if (rk == NULL)
                goto out_destroy_conf;
        rd_kafka_poll_set_consumer(rk);
        return rk;

out_destroy_conf:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

int cli_assign_all(rd_kafka_t *rk, const char *topic, int nparts, int64_t offset,
                   char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
        rd_kafka_resp_err_t err;

        for (int p = 0; p < nparts; p++)
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offset;
        err = rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                snprintf(errstr, errstr_size, "cannot assign \"%s\": %s", topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

int cli_codec_new(size_t max_message, codec_registry_t **reg, codec_t **codec, char *errstr,
                  size_t errstr_size) {
        const char *dir = bg_env_str("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR);
        codec_conf_t cc;
        char why[512];

        *codec = NULL;
        *reg = codec_registry_from_env(dir, why, sizeof(why));
        if (*reg == NULL) {
                snprintf(errstr, errstr_size, "cannot open the schema registry (or the schemas of \"%s\"): %s", dir, why);
                return -1;
        }
        codec_conf_init(&cc);
        if (max_message > 0)
                cc.max_message_size = max_message;
        *codec = codec_new(*reg, &cc, why, sizeof(why));
        if (*codec == NULL) {
                snprintf(errstr, errstr_size, "cannot make a codec: %s", why);
                codec_registry_destroy(*reg);
                *reg = NULL;
                return -1;
        }
        return 0;
}
