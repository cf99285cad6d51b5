/*
 * The bad-input suite on billing.commands (issue 8; docs/hostile-input.md).
 *
 * A corpus of malformed and hostile messages (hostile_corpus.c) is published to the
 * commands topic of a running billing-commands, interleaved with a script of valid
 * commands for two accounts. The same script runs alone on a second, clean set of topics.
 * Then:
 *   - every hostile message has exactly the fate docs/commands.md gives it: a dead letter
 *     (its original bytes, a dlq_reason equal to the codec's reason) when it does not
 *     decode far enough to read its ids, else exactly one rejection result naming it;
 *     a message that decodes gets exactly one result, and when accepted its strings are
 *     in the events verbatim (SQL metacharacters included);
 *   - absurd credit times and out-of-range amounts are rejected, invalid_argument;
 *   - the valid script's results and events are those of the clean run;
 *   - the service is the same pid, answers /healthz, its memory stayed bounded, and it
 *     stops cleanly (no sanitizer report, no leak) at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_cmd_harness.h"
#include "bg_proc.h"
#include "bg_test_support.h"
#include "hostile_corpus.h"
#include "hostile_support.h"

#define CAP 65536
#define OWNER "user:owner@example.com"

enum { FATE_DLQ = 1, FATE_DECODE_REJECT, FATE_DECIDED, FATE_MUST_REJECT };

static char errstr[900];

/* ------------------------------------------------------------------ sources */

typedef struct cmd_src_s {
        codec_t *cs_codec;
        bg_uuid_t cs_account;
        bg_command_type_t cs_type;
        bg_command_t *cs_cmd;
        unsigned cs_n;
        int cs_patch_branch;            /* >= 0: payload union branch written instead */
        const hc_schema_t *cs_schema;
} cmd_src_t;

static void fill(cmd_src_t *s, bg_command_t *c) {
        s->cs_n++;
        switch (s->cs_type) {
        case BG_CMD_CREATE_BILLING_GROUP: {
                bg_cmd_create_billing_group_t *p = &c->payload.create_billing_group;
                bg_uuid_generate(&p->billing_group_id);
                snprintf(p->name, sizeof(p->name), "Hostile %u", s->cs_n);
                p->profile.present = BG_PROFILE_F_BILLING_CURRENCY | BG_PROFILE_F_COMPANY |
                                     BG_PROFILE_F_BILLING_EMAILS;
                p->profile.v.billing_currency = BG_CURRENCY_EUR;
                snprintf(p->profile.v.company, sizeof(p->profile.v.company), "Acme");
                p->profile.v.n_billing_emails = 2;
                snprintf(p->profile.v.billing_emails[0], BG_EMAIL_SIZE, "a@example.com");
                snprintf(p->profile.v.billing_emails[1], BG_EMAIL_SIZE, "b@example.com");
                break;
        }
        case BG_CMD_ASSIGN_PROJECTS: {
                bg_cmd_assign_projects_t *p = &c->payload.assign_projects;
                bg_uuid_generate(&p->billing_group_id);
                p->n_projects = 3;
                snprintf(p->project_names[0], BG_PROJECT_NAME_SIZE, "web");
                snprintf(p->project_names[1], BG_PROJECT_NAME_SIZE, "db");
                snprintf(p->project_names[2], BG_PROJECT_NAME_SIZE, "cache");
                break;
        }
        case BG_CMD_ISSUE_CREDIT: {
                bg_cmd_issue_credit_t *p = &c->payload.issue_credit;
                snprintf(c->actor, sizeof(c->actor), "service:billing");
                snprintf(p->code, sizeof(p->code), "HOSTILE-%u", s->cs_n);
                p->value = 5000000;
                p->currency = BG_CURRENCY_EUR;
                p->type = BG_CREDIT_TYPE_PROMOTION;
                p->start_time = (int64_t)time(NULL) * 1000;
                break;
        }
        default: /* DeleteProject */
                bg_uuid_generate(&c->payload.delete_project.project_id);
                break;
        }
}

static const uint8_t *fresh_cmd(void *opaque, size_t *len) {
        cmd_src_t *s = opaque;
        const uint8_t *out;
        static uint8_t *patched;
        size_t off, end;

        cmdh_command_init(s->cs_cmd, s->cs_type, &s->cs_account, OWNER);
        fill(s, s->cs_cmd);
        if (codec_encode_command(s->cs_codec, s->cs_cmd, &out, len, errstr, sizeof(errstr)) !=
            CODEC_OK)
                fail_msg("cannot encode: %s", errstr);
        if (s->cs_patch_branch < 0)
                return out;
        /* A command type this build does not know: the payload's union branch replaced
         * by one of the same layout (DeleteProject's: a UUID). */
        free(patched);
        patched = malloc(*len);
        assert_non_null(patched);
        memcpy(patched, out, *len);
        if (hc_field_span(s->cs_schema, patched, *len, "payload", &off, &end, errstr,
                          sizeof(errstr)) != 0)
                fail_msg("%s", errstr);
        assert_int_equal(patched[off], 9 << 1);
        patched[off] = (uint8_t)(s->cs_patch_branch << 1);
        return patched;
}

