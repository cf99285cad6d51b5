#include <stdlib.h>

#include "domain_fixture.h"

static const char *const services[] = { ACT_SERVICE, "service:credits" };

bg_uuid_t fx_id(uint8_t kind, uint32_t n) {
        bg_uuid_t id;

        memset(&id, 0, sizeof(id));
        id.b[0] = kind;
        id.b[6] = 0x40;
        id.b[8] = 0x80;
        id.b[12] = (uint8_t)(n >> 24);
        id.b[13] = (uint8_t)(n >> 16);
        id.b[14] = (uint8_t)(n >> 8);
        id.b[15] = (uint8_t)n;
        return id;
}

static void next_event_id(void *opaque, bg_uuid_t *out) {
        fx_t *fx = opaque;

        *out = fx_id(K_EVENT, ++fx->next_event);
}

fx_t *fx_new(void) {
        fx_t *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        fx->st = acct_state_new();
        assert_non_null(fx->st);
        fx->cmd = calloc(1, sizeof(*fx->cmd));
        assert_non_null(fx->cmd);
        fx->ctx.now_ms = NOW_MS;
        fx->ctx.new_event_id = next_event_id;
        fx->ctx.new_event_id_opaque = fx;
        fx->ctx.service_principals = services;
        fx->ctx.n_service_principals = sizeof(services) / sizeof(services[0]);
        fx->account = fx_id(K_ACCOUNT, 1);
        acct_decision_init(&fx->d);
        return fx;
}

void fx_free(fx_t *fx) {
        if (fx == NULL)
                return;
        acct_decision_clear(&fx->d);
        acct_state_destroy(fx->st);
        free(fx->log);
        free(fx->cmd);
        free(fx);
}

bg_command_t *fx_cmd(fx_t *fx, bg_command_type_t type, const char *actor) {
        bg_command_t *c = fx->cmd;

        memset(c, 0, sizeof(*c));
        c->command_id = fx_id(K_COMMAND, ++fx->next_command);
        c->account_id = fx->account;
        FX_SET(c->actor, actor);
        c->issued_at = NOW_MS - 5;
        c->type = type;
        return c;
}

void fx_renew(fx_t *fx) {
        fx->cmd->command_id = fx_id(K_COMMAND, ++fx->next_command);
}

acct_decision_t *fx_decide(fx_t *fx) {
        int64_t version = acct_version(fx->st);
        size_t groups = acct_group_count(fx->st), projects = acct_project_count(fx->st);

        assert_int_equal(acct_decide(fx->st, fx->cmd, &fx->ctx, &fx->d), ACCT_OK);
        assert_int_equal(acct_version(fx->st), version);
        assert_int_equal(acct_group_count(fx->st), groups);
        assert_int_equal(acct_project_count(fx->st), projects);
        assert_true(bg_uuid_equal(&fx->d.result.command_id, &fx->cmd->command_id));
        return &fx->d;
}

void fx_apply(fx_t *fx) {
        char err[256];

        for (size_t i = 0; i < fx->d.n_events; i++) {
                acct_err_t rc = acct_evolve(fx->st, &fx->d.events[i], err, sizeof(err));

                if (rc != ACCT_OK)
                        fail_msg("evolve of event %zu failed: %s", i, err);
                if (fx->n_log == fx->cap_log) {
                        fx->cap_log = fx->cap_log ? fx->cap_log * 2 : 64;
                        fx->log = realloc(fx->log, fx->cap_log * sizeof(*fx->log));
                        assert_non_null(fx->log);
                }
                fx->log[fx->n_log++] = fx->d.events[i];
        }
}

