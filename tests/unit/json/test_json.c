/* bg_json: commands, results, events, profiles, usage and invoices to and from JSON,
 * strictness of the readers, and the invoice-lines CSV. Expected values are written out
 * by hand here (JSON literals, timestamps from `date -u -d ... +%s`), never computed
 * with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_json.h"

#define ID_CMD  "11111111-1111-4111-8111-111111111111"
#define ID_ACC  "22222222-2222-4222-8222-222222222222"
#define ID_BG   "33333333-3333-4333-8333-333333333333"
#define ID_BG2  "44444444-4444-4444-8444-444444444444"
#define ID_PRJ  "55555555-5555-4555-8555-555555555555"
#define ID_EVT  "66666666-6666-4666-8666-666666666666"
#define ID_USE  "77777777-7777-4777-8777-777777777777"

#define ISSUED     "2026-11-26T16:04:28Z"
#define ISSUED_MS  INT64_C(1795709068000)      /* date -u -d 2026-11-26T16:04:28Z +%s */
#define JAN1_MS    INT64_C(1767225600000)      /* 2026-01-01T00:00:00Z */
#define DEC31_MS   INT64_C(1798675200000)      /* 2026-12-31T00:00:00Z */
#define NOV1_MS    INT64_C(1793491200000)      /* 2026-11-01T00:00:00Z */
#define DEC1_MS    INT64_C(1796083200000)      /* 2026-12-01T00:00:00Z */

/* Envelope of a command document, JSON with ' for " (see js()). */
#define ENV(type, payload)                                                       \
        "{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"                  \
        "'actor':'user:a@b.c','issued_at':'" ISSUED "','type':'" type "',"       \
        "'payload':" payload "}"

/* ---- helpers ---- */

static bg_uuid_t uid(const char *s) {
        bg_uuid_t id;

        assert_true(bg_uuid_parse(s, strlen(s), &id));
        return id;
}

/* Parses JSON written with ' instead of " (the test texts contain no apostrophes). */
static json_t *js(const char *text) {
        char *t = strdup(text);
        json_error_t e;
        json_t *j;

        assert_non_null(t);
        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        j = json_loads(t, JSON_REJECT_DUPLICATES, &e);
        if (j == NULL)
                fail_msg("test JSON does not parse: %s: %s", e.text, t);
        free(t);
        return j;
}

static void assert_json_eq(json_t *got, json_t *want) {
        if (got == NULL)
                fail_msg("got NULL JSON");
        if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_SORT_KEYS);
                char *w = json_dumps(want, JSON_SORT_KEYS);

                fail_msg("JSON differs:\n got: %s\nwant: %s", g, w);
        }
}

static bg_command_t *new_cmd(bg_command_type_t type) {
        bg_command_t *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        c->command_id = uid(ID_CMD);
        c->account_id = uid(ID_ACC);
        strcpy(c->actor, "user:a@b.c");
        c->issued_at = ISSUED_MS;
        c->type = type;
        return c;
}

/* to_json(c) must equal @expected, and from_json(expected) must give back c exactly. */
static void check_command(bg_command_t *c, const char *expected) {
        json_t *want = js(expected), *got = bgj_command_to_json(c);
        bg_command_t *back = malloc(sizeof(*back));
        char err[256] = "";

        assert_json_eq(got, want);
        assert_non_null(back);
        memset(back, 0xa5, sizeof(*back));
        if (bgj_command_from_json(want, back, err, sizeof(err)) != 0)
                fail_msg("from_json failed: %s", err);
        assert_memory_equal(back, c, sizeof(*c));
        json_decref(got);
        json_decref(want);
        free(back);
        free(c);
}

/* from_json(text) must fail with an error text starting with @prefix, out zeroed. */
static void expect_cmd_error_j(json_t *j, const char *prefix) {
        bg_command_t *out = malloc(sizeof(*out));
        bg_command_t *zero = calloc(1, sizeof(*zero));
        char err[512] = "";

        assert_non_null(out);
        assert_non_null(zero);
        memset(out, 0x5a, sizeof(*out));
        assert_int_equal(bgj_command_from_json(j, out, err, sizeof(err)), -1);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
                fail_msg("error text\n  \"%s\"\ndoes not start with\n  \"%s\"", err, prefix);
        assert_memory_equal(out, zero, sizeof(*out));
        json_decref(j);
        free(out);
        free(zero);
}

static void expect_cmd_error(const char *text, const char *prefix) {
        expect_cmd_error_j(js(text), prefix);
}

/* A valid CreateBillingGroup document whose payload gets @key = @value (stolen), then
 * must fail with @prefix. */
static void expect_payload_error(const char *key, json_t *value, const char *prefix) {
        json_t *j = js(ENV("CreateBillingGroup",
                           "{'billing_group_id':'" ID_BG "','billing_group_name':'Eng'}"));

        assert_non_null(value);
        assert_int_equal(json_object_set_new(json_object_get(j, "payload"), key, value), 0);
        expect_cmd_error_j(j, prefix);
}

static char *repeat(const char *unit, size_t n) {
        size_t ul = strlen(unit);
        char *s = malloc(ul * n + 1);

        assert_non_null(s);
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * ul, unit, ul);
        s[ul * n] = '\0';
        return s;
}

/* ---- timestamps and parsing ---- */

static void time_parse_known_values(void **state) {
        static const struct { const char *s; int64_t ms; } ok[] = {
                { "2026-11-26T16:04:28Z", ISSUED_MS },
                { "2026-11-26T16:04:28.5Z", ISSUED_MS + 500 },
                { "2026-11-26T16:04:28.05Z", ISSUED_MS + 50 },
                { "2026-11-26T16:04:28.123Z", ISSUED_MS + 123 },
                { "2024-02-29T23:59:59Z", INT64_C(1709251199000) },
                { "1970-01-01T00:00:00Z", 0 },
                { "1969-12-31T23:59:59Z", -1000 },
                { "2000-03-01T00:00:00Z", INT64_C(951868800000) },
                { "0001-01-01T00:00:00Z", INT64_C(-62135596800000) },
                { "9999-12-31T23:59:59.999Z", INT64_C(253402300799999) },
        };
        int64_t ms;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                if (!bgj_time_parse(ok[i].s, strlen(ok[i].s), &ms))
                        fail_msg("rejected %s", ok[i].s);
                assert_int_equal(ms, ok[i].ms);
        }
}

static void time_parse_rejects(void **state) {
        static const char *const bad[] = {
                "",
                "2026-11-26T16:04:28",          /* no Z */
                "2026-11-26T16:04:28z",
                "2026-11-26t16:04:28Z",
                "2026-11-26 16:04:28Z",
                "2026-11-26T16:04:28+00:00",    /* UTC only, as Z */
                "2026-11-26T16:04:28.1234Z",    /* finer than ms */
                "2026-11-26T16:04:28.Z",
                "2026-11-26T16:04Z",
                "2026-02-29T00:00:00Z",         /* 2026 is no leap year */
                "1900-02-29T00:00:00Z",
                "2026-13-01T00:00:00Z",
                "2026-00-01T00:00:00Z",
                "2026-04-31T00:00:00Z",
                "2026-11-26T24:00:00Z",
                "2026-11-26T23:60:00Z",
                "2026-11-26T23:59:60Z",         /* no leap seconds */
                "0000-01-01T00:00:00Z",
                "+2026-11-26T16:04:28Z",
                "2026-11-26T16:04:28Z ",
                "1795709068000",
        };
        int64_t ms = 42;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (bgj_time_parse(bad[i], strlen(bad[i]), &ms))
                        fail_msg("accepted \"%s\"", bad[i]);
                assert_int_equal(ms, 0);
        }
        /* An embedded NUL: the length is the truth. */
        assert_false(bgj_time_parse("2026-11-26T16:04:28Z\0", 21, &ms));
        assert_false(bgj_time_parse("2026-11-26T16:0\0:28Z", 20, &ms));
}

static void time_format_known_values(void **state) {
        char buf[BGJ_TIME_STR_SIZE];

        assert_true(bgj_time_format(ISSUED_MS, buf));
        assert_string_equal(buf, "2026-11-26T16:04:28Z");
        assert_true(bgj_time_format(ISSUED_MS + 7, buf));
        assert_string_equal(buf, "2026-11-26T16:04:28.007Z");
        assert_true(bgj_time_format(-1, buf));
        assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
        assert_true(bgj_time_format(INT64_C(1709251199000), buf));
        assert_string_equal(buf, "2024-02-29T23:59:59Z");
        assert_true(bgj_time_format(INT64_C(-62135596800000), buf));
        assert_string_equal(buf, "0001-01-01T00:00:00Z");
        assert_true(bgj_time_format(INT64_C(253402300799999), buf));
        assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
        assert_false(bgj_time_format(INT64_C(253402300800000), buf));
        assert_string_equal(buf, "");
        assert_false(bgj_time_format(INT64_C(-62135596800001), buf));
        assert_false(bgj_time_format(INT64_MIN, buf));
        assert_false(bgj_time_format(INT64_MAX, buf));
}

