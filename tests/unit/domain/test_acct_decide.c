/* acct_decide: every command's accepted path and every rejection, idempotency,
 * expected_version, authorization. Each accepted command is also evolved (fx_accept), so
 * the state assertions check evolve of every event too. */
#include <stdio.h>
#include <stdlib.h>

#include "domain_fixture.h"

#define G1 1
#define G2 2
#define G3 3

/* Account with owner, groups G1 (primary, EUR) and G2 (EUR), projects p1, p2 in G1. */
/* The unpacked profile of @g; two buffers in turn, so that one assertion can compare two
 * groups' profiles. */
static const bg_profile_t *prof_of(const acct_group_t *g) {
        static bg_profile_t buf[2];
        static int turn;

        turn ^= 1;
        acct_group_profile(g, &buf[turn]);
        return &buf[turn];
}

static fx_t *standard(void) {
        fx_t *fx = fx_new();

        fx_create_account(fx);
        fx_create_group(fx, G1, "Production", BG_CURRENCY_EUR);
        fx_create_group(fx, G2, "Development", BG_CURRENCY_EUR);
        fx_set_primary(fx, G1);
        fx_create_project(fx, 1, "p1", 0);
        fx_create_project(fx, 2, "p2", G1);
        return fx;
}

static bg_uuid_t gid(uint32_t n) {
        return fx_id(K_GROUP, n);
}

static bg_uuid_t pid(uint32_t n) {
        return fx_id(K_PROJECT, n);
}

/* ---- CreateAccount and the envelope ---- */

static void create_account_accepted(void **state) {
        fx_t *fx = fx_new();
        const bg_event_t *ev;

        fx_create_account(fx);
        assert_int_equal(fx->d.n_events, 1);
        ev = &fx->d.events[0];
        assert_int_equal(ev->type, BG_EVT_ACCOUNT_CREATED);
        assert_int_equal(ev->seq, 1);
        {
                bg_uuid_t e1 = fx_id(K_EVENT, 1);

                assert_true(bg_uuid_equal(&ev->event_id, &e1));
        }
        assert_string_equal(ev->payload.account_created.name, "Acme");
        assert_string_equal(ev->payload.account_created.owner, OWNER);
        assert_true(acct_exists(fx->st));
        assert_true(bg_uuid_equal(acct_account_id(fx->st), &fx->account));
        assert_string_equal(acct_name(fx->st), "Acme");
        assert_int_equal(acct_member_role(fx->st, OWNER), BG_ROLE_ADMIN);
        assert_int_equal(acct_member_role(fx->st, "OWNER@Example.com"), BG_ROLE_ADMIN);
        assert_int_equal(acct_admin_count(fx->st), 1);
        assert_false(acct_primary_group(fx->st, NULL));
        fx_free(fx);
}

static void create_account_by_service_for_any_owner(void **state) {
        fx_t *fx = fx_new();
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_SERVICE);

        FX_SET(c->payload.create_account.name, "Ünïcode Oy");
        FX_SET(c->payload.create_account.owner, "boss@example.com");
        fx_accept(fx, 1);
        assert_int_equal(acct_member_role(fx->st, "boss@example.com"), BG_ROLE_ADMIN);
        fx_free(fx);
}

static void create_account_rejections(void **state) {
        fx_t *fx = fx_new();
        bg_command_t *c;

        /* A user may create an account only for themselves. */
        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, "user:mallory@example.com");
        FX_SET(c->payload.create_account.name, "Acme");
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_reject(fx, BG_REJECT_FORBIDDEN, "another owner");

        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: must not be empty");

        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        FX_SET(c->payload.create_account.name, "   ");
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name");

        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        FX_SET(c->payload.create_account.name, "Acme");
        FX_SET(c->payload.create_account.owner, "not-an-email");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid owner");

        fx_create_account(fx);
        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        FX_SET(c->payload.create_account.name, "Again");
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "already exists");
        fx_free(fx);
}

static void name_limits_count_characters(void **state) {
        fx_t *fx = fx_new();
        bg_command_t *c;
        char *name;

        /* 128 two-byte characters: 256 bytes, within the limit of 128 characters. */
        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        name = c->payload.create_account.name;
        for (int i = 0; i < 128; i++)
                memcpy(name + 2 * i, "\xc3\xa9", 2);
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_decide(fx);
        assert_int_equal(fx->d.result.outcome, BG_OUTCOME_ACCEPTED);

        memcpy(name + 256, "x", 2);             /* 129 characters */
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: longer than 128 characters");

        memcpy(name, "Acme\x01", 6);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character");
        memcpy(name, "Acme\xc3(", 7);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "not valid UTF-8");
        memcpy(name, "\xc0\xaf", 3);            /* overlong '/' */
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "not valid UTF-8");
        memcpy(name, "\xed\xa0\x80", 4);        /* surrogate */
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "not valid UTF-8");
        memset(name, 'a', BG_NAME_SIZE);        /* no NUL */
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: not terminated");
        fx_free(fx);
}

/* Four-byte UTF-8 (U+10000..U+10FFFF) counts as one character each. Above U+10FFFF,
 * overlong forms, surrogates, cut-short sequences and bytes that cannot start a character
 * are not UTF-8 (docs/domain.md, "Strings and limits"). */
static void name_four_byte_utf8_accepted_up_to_u10ffff(void **state) {
        static const char *const not_utf8[] = {
                "\xf4\x90\x80\x80",             /* U+110000: above U+10FFFF */
                "\xf7\xbf\xbf\xbf",             /* U+1FFFFF: the most four bytes can hold */
                "\xf0\x8f\xbf\xbf",             /* U+FFFF, overlong in four bytes */
                "\xf0\x80\x80\xaf",             /* '/', overlong in four bytes */
                "\xe0\x80\xaf",                 /* '/', overlong in three bytes */
                "\xed\xbf\xbf",                 /* U+DFFF, the last surrogate */
                "\xf0\x9f\x98",                 /* U+1F600 cut short by the NUL */
                "\xf0\x9f\x98(",                /* ... by an ASCII byte */
                "\x80",                         /* a continuation byte alone */
                "\xf8\x88\x80\x80\x80",         /* a five-byte form */
                "\xf9\x80\x80\x80",             /* 0xf9 starts no character */
                "\xff",
        };
        fx_t *fx = fx_new();
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        char *name = c->payload.create_account.name;

        FX_SET(c->payload.create_account.owner, OWNER);
        for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++) {
                snprintf(name, BG_NAME_SIZE, "Acme %s", not_utf8[i]);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: not valid UTF-8");
        }
        assert_false(acct_exists(fx->st));

        /* 128 emoji: 512 bytes and 128 characters, the limit. */
        for (int i = 0; i < BG_NAME_MAX; i++)
                memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
        name[4 * BG_NAME_MAX] = '\0';
        fx_decide(fx);
        assert_int_equal(fx->d.result.outcome, BG_OUTCOME_ACCEPTED);

        /* U+1F600, the first and last four-byte code points, and U+E000 (just past the
         * surrogates). */
        FX_SET(c->payload.create_account.name,
               "Smile \xf0\x9f\x98\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xee\x80\x80");
        fx_accept(fx, 1);
        assert_string_equal(acct_name(fx->st),
                            "Smile \xf0\x9f\x98\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xee\x80\x80");
        fx_free(fx);
}

static void command_on_missing_account_not_found(void **state) {
        fx_t *fx = fx_new();
        bg_command_t *c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_SERVICE);

        c->payload.set_primary_billing_group.billing_group_id = gid(G1);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "account 01000000-0000-4000-8000-000000000001 not found");
        fx_free(fx);
}

/* A nil account_id is refused before the account is looked up. Only an empty state can
 * see it: the state of an account answers another account's command with ACCT_ERR_ARG. */
static void nil_account_id_rejected(void **state) {
        fx_t *fx = fx_new();
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);

        FX_SET(c->payload.create_account.name, "Acme");
        FX_SET(c->payload.create_account.owner, OWNER);
        c->account_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid account_id: must not be nil");
        assert_false(acct_exists(fx->st));
        assert_int_equal(acct_command_count(fx->st), 0);

        /* Not not_found: the id is checked first. */
        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = gid(G1);
        c->account_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid account_id: must not be nil");
        assert_false(acct_exists(fx->st));
        fx_free(fx);
}

static void envelope_rejections(void **state) {
        static const char *const bad_actors[] = {
                "", "owner@example.com", "user:", "user:nope", "service:", "service:UPPER",
                "admin:root", "user:owner@example.com ",
        };
        fx_t *fx = standard();
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = gid(G2);
        memset(&c->command_id, 0, sizeof(c->command_id));
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid command_id");

        c = fx_cmd(fx, BG_CMD_NONE, ACT_OWNER);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "unknown command type");
        c = fx_cmd(fx, BG_CMD__COUNT, ACT_OWNER);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "unknown command type");

        for (size_t i = 0; i < sizeof(bad_actors) / sizeof(bad_actors[0]); i++) {
                c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, bad_actors[i]);
                c->payload.set_primary_billing_group.billing_group_id = gid(G2);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid actor");
        }
        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        memset(c->actor, 'a', sizeof(c->actor));        /* no NUL */
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid actor");

        /* Well-formed but not listed in the ctx: not trusted. */
        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, "service:intruder");
        c->payload.set_primary_billing_group.billing_group_id = gid(G2);
        fx_reject(fx, BG_REJECT_FORBIDDEN, "not a trusted service principal");
        fx_free(fx);
}

/* Service names: 1..64 of [a-z0-9._-]. A well-formed name that is not listed in the
 * ctx is forbidden; a malformed one is invalid. NULL entries of the list are skipped. */
