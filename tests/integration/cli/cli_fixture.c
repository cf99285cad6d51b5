#include "cli_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bg_test_support.h"
#include "kc_conf.h"

#define TIMEOUT_MS 30000

int clit_run(char **out, const char *fmt, ...) {
        char args[4096], cmd[4400], buf[65536];
        size_t len = 0, cap = 0, r;
        char *acc = NULL;
        va_list ap;
        FILE *p;
        int st;

        va_start(ap, fmt);
        vsnprintf(args, sizeof(args), fmt, ap);
        va_end(ap);
        snprintf(cmd, sizeof(cmd), "%s/services/cli/billingctl %s", BG_BINARY_DIR, args);
        fprintf(stderr, "+ billingctl %s\n", args);
        p = popen(cmd, "r");
        assert_non_null(p);
        while ((r = fread(buf, 1, sizeof(buf), p)) > 0) {
                if (len + r + 1 > cap) {
                        cap = (len + r + 1) * 2;
                        acc = realloc(acc, cap);
                        assert_non_null(acc);
                }
                memcpy(acc + len, buf, r);
                len += r;
        }
        if (acc == NULL)
                acc = calloc(1, 1);
        acc[len] = '\0';
        st = pclose(p);
        fprintf(stderr, "%s", acc);
        if (out != NULL)
                *out = acc;
        else
                free(acc);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *const *props) {
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;

        bg_test_env("BILLING_KAFKA_BOOTSTRAP");
        conf = kc_conf_from_env(errstr, sizeof(errstr));
        if (conf == NULL)
                fail_msg("%s", errstr);
        for (const char *const *p = props; p && p[0]; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        fail_msg("%s", errstr);
        rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fail_msg("%s", errstr);
        return rk;
}

size_t clit_read_records(codec_t *codec, const char *topic, int nparts, clit_rec_t **out) {
        const char *props[] = {"group.id", "unused", "isolation.level", "read_committed",
                               "enable.partition.eof", "true", "enable.auto.commit", "false",
                               NULL};
        rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, props);
        bg_event_t *ev = malloc(sizeof(*ev));
        clit_rec_t *recs = NULL;
        size_t n = 0, cap = 0;
        char errstr[512];

        assert_non_null(ev);
        for (int p = 0; p < nparts; p++) {
                rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
                bool eof = false;
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
                assert_int_equal(rd_kafka_assign(rk, parts), 0);
                rd_kafka_topic_partition_list_destroy(parts);
                for (int polls = 0; polls < 600 && !eof; polls++) {
                        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                        if (m == NULL)
                                continue;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                eof = true;
                        } else if (!m->err) {
                                clit_rec_t *r;
                                if (n == cap) {
                                        cap = cap ? cap * 2 : 64;
                                        recs = realloc(recs, cap * sizeof(*recs));
                                        assert_non_null(recs);
                                }
                                r = &recs[n++];
                                memset(r, 0, sizeof(*r));
                                r->cr_partition = m->partition;
                                assert_true(m->key_len < sizeof(r->cr_key));
                                memcpy(r->cr_key, m->key, m->key_len);
                                r->cr_key_len = m->key_len;
                                r->cr_value = malloc(m->len);
                                assert_non_null(r->cr_value);
                                memcpy(r->cr_value, m->payload, m->len);
                                r->cr_len = m->len;
                                if (codec_decode_event(codec, m->payload, m->len, ev, errstr,
                                                       sizeof(errstr)) != CODEC_OK)
                                        fail_msg("undecodable event: %s", errstr);
                                r->cr_account = ev->account_id;
                                r->cr_seq = ev->seq;
                                r->cr_type = ev->type;
                        }
                        rd_kafka_message_destroy(m);
                }
                assert_true(eof);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        free(ev);
        *out = recs;
        return n;
}

void clit_free_records(clit_rec_t *recs, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(recs[i].cr_value);
        free(recs);
}

size_t clit_find(const clit_rec_t *recs, size_t n, const bg_uuid_t *account, int64_t seq) {
        for (size_t i = 0; i < n; i++)
                if (bg_uuid_equal(&recs[i].cr_account, account) && recs[i].cr_seq == seq)
                        return i;
        fail_msg("no record of seq %lld", (long long)seq);
        return n;
}

void clit_write_copy(const char *name, int nparts, const clit_rec_t *recs, size_t n,
                     char *topic) {
        const char *props[] = {"linger.ms", "5", "enable.idempotence", "true", NULL};
        char unique[80], prefix[96], num[16], errstr[512];
        const char *old_prefix = getenv("BILLING_TOPIC_PREFIX");
        char saved[128];
        kc_topics_t t;
        rd_kafka_t *rk;

        snprintf(saved, sizeof(saved), "%s", old_prefix ? old_prefix : "");
        bg_test_unique_name(unique, sizeof(unique), name);
        snprintf(prefix, sizeof(prefix), "%s.", unique);
        setenv("BILLING_TOPIC_PREFIX", prefix, 1);
        snprintf(num, sizeof(num), "%d", nparts);
        setenv("BILLING_PARTITIONS", num, 1);
        if (kc_topics_load(&t, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        if (old_prefix != NULL)         /* the test's own topics stay the default */
                setenv("BILLING_TOPIC_PREFIX", saved, 1);
        rk = client(RD_KAFKA_PRODUCER, props);
        if (kc_topics_ensure(rk, &t, TIMEOUT_MS, errstr, sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        for (size_t i = 0; i < n; i++) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                        rk, RD_KAFKA_V_TOPIC(t.kt_events),
                        RD_KAFKA_V_PARTITION(recs[i].cr_partition),
                        RD_KAFKA_V_KEY(recs[i].cr_key, recs[i].cr_key_len),
                        RD_KAFKA_V_VALUE(recs[i].cr_value, recs[i].cr_len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
                rd_kafka_poll(rk, 0);
        }
        assert_int_equal(rd_kafka_flush(rk, TIMEOUT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk);
        snprintf(topic, KC_TOPIC_NAME_SIZE, "%s", t.kt_events);
}

size_t clit_count_problems(json_t *report, const char *kind, const bg_uuid_t *account,
                           int64_t seq) {
        char id[BG_UUID_STR_LEN + 1];
        json_t *probs = json_object_get(report, "problems"), *p;
        size_t i, n = 0;

        bg_uuid_format(account, id);
        json_array_foreach(probs, i, p) {
                const char *k = json_string_value(json_object_get(p, "kind"));
                const char *a = json_string_value(json_object_get(p, "account"));
                json_int_t s = json_integer_value(json_object_get(p, "seq"));
                if (k && strcmp(k, kind) == 0 && a && strcmp(a, id) == 0 && (seq == 0 || s == seq))
                        n++;
        }
        return n;
}