static void parse_guards(void **state) {
        char err[256];
        const char *big = "[1,2,3]";
        json_t *j;

        j = bgj_parse("{\"a\":1}", 7, 0, err, sizeof(err));
        assert_non_null(j);
        json_decref(j);
        assert_null(bgj_parse("{\"a\":1,\"a\":2}", 13, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "duplicate"));
        assert_null(bgj_parse(big, strlen(big), 5, err, sizeof(err)));
        assert_string_equal(err, "invalid JSON: document of 7 bytes exceeds the limit of "
                            "5 bytes");
        assert_null(bgj_parse("{\"a\":\"x\\u0000y\"}", 16, 0, err, sizeof(err)));
        assert_null(bgj_parse("{\"a\":", 5, 0, err, sizeof(err)));
        assert_true(strncmp(err, "invalid JSON at line 1", 22) == 0);
        /* Invalid UTF-8 in the input: the reason stays printable ASCII. */
        assert_null(bgj_parse("{\"\xff\":1}", 7, 0, err, sizeof(err)));
        for (const char *p = err; *p; p++)
                assert_true(*p >= 0x20 && *p < 0x7f);
}

/* ---- commands: round trips of every type ---- */

static void cmd_create_account(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_CREATE_ACCOUNT);

        strcpy(c->payload.create_account.name, "Acme Oy");
        strcpy(c->payload.create_account.owner, "owner@acme.example");
        check_command(c, ENV("CreateAccount",
                             "{'account_name':'Acme Oy','owner':'owner@acme.example'}"));
}

static void cmd_grant_and_revoke_role(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_GRANT_ROLE);

        strcpy(c->payload.grant_role.user, "bob@acme.example");
        c->payload.grant_role.role = BG_ROLE_BILLING_ADMIN;
        c->has_expected_version = true;
        c->expected_version = 3;
        check_command(c, "{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'expected_version':3,'type':'GrantRole',"
                         "'payload':{'user':'bob@acme.example','role':'billing_admin'}}");

        c = new_cmd(BG_CMD_REVOKE_ROLE);
        strcpy(c->payload.revoke_role.user, "bob@acme.example");
        c->payload.revoke_role.role = BG_ROLE_VIEWER;
        check_command(c, ENV("RevokeRole", "{'user':'bob@acme.example','role':'viewer'}"));
}

static void cmd_create_billing_group_full(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_CREATE_BILLING_GROUP);
        bg_cmd_create_billing_group_t *p = &c->payload.create_billing_group;
        bg_profile_t *v = &p->profile.v;

        p->billing_group_id = uid(ID_BG);
        strcpy(p->name, "Engineering \xe2\x82\xac");       /* "Engineering €" */
        p->profile.present = BG_PROFILE_F_ALL;
        strcpy(v->billing_emails[0], "billing@acme.example");
        strcpy(v->billing_emails[1], "ap@acme.example");
        v->n_billing_emails = 2;
        strcpy(v->billing_contact_emails[0], "cfo@acme.example");
        v->n_billing_contact_emails = 1;
        strcpy(v->billing_extra_text, "PO 4711\ncost center 42");
        v->payment_method = BG_PAYMENT_CARD;
        strcpy(v->card_id, "card_123");
        strcpy(v->company, "M\xc3\xbcller GmbH");          /* "Müller GmbH" */
        strcpy(v->address_lines[0], "Hauptstr. 1");
        strcpy(v->address_lines[1], "Hinterhaus");
        v->n_address_lines = 2;
        strcpy(v->city, "Berlin");
        strcpy(v->state, "BE");
        strcpy(v->zip_code, "10115");
        strcpy(v->country_code, "DE");
        strcpy(v->vat_id, "DE123456789");
        v->billing_currency = BG_CURRENCY_EUR;
        p->has_copy_from = true;
        p->copy_from = uid(ID_BG2);
        check_command(c, ENV("CreateBillingGroup",
                "{'billing_group_id':'" ID_BG "',"
                "'billing_group_name':'Engineering \xe2\x82\xac',"
                "'billing_emails':[{'email':'billing@acme.example'},"
                "{'email':'ap@acme.example'}],"
                "'billing_contact_emails':[{'email':'cfo@acme.example'}],"
                "'billing_extra_text':'PO 4711\\ncost center 42',"
                "'payment_method':'card','card_id':'card_123',"
                "'company':'M\xc3\xbcller GmbH',"
                "'address_lines':['Hauptstr. 1','Hinterhaus'],"
                "'city':'Berlin','state':'BE','zip_code':'10115','country_code':'DE',"
                "'vat_id':'DE123456789','billing_currency':'EUR',"
                "'copy_from_billing_group':'" ID_BG2 "'}"));
}

static void cmd_create_billing_group_minimal(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_CREATE_BILLING_GROUP);

        c->payload.create_billing_group.billing_group_id = uid(ID_BG);
        strcpy(c->payload.create_billing_group.name, "Eng");
        check_command(c, ENV("CreateBillingGroup",
                             "{'billing_group_id':'" ID_BG "','billing_group_name':'Eng'}"));
}

static void cmd_update_billing_group(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_UPDATE_BILLING_GROUP);
        bg_cmd_update_billing_group_t *p = &c->payload.update_billing_group;

        /* Profile fields only; clearing the address lines and the card id. */
        p->billing_group_id = uid(ID_BG);
        p->profile.present = BG_PROFILE_F_VAT_ID | BG_PROFILE_F_BILLING_CURRENCY |
                             BG_PROFILE_F_ADDRESS_LINES | BG_PROFILE_F_CARD_ID |
                             BG_PROFILE_F_PAYMENT_METHOD;
        strcpy(p->profile.v.vat_id, "FI12345678");
        p->profile.v.billing_currency = BG_CURRENCY_JPY;
        p->profile.v.payment_method = BG_PAYMENT_NO_PAYMENT_EXPECTED;
        check_command(c, ENV("UpdateBillingGroup",
                             "{'billing_group_id':'" ID_BG "','vat_id':'FI12345678',"
                             "'billing_currency':'JPY','address_lines':[],'card_id':'',"
                             "'payment_method':'no_payment_expected'}"));

        /* The name only: no presence bits. */
        c = new_cmd(BG_CMD_UPDATE_BILLING_GROUP);
        c->payload.update_billing_group.billing_group_id = uid(ID_BG);
        c->payload.update_billing_group.has_name = true;
        strcpy(c->payload.update_billing_group.name, "Platform");
        check_command(c, ENV("UpdateBillingGroup",
                             "{'billing_group_id':'" ID_BG "',"
                             "'billing_group_name':'Platform'}"));
}

static void cmd_group_refs(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_DELETE_BILLING_GROUP);

        c->payload.delete_billing_group.billing_group_id = uid(ID_BG);
        check_command(c, ENV("DeleteBillingGroup", "{'billing_group_id':'" ID_BG "'}"));
        c = new_cmd(BG_CMD_SET_PRIMARY_BILLING_GROUP);
        c->payload.set_primary_billing_group.billing_group_id = uid(ID_BG2);
        check_command(c, ENV("SetPrimaryBillingGroup", "{'billing_group_id':'" ID_BG2 "'}"));
}

static void cmd_projects(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_CREATE_PROJECT);

        c->payload.create_project.project_id = uid(ID_PRJ);
        strcpy(c->payload.create_project.name, "web-prod");
        check_command(c, ENV("CreateProject",
                             "{'project_id':'" ID_PRJ "','project':'web-prod'}"));

        c = new_cmd(BG_CMD_CREATE_PROJECT);
        c->payload.create_project.project_id = uid(ID_PRJ);
        strcpy(c->payload.create_project.name, "web-prod");
        c->payload.create_project.has_billing_group_id = true;
        c->payload.create_project.billing_group_id = uid(ID_BG);
        check_command(c, ENV("CreateProject",
                             "{'project_id':'" ID_PRJ "','project':'web-prod',"
                             "'billing_group_id':'" ID_BG "'}"));

        c = new_cmd(BG_CMD_ASSIGN_PROJECTS);
        c->payload.assign_projects.billing_group_id = uid(ID_BG);
        strcpy(c->payload.assign_projects.project_names[0], "web-prod");
        strcpy(c->payload.assign_projects.project_names[1], "web-stage");
        strcpy(c->payload.assign_projects.project_names[2], "analytics");
        c->payload.assign_projects.n_projects = 3;
        check_command(c, ENV("AssignProjects",
                             "{'billing_group_id':'" ID_BG "',"
                             "'projects_names':['web-prod','web-stage','analytics']}"));

        c = new_cmd(BG_CMD_DELETE_PROJECT);
        c->payload.delete_project.project_id = uid(ID_PRJ);
        check_command(c, ENV("DeleteProject", "{'project_id':'" ID_PRJ "'}"));
}

