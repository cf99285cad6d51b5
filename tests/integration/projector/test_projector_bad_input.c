/*
 * What the projector does with events it cannot apply:
 *   - bytes that do not decode go to the DLQ with a reason; the rest is applied;
 *   - an event of a schema it does not know stops it with a clear error, at that offset;
 *   - an event whose seq skips one stops it, the account's earlier events applied;
 *   - events already applied (seq <= the stored seq) are skipped: a replayed log is
 *     harmless.
 * Single-partition topics, so that "where it stopped" is one offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bg_proc.h"
#include "bg_test_support.h"
#include "kc_conf.h"
#include "pj_fixture.h"

static int wait_exit(pid_t pid, int timeout_s) {
        int status = 0;

        for (int i = 0; i < timeout_s * 10 && bg_proc_running(pid, &status); i++)
                usleep(100 * 1000);
        if (bg_proc_running(pid, &status)) {
                bg_proc_stop(pid, SIGKILL, 5000);
                fail_msg("pid %d did not exit within %d s", (int)pid, timeout_s);
        }
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Records of @topic, and the first one's dlq_reason header. */
static size_t read_dlq(const char *topic, char *reason, size_t reason_size) {
        const char *props[] = {"group.id", "unused", "enable.partition.eof", "true",
                               "enable.auto.commit", "false", NULL};
        char errstr[512];
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, sizeof(errstr));
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_t *rk;
        size_t n = 0;

        assert_non_null(conf);
        for (const char *const *p = props; *p; p += 2)
                assert_int_equal(kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)), 0);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        reason[0] = '\0';
        for (int polls = 0; polls < 300; polls++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *h;
                const void *v;
                size_t len;

                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                if (!m->err && n++ == 0 && rd_kafka_message_headers(m, &h) == 0 &&
                    rd_kafka_header_get_last(h, "dlq_reason", &v, &len) == 0)
                        snprintf(reason, reason_size, "%.*s", (int)len, (const char *)v);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

/* A short story of one account: created, a group, a project (3 events). */
static void story(pjt_t *t, pjg_account_t *a, pjg_emit_fn emit, void *opaque) {
        for (int produced = 0; produced < 3;)
                produced += pjg_random_step(t->pt_gen, a, emit, opaque);
}

static void undecodable_bytes_are_dead_lettered(void **state) {
        pjt_t *t = pjt_new("it-proj-dlq", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen), *b = pjg_account_new(t->pt_gen);
        char schema[64], reason[512], key[37];
        const char garbage[] = "\x07not an avro message";
        pid_t pid;

        story(t, a, pjt_emit, t);
        bg_uuid_format(pjg_account_id(a), key);
        pjt_produce_raw(t, key, garbage, sizeof(garbage) - 1);
        story(t, b, pjt_emit, t);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "dlq", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 60000))
                fail_msg("the projector did not get past the bad record");
        assert_true(bg_proc_running(pid, NULL));
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                         (long long)t->pt_produced);
        assert_int_equal(read_dlq(t->pt_topics.kt_events_dlq, reason, sizeof(reason)), 1);
        assert_non_null(strstr(reason, "magic"));
        assert_true(pjt_log_contains(t, "dlq", "dead-lettering"));
        bg_proc_stop(pid, SIGTERM, 10000);
        pjg_account_destroy(a);
        pjg_account_destroy(b);
        pjt_destroy(t);
}

