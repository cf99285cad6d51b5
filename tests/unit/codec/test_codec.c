/*
 * Codec unit tests: round trips of every wire type, byte-exact agreement with another Avro
 * implementation (golden messages), the canonical hash-chain bytes, schema evolution, and
 * the malformed-message corpus with the reason each message gets, memory bounds included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "codec_fixtures.h"
#include "codec_walk.h"

#ifndef BG_SCHEMAS_DIR
#error "BG_SCHEMAS_DIR must name the schemas directory"
#endif

#define ID_COMMAND 1001
#define ID_EVENT   1002
#define ID_RESULT  1003
#define ID_USAGE   1004
#define ID_INVOICE 1005

/*
 * Allocation tracking: every avro-c allocation goes through this allocator (installed
 * first thing in main), so that tests can bound what decoding allocates.
 */
static struct {
        int64_t cur;
        int64_t peak;
        size_t max_request;
        size_t refuse_above;   /* 0: never refuse */
} mem;

static void *track_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
        void *p;

        (void)ud;
        if (nsize == 0) {
                free(ptr);
                mem.cur -= (int64_t)osize;
                return NULL;
        }
        if (nsize > mem.max_request)
                mem.max_request = nsize;
        if (mem.refuse_above != 0 && nsize > mem.refuse_above)
                return NULL;
        p = realloc(ptr, nsize);
        if (p == NULL)
                return NULL;
        mem.cur += (int64_t)nsize - (int64_t)osize;
        if (mem.cur > mem.peak)
                mem.peak = mem.cur;
        return p;
}

static void mem_mark(void) {
        mem.peak = mem.cur;
        mem.max_request = 0;
}

static int64_t mem_peak_delta(int64_t start) {
        return mem.peak - start;
}

/*
 * A tiny Avro writer, to craft messages the encoder would refuse to write.
 */
typedef struct mbuf_s {
        uint8_t b[8192];
        size_t n;
} mbuf_t;

static void put_byte(mbuf_t *m, uint8_t v) {
        assert_true(m->n < sizeof(m->b));
        m->b[m->n++] = v;
}

static void put_raw(mbuf_t *m, const void *p, size_t n) {
        assert_true(m->n + n <= sizeof(m->b));
        memcpy(m->b + m->n, p, n);
        m->n += n;
}

static void put_header(mbuf_t *m, uint32_t id) {
        m->n = 0;
        put_byte(m, 0);
        put_byte(m, (uint8_t)(id >> 24));
        put_byte(m, (uint8_t)(id >> 16));
        put_byte(m, (uint8_t)(id >> 8));
        put_byte(m, (uint8_t)id);
}

static void put_long(mbuf_t *m, int64_t v) {
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);

        while (z >= 0x80) {
                put_byte(m, (uint8_t)(z | 0x80));
                z >>= 7;
        }
        put_byte(m, (uint8_t)z);
}

static void put_str(mbuf_t *m, const char *s) {
        put_long(m, (int64_t)strlen(s));
        put_raw(m, s, strlen(s));
}

static void put_bytes(mbuf_t *m, const void *p, size_t n) {
        put_long(m, (int64_t)n);
        put_raw(m, p, n);
}

static void put_uuid(mbuf_t *m, uint8_t seed) {
        bg_uuid_t id;
        char text[BG_UUID_STR_LEN + 1];

        fx_uuid(&id, seed);
        bg_uuid_format(&id, text);
        put_str(m, text);
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap) {
        size_t n = strlen(hex) / 2;

        assert_true(n <= cap);
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
                out[i] = (uint8_t)v;
        }
        return n;
}

/*
 * Fixture: one manifest registry and one codec for the whole run.
 */
static codec_registry_t *reg;
static codec_t *codec;
static char err[512];

/* Big structs live here, not on the stack. */
static bg_command_t cmd_in, cmd_out;
static bg_event_t ev_in, ev_out;

static int setup(void **state) {
        reg = codec_registry_manifest_new(BG_SCHEMAS_DIR, err, sizeof(err));
        if (reg == NULL) {
                fprintf(stderr, "manifest: %s\n", err);
                return -1;
        }
        codec = codec_new(reg, NULL, err, sizeof(err));
        if (codec == NULL) {
                fprintf(stderr, "codec: %s\n", err);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        codec_destroy(codec);
        codec_registry_destroy(reg);
        return 0;
}

static uint32_t schema_id_of(const uint8_t *msg) {
        return ((uint32_t)msg[1] << 24) | ((uint32_t)msg[2] << 16) | ((uint32_t)msg[3] << 8) |
               msg[4];
}

/* Copies a codec-owned message so that the next encode does not overwrite it. */
static uint8_t *dup_msg(const uint8_t *p, size_t n) {
        uint8_t *d = malloc(n + 1);
        assert_non_null(d);
        memcpy(d, p, n);
        return d;
}

/*
 * Round trips
 */

/* The bytes of a decoded command that the decoder owns: the envelope and the payload of
 * its type (for AssignProjects only the names in use: the decoder leaves the rest of the
 * 64 KiB array alone). The rest of the union is not part of the value. Decoding into a
 * struct filled with 0xff and comparing these bytes finds any field it does not write. */
static size_t command_value_size(const bg_command_t *c) {
        size_t n = offsetof(bg_command_t, payload);

        switch (c->type) {
        case BG_CMD_CREATE_ACCOUNT:            return n + sizeof(c->payload.create_account);
        case BG_CMD_GRANT_ROLE:                return n + sizeof(c->payload.grant_role);
        case BG_CMD_REVOKE_ROLE:               return n + sizeof(c->payload.revoke_role);
        case BG_CMD_CREATE_BILLING_GROUP:      return n + sizeof(c->payload.create_billing_group);
        case BG_CMD_UPDATE_BILLING_GROUP:      return n + sizeof(c->payload.update_billing_group);
        case BG_CMD_DELETE_BILLING_GROUP:      return n + sizeof(c->payload.delete_billing_group);
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                return n + sizeof(c->payload.set_primary_billing_group);
        case BG_CMD_CREATE_PROJECT:            return n + sizeof(c->payload.create_project);
        case BG_CMD_ASSIGN_PROJECTS:
                return n + offsetof(bg_cmd_assign_projects_t, project_names) +
                       c->payload.assign_projects.n_projects *
                               sizeof(c->payload.assign_projects.project_names[0]);
        case BG_CMD_DELETE_PROJECT:            return n + sizeof(c->payload.delete_project);
        case BG_CMD_ISSUE_CREDIT:              return n + sizeof(c->payload.issue_credit);
        case BG_CMD_CLAIM_CREDIT:              return n + sizeof(c->payload.claim_credit);
        default:
                fail_msg("no payload size for command type %d", (int)c->type);
        }
        return 0;
}

/* The same for events: the envelope and the payload of the event's type. */
static size_t event_value_size(const bg_event_t *e) {
        size_t n = offsetof(bg_event_t, payload);

        switch (e->type) {
        case BG_EVT_ACCOUNT_CREATED:        return n + sizeof(e->payload.account_created);
        case BG_EVT_ROLE_GRANTED:           return n + sizeof(e->payload.role_granted);
        case BG_EVT_ROLE_REVOKED:           return n + sizeof(e->payload.role_revoked);
        case BG_EVT_BILLING_GROUP_CREATED:  return n + sizeof(e->payload.billing_group_created);
        case BG_EVT_BILLING_GROUP_RENAMED:  return n + sizeof(e->payload.billing_group_renamed);
        case BG_EVT_BILLING_PROFILE_UPDATED:
                return n + sizeof(e->payload.billing_profile_updated);
        case BG_EVT_BILLING_GROUP_DELETED:  return n + sizeof(e->payload.billing_group_deleted);
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                return n + sizeof(e->payload.primary_billing_group_set);
        case BG_EVT_PROJECT_CREATED:        return n + sizeof(e->payload.project_created);
        case BG_EVT_PROJECT_MOVED:          return n + sizeof(e->payload.project_moved);
        case BG_EVT_PROJECT_DELETED:        return n + sizeof(e->payload.project_deleted);
        case BG_EVT_CREDIT_ISSUED:          return n + sizeof(e->payload.credit_issued);
        case BG_EVT_CREDIT_CLAIMED:         return n + sizeof(e->payload.credit_claimed);
        default:
                fail_msg("no payload size for event type %d", (int)e->type);
        }
        return 0;
}

static void round_trip_every_command(void **state) {
        for (int t = BG_CMD_NONE + 1; t < BG_CMD__COUNT; t++) {
                const uint8_t *msg;
                size_t len;

                fx_command(&cmd_in, (bg_command_type_t)t);
                assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err,
                                                      sizeof(err)), CODEC_OK);
                assert_int_equal(msg[0], 0);
                assert_int_equal(schema_id_of(msg), ID_COMMAND);
                memset(&cmd_out, 0xff, sizeof(cmd_out));
                if (codec_decode_command(codec, msg, len, &cmd_out, err, sizeof(err)) !=
                    CODEC_OK)
                        fail_msg("%s: %s", bg_command_type_name((bg_command_type_t)t), err);
                assert_int_equal(cmd_out.type, t);
                assert_memory_equal(&cmd_in, &cmd_out, command_value_size(&cmd_in));
        }
}