static void cmd_credits(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_ISSUE_CREDIT);

        strcpy(c->actor, "service:promotions");
        strcpy(c->payload.issue_credit.code, "WELCOME-2026");
        c->payload.issue_credit.value = INT64_C(100500000);         /* 100.5 */
        c->payload.issue_credit.currency = BG_CURRENCY_EUR;
        c->payload.issue_credit.type = BG_CREDIT_TYPE_PROMOTION;
        c->payload.issue_credit.start_time = JAN1_MS;
        c->payload.issue_credit.has_expire_time = true;
        c->payload.issue_credit.expire_time = DEC31_MS + 250;
        check_command(c, "{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'service:promotions','issued_at':'" ISSUED "',"
                         "'type':'IssueCredit','payload':{'code':'WELCOME-2026',"
                         "'value':'100.500000','currency':'EUR','type':'promotion',"
                         "'start_time':'2026-01-01T00:00:00Z',"
                         "'expire_time':'2026-12-31T00:00:00.250Z'}}");

        c = new_cmd(BG_CMD_ISSUE_CREDIT);
        strcpy(c->payload.issue_credit.code, "X");
        c->payload.issue_credit.value = 1;                          /* 0.000001 */
        c->payload.issue_credit.currency = BG_CURRENCY_USD;
        c->payload.issue_credit.type = BG_CREDIT_TYPE_TRIAL_OVER;
        c->payload.issue_credit.start_time = JAN1_MS;
        check_command(c, ENV("IssueCredit",
                             "{'code':'X','value':'0.000001','currency':'USD',"
                             "'type':'trial_over','start_time':'2026-01-01T00:00:00Z'}"));

        c = new_cmd(BG_CMD_CLAIM_CREDIT);
        c->payload.claim_credit.billing_group_id = uid(ID_BG);
        strcpy(c->payload.claim_credit.code, "WELCOME-2026");
        check_command(c, ENV("ClaimCredit",
                             "{'billing_group_id':'" ID_BG "','code':'WELCOME-2026'}"));

        c = new_cmd(BG_CMD_CLAIM_CREDIT);
        c->payload.claim_credit.billing_group_id = uid(ID_BG);
        strcpy(c->payload.claim_credit.code, "WELCOME-2026");
        c->payload.claim_credit.has_project_id = true;
        c->payload.claim_credit.project_id = uid(ID_PRJ);
        check_command(c, ENV("ClaimCredit",
                             "{'billing_group_id':'" ID_BG "','code':'WELCOME-2026',"
                             "'project_id':'" ID_PRJ "'}"));
}

/* ---- commands: what the readers accept beyond the canonical form ---- */

static void cmd_lenient_forms(void **state) {
        bg_command_t *c = malloc(sizeof(*c));
        char err[256] = "";
        json_t *j;

        assert_non_null(c);
        /* Two-digit money, plain-string e-mails, upper-case UUIDs, null optionals, ms. */
        j = js("{'command_id':'11111111-1111-4111-8111-11111111111A',"
               "'account_id':'" ID_ACC "','actor':'user:a@b.c',"
               "'issued_at':'2026-11-26T16:04:28.250Z','expected_version':null,"
               "'type':'IssueCredit','payload':{'code':'C','value':'12.34',"
               "'currency':'SEK','type':'outage','start_time':'" ISSUED "',"
               "'expire_time':null}}");
        if (bgj_command_from_json(j, c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c->payload.issue_credit.value, INT64_C(12340000));
        assert_false(c->payload.issue_credit.has_expire_time);
        assert_false(c->has_expected_version);
        assert_int_equal(c->issued_at, ISSUED_MS + 250);
        assert_int_equal(c->command_id.b[15], 0x1a);
        json_decref(j);

        j = js(ENV("UpdateBillingGroup",
                   "{'billing_group_id':'" ID_BG "','billing_emails':['x@y.z',"
                   "{'email':'p@q.r'}],'billing_contact_emails':[]}"));
        if (bgj_command_from_json(j, c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c->payload.update_billing_group.profile.present,
                         BG_PROFILE_F_BILLING_EMAILS | BG_PROFILE_F_BILLING_CONTACT_EMAILS);
        assert_int_equal(c->payload.update_billing_group.profile.v.n_billing_emails, 2);
        assert_string_equal(c->payload.update_billing_group.profile.v.billing_emails[0],
                            "x@y.z");
        assert_string_equal(c->payload.update_billing_group.profile.v.billing_emails[1],
                            "p@q.r");
        assert_false(c->payload.update_billing_group.has_name);
        json_decref(j);

        /* Exactly at the limits: 128 two-byte characters, 63-byte project name. */
        {
                char *name = repeat("\xc3\xa9", BG_NAME_MAX);   /* "é" x 128 */
                char *proj = repeat("a", BG_PROJECT_NAME_MAX);

                j = js(ENV("CreateBillingGroup", "{'billing_group_id':'" ID_BG "'}"));
                json_object_set_new(json_object_get(j, "payload"), "billing_group_name",
                                    json_string(name));
                if (bgj_command_from_json(j, c, err, sizeof(err)) != 0)
                        fail_msg("%s", err);
                assert_string_equal(c->payload.create_billing_group.name, name);
                json_decref(j);
                j = js(ENV("CreateProject", "{'project_id':'" ID_PRJ "'}"));
                json_object_set_new(json_object_get(j, "payload"), "project",
                                    json_string(proj));
                if (bgj_command_from_json(j, c, err, sizeof(err)) != 0)
                        fail_msg("%s", err);
                assert_string_equal(c->payload.create_project.name, proj);
                json_decref(j);
                free(name);
                free(proj);
        }
        free(c);
}

static void cmd_assign_projects_limit(void **state) {
        bg_command_t *c = malloc(sizeof(*c));
        json_t *j = js(ENV("AssignProjects", "{'billing_group_id':'" ID_BG "'}"));
        json_t *names = json_array();
        char err[256] = "";

        assert_non_null(c);
        for (int i = 0; i < BG_ASSIGN_PROJECTS_MAX; i++)
                json_array_append_new(names, json_sprintf("p-%d", i));
        json_object_set(json_object_get(j, "payload"), "projects_names", names);
        if (bgj_command_from_json(j, c, err, sizeof(err)) != 0)
                fail_msg("%s", err);
        assert_int_equal(c->payload.assign_projects.n_projects, BG_ASSIGN_PROJECTS_MAX);
        assert_string_equal(c->payload.assign_projects.project_names[999], "p-999");
        free(c);

        json_array_append_new(names, json_string("one-too-many"));
        json_decref(names);
        expect_cmd_error_j(j, "payload.projects_names: 1001 items, at most 1000");
}

/* ---- commands: rejections ---- */

static void cmd_rejects_unknown_fields(void **state) {
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'type':'DeleteProject',"
                         "'payload':{'project_id':'" ID_PRJ "'},'priority':1}",
                         "priority: unknown field");
        expect_cmd_error(ENV("DeleteProject", "{'project_id':'" ID_PRJ "','force':true}"),
                         "payload.force: unknown field");
        /* A field of another command type is unknown here. */
        expect_cmd_error(ENV("DeleteProject", "{'project_id':'" ID_PRJ "',"
                             "'billing_group_id':'" ID_BG "'}"),
                         "payload.billing_group_id: unknown field");
        /* Profile keys only where a profile is meant; copy_from only on create. */
        expect_cmd_error(ENV("CreateProject", "{'project_id':'" ID_PRJ "','project':'p',"
                             "'vat_id':'X'}"), "payload.vat_id: unknown field");
        expect_cmd_error(ENV("UpdateBillingGroup", "{'billing_group_id':'" ID_BG "',"
                             "'copy_from_billing_group':'" ID_BG2 "'}"),
                         "payload.copy_from_billing_group: unknown field");
        expect_payload_error("billing_group_nam", json_string("x"),
                             "payload.billing_group_nam: unknown field");
        expect_payload_error("billing_emails", js("[{'email':'a@b.c'},{'mail':'d@e.f'}]"),
                             "payload.billing_emails[1].mail: unknown field");
        /* Hostile key: shown sanitized, the error text stays printable ASCII. */
        expect_payload_error("x\n\xc3\xa9\"y", json_integer(1),
                             "payload.x????y: unknown field");
        /* A key with a NUL inside is not the key it starts with. */
        {
                json_t *j = js(ENV("DeleteProject", "{}"));

                json_object_setn_new(json_object_get(j, "payload"), "project_id\0x", 12,
                                     json_string(ID_PRJ));
                expect_cmd_error_j(j, "payload.project_id: unknown field");
        }
}

static void cmd_rejects_wrong_types(void **state) {
        expect_payload_error("billing_emails",
                             js("['a@b.c','d@e.f','g@h.i',{'email':42}]"),
                             "payload.billing_emails[3].email: not a string");
        expect_payload_error("billing_emails", js("{'email':'a@b.c'}"),
                             "payload.billing_emails: not an array");
        expect_payload_error("billing_emails", js("[['a@b.c']]"),
                             "payload.billing_emails[0]: not an object");
        expect_payload_error("billing_emails", js("[{}]"),
                             "payload.billing_emails[0].email: required field is missing");
        expect_payload_error("address_lines", js("['a',7]"),
                             "payload.address_lines[1]: not a string");
        expect_payload_error("vat_id", json_null(), "payload.vat_id: not a string");
        expect_payload_error("billing_group_name", json_true(),
                             "payload.billing_group_name: not a string");
        expect_payload_error("billing_group_id", json_integer(5),
                             "payload.billing_group_id: not a string");
        expect_payload_error("payment_method", json_integer(1),
                             "payload.payment_method: not a string");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'expected_version':'3','type':'DeleteProject',"
                         "'payload':{'project_id':'" ID_PRJ "'}}",
                         "expected_version: not an integer");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'expected_version':3.0,'type':'DeleteProject',"
                         "'payload':{'project_id':'" ID_PRJ "'}}",
                         "expected_version: not an integer");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'expected_version':-1,'type':'DeleteProject',"
                         "'payload':{'project_id':'" ID_PRJ "'}}",
                         "expected_version: -1 is out of range");
        expect_cmd_error(ENV("DeleteProject", "['" ID_PRJ "']"), "payload: not an object");
        expect_cmd_error("['not','an','object']", "document: not an object");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':1795709068000,"
                         "'type':'DeleteProject','payload':{'project_id':'" ID_PRJ "'}}",
                         "issued_at: a timestamp must be an ISO-8601 UTC string");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'2026-11-26T16:04:28+01:00',"
                         "'type':'DeleteProject','payload':{'project_id':'" ID_PRJ "'}}",
                         "issued_at: invalid timestamp \"2026-11-26T16:04:28+01:00\"");
}