static void unknown_schema_stops_the_projector(void **state) {
        pjt_t *t = pjt_new("it-proj-newschema", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen);
        char schema[64], key[37];
        /* Confluent framing with schema id 999999: a newer schema than this build knows. */
        const char future[] = "\x00\x00\x0f\x42\x3f" "some future event";
        pid_t pid;
        size_t before;

        story(t, a, pjt_emit, t);
        before = t->pt_produced;
        bg_uuid_format(pjg_account_id(a), key);
        pjt_produce_raw(t, key, future, sizeof(future) - 1);
        story(t, a, pjt_emit, t);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "newschema", NULL, NULL);
        assert_int_equal(wait_exit(pid, 60), 1);
        assert_true(pjt_log_contains(t, "newschema", "projector does not know"));
        assert_true(pjt_log_contains(t, "newschema", "offset 3"));
        /* Everything before it applied and stored; nothing after it. */
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema), (long long)before);
        assert_int_equal(pjt_stored_total(t, schema), (long long)before);

        /* A restart stops at the same place again: never skipped silently. */
        pid = pjt_start(t, schema, "newschema2", NULL, NULL);
        assert_int_equal(wait_exit(pid, 60), 1);
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema), (long long)before);
        pjg_account_destroy(a);
        pjt_destroy(t);
}

/* Emits every event but seq 3. */
static void emit_without_seq3(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        if (ev->seq != 3)
                pjt_emit(opaque, ev, buf, len);
}

static void seq_gap_stops_the_projector(void **state) {
        pjt_t *t = pjt_new("it-proj-gap", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen);
        char schema[64];
        pid_t pid;

        for (int i = 0; i < 8; i++)
                pjg_random_step(t->pt_gen, a, emit_without_seq3, t);
        pjt_flush(t);
        assert_true(acct_version(pjg_account_state(a)) >= 5);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "gap", NULL, NULL);
        assert_int_equal(wait_exit(pid, 60), 1);
        assert_true(pjt_log_contains(t, "gap", "seq 3 is missing from the log"));
        assert_int_equal(pjt_count(t, "SELECT max(seq) FROM %s.audit_log", schema), 2);
        assert_int_equal(pjt_count(t, "SELECT seq FROM %s.account_seq", schema), 2);
        assert_int_equal(pjt_stored_total(t, schema), 2);
        pjg_account_destroy(a);
        pjt_destroy(t);
}

typedef struct {
        pjt_t *t;
        uint8_t **bufs;
        size_t *lens;
        size_t n;
} keep_t;

static void emit_and_keep(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        keep_t *k = opaque;

        pjt_emit(k->t, ev, buf, len);
        k->bufs = realloc(k->bufs, (k->n + 1) * sizeof(*k->bufs));
        k->lens = realloc(k->lens, (k->n + 1) * sizeof(*k->lens));
        assert_non_null(k->bufs);
        assert_non_null(k->lens);
        k->bufs[k->n] = malloc(len);
        assert_non_null(k->bufs[k->n]);
        memcpy(k->bufs[k->n], buf, len);
        k->lens[k->n++] = len;
}

static void replayed_events_are_skipped(void **state) {
        pjt_t *t = pjt_new("it-proj-replay", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen);
        keep_t k = {.t = t};
        char schema[64], key[37];
        pid_t pid;
        size_t n;

        for (int i = 0; i < 10; i++)
                pjg_random_step(t->pt_gen, a, emit_and_keep, &k);
        n = k.n;
        bg_uuid_format(pjg_account_id(a), key);
        for (size_t i = 0; i < n; i++)          /* the same events once more */
                pjt_produce_raw(t, key, k.bufs[i], k.lens[i]);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "replay", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 60000))
                fail_msg("the projector did not get through the replayed events");
        assert_true(bg_proc_running(pid, NULL));
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema), (long long)n);
        assert_int_equal(pjt_count(t, "SELECT seq FROM %s.account_seq", schema), (long long)n);
        assert_true(pjt_log_contains(t, "replay", "already applied"));
        bg_proc_stop(pid, SIGTERM, 10000);
        for (size_t i = 0; i < k.n; i++)
                free(k.bufs[i]);
        free(k.bufs);
        free(k.lens);
        pjg_account_destroy(a);
        pjt_destroy(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(undecodable_bytes_are_dead_lettered),
                cmocka_unit_test(unknown_schema_stops_the_projector),
                cmocka_unit_test(seq_gap_stops_the_projector),
                cmocka_unit_test(replayed_events_are_skipped),
        };
        return cmocka_run_group_tests_name("projector_bad_input", tests, NULL, NULL);
}