static void round_trip_command_without_optionals(void **state) {
        const uint8_t *msg;
        size_t len;

        fx_command(&cmd_in, BG_CMD_CREATE_PROJECT);
        cmd_in.has_expected_version = false;
        cmd_in.expected_version = 0;
        cmd_in.payload.create_project.has_billing_group_id = false;
        memset(&cmd_in.payload.create_project.billing_group_id, 0, sizeof(bg_uuid_t));
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        memset(&cmd_out, 0xff, sizeof(cmd_out));
        assert_int_equal(codec_decode_command(codec, msg, len, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        assert_false(cmd_out.has_expected_version);
        assert_false(cmd_out.payload.create_project.has_billing_group_id);
        assert_memory_equal(&cmd_in, &cmd_out, command_value_size(&cmd_in));

        /* An empty patch and no name: UpdateBillingGroup that changes nothing. */
        fx_command(&cmd_in, BG_CMD_UPDATE_BILLING_GROUP);
        memset(&cmd_in.payload.update_billing_group, 0,
               sizeof(cmd_in.payload.update_billing_group));
        fx_uuid(&cmd_in.payload.update_billing_group.billing_group_id, 9);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        memset(&cmd_out, 0xff, sizeof(cmd_out));
        assert_int_equal(codec_decode_command(codec, msg, len, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(cmd_out.payload.update_billing_group.profile.present, 0);
        assert_false(cmd_out.payload.update_billing_group.has_name);
        assert_memory_equal(&cmd_in, &cmd_out, command_value_size(&cmd_in));
}

static void round_trip_every_event(void **state) {
        for (int t = BG_EVT_NONE + 1; t < BG_EVT__COUNT; t++) {
                const uint8_t *msg;
                size_t len;

                fx_event(&ev_in, (bg_event_type_t)t);
                assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &len, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(schema_id_of(msg), ID_EVENT);
                memset(&ev_out, 0xff, sizeof(ev_out));
                if (codec_decode_event(codec, msg, len, &ev_out, err, sizeof(err)) != CODEC_OK)
                        fail_msg("%s: %s", bg_event_type_name((bg_event_type_t)t), err);
                assert_int_equal(ev_out.type, t);
                assert_memory_equal(&ev_in, &ev_out, event_value_size(&ev_in));
        }
}

static void round_trip_results(void **state) {
        for (int o = 0; o < BG_OUTCOME__COUNT; o++) {
                bg_command_result_t in, out;
                const uint8_t *msg;
                size_t len;

                fx_result(&in, (bg_outcome_t)o);
                assert_int_equal(codec_encode_result(codec, &in, &msg, &len, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(schema_id_of(msg), ID_RESULT);
                memset(&out, 0, sizeof(out));
                assert_int_equal(codec_decode_result(codec, msg, len, &out, err, sizeof(err)),
                                 CODEC_OK);
                assert_memory_equal(&in, &out, sizeof(in));
        }
}

static void round_trip_usage(void **state) {
        codec_usage_t in, out;
        const uint8_t *msg;
        size_t len;

        fx_usage(&in);
        assert_int_equal(codec_encode_usage(codec, &in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(schema_id_of(msg), ID_USAGE);
        memset(&out, 0, sizeof(out));
        assert_int_equal(codec_decode_usage(codec, msg, len, &out, err, sizeof(err)), CODEC_OK);
        assert_memory_equal(&in, &out, sizeof(in));

        /* Defaults: no line type is service_charge; no price, no amount, no tags. */
        in.line_type = CODEC_LINE_UNSET;
        in.has_unit_price = in.has_amount = false;
        in.unit_price = in.amount = 0;
        in.n_tags = 0;
        memset(in.tags, 0, sizeof(in.tags));
        assert_int_equal(codec_encode_usage(codec, &in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        memset(&out, 0, sizeof(out));
        assert_int_equal(codec_decode_usage(codec, msg, len, &out, err, sizeof(err)), CODEC_OK);
        assert_int_equal(out.line_type, CODEC_LINE_SERVICE_CHARGE);
        assert_false(out.has_unit_price);
        assert_false(out.has_amount);
        assert_int_equal(out.n_tags, 0);
        assert_int_equal(out.quantity, in.quantity);
}

static void assert_invoices_equal(const codec_invoice_t *a, const codec_invoice_t *b) {
        assert_memory_equal(a, b, offsetof(codec_invoice_t, lines));
        for (size_t i = 0; i < a->n_lines; i++) {
                const codec_invoice_line_t *x = &a->lines[i], *y = &b->lines[i];

                assert_memory_equal(x, y, offsetof(codec_invoice_line_t, tags));
                for (size_t t = 0; t < x->n_tags; t++) {
                        assert_string_equal(x->tags[t].key, y->tags[t].key);
                        assert_string_equal(x->tags[t].value, y->tags[t].value);
                }
        }
}

static void round_trip_invoice(void **state) {
        static codec_invoice_line_t lines[8];
        static codec_tag_t tags[8 * 3];
        codec_invoice_t in, out;
        const uint8_t *msg;
        size_t len;

        for (size_t n = 0; n <= 8; n += 4) {
                fx_invoice(&in, lines, n, tags);
                assert_int_equal(codec_encode_invoice(codec, &in, &msg, &len, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(schema_id_of(msg), ID_INVOICE);
                memset(&out, 0, sizeof(out));
                if (codec_decode_invoice(codec, msg, len, &out, err, sizeof(err)) != CODEC_OK)
                        fail_msg("%zu lines: %s", n, err);
                assert_int_equal(out.n_lines, n);
                assert_invoices_equal(&in, &out);
                codec_invoice_clear(&out);
                assert_null(out.lines);
        }
}

/*
 * Agreement with another implementation: the same values encoded by fastavro 1.12 from
 * the same .avsc files (see docs/codec.md). Byte-exact, both directions.
 */

static const char golden_usage[] =
        "4835353538356235652d363136342d343736612d616437302d3733373637393763376638324837383762"
        "376538312d383438372d346138642d393039332d393639393963396661326135146b61666b612d70726f"
        "640a6b61666b6114627573696e6573732d34020616e36008686f7572020601e2400210f21f494c589c00"
        "01168098c780d86680d2fe83d8660406656e760870726f64087465616d1a446174656e62616e6b2d4f70"
        "7300";

static const char golden_command[] =
        "4831323135313831622d316532312d343432372d616132642d3330333333363339336333664832333236"
        "323932632d326633322d343533382d626233652d3431343434373461346435302c757365723a616c6963"
        "65406578616d706c652e636f6df699c780d8660252124837383762376538312d383438372d346138642d"
        "393039332d393639393963396661326135";

static const char golden_event[] =
        "4861626165623162342d623762612d346463302d383363362d6339636363666432643564384832333236"
        "323932632d326633322d343533382d626233652d3431343434373461346435305418437265646974497373"
        "756564909fc780d8664831323135313831622d316532312d343432372d616132642d3330333333363339"
        "3363336620736572766963653a6d65746572696e67a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4"
        "b5b6b7b8b9babbbcbdbebf101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e"
        "2f162057454c434f4d452d323032362e615f6202ff0c188098c780d8660280c8d0fbc268";

static void check_golden(const char *hex, const uint8_t *msg, size_t len) {
        uint8_t want[2048];
        size_t n = hex_decode(hex, want, sizeof(want));

        assert_int_equal(len - CODEC_HEADER_SIZE, n);
        assert_memory_equal(msg + CODEC_HEADER_SIZE, want, n);
}

static void matches_other_implementation(void **state) {
        codec_usage_t u, u2;
        mbuf_t m;
        const uint8_t *msg;
        size_t len;

        fx_usage(&u);
        assert_int_equal(codec_encode_usage(codec, &u, &msg, &len, err, sizeof(err)), CODEC_OK);
        check_golden(golden_usage, msg, len);
        /* ... and fastavro's bytes decode to the same struct. */
        put_header(&m, ID_USAGE);
        m.n += hex_decode(golden_usage, m.b + m.n, sizeof(m.b) - m.n);
        memset(&u2, 0, sizeof(u2));
        assert_int_equal(codec_decode_usage(codec, m.b, m.n, &u2, err, sizeof(err)), CODEC_OK);
        assert_memory_equal(&u, &u2, sizeof(u));

        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        check_golden(golden_command, msg, len);

        fx_event(&ev_in, BG_EVT_CREDIT_ISSUED);
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        check_golden(golden_event, msg, len);
}

/*
 * The canonical bytes of the hash chain
 */

static void canonical_zeroes_hash_and_matches_wire(void **state) {
        const uint8_t *canon, *wire_canon, *msg;
        size_t canon_len, wire_canon_len, len;
        uint8_t *a, *wire;
        size_t diff = 0, first_diff = 0;

        fx_event(&ev_in, BG_EVT_BILLING_GROUP_CREATED);
        assert_int_equal(codec_event_canonical(codec, &ev_in, &canon, &canon_len, err,
                                               sizeof(err)), CODEC_OK);
        a = dup_msg(canon, canon_len);
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        wire = dup_msg(msg, len);
        assert_int_equal(canon_len, len - CODEC_HEADER_SIZE);
        /* The canonical bytes are the body with exactly the 32 hash bytes zeroed. */
        for (size_t i = 0; i < canon_len; i++)
                if (a[i] != wire[CODEC_HEADER_SIZE + i]) {
                        if (diff++ == 0)
                                first_diff = i;
                }
        assert_int_equal(diff, BG_HASH_SIZE);
        assert_memory_equal(wire + CODEC_HEADER_SIZE + first_diff, ev_in.hash, BG_HASH_SIZE);
        for (size_t i = 0; i < BG_HASH_SIZE; i++)
                assert_int_equal(a[first_diff + i], 0);
        /* A verifier gets the same bytes from the message alone. */
        assert_int_equal(codec_event_canonical_wire(codec, wire, len, &wire_canon,
                                                    &wire_canon_len, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(wire_canon_len, canon_len);
        assert_memory_equal(wire_canon, a, canon_len);

        /* The hash does not change the canonical bytes; any other field does. */
        memset(ev_in.hash, 0x77, sizeof(ev_in.hash));
        assert_int_equal(codec_event_canonical(codec, &ev_in, &canon, &canon_len, err,
                                               sizeof(err)), CODEC_OK);
        assert_memory_equal(canon, a, canon_len);
        ev_in.seq++;
        assert_int_equal(codec_event_canonical(codec, &ev_in, &canon, &canon_len, err,
                                               sizeof(err)), CODEC_OK);
        assert_memory_not_equal(canon, a, canon_len);

        /* A malformed message has no canonical bytes. */
        assert_int_equal(codec_event_canonical_wire(codec, wire, len - 1, &wire_canon,
                                                    &wire_canon_len, err, sizeof(err)),
                         CODEC_ERR_MALFORMED);
        free(a);
        free(wire);
}

/*
 * Newer event schemas than this build's, and whether a schema is one of the manifest's:
 * ids 2 (the manifest's event schema, re-indented and with another doc, as a registry
 * may store it), 3 (one more Role symbol) and 4 (one more payload type) of a registry of
 * the test's own. A message of a newer schema that does not decode is told apart from
 * garbage under our own schema by codec_registry_schema_is_local.
 */

typedef struct newer_reg_s {
        char *json[5];                  /* by id; NULL: unknown */
} newer_reg_t;

static codec_err_t newer_by_id(void *opaque, int32_t id, char **json_out, char *errstr,
                               size_t errstr_size) {
        newer_reg_t *r = opaque;

        if (id >= 0 && id < 5 && r->json[id] != NULL) {
                *json_out = strdup(r->json[id]);
                return *json_out ? CODEC_OK : CODEC_ERR_NOMEM;
        }
        snprintf(errstr, errstr_size, "unknown schema id %d", (int)id);
        return CODEC_ERR_UNKNOWN_SCHEMA;
}

static codec_err_t newer_latest(void *opaque, const char *subject, int32_t *id_out,
                                char *errstr, size_t errstr_size) {
        snprintf(errstr, errstr_size, "no subject %s", subject);
        return CODEC_ERR_UNKNOWN_SCHEMA;
}

static void newer_free(void *opaque) {
        newer_reg_t *r = opaque;
        for (int i = 0; i < 5; i++)
                free(r->json[i]);
        free(r);
}

/* The event schema's payload union. */
static json_t *payload_union(json_t *schema) {
        json_t *fields = json_object_get(schema, "fields");

        for (size_t i = 0; i < json_array_size(fields); i++)
                if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                           "payload") == 0)
                        return json_object_get(json_array_get(fields, i), "type");
        fail_msg("no payload union");
        return NULL;
}

static void with_schema_id(uint8_t *msg, uint32_t id) {
        msg[1] = (uint8_t)(id >> 24);
        msg[2] = (uint8_t)(id >> 16);
        msg[3] = (uint8_t)(id >> 8);
        msg[4] = (uint8_t)id;
}

static void newer_event_schemas(void **state) {
        static const codec_registry_ops_t ops = {
                .schema_by_id = newer_by_id, .latest_id = newer_latest, .destroy = newer_free};
        newer_reg_t *r = calloc(1, sizeof(*r));
        json_t *schema, *role_symbols;
        json_error_t jerr;
        codec_registry_t *nreg, *down;
        codec_t *ncodec;
        const uint8_t *msg;
        uint8_t *granted, *deleted;
        size_t glen, dlen;
        bool local = true;

        assert_non_null(r);
        schema = json_load_file(BG_SCHEMAS_DIR "/event.v1.avsc", 0, &jerr);
        assert_non_null(schema);
        json_object_set_new(schema, "doc", json_string("stored by a registry, re-indented"));
        r->json[2] = json_dumps(schema, JSON_INDENT(3));
        role_symbols = json_object_get(json_object_get(json_array_get(json_object_get(
                json_array_get(payload_union(schema), 1), "fields"), 1), "type"), "symbols");
        assert_int_equal(json_array_size(role_symbols), 3);
        json_array_append_new(role_symbols, json_string("owner"));
        r->json[3] = json_dumps(schema, JSON_COMPACT);
        json_array_remove(role_symbols, 3);
        assert_int_equal(json_array_size(payload_union(schema)), 13);
        json_array_append_new(payload_union(schema),
                              json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}]}", "type", "record",
                                        "name", "FutureEvent", "fields", "name", "billing_group_id",
                                        "type", "type", "string", "logicalType", "uuid"));
        r->json[4] = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        nreg = codec_registry_new(&ops, r);
        assert_non_null(nreg);
        ncodec = codec_new(nreg, NULL, err, sizeof(err));
        assert_non_null(ncodec);

        /* Which schemas are the manifest's, whatever their ids. */
        assert_int_equal(codec_registry_schema_is_local(reg, ID_EVENT, reg, &local, err,
                                                        sizeof(err)), CODEC_OK);
        assert_true(local);
        assert_int_equal(codec_registry_schema_is_local(nreg, 2, reg, &local, err, sizeof(err)),
                         CODEC_OK);
        assert_true(local);
        assert_int_equal(codec_registry_schema_is_local(nreg, 3, reg, &local, err, sizeof(err)),
                         CODEC_OK);
        assert_false(local);
        assert_int_equal(codec_registry_schema_is_local(nreg, 4, reg, &local, err, sizeof(err)),
                         CODEC_OK);
        assert_false(local);
        assert_int_equal(codec_registry_schema_is_local(nreg, 1, reg, &local, err, sizeof(err)),
                         CODEC_ERR_UNKNOWN_SCHEMA);
        assert_int_equal(codec_registry_schema_is_local(reg, 2, nreg, &local, err, sizeof(err)),
                         CODEC_ERR_ARG);
        down = codec_registry_http_new("http://127.0.0.1:1/", 2000, err, sizeof(err));
        assert_non_null(down);
        assert_int_equal(codec_registry_schema_is_local(down, 2, reg, &local, err, sizeof(err)),
                         CODEC_ERR_REGISTRY);
        codec_registry_destroy(down);

        /* A RoleGranted of role viewer (2), no previous role: the role's index is the
         * byte before the last (the null branch of previous_role). */
        fx_event(&ev_in, BG_EVT_ROLE_GRANTED);
        ev_in.payload.role_granted.role = BG_ROLE_VIEWER;
        ev_in.payload.role_granted.previous_role = BG_ROLE_NONE;
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &glen, err, sizeof(err)),
                         CODEC_OK);
        granted = dup_msg(msg, glen);
        assert_int_equal(granted[glen - 2], 2 << 1);
        assert_int_equal(granted[glen - 1], 0);
        /* Written with schema 3, it decodes ... */
        with_schema_id(granted, 3);
        assert_int_equal(codec_decode_event(ncodec, granted, glen, &ev_out, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(ev_out.payload.role_granted.role, BG_ROLE_VIEWER);
        /* ... but not with the new role: a value this build cannot represent. */
        granted[glen - 2] = 3 << 1;
        assert_int_equal(codec_decode_event(ncodec, granted, glen, &ev_out, err, sizeof(err)),
                         CODEC_ERR_INVALID);
        assert_string_equal(err, "unknown role \"owner\" in field 'payload.role'");
        /* The same bytes under the manifest's schema are garbage (no fourth symbol). */
        with_schema_id(granted, ID_EVENT);
        assert_int_equal(codec_decode_event(codec, granted, glen, &ev_out, err, sizeof(err)),
                         CODEC_ERR_MALFORMED);

        /* A BillingGroupDeleted (branch 6: one UUID) moved to FutureEvent (13) under
         * schema 4: a type this build does not know, with a code of its own. */
        fx_event(&ev_in, BG_EVT_BILLING_GROUP_DELETED);
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &dlen, err, sizeof(err)),
                         CODEC_OK);
        deleted = dup_msg(msg, dlen);
        assert_int_equal(deleted[dlen - 38], 6 << 1);
        deleted[dlen - 38] = 13 << 1;
        with_schema_id(deleted, 4);
        assert_int_equal(codec_decode_event(ncodec, deleted, dlen, &ev_out, err, sizeof(err)),
                         CODEC_ERR_UNKNOWN_TYPE);
        assert_string_equal(err, "unknown event type \"FutureEvent\"");
        assert_string_equal(codec_err2str(CODEC_ERR_UNKNOWN_TYPE), "unknown type");

        free(granted);
        free(deleted);
        codec_destroy(ncodec);
        codec_registry_destroy(nreg);
}

/*
 * Schema evolution, through a registry of the test's own (the ops seam): v2 of the
 * command schema adds a field with a default and a new command type at the end of the
 * payload union.
 */

typedef struct evo_reg_s {
        char *v1, *v2;
} evo_reg_t;

static codec_err_t evo_by_id(void *opaque, int32_t id, char **json_out, char *errstr,
                             size_t errstr_size) {
        evo_reg_t *r = opaque;

        if (id == ID_COMMAND || id == 9001) {
                *json_out = strdup(id == ID_COMMAND ? r->v1 : r->v2);
                return *json_out ? CODEC_OK : CODEC_ERR_NOMEM;
        }
        snprintf(errstr, errstr_size, "unknown schema id %d", (int)id);
        return CODEC_ERR_UNKNOWN_SCHEMA;
}

static codec_err_t evo_latest(void *opaque, const char *subject, int32_t *id_out,
                              char *errstr, size_t errstr_size) {
        if (strcmp(subject, "billing.commands-value") != 0) {
                snprintf(errstr, errstr_size, "no subject %s", subject);
                return CODEC_ERR_UNKNOWN_SCHEMA;
        }
        *id_out = 9001;
        return CODEC_OK;
}

static void evo_free(void *opaque) {
        evo_reg_t *r = opaque;
        free(r->v1);
        free(r->v2);
        free(r);
}

static void schema_evolution(void **state) {
        static const codec_registry_ops_t ops = {
                .schema_by_id = evo_by_id, .latest_id = evo_latest, .destroy = evo_free};
        evo_reg_t *r = calloc(1, sizeof(*r));
        json_t *schema, *fields, *payload = NULL;
        codec_registry_t *ereg;
        codec_t *ecodec;
        const uint8_t *msg;
        uint8_t *v2msg, *v1msg;
        size_t len, v1len;
        json_error_t jerr;

        assert_non_null(r);
        schema = json_load_file(BG_SCHEMAS_DIR "/command.v1.avsc", 0, &jerr);
        assert_non_null(schema);
        r->v1 = json_dumps(schema, JSON_COMPACT);
        fields = json_object_get(schema, "fields");
        for (size_t i = 0; i < json_array_size(fields); i++)
                if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                           "payload") == 0)
                        payload = json_object_get(json_array_get(fields, i), "type");
        assert_non_null(payload);
        json_array_append_new(payload,
                              json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}]}", "type", "record",
                                        "name", "FutureCommand", "fields", "name", "project_id",
                                        "type", "type", "string", "logicalType", "uuid"));
        json_array_append_new(fields, json_pack("{s:s, s:s, s:s}", "name", "trace_id", "type",
                                                "string", "default", ""));
        r->v2 = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);

        ereg = codec_registry_new(&ops, r);
        assert_non_null(ereg);
        ecodec = codec_new(ereg, NULL, err, sizeof(err));
        assert_non_null(ecodec);

        /* The newer writer: its extra field is ignored, the known command decodes, by
         * this codec and by one that only knows v1 as "latest". */
        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(ecodec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(schema_id_of(msg), 9001);
        v2msg = dup_msg(msg, len);
        memset(&cmd_out, 0, sizeof(cmd_out));
        assert_int_equal(codec_decode_command(ecodec, v2msg, len, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        assert_memory_equal(&cmd_in, &cmd_out, sizeof(cmd_in));

        /* The older writer (v1, from the manifest codec) decodes with this codec. */
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &v1len, err, sizeof(err)),
                         CODEC_OK);
        v1msg = dup_msg(msg, v1len);
        memset(&cmd_out, 0, sizeof(cmd_out));
        assert_int_equal(codec_decode_command(ecodec, v1msg, v1len, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        assert_memory_equal(&cmd_in, &cmd_out, sizeof(cmd_in));

        /* A command type this build does not know: DeleteProject is branch 9, and
         * FutureCommand (branch 12) has the same layout. Both end with the 37 bytes of
         * project_id then the 1-byte trace_id "". */
        assert_int_equal(v2msg[len - 1 - 37 - 1], 9 << 1);
        v2msg[len - 1 - 37 - 1] = 12 << 1;
        assert_int_equal(codec_decode_command(ecodec, v2msg, len, &cmd_out, err, sizeof(err)),
                         CODEC_ERR_UNKNOWN_TYPE);
        assert_string_equal(err, "unknown command type \"FutureCommand\"");

        free(v1msg);
        free(v2msg);
        codec_destroy(ecodec);
        codec_registry_destroy(ereg);
}

/*
 * The malformed-message corpus. Each message gets a specific error and reason.
 */

static void expect_command_error(const void *msg, size_t len, codec_err_t want,
                                 const char *reason) {
        codec_err_t got = codec_decode_command(codec, msg, len, &cmd_out, err, sizeof(err));

        if (got != want || (reason != NULL && strcmp(err, reason) != 0))
                fail_msg("got %s \"%s\", want %s \"%s\"", codec_err2str(got), err,
                         codec_err2str(want), reason ? reason : "(any)");
}

static void rejects_truncated_messages(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;

        /* Only the header: the first field's length is missing. */
        fx_command(&cmd_in, BG_CMD_CREATE_BILLING_GROUP);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        expect_command_error(copy, 5, CODEC_ERR_MALFORMED,
                             "truncated at byte 5 reading string length in field 'command_id'");
        expect_command_error(copy, 3, CODEC_ERR_FRAMING,
                             "truncated at byte 3 reading the schema id");
        expect_command_error(copy, 0, CODEC_ERR_FRAMING, "empty message");
        /* Every proper prefix is rejected, none crashes or leaks. */
        for (size_t n = 0; n < len; n++) {
                codec_err_t e = codec_decode_command(codec, copy, n, &cmd_out, err, sizeof(err));
                if (e != CODEC_ERR_MALFORMED && e != CODEC_ERR_FRAMING)
                        fail_msg("prefix of %zu bytes: %s \"%s\"", n, codec_err2str(e), err);
        }
        free(copy);

        /* The same for every other kind. */
        fx_event(&ev_in, BG_EVT_BILLING_PROFILE_UPDATED);
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        for (size_t n = 0; n < len; n++)
                assert_int_not_equal(codec_decode_event(codec, copy, n, &ev_out, err,
                                                        sizeof(err)), CODEC_OK);
        free(copy);
}

static void rejects_bad_framing_and_schema_ids(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;

        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);

        copy[0] = 0x05;
        expect_command_error(copy, len, CODEC_ERR_FRAMING, "bad magic byte 0x05");
        copy[0] = 0;

        copy[1] = copy[2] = copy[3] = 0;
        copy[4] = 17;
        expect_command_error(copy, len, CODEC_ERR_UNKNOWN_SCHEMA, "unknown schema id 17");
        copy[1] = copy[2] = copy[3] = copy[4] = 0xff;
        expect_command_error(copy, len, CODEC_ERR_UNKNOWN_SCHEMA, "unknown schema id -1");

        /* An event's schema id where a command is expected. */
        copy[1] = copy[2] = 0;
        copy[3] = ID_EVENT >> 8;
        copy[4] = ID_EVENT & 0xff;
        expect_command_error(copy, len, CODEC_ERR_WRONG_TYPE,
                             "schema id 1002 is billing.Event, not billing.Command");
        free(copy);
}

static void rejects_oversize_messages(void **state) {
        size_t big = CODEC_DEFAULT_MAX_MESSAGE + 1;
        uint8_t *msg = calloc(1, big);
        codec_conf_t conf;
        codec_t *small;
        const uint8_t *out;
        size_t len;
        char want[128];

        assert_non_null(msg);
        msg[4] = 0xe9;   /* whatever follows is never looked at */
        snprintf(want, sizeof(want), "message of %zu bytes exceeds the limit of %d bytes", big,
                 CODEC_DEFAULT_MAX_MESSAGE);
        expect_command_error(msg, big, CODEC_ERR_TOO_LARGE, want);
        free(msg);

        /* A configured cap applies to both directions. */
        codec_conf_init(&conf);
        conf.max_message_size = 64;
        small = codec_new(reg, &conf, err, sizeof(err));
        assert_non_null(small);
        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(small, &cmd_in, &out, &len, err, sizeof(err)),
                         CODEC_ERR_TOO_LARGE);
        assert_string_equal(err, "encoded billing.Command exceeds the limit of 64 bytes");
        assert_int_equal(codec_encode_command(codec, &cmd_in, &out, &len, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(codec_decode_command(small, out, len, &cmd_out, err, sizeof(err)),
                         CODEC_ERR_TOO_LARGE);
        codec_destroy(small);

        conf.max_message_size = 5;
        assert_null(codec_new(reg, &conf, err, sizeof(err)));
}

static void rejects_huge_string_length_without_allocating(void **state) {
        mbuf_t m;
        int64_t start;

        /* command_id claims 1 GiB; 12 bytes follow. */
        put_header(&m, ID_COMMAND);
        put_long(&m, INT64_C(1) << 30);
        put_raw(&m, "0123456789ab", 12);
        start = mem.cur;
        mem_mark();
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED,
                             "string length 1073741824 exceeds remaining 12 bytes at byte 5 in "
                             "field 'command_id'");
        /* Nothing near the declared length was requested; at most a few KiB in all. */
        assert_true(mem.max_request < 4096);
        assert_true(mem_peak_delta(start) < 4096);
}

static void avro_c_alone_would_allocate_the_declared_length(void **state) {
        avro_schema_t schema;
        avro_value_iface_t *iface;
        avro_value_t value;
        avro_reader_t reader;
        mbuf_t m;

        /* The premise of the walker: given the same bytes, avro-c asks for 1 GiB. The
         * allocator refuses (we do not want the gigabyte), avro-c reports the failure. */
        m.n = 0;
        put_long(&m, INT64_C(1) << 30);
        put_raw(&m, "0123456789ab", 12);
        assert_int_equal(avro_schema_from_json_literal("\"string\"", &schema), 0);
        iface = avro_generic_class_from_schema(schema);
        assert_non_null(iface);
        assert_int_equal(avro_generic_value_new(iface, &value), 0);
        reader = avro_reader_memory((const char *)m.b, (int64_t)m.n);
        mem_mark();
        mem.refuse_above = 64 * 1024 * 1024;
        assert_int_not_equal(avro_value_read(reader, &value), 0);
        mem.refuse_above = 0;
        assert_true(mem.max_request >= (size_t)1 << 30);
        avro_reader_free(reader);
        avro_value_decref(&value);
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
}

/* The prefix of an AssignProjects command up to its project_names array. */
static void put_assign_prefix(mbuf_t *m) {
        put_header(m, ID_COMMAND);
        put_uuid(m, 1);
        put_uuid(m, 2);
        put_str(m, "user:alice@example.com");
        put_long(m, 1764158400123);
        put_long(m, 0);        /* expected_version: null */
        put_long(m, 8);        /* payload branch 8: AssignProjects */
        put_uuid(m, 3);
}

static void rejects_huge_array_counts(void **state) {
        char want[256];
        size_t at;
        mbuf_t m;
        int64_t start;

        put_assign_prefix(&m);
        at = m.n;
        put_long(&m, INT64_C(1) << 40);
        put_str(&m, "web");
        put_long(&m, 0);
        snprintf(want, sizeof(want),
                 "array block count 1099511627776 exceeds remaining 5 bytes at byte %zu in field "
                 "'project_names'", at);
        start = mem.cur;
        mem_mark();
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED, want);
        assert_true(mem_peak_delta(start) < 4096);

        /* Negative block count: the byte size must be there and must match. */
        put_assign_prefix(&m);
        put_long(&m, -2);
        put_long(&m, 8);       /* "web" + "api" = 4 + 4 bytes */
        put_str(&m, "web");
        put_str(&m, "api");
        put_long(&m, 0);
        assert_int_equal(codec_decode_command(codec, m.b, m.n, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(cmd_out.payload.assign_projects.n_projects, 2);
        assert_string_equal(cmd_out.payload.assign_projects.project_names[1], "api");

        put_assign_prefix(&m);
        at = m.n;
        put_long(&m, -2);
        put_long(&m, 7);
        put_str(&m, "web");
        put_str(&m, "api");
        put_long(&m, 0);
        snprintf(want, sizeof(want),
                 "array block size 7 does not match its items' 8 bytes at byte %zu in field "
                 "'project_names'", at + 2);
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED, want);

        put_assign_prefix(&m);
        at = m.n;
        put_long(&m, -1);
        put_long(&m, INT64_C(1) << 40);
        snprintf(want, sizeof(want),
                 "array block size 1099511627776 exceeds remaining 0 bytes at byte %zu in field "
                 "'project_names'", at + 1);
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED, want);

        /* 1001 names are more than a command holds, though the bytes are there. */
        put_assign_prefix(&m);
        put_long(&m, 1001);
        for (int i = 0; i < 1001; i++)
                put_str(&m, "p");
        put_long(&m, 0);
        expect_command_error(m.b, m.n, CODEC_ERR_INVALID,
                             "1001 items, more than 1000 in field 'payload.project_names'");
}

