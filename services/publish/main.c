/*
 * billing-publish: publishes commands or usage records given as JSON lines, the way
 * platform services do, for the demo, tests and people at a terminal.
 *
 *   billing-publish commands [--timeout SECONDS] < commands.jsonl
 *       Each line is a command in the JSON of docs/json.md; "command_id" and "issued_at"
 *       may be left out (a fresh id and the current time are filled in). Publishes them
 *       keyed by account_id (murmur2, as billing.commands requires), waits for every
 *       result and prints each as a JSON line. Exit 0 when all were accepted (or
 *       duplicates), 1 when any was rejected or a line was invalid, 3 on timeout.
 *   billing-publish usage < usage.jsonl
 *       Each line is a usage record (docs/json.md); "usage_id" may be left out. Publishes
 *       them keyed by project_id and flushes. Exit 0, or 1 when a line was invalid.
 *
 * Kafka settings come from the environment like every service's (BILLING_KAFKA_BOOTSTRAP,
 * KAFKA_<PROPERTY>, BILLING_TOPIC_PREFIX); schemas from BILLING_SCHEMAS_DIR.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_env.h"
#include "bg_json.h"
#include "bg_log.h"
#include "codec.h"
#include "bg_time.h"
#include "kc_client.h"
#include "kc_topics.h"

#define LINE_MAX_BYTES (4 << 20)

typedef struct publisher_s {
        kc_topics_t p_topics;
        codec_registry_t *p_reg;
        codec_t *p_codec;
        rd_kafka_t *p_producer;
        rd_kafka_t *p_results;
} publisher_t;

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_t *rk = kc_client_new(type, props, NULL, errstr, sizeof(errstr));

        if (rk == NULL) {
                fprintf(stderr, "billing-publish: %s\n", errstr);
                exit(2);
        }
        return rk;
}

/* Positions a read_committed consumer at the current end of every results partition,
 * before anything is published, so that no result can be missed. */
static rd_kafka_t *results_from_end(const publisher_t *p, int nparts) {
        const char *props[] = {"group.id", "billing-publish", "isolation.level", "read_committed",
                               "enable.auto.commit", "false", "fetch.wait.max.ms", "10", NULL};
        rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, props);
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);

        for (int i = 0; i < nparts; i++) {
                int64_t lo, hi;
                if (kc_watermarks(rk, p->p_topics.kt_results, i, &lo, &hi,
                                                     10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        fprintf(stderr, "billing-publish: cannot read the end of \"%s\"\n",
                                p->p_topics.kt_results);
                        exit(2);
                }
                rd_kafka_topic_partition_list_add(parts, p->p_topics.kt_results, i)->offset = hi;
        }
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        return rk;
}