static void cmd_rejects_missing_fields(void **state) {
        expect_cmd_error(ENV("CreateProject", "{'project_id':'" ID_PRJ "'}"),
                         "payload.project: required field is missing");
        expect_cmd_error("{'account_id':'" ID_ACC "','actor':'user:a@b.c',"
                         "'issued_at':'" ISSUED "','type':'DeleteProject',"
                         "'payload':{'project_id':'" ID_PRJ "'}}",
                         "command_id: required field is missing");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'type':'DeleteProject'}",
                         "payload: required field is missing");
        /* null is "absent" only for optional fields. */
        expect_cmd_error(ENV("DeleteProject", "{'project_id':null}"),
                         "payload.project_id: not a string");
}

static void cmd_rejects_long_strings(void **state) {
        char *s;

        s = repeat("a", BG_NAME_MAX + 1);
        expect_payload_error("billing_group_name", json_string(s),
                             "payload.billing_group_name: too long: 129 characters, "
                             "at most 128");
        free(s);
        s = repeat("\xc3\xa9", BG_NAME_MAX + 1);
        expect_payload_error("billing_group_name", json_string(s),
                             "payload.billing_group_name: too long: 129 characters");
        free(s);
        s = repeat("x", BG_CARD_ID_MAX + 1);
        expect_payload_error("card_id", json_string(s),
                             "payload.card_id: too long: 65 bytes, at most 64");
        free(s);
        s = repeat("x", BG_EXTRA_TEXT_MAX + 1);
        expect_payload_error("billing_extra_text", json_string(s),
                             "payload.billing_extra_text: too long: 1001 characters");
        free(s);
        expect_payload_error("country_code", json_string("SWE"),
                             "payload.country_code: too long: 3 bytes, at most 2");
        s = repeat("a", BG_EMAIL_MAX + 1);
        {
                json_t *item = json_object();

                json_object_set_new(item, "email", json_string(s));
                expect_payload_error("billing_contact_emails", json_pack("[o]", item),
                                     "payload.billing_contact_emails[0].email: too long: "
                                     "255 bytes, at most 254");
        }
        free(s);
        {
                json_t *j = js(ENV("CreateProject", "{'project_id':'" ID_PRJ "'}"));

                s = repeat("p", BG_PROJECT_NAME_MAX + 1);
                json_object_set_new(json_object_get(j, "payload"), "project",
                                    json_string(s));
                expect_cmd_error_j(j, "payload.project: too long: 64 bytes, at most 63");
                free(s);
                j = js(ENV("DeleteProject", "{'project_id':'" ID_PRJ "'}"));
                s = repeat("u", BG_ACTOR_MAX + 1);
                json_object_set_new(j, "actor", json_string(s));
                expect_cmd_error_j(j, "actor: too long: 260 bytes, at most 259");
                free(s);
        }
        /* A NUL inside a string (possible when the document was built in C). */
        expect_payload_error("city", json_stringn("Ber\0lin", 7),
                             "payload.city: contains a NUL character");
}

static void cmd_rejects_bad_uuids(void **state) {
        expect_payload_error("billing_group_id", json_string("not-a-uuid"),
                             "payload.billing_group_id: invalid UUID \"not-a-uuid\"");
        expect_payload_error("copy_from_billing_group",
                             json_string("{33333333-3333-4333-8333-333333333333}"),
                             "payload.copy_from_billing_group: invalid UUID");
        expect_payload_error("billing_group_id",
                             json_string("33333333333343338333333333333333"),
                             "payload.billing_group_id: invalid UUID");
        expect_cmd_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC " ',"
                         "'actor':'user:a@b.c','issued_at':'" ISSUED "',"
                         "'type':'DeleteProject','payload':{'project_id':'" ID_PRJ "'}}",
                         "account_id: invalid UUID");
}

static void cmd_rejects_unknown_enums(void **state) {
        expect_payload_error("billing_currency", json_string("usd"),
                             "payload.billing_currency: unknown currency \"usd\" (expected "
                             "one of: AUD, CAD, CHF, DKK, EUR, GBP, JPY, NOK, NZD, SEK, SGD, "
                             "USD)");
        expect_payload_error("billing_currency", json_string("BTC"),
                             "payload.billing_currency: unknown currency \"BTC\"");
        expect_payload_error("payment_method", json_string("cash"),
                             "payload.payment_method: unknown payment method \"cash\"");
        expect_cmd_error(ENV("GrantRole", "{'user':'b@c.d','role':'owner'}"),
                         "payload.role: unknown role \"owner\" (expected one of: admin, "
                         "billing_admin, viewer)");
        expect_cmd_error(ENV("DestroyEverything", "{}"),
                         "type: unknown command type \"DestroyEverything\"");
        expect_cmd_error(ENV("IssueCredit", "{'code':'C','value':'1','currency':'EUR',"
                             "'type':'gift','start_time':'" ISSUED "'}"),
                         "payload.type: unknown credit type \"gift\"");
}

static void cmd_money_strictness(void **state) {
        static const struct { const char *value; const char *prefix; } bad[] = {
                { "'12.3456789'", "payload.value: invalid amount: 7 fraction digits, "
                                  "at most 6 allowed" },
                { "'1.0000000'", "payload.value: invalid amount: 7 fraction digits" },
                { "12.5", "payload.value: money must be a decimal string such as "
                          "\"12.34\", not a JSON number" },
                { "12", "payload.value: money must be a decimal string" },
                { "'1e3'", "payload.value: invalid amount" },
                { "'+1'", "payload.value: invalid amount" },
                { "' 1'", "payload.value: invalid amount" },
                { "'.5'", "payload.value: invalid amount" },
                { "'1,5'", "payload.value: invalid amount" },
                { "''", "payload.value: invalid amount" },
                { "'9223372036854.775808'", "payload.value: invalid amount: out of range" },
                { "'99999999999999'", "payload.value: invalid amount: out of range" },
                { "null", "payload.value: not a string" },
        };
        char text[512];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(text, sizeof(text),
                         ENV("IssueCredit", "{'code':'C','value':%s,'currency':'EUR',"
                             "'type':'trial','start_time':'" ISSUED "'}"), bad[i].value);
                expect_cmd_error(text, bad[i].prefix);
        }
}

static void cmd_to_json_refuses_bad_values(void **state) {
        bg_command_t *c = new_cmd(BG_CMD_NONE);

        assert_null(bgj_command_to_json(c));
        c->type = BG_CMD__COUNT;
        assert_null(bgj_command_to_json(c));
        c->type = BG_CMD_ISSUE_CREDIT;
        strcpy(c->payload.issue_credit.code, "C");
        c->payload.issue_credit.currency = BG_CURRENCY_UNSET;
        c->payload.issue_credit.type = BG_CREDIT_TYPE_TRIAL;
        assert_null(bgj_command_to_json(c));
        c->payload.issue_credit.currency = BG_CURRENCY_EUR;
        c->issued_at = INT64_MAX;
        assert_null(bgj_command_to_json(c));
        c->issued_at = ISSUED_MS;
        strcpy(c->payload.issue_credit.code, "\xff");   /* not UTF-8 */
        assert_null(bgj_command_to_json(c));
        assert_null(bgj_command_to_json(NULL));
        free(c);
}

/* ---- results ---- */