/* ------------------------------------------------------------------ the v2 schema */

/* command.v1.avsc with a FutureCommand appended to the payload union, registered under a
 * subject of this test's own (see docs/hostile-input.md). */
static int32_t register_v2(cmdh_t *h, char **json_out) {
        char subject[160];

        snprintf(subject, sizeof(subject), "%scommands-v2-value", h->ch_prefix);
        return hs_register_future_payload(h->ch_reg, subject, "command.v1.avsc",
                                          "FutureCommand", "project_id", json_out);
}

/* ------------------------------------------------------------------ the valid script */

#define NSCRIPT 16
typedef struct script_s {
        bg_command_t *cmds[NSCRIPT];
        size_t n;
        bg_uuid_t acct_a, acct_b;
} script_t;

static bg_command_t *next(script_t *s, bg_command_type_t t, const bg_uuid_t *acct,
                          const char *actor) {
        bg_command_t *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        assert_true(s->n < NSCRIPT);
        cmdh_command_init(c, t, acct, actor);
        s->cmds[s->n++] = c;
        return c;
}

static void make_script(script_t *s) {
        bg_uuid_t g1, g2, p1, p2, gb;
        bg_command_t *c;

        memset(s, 0, sizeof(*s));
        bg_uuid_generate(&s->acct_a);
        bg_uuid_generate(&s->acct_b);
        bg_uuid_generate(&g1);
        bg_uuid_generate(&g2);
        bg_uuid_generate(&gb);
        bg_uuid_generate(&p1);
        bg_uuid_generate(&p2);

        c = next(s, BG_CMD_CREATE_ACCOUNT, &s->acct_a, OWNER);
        snprintf(c->payload.create_account.name, BG_NAME_SIZE, "Acme Corp");
        snprintf(c->payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        c = next(s, BG_CMD_CREATE_ACCOUNT, &s->acct_b, OWNER);
        snprintf(c->payload.create_account.name, BG_NAME_SIZE, "Beta Ltd");
        snprintf(c->payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        c = next(s, BG_CMD_CREATE_BILLING_GROUP, &s->acct_a, OWNER);
        c->payload.create_billing_group.billing_group_id = g1;
        snprintf(c->payload.create_billing_group.name, BG_NAME_SIZE, "Production");
        c->payload.create_billing_group.profile.present = BG_PROFILE_F_BILLING_CURRENCY;
        c->payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
        c = next(s, BG_CMD_CREATE_BILLING_GROUP, &s->acct_a, OWNER);
        c->payload.create_billing_group.billing_group_id = g2;
        snprintf(c->payload.create_billing_group.name, BG_NAME_SIZE, "Development");
        c->payload.create_billing_group.has_copy_from = true;
        c->payload.create_billing_group.copy_from = g1;
        c = next(s, BG_CMD_CREATE_BILLING_GROUP, &s->acct_b, OWNER);
        c->payload.create_billing_group.billing_group_id = gb;
        snprintf(c->payload.create_billing_group.name, BG_NAME_SIZE, "Beta main");
        c = next(s, BG_CMD_SET_PRIMARY_BILLING_GROUP, &s->acct_a, OWNER);
        c->payload.set_primary_billing_group.billing_group_id = g1;
        c = next(s, BG_CMD_CREATE_PROJECT, &s->acct_a, OWNER);
        c->payload.create_project.project_id = p1;
        snprintf(c->payload.create_project.name, BG_PROJECT_NAME_SIZE, "web");
        c = next(s, BG_CMD_CREATE_PROJECT, &s->acct_a, OWNER);
        c->payload.create_project.project_id = p2;
        snprintf(c->payload.create_project.name, BG_PROJECT_NAME_SIZE, "db");
        c->payload.create_project.has_billing_group_id = true;
        c->payload.create_project.billing_group_id = g2;
        c = next(s, BG_CMD_ASSIGN_PROJECTS, &s->acct_a, OWNER);
        c->payload.assign_projects.billing_group_id = g1;
        c->payload.assign_projects.n_projects = 1;
        snprintf(c->payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE, "db");
        c = next(s, BG_CMD_UPDATE_BILLING_GROUP, &s->acct_a, OWNER);
        c->payload.update_billing_group.billing_group_id = g2;
        c->payload.update_billing_group.has_name = true;
        snprintf(c->payload.update_billing_group.name, BG_NAME_SIZE, "Dev");
        c = next(s, BG_CMD_ISSUE_CREDIT, &s->acct_a, "service:billing");
        snprintf(c->payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME");
        c->payload.issue_credit.value = 100000000;
        c->payload.issue_credit.currency = BG_CURRENCY_EUR;
        c->payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        c->payload.issue_credit.start_time = 1767225600000;   /* 2026-01-01 */
        c = next(s, BG_CMD_CLAIM_CREDIT, &s->acct_a, OWNER);
        c->payload.claim_credit.billing_group_id = g1;
        snprintf(c->payload.claim_credit.code, BG_CREDIT_CODE_SIZE, "WELCOME");
        c = next(s, BG_CMD_DELETE_BILLING_GROUP, &s->acct_a, OWNER);   /* primary: refused */
        c->payload.delete_billing_group.billing_group_id = g1;
        c = next(s, BG_CMD_GRANT_ROLE, &s->acct_a, OWNER);
        snprintf(c->payload.grant_role.user, BG_EMAIL_SIZE, "bob@example.com");
        c->payload.grant_role.role = BG_ROLE_VIEWER;
        c = next(s, BG_CMD_DELETE_PROJECT, &s->acct_a, OWNER);
        c->payload.delete_project.project_id = p1;
        c = next(s, BG_CMD_DELETE_BILLING_GROUP, &s->acct_b, OWNER);   /* primary? no: ok */
        c->payload.delete_billing_group.billing_group_id = gb;
}

/* Events of @acct, normalized for comparison: the envelope's time-dependent parts
 * (event_id, occurred_at, hashes) cleared, then encoded (the encoding is deterministic). */
static size_t account_events(cmdh_t *h, const bg_uuid_t *acct, uint8_t **out) {
        bg_event_t *evs = NULL;
        size_t n = cmdh_read_events(h, &evs, NULL), k = 0, total = 0;
        uint8_t *buf = NULL;

        for (size_t i = 0; i < n; i++) {
                const uint8_t *enc;
                size_t len;

                if (!bg_uuid_equal(&evs[i].account_id, acct))
                        continue;
                memset(&evs[i].event_id, 0, sizeof(evs[i].event_id));
                evs[i].occurred_at = 0;
                memset(evs[i].prev_hash, 0, sizeof(evs[i].prev_hash));
                memset(evs[i].hash, 0, sizeof(evs[i].hash));
                assert_int_equal(codec_encode_event(h->ch_codec, &evs[i], &enc, &len, errstr,
                                                    sizeof(errstr)), CODEC_OK);
                buf = realloc(buf, total + len + 8);
                assert_non_null(buf);
                memcpy(buf + total, &len, sizeof(len));
                memcpy(buf + total + sizeof(len), enc, len);
                total += len + sizeof(len);
                k++;
        }
        free(evs);
        *out = buf;
        return total + 0 * k;
}

/* ------------------------------------------------------------------ the test */

static void add_valid(hc_corpus_t *c, codec_t *codec, const bg_command_t *cmd, int fate,
                      const char *what) {
        const uint8_t *out;
        size_t len;

        if (codec_encode_command(codec, cmd, &out, &len, errstr, sizeof(errstr)) != CODEC_OK)
                fail_msg("cannot encode %s: %s", what, errstr);
        hc_add(c, out, len, "%s", what)->hm_tag = fate;
}

/* @s cut to at most @max bytes at a UTF-8 character boundary, into @dst. */
static void cut(char *dst, const char *s, size_t max) {
        size_t n = strlen(s);

        if (n > max) {
                n = max;
                while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(dst, s, n);
        dst[n] = '\0';
}

/* Valid messages: SQL metacharacters in every string field of a command for account
 * @acct (accepted and stored verbatim, or rejected with a reason), absurd issued_at
 * (informative only: decided as usual), absurd credit times and amounts (rejected). */
static void add_decodable(hc_corpus_t *c, codec_t *codec, const bg_uuid_t *acct) {
        static bg_command_t cmd;
        static const int64_t absurd[] = {INT64_MIN, -62135596800001LL, -1, 0,
                                         253402300800000LL, 9223372036854LL * 1000, INT64_MAX};
        char what[160];

        for (const char *const *s = hc_sql_strings; *s; s++) {
                bg_cmd_create_billing_group_t *p = &cmd.payload.create_billing_group;
                bg_profile_t *v = &p->profile.v;

                cmdh_command_init(&cmd, BG_CMD_CREATE_BILLING_GROUP, acct, OWNER);
                bg_uuid_generate(&p->billing_group_id);
                snprintf(p->name, sizeof(p->name), "%s", *s);
                p->profile.present = BG_PROFILE_F_ALL & ~(BG_PROFILE_F_BILLING_EMAILS |
                                                          BG_PROFILE_F_BILLING_CONTACT_EMAILS |
                                                          BG_PROFILE_F_COUNTRY_CODE |
                                                          BG_PROFILE_F_CARD_ID);
                v->billing_currency = BG_CURRENCY_EUR;
                v->payment_method = BG_PAYMENT_ACCRUAL;
                snprintf(v->billing_extra_text, sizeof(v->billing_extra_text), "%s", *s);
                snprintf(v->company, sizeof(v->company), "%s", *s);
                v->n_address_lines = 2;
                snprintf(v->address_lines[0], sizeof(v->address_lines[0]), "%s", *s);
                snprintf(v->address_lines[1], sizeof(v->address_lines[1]), "%s", *s);
                cut(v->city, *s, 30);
                cut(v->state, *s, 29);
                cut(v->zip_code, *s, 35);
                snprintf(v->vat_id, sizeof(v->vat_id), "%s", *s);
                snprintf(what, sizeof(what), "SQL metacharacters in every group field: %s", *s);
                add_valid(c, codec, &cmd, FATE_DECIDED, what);

                /* Fields with a syntax (e-mails, card id, country, actor, project names,
                 * credit codes): rejected by validation, with a reason. */
                p->profile.present = BG_PROFILE_F_BILLING_EMAILS | BG_PROFILE_F_CARD_ID |
                                     BG_PROFILE_F_COUNTRY_CODE;
                bg_uuid_generate(&cmd.command_id);
                v->n_billing_emails = 1;
                snprintf(v->billing_emails[0], BG_EMAIL_SIZE, "%s", *s);
                snprintf(v->card_id, sizeof(v->card_id), "%s", *s);
                cut(v->country_code, *s, 2);
                snprintf(what, sizeof(what), "SQL metacharacters in e-mail, card, country: %s",
                         *s);
                add_valid(c, codec, &cmd, FATE_DECIDED, what);

                cmdh_command_init(&cmd, BG_CMD_CREATE_PROJECT, acct, OWNER);
                bg_uuid_generate(&cmd.payload.create_project.project_id);
                snprintf(cmd.payload.create_project.name, BG_PROJECT_NAME_SIZE, "%s", *s);
                snprintf(what, sizeof(what), "SQL metacharacters in a project name: %s", *s);
                add_valid(c, codec, &cmd, FATE_DECIDED, what);

                cmdh_command_init(&cmd, BG_CMD_CREATE_ACCOUNT, acct, OWNER);
                snprintf(cmd.actor, sizeof(cmd.actor), "user:%s", *s);
                snprintf(cmd.payload.create_account.name, BG_NAME_SIZE, "%s", *s);
                snprintf(cmd.payload.create_account.owner, BG_EMAIL_SIZE, "%s", *s);
                snprintf(what, sizeof(what), "SQL metacharacters in actor and owner: %s", *s);
                add_valid(c, codec, &cmd, FATE_DECIDED, what);

                cmdh_command_init(&cmd, BG_CMD_ISSUE_CREDIT, acct, "service:billing");
                snprintf(cmd.payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "%s", *s);
                cmd.payload.issue_credit.value = 1000000;
                cmd.payload.issue_credit.currency = BG_CURRENCY_EUR;
                cmd.payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
                cmd.payload.issue_credit.start_time = 1767225600000;
                snprintf(what, sizeof(what), "SQL metacharacters in a credit code: %s", *s);
                add_valid(c, codec, &cmd, FATE_MUST_REJECT, what);
        }
        for (size_t i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
                bg_cmd_issue_credit_t *ic = &cmd.payload.issue_credit;

                cmdh_command_init(&cmd, BG_CMD_CREATE_BILLING_GROUP, acct, OWNER);
                cmd.issued_at = absurd[i];
                bg_uuid_generate(&cmd.payload.create_billing_group.billing_group_id);
                snprintf(cmd.payload.create_billing_group.name, BG_NAME_SIZE, "Issued %zu", i);
                snprintf(what, sizeof(what), "issued_at %lld", (long long)absurd[i]);
                add_valid(c, codec, &cmd, FATE_DECIDED, what);

                cmdh_command_init(&cmd, BG_CMD_ISSUE_CREDIT, acct, "service:billing");
                snprintf(ic->code, BG_CREDIT_CODE_SIZE, "ABSURD-START-%zu", i);
                ic->value = 1000000;
                ic->currency = BG_CURRENCY_EUR;
                ic->type = BG_CREDIT_TYPE_PROMOTION;
                ic->start_time = absurd[i];
                snprintf(what, sizeof(what), "credit start_time %lld", (long long)absurd[i]);
                add_valid(c, codec, &cmd, FATE_MUST_REJECT, what);

                if (absurd[i] > 0) {
                        bg_uuid_generate(&cmd.command_id);
                        snprintf(ic->code, BG_CREDIT_CODE_SIZE, "ABSURD-EXPIRE-%zu", i);
                        ic->start_time = 1767225600000;
                        ic->has_expire_time = true;
                        ic->expire_time = absurd[i];
                        snprintf(what, sizeof(what), "credit expire_time %lld",
                                 (long long)absurd[i]);
                        add_valid(c, codec, &cmd, FATE_MUST_REJECT, what);
                }
        }
        {
                static const int64_t values[] = {-1, 0, -999999999999999999LL, BG_CREDIT_VALUE_MAX + 1,
                                                 999999999999999999LL};
                for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                        bg_cmd_issue_credit_t *ic = &cmd.payload.issue_credit;

                        cmdh_command_init(&cmd, BG_CMD_ISSUE_CREDIT, acct, "service:billing");
                        snprintf(ic->code, BG_CREDIT_CODE_SIZE, "AMOUNT-%zu", i);
                        ic->value = values[i];
                        ic->currency = BG_CURRENCY_EUR;
                        ic->type = BG_CREDIT_TYPE_PROMOTION;
                        ic->start_time = 1767225600000;
                        snprintf(what, sizeof(what), "credit value %lld micros",
                                 (long long)values[i]);
                        add_valid(c, codec, &cmd, FATE_MUST_REJECT, what);
                }
        }
}

/* Byte-level patches of decimal, enum and union fields of IssueCredit / any command. */
static void add_patched_values(hc_corpus_t *c, const hc_src_t *credit) {
        static const uint8_t dec17[17] = {0x01};
        static const uint8_t dec9[9] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t neg9[9] = {0x80};
        static const uint8_t prec[8] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00};
        struct {
                const char *path;
                const uint8_t *p;
                size_t n;
                int64_t enum_idx;
                const char *what;
        } cases[] = {
                {"payload.value", dec17, 17, -2, "decimal of 17 bytes"},
                {"payload.value", dec9, 9, -2, "decimal beyond int64"},
                {"payload.value", neg9, 9, -2, "negative decimal beyond int64"},
                {"payload.value", prec, 8, -2, "decimal over precision 18"},
                {"payload.value", dec17, 0, -2, "empty decimal"},
                {"payload.currency", NULL, 0, 40, "currency enum index 40"},
                {"payload.currency", NULL, 0, -1, "currency enum index -1"},
                {"payload.type", NULL, 0, 1000000, "credit type enum index 10^6"},
                {"payload.start_time", NULL, 0, -3, "start_time varint of 11 bytes"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                hc_buf_t b = {0};

                if (cases[i].enum_idx == -2)
                        hc_put_bytes(&b, cases[i].p, cases[i].n);
                else if (cases[i].enum_idx == -3)
                        hc_put(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
                else
                        hc_put_long(&b, cases[i].enum_idx);
                if (hc_replace(c, credit, cases[i].path, b.b, b.n, cases[i].what, errstr,
                               sizeof(errstr)) != 1)
                        fail_msg("%s", errstr);
                hc_buf_free(&b);
        }
        /* The payload union: branch 12 (there are 12: 0..11) and -1, with a UUID after. */
        for (int64_t br = -1; br <= 12; br += 13) {
                hc_buf_t b = {0};
                hc_put_long(&b, br);
                hc_put_str(&b, "0f8fad5b-d9cb-469f-a165-70867728950e");
                if (hc_replace(c, credit, "payload", b.b, b.n, "payload union branch out of range",
                               errstr, sizeof(errstr)) != 1)
                        fail_msg("%s", errstr);
                hc_buf_free(&b);
        }
        /* expected_version: union branch 7. */
        {
                hc_buf_t b = {0};
                hc_put_long(&b, 7);
                if (hc_replace(c, credit, "expected_version", b.b, b.n,
                               "expected_version union branch 7", errstr, sizeof(errstr)) != 1)
                        fail_msg("%s", errstr);
                hc_buf_free(&b);
        }
}

typedef struct expect_s {
        int fate;
        bg_uuid_t command_id;
        char reason[1024];
} expect_t;

static void publish_msg(cmdh_t *h, const hc_msg_t *m, const bg_uuid_t *acct) {
        char key[BG_UUID_STR_LEN + 1];

        bg_uuid_format(acct, key);
        cmdh_publish_raw(h, m->hm_null_key ? NULL : key, m->hm_buf, m->hm_len);
}

static void check_verbatim(cmdh_t *h, const bg_uuid_t *acct, hc_corpus_t *c, expect_t *ex,
                           codec_t *codec, size_t *accepted) {
        bg_event_t *evs = NULL;
        size_t n = cmdh_read_events(h, &evs, NULL);
        static bg_command_t cmd;

        for (size_t i = 0; i < c->hc_n; i++) {
                bg_command_result_t res;
                bool found = false;

                if (ex[i].fate != FATE_DECIDED)
                        continue;
                assert_true(cmdh_wait_result(h, &ex[i].command_id, 1000, &res));
                if (res.outcome != BG_OUTCOME_ACCEPTED) {
                        print_message("hostile-decided \"%s\": rejected: %s\n",
                                      c->hc_msgs[i].hm_what, res.rejection.message);
                        continue;
                }
                assert_int_equal(codec_decode_command(codec, c->hc_msgs[i].hm_buf,
                                                      c->hc_msgs[i].hm_len, &cmd, errstr,
                                                      sizeof(errstr)), CODEC_OK);
                (*accepted)++;
                for (size_t k = 0; k < n; k++) {
                        const bg_event_t *e = &evs[k];
                        if (!bg_uuid_equal(&e->command_id, &cmd.command_id))
                                continue;
                        found = true;
                        if (cmd.type == BG_CMD_CREATE_BILLING_GROUP) {
                                const bg_cmd_create_billing_group_t *p =
                                        &cmd.payload.create_billing_group;
                                const bg_evt_billing_group_created_t *q =
                                        &e->payload.billing_group_created;
                                assert_int_equal(e->type, BG_EVT_BILLING_GROUP_CREATED);
                                assert_string_equal(q->name, p->name);
                                assert_string_equal(q->profile.company, p->profile.v.company);
                                assert_string_equal(q->profile.city, p->profile.v.city);
                                assert_string_equal(q->profile.vat_id, p->profile.v.vat_id);
                                assert_string_equal(q->profile.billing_extra_text,
                                                    p->profile.v.billing_extra_text);
                                assert_string_equal(q->profile.address_lines[1],
                                                    p->profile.v.address_lines[1]);
                        }
                        assert_true(bg_uuid_equal(&e->account_id, acct) ||
                                    cmd.type == BG_CMD_CREATE_ACCOUNT);
                }
                if (!found && res.first_seq <= res.last_seq)
                        fail_msg("accepted \"%s\" has no events", c->hc_msgs[i].hm_what);
        }
        free(evs);
}

static void commands_topic_hostile_corpus(void **state) {
        char *env_h[8], *env_c[8], admin_h[64], admin_c[64], prefix_h[160], prefix_c[160],
             log_h[300], log_c[300], *v2json = NULL;
        cmdh_t *h = cmdh_new("hostile-cmd", 2);
        cmdh_t *clean;
        codec_t *klass, *v2codec;
        codec_conf_t conf;
        hc_schema_t *schema, *schema_v2;
        hc_corpus_t corpus;
        script_t script;
        static bg_command_t src_cmd, acct_cmd;
        cmd_src_t s_cbg, s_assign, s_credit, s_del, s_future;
        hc_src_t src_cbg, src_assign, src_credit, src_del, src_future;
        bg_uuid_t hostile_acct;
        bg_command_result_t res, res_clean;
        expect_t *ex;
        hs_dlq_rec_t *dlq;
        hs_mem_t mem0;
        size_t ndlq, n_dlq = 0, n_rej = 0, n_dec = 0, n_must = 0, accepted = 0, k = 0;
        bool *used;
        pid_t pid_h, pid_c;
        int32_t v2id;
        const char *const strings[] = {"command_id", "account_id", "actor",
                                       "payload.billing_group_id", "payload.name", NULL};
        const char *const uuids[] = {"command_id", "account_id", "payload.billing_group_id",
                                     NULL};

        (void)state;
        /* The hostile run's service. */
        snprintf(prefix_h, sizeof(prefix_h), "BILLING_TOPIC_PREFIX=%s", h->ch_prefix);
        snprintf(admin_h, sizeof(admin_h), "BILLING_ADMIN_ADDR=127.0.0.1:%d", hs_free_port());
        env_h[0] = prefix_h;
        env_h[1] = admin_h;
        env_h[2] = "BILLING_MAX_MESSAGE_BYTES=65536";
        env_h[3] = NULL;
        pid_h = cmdh_start(h, "hostile-0", env_h);
        cmdh_log_path(h, "hostile-0", log_h, sizeof(log_h));
        v2id = register_v2(h, &v2json);

        /* The clean run's service: the same script alone. */
        clean = cmdh_new("hostile-cmd-clean", 2);
        snprintf(prefix_c, sizeof(prefix_c), "BILLING_TOPIC_PREFIX=%s", clean->ch_prefix);
        snprintf(admin_c, sizeof(admin_c), "BILLING_ADMIN_ADDR=127.0.0.1:%d", hs_free_port());
        env_c[0] = prefix_c;
        env_c[1] = admin_c;
        env_c[2] = "BILLING_MAX_MESSAGE_BYTES=65536";
        env_c[3] = NULL;
        pid_c = cmdh_start(clean, "clean-0", env_c);
        cmdh_log_path(clean, "clean-0", log_c, sizeof(log_c));

        /* The classifier: a codec like the service's (same cap). */
        codec_conf_init(&conf);
        conf.max_message_size = CAP;
        klass = codec_new(h->ch_reg, &conf, errstr, sizeof(errstr));
        assert_non_null(klass);
        {
                static char subject[160];
                snprintf(subject, sizeof(subject), "%scommands-v2-value", h->ch_prefix);
                conf.subjects[CODEC_KIND_COMMAND] = subject;
                v2codec = codec_new(h->ch_reg, &conf, errstr, sizeof(errstr));
                assert_non_null(v2codec);
        }
        schema = hc_schema_load(BG_SCHEMAS_DIR "/command.v1.avsc", errstr, sizeof(errstr));
        assert_non_null(schema);
        schema_v2 = hc_schema_parse(v2json, errstr, sizeof(errstr));
        assert_non_null(schema_v2);

        /* The hostile account, created first (accepted), so that hostile commands that
         * decode are decided against a real account. */
        bg_uuid_generate(&hostile_acct);
        cmdh_command_init(&acct_cmd, BG_CMD_CREATE_ACCOUNT, &hostile_acct, OWNER);
        snprintf(acct_cmd.payload.create_account.name, BG_NAME_SIZE, "'; DROP TABLE accounts; --");
        snprintf(acct_cmd.payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
        cmdh_publish(h, &acct_cmd);
        assert_true(cmdh_wait_result(h, &acct_cmd.command_id, 60000, &res));
        assert_int_equal(res.outcome, BG_OUTCOME_ACCEPTED);
        hs_mem(pid_h, &mem0);

        /* The corpus. */
        s_cbg = (cmd_src_t){klass, hostile_acct, BG_CMD_CREATE_BILLING_GROUP, &src_cmd, 0, -1, NULL};
        s_assign = s_cbg;
        s_assign.cs_type = BG_CMD_ASSIGN_PROJECTS;
        s_credit = s_cbg;
        s_credit.cs_type = BG_CMD_ISSUE_CREDIT;
        s_del = s_cbg;
        s_del.cs_type = BG_CMD_DELETE_PROJECT;
        s_future = s_del;
        s_future.cs_codec = v2codec;
        s_future.cs_patch_branch = 12;
        s_future.cs_schema = schema_v2;
        src_cbg = (hc_src_t){fresh_cmd, &s_cbg, schema};
        src_assign = (hc_src_t){fresh_cmd, &s_assign, schema};
        src_credit = (hc_src_t){fresh_cmd, &s_credit, schema};
        src_del = (hc_src_t){fresh_cmd, &s_del, schema};
        src_future = (hc_src_t){fresh_cmd, &s_future, schema_v2};

        hc_init(&corpus, 0xb111c0de);
        if (hc_standard(&corpus, &src_cbg, strings, uuids, NULL, CAP, errstr, sizeof(errstr)) == 0)
                fail_msg("corpus: %s", errstr);
        if (hc_huge_counts(&corpus, &src_assign, "payload.project_names", errstr,
                           sizeof(errstr)) == 0)
                fail_msg("corpus: %s", errstr);
        hc_truncations(&corpus, &src_del, 8);
        hc_with_schema_id(&corpus, &src_del, 1002, "an event's schema id");
        hc_with_schema_id(&corpus, &src_del, 1004, "a usage record's schema id");
        add_patched_values(&corpus, &src_credit);
        for (int i = 0; i < 3; i++) {
                size_t len;
                const uint8_t *m = fresh_cmd(&s_future, &len);
                hc_add(&corpus, m, len, "unknown command type FutureCommand (schema id %d)",
                       (int)v2id);
        }
        (void)src_future;
        add_decodable(&corpus, klass, &hostile_acct);

        /* Expected fates, by the contract of docs/commands.md. */
        ex = calloc(corpus.hc_n, sizeof(*ex));
        assert_non_null(ex);
        for (size_t i = 0; i < corpus.hc_n; i++) {
                hc_msg_t *m = &corpus.hc_msgs[i];
                bg_uuid_t aid;

                if (m->hm_tag != 0) {
                        ex[i].fate = m->hm_tag;
                        assert_int_equal(codec_decode_command(klass, m->hm_buf, m->hm_len,
                                                              &src_cmd, errstr, sizeof(errstr)),
                                         CODEC_OK);
                        ex[i].command_id = src_cmd.command_id;
                } else if (m->hm_len > CAP) {
                        ex[i].fate = FATE_DLQ;
                        snprintf(ex[i].reason, sizeof(ex[i].reason), "exceeds the %d-byte cap",
                                 CAP);
                } else if (codec_decode_command(klass, m->hm_buf, m->hm_len, &src_cmd, errstr,
                                                sizeof(errstr)) == CODEC_OK) {
                        fail_msg("corpus message \"%s\" decodes", m->hm_what);
                } else if (codec_peek_command_ids(klass, m->hm_buf, m->hm_len,
                                                  &ex[i].command_id, &aid, ex[i].reason,
                                                  sizeof(ex[i].reason)) == CODEC_OK) {
                        ex[i].fate = FATE_DECODE_REJECT;
                        snprintf(ex[i].reason, sizeof(ex[i].reason), "cannot decode command: %s",
                                 errstr);
                } else {
                        ex[i].fate = FATE_DLQ;
                        snprintf(ex[i].reason, sizeof(ex[i].reason), "%s", errstr);
                }
                n_dlq += ex[i].fate == FATE_DLQ;
                n_rej += ex[i].fate == FATE_DECODE_REJECT;
                n_dec += ex[i].fate == FATE_DECIDED;
                n_must += ex[i].fate == FATE_MUST_REJECT;
        }
        print_message("hostile-corpus commands: %zu messages: %zu dead letters, %zu rejected "
                      "undecodable, %zu decodable hostile (%zu must be rejected)\n",
                      corpus.hc_n, n_dlq, n_rej, n_dec + n_must, n_must);

        /* Publish: the valid script interleaved with the corpus. */
        make_script(&script);
        for (size_t i = 0; i < corpus.hc_n; i++) {
                if (i % (corpus.hc_n / NSCRIPT + 1) == 0 && k < script.n)
                        cmdh_publish(h, script.cmds[k++]);
                publish_msg(h, &corpus.hc_msgs[i], &hostile_acct);
        }
        while (k < script.n)
                cmdh_publish(h, script.cmds[k++]);
        for (size_t i = 0; i < script.n; i++) {
                cmdh_publish(clean, script.cmds[i]);
                if (!cmdh_wait_result(clean, &script.cmds[i]->command_id, 60000, &res_clean))
                        fail_msg("clean run: no result for script command %zu", i);
        }

        /* The script: the same results as alone. */
        for (size_t i = 0; i < script.n; i++) {
                if (!cmdh_wait_result(h, &script.cmds[i]->command_id, 120000, &res))
                        fail_msg("hostile run: no result for script command %zu", i);
                assert_true(cmdh_wait_result(clean, &script.cmds[i]->command_id, 1000,
                                             &res_clean));
                if (res.outcome != res_clean.outcome || res.first_seq != res_clean.first_seq ||
                    res.last_seq != res_clean.last_seq ||
                    (res.outcome == BG_OUTCOME_REJECTED &&
                     res.rejection.code != res_clean.rejection.code))
                        fail_msg("script command %zu (%s): outcome %d seqs %lld..%lld, alone "
                                 "%d %lld..%lld", i, bg_command_type_name(script.cmds[i]->type),
                                 res.outcome, (long long)res.first_seq, (long long)res.last_seq,
                                 res_clean.outcome, (long long)res_clean.first_seq,
                                 (long long)res_clean.last_seq);
        }

        /* Every hostile message that carried readable ids: exactly one result. */
        for (size_t i = 0; i < corpus.hc_n; i++) {
                if (ex[i].fate == FATE_DLQ)
                        continue;
                if (!cmdh_wait_result(h, &ex[i].command_id, 60000, &res))
                        fail_msg("no result for \"%s\"", corpus.hc_msgs[i].hm_what);
                if (ex[i].fate == FATE_DECODE_REJECT || ex[i].fate == FATE_MUST_REJECT) {
                        if (res.outcome != BG_OUTCOME_REJECTED ||
                            res.rejection.code != BG_REJECT_INVALID_ARGUMENT)
                                fail_msg("\"%s\": outcome %d code %d, want rejected "
                                         "invalid_argument", corpus.hc_msgs[i].hm_what,
                                         res.outcome, res.rejection.code);
                }
                if (ex[i].fate == FATE_DECODE_REJECT &&
                    strncmp(res.rejection.message, ex[i].reason,
                            sizeof(res.rejection.message) - 1) != 0)
                        fail_msg("\"%s\": rejection \"%s\", want \"%s\"",
                                 corpus.hc_msgs[i].hm_what, res.rejection.message, ex[i].reason);
                if (res.outcome == BG_OUTCOME_REJECTED && res.rejection.message[0] == '\0')
                        fail_msg("\"%s\": rejected without a message", corpus.hc_msgs[i].hm_what);
        }
        for (size_t i = 0; i < corpus.hc_n; i++)
                if (ex[i].fate != FATE_DLQ && cmdh_count_results(h, &ex[i].command_id, 0) != 1)
                        fail_msg("\"%s\": %zu results", corpus.hc_msgs[i].hm_what,
                                 cmdh_count_results(h, &ex[i].command_id, 0));

        /* Dead letters: one per expected, with its bytes and the codec's reason. */
        ndlq = hs_read_dlq(h->ch_topics.kt_commands_dlq, &dlq);
        hs_assert_dlq_headers(dlq, ndlq);
        used = calloc(ndlq + 1, sizeof(*used));
        assert_non_null(used);
        for (size_t i = 0; i < corpus.hc_n; i++) {
                const hc_msg_t *m = &corpus.hc_msgs[i];
                long at;

                if (ex[i].fate != FATE_DLQ)
                        continue;
                at = hs_dlq_take(dlq, ndlq, used, "billing-commands", m->hm_buf, m->hm_len);
                if (at < 0)
                        fail_msg("no dead letter for \"%s\"", m->hm_what);
                if (strstr(dlq[at].hr_reason, ex[i].reason) == NULL)
                        fail_msg("\"%s\": dlq_reason \"%s\", want \"%s\"", m->hm_what,
                                 dlq[at].hr_reason, ex[i].reason);
                if (dlq[at].hr_has_key == m->hm_null_key)
                        fail_msg("\"%s\": the dead letter lost or gained the key", m->hm_what);
        }
        if (ndlq != n_dlq)
                fail_msg("%zu dead letters, expected %zu", ndlq, n_dlq);

        /* Accepted hostile strings are in the log verbatim; the script's events are those
         * of the clean run. */
        check_verbatim(h, &hostile_acct, &corpus, ex, klass, &accepted);
        print_message("hostile-corpus commands: %zu decodable hostile commands accepted, "
                      "strings verbatim\n", accepted);
        assert_true(accepted >= 18);    /* a group per SQL string, per absurd issued_at */
        for (int a = 0; a < 2; a++) {
                uint8_t *e1, *e2;
                const bg_uuid_t *acct = a ? &script.acct_b : &script.acct_a;
                size_t n1 = account_events(h, acct, &e1), n2 = account_events(clean, acct, &e2);

                assert_true(n2 > 0);
                assert_int_equal(n1, n2);
                assert_memory_equal(e1, e2, n1);
                free(e1);
                free(e2);
        }

        hs_assert_alive_and_well(pid_h, "billing-commands", log_h, &mem0);
        hs_stop_clean(pid_h, "billing-commands", log_h);
        hs_stop_clean(pid_c, "billing-commands (clean run)", log_c);

        free(used);
        hs_dlq_free(dlq, ndlq);
        free(ex);
        for (size_t i = 0; i < script.n; i++)
                free(script.cmds[i]);
        hc_free(&corpus);
        hc_schema_free(schema);
        hc_schema_free(schema_v2);
        free(v2json);
        codec_destroy(klass);
        codec_destroy(v2codec);
        cmdh_destroy(clean);
        cmdh_destroy(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(commands_topic_hostile_corpus),
        };
        return cmocka_run_group_tests_name("hostile_commands_topic", tests, NULL, NULL);
}