static void service_actor_name_rules(void **state) {
        static const char *const listed[] = {
                NULL, "service:billing-2.eu_west", NULL,
        };
        fx_t *fx = standard();
        bg_command_t *c;
        char actor[BG_ACTOR_SIZE];

        memcpy(actor, "service:", 8);
        memset(actor + 8, 'a', BG_SERVICE_NAME_MAX + 1);
        actor[8 + BG_SERVICE_NAME_MAX + 1] = '\0';
        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, actor);        /* 65 characters */
        c->payload.set_primary_billing_group.billing_group_id = gid(G2);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid actor");
        c->actor[8 + BG_SERVICE_NAME_MAX] = '\0';                       /* 64: well-formed */
        fx_reject(fx, BG_REJECT_FORBIDDEN, "is not a trusted service principal");
        FX_SET(c->actor, "service:a~b");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid actor");
        FX_SET(c->actor, "service:a{");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid actor");

        FX_SET(c->actor, "service:billing-2.eu_west");
        fx_reject(fx, BG_REJECT_FORBIDDEN, "is not a trusted service principal");
        fx->ctx.service_principals = listed;
        fx->ctx.n_service_principals = sizeof(listed) / sizeof(listed[0]);
        fx_accept(fx, 1);
        fx_free(fx);
}

static void caller_errors(void **state) {
        fx_t *fx = standard();
        acct_ctx_t ctx = fx->ctx;
        acct_state_t *other = acct_state_new();
        bg_command_t *c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);

        c->payload.set_primary_billing_group.billing_group_id = gid(G2);
        ctx.new_event_id = NULL;
        assert_int_equal(acct_decide(fx->st, c, &ctx, &fx->d), ACCT_ERR_ARG);
        assert_int_equal(fx->d.n_events, 0);
        assert_int_equal(acct_decide(NULL, c, &fx->ctx, &fx->d), ACCT_ERR_ARG);
        assert_int_equal(acct_decide(fx->st, NULL, &fx->ctx, &fx->d), ACCT_ERR_ARG);
        assert_int_equal(acct_decide(fx->st, c, &fx->ctx, NULL), ACCT_ERR_ARG);
        assert_int_equal(acct_decide(fx->st, c, NULL, &fx->d), ACCT_ERR_ARG);
        /* A count of service principals without the list. */
        ctx = fx->ctx;
        ctx.service_principals = NULL;
        assert_int_equal(acct_decide(fx->st, c, &ctx, &fx->d), ACCT_ERR_ARG);
        assert_int_equal(fx->d.n_events, 0);
        /* No list at all is fine: users only. */
        ctx.n_service_principals = 0;
        assert_int_equal(acct_decide(fx->st, c, &ctx, &fx->d), ACCT_OK);
        assert_int_equal(fx->d.result.outcome, BG_OUTCOME_ACCEPTED);
        /* The state of another account. */
        c->account_id = fx_id(K_ACCOUNT, 2);
        assert_int_equal(acct_decide(fx->st, c, &fx->ctx, &fx->d), ACCT_ERR_ARG);
        /* For an empty state any account id goes (the account does not exist yet). */
        assert_int_equal(acct_decide(other, c, &fx->ctx, &fx->d), ACCT_OK);
        assert_int_equal(fx->d.result.rejection.code, BG_REJECT_NOT_FOUND);
        acct_state_destroy(other);
        acct_state_destroy(NULL);
        acct_decision_clear(NULL);
        fx_free(fx);
}

/* ---- expected_version and idempotency ---- */

static void expected_version(void **state) {
        fx_t *fx = standard();
        int64_t v = acct_version(fx->st);
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = gid(G2);
        c->has_expected_version = true;
        c->expected_version = v - 1;
        fx_reject(fx, BG_REJECT_CONFLICT, "is at version 6, the command expected 5");
        c->expected_version = v + 1;
        fx_reject(fx, BG_REJECT_CONFLICT, NULL);
        c->expected_version = v;
        fx_accept(fx, 1);

        /* CreateAccount against the empty state expects version 0. */
        fx_free(fx);
        fx = fx_new();
        c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);
        FX_SET(c->payload.create_account.name, "Acme");
        FX_SET(c->payload.create_account.owner, OWNER);
        c->has_expected_version = true;
        c->expected_version = 3;
        fx_reject(fx, BG_REJECT_CONFLICT, NULL);
        c->expected_version = 0;
        fx_accept(fx, 1);
        fx_free(fx);
}

static void duplicate_answers_original_range(void **state) {
        fx_t *fx = standard();
        bg_command_t *c, saved;
        int64_t v;

        fx_create_project(fx, 3, "p3", G2);
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        c->payload.assign_projects.billing_group_id = gid(G2);
        c->payload.assign_projects.n_projects = 3;
        FX_SET(c->payload.assign_projects.project_names[0], "p1");
        FX_SET(c->payload.assign_projects.project_names[1], "p3");  /* already there */
        FX_SET(c->payload.assign_projects.project_names[2], "p2");
        v = acct_version(fx->st);
        fx_accept(fx, 2);
        saved = *c;

        /* More happens, then the same command arrives again (with a now stale
         * expected_version and even a different payload: the id decides). */
        fx_create_project(fx, 4, "p4", G1);
        *fx->cmd = saved;
        fx->cmd->has_expected_version = true;
        fx->cmd->expected_version = 1;
        fx->cmd->payload.assign_projects.billing_group_id = gid(G1);
        fx_decide(fx);
        assert_int_equal(fx->d.result.outcome, BG_OUTCOME_DUPLICATE);
        assert_int_equal(fx->d.result.first_seq, v + 1);
        assert_int_equal(fx->d.result.last_seq, v + 2);
        assert_int_equal(fx->d.n_events, 0);
        assert_int_equal(fx->d.result.rejection.code, BG_REJECT_NONE);
        assert_true(acct_command_seqs(fx->st, &saved.command_id, NULL, NULL));
        /* A duplicate of the very first command (CreateAccount). */
        fx->cmd->command_id = fx_id(K_COMMAND, 1);
        fx->cmd->type = BG_CMD_CREATE_ACCOUNT;
        fx_decide(fx);
        assert_int_equal(fx->d.result.outcome, BG_OUTCOME_DUPLICATE);
        assert_int_equal(fx->d.result.first_seq, 1);
        assert_int_equal(fx->d.result.last_seq, 1);
        fx_free(fx);
}

static void rejected_and_empty_commands_are_not_remembered(void **state) {
        fx_t *fx = standard();
        size_t n = acct_command_count(fx->st);
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = gid(G1);
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, NULL);
        /* Retrying a rejected command decides it again. */
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, NULL);

        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = gid(G1);
        fx_accept(fx, 0);
        assert_int_equal(fx->d.result.first_seq, acct_version(fx->st) + 1);
        assert_int_equal(fx->d.result.last_seq, acct_version(fx->st));
        assert_int_equal(acct_command_count(fx->st), n);
        fx_free(fx);
}

/* ---- roles ---- */

static void grant_role(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;

        fx_grant(fx, "ann@example.com", BG_ROLE_VIEWER);
        assert_int_equal(fx->d.events[0].type, BG_EVT_ROLE_GRANTED);
        assert_int_equal(fx->d.events[0].payload.role_granted.previous_role, BG_ROLE_NONE);
        assert_int_equal(acct_member_role(fx->st, "ann@example.com"), BG_ROLE_VIEWER);

        fx_grant(fx, "Ann@Example.com", BG_ROLE_ADMIN);     /* same member, new role */
        assert_int_equal(fx->d.events[0].payload.role_granted.previous_role, BG_ROLE_VIEWER);
        assert_int_equal(acct_member_role(fx->st, "ann@example.com"), BG_ROLE_ADMIN);
        assert_int_equal(acct_member_count(fx->st), 2);
        assert_int_equal(acct_admin_count(fx->st), 2);

        c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);
        FX_SET(c->payload.grant_role.user, "ann@example.com");
        c->payload.grant_role.role = BG_ROLE_ADMIN;
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "already has role admin");

        c->payload.grant_role.role = BG_ROLE_NONE;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid role");
        c->payload.grant_role.role = BG_ROLE__COUNT;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid role");

        /* Demote the owner while ann is admin: fine. Then ann is the last admin. */
        fx_grant(fx, OWNER, BG_ROLE_BILLING_ADMIN);
        c = fx_cmd(fx, BG_CMD_GRANT_ROLE, "user:ann@example.com");
        FX_SET(c->payload.grant_role.user, "ann@example.com");
        c->payload.grant_role.role = BG_ROLE_VIEWER;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "last admin");
        assert_int_equal(acct_admin_count(fx->st), 1);
        fx_free(fx);
}

static void revoke_role(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;

        fx_grant(fx, "ann@example.com", BG_ROLE_BILLING_ADMIN);
        fx_grant(fx, "bob@example.com", BG_ROLE_VIEWER);

        c = fx_cmd(fx, BG_CMD_REVOKE_ROLE, ACT_OWNER);
        FX_SET(c->payload.revoke_role.user, "ann@example.com");
        c->payload.revoke_role.role = BG_ROLE_VIEWER;
        fx_reject(fx, BG_REJECT_NOT_FOUND, "does not have role viewer");
        c->payload.revoke_role.role = BG_ROLE_BILLING_ADMIN;
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_ROLE_REVOKED);
        assert_int_equal(acct_member_role(fx->st, "ann@example.com"), BG_ROLE_NONE);
        assert_int_equal(acct_member_count(fx->st), 2);
        assert_string_equal(acct_member_at(fx->st, 1)->user, "bob@example.com");
        fx_renew(fx);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "is not a member");

        c = fx_cmd(fx, BG_CMD_REVOKE_ROLE, ACT_OWNER);
        FX_SET(c->payload.revoke_role.user, OWNER);
        c->payload.revoke_role.role = BG_ROLE_ADMIN;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION,
                  "cannot revoke role admin from user \"owner@example.com\": it is the last admin");

        /* With a second admin the owner may leave. */
        fx_grant(fx, "bob@example.com", BG_ROLE_ADMIN);
        c = fx_cmd(fx, BG_CMD_REVOKE_ROLE, ACT_OWNER);
        FX_SET(c->payload.revoke_role.user, OWNER);
        c->payload.revoke_role.role = BG_ROLE_ADMIN;
        fx_accept(fx, 1);
        assert_int_equal(acct_admin_count(fx->st), 1);
        assert_int_equal(acct_member_role(fx->st, OWNER), BG_ROLE_NONE);
        fx_free(fx);
}