static void result_round_trips(void **state) {
        bg_command_result_t r, back;
        json_t *want, *got;
        char err[256];

        memset(&r, 0, sizeof(r));
        r.command_id = uid(ID_CMD);
        r.account_id = uid(ID_ACC);
        r.outcome = BG_OUTCOME_ACCEPTED;
        r.first_seq = 4;
        r.last_seq = 6;
        want = js("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                  "'outcome':'accepted','first_seq':4,'last_seq':6}");
        got = bgj_result_to_json(&r);
        assert_json_eq(got, want);
        assert_int_equal(bgj_result_from_json(want, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &r, sizeof(r));
        json_decref(got);
        json_decref(want);

        r.outcome = BG_OUTCOME_REJECTED;
        r.first_seq = r.last_seq = 0;
        r.rejection.code = BG_REJECT_FAILED_PRECONDITION;
        strcpy(r.rejection.message, "cannot delete billing group \"" ID_BG "\": "
               "2 projects are still assigned");
        want = js("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                  "'outcome':'rejected','first_seq':0,'last_seq':0,"
                  "'error':{'code':'failed_precondition','message':"
                  "'cannot delete billing group \\'" ID_BG "\\': 2 projects are still "
                  "assigned'}}");
        got = bgj_result_to_json(&r);
        assert_json_eq(got, want);
        assert_int_equal(bgj_result_from_json(want, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &r, sizeof(r));
        json_decref(got);
        json_decref(want);

        memset(&r.rejection, 0, sizeof(r.rejection));
        r.outcome = BG_OUTCOME_DUPLICATE;
        r.first_seq = 7;
        r.last_seq = 6;
        want = js("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                  "'outcome':'duplicate','first_seq':7,'last_seq':6}");
        got = bgj_result_to_json(&r);
        assert_json_eq(got, want);
        json_decref(got);
        json_decref(want);
}

static void expect_result_error(const char *text, const char *prefix) {
        bg_command_result_t out;
        json_t *j = js(text);
        char err[256] = "";

        assert_int_equal(bgj_result_from_json(j, &out, err, sizeof(err)), -1);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
                fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
        json_decref(j);
}

static void result_rejects(void **state) {
        char *msg = repeat("m", BG_REJECT_MESSAGE_SIZE);
        char text[1024];

        expect_result_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                            "'outcome':'rejected','first_seq':0,'last_seq':0}",
                            "error: required field is missing");
        expect_result_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                            "'outcome':'accepted','first_seq':1,'last_seq':1,"
                            "'error':{'code':'conflict','message':'x'}}",
                            "error: only allowed when outcome is \"rejected\"");
        expect_result_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                            "'outcome':'maybe','first_seq':1,'last_seq':1}",
                            "outcome: unknown outcome \"maybe\"");
        expect_result_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                            "'outcome':'rejected','first_seq':0,'last_seq':0,"
                            "'error':{'code':'teapot','message':'x'}}",
                            "error.code: unknown error code \"teapot\"");
        expect_result_error("{'command_id':'" ID_CMD "','account_id':'" ID_ACC "',"
                            "'outcome':'rejected','first_seq':0,'last_seq':0,"
                            "'error':{'code':'conflict','message':'x','hint':'y'}}",
                            "error.hint: unknown field");
        snprintf(text, sizeof(text), "{'command_id':'" ID_CMD "','account_id':'" ID_ACC
                 "','outcome':'rejected','first_seq':0,'last_seq':0,"
                 "'error':{'code':'conflict','message':'%s'}}", msg);
        expect_result_error(text, "error.message: too long: 256 bytes, at most 255");
        free(msg);
}

/* ---- events ---- */

static bg_event_t *new_event(bg_event_type_t type) {
        bg_event_t *ev = calloc(1, sizeof(*ev));

        assert_non_null(ev);
        ev->event_id = uid(ID_EVT);
        ev->account_id = uid(ID_ACC);
        ev->seq = 5;
        ev->type = type;
        ev->occurred_at = ISSUED_MS + 1;
        ev->command_id = uid(ID_CMD);
        strcpy(ev->actor, "user:a@b.c");
        ev->prev_hash[0] = 0xab;
        ev->prev_hash[31] = 0x01;
        for (int i = 0; i < BG_HASH_SIZE; i++)
                ev->hash[i] = (uint8_t)(0xf0 + (i & 0xf));
        return ev;
}

#define ZERO60 "000000000000000000000000000000000000000000000000000000000000"
#define HASH64 "f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

static void event_to_json_envelope_and_payloads(void **state) {
        bg_event_t *ev = new_event(BG_EVT_BILLING_GROUP_CREATED);
        bg_profile_t *p = &ev->payload.billing_group_created.profile;
        json_t *got, *want;

        ev->payload.billing_group_created.billing_group_id = uid(ID_BG);
        strcpy(ev->payload.billing_group_created.name, "Engineering");
        p->payment_method = BG_PAYMENT_EMAIL;
        p->billing_currency = BG_CURRENCY_USD;
        strcpy(p->billing_emails[0], "billing@acme.example");
        p->n_billing_emails = 1;
        got = bgj_event_to_json(ev);
        want = js("{'event_id':'" ID_EVT "','account_id':'" ID_ACC "','seq':5,"
                  "'type':'BillingGroupCreated','occurred_at':'2026-11-26T16:04:28.001Z',"
                  "'command_id':'" ID_CMD "','actor':'user:a@b.c',"
                  "'prev_hash':'ab" ZERO60 "01','hash':'" HASH64 "',"
                  "'payload':{'billing_group_id':'" ID_BG "',"
                  "'billing_group_name':'Engineering','billing_currency':'USD',"
                  "'billing_emails':[{'email':'billing@acme.example'}],"
                  "'billing_contact_emails':[],'billing_extra_text':'',"
                  "'payment_method':'email','card_id':'','company':'',"
                  "'address_lines':[],'city':'','state':'','zip_code':'',"
                  "'country_code':'','vat_id':'','copied_from_billing_group':null}}");
        assert_json_eq(got, want);
        json_decref(got);
        json_decref(want);
        free(ev);

        ev = new_event(BG_EVT_PROJECT_MOVED);
        ev->payload.project_moved.project_id = uid(ID_PRJ);
        ev->payload.project_moved.from_billing_group_id = uid(ID_BG);
        ev->payload.project_moved.to_billing_group_id = uid(ID_BG2);
        got = bgj_event_to_json(ev);
        want = js("{'project_id':'" ID_PRJ "','from_billing_group_id':'" ID_BG "',"
                  "'to_billing_group_id':'" ID_BG2 "'}");
        assert_json_eq(json_object_get(got, "payload"), want);
        assert_string_equal(json_string_value(json_object_get(got, "type")), "ProjectMoved");
        json_decref(got);
        json_decref(want);
        free(ev);

        ev = new_event(BG_EVT_BILLING_PROFILE_UPDATED);
        ev->payload.billing_profile_updated.billing_group_id = uid(ID_BG);
        ev->payload.billing_profile_updated.changed = BG_PROFILE_F_VAT_ID |
                                                      BG_PROFILE_F_BILLING_EMAILS;
        ev->payload.billing_profile_updated.profile.payment_method = BG_PAYMENT_ACCRUAL;
        ev->payload.billing_profile_updated.profile.billing_currency = BG_CURRENCY_GBP;
        strcpy(ev->payload.billing_profile_updated.profile.vat_id, "GB1");
        got = bgj_event_to_json(ev);
        want = js("['billing_emails','vat_id']");
        assert_json_eq(json_object_get(json_object_get(got, "payload"), "changed"), want);
        assert_string_equal(json_string_value(json_object_get(
                json_object_get(got, "payload"), "vat_id")), "GB1");
        json_decref(got);
        json_decref(want);
        free(ev);

        ev = new_event(BG_EVT_CREDIT_ISSUED);
        strcpy(ev->payload.credit_issued.code, "WELCOME");
        ev->payload.credit_issued.value = INT64_C(100000000);
        ev->payload.credit_issued.currency = BG_CURRENCY_EUR;
        ev->payload.credit_issued.type = BG_CREDIT_TYPE_PROMOTION;
        ev->payload.credit_issued.start_time = JAN1_MS;
        got = bgj_event_to_json(ev);
        want = js("{'code':'WELCOME','value':'100.000000','currency':'EUR',"
                  "'type':'promotion','start_time':'2026-01-01T00:00:00Z',"
                  "'expire_time':null}");
        assert_json_eq(json_object_get(got, "payload"), want);
        json_decref(got);
        json_decref(want);

        ev->type = BG_EVT_NONE;
        assert_null(bgj_event_to_json(ev));
        free(ev);
}

static void expect_describe(const bg_event_t *ev, const char *want) {
        char buf[BGJ_DESCRIBE_SIZE];
        size_t n = bgj_event_describe(ev, buf, sizeof(buf));

        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
}