static void bounds_arrays_of_zero_size_items(void **state) {
        static const char schema_json[] =
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                "{\"name\":\"nulls\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
                "{\"name\":\"empties\",\"type\":{\"type\":\"array\",\"items\":"
                "{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}}}]}";
        codec_walk_opts_t opts = {.max_items = 0, .base = 0, .stop_field = -1};
        avro_schema_t schema;
        codec_prog_t *prog;
        mbuf_t m;

        assert_int_equal(avro_schema_from_json_literal(schema_json, &schema), 0);
        prog = codec_prog_new(schema, err, sizeof(err));
        assert_non_null(prog);

        /* 2^40 nulls take no bytes at all: only the item cap stops them. */
        m.n = 0;
        put_long(&m, INT64_C(1) << 40);
        put_long(&m, 0);
        put_long(&m, 0);
        opts.max_items = m.n;
        assert_int_equal(codec_walk(prog, m.b, m.n, &opts, NULL, err, sizeof(err)), -1);
        assert_string_equal(err, "array of 1099511627776 more items exceeds the limit of 8 "
                                 "items in a message at byte 0 in field 'nulls'");

        /* Within the cap they are fine; the cap counts both arrays together. */
        m.n = 0;
        put_long(&m, 3);
        put_long(&m, 0);
        put_long(&m, 2);
        put_long(&m, 0);
        opts.max_items = 5;
        assert_int_equal(codec_walk(prog, m.b, m.n, &opts, NULL, err, sizeof(err)), 0);
        opts.max_items = 4;
        assert_int_equal(codec_walk(prog, m.b, m.n, &opts, NULL, err, sizeof(err)), -1);
        assert_string_equal(err, "array of 2 more items exceeds the limit of 4 items in a "
                                 "message at byte 2 in field 'empties'");

        codec_prog_destroy(prog);
        avro_schema_decref(schema);
}