/* ---- authorization ---- */

/* One command of each type, built so that it would be accepted when authorized. */
static void build_probe(fx_t *fx, bg_command_type_t type, const char *actor) {
        bg_command_t *c = fx_cmd(fx, type, actor);

        switch (type) {
        case BG_CMD_GRANT_ROLE:
                FX_SET(c->payload.grant_role.user, "new@example.com");
                c->payload.grant_role.role = BG_ROLE_VIEWER;
                break;
        case BG_CMD_REVOKE_ROLE:
                FX_SET(c->payload.revoke_role.user, "victim@example.com");
                c->payload.revoke_role.role = BG_ROLE_VIEWER;
                break;
        case BG_CMD_CREATE_BILLING_GROUP:
                c->payload.create_billing_group.billing_group_id = gid(9);
                FX_SET(c->payload.create_billing_group.name, "New");
                break;
        case BG_CMD_UPDATE_BILLING_GROUP:
                c->payload.update_billing_group.billing_group_id = gid(G2);
                c->payload.update_billing_group.has_name = true;
                FX_SET(c->payload.update_billing_group.name, "Renamed");
                break;
        case BG_CMD_DELETE_BILLING_GROUP:
                c->payload.delete_billing_group.billing_group_id = gid(G3);
                break;
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                c->payload.set_primary_billing_group.billing_group_id = gid(G2);
                break;
        case BG_CMD_CREATE_PROJECT:
                c->payload.create_project.project_id = pid(9);
                FX_SET(c->payload.create_project.name, "new-project");
                break;
        case BG_CMD_ASSIGN_PROJECTS:
                c->payload.assign_projects.billing_group_id = gid(G2);
                c->payload.assign_projects.n_projects = 1;
                FX_SET(c->payload.assign_projects.project_names[0], "p1");
                break;
        case BG_CMD_DELETE_PROJECT:
                c->payload.delete_project.project_id = pid(2);
                break;
        case BG_CMD_ISSUE_CREDIT:
                FX_SET(c->payload.issue_credit.code, "NEW-CODE");
                c->payload.issue_credit.value = 1000000;
                c->payload.issue_credit.currency = BG_CURRENCY_EUR;
                c->payload.issue_credit.type = BG_CREDIT_TYPE_OUTAGE;
                c->payload.issue_credit.start_time = NOW_MS;
                break;
        case BG_CMD_CLAIM_CREDIT:
                c->payload.claim_credit.billing_group_id = gid(G1);
                FX_SET(c->payload.claim_credit.code, "WELCOME");
                break;
        default:
                fail_msg("no probe for %d", (int)type);
        }
}

static void authorization_matrix(void **state) {
        static const struct {
                const char *actor;
                bool may[BG_CMD__COUNT];        /* indexed by command type */
        } who[] = {
                { ACT_OWNER,                  /* admin */
                  { [BG_CMD_GRANT_ROLE] = 1, [BG_CMD_REVOKE_ROLE] = 1,
                    [BG_CMD_CREATE_BILLING_GROUP] = 1, [BG_CMD_UPDATE_BILLING_GROUP] = 1,
                    [BG_CMD_DELETE_BILLING_GROUP] = 1, [BG_CMD_SET_PRIMARY_BILLING_GROUP] = 1,
                    [BG_CMD_CREATE_PROJECT] = 1, [BG_CMD_ASSIGN_PROJECTS] = 1,
                    [BG_CMD_DELETE_PROJECT] = 1, [BG_CMD_CLAIM_CREDIT] = 1 } },
                { "user:billing@example.com", /* billing_admin */
                  { [BG_CMD_CREATE_BILLING_GROUP] = 1, [BG_CMD_UPDATE_BILLING_GROUP] = 1,
                    [BG_CMD_DELETE_BILLING_GROUP] = 1, [BG_CMD_SET_PRIMARY_BILLING_GROUP] = 1,
                    [BG_CMD_CREATE_PROJECT] = 1, [BG_CMD_ASSIGN_PROJECTS] = 1,
                    [BG_CMD_DELETE_PROJECT] = 1, [BG_CMD_CLAIM_CREDIT] = 1 } },
                { "user:viewer@example.com", { 0 } },
                { "user:stranger@example.com", { 0 } },
                { "service:credits",
                  { [BG_CMD_GRANT_ROLE] = 1, [BG_CMD_REVOKE_ROLE] = 1,
                    [BG_CMD_CREATE_BILLING_GROUP] = 1, [BG_CMD_UPDATE_BILLING_GROUP] = 1,
                    [BG_CMD_DELETE_BILLING_GROUP] = 1, [BG_CMD_SET_PRIMARY_BILLING_GROUP] = 1,
                    [BG_CMD_CREATE_PROJECT] = 1, [BG_CMD_ASSIGN_PROJECTS] = 1,
                    [BG_CMD_DELETE_PROJECT] = 1, [BG_CMD_ISSUE_CREDIT] = 1,
                    [BG_CMD_CLAIM_CREDIT] = 1 } },
        };
        fx_t *fx = standard();

        fx_create_group(fx, G3, "Empty", BG_CURRENCY_EUR);
        fx_grant(fx, "billing@example.com", BG_ROLE_BILLING_ADMIN);
        fx_grant(fx, "viewer@example.com", BG_ROLE_VIEWER);
        fx_grant(fx, "victim@example.com", BG_ROLE_VIEWER);
        fx_issue_credit(fx, "WELCOME", 5000000, BG_CURRENCY_EUR);

        for (size_t w = 0; w < sizeof(who) / sizeof(who[0]); w++) {
                for (int t = BG_CMD_GRANT_ROLE; t < BG_CMD__COUNT; t++) {
                        acct_decision_t *d;

                        build_probe(fx, (bg_command_type_t)t, who[w].actor);
                        d = fx_decide(fx);
                        if (who[w].may[t] && d->result.outcome != BG_OUTCOME_ACCEPTED)
                                fail_msg("%s should be allowed %s: %s", who[w].actor,
                                         bg_command_type_name((bg_command_type_t)t),
                                         d->result.rejection.message);
                        if (!who[w].may[t]) {
                                if (d->result.outcome != BG_OUTCOME_REJECTED ||
                                    d->result.rejection.code != BG_REJECT_FORBIDDEN)
                                        fail_msg("%s should be forbidden %s",
                                                 who[w].actor,
                                                 bg_command_type_name((bg_command_type_t)t));
                                assert_int_equal(d->n_events, 0);
                        }
                }
        }
        /* The messages say who and why. */
        build_probe(fx, BG_CMD_GRANT_ROLE, "user:viewer@example.com");
        fx_reject(fx, BG_REJECT_FORBIDDEN,
                  "user \"viewer@example.com\" may not GrantRole on account "
                  "01000000-0000-4000-8000-000000000001: role viewer does not allow it");
        build_probe(fx, BG_CMD_CLAIM_CREDIT, "user:stranger@example.com");
        fx_reject(fx, BG_REJECT_FORBIDDEN, "is not a member of account");
        build_probe(fx, BG_CMD_ISSUE_CREDIT, ACT_OWNER);
        fx_reject(fx, BG_REJECT_FORBIDDEN, "only service principals");
        fx_free(fx);
}

/* ---- billing groups ---- */

static void fill_profile(bg_profile_patch_t *p) {
        bg_profile_t *v = &p->v;

        p->present = BG_PROFILE_F_ALL;
        FX_SET(v->billing_emails[0], "billing@acme.example");
        FX_SET(v->billing_emails[1], "ap@acme.example");
        v->n_billing_emails = 2;
        FX_SET(v->billing_contact_emails[0], "cfo@acme.example");
        v->n_billing_contact_emails = 1;
        FX_SET(v->billing_extra_text, "PO 4711\nCost center: R&D");
        v->payment_method = BG_PAYMENT_CARD;
        FX_SET(v->card_id, "card_1234abcd");
        FX_SET(v->company, "Acme Oy");
        FX_SET(v->address_lines[0], "Mannerheimintie 1");
        FX_SET(v->address_lines[1], "PL 42");
        v->n_address_lines = 2;
        FX_SET(v->city, "Helsinki");
        FX_SET(v->state, "Uusimaa");
        FX_SET(v->zip_code, "00100");
        FX_SET(v->country_code, "FI");
        FX_SET(v->vat_id, "FI12345678");
        v->billing_currency = BG_CURRENCY_EUR;
}

static void create_billing_group_defaults(void **state) {
        fx_t *fx = fx_new();
        const acct_group_t *g;
        bg_command_t *c;
        bg_uuid_t id = gid(G1);

        fx_create_account(fx);
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = id;
        FX_SET(c->payload.create_billing_group.name, "Default");
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_BILLING_GROUP_CREATED);
        assert_false(fx->d.events[0].payload.billing_group_created.has_copied_from);
        g = acct_find_group(fx->st, &id);
        assert_non_null(g);
        assert_string_equal(g->name, "Default");
        assert_false(g->deleted);
        assert_int_equal(prof_of(g)->payment_method, BG_PAYMENT_EMAIL);
        assert_int_equal(prof_of(g)->billing_currency, BG_CURRENCY_USD);
        assert_int_equal(prof_of(g)->n_billing_emails, 0);
        assert_string_equal(prof_of(g)->company, "");
        assert_int_equal(g->created_seq, 2);
        fx_free(fx);
}