static void event_descriptions(void **state) {
        bg_event_t *ev;

        ev = new_event(BG_EVT_ACCOUNT_CREATED);
        strcpy(ev->payload.account_created.name, "Acme");
        strcpy(ev->payload.account_created.owner, "owner@acme.example");
        expect_describe(ev, "Created account \"Acme\" with owner owner@acme.example");
        free(ev);

        ev = new_event(BG_EVT_ROLE_GRANTED);
        strcpy(ev->payload.role_granted.user, "bob@acme.example");
        ev->payload.role_granted.role = BG_ROLE_BILLING_ADMIN;
        expect_describe(ev, "Added member bob@acme.example as billing_admin");
        ev->payload.role_granted.previous_role = BG_ROLE_VIEWER;
        expect_describe(ev, "Changed the role of bob@acme.example from viewer to "
                        "billing_admin");
        free(ev);

        ev = new_event(BG_EVT_ROLE_REVOKED);
        strcpy(ev->payload.role_revoked.user, "bob@acme.example");
        ev->payload.role_revoked.role = BG_ROLE_ADMIN;
        expect_describe(ev, "Removed member bob@acme.example (was admin)");
        free(ev);

        ev = new_event(BG_EVT_BILLING_GROUP_CREATED);
        strcpy(ev->payload.billing_group_created.name, "Engineering");
        expect_describe(ev, "Created billing group \"Engineering\"");
        ev->payload.billing_group_created.has_copied_from = true;
        ev->payload.billing_group_created.copied_from = uid(ID_BG2);
        expect_describe(ev, "Created billing group \"Engineering\" (copied from billing "
                        "group " ID_BG2 ")");
        free(ev);

        ev = new_event(BG_EVT_BILLING_GROUP_RENAMED);
        strcpy(ev->payload.billing_group_renamed.previous_name, "Eng");
        strcpy(ev->payload.billing_group_renamed.name, "Engineering");
        expect_describe(ev, "Renamed billing group \"Eng\" to \"Engineering\"");
        free(ev);

        ev = new_event(BG_EVT_BILLING_PROFILE_UPDATED);
        ev->payload.billing_profile_updated.billing_group_id = uid(ID_BG);
        ev->payload.billing_profile_updated.changed = BG_PROFILE_F_BILLING_CURRENCY |
                                                      BG_PROFILE_F_VAT_ID |
                                                      BG_PROFILE_F_BILLING_EMAILS;
        expect_describe(ev, "Updated billing details of billing group " ID_BG
                        ": billing_emails, vat_id, billing_currency");
        free(ev);

        ev = new_event(BG_EVT_BILLING_GROUP_DELETED);
        ev->payload.billing_group_deleted.billing_group_id = uid(ID_BG);
        expect_describe(ev, "Deleted billing group " ID_BG);
        free(ev);

        ev = new_event(BG_EVT_PRIMARY_BILLING_GROUP_SET);
        ev->payload.primary_billing_group_set.billing_group_id = uid(ID_BG2);
        expect_describe(ev, "Set billing group " ID_BG2 " as the primary billing group");
        ev->payload.primary_billing_group_set.has_previous = true;
        ev->payload.primary_billing_group_set.previous = uid(ID_BG);
        expect_describe(ev, "Set billing group " ID_BG2 " as the primary billing group "
                        "(was " ID_BG ")");
        free(ev);

        ev = new_event(BG_EVT_PROJECT_CREATED);
        ev->payload.project_created.project_id = uid(ID_PRJ);
        strcpy(ev->payload.project_created.name, "web-prod");
        ev->payload.project_created.billing_group_id = uid(ID_BG);
        expect_describe(ev, "Created project \"web-prod\" in billing group " ID_BG);
        free(ev);

        ev = new_event(BG_EVT_PROJECT_MOVED);
        ev->payload.project_moved.project_id = uid(ID_PRJ);
        ev->payload.project_moved.from_billing_group_id = uid(ID_BG);
        ev->payload.project_moved.to_billing_group_id = uid(ID_BG2);
        expect_describe(ev, "Moved project " ID_PRJ " from billing group " ID_BG
                        " to billing group " ID_BG2);
        free(ev);

        ev = new_event(BG_EVT_PROJECT_DELETED);
        ev->payload.project_deleted.project_id = uid(ID_PRJ);
        ev->payload.project_deleted.billing_group_id = uid(ID_BG);
        expect_describe(ev, "Deleted project " ID_PRJ " from billing group " ID_BG);
        free(ev);

        ev = new_event(BG_EVT_CREDIT_ISSUED);
        strcpy(ev->payload.credit_issued.code, "WELCOME");
        ev->payload.credit_issued.value = INT64_C(100000000);
        ev->payload.credit_issued.currency = BG_CURRENCY_EUR;
        ev->payload.credit_issued.type = BG_CREDIT_TYPE_PROMOTION;
        ev->payload.credit_issued.start_time = JAN1_MS;
        expect_describe(ev, "Issued credit \"WELCOME\" of 100.00 EUR (promotion), valid "
                        "from 2026-01-01T00:00:00Z, no expiry");
        ev->payload.credit_issued.has_expire_time = true;
        ev->payload.credit_issued.expire_time = DEC31_MS;
        ev->payload.credit_issued.value = INT64_C(5000);            /* 0.005 JPY: inexact */
        ev->payload.credit_issued.currency = BG_CURRENCY_JPY;
        expect_describe(ev, "Issued credit \"WELCOME\" of 0.005000 JPY (promotion), valid "
                        "from 2026-01-01T00:00:00Z until 2026-12-31T00:00:00Z");
        free(ev);

        ev = new_event(BG_EVT_CREDIT_CLAIMED);
        strcpy(ev->payload.credit_claimed.code, "WELCOME");
        ev->payload.credit_claimed.billing_group_id = uid(ID_BG);
        expect_describe(ev, "Claimed credit \"WELCOME\" for billing group " ID_BG);
        ev->payload.credit_claimed.has_project_id = true;
        ev->payload.credit_claimed.project_id = uid(ID_PRJ);
        expect_describe(ev, "Claimed credit \"WELCOME\" for billing group " ID_BG
                        ", for project " ID_PRJ " only");
        ev->type = (bg_event_type_t)99;
        expect_describe(ev, "Unknown event type 99");
        free(ev);
}

static void event_describe_one_line_and_truncation(void **state) {
        bg_event_t *ev = new_event(BG_EVT_BILLING_GROUP_CREATED);
        char small[40], big[BGJ_DESCRIBE_SIZE];
        const char *want = "Created billing group \"Caf\xc3\xa9 \xc3\xa9\xc3\xa9\"";
        size_t n;

        strcpy(ev->payload.billing_group_created.name, "Line1\nLine2\r\t\x7f");
        expect_describe(ev, "Created billing group \"Line1?Line2???\"");

        strcpy(ev->payload.billing_group_created.name, "Caf\xc3\xa9 \xc3\xa9\xc3\xa9");
        n = bgj_event_describe(ev, big, sizeof(big));
        assert_string_equal(big, want);
        /* "Created billing group \"Caf" is 26 bytes, then the 2 bytes of an "é". */
        n = bgj_event_describe(ev, small, 29);
        assert_int_equal(n, strlen(want));
        assert_string_equal(small, "Created billing group \"Caf\xc3\xa9");
        n = bgj_event_describe(ev, small, 28);             /* room for half the "é" */
        assert_int_equal(n, strlen(want));
        assert_string_equal(small, "Created billing group \"Caf");
        assert_int_equal(bgj_event_describe(ev, NULL, 0), strlen(want));

        /* The longest names fit BGJ_DESCRIBE_SIZE. */
        ev->type = BG_EVT_BILLING_GROUP_RENAMED;
        {
                char *name = repeat("\xf0\x9f\x92\xb8", BG_NAME_MAX);     /* 4-byte chars */

                strcpy(ev->payload.billing_group_renamed.previous_name, name);
                strcpy(ev->payload.billing_group_renamed.name, name);
                n = bgj_event_describe(ev, big, sizeof(big));
                assert_true(n < sizeof(big));
                assert_int_equal(strlen(big), n);
                free(name);
        }
        free(ev);
}

/* ---- profiles ---- */