static void rejects_bad_varints_lengths_and_trailing_bytes(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;
        char want[200];
        mbuf_t m;

        put_header(&m, ID_COMMAND);
        for (int i = 0; i < 11; i++)
                put_byte(&m, 0xff);
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED,
                             "string length varint longer than 10 bytes at byte 5 in field "
                             "'command_id'");
        put_header(&m, ID_COMMAND);
        for (int i = 0; i < 9; i++)
                put_byte(&m, 0xff);
        put_byte(&m, 0x02);
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED,
                             "string length varint overflows 64 bits at byte 5 in field "
                             "'command_id'");
        put_header(&m, ID_COMMAND);
        put_long(&m, -5);
        put_raw(&m, "abcdef", 6);
        expect_command_error(m.b, m.n, CODEC_ERR_MALFORMED,
                             "negative string length -5 at byte 5 in field 'command_id'");

        /* One byte too many after a valid command. */
        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = malloc(len + 1);
        assert_non_null(copy);
        memcpy(copy, msg, len);
        copy[len] = 0;
        snprintf(want, sizeof(want), "1 trailing bytes after the value at byte %zu", len);
        expect_command_error(copy, len + 1, CODEC_ERR_MALFORMED, want);
        free(copy);
}

static void rejects_bad_union_branch_and_enum_index(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len, at;
        char want[200];
        bg_command_result_t res;

        /* DeleteProject ends with: branch index (1 byte), project_id (1 + 36 bytes). */
        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        at = len - 37 - 1;
        assert_int_equal(copy[at], 9 << 1);
        copy[at] = 9 << 1 | 0;   /* still DeleteProject: decodes */
        assert_int_equal(codec_decode_command(codec, copy, len, &cmd_out, err, sizeof(err)),
                         CODEC_OK);
        copy[at] = 12 << 1;
        snprintf(want, sizeof(want),
                 "union branch 12 out of range (12 branches) at byte %zu in field 'payload'", at);
        expect_command_error(copy, len, CODEC_ERR_MALFORMED, want);
        copy[at] = 1;            /* zig-zag -1 */
        snprintf(want, sizeof(want),
                 "union branch -1 out of range (12 branches) at byte %zu in field 'payload'", at);
        expect_command_error(copy, len, CODEC_ERR_MALFORMED, want);
        free(copy);

        /* CommandResult: command_id, account_id (37 bytes each), then the outcome enum. */
        fx_result(&res, BG_OUTCOME_ACCEPTED);
        assert_int_equal(codec_encode_result(codec, &res, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        at = 5 + 37 + 37;
        assert_int_equal(copy[at], 0);
        copy[at] = 5 << 1;
        snprintf(want, sizeof(want),
                 "enum index 5 out of range (3 symbols) at byte %zu in field 'outcome'", at);
        assert_int_equal(codec_decode_result(codec, copy, len, &res, err, sizeof(err)),
                         CODEC_ERR_MALFORMED);
        assert_string_equal(err, want);
        /* In range, but a rejection needs a code. */
        copy[at] = 1 << 1;
        assert_int_equal(codec_decode_result(codec, copy, len, &res, err, sizeof(err)),
                         CODEC_ERR_INVALID);
        assert_string_equal(err, "outcome rejected without a rejection code in field 'code'");
        free(copy);
}

static void rejects_invalid_uuid_text_and_utf8(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;
        char want[200];

        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        copy[6] = 'g';           /* the first character of command_id */
        expect_command_error(copy, len, CODEC_ERR_INVALID,
                             "invalid UUID text \"g215181b-1e21-4427-aa2d-30333639"
                             "3c3f\" in field 'command_id'");
        copy[6] = '1';
        copy[len - 1] = '"';     /* the last character of payload.project_id */
        expect_command_error(copy, len, CODEC_ERR_INVALID,
                             "invalid UUID text \"787b7e81-8487-4a8d-9093-96999c9fa2a?\" in "
                             "field 'payload.project_id'");
        copy[len - 1] = '5';

        /* actor starts after command_id and account_id: its length, then text. */
        copy[5 + 37 + 37 + 1] = 0xff;
        snprintf(want, sizeof(want), "string is not valid UTF-8 at byte %d in field 'actor'",
                 5 + 37 + 37);
        expect_command_error(copy, len, CODEC_ERR_MALFORMED, want);
        free(copy);

        /* An embedded NUL is valid UTF-8 but no C string: rejected. */
        copy = dup_msg(msg, len);
        copy[5 + 37 + 37 + 3] = 0;
        expect_command_error(copy, len, CODEC_ERR_INVALID,
                             "string contains a NUL byte in field 'actor'");
        free(copy);
}

static void rejects_out_of_range_values(void **state) {
        static const uint8_t dec17[17] = {0};
        static const uint8_t dec9[9] = {0x01};
        static const uint8_t dec_prec[8] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00};
        struct {
                const uint8_t *p;
                size_t n;
                const char *reason;
        } cases[] = {
                {dec17, 17, "decimal of 17 bytes is longer than 16 bytes in field 'quantity'"},
                {dec9, 9, "decimal out of the int64 micros range in field 'quantity'"},
                {dec_prec, 8, "decimal 1000000000000000000 micros exceeds precision 18 in field "
                              "'quantity'"},
                {dec17, 0, "empty decimal in field 'quantity'"},
        };
        codec_usage_t u;
        mbuf_t m;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                put_header(&m, ID_USAGE);
                put_uuid(&m, 20);
                put_uuid(&m, 7);
                put_str(&m, "kafka-prod");
                put_str(&m, "kafka");
                put_str(&m, "business-4");
                put_long(&m, 0);                     /* line_type service_charge */
                put_bytes(&m, cases[i].p, cases[i].n);
                put_str(&m, "hour");
                put_long(&m, 0);
                put_long(&m, 0);
                put_long(&m, 11);                    /* currency USD */
                put_long(&m, 1764158400000);
                put_long(&m, 1764162000000);
                put_long(&m, 0);                     /* no tags */
                assert_int_equal(codec_decode_usage(codec, m.b, m.n, &u, err, sizeof(err)),
                                 CODEC_ERR_INVALID);
                assert_string_equal(err, cases[i].reason);
        }

        /* A name of 129 characters (two bytes each) in CreateAccount. */
        put_header(&m, ID_COMMAND);
        put_uuid(&m, 1);
        put_uuid(&m, 2);
        put_str(&m, "user:alice@example.com");
        put_long(&m, 1764158400123);
        put_long(&m, 0);
        put_long(&m, 0);                             /* CreateAccount */
        put_long(&m, 129 * 2);
        for (int i = 0; i < 129; i++)
                put_raw(&m, "\xc3\xa9", 2);
        put_str(&m, "alice@example.com");
        expect_command_error(m.b, m.n, CODEC_ERR_INVALID,
                             "string of 129 characters is longer than 128 in field 'payload.name'");

        /* An actor longer than the struct holds. */
        put_header(&m, ID_COMMAND);
        put_uuid(&m, 1);
        put_uuid(&m, 2);
        put_long(&m, 300);
        for (int i = 0; i < 300; i++)
                put_byte(&m, 'a');
        put_long(&m, 1764158400123);
        put_long(&m, 0);
        put_long(&m, 9 << 0);                        /* DeleteProject */
        put_uuid(&m, 7);
        expect_command_error(m.b, m.n, CODEC_ERR_INVALID,
                             "string of 300 bytes is longer than 259 bytes in field 'actor'");
}