static void create_billing_group_full_profile(void **state) {
        fx_t *fx = fx_new();
        const bg_profile_t *ep;
        const acct_group_t *g;
        bg_command_t *c;
        bg_uuid_t id = gid(G1);

        fx_create_account(fx);
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, "user:owner@example.com");
        c->payload.create_billing_group.billing_group_id = id;
        FX_SET(c->payload.create_billing_group.name, "Production");
        fill_profile(&c->payload.create_billing_group.profile);
        fx_accept(fx, 1);
        ep = &fx->d.events[0].payload.billing_group_created.profile;
        assert_int_equal(ep->n_billing_emails, 2);
        assert_string_equal(ep->billing_emails[1], "ap@acme.example");
        assert_string_equal(ep->billing_extra_text, "PO 4711\nCost center: R&D");
        assert_int_equal(ep->payment_method, BG_PAYMENT_CARD);
        assert_string_equal(ep->card_id, "card_1234abcd");
        assert_int_equal(ep->n_address_lines, 2);
        assert_string_equal(ep->country_code, "FI");
        assert_int_equal(ep->billing_currency, BG_CURRENCY_EUR);
        g = acct_find_group(fx->st, &id);
        assert_int_equal(bg_profile_diff(prof_of(g), ep), 0);
        assert_string_equal(prof_of(g)->vat_id, "FI12345678");
        fx_free(fx);
}

static void create_billing_group_copy_from(void **state) {
        fx_t *fx = fx_new();
        const acct_group_t *src, *g;
        const bg_evt_billing_group_created_t *e;
        bg_command_t *c;
        bg_uuid_t id1 = gid(G1), id2 = gid(G2);

        fx_create_account(fx);
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = id1;
        FX_SET(c->payload.create_billing_group.name, "Production");
        fill_profile(&c->payload.create_billing_group.profile);
        fx_accept(fx, 1);

        /* Copy everything, override the city and the e-mails. */
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = id2;
        FX_SET(c->payload.create_billing_group.name, "Staging");
        c->payload.create_billing_group.has_copy_from = true;
        c->payload.create_billing_group.copy_from = id1;
        c->payload.create_billing_group.profile.present =
                BG_PROFILE_F_CITY | BG_PROFILE_F_BILLING_EMAILS;
        FX_SET(c->payload.create_billing_group.profile.v.city, "Tampere");
        c->payload.create_billing_group.profile.v.n_billing_emails = 0;
        FX_SET(c->payload.create_billing_group.profile.v.company, "not present: ignored");
        fx_accept(fx, 1);
        e = &fx->d.events[0].payload.billing_group_created;
        assert_true(e->has_copied_from);
        assert_true(bg_uuid_equal(&e->copied_from, &id1));
        src = acct_find_group(fx->st, &id1);
        g = acct_find_group(fx->st, &id2);
        assert_string_equal(prof_of(g)->city, "Tampere");
        assert_int_equal(prof_of(g)->n_billing_emails, 0);
        assert_string_equal(prof_of(g)->company, "Acme Oy");
        assert_int_equal(prof_of(g)->payment_method, BG_PAYMENT_CARD);
        assert_string_equal(prof_of(g)->card_id, "card_1234abcd");
        assert_int_equal(prof_of(g)->billing_currency, BG_CURRENCY_EUR);
        assert_int_equal(bg_profile_diff(prof_of(src), prof_of(g)),
                         BG_PROFILE_F_CITY | BG_PROFILE_F_BILLING_EMAILS);
        assert_string_equal(prof_of(src)->city, "Helsinki");

        /* Unknown source, deleted source. */
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = gid(G3);
        FX_SET(c->payload.create_billing_group.name, "Third");
        c->payload.create_billing_group.has_copy_from = true;
        c->payload.create_billing_group.copy_from = gid(77);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "copy_from billing group");
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = id2;
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = gid(G3);
        FX_SET(c->payload.create_billing_group.name, "Third");
        c->payload.create_billing_group.has_copy_from = true;
        c->payload.create_billing_group.copy_from = id2;
        fx_reject(fx, BG_REJECT_NOT_FOUND, "copy_from billing group");
        c->payload.create_billing_group.copy_from = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid copy_from");
        fx_free(fx);
}

static void create_billing_group_rejections(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = gid(G1);
        FX_SET(c->payload.create_billing_group.name, "Dup");
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "already exists");

        c->payload.create_billing_group.billing_group_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id");

        c->payload.create_billing_group.billing_group_id = gid(G3);
        c->payload.create_billing_group.name[0] = '\0';
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name");
        FX_SET(c->payload.create_billing_group.name, "Ok");

        c->payload.create_billing_group.profile.present = 1u << 20;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "unknown field bits");

        /* Card payments need a card. */
        c->payload.create_billing_group.profile.present = BG_PROFILE_F_PAYMENT_METHOD;
        c->payload.create_billing_group.profile.v.payment_method = BG_PAYMENT_CARD;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                  "invalid profile.card_id: required when payment_method is card");

        /* Deleted ids are not reused. */
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = gid(G3);
        FX_SET(c->payload.create_billing_group.name, "Temp");
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = gid(G3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        c->payload.create_billing_group.billing_group_id = gid(G3);
        FX_SET(c->payload.create_billing_group.name, "Temp");
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "(deleted)");
        fx_free(fx);
}

/* Each profile field, made invalid on its own, is named in the rejection. */
static void profile_field_validation(void **state) {
        static const struct {
                uint32_t field;
                const char *expect;
        } cases[] = {
                { BG_PROFILE_F_BILLING_EMAILS, "invalid profile.billing_emails[1]" },
                { BG_PROFILE_F_BILLING_EMAILS, "more than 10 addresses" },
                { BG_PROFILE_F_BILLING_EMAILS, "is listed twice" },
                { BG_PROFILE_F_BILLING_CONTACT_EMAILS, "invalid profile.billing_contact_emails[0]" },
                { BG_PROFILE_F_BILLING_EXTRA_TEXT, "invalid profile.billing_extra_text: longer than 1000" },
                { BG_PROFILE_F_PAYMENT_METHOD, "invalid profile.payment_method" },
                { BG_PROFILE_F_PAYMENT_METHOD, "invalid profile.payment_method" },
                { BG_PROFILE_F_CARD_ID, "invalid profile.card_id" },
                { BG_PROFILE_F_COMPANY, "invalid profile.company: longer than 83" },
                { BG_PROFILE_F_ADDRESS_LINES, "invalid profile.address_lines: more than 4" },
                { BG_PROFILE_F_ADDRESS_LINES, "invalid profile.address_lines[0]: must not be empty" },
                { BG_PROFILE_F_ADDRESS_LINES, "invalid profile.address_lines[1]: longer than 100" },
                { BG_PROFILE_F_CITY, "invalid profile.city: longer than 50" },
                { BG_PROFILE_F_CITY, "invalid profile.city: control character" },
                { BG_PROFILE_F_STATE, "invalid profile.state: longer than 30" },
                { BG_PROFILE_F_ZIP_CODE, "invalid profile.zip_code: longer than 36" },
                { BG_PROFILE_F_COUNTRY_CODE, "invalid profile.country_code" },
                { BG_PROFILE_F_COUNTRY_CODE, "invalid profile.country_code" },
                { BG_PROFILE_F_VAT_ID, "invalid profile.vat_id: longer than 64" },
                { BG_PROFILE_F_BILLING_CURRENCY, "invalid profile.billing_currency" },
                { BG_PROFILE_F_BILLING_CURRENCY, "invalid profile.billing_currency" },
        };
        fx_t *fx = standard();

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                bg_command_t *c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
                bg_profile_patch_t *p = &c->payload.update_billing_group.profile;
                bg_profile_t *v = &p->v;

                c->payload.update_billing_group.billing_group_id = gid(G2);
                p->present = cases[i].field;
                switch (i) {
                case 0:
                        FX_SET(v->billing_emails[0], "ok@example.com");
                        FX_SET(v->billing_emails[1], "broken");
                        v->n_billing_emails = 2;
                        break;
                case 1:
                        for (int k = 0; k < BG_BILLING_EMAILS_MAX; k++)
                                snprintf(v->billing_emails[k], BG_EMAIL_SIZE, "a%d@x.io", k);
                        v->n_billing_emails = BG_BILLING_EMAILS_MAX + 1;
                        break;
                case 2:
                        FX_SET(v->billing_emails[0], "a@example.com");
                        FX_SET(v->billing_emails[1], "A@example.com");
                        v->n_billing_emails = 2;
                        break;
                case 3:
                        FX_SET(v->billing_contact_emails[0], "a@");
                        v->n_billing_contact_emails = 1;
                        break;
                case 4:
                        memset(v->billing_extra_text, 'x', 1001);
                        break;
                case 5:
                        v->payment_method = BG_PAYMENT_UNSET;
                        break;
                case 6:
                        v->payment_method = BG_PAYMENT__COUNT;
                        break;
                case 7:
                        FX_SET(v->card_id, "card with spaces");
                        break;
                case 8:
                        memset(v->company, 'c', 84);
                        break;
                case 9:
                        v->n_address_lines = 5;
                        break;
                case 10:
                        v->n_address_lines = 1;
                        break;
                case 11:
                        FX_SET(v->address_lines[0], "ok");
                        memset(v->address_lines[1], 'l', 101);
                        v->n_address_lines = 2;
                        break;
                case 12:
                        memset(v->city, 'h', 51);
                        break;
                case 13:
                        FX_SET(v->city, "Hel\tsinki");
                        break;
                case 14:
                        memset(v->state, 's', 31);
                        break;
                case 15:
                        memset(v->zip_code, '1', 37);
                        break;
                case 16:
                        FX_SET(v->country_code, "fi");
                        break;
                case 17:
                        FX_SET(v->country_code, "F");
                        break;
                case 18:
                        memset(v->vat_id, 'v', 65);
                        break;
                case 19:
                        v->billing_currency = BG_CURRENCY_UNSET;
                        break;
                case 20:
                        v->billing_currency = (bg_currency_t)99;
                        break;
                }
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, cases[i].expect);
        }
        fx_free(fx);
}