static int produce(publisher_t *p, const char *topic, const char *key, const uint8_t *buf,
                   size_t len) {
        rd_kafka_resp_err_t err;

        while ((err = rd_kafka_producev(p->p_producer, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(key, strlen(key)),
                                        RD_KAFKA_V_VALUE((void *)buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p->p_producer, 10);
        if (err) {
                fprintf(stderr, "billing-publish: cannot produce to \"%s\": %s\n", topic,
                        rd_kafka_err2str(err));
                return -1;
        }
        rd_kafka_poll(p->p_producer, 0);
        return 0;
}

/* Fills in what a person typing commands would rather not: a fresh id, the time. */
static void fill_defaults(json_t *j, const char *id_field, bool with_issued_at) {
        char id[BG_UUID_STR_LEN + 1], ts[BGJ_TIME_STR_SIZE];
        bg_uuid_t uuid;

        if (json_object_get(j, id_field) == NULL) {
                bg_uuid_generate(&uuid);
                bg_uuid_format(&uuid, id);
                json_object_set_new(j, id_field, json_string(id));
        }
        if (with_issued_at && json_object_get(j, "issued_at") == NULL &&
            bgj_time_format(bg_time_now_ms(), ts))
                json_object_set_new(j, "issued_at", json_string(ts));
}

static int publish_lines(publisher_t *p, bool commands, bg_uuid_t **ids_out, size_t *n_out) {
        static bg_command_t cmd;
        codec_usage_t usage;
        char *line = NULL, errstr[512], key[BG_UUID_STR_LEN + 1];
        size_t cap = 0, lineno = 0, n = 0, nids = 0;
        ssize_t len;
        bg_uuid_t *ids = NULL;
        int bad = 0;

        while ((len = getline(&line, &cap, stdin)) > 0) {
                const uint8_t *buf;
                size_t buflen;
                json_t *j;

                lineno++;
                if (strspn(line, " \t\r\n") == (size_t)len)
                        continue;
                j = bgj_parse(line, (size_t)len, LINE_MAX_BYTES, errstr, sizeof(errstr));
                if (j == NULL || !json_is_object(j)) {
                        fprintf(stderr, "line %zu: %s\n", lineno, j ? "not a JSON object" : errstr);
                        json_decref(j);
                        bad = 1;
                        continue;
                }
                fill_defaults(j, commands ? "command_id" : "usage_id", commands);
                if (commands ? bgj_command_from_json(j, &cmd, errstr, sizeof(errstr)) != 0
                             : bgj_usage_from_json(j, &usage, errstr, sizeof(errstr)) != 0) {
                        fprintf(stderr, "line %zu: %s\n", lineno, errstr);
                        json_decref(j);
                        bad = 1;
                        continue;
                }
                json_decref(j);
                if ((commands ? codec_encode_command(p->p_codec, &cmd, &buf, &buflen, errstr,
                                                     sizeof(errstr))
                              : codec_encode_usage(p->p_codec, &usage, &buf, &buflen, errstr,
                                                   sizeof(errstr))) != CODEC_OK) {
                        fprintf(stderr, "line %zu: cannot encode: %s\n", lineno, errstr);
                        bad = 1;
                        continue;
                }
                bg_uuid_format(commands ? &cmd.account_id : &usage.project_id, key);
                if (produce(p, commands ? p->p_topics.kt_commands : p->p_topics.kt_usage, key, buf,
                            buflen) != 0)
                        return 1;
                if (commands) {
                        if (nids == n) {
                                n = n ? n * 2 : 64;
                                ids = realloc(ids, n * sizeof(*ids));
                                if (ids == NULL)
                                        return 1;
                        }
                        ids[nids++] = cmd.command_id;
                }
        }
        free(line);
        if (rd_kafka_flush(p->p_producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "billing-publish: not every record was delivered\n");
                return 1;
        }
        *ids_out = ids;
        *n_out = nids;
        return bad;
}

/* Waits for the result of every id, printing them as they come; 3 on timeout. */
static int wait_results(publisher_t *p, bg_uuid_t *ids, size_t n, int timeout_s) {
        int64_t deadline = bg_time_now_ms() + (int64_t)timeout_s * 1000;
        size_t left = n;
        int rc = 0;

        while (left > 0 && bg_time_now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(p->p_results, 100);
                bg_command_result_t res;
                char errstr[512];

                if (m == NULL)
                        continue;
                if (!m->err && codec_decode_result(p->p_codec, m->payload, m->len, &res, errstr,
                                                   sizeof(errstr)) == CODEC_OK) {
                        for (size_t i = 0; i < n; i++) {
                                if (!bg_uuid_equal(&ids[i], &res.command_id))
                                        continue;
                                json_t *j = bgj_result_to_json(&res);
                                char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
                                printf("%s\n", text ? text : "{}");
                                free(text);
                                json_decref(j);
                                if (res.outcome == BG_OUTCOME_REJECTED)
                                        rc = 1;
                                memset(&ids[i], 0, sizeof(ids[i]));   /* answered */
                                left--;
                                break;
                        }
                }
                rd_kafka_message_destroy(m);
        }
        if (left > 0) {
                fprintf(stderr, "billing-publish: %zu of %zu commands got no result within %d s\n",
                        left, n, timeout_s);
                return 3;
        }
        return rc;
}

static void usage_exit(void) {
        fprintf(stderr, "usage: billing-publish commands [--timeout SECONDS] < commands.jsonl\n"
                        "       billing-publish usage < usage.jsonl\n");
        exit(2);
}

int main(int argc, char **argv) {
        static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
                                                 {NULL, 0, NULL, 0}};
        const char *producer_props[] = {"partitioner", "murmur2_random", "linger.ms", "5",
                                        "enable.idempotence", "true", NULL};
        publisher_t p;
        char errstr[512];
        bool commands;
        int timeout_s = 30, opt, rc, nparts;
        bg_uuid_t *ids = NULL;
        size_t n = 0;

        bg_log_setup("publish");
        while ((opt = getopt_long(argc, argv, "t:", longopts, NULL)) != -1) {
                if (opt != 't' || (timeout_s = atoi(optarg)) <= 0)
                        usage_exit();
        }
        if (optind != argc - 1)
                usage_exit();
        if (strcmp(argv[optind], "commands") == 0)
                commands = true;
        else if (strcmp(argv[optind], "usage") == 0)
                commands = false;
        else
                usage_exit();

        memset(&p, 0, sizeof(p));
        if (kc_topics_load(&p.p_topics, errstr, sizeof(errstr)) != 0 ||
            (p.p_reg = codec_registry_from_env(BG_DEFAULT_SCHEMAS_DIR, errstr,
                                               sizeof(errstr))) == NULL ||
            (p.p_codec = codec_new(p.p_reg, NULL, errstr, sizeof(errstr))) == NULL) {
                fprintf(stderr, "billing-publish: %s\n", errstr);
                return 2;
        }
        p.p_producer = client(RD_KAFKA_PRODUCER, producer_props);
        if (commands) {
                nparts = kc_topic_partition_count(p.p_producer, p.p_topics.kt_results, 10000,
                                                  errstr, sizeof(errstr));
                if (nparts < 0) {
                        fprintf(stderr, "billing-publish: %s\n", errstr);
                        return 2;
                }
                p.p_results = results_from_end(&p, nparts);
        }
        rc = publish_lines(&p, commands, &ids, &n);
        if (commands && n > 0) {
                int wrc = wait_results(&p, ids, n, timeout_s);
                if (wrc > rc)
                        rc = wrc;
        }
        free(ids);
        if (p.p_results) {
                rd_kafka_consumer_close(p.p_results);
                rd_kafka_destroy(p.p_results);
        }
        rd_kafka_destroy(p.p_producer);
        codec_destroy(p.p_codec);
        codec_registry_destroy(p.p_reg);
        return rc;
}