static void profile_to_and_from_json(void **state) {
        bg_profile_t p, back;
        json_t *got, *want;
        char err[256];

        memset(&p, 0, sizeof(p));
        p.billing_currency = BG_CURRENCY_CHF;
        p.payment_method = BG_PAYMENT_PARTNER;
        strcpy(p.billing_contact_emails[0], "c@d.e");
        p.n_billing_contact_emails = 1;
        strcpy(p.address_lines[0], "Bahnhofstrasse 1");
        p.n_address_lines = 1;
        strcpy(p.city, "Z\xc3\xbcrich");
        strcpy(p.country_code, "CH");
        want = js("{'billing_currency':'CHF','billing_emails':[],"
                  "'billing_contact_emails':[{'email':'c@d.e'}],'billing_extra_text':'',"
                  "'payment_method':'partner','card_id':'','company':'',"
                  "'address_lines':['Bahnhofstrasse 1'],'city':'Z\xc3\xbcrich','state':'',"
                  "'zip_code':'','country_code':'CH','vat_id':''}");
        got = bgj_profile_to_json(&p);
        assert_json_eq(got, want);
        assert_int_equal(bgj_profile_from_json(want, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &p, sizeof(p));
        json_decref(got);

        /* The whole-profile reader allows profile keys only. */
        json_object_set_new(want, "billing_group_name", json_string("x"));
        assert_int_equal(bgj_profile_from_json(want, &back, err, sizeof(err)), -1);
        assert_string_equal(err, "billing_group_name: unknown field");
        json_decref(want);

        /* Unset enums (unresolved profile) are null. */
        memset(&p, 0, sizeof(p));
        got = bgj_profile_to_json(&p);
        assert_true(json_is_null(json_object_get(got, "billing_currency")));
        assert_true(json_is_null(json_object_get(got, "payment_method")));
        assert_int_equal(json_object_size(got), 13);
        json_decref(got);

        assert_true(bgj_profile_is_key("vat_id"));
        assert_true(bgj_profile_is_key("billing_contact_emails"));
        assert_false(bgj_profile_is_key("billing_group_name"));
        assert_false(bgj_profile_is_key(NULL));
}

static void profile_patch_reader_ignores_other_keys(void **state) {
        bg_profile_patch_t patch;
        json_t *j = js("{'billing_group_id':'x','zip_code':'00100','state':''}");
        char err[128];

        assert_int_equal(bgj_profile_patch_from_json(j, "body", &patch, err, sizeof(err)),
                         0);
        assert_int_equal(patch.present, BG_PROFILE_F_ZIP_CODE | BG_PROFILE_F_STATE);
        assert_string_equal(patch.v.zip_code, "00100");
        json_decref(j);
        j = js("{'zip_code':5}");
        assert_int_equal(bgj_profile_patch_from_json(j, "body", &patch, err, sizeof(err)),
                         -1);
        assert_string_equal(err, "body.zip_code: not a string (an integer)");
        assert_int_equal(patch.present, 0);
        json_decref(j);
}

/* ---- usage ---- */

static void usage_round_trip(void **state) {
        codec_usage_t u, back;
        json_t *got, *want;
        char err[256] = "";

        memset(&u, 0, sizeof(u));
        u.usage_id = uid(ID_USE);
        u.project_id = uid(ID_PRJ);
        strcpy(u.service_name, "kafka-prod");
        strcpy(u.service_type, "kafka");
        strcpy(u.service_plan, "business-4");
        u.line_type = CODEC_LINE_SERVICE_CHARGE;
        u.quantity = INT64_C(1500000);
        strcpy(u.unit, "hour");
        u.has_unit_price = true;
        u.unit_price = INT64_C(1234567);
        u.currency = BG_CURRENCY_EUR;
        u.timestamp_begin = NOV1_MS;
        u.timestamp_end = NOV1_MS + 5400000;
        strcpy(u.tags[0].key, "env");
        strcpy(u.tags[0].value, "prod");
        strcpy(u.tags[1].key, "team");
        strcpy(u.tags[1].value, "data, \"core\"");
        u.n_tags = 2;
        want = js("{'usage_id':'" ID_USE "','project_id':'" ID_PRJ "',"
                  "'service_name':'kafka-prod','service_type':'kafka',"
                  "'service_plan':'business-4','line_type':'service_charge',"
                  "'quantity':'1.500000','unit':'hour','unit_price':'1.234567',"
                  "'amount':null,'currency':'EUR',"
                  "'timestamp_begin':'2026-11-01T00:00:00Z',"
                  "'timestamp_end':'2026-11-01T01:30:00Z',"
                  "'tags':{'env':'prod','team':'data, \\'core\\''}}");
        got = bgj_usage_to_json(&u);
        assert_json_eq(got, want);
        assert_int_equal(bgj_usage_from_json(want, &back, err, sizeof(err)), 0);
        assert_memory_equal(&back, &u, sizeof(u));
        json_decref(got);
        json_decref(want);

        /* Minimal input: line_type defaults to service_charge, no tags, amount only. */
        want = js("{'usage_id':'" ID_USE "','project_id':'" ID_PRJ "',"
                  "'service_name':'s','service_type':'pg','service_plan':'p',"
                  "'quantity':'0','unit':'GiB-hour','amount':'-3.5','currency':'JPY',"
                  "'timestamp_begin':'2026-11-01T00:00:00Z',"
                  "'timestamp_end':'2026-11-01T00:00:00.001Z'}");
        assert_int_equal(bgj_usage_from_json(want, &back, err, sizeof(err)), 0);
        assert_int_equal(back.line_type, CODEC_LINE_SERVICE_CHARGE);
        assert_true(back.has_amount);
        assert_int_equal(back.amount, INT64_C(-3500000));
        assert_false(back.has_unit_price);
        assert_int_equal(back.n_tags, 0);
        assert_int_equal(back.timestamp_end, NOV1_MS + 1);
        json_decref(want);
}

static void expect_usage_error(json_t *j, const char *prefix) {
        codec_usage_t out;
        char err[256] = "";

        assert_int_equal(bgj_usage_from_json(j, &out, err, sizeof(err)), -1);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
                fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
        json_decref(j);
}

static json_t *usage_doc(const char *key, json_t *value) {
        json_t *j = js("{'usage_id':'" ID_USE "','project_id':'" ID_PRJ "',"
                       "'service_name':'s','service_type':'pg','service_plan':'p',"
                       "'quantity':'1','unit':'hour','currency':'EUR',"
                       "'timestamp_begin':'2026-11-01T00:00:00Z',"
                       "'timestamp_end':'2026-11-01T01:00:00Z'}");

        json_object_set_new(j, key, value);
        return j;
}

static void usage_rejects(void **state) {
        json_t *tags = json_object();
        char *s;

        expect_usage_error(usage_doc("quantity", json_real(1.5)),
                           "quantity: money must be a decimal string");
        expect_usage_error(usage_doc("unit_price", json_string("0.0000001")),
                           "unit_price: invalid amount: 7 fraction digits");
        expect_usage_error(usage_doc("line_type", json_string("discount")),
                           "line_type: unknown line type \"discount\"");
        expect_usage_error(usage_doc("region", json_string("eu")), "region: unknown field");
        expect_usage_error(usage_doc("tags", json_pack("[s]", "a")),
                           "tags: not an object");
        expect_usage_error(usage_doc("tags", json_pack("{s:i}", "env", 1)),
                           "tags.env: not a string");
        expect_usage_error(usage_doc("tags", json_pack("{s:s}", "", "x")),
                           "tags: empty tag key");
        s = repeat("v", CODEC_TAG_VALUE_MAX + 1);
        expect_usage_error(usage_doc("tags", json_pack("{s:s}", "k", s)),
                           "tags.k: too long: 257 bytes, at most 256");
        free(s);
        s = repeat("k", CODEC_TAG_KEY_MAX + 1);
        expect_usage_error(usage_doc("tags", json_pack("{s:s}", s, "v")),
                           "tags.kkkk");
        free(s);
        for (int i = 0; i <= CODEC_TAGS_MAX; i++) {
                char k[16];

                snprintf(k, sizeof(k), "k%d", i);
                json_object_set_new(tags, k, json_string("v"));
        }
        expect_usage_error(usage_doc("tags", tags), "tags: 33 tags, at most 32");
        s = repeat("n", CODEC_SERVICE_NAME_MAX + 1);
        expect_usage_error(usage_doc("service_name", json_string(s)),
                           "service_name: too long: 129 bytes, at most 128");
        free(s);
        expect_usage_error(usage_doc("timestamp_end", json_integer(1793491200000)),
                           "timestamp_end: a timestamp must be an ISO-8601 UTC string");
}

/* ---- invoices ---- */

typedef struct inv_fx_s {
        codec_invoice_t inv;
        codec_invoice_line_t lines[3];
        codec_tag_t tags[2];
} inv_fx_t;

static void inv_fx_init(inv_fx_t *f) {
        memset(f, 0, sizeof(*f));
        strcpy(f->inv.invoice_number, "BG-3333-202611");
        f->inv.billing_group_id = uid(ID_BG);
        strcpy(f->inv.billing_group_name, "Engineering");
        f->inv.account_id = uid(ID_ACC);
        f->inv.currency = BG_CURRENCY_EUR;
        f->inv.period_begin = NOV1_MS;
        f->inv.period_end = DEC1_MS;
        f->inv.state = CODEC_INVOICE_DUE;
        f->inv.total_vat_zero = INT64_C(95000000);
        f->inv.total_inc_vat = INT64_C(117800000);
        f->inv.has_issue_date = true;
        f->inv.issue_date = DEC1_MS + 3600000;
        f->inv.revision = 2;
        f->inv.lines = f->lines;
        f->inv.n_lines = 2;

        f->lines[0].line_type = CODEC_LINE_SERVICE_CHARGE;
        strcpy(f->lines[0].description, "kafka-prod: business-4, 720 hours");
        strcpy(f->lines[0].project_name, "web-prod");
        strcpy(f->lines[0].service_name, "kafka-prod");
        strcpy(f->lines[0].service_type, "kafka");
        strcpy(f->lines[0].service_plan, "business-4");
        f->lines[0].line_total = INT64_C(105000000);
        f->lines[0].has_timestamp_begin = true;
        f->lines[0].timestamp_begin = NOV1_MS;
        f->lines[0].has_timestamp_end = true;
        f->lines[0].timestamp_end = DEC1_MS;
        strcpy(f->tags[0].key, "env");
        strcpy(f->tags[0].value, "prod");
        f->lines[0].tags = f->tags;
        f->lines[0].n_tags = 1;

        f->lines[1].line_type = CODEC_LINE_CREDIT_CONSUMPTION;
        strcpy(f->lines[1].description, "Credit WELCOME");
        f->lines[1].line_total = INT64_C(-10000000);
}

static void invoice_to_json_shape(void **state) {
        inv_fx_t f;
        json_t *got, *want;

        inv_fx_init(&f);
        got = bgj_invoice_to_json(&f.inv);
        want = js("{'invoice_number':'BG-3333-202611','billing_group_id':'" ID_BG "',"
                  "'billing_group_name':'Engineering','account_id':'" ID_ACC "',"
                  "'currency':'EUR','period_begin':'2026-11-01T00:00:00Z',"
                  "'period_end':'2026-12-01T00:00:00Z','state':'due',"
                  "'total_vat_zero':'95.000000','total_inc_vat':'117.800000',"
                  "'issue_date':'2026-12-01T01:00:00Z','due_date':null,'revision':2,"
                  "'lines':["
                  "{'line_type':'service_charge',"
                  "'description':'kafka-prod: business-4, 720 hours',"
                  "'project_name':'web-prod','service_name':'kafka-prod',"
                  "'service_type':'kafka','service_plan':'business-4',"
                  "'line_total':'105.000000','timestamp_begin':'2026-11-01T00:00:00Z',"
                  "'timestamp_end':'2026-12-01T00:00:00Z','tags':{'env':'prod'}},"
                  "{'line_type':'credit_consumption','description':'Credit WELCOME',"
                  "'project_name':null,'service_name':null,'service_type':null,"
                  "'service_plan':null,'line_total':'-10.000000','timestamp_begin':null,"
                  "'timestamp_end':null,'tags':{}}]}");
        assert_json_eq(got, want);
        json_decref(got);
        json_decref(want);

        f.inv.state = CODEC_INVOICE_UNSET;
        assert_null(bgj_invoice_to_json(&f.inv));
        f.inv.state = CODEC_INVOICE_DUE;
        f.lines[1].line_type = CODEC_LINE__COUNT;
        assert_null(bgj_invoice_to_json(&f.inv));
}

/* Runs the CSV writer into memory; returns the malloc()ed text. */
static char *csv_of(const codec_invoice_t *inv, unsigned flags, int *rc) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        assert_non_null(f);
        *rc = bgj_invoice_lines_csv_ex(inv, f, flags);
        fclose(f);
        return text;
}