static void profile_limits_accepted_at_the_edge(void **state) {
        fx_t *fx = standard();
        bg_command_t *c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        bg_profile_t *v = &c->payload.update_billing_group.profile.v;
        const acct_group_t *g;
        bg_uuid_t id = gid(G2);

        c->payload.update_billing_group.billing_group_id = id;
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_ALL;
        for (int k = 0; k < BG_BILLING_EMAILS_MAX; k++) {
                snprintf(v->billing_emails[k], BG_EMAIL_SIZE, "a%d@x.io", k);
                snprintf(v->billing_contact_emails[k], BG_EMAIL_SIZE, "c%d@x.io", k);
        }
        v->n_billing_emails = v->n_billing_contact_emails = BG_BILLING_EMAILS_MAX;
        for (int k = 0; k < BG_EXTRA_TEXT_MAX; k++)      /* 1000 three-byte characters */
                memcpy(v->billing_extra_text + 3 * k, "\xe2\x82\xac", 3);
        v->payment_method = BG_PAYMENT_PARTNER;
        memset(v->company, 'c', BG_COMPANY_MAX);
        for (int k = 0; k < BG_ADDRESS_LINES_MAX; k++)
                memset(v->address_lines[k], 'a', BG_ADDRESS_LINE_MAX);
        v->n_address_lines = BG_ADDRESS_LINES_MAX;
        memset(v->city, 'h', BG_CITY_MAX);
        memset(v->state, 's', BG_STATE_MAX);
        memset(v->zip_code, 'z', BG_ZIP_CODE_MAX);
        FX_SET(v->country_code, "SE");
        memset(v->vat_id, 'v', BG_VAT_ID_MAX);
        v->billing_currency = BG_CURRENCY_SEK;
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].payload.billing_profile_updated.changed,
                         BG_PROFILE_F_ALL & ~(uint32_t)BG_PROFILE_F_CARD_ID);
        g = acct_find_group(fx->st, &id);
        assert_int_equal(strlen(prof_of(g)->billing_extra_text), 3000);
        assert_int_equal(prof_of(g)->billing_currency, BG_CURRENCY_SEK);
        fx_free(fx);
}

/* DEL and the C1 controls (U+0080..U+009F) are control characters too; U+00A0 is not.
 * billing_extra_text alone may hold tab, LF and CR, and no other control character. */
static void del_and_c1_control_characters_rejected(void **state) {
        static const char *const controls[] = {
                "Acme\x7f", "Acme\xc2\x80", "Acme\xc2\x85", "Acme\xc2\x9f", "Acme\tOy",
        };
        fx_t *fx = standard();
        bg_command_t *c;
        bg_profile_t *v;
        bg_uuid_t g2 = gid(G2);

        for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
                c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
                c->payload.update_billing_group.billing_group_id = g2;
                c->payload.update_billing_group.has_name = true;
                FX_SET(c->payload.update_billing_group.name, controls[i]);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: control character U+");
        }
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character U+0009");
        c->payload.update_billing_group.name[4] = '\x7f';
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character U+007F");
        FX_SET(c->payload.update_billing_group.name, "Acme\xc2\x9f");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character U+009F");
        assert_string_equal(acct_find_group(fx->st, &g2)->name, "Development");
        FX_SET(c->payload.update_billing_group.name, "Acme\xc2\xa0Oy");
        fx_accept(fx, 1);

        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = g2;
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_BILLING_EXTRA_TEXT;
        v = &c->payload.update_billing_group.profile.v;
        FX_SET(v->billing_extra_text, "PO 1\x0b");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                  "invalid profile.billing_extra_text: control character U+000B");
        FX_SET(v->billing_extra_text, "PO 1\x7f");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character U+007F");
        FX_SET(v->billing_extra_text, "PO 1\xc2\x85");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "control character U+0085");
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->billing_extra_text, "");
        FX_SET(v->billing_extra_text, "PO 1\tR&D\r\nline 2");
        fx_accept(fx, 1);
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->billing_extra_text,
                            "PO 1\tR&D\r\nline 2");
        fx_free(fx);
}

/* card_id: printable ASCII only, so DEL and any non-ASCII byte are refused. country_code:
 * two upper-case letters and a NUL, or empty. */
static void card_id_non_ascii_and_malformed_country_code_rejected(void **state) {
        static const char *const bad_cards[] = { "card\x7f", "c\xc3\xa4rd", "card\x1f" };
        static const char *const bad_countries[] = { "Fi", "1I", "F1", "F", "fi" };
        fx_t *fx = standard();
        bg_command_t *c;
        bg_profile_t *v;
        bg_uuid_t g2 = gid(G2);

        for (size_t i = 0; i < sizeof(bad_cards) / sizeof(bad_cards[0]); i++) {
                c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
                c->payload.update_billing_group.billing_group_id = g2;
                c->payload.update_billing_group.profile.present = BG_PROFILE_F_CARD_ID;
                FX_SET(c->payload.update_billing_group.profile.v.card_id, bad_cards[i]);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                          "invalid profile.card_id: only printable ASCII without spaces");
        }
        for (size_t i = 0; i < sizeof(bad_countries) / sizeof(bad_countries[0]); i++) {
                c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
                c->payload.update_billing_group.billing_group_id = g2;
                c->payload.update_billing_group.profile.present = BG_PROFILE_F_COUNTRY_CODE;
                FX_SET(c->payload.update_billing_group.profile.v.country_code, bad_countries[i]);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                          "invalid profile.country_code: must be an ISO 3166-1 alpha-2 code");
        }
        /* Three letters fill the array with no NUL. */
        v = &c->payload.update_billing_group.profile.v;
        memcpy(v->country_code, "FIN", BG_COUNTRY_CODE_SIZE);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid profile.country_code");
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->country_code, "");

        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = g2;
        c->payload.update_billing_group.profile.present =
                BG_PROFILE_F_CARD_ID | BG_PROFILE_F_COUNTRY_CODE;
        FX_SET(c->payload.update_billing_group.profile.v.card_id, "card_~!#");
        FX_SET(c->payload.update_billing_group.profile.v.country_code, "FI");
        fx_accept(fx, 1);
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->card_id, "card_~!#");
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->country_code, "FI");
        fx_free(fx);
}

static void update_billing_group(void **state) {
        fx_t *fx = standard();
        const acct_group_t *g;
        bg_command_t *c;
        bg_uuid_t id = gid(G1);

        /* Rename only. */
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, "user:owner@example.com");
        c->payload.update_billing_group.billing_group_id = id;
        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "Prod");
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_BILLING_GROUP_RENAMED);
        assert_string_equal(fx->d.events[0].payload.billing_group_renamed.previous_name,
                            "Production");
        assert_string_equal(fx->d.events[0].payload.billing_group_renamed.name, "Prod");
        assert_string_equal(acct_find_group(fx->st, &id)->name, "Prod");

        /* Profile patch only: the event carries the whole profile and the mask. */
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = id;
        c->payload.update_billing_group.profile.present =
                BG_PROFILE_F_VAT_ID | BG_PROFILE_F_COMPANY;
        FX_SET(c->payload.update_billing_group.profile.v.vat_id, "FI999");
        FX_SET(c->payload.update_billing_group.profile.v.company, "Acme");
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_BILLING_PROFILE_UPDATED);
        assert_int_equal(fx->d.events[0].payload.billing_profile_updated.changed,
                         BG_PROFILE_F_VAT_ID | BG_PROFILE_F_COMPANY);
        assert_int_equal(fx->d.events[0].payload.billing_profile_updated.profile.billing_currency,
                         BG_CURRENCY_EUR);
        g = acct_find_group(fx->st, &id);
        assert_string_equal(prof_of(g)->vat_id, "FI999");
        assert_string_equal(prof_of(g)->company, "Acme");
        assert_int_equal(prof_of(g)->payment_method, BG_PAYMENT_EMAIL);

        /* Both: renamed first, then the profile. A present field equal to the current
         * value is not reported as changed. */
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = id;
        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "Production");
        c->payload.update_billing_group.profile.present =
                BG_PROFILE_F_VAT_ID | BG_PROFILE_F_CITY;
        FX_SET(c->payload.update_billing_group.profile.v.vat_id, "FI999");
        FX_SET(c->payload.update_billing_group.profile.v.city, "Oulu");
        fx_accept(fx, 2);
        assert_int_equal(fx->d.events[0].type, BG_EVT_BILLING_GROUP_RENAMED);
        assert_int_equal(fx->d.events[1].type, BG_EVT_BILLING_PROFILE_UPDATED);
        assert_int_equal(fx->d.events[1].payload.billing_profile_updated.changed,
                         BG_PROFILE_F_CITY);
        g = acct_find_group(fx->st, &id);
        assert_string_equal(g->name, "Production");
        assert_string_equal(prof_of(g)->city, "Oulu");
        assert_string_equal(prof_of(g)->vat_id, "FI999");

        /* The same again: nothing changes, accepted without events. */
        fx_renew(fx);
        fx_accept(fx, 0);
        fx_free(fx);
}