static void rejects_event_type_mismatch(void **state) {
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;

        fx_event(&ev_in, BG_EVT_ACCOUNT_CREATED);
        assert_int_equal(codec_encode_event(codec, &ev_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        /* event_id, account_id (37 each), seq 42 (1 byte), type: length 14, "AccountCreated" */
        assert_memory_equal(copy + 5 + 37 + 37 + 1 + 1, "AccountCreated", 14);
        copy[5 + 37 + 37 + 1 + 1 + 13] = 'e';
        assert_int_equal(codec_decode_event(codec, copy, len, &ev_out, err, sizeof(err)),
                         CODEC_ERR_INVALID);
        assert_string_equal(err, "event type \"AccountCreatee\" does not match its payload "
                                 "AccountCreated in field 'type'");
        free(copy);
}

static void rejects_unencodable_values(void **state) {
        const uint8_t *msg;
        size_t len;
        codec_usage_t u;
        bg_command_result_t res;

        fx_command(&cmd_in, BG_CMD_ISSUE_CREDIT);
        cmd_in.payload.issue_credit.currency = BG_CURRENCY_UNSET;
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);
        assert_string_equal(err, "value not set or out of range in field 'payload.currency'");

        fx_command(&cmd_in, BG_CMD_ISSUE_CREDIT);
        cmd_in.payload.issue_credit.value = INT64_C(1000000000000000000);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);
        assert_string_equal(err, "decimal 1000000000000000000 micros exceeds precision 18 in "
                                 "field 'payload.value'");

        fx_command(&cmd_in, BG_CMD_CREATE_ACCOUNT);
        memset(cmd_in.payload.create_account.name, 'x', 129);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);
        assert_string_equal(err, "string of 129 characters is longer than 128 in field "
                                 "'payload.name'");

        fx_command(&cmd_in, BG_CMD_CREATE_ACCOUNT);
        cmd_in.type = BG_CMD__COUNT;
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);

        fx_usage(&u);
        strcpy(u.tags[1].key, u.tags[0].key);
        assert_int_equal(codec_encode_usage(codec, &u, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);
        assert_string_equal(err, "duplicate tag key \"env\" in field 'tags'");

        fx_result(&res, BG_OUTCOME_ACCEPTED);
        res.rejection.code = BG_REJECT_CONFLICT;
        assert_int_equal(codec_encode_result(codec, &res, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_ARG);
        assert_string_equal(err, "rejection code set for outcome accepted in field 'code'");
}

/*
 * Registry and framing helpers
 */

static void manifest_registry(void **state) {
        char dir[] = "/tmp/codec-test-XXXXXX", path[256];
        int32_t id;
        codec_registry_t *r;
        char *json = NULL;
        FILE *f;

        assert_int_equal(codec_registry_latest_id(reg, "billing.usage-value", &id, err,
                                                  sizeof(err)), CODEC_OK);
        assert_int_equal(id, ID_USAGE);
        assert_int_equal(codec_registry_latest_id(reg, "billing.nope-value", &id, err,
                                                  sizeof(err)), CODEC_ERR_UNKNOWN_SCHEMA);
        assert_string_equal(err, "no schema for subject \"billing.nope-value\" in the manifest");
        assert_int_equal(codec_registry_schema_by_id(reg, ID_INVOICE, &json, err, sizeof(err)),
                         CODEC_OK);
        assert_non_null(strstr(json, "\"InvoiceLine\""));
        free(json);

        assert_null(codec_registry_manifest_new("/nonexistent", err, sizeof(err)));
        assert_non_null(strstr(err, "cannot load \"/nonexistent/manifest.json\""));

        /* An id assigned twice is refused. */
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/manifest.json", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"schemas\": ["
                   "{\"subject\": \"a-value\", \"version\": 1, \"id\": 7, \"file\": \"s.avsc\"},"
                   "{\"subject\": \"b-value\", \"version\": 1, \"id\": 7, \"file\": \"s.avsc\"}]}");
        fclose(f);
        snprintf(path, sizeof(path), "%s/s.avsc", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "{\"type\": \"record\", \"name\": \"S\", \"fields\": []}");
        fclose(f);
        r = codec_registry_manifest_new(dir, err, sizeof(err));
        assert_null(r);
        assert_non_null(strstr(err, "schema id 7 assigned twice"));
        unlink(path);
        snprintf(path, sizeof(path), "%s/manifest.json", dir);
        unlink(path);
        rmdir(dir);
}

