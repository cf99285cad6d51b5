/*
 * billing-topics: `billing-topics ensure` creates every topic of DESIGN.md section 3 with
 * its settings (see kc_topics.h for the environment it reads) and, when
 * BILLING_SCHEMA_REGISTRY_URL names a schema registry, registers the schemas of
 * schemas/manifest.json there under their subjects. Existing topics and schemas are left
 * as they are. Exit status 0 when every topic and schema is there afterwards.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg_env.h"
#include "bg_log.h"
#include "codec.h"
#include "kc_client.h"
#include "kc_topics.h"

static int register_schemas(void) {
        const char *dir = bg_env_str("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR);
        char errstr[512];
        codec_registry_t *reg = codec_registry_from_env(dir, errstr, sizeof(errstr));
        int ret = -1;

        if (reg != NULL && codec_registry_sync_manifest(reg, dir, errstr, sizeof(errstr)) == 0) {
                bg_log_info("schemas of %s/manifest.json registered at %s", dir,
                            bg_env_str("BILLING_SCHEMA_REGISTRY_URL", ""));
                ret = 0;
        } else {
                bg_log_error("%s", errstr);
        }
        codec_registry_destroy(reg);
        return ret;
}

int main(int argc, char **argv) {
        char errstr[512];
        rd_kafka_t *rk;
        kc_topics_t topics;
        int ret;

        bg_log_setup("topics");
        if (argc != 2 || strcmp(argv[1], "ensure") != 0) {
                fprintf(stderr, "usage: %s ensure\n", argv[0]);
                return 2;
        }
        if (kc_topics_load(&topics, errstr, sizeof(errstr)) != 0) {
                bg_log_error("%s", errstr);
                return 1;
        }
        rk = kc_client_new(RD_KAFKA_PRODUCER, NULL, NULL, errstr, sizeof(errstr));
        if (rk == NULL) {
                bg_log_error("cannot create Kafka client: %s", errstr);
                return 1;
        }
        /* A broker that has just started may not know its controller yet: try again. */
        for (int attempt = 1; attempt <= 5; attempt++) {
                ret = kc_topics_ensure(rk, &topics, 30000, errstr, sizeof(errstr));
                if (ret == 0)
                        break;
                bg_log_warn("attempt %d: %s", attempt, errstr);
                sleep(2);
        }
        if (ret != 0)
                bg_log_error("%s", errstr);
        else
                bg_log_info("topics ready: %s %s %s %s %s (+ dead-letter topics)",
                            topics.kt_commands, topics.kt_events, topics.kt_results,
                            topics.kt_usage, topics.kt_invoices);
        rd_kafka_destroy(rk);
        if (ret == 0 && *bg_env_str("BILLING_SCHEMA_REGISTRY_URL", "") != '\0')
                ret = register_schemas();
        return ret == 0 ? 0 : 1;
}