static void update_billing_group_rejections(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = gid(G1);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "give a name or profile fields");

        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "\n");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name");

        FX_SET(c->payload.update_billing_group.name, "Fine");
        c->payload.update_billing_group.billing_group_id = gid(55);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "not found");

        /* Switching to card without a card. */
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = gid(G1);
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_PAYMENT_METHOD;
        c->payload.update_billing_group.profile.v.payment_method = BG_PAYMENT_CARD;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "card_id: required");

        /* Currency is fixed once credits are claimed. */
        fx_issue_credit(fx, "EUR-1", 1000000, BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);
        c->payload.claim_credit.billing_group_id = gid(G2);
        FX_SET(c->payload.claim_credit.code, "EUR-1");
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = gid(G2);
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_BILLING_CURRENCY;
        c->payload.update_billing_group.profile.v.billing_currency = BG_CURRENCY_USD;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "claimed credits are in EUR");
        /* Without credits it may change. */
        c->payload.update_billing_group.billing_group_id = gid(G1);
        fx_accept(fx, 1);

        /* Deleted groups cannot be updated. */
        fx_create_group(fx, G3, "Gone", BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = gid(G3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = gid(G3);
        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "Back");
        fx_reject(fx, BG_REJECT_NOT_FOUND, "(deleted)");
        fx_free(fx);
}

static void delete_billing_group(void **state) {
        fx_t *fx = standard();
        const acct_group_t *g;
        bg_command_t *c;
        bg_uuid_t g1 = gid(G1), g2 = gid(G2);

        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = g1;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION,
                  "cannot delete billing group \"04000000-0000-4000-8000-000000000001\": "
                  "2 projects are still assigned");

        fx_create_project(fx, 3, "p3", G2);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = g2;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "1 project is still assigned");

        /* Deleted projects do not count. */
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = pid(3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = g2;
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_BILLING_GROUP_DELETED);
        g = acct_find_group(fx->st, &g2);
        assert_true(g->deleted);
        assert_int_equal(g->deleted_seq, acct_version(fx->st));
        assert_int_equal(acct_group_count(fx->st), 2);   /* still listed */
        fx_renew(fx);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "(deleted)");

        /* The primary group, once empty, still cannot go. */
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = pid(1);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = pid(2);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = g1;
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "it is the primary billing group");

        c->payload.delete_billing_group.billing_group_id = gid(99);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "billing group \"04000000-0000-4000-8000-000000000063\" not found");
        c->payload.delete_billing_group.billing_group_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id");
        fx_free(fx);
}

static void set_primary_billing_group(void **state) {
        fx_t *fx = standard();
        const bg_evt_primary_billing_group_set_t *e;
        bg_command_t *c;
        bg_uuid_t g1 = gid(G1), g2 = gid(G2), now;

        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = g2;
        fx_accept(fx, 1);
        e = &fx->d.events[0].payload.primary_billing_group_set;
        assert_true(bg_uuid_equal(&e->billing_group_id, &g2));
        assert_true(e->has_previous);
        assert_true(bg_uuid_equal(&e->previous, &g1));
        assert_true(acct_primary_group(fx->st, &now));
        assert_true(bg_uuid_equal(&now, &g2));

        /* Already primary: accepted, nothing to record. */
        fx_renew(fx);
        fx_accept(fx, 0);

        c->payload.set_primary_billing_group.billing_group_id = gid(42);
        fx_reject(fx, BG_REJECT_NOT_FOUND, NULL);

        fx_create_group(fx, G3, "Gone", BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = gid(G3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = gid(G3);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "(deleted)");
        fx_free(fx);
}

/* A nil billing_group_id is invalid_argument in every command that takes one; each
 * command here is otherwise valid and is accepted once the id is G2. */
static void nil_billing_group_id_rejected_in_each_command(void **state) {
        fx_t *fx = standard();
        const bg_uuid_t nil = { { 0 } };
        bg_uuid_t g1 = gid(G1), g2 = gid(G2), p1 = pid(1), p9 = pid(9), primary;
        bg_command_t *c;

        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = nil;
        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "Renamed");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id: must not be nil");
        assert_string_equal(acct_find_group(fx->st, &g2)->name, "Development");
        c->payload.update_billing_group.billing_group_id = g2;
        fx_accept(fx, 1);

        c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);
        c->payload.set_primary_billing_group.billing_group_id = nil;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id: must not be nil");
        assert_true(acct_primary_group(fx->st, &primary));
        assert_true(bg_uuid_equal(&primary, &g1));
        c->payload.set_primary_billing_group.billing_group_id = g2;
        fx_accept(fx, 1);

        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        c->payload.assign_projects.billing_group_id = nil;
        c->payload.assign_projects.n_projects = 1;
        FX_SET(c->payload.assign_projects.project_names[0], "p1");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id: must not be nil");
        assert_true(bg_uuid_equal(&acct_find_project(fx->st, &p1)->billing_group_id, &g1));
        c->payload.assign_projects.billing_group_id = g2;
        fx_accept(fx, 1);

        /* CreateProject: only when a group is given (none means the primary group). */
        c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        c->payload.create_project.project_id = p9;
        FX_SET(c->payload.create_project.name, "p9");
        c->payload.create_project.has_billing_group_id = true;
        c->payload.create_project.billing_group_id = nil;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id: must not be nil");
        assert_null(acct_find_project(fx->st, &p9));
        c->payload.create_project.billing_group_id = g2;
        fx_accept(fx, 1);
        fx_free(fx);
}

/* ---- projects ---- */

static void create_project(void **state) {
        fx_t *fx = fx_new();
        const acct_project_t *p;
        bg_command_t *c;
        bg_uuid_t g1 = gid(G1), g2 = gid(G2), p1 = pid(1), p2 = pid(2);

        fx_create_account(fx);
        fx_create_group(fx, G1, "One", BG_CURRENCY_USD);
        fx_create_group(fx, G2, "Two", BG_CURRENCY_USD);

        /* No group given and no primary group. */
        c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        c->payload.create_project.project_id = p1;
        FX_SET(c->payload.create_project.name, "web-1");
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "has no primary billing group");

        /* The given group. */
        c->payload.create_project.has_billing_group_id = true;
        c->payload.create_project.billing_group_id = g2;
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_PROJECT_CREATED);
        assert_true(bg_uuid_equal(&fx->d.events[0].payload.project_created.billing_group_id,
                                  &g2));
        p = acct_find_project(fx->st, &p1);
        assert_non_null(p);
        assert_string_equal(p->name, "web-1");
        assert_true(bg_uuid_equal(&p->billing_group_id, &g2));
        assert_ptr_equal(acct_find_live_project_by_name(fx->st, "web-1"), p);
        assert_int_equal(acct_find_group(fx->st, &g2)->n_live_projects, 1);

        /* The primary group by default. */
        fx_set_primary(fx, G1);
        c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        c->payload.create_project.project_id = p2;
        FX_SET(c->payload.create_project.name, "web-2");
        fx_accept(fx, 1);
        assert_true(bg_uuid_equal(&acct_find_project(fx->st, &p2)->billing_group_id, &g1));

        /* Rejections. */
        c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        c->payload.create_project.project_id = p2;
        FX_SET(c->payload.create_project.name, "web-3");
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "already exists");
        c->payload.create_project.project_id = pid(3);
        FX_SET(c->payload.create_project.name, "web-1");
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "project name \"web-1\" is already used");
        FX_SET(c->payload.create_project.name, "web-3");
        c->payload.create_project.has_billing_group_id = true;
        c->payload.create_project.billing_group_id = gid(9);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "billing group");
        c->payload.create_project.has_billing_group_id = false;
        c->payload.create_project.project_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid project_id");

        /* A deleted project frees its name, not its id. */
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = p1;
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        c->payload.create_project.project_id = p1;
        FX_SET(c->payload.create_project.name, "web-1");
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "(deleted)");
        c->payload.create_project.project_id = pid(4);
        fx_accept(fx, 1);
        assert_int_equal(acct_project_count(fx->st), 3);
        fx_free(fx);
}

static void project_name_validation(void **state) {
        static const char *const bad[] = {
                "", "Web", "1web", "-web", "web-", "web_1", "web.1", "wéb", "web 1",
                "web~1", "web{",
        };
        static const char *const good[] = {
                "a", "web-1", "a23456789012345678901234567890123456789012345678901234567890123",
        };
        fx_t *fx = standard();

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);

                c->payload.create_project.project_id = pid(100 + (uint32_t)i);
                FX_SET(c->payload.create_project.name, bad[i]);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name");
        }
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);

                c->payload.create_project.project_id = pid(200 + (uint32_t)i);
                FX_SET(c->payload.create_project.name, good[i]);
                fx_accept(fx, 1);
        }
        /* 64 characters cannot be terminated inside the array. */
        {
                bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);

                c->payload.create_project.project_id = pid(300);
                memset(c->payload.create_project.name, 'a', BG_PROJECT_NAME_SIZE);
                fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid name: not terminated");
        }
        fx_free(fx);
}