void fx_accept(fx_t *fx, size_t n_events) {
        int64_t version = acct_version(fx->st);
        acct_decision_t *d = fx_decide(fx);

        if (d->result.outcome != BG_OUTCOME_ACCEPTED)
                fail_msg("%s not accepted: %s %s: %s", bg_command_type_name(fx->cmd->type),
                         bg_outcome_name(d->result.outcome),
                         bg_reject_code_name(d->result.rejection.code),
                         d->result.rejection.message);
        assert_int_equal(d->n_events, n_events);
        assert_int_equal(d->result.rejection.code, BG_REJECT_NONE);
        assert_int_equal(d->result.first_seq, version + 1);
        assert_int_equal(d->result.last_seq, version + (int64_t)n_events);
        for (size_t i = 0; i < d->n_events; i++) {
                const bg_event_t *ev = &d->events[i];
                static const uint8_t zero[BG_HASH_SIZE];

                assert_int_equal(ev->seq, version + 1 + (int64_t)i);
                assert_true(bg_uuid_equal(&ev->command_id, &fx->cmd->command_id));
                assert_true(bg_uuid_equal(&ev->account_id, &fx->cmd->account_id));
                assert_string_equal(ev->actor, fx->cmd->actor);
                assert_int_equal(ev->occurred_at, fx->ctx.now_ms);
                assert_false(bg_uuid_is_nil(&ev->event_id));
                assert_memory_equal(ev->hash, zero, BG_HASH_SIZE);
                assert_memory_equal(ev->prev_hash, zero, BG_HASH_SIZE);
        }
        fx_apply(fx);
        assert_int_equal(acct_version(fx->st), version + (int64_t)n_events);
}

void fx_reject(fx_t *fx, bg_reject_code_t code, const char *substr) {
        acct_decision_t *d = fx_decide(fx);

        if (d->result.outcome != BG_OUTCOME_REJECTED)
                fail_msg("%s not rejected (outcome %s, %zu events), expected %s",
                         bg_command_type_name(fx->cmd->type),
                         bg_outcome_name(d->result.outcome), d->n_events,
                         bg_reject_code_name(code));
        if (d->result.rejection.code != code)
                fail_msg("%s rejected with %s (%s), expected %s",
                         bg_command_type_name(fx->cmd->type),
                         bg_reject_code_name(d->result.rejection.code),
                         d->result.rejection.message, bg_reject_code_name(code));
        assert_int_equal(d->n_events, 0);
        if (substr != NULL && strstr(d->result.rejection.message, substr) == NULL)
                fail_msg("rejection message \"%s\" lacks \"%s\"", d->result.rejection.message,
                         substr);
}

void fx_create_account(fx_t *fx) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_ACCOUNT, ACT_OWNER);

        FX_SET(c->payload.create_account.name, "Acme");
        FX_SET(c->payload.create_account.owner, OWNER);
        fx_accept(fx, 1);
}

void fx_grant(fx_t *fx, const char *user, bg_role_t role) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_GRANT_ROLE, ACT_OWNER);

        FX_SET(c->payload.grant_role.user, user);
        c->payload.grant_role.role = role;
        fx_accept(fx, 1);
}

void fx_create_group(fx_t *fx, uint32_t group, const char *name, bg_currency_t currency) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER);
        bg_cmd_create_billing_group_t *p = &c->payload.create_billing_group;

        p->billing_group_id = fx_id(K_GROUP, group);
        FX_SET(p->name, name);
        p->profile.present = BG_PROFILE_F_BILLING_CURRENCY;
        p->profile.v.billing_currency = currency;
        fx_accept(fx, 1);
}

void fx_set_primary(fx_t *fx, uint32_t group) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_SET_PRIMARY_BILLING_GROUP, ACT_OWNER);

        c->payload.set_primary_billing_group.billing_group_id = fx_id(K_GROUP, group);
        fx_accept(fx, 1);
}

void fx_create_project(fx_t *fx, uint32_t project, const char *name, uint32_t group) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_CREATE_PROJECT, ACT_OWNER);
        bg_cmd_create_project_t *p = &c->payload.create_project;

        p->project_id = fx_id(K_PROJECT, project);
        FX_SET(p->name, name);
        if (group != 0) {
                p->has_billing_group_id = true;
                p->billing_group_id = fx_id(K_GROUP, group);
        }
        fx_accept(fx, 1);
}

void fx_issue_credit(fx_t *fx, const char *code, int64_t value, bg_currency_t currency) {
        bg_command_t *c = fx_cmd(fx, BG_CMD_ISSUE_CREDIT, ACT_SERVICE);
        bg_cmd_issue_credit_t *p = &c->payload.issue_credit;

        FX_SET(p->code, code);
        p->value = value;
        p->currency = currency;
        p->type = BG_CREDIT_TYPE_PROMOTION;
        p->start_time = NOW_MS - 1000;
        p->has_expire_time = true;
        p->expire_time = NOW_MS + 86400000;
        fx_accept(fx, 1);
}