#define CSV_HEADER "invoice_number,currency,line_type,description,project_name," \
                   "service_name,service_type,service_plan,line_total,"         \
                   "timestamp_begin,timestamp_end,tags\r\n"

static void invoice_csv_plain(void **state) {
        inv_fx_t f;
        char *text;
        int rc;

        inv_fx_init(&f);
        text = csv_of(&f.inv, 0, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(text, CSV_HEADER
                "BG-3333-202611,EUR,service_charge,\"kafka-prod: business-4, 720 hours\","
                "web-prod,kafka-prod,kafka,business-4,105.000000,2026-11-01T00:00:00Z,"
                "2026-12-01T00:00:00Z,\"{\"\"env\"\":\"\"prod\"\"}\"\r\n"
                "BG-3333-202611,EUR,credit_consumption,Credit WELCOME,,,,,-10.000000,,,"
                "{}\r\n");
        free(text);

        f.inv.n_lines = 0;
        text = csv_of(&f.inv, 0, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(text, CSV_HEADER);
        free(text);
}

static void invoice_csv_hostile_strings(void **state) {
        inv_fx_t f;
        char *text;
        int rc;

        inv_fx_init(&f);
        f.inv.n_lines = 3;
        strcpy(f.lines[0].description, "=HYPERLINK(\"http://evil.example\",\"x\")");
        strcpy(f.lines[0].service_name, "@SUM(A1:A9)");
        strcpy(f.lines[0].service_type, "+cmd");
        strcpy(f.lines[0].service_plan, "-2+3");
        strcpy(f.tags[0].value, "=1+1");
        strcpy(f.lines[1].description, "line one\r\nline two, \"quoted\"");
        f.lines[2].line_type = CODEC_LINE_EXTRA_CHARGE;
        strcpy(f.lines[2].description, "\tTAB lead; semi;colon 'apos' \xe2\x82\xac");
        f.lines[2].line_total = INT64_C(-1);
        text = csv_of(&f.inv, 0, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(text, CSV_HEADER
                "BG-3333-202611,EUR,service_charge,"
                "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","
                "web-prod,'@SUM(A1:A9),'+cmd,'-2+3,105.000000,2026-11-01T00:00:00Z,"
                "2026-12-01T00:00:00Z,\"{\"\"env\"\":\"\"=1+1\"\"}\"\r\n"
                "BG-3333-202611,EUR,credit_consumption,"
                "\"line one\r\nline two, \"\"quoted\"\"\",,,,,-10.000000,,,{}\r\n"
                "BG-3333-202611,EUR,extra_charge,"
                "'\tTAB lead; semi;colon 'apos' \xe2\x82\xac,,,,,-0.000001,,,{}\r\n");
        free(text);

        /* Without the guard: the text exactly as stored, still RFC 4180 quoted. */
        text = csv_of(&f.inv, BGJ_CSV_NO_FORMULA_GUARD, &rc);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(text, "\r\nBG-3333-202611,EUR,service_charge,"
                               "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","
                               "web-prod,@SUM(A1:A9),+cmd,-2+3,105.000000,"));
        assert_non_null(strstr(text, ",extra_charge,\tTAB lead;"));
        free(text);
}

static void invoice_csv_errors(void **state) {
        inv_fx_t f;
        char *text;
        int rc;
        FILE *ro;

        inv_fx_init(&f);
        f.lines[1].line_type = CODEC_LINE_UNSET;
        text = csv_of(&f.inv, 0, &rc);
        assert_int_equal(rc, -1);
        free(text);
        f.lines[1].line_type = CODEC_LINE_ROUNDING;
        f.inv.currency = BG_CURRENCY_UNSET;
        text = csv_of(&f.inv, 0, &rc);
        assert_int_equal(rc, -1);
        free(text);
        f.inv.currency = BG_CURRENCY_EUR;
        /* A stream that cannot be written. */
        ro = fopen("/dev/null", "r");
        assert_non_null(ro);
        assert_int_equal(bgj_invoice_lines_csv(&f.inv, ro), -1);
        fclose(ro);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(time_parse_known_values),
                cmocka_unit_test(time_parse_rejects),
                cmocka_unit_test(time_format_known_values),
                cmocka_unit_test(parse_guards),
                cmocka_unit_test(cmd_create_account),
                cmocka_unit_test(cmd_grant_and_revoke_role),
                cmocka_unit_test(cmd_create_billing_group_full),
                cmocka_unit_test(cmd_create_billing_group_minimal),
                cmocka_unit_test(cmd_update_billing_group),
                cmocka_unit_test(cmd_group_refs),
                cmocka_unit_test(cmd_projects),
                cmocka_unit_test(cmd_credits),
                cmocka_unit_test(cmd_lenient_forms),
                cmocka_unit_test(cmd_assign_projects_limit),
                cmocka_unit_test(cmd_rejects_unknown_fields),
                cmocka_unit_test(cmd_rejects_wrong_types),
                cmocka_unit_test(cmd_rejects_missing_fields),
                cmocka_unit_test(cmd_rejects_long_strings),
                cmocka_unit_test(cmd_rejects_bad_uuids),
                cmocka_unit_test(cmd_rejects_unknown_enums),
                cmocka_unit_test(cmd_money_strictness),
                cmocka_unit_test(cmd_to_json_refuses_bad_values),
                cmocka_unit_test(result_round_trips),
                cmocka_unit_test(result_rejects),
                cmocka_unit_test(event_to_json_envelope_and_payloads),
                cmocka_unit_test(event_descriptions),
                cmocka_unit_test(event_describe_one_line_and_truncation),
                cmocka_unit_test(profile_to_and_from_json),
                cmocka_unit_test(profile_patch_reader_ignores_other_keys),
                cmocka_unit_test(usage_round_trip),
                cmocka_unit_test(usage_rejects),
                cmocka_unit_test(invoice_to_json_shape),
                cmocka_unit_test(invoice_csv_plain),
                cmocka_unit_test(invoice_csv_hostile_strings),
                cmocka_unit_test(invoice_csv_errors),
        };
        return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