static void assign_projects(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        bg_uuid_t g1 = gid(G1), g2 = gid(G2), p1 = pid(1), p2 = pid(2), p3 = pid(3);

        fx_create_project(fx, 3, "p3", G2);
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, "user:owner@example.com");
        c->payload.assign_projects.billing_group_id = g2;
        c->payload.assign_projects.n_projects = 3;
        FX_SET(c->payload.assign_projects.project_names[0], "p2");
        FX_SET(c->payload.assign_projects.project_names[1], "p3");
        FX_SET(c->payload.assign_projects.project_names[2], "p1");
        fx_accept(fx, 2);
        /* In the order given, p3 skipped. */
        assert_int_equal(fx->d.events[0].type, BG_EVT_PROJECT_MOVED);
        assert_true(bg_uuid_equal(&fx->d.events[0].payload.project_moved.project_id, &p2));
        assert_true(bg_uuid_equal(&fx->d.events[0].payload.project_moved.from_billing_group_id,
                                  &g1));
        assert_true(bg_uuid_equal(&fx->d.events[0].payload.project_moved.to_billing_group_id,
                                  &g2));
        assert_true(bg_uuid_equal(&fx->d.events[1].payload.project_moved.project_id, &p1));
        assert_int_equal(fx->d.events[1].seq, fx->d.events[0].seq + 1);
        assert_true(bg_uuid_equal(&acct_find_project(fx->st, &p1)->billing_group_id, &g2));
        assert_true(bg_uuid_equal(&acct_find_project(fx->st, &p3)->billing_group_id, &g2));
        assert_int_equal(acct_find_group(fx->st, &g1)->n_live_projects, 0);
        assert_int_equal(acct_find_group(fx->st, &g2)->n_live_projects, 3);

        /* Everything already there: accepted, no events. */
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        c->payload.assign_projects.billing_group_id = g2;
        c->payload.assign_projects.n_projects = 1;
        FX_SET(c->payload.assign_projects.project_names[0], "p1");
        fx_accept(fx, 0);
        fx_free(fx);
}

static void assign_projects_rejections(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        bg_cmd_assign_projects_t *p;

        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        p = &c->payload.assign_projects;
        p->billing_group_id = gid(G2);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "give 1 to 1000 projects");
        p->n_projects = BG_ASSIGN_PROJECTS_MAX + 1;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "give 1 to 1000 projects");

        p->n_projects = 2;
        FX_SET(p->project_names[0], "p1");
        FX_SET(p->project_names[1], "p1");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid project_names[1]: \"p1\" is listed twice");
        FX_SET(p->project_names[1], "P2");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid project_names[1]");

        /* One unknown name rejects the whole command: no partial moves. */
        FX_SET(p->project_names[1], "nope");
        fx_reject(fx, BG_REJECT_NOT_FOUND, "project \"nope\" not found");
        {
                bg_uuid_t p1 = pid(1), g1 = gid(G1);

                assert_true(bg_uuid_equal(&acct_find_project(fx->st, &p1)->billing_group_id,
                                          &g1));
        }

        /* Deleted projects are not found by name. */
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = pid(2);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        p = &c->payload.assign_projects;
        p->billing_group_id = gid(G2);
        p->n_projects = 1;
        FX_SET(p->project_names[0], "p2");
        fx_reject(fx, BG_REJECT_NOT_FOUND, "project \"p2\" not found");

        /* Unknown and deleted target groups. */
        FX_SET(p->project_names[0], "p1");
        p->billing_group_id = gid(88);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "billing group");
        fx_create_group(fx, G3, "Gone", BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER);
        c->payload.delete_billing_group.billing_group_id = gid(G3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        p = &c->payload.assign_projects;
        p->billing_group_id = gid(G3);
        p->n_projects = 1;
        FX_SET(p->project_names[0], "p1");
        fx_reject(fx, BG_REJECT_NOT_FOUND, "(deleted)");
        fx_free(fx);
}

static void assign_many_projects(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        bg_uuid_t g2 = gid(G2);

        for (uint32_t i = 0; i < BG_ASSIGN_PROJECTS_MAX - 2; i++) {
                char name[32];

                snprintf(name, sizeof(name), "bulk-%u", (unsigned)i);
                fx_create_project(fx, 1000 + i, name, G1);
        }
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);
        c->payload.assign_projects.billing_group_id = g2;
        c->payload.assign_projects.n_projects = BG_ASSIGN_PROJECTS_MAX;
        for (uint32_t i = 0; i < BG_ASSIGN_PROJECTS_MAX - 2; i++)
                snprintf(c->payload.assign_projects.project_names[i], BG_PROJECT_NAME_SIZE,
                         "bulk-%u", (unsigned)i);
        FX_SET(c->payload.assign_projects.project_names[998], "p1");
        FX_SET(c->payload.assign_projects.project_names[999], "p2");
        fx_accept(fx, BG_ASSIGN_PROJECTS_MAX);
        assert_int_equal(acct_find_group(fx->st, &g2)->n_live_projects, 1000);
        fx_free(fx);
}

static void delete_project(void **state) {
        fx_t *fx = standard();
        const acct_project_t *p;
        bg_command_t *c;
        bg_uuid_t p1 = pid(1), g1 = gid(G1);

        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
        c->payload.delete_project.project_id = p1;
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_PROJECT_DELETED);
        assert_true(bg_uuid_equal(&fx->d.events[0].payload.project_deleted.billing_group_id,
                                  &g1));
        p = acct_find_project(fx->st, &p1);
        assert_true(p->deleted);
        assert_int_equal(p->deleted_seq, acct_version(fx->st));
        assert_null(acct_find_live_project_by_name(fx->st, "p1"));
        assert_int_equal(acct_find_group(fx->st, &g1)->n_live_projects, 1);

        fx_renew(fx);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "(deleted)");
        c->payload.delete_project.project_id = pid(50);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "project");
        c->payload.delete_project.project_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid project_id");
        fx_free(fx);
}

/* ---- credits ---- */

static void issue_credit(void **state) {
        fx_t *fx = standard();
        const acct_credit_t *cr;
        bg_command_t *c;
        bg_cmd_issue_credit_t *p;

        c = fx_cmd(fx, BG_CMD_ISSUE_CREDIT, "service:credits");
        p = &c->payload.issue_credit;
        FX_SET(p->code, "SPRING-2026");
        p->value = 250 * INT64_C(1000000);
        p->currency = BG_CURRENCY_EUR;
        p->type = BG_CREDIT_TYPE_PROMOTION;
        p->start_time = NOW_MS + 1000;          /* may start in the future */
        fx_accept(fx, 1);
        assert_int_equal(fx->d.events[0].type, BG_EVT_CREDIT_ISSUED);
        assert_int_equal(fx->d.events[0].payload.credit_issued.value, 250000000);
        assert_false(fx->d.events[0].payload.credit_issued.has_expire_time);
        cr = acct_find_credit(fx->st, "SPRING-2026");
        assert_non_null(cr);
        assert_int_equal(cr->value, 250000000);
        assert_int_equal(cr->currency, BG_CURRENCY_EUR);
        assert_int_equal(cr->type, BG_CREDIT_TYPE_PROMOTION);
        assert_false(cr->claimed);
        assert_null(acct_find_credit(fx->st, "spring-2026"));   /* case-sensitive */

        fx_renew(fx);
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "credit code \"SPRING-2026\" already exists");

        FX_SET(p->code, "OTHER");
        p->value = 0;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid value");
        p->value = -5;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid value");
        p->value = BG_CREDIT_VALUE_MAX + 1;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid value");
        p->value = BG_CREDIT_VALUE_MAX;
        p->currency = BG_CURRENCY_UNSET;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid currency");
        p->currency = BG_CURRENCY__COUNT;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid currency");
        p->currency = BG_CURRENCY_JPY;
        p->type = BG_CREDIT_TYPE_UNSET;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid type");
        p->type = BG_CREDIT_TYPE__COUNT;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid type");
        p->type = BG_CREDIT_TYPE_OUTAGE;
        p->start_time = 0;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid start_time");
        p->start_time = NOW_MS - 10;
        p->has_expire_time = true;
        p->expire_time = NOW_MS - 10;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid expire_time: must be after start_time");
        p->start_time = NOW_MS - 100;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid expire_time: already in the past");
        FX_SET(p->code, "bad code");
        p->expire_time = NOW_MS + 10;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code");
        p->code[0] = '\0';
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code");
        FX_SET(p->code, "OTHER");
        fx_accept(fx, 1);
        assert_int_equal(acct_credit_count(fx->st), 2);
        assert_string_equal(acct_credit_at(fx->st, 1)->code, "OTHER");
        assert_null(acct_credit_at(fx->st, 2));
        fx_free(fx);
}

/* 9999-12-31T23:59:59.999Z, the latest credit time IssueCredit accepts. */
#define TIME_MAX_MS INT64_C(253402300799999)

static void issue_credit_times_after_year_9999_rejected(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        bg_cmd_issue_credit_t *p;

        c = fx_cmd(fx, BG_CMD_ISSUE_CREDIT, ACT_SERVICE);
        p = &c->payload.issue_credit;
        FX_SET(p->code, "FAR");
        p->value = 1000000;
        p->currency = BG_CURRENCY_EUR;
        p->type = BG_CREDIT_TYPE_PROMOTION;
        p->start_time = TIME_MAX_MS + 1;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                  "invalid start_time: after 9999-12-31T23:59:59.999Z");
        p->start_time = INT64_MAX;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid start_time: after 9999");

        p->start_time = NOW_MS;
        p->has_expire_time = true;
        p->expire_time = TIME_MAX_MS + 1;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                  "invalid expire_time: after 9999-12-31T23:59:59.999Z");
        p->expire_time = INT64_MAX;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid expire_time: after 9999");
        assert_null(acct_find_credit(fx->st, "FAR"));
        assert_int_equal(acct_credit_count(fx->st), 0);

        /* The last millisecond of 9999 is fine, for either time. */
        p->expire_time = TIME_MAX_MS;
        fx_accept(fx, 1);
        assert_int_equal(acct_find_credit(fx->st, "FAR")->expire_time, TIME_MAX_MS);
        c = fx_cmd(fx, BG_CMD_ISSUE_CREDIT, ACT_SERVICE);
        p = &c->payload.issue_credit;
        FX_SET(p->code, "LATE");
        p->value = 1000000;
        p->currency = BG_CURRENCY_EUR;
        p->type = BG_CREDIT_TYPE_PROMOTION;
        p->start_time = TIME_MAX_MS;
        fx_accept(fx, 1);
        assert_int_equal(acct_find_credit(fx->st, "LATE")->start_time, TIME_MAX_MS);
        fx_free(fx);
}