static void peeks_ids_of_undecodable_commands(void **state) {
        bg_uuid_t cid, aid;
        const uint8_t *msg;
        uint8_t *copy;
        size_t len;

        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(codec, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_OK);
        copy = dup_msg(msg, len);
        /* A payload branch this schema does not have: the command does not decode ... */
        copy[len - 37 - 1] = 12 << 1;
        assert_int_equal(codec_decode_command(codec, copy, len, &cmd_out, err, sizeof(err)),
                         CODEC_ERR_MALFORMED);
        /* ... but its issuer can still be answered. */
        assert_int_equal(codec_peek_command_ids(codec, copy, len, &cid, &aid, err, sizeof(err)),
                         CODEC_OK);
        assert_true(bg_uuid_equal(&cid, &cmd_in.command_id));
        assert_true(bg_uuid_equal(&aid, &cmd_in.account_id));
        /* Not when the ids themselves are bad, or the bytes end before them. */
        copy[5 + 37 + 1] = 'x';
        assert_int_equal(codec_peek_command_ids(codec, copy, len, &cid, &aid, err, sizeof(err)),
                         CODEC_ERR_INVALID);
        assert_string_equal(err, "invalid UUID text in field 'account_id'");
        assert_int_equal(codec_peek_command_ids(codec, copy, 5 + 37 + 10, &cid, &aid, err,
                                                sizeof(err)), CODEC_ERR_MALFORMED);
        assert_string_equal(err, "string length 36 exceeds remaining 9 bytes at byte 42 in "
                                 "field 'account_id'");
        free(copy);
}

