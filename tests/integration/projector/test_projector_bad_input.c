/*
 * What the projector does with events it cannot apply:
 *   - bytes that do not decode go to the DLQ with a reason; the rest is applied; so does
 *     an event that does not decode under the projector's own schema (garbage);
 *   - an event of a schema it does not know stops it with a clear error, at that offset:
 *     an unknown schema id, or a newer schema registered in the registry that only adds
 *     an enum symbol (the event then fails as an out-of-range value);
 *   - while the schema registry is unreachable it waits, unhealthy, and loses nothing;
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

#include <jansson.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "codec.h"
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

/* Keeps the last event's bytes instead of producing it. */
typedef struct last_s {
        uint8_t buf[4096];
        size_t len;
} last_t;

static void keep_last(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        last_t *l = opaque;

        (void)ev;
        assert_true(len <= sizeof(l->buf));
        memcpy(l->buf, buf, len);
        l->len = len;
}

/* The bytes of a RoleGranted (a new member, role viewer, no previous role) of an account
 * of its own that is never produced, encoded as the services encode (the manifest's
 * event schema, under the id the registry gave it). The role's enum index is the byte
 * before the last, the last one previous_role's null branch. */
static void role_granted_bytes(pjt_t *t, last_t *out) {
        static bg_command_t cmd;
        pjg_account_t *c = pjg_account_new(t->pt_gen);
        char why[256];

        memset(&cmd, 0, sizeof(cmd));
        cmd.type = BG_CMD_CREATE_ACCOUNT;
        snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "Never produced");
        snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        if (pjg_decide(t->pt_gen, c, &cmd, PJG_OWNER_ACTOR, keep_last, out, why, sizeof(why)) != 1)
                fail_msg("%s", why);
        memset(&cmd, 0, sizeof(cmd));
        cmd.type = BG_CMD_GRANT_ROLE;
        snprintf(cmd.payload.grant_role.user, BG_EMAIL_SIZE, "dave@example.com");
        cmd.payload.grant_role.role = BG_ROLE_VIEWER;
        if (pjg_decide(t->pt_gen, c, &cmd, PJG_OWNER_ACTOR, keep_last, out, why, sizeof(why)) != 1)
                fail_msg("%s", why);
        assert_int_equal(out->buf[out->len - 2], 2 << 1);       /* viewer */
        assert_int_equal(out->buf[out->len - 1], 0);            /* previous_role null */
        pjg_account_destroy(c);
}

static int32_t schema_id_of(const uint8_t *msg) {
        return (int32_t)(((uint32_t)msg[1] << 24) | ((uint32_t)msg[2] << 16) |
                         ((uint32_t)msg[3] << 8) | (uint32_t)msg[4]);
}

static void set_schema_id(uint8_t *msg, int32_t id) {
        msg[1] = (uint8_t)((uint32_t)id >> 24);
        msg[2] = (uint8_t)((uint32_t)id >> 16);
        msg[3] = (uint8_t)((uint32_t)id >> 8);
        msg[4] = (uint8_t)id;
}

/* Registers, under a subject of the test's own (never the stack's: every encoder would
 * switch to it), the manifest's event schema with one more Role symbol, "owner": a newer
 * schema that a compatible producer could write. Its id; skips the test when the stack
 * has no registry (the manifest is read-only). */
static int32_t register_role_owner(pjt_t *t, codec_registry_t *reg) {
        json_t *schema, *payload = NULL, *symbols;
        json_error_t jerr;
        char subject[200], errstr[512], *json;
        int32_t id;

        schema = json_load_file(BG_SCHEMAS_DIR "/event.v1.avsc", 0, &jerr);
        assert_non_null(schema);
        for (size_t i = 0; i < json_array_size(json_object_get(schema, "fields")); i++) {
                json_t *f = json_array_get(json_object_get(schema, "fields"), i);
                if (strcmp(json_string_value(json_object_get(f, "name")), "payload") == 0)
                        payload = json_object_get(f, "type");
        }
        assert_non_null(payload);
        /* payload[1] is RoleGranted, its field 1 "role" of type enum Role. */
        symbols = json_object_get(json_object_get(json_array_get(json_object_get(
                json_array_get(payload, 1), "fields"), 1), "type"), "symbols");
        assert_int_equal(json_array_size(symbols), 3);
        json_array_append_new(symbols, json_string("owner"));
        json = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        assert_non_null(json);
        snprintf(subject, sizeof(subject), "%sevents-roles-v2-value", t->pt_prefix);
        if (codec_registry_register(reg, subject, json, &id, errstr, sizeof(errstr)) != CODEC_OK) {
                free(json);
                if (strstr(errstr, "read-only") != NULL)
                        skip();
                fail_msg("cannot register the newer schema under \"%s\": %s", subject, errstr);
        }
        free(json);
        return id;
}