static void claim_credit(void **state) {
        fx_t *fx = standard();
        const acct_credit_t *cr;
        const bg_evt_credit_claimed_t *e;
        bg_command_t *c;
        bg_uuid_t g1 = gid(G1), p1 = pid(1);

        fx_issue_credit(fx, "GROUP", 10000000, BG_CURRENCY_EUR);
        fx_issue_credit(fx, "PROJECT", 20000000, BG_CURRENCY_EUR);

        /* Group-wide, by a billing admin. */
        fx_grant(fx, "billing@example.com", BG_ROLE_BILLING_ADMIN);
        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, "user:billing@example.com");
        c->payload.claim_credit.billing_group_id = g1;
        FX_SET(c->payload.claim_credit.code, "GROUP");
        fx_accept(fx, 1);
        e = &fx->d.events[0].payload.credit_claimed;
        assert_int_equal(fx->d.events[0].type, BG_EVT_CREDIT_CLAIMED);
        assert_string_equal(e->code, "GROUP");
        assert_false(e->has_project_id);
        cr = acct_find_credit(fx->st, "GROUP");
        assert_true(cr->claimed);
        assert_true(bg_uuid_equal(&cr->billing_group_id, &g1));
        assert_int_equal(cr->claimed_seq, acct_version(fx->st));
        assert_int_equal(acct_find_group(fx->st, &g1)->n_claimed_credits, 1);

        /* Claimed once. */
        fx_renew(fx);
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "was already claimed by billing group");
        c->payload.claim_credit.billing_group_id = gid(G2);
        fx_reject(fx, BG_REJECT_ALREADY_EXISTS, "was already claimed");

        /* For one project of the group. */
        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);
        c->payload.claim_credit.billing_group_id = g1;
        FX_SET(c->payload.claim_credit.code, "PROJECT");
        c->payload.claim_credit.has_project_id = true;
        c->payload.claim_credit.project_id = pid(404);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "project");
        c->payload.claim_credit.project_id = p1;
        c->payload.claim_credit.billing_group_id = gid(G2);
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "project \"p1\": it is not in billing group");
        c->payload.claim_credit.billing_group_id = g1;
        fx_accept(fx, 1);
        cr = acct_find_credit(fx->st, "PROJECT");
        assert_true(cr->has_project_id);
        assert_true(bg_uuid_equal(&cr->project_id, &p1));
        fx_free(fx);
}

static void claim_credit_rejections(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;

        fx_create_group(fx, G3, "Dollars", BG_CURRENCY_USD);
        fx_issue_credit(fx, "EUROS", 10000000, BG_CURRENCY_EUR);

        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);
        c->payload.claim_credit.billing_group_id = gid(G3);
        FX_SET(c->payload.claim_credit.code, "EUROS");
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION,
                  "the credit is in EUR, the group bills in USD");

        FX_SET(c->payload.claim_credit.code, "NOPE");
        c->payload.claim_credit.billing_group_id = gid(G1);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "credit code \"NOPE\" not found");

        FX_SET(c->payload.claim_credit.code, "EUROS");
        c->payload.claim_credit.billing_group_id = gid(77);
        fx_reject(fx, BG_REJECT_NOT_FOUND, "billing group");

        c->payload.claim_credit.billing_group_id = (bg_uuid_t){ { 0 } };
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid billing_group_id");
        c->payload.claim_credit.billing_group_id = gid(G1);
        c->payload.claim_credit.has_project_id = true;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid project_id");

        /* A deleted project. */
        c->payload.claim_credit.project_id = pid(2);
        {
                bg_command_t saved = *c;

                c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);
                c->payload.delete_project.project_id = pid(2);
                fx_accept(fx, 1);
                saved.command_id = fx_id(K_COMMAND, 9999);
                *fx->cmd = saved;
        }
        fx_reject(fx, BG_REJECT_NOT_FOUND, "project");

        /* Expired: the clock comes from the ctx. */
        fx->cmd->payload.claim_credit.has_project_id = false;
        fx->ctx.now_ms = NOW_MS + 86400000;     /* the expiry of fx_issue_credit */
        fx_reject(fx, BG_REJECT_FAILED_PRECONDITION, "expired");
        fx->ctx.now_ms = NOW_MS + 86400000 - 1;
        fx_accept(fx, 1);
        fx_free(fx);
}

static void claim_credit_invalid_code_rejected(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        char *code;

        fx_issue_credit(fx, "WELCOME", 5000000, BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);
        c->payload.claim_credit.billing_group_id = gid(G1);
        code = c->payload.claim_credit.code;
        FX_SET(c->payload.claim_credit.code, "WEL COME");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT,
                  "invalid code: may contain only A-Z, a-z, 0-9, '.', '_', '-'");
        FX_SET(c->payload.claim_credit.code, "WELCOME!");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code: may contain only");
        FX_SET(c->payload.claim_credit.code, "wel~come");
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code: may contain only");
        code[0] = '\0';
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code: must be 1 to 64 characters");
        assert_false(acct_find_credit(fx->st, "WELCOME")->claimed);
        FX_SET(c->payload.claim_credit.code, "WELCOME");
        fx_accept(fx, 1);
        assert_true(acct_find_credit(fx->st, "WELCOME")->claimed);
        fx_free(fx);
}

/* card_id and credit codes that fill their arrays with no NUL: refused before anything
 * reads them as strings; one byte shorter they are the longest accepted. */
static void unterminated_card_id_and_credit_code_rejected(void **state) {
        fx_t *fx = standard();
        bg_command_t *c;
        bg_profile_t *v;
        bg_cmd_issue_credit_t *p;
        bg_uuid_t g2 = gid(G2);
        char *code;

        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER);
        c->payload.update_billing_group.billing_group_id = g2;
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_CARD_ID;
        v = &c->payload.update_billing_group.profile.v;
        memset(v->card_id, 'c', BG_CARD_ID_SIZE);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid profile.card_id: not terminated");
        assert_string_equal(prof_of(acct_find_group(fx->st, &g2))->card_id, "");
        v->card_id[BG_CARD_ID_MAX] = '\0';
        fx_accept(fx, 1);
        assert_int_equal(strlen(prof_of(acct_find_group(fx->st, &g2))->card_id), BG_CARD_ID_MAX);

        c = fx_cmd(fx, BG_CMD_ISSUE_CREDIT, ACT_SERVICE);
        p = &c->payload.issue_credit;
        memset(p->code, 'K', BG_CREDIT_CODE_SIZE);
        p->value = 1000000;
        p->currency = BG_CURRENCY_EUR;
        p->type = BG_CREDIT_TYPE_PROMOTION;
        p->start_time = NOW_MS;
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code: not terminated");
        assert_int_equal(acct_credit_count(fx->st), 0);
        p->code[BG_CREDIT_CODE_MAX] = '\0';
        fx_accept(fx, 1);

        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);
        c->payload.claim_credit.billing_group_id = gid(G1);
        code = c->payload.claim_credit.code;
        memset(code, 'K', BG_CREDIT_CODE_SIZE);
        fx_reject(fx, BG_REJECT_INVALID_ARGUMENT, "invalid code: not terminated");
        assert_false(acct_credit_at(fx->st, 0)->claimed);
        code[BG_CREDIT_CODE_MAX] = '\0';
        fx_accept(fx, 1);
        assert_true(acct_credit_at(fx->st, 0)->claimed);
        fx_free(fx);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(create_account_accepted),
                cmocka_unit_test(create_account_by_service_for_any_owner),
                cmocka_unit_test(create_account_rejections),
                cmocka_unit_test(name_limits_count_characters),
                cmocka_unit_test(name_four_byte_utf8_accepted_up_to_u10ffff),
                cmocka_unit_test(command_on_missing_account_not_found),
                cmocka_unit_test(nil_account_id_rejected),
                cmocka_unit_test(envelope_rejections),
                cmocka_unit_test(service_actor_name_rules),
                cmocka_unit_test(caller_errors),
                cmocka_unit_test(expected_version),
                cmocka_unit_test(duplicate_answers_original_range),
                cmocka_unit_test(rejected_and_empty_commands_are_not_remembered),
                cmocka_unit_test(grant_role),
                cmocka_unit_test(revoke_role),
                cmocka_unit_test(authorization_matrix),
                cmocka_unit_test(create_billing_group_defaults),
                cmocka_unit_test(create_billing_group_full_profile),
                cmocka_unit_test(create_billing_group_copy_from),
                cmocka_unit_test(create_billing_group_rejections),
                cmocka_unit_test(profile_field_validation),
                cmocka_unit_test(profile_limits_accepted_at_the_edge),
                cmocka_unit_test(del_and_c1_control_characters_rejected),
                cmocka_unit_test(card_id_non_ascii_and_malformed_country_code_rejected),
                cmocka_unit_test(update_billing_group),
                cmocka_unit_test(update_billing_group_rejections),
                cmocka_unit_test(delete_billing_group),
                cmocka_unit_test(set_primary_billing_group),
                cmocka_unit_test(nil_billing_group_id_rejected_in_each_command),
                cmocka_unit_test(create_project),
                cmocka_unit_test(project_name_validation),
                cmocka_unit_test(assign_projects),
                cmocka_unit_test(assign_projects_rejections),
                cmocka_unit_test(assign_many_projects),
                cmocka_unit_test(delete_project),
                cmocka_unit_test(issue_credit),
                cmocka_unit_test(issue_credit_times_after_year_9999_rejected),
                cmocka_unit_test(claim_credit),
                cmocka_unit_test(claim_credit_rejections),
                cmocka_unit_test(claim_credit_invalid_code_rejected),
                cmocka_unit_test(unterminated_card_id_and_credit_code_rejected),
        };
        return cmocka_run_group_tests_name("acct_decide", tests, NULL, NULL);
}