static void http_registry_failures(void **state) {
        codec_registry_t *r;
        codec_t *c;
        const uint8_t *msg;
        char *json = NULL;
        size_t len;
        int32_t id;

        assert_null(codec_registry_http_new("ftp://127.0.0.1", 0, err, sizeof(err)));
        assert_string_equal(err, "schema registry URL \"ftp://127.0.0.1\" is not http(s)://");

        /* Nothing listens on port 1: every call fails with a reason, none hangs. */
        r = codec_registry_http_new("http://127.0.0.1:1/", 2000, err, sizeof(err));
        assert_non_null(r);
        assert_int_equal(codec_registry_latest_id(r, "billing.commands-value", &id, err,
                                                  sizeof(err)), CODEC_ERR_REGISTRY);
        assert_non_null(strstr(err, "schema registry request GET "
                                    "/subjects/billing.commands-value/versions/latest failed: "));
        assert_int_equal(codec_registry_schema_by_id(r, 1001, &json, err, sizeof(err)),
                         CODEC_ERR_REGISTRY);
        assert_int_equal(codec_registry_register(r, "billing.commands-value", "\"string\"", &id,
                                                 err, sizeof(err)), CODEC_ERR_REGISTRY);
        c = codec_new(r, NULL, err, sizeof(err));
        assert_non_null(c);
        fx_command(&cmd_in, BG_CMD_DELETE_PROJECT);
        assert_int_equal(codec_encode_command(c, &cmd_in, &msg, &len, err, sizeof(err)),
                         CODEC_ERR_REGISTRY);
        codec_destroy(c);
        codec_registry_destroy(r);

        /* The manifest is read-only. */
        assert_int_equal(codec_registry_register(reg, "billing.commands-value", "\"string\"",
                                                 &id, err, sizeof(err)), CODEC_ERR_ARG);
        assert_string_equal(err, "this schema registry is read-only");
}