static void newer_schema_with_a_new_enum_symbol_stops_the_projector(void **state) {
        pjt_t *t = pjt_new("it-proj-newenum", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen), *b = pjg_account_new(t->pt_gen);
        char errstr[512], schema[64], key[37], needle[64], reason[512];
        codec_registry_t *reg = bg_test_registry(errstr, sizeof(errstr));
        int32_t newer;
        last_t bad;
        size_t before;
        pid_t pid;

        assert_non_null(reg);
        newer = register_role_owner(t, reg);
        role_granted_bytes(t, &bad);
        assert_true(newer != schema_id_of(bad.buf));
        set_schema_id(bad.buf, newer);
        bad.buf[bad.len - 2] = 3 << 1;                  /* role "owner" */

        story(t, a, pjt_emit, t);
        before = t->pt_produced;
        bg_uuid_format(pjg_account_id(a), key);
        pjt_produce_raw(t, key, bad.buf, bad.len);
        story(t, b, pjt_emit, t);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "newenum", NULL, NULL);
        assert_int_equal(wait_exit(pid, 60), 1);
        snprintf(needle, sizeof(needle), "offset %zu is of a schema this projector does not know",
                 before);
        assert_true(pjt_log_contains(t, "newenum", needle));
        snprintf(needle, sizeof(needle), "schema id %d is not one of the schemas", (int)newer);
        assert_true(pjt_log_contains(t, "newenum", needle));
        /* The log is JSON: the reason's quotes are escaped. */
        assert_true(pjt_log_contains(t, "newenum", "unknown role \\\"owner\\\""));
        assert_false(pjt_log_contains(t, "newenum", "dead-lettering"));
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                         (long long)before);
        assert_int_equal(pjt_stored_total(t, schema), (long long)before);
        assert_int_equal(read_dlq(t->pt_topics.kt_events_dlq, reason, sizeof(reason)), 0);

        /* A restart stops at the same place: never skipped. */
        pid = pjt_start(t, schema, "newenum2", NULL, NULL);
        assert_int_equal(wait_exit(pid, 60), 1);
        assert_true(pjt_log_contains(t, "newenum2", needle));
        assert_int_equal(pjt_stored_total(t, schema), (long long)before);
        codec_registry_destroy(reg);
        pjg_account_destroy(a);
        pjg_account_destroy(b);
        pjt_destroy(t);
}

static void garbage_under_our_own_schema_is_dead_lettered(void **state) {
        pjt_t *t = pjt_new("it-proj-ownbad", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen), *b = pjg_account_new(t->pt_gen);
        char schema[64], key[37], reason[512];
        last_t enum4, uuid;
        pid_t pid;

        /* The same tampering as above, under the schema the projector was built with: a
         * fourth Role symbol it does not have (the walk rejects the index) ... */
        role_granted_bytes(t, &enum4);
        enum4.buf[enum4.len - 2] = 3 << 1;
        /* ... and event_id text that is not a UUID (an out-of-range value). */
        role_granted_bytes(t, &uuid);
        assert_int_equal(uuid.buf[5], 36 << 1);
        uuid.buf[6] = 'x';

        story(t, a, pjt_emit, t);
        bg_uuid_format(pjg_account_id(a), key);
        pjt_produce_raw(t, key, enum4.buf, enum4.len);
        pjt_produce_raw(t, key, uuid.buf, uuid.len);
        story(t, b, pjt_emit, t);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "ownbad", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 60000))
                fail_msg("the projector did not get past the damaged events");
        assert_true(bg_proc_running(pid, NULL));
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                         (long long)t->pt_produced);
        assert_int_equal(read_dlq(t->pt_topics.kt_events_dlq, reason, sizeof(reason)), 2);
        assert_non_null(strstr(reason, "enum index 3 out of range"));
        assert_false(pjt_log_contains(t, "ownbad", "does not know"));
        bg_proc_stop(pid, SIGTERM, 10000);
        pjg_account_destroy(a);
        pjg_account_destroy(b);
        pjt_destroy(t);
}

static void unreachable_registry_is_waited_for(void **state) {
        pjt_t *t = pjt_new("it-proj-noreg", 1, false);
        pjg_account_t *a = pjg_account_new(t->pt_gen);
        char *no_registry[] = {"BILLING_SCHEMA_REGISTRY_URL=http://127.0.0.1:1/apis/ccompat/v7",
                               NULL};
        char schema[64], reason[512], health[256];
        pid_t pid;
        int status = 0;

        story(t, a, pjt_emit, t);
        pjt_flush(t);
        pjt_schema(t, schema);

        pid = pjt_start(t, schema, "noreg", NULL, no_registry);
        for (int i = 0; i < 300 && !pjt_log_contains(t, "noreg", "schema registry is unreachable");
             i++)
                usleep(100 * 1000);
        assert_true(pjt_log_contains(t, "noreg", "schema registry is unreachable"));
        usleep(500 * 1000);
        assert_true(bg_proc_running(pid, &status));
        assert_int_equal(pjt_admin_get(t, "noreg", "/healthz", health, sizeof(health)), 503);
        assert_non_null(strstr(health, "schema registry unreachable"));
        assert_false(pjt_log_contains(t, "noreg", "does not know"));
        assert_false(pjt_log_contains(t, "noreg", "dead-lettering"));
        assert_int_equal(pjt_stored_total(t, schema), 0);
        status = bg_proc_stop(pid, SIGTERM, 10000);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* With the registry back, nothing was lost. */
        pid = pjt_start(t, schema, "noreg2", NULL, NULL);
        if (!pjt_wait_caught_up(t, schema, 60000))
                fail_msg("the projector did not catch up once the registry was back");
        assert_int_equal(pjt_count(t, "SELECT count(*) FROM %s.audit_log", schema),
                         (long long)t->pt_produced);
        assert_int_equal(read_dlq(t->pt_topics.kt_events_dlq, reason, sizeof(reason)), 0);
        bg_proc_stop(pid, SIGTERM, 10000);
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
                cmocka_unit_test(newer_schema_with_a_new_enum_symbol_stops_the_projector),
                cmocka_unit_test(garbage_under_our_own_schema_is_dead_lettered),
                cmocka_unit_test(unreachable_registry_is_waited_for),
                cmocka_unit_test(seq_gap_stops_the_projector),
                cmocka_unit_test(replayed_events_are_skipped),
        };
        return cmocka_run_group_tests_name("projector_bad_input", tests, NULL, NULL);
}