static void peeks_schema_id(void **state) {
        static const uint8_t msg[] = {0, 0, 0, 0x03, 0xe9, 0x02};
        int32_t id = 0;

        assert_int_equal(codec_peek_schema_id(codec, msg, sizeof(msg), &id, err, sizeof(err)),
                         CODEC_OK);
        assert_int_equal(id, 1001);
        assert_int_equal(codec_peek_schema_id(codec, msg, 4, &id, err, sizeof(err)),
                         CODEC_ERR_FRAMING);
        assert_string_equal(codec_err2str(CODEC_ERR_MALFORMED), "malformed message");
        assert_string_equal(codec_kind_default_subject(CODEC_KIND_INVOICE),
                            "billing.invoices-value");
        codec_destroy(NULL);
        codec_registry_destroy(NULL);
        codec_invoice_clear(NULL);
}

/*
 * Reuse and throughput: the codec keeps its values and buffers between messages. Prints
 * the rate for the record; asserts only that 20000 messages do not grow memory.
 */
static void reuses_memory_across_messages(void **state) {
        codec_usage_t u, out;
        const uint8_t *msg;
        size_t len;
        int64_t before;
        struct timespec t0, t1;
        const int n = 20000;
        double secs;

        fx_usage(&u);
        for (int i = 0; i < 100; i++) {   /* warm up: the first messages allocate */
                assert_int_equal(codec_encode_usage(codec, &u, &msg, &len, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(codec_decode_usage(codec, msg, len, &out, err, sizeof(err)),
                                 CODEC_OK);
        }
        before = mem.cur;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++) {
                u.quantity = i;
                assert_int_equal(codec_encode_usage(codec, &u, &msg, &len, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(codec_decode_usage(codec, msg, len, &out, err, sizeof(err)),
                                 CODEC_OK);
                assert_int_equal(out.quantity, i);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        print_message("usage record encode+decode: %.0f round trips/s (%zu bytes each)\n",
                      n / secs, len);
        /* avro-c's own size bookkeeping is off by a byte here and there (a bytes value
         * freed with its NUL counted): allow that, but not a per-message growth. */
        assert_true(mem.cur - before < 256 && before - mem.cur < 256);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(round_trip_every_command),
                cmocka_unit_test(round_trip_command_without_optionals),
                cmocka_unit_test(round_trip_every_event),
                cmocka_unit_test(round_trip_results),
                cmocka_unit_test(round_trip_usage),
                cmocka_unit_test(round_trip_invoice),
                cmocka_unit_test(matches_other_implementation),
                cmocka_unit_test(canonical_zeroes_hash_and_matches_wire),
                cmocka_unit_test(schema_evolution),
                cmocka_unit_test(newer_event_schemas),
                cmocka_unit_test(rejects_truncated_messages),
                cmocka_unit_test(rejects_bad_framing_and_schema_ids),
                cmocka_unit_test(rejects_oversize_messages),
                cmocka_unit_test(rejects_huge_string_length_without_allocating),
                cmocka_unit_test(avro_c_alone_would_allocate_the_declared_length),
                cmocka_unit_test(rejects_huge_array_counts),
                cmocka_unit_test(bounds_arrays_of_zero_size_items),
                cmocka_unit_test(rejects_bad_varints_lengths_and_trailing_bytes),
                cmocka_unit_test(rejects_bad_union_branch_and_enum_index),
                cmocka_unit_test(rejects_invalid_uuid_text_and_utf8),
                cmocka_unit_test(rejects_out_of_range_values),
                cmocka_unit_test(rejects_event_type_mismatch),
                cmocka_unit_test(rejects_unencodable_values),
                cmocka_unit_test(manifest_registry),
                cmocka_unit_test(peeks_ids_of_undecodable_commands),
                cmocka_unit_test(http_registry_failures),
                cmocka_unit_test(peeks_schema_id),
                cmocka_unit_test(reuses_memory_across_messages),
        };

        /* Before any avro-c call, so that every allocation is counted. */
        avro_set_allocator(track_alloc, NULL);
        return cmocka_run_group_tests_name("codec", tests, setup, teardown);
}
