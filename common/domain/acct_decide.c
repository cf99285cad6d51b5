/*
 * acct_decide: command -> events | rejection | duplicate. Reads the state, never writes it.
 *
 * Checks run in this order, the first failure answers (docs/domain.md has the table):
 *   1. command_id (invalid_argument), then duplicate command_id (duplicate)
 *   2. envelope: account_id, type, actor format (invalid_argument); unlisted service
 *      principal (forbidden)
 *   3. account existence (not_found / already_exists for CreateAccount)
 *   4. expected_version (conflict)
 *   5. payload, without the state (invalid_argument)
 *   6. authorization (forbidden)
 *   7. rules against the state (not_found, already_exists, failed_precondition)
 */
#include <stdlib.h>
#include <string.h>

#include "acct_internal.h"

/* 9999-12-31T23:59:59.999Z: the latest credit time accepted (IssueCredit). */
#define ACCT_TIME_MAX_MS INT64_C(253402300799999)

typedef enum {
        D_OK = 0,
        D_REJECTED,
        D_NOMEM,
} dres_t;

typedef struct decide_s {
        const acct_state_t *st;
        const bg_command_t *cmd;
        const acct_ctx_t *ctx;
        acct_decision_t *out;
        bg_principal_kind_t kind;
        char acct[BG_UUID_STR_LEN + 1];         /* account id, for messages */
} decide_t;

typedef struct idbuf_s {
        char s[BG_UUID_STR_LEN + 1];
} idbuf_t;

static idbuf_t id_text(const bg_uuid_t *id) {
        idbuf_t b;

        bg_uuid_format(id, b.s);
        return b;
}

#define ID(id) (id_text(id).s)

void acct_decision_init(acct_decision_t *d) {
        memset(d, 0, sizeof(*d));
}

void acct_decision_clear(acct_decision_t *d) {
        if (d == NULL)
                return;
        free(d->events);
        memset(d, 0, sizeof(*d));
}

static dres_t reject(decide_t *d, bg_reject_code_t code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static dres_t reject(decide_t *d, bg_reject_code_t code, const char *fmt, ...) {
        va_list ap;

        d->out->result.outcome = BG_OUTCOME_REJECTED;
        d->out->result.rejection.code = code;
        va_start(ap, fmt);
        bg_vfmt(d->out->result.rejection.message, sizeof(d->out->result.rejection.message),
                fmt, ap);
        va_end(ap);
        return D_REJECTED;
}

/* A rejection whose message a validator already wrote into the result. */
static dres_t invalid(decide_t *d) {
        d->out->result.outcome = BG_OUTCOME_REJECTED;
        d->out->result.rejection.code = BG_REJECT_INVALID_ARGUMENT;
        return D_REJECTED;
}

#define MSG(d) (d)->out->result.rejection.message, sizeof((d)->out->result.rejection.message)

static bool reserve_events(decide_t *d, size_t n) {
        acct_decision_t *o = d->out;
        bg_event_t *p;

        if (o->n_events + n <= o->cap_events)
                return true;
        if (n > SIZE_MAX / sizeof(*p) - o->n_events)
                return false;
        p = realloc(o->events, (o->n_events + n) * sizeof(*p));
        if (p == NULL)
                return false;
        o->events = p;
        o->cap_events = o->n_events + n;
        return true;
}

/* Appends an event with its envelope filled (hashes zero) and a zeroed payload. */
static bg_event_t *emit(decide_t *d, bg_event_type_t type) {
        bg_event_t *ev;

        if (!reserve_events(d, 1))
                return NULL;
        ev = &d->out->events[d->out->n_events++];
        memset(ev, 0, sizeof(*ev));
        d->ctx->new_event_id(d->ctx->new_event_id_opaque, &ev->event_id);
        ev->account_id = d->cmd->account_id;
        ev->seq = d->st->version + (int64_t)d->out->n_events;
        ev->type = type;
        ev->occurred_at = d->ctx->now_ms;
        ev->command_id = d->cmd->command_id;
        memcpy(ev->actor, d->cmd->actor, sizeof(ev->actor));
        return ev;
}

static bool v_id(decide_t *d, const bg_uuid_t *id, const char *field) {
        if (!bg_uuid_is_nil(id))
                return true;
        bg_fmt(MSG(d), "invalid %s: must not be nil", field);
        return false;
}

static const acct_group_t *live_group(const decide_t *d, const bg_uuid_t *id) {
        const acct_group_t *g = acct_find_group(d->st, id);

        return g != NULL && !g->deleted ? g : NULL;
}

static const acct_project_t *live_project(const decide_t *d, const bg_uuid_t *id) {
        const acct_project_t *p = acct_find_project(d->st, id);

        return p != NULL && !p->deleted ? p : NULL;
}

static dres_t group_not_found(decide_t *d, const bg_uuid_t *id) {
        const acct_group_t *g = acct_find_group(d->st, id);

        return reject(d, BG_REJECT_NOT_FOUND, "billing group \"%s\" not found in account %s%s",
                      ID(id), d->acct, g != NULL ? " (deleted)" : "");
}

static void profile_defaults(bg_profile_t *p) {
        memset(p, 0, sizeof(*p));
        p->payment_method = BG_PAYMENT_EMAIL;
        p->billing_currency = BG_CURRENCY_USD;
}

/* ---- 5. payload validation (no state) ---- */

static bool v_role(decide_t *d, bg_role_t role) {
        if (role > BG_ROLE_NONE && role < BG_ROLE__COUNT)
                return true;
        bg_fmt(MSG(d), "invalid role: must be admin, billing_admin or viewer");
        return false;
}

static bool validate(decide_t *d) {
        const bg_command_t *c = d->cmd;

        switch (c->type) {
        case BG_CMD_CREATE_ACCOUNT: {
                const bg_cmd_create_account_t *p = &c->payload.create_account;

                return bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false, true, "name",
                                 MSG(d)) &&
                       bg_v_email(p->owner, sizeof(p->owner), "owner", MSG(d));
        }
        case BG_CMD_GRANT_ROLE:
        case BG_CMD_REVOKE_ROLE: {
                const bg_cmd_role_t *p = c->type == BG_CMD_GRANT_ROLE ?
                        &c->payload.grant_role : &c->payload.revoke_role;

                return bg_v_email(p->user, sizeof(p->user), "user", MSG(d)) &&
                       v_role(d, p->role);
        }
        case BG_CMD_CREATE_BILLING_GROUP: {
                const bg_cmd_create_billing_group_t *p = &c->payload.create_billing_group;

                return v_id(d, &p->billing_group_id, "billing_group_id") &&
                       bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false, true,
                                 "name", MSG(d)) &&
                       bg_v_profile(&p->profile.v, p->profile.present, false, "profile.",
                                    MSG(d)) &&
                       (!p->has_copy_from || v_id(d, &p->copy_from, "copy_from"));
        }
        case BG_CMD_UPDATE_BILLING_GROUP: {
                const bg_cmd_update_billing_group_t *p = &c->payload.update_billing_group;

                if (!v_id(d, &p->billing_group_id, "billing_group_id"))
                        return false;
                if (p->has_name && !bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false,
                                              true, "name", MSG(d)))
                        return false;
                if (!bg_v_profile(&p->profile.v, p->profile.present, false, "profile.",
                                  MSG(d)))
                        return false;
                if (!p->has_name && p->profile.present == 0) {
                        bg_fmt(MSG(d), "invalid update: give a name or profile fields");
                        return false;
                }
                return true;
        }
        case BG_CMD_DELETE_BILLING_GROUP:
                return v_id(d, &c->payload.delete_billing_group.billing_group_id,
                            "billing_group_id");
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                return v_id(d, &c->payload.set_primary_billing_group.billing_group_id,
                            "billing_group_id");
        case BG_CMD_CREATE_PROJECT: {
                const bg_cmd_create_project_t *p = &c->payload.create_project;

                return v_id(d, &p->project_id, "project_id") &&
                       bg_v_project_name(p->name, sizeof(p->name), "name", MSG(d)) &&
                       (!p->has_billing_group_id ||
                        v_id(d, &p->billing_group_id, "billing_group_id"));
        }
        case BG_CMD_ASSIGN_PROJECTS: {
                const bg_cmd_assign_projects_t *p = &c->payload.assign_projects;
                char field[48];

                if (!v_id(d, &p->billing_group_id, "billing_group_id"))
                        return false;
                if (p->n_projects == 0 || p->n_projects > BG_ASSIGN_PROJECTS_MAX) {
                        bg_fmt(MSG(d), "invalid project_names: give 1 to %d projects",
                               BG_ASSIGN_PROJECTS_MAX);
                        return false;
                }
                for (size_t i = 0; i < p->n_projects; i++) {
                        bg_fmt(field, sizeof(field), "project_names[%zu]", i);
                        if (!bg_v_project_name(p->project_names[i], BG_PROJECT_NAME_SIZE,
                                               field, MSG(d)))
                                return false;
                        for (size_t j = 0; j < i; j++) {
                                if (strcmp(p->project_names[i], p->project_names[j]) == 0) {
                                        bg_fmt(MSG(d), "invalid %s: \"%s\" is listed twice",
                                               field, p->project_names[i]);
                                        return false;
                                }
                        }
                }
                return true;
        }
        case BG_CMD_DELETE_PROJECT:
                return v_id(d, &c->payload.delete_project.project_id, "project_id");
        case BG_CMD_ISSUE_CREDIT: {
                const bg_cmd_issue_credit_t *p = &c->payload.issue_credit;

                if (!bg_v_credit_code(p->code, sizeof(p->code), "code", MSG(d)))
                        return false;
                if (p->value <= 0 || p->value > BG_CREDIT_VALUE_MAX) {
                        bg_fmt(MSG(d), "invalid value: must be 1 to %lld micros",
                               (long long)BG_CREDIT_VALUE_MAX);
                        return false;
                }
                if (p->currency <= BG_CURRENCY_UNSET || p->currency >= BG_CURRENCY__COUNT) {
                        bg_fmt(MSG(d), "invalid currency: must be one of AUD CAD CHF DKK EUR "
                               "GBP JPY NOK NZD SEK SGD USD");
                        return false;
                }
                if (p->type <= BG_CREDIT_TYPE_UNSET || p->type >= BG_CREDIT_TYPE__COUNT) {
                        bg_fmt(MSG(d), "invalid type: not a credit type");
                        return false;
                }
                if (p->start_time <= 0) {
                        bg_fmt(MSG(d), "invalid start_time: must be after the epoch");
                        return false;
                }
                /* Times every consumer can hold: PostgreSQL timestamptz, JSON (years up
                 * to 9999), microseconds in int64. */
                if (p->start_time > ACCT_TIME_MAX_MS) {
                        bg_fmt(MSG(d), "invalid start_time: after 9999-12-31T23:59:59.999Z");
                        return false;
                }
                if (p->has_expire_time && p->expire_time > ACCT_TIME_MAX_MS) {
                        bg_fmt(MSG(d), "invalid expire_time: after 9999-12-31T23:59:59.999Z");
                        return false;
                }
                if (p->has_expire_time && p->expire_time <= p->start_time) {
                        bg_fmt(MSG(d), "invalid expire_time: must be after start_time");
                        return false;
                }
                if (p->has_expire_time && p->expire_time <= d->ctx->now_ms) {
                        bg_fmt(MSG(d), "invalid expire_time: already in the past");
                        return false;
                }
                return true;
        }
        case BG_CMD_CLAIM_CREDIT: {
                const bg_cmd_claim_credit_t *p = &c->payload.claim_credit;

                return v_id(d, &p->billing_group_id, "billing_group_id") &&
                       bg_v_credit_code(p->code, sizeof(p->code), "code", MSG(d)) &&
                       (!p->has_project_id || v_id(d, &p->project_id, "project_id"));
        }
        case BG_CMD_NONE:
        case BG_CMD__COUNT:
                break;
        }
        bg_fmt(MSG(d), "invalid type: unknown command type");
        return false;
}

/* ---- 6. authorization ---- */

static dres_t authorize(decide_t *d) {
        const bg_command_t *c = d->cmd;
        const char *type = bg_command_type_name(c->type);
        const char *user = c->actor + 5;        /* after "user:" */
        bg_role_t role;

        if (d->kind == BG_PRINCIPAL_SERVICE)
                return D_OK;                    /* listed: checked in the envelope */
        if (c->type == BG_CMD_CREATE_ACCOUNT) {
                if (bg_email_equal(user, c->payload.create_account.owner))
                        return D_OK;
                return reject(d, BG_REJECT_FORBIDDEN,
                              "user \"%s\" may not create account %s for another owner",
                              user, d->acct);
        }
        if (c->type == BG_CMD_ISSUE_CREDIT)
                return reject(d, BG_REJECT_FORBIDDEN,
                              "user \"%s\" may not IssueCredit: only service principals may",
                              user);
        role = acct_member_role(d->st, user);
        if (role == BG_ROLE_NONE)
                return reject(d, BG_REJECT_FORBIDDEN,
                              "user \"%s\" is not a member of account %s", user, d->acct);
        if (role == BG_ROLE_ADMIN)
                return D_OK;
        if (role == BG_ROLE_BILLING_ADMIN && c->type != BG_CMD_GRANT_ROLE &&
            c->type != BG_CMD_REVOKE_ROLE)
                return D_OK;
        return reject(d, BG_REJECT_FORBIDDEN,
                      "user \"%s\" may not %s on account %s: role %s does not allow it",
                      user, type, d->acct, bg_role_name(role));
}

/* ---- 7. rules against the state, and the events ---- */

static dres_t do_create_account(decide_t *d) {
        const bg_cmd_create_account_t *p = &d->cmd->payload.create_account;
        bg_event_t *ev = emit(d, BG_EVT_ACCOUNT_CREATED);

        if (ev == NULL)
                return D_NOMEM;
        memcpy(ev->payload.account_created.name, p->name, sizeof(p->name));
        memcpy(ev->payload.account_created.owner, p->owner, sizeof(p->owner));
        return D_OK;
}

static dres_t do_grant_role(decide_t *d) {
        const bg_cmd_role_t *p = &d->cmd->payload.grant_role;
        bg_role_t cur = acct_member_role(d->st, p->user);
        bg_event_t *ev;

        if (cur == p->role)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "user \"%s\" already has role %s on account %s", p->user,
                              bg_role_name(cur), d->acct);
        if (cur == BG_ROLE_ADMIN && acct_admin_count(d->st) == 1)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot change the role of user \"%s\": it is the last admin "
                              "of account %s", p->user, d->acct);
        if ((ev = emit(d, BG_EVT_ROLE_GRANTED)) == NULL)
                return D_NOMEM;
        memcpy(ev->payload.role_granted.user, p->user, sizeof(p->user));
        ev->payload.role_granted.role = p->role;
        ev->payload.role_granted.previous_role = cur;
        return D_OK;
}

static dres_t do_revoke_role(decide_t *d) {
        const bg_cmd_role_t *p = &d->cmd->payload.revoke_role;
        bg_role_t cur = acct_member_role(d->st, p->user);
        bg_event_t *ev;

        if (cur == BG_ROLE_NONE)
                return reject(d, BG_REJECT_NOT_FOUND,
                              "user \"%s\" is not a member of account %s", p->user, d->acct);
        if (cur != p->role)
                return reject(d, BG_REJECT_NOT_FOUND,
                              "user \"%s\" does not have role %s on account %s (has %s)",
                              p->user, bg_role_name(p->role), d->acct, bg_role_name(cur));
        if (cur == BG_ROLE_ADMIN && acct_admin_count(d->st) == 1)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot revoke role admin from user \"%s\": it is the last "
                              "admin of account %s", p->user, d->acct);
        if ((ev = emit(d, BG_EVT_ROLE_REVOKED)) == NULL)
                return D_NOMEM;
        memcpy(ev->payload.role_revoked.user, p->user, sizeof(p->user));
        ev->payload.role_revoked.role = p->role;
        return D_OK;
}

static dres_t do_create_billing_group(decide_t *d) {
        const bg_cmd_create_billing_group_t *p = &d->cmd->payload.create_billing_group;
        bg_evt_billing_group_created_t *e;
        const acct_group_t *g = acct_find_group(d->st, &p->billing_group_id);
        bg_profile_t prof;
        bg_event_t *ev;

        if (g != NULL)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "billing group \"%s\" already exists in account %s%s",
                              ID(&p->billing_group_id), d->acct,
                              g->deleted ? " (deleted)" : "");
        if (p->has_copy_from) {
                const acct_group_t *src = live_group(d, &p->copy_from);

                if (src == NULL)
                        return reject(d, BG_REJECT_NOT_FOUND,
                                      "copy_from billing group \"%s\" not found in account %s",
                                      ID(&p->copy_from), d->acct);
                acct_group_profile(src, &prof);
        } else {
                profile_defaults(&prof);
        }
        bg_profile_apply_patch(&prof, &p->profile);
        if (!bg_v_profile(&prof, BG_PROFILE_F_ALL, true, "profile.", MSG(d)))
                return invalid(d);
        if ((ev = emit(d, BG_EVT_BILLING_GROUP_CREATED)) == NULL)
                return D_NOMEM;
        e = &ev->payload.billing_group_created;
        e->billing_group_id = p->billing_group_id;
        memcpy(e->name, p->name, sizeof(e->name));
        e->profile = prof;
        e->has_copied_from = p->has_copy_from;
        if (p->has_copy_from)
                e->copied_from = p->copy_from;
        return D_OK;
}

static dres_t do_update_billing_group(decide_t *d) {
        const bg_cmd_update_billing_group_t *p = &d->cmd->payload.update_billing_group;
        const acct_group_t *g = live_group(d, &p->billing_group_id);
        bg_profile_t prof, cur;
        uint32_t changed;
        bg_event_t *ev;

        if (g == NULL)
                return group_not_found(d, &p->billing_group_id);
        acct_group_profile(g, &prof);
        bg_profile_apply_patch(&prof, &p->profile);
        if (!bg_v_profile(&prof, BG_PROFILE_F_ALL, true, "profile.", MSG(d)))
                return invalid(d);
        acct_group_profile(g, &cur);
        changed = bg_profile_diff(&cur, &prof);
        if ((changed & BG_PROFILE_F_BILLING_CURRENCY) && g->n_claimed_credits > 0)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot change billing_currency of billing group \"%s\": %zu "
                              "claimed credits are in %s", ID(&g->id), g->n_claimed_credits,
                              bg_currency_name(g->billing_currency));
        if (p->has_name && strcmp(p->name, g->name) != 0) {
                bg_evt_billing_group_renamed_t *e;

                if ((ev = emit(d, BG_EVT_BILLING_GROUP_RENAMED)) == NULL)
                        return D_NOMEM;
                e = &ev->payload.billing_group_renamed;
                e->billing_group_id = g->id;
                memcpy(e->previous_name, g->name, sizeof(e->previous_name));
                memcpy(e->name, p->name, sizeof(e->name));
        }
        if (changed != 0) {
                bg_evt_billing_profile_updated_t *e;

                if ((ev = emit(d, BG_EVT_BILLING_PROFILE_UPDATED)) == NULL)
                        return D_NOMEM;
                e = &ev->payload.billing_profile_updated;
                e->billing_group_id = g->id;
                e->changed = changed;
                e->profile = prof;
        }
        return D_OK;
}

static dres_t do_delete_billing_group(decide_t *d) {
        const bg_uuid_t *id = &d->cmd->payload.delete_billing_group.billing_group_id;
        const acct_group_t *g = live_group(d, id);
        bg_uuid_t primary;
        bg_event_t *ev;

        if (g == NULL)
                return group_not_found(d, id);
        if (g->n_live_projects > 0)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot delete billing group \"%s\": %zu project%s still "
                              "assigned", ID(id), g->n_live_projects,
                              g->n_live_projects == 1 ? " is" : "s are");
        if (acct_primary_group(d->st, &primary) && bg_uuid_equal(&primary, id))
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot delete billing group \"%s\": it is the primary billing "
                              "group of account %s", ID(id), d->acct);
        if ((ev = emit(d, BG_EVT_BILLING_GROUP_DELETED)) == NULL)
                return D_NOMEM;
        ev->payload.billing_group_deleted.billing_group_id = *id;
        return D_OK;
}

static dres_t do_set_primary(decide_t *d) {
        const bg_uuid_t *id = &d->cmd->payload.set_primary_billing_group.billing_group_id;
        bg_evt_primary_billing_group_set_t *e;
        bg_uuid_t primary;
        bool has_primary;
        bg_event_t *ev;

        if (live_group(d, id) == NULL)
                return group_not_found(d, id);
        has_primary = acct_primary_group(d->st, &primary);
        if (has_primary && bg_uuid_equal(&primary, id))
                return D_OK;                    /* already primary: nothing to do */
        if ((ev = emit(d, BG_EVT_PRIMARY_BILLING_GROUP_SET)) == NULL)
                return D_NOMEM;
        e = &ev->payload.primary_billing_group_set;
        e->billing_group_id = *id;
        e->has_previous = has_primary;
        if (has_primary)
                e->previous = primary;
        return D_OK;
}

static dres_t do_create_project(decide_t *d) {
        const bg_cmd_create_project_t *p = &d->cmd->payload.create_project;
        const acct_project_t *old = acct_find_project(d->st, &p->project_id);
        bg_evt_project_created_t *e;
        bg_uuid_t group;
        bg_event_t *ev;

        if (old != NULL)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "project \"%s\" already exists in account %s%s",
                              ID(&p->project_id), d->acct, old->deleted ? " (deleted)" : "");
        if (acct_find_live_project_by_name(d->st, p->name) != NULL)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "project name \"%s\" is already used in account %s", p->name,
                              d->acct);
        if (p->has_billing_group_id) {
                if (live_group(d, &p->billing_group_id) == NULL)
                        return group_not_found(d, &p->billing_group_id);
                group = p->billing_group_id;
        } else if (!acct_primary_group(d->st, &group)) {
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot create project \"%s\": no billing group given and "
                              "account %s has no primary billing group", p->name, d->acct);
        }
        if ((ev = emit(d, BG_EVT_PROJECT_CREATED)) == NULL)
                return D_NOMEM;
        e = &ev->payload.project_created;
        e->project_id = p->project_id;
        memcpy(e->name, p->name, sizeof(e->name));
        e->billing_group_id = group;
        return D_OK;
}

static dres_t do_assign_projects(decide_t *d) {
        const bg_cmd_assign_projects_t *p = &d->cmd->payload.assign_projects;
        const acct_project_t *found[BG_ASSIGN_PROJECTS_MAX];
        size_t n_moves = 0;

        if (live_group(d, &p->billing_group_id) == NULL)
                return group_not_found(d, &p->billing_group_id);
        for (size_t i = 0; i < p->n_projects; i++) {
                found[i] = acct_find_live_project_by_name(d->st, p->project_names[i]);
                if (found[i] == NULL)
                        return reject(d, BG_REJECT_NOT_FOUND,
                                      "project \"%s\" not found in account %s",
                                      p->project_names[i], d->acct);
                if (!bg_uuid_equal(&found[i]->billing_group_id, &p->billing_group_id))
                        n_moves++;
        }
        if (n_moves > 0 && !reserve_events(d, n_moves))
                return D_NOMEM;
        for (size_t i = 0; i < p->n_projects; i++) {
                bg_evt_project_moved_t *e;
                bg_event_t *ev;

                if (bg_uuid_equal(&found[i]->billing_group_id, &p->billing_group_id))
                        continue;
                if ((ev = emit(d, BG_EVT_PROJECT_MOVED)) == NULL)
                        return D_NOMEM;
                e = &ev->payload.project_moved;
                e->project_id = found[i]->id;
                e->from_billing_group_id = found[i]->billing_group_id;
                e->to_billing_group_id = p->billing_group_id;
        }
        return D_OK;
}

static dres_t do_delete_project(decide_t *d) {
        const bg_uuid_t *id = &d->cmd->payload.delete_project.project_id;
        const acct_project_t *pr = live_project(d, id);
        bg_event_t *ev;

        if (pr == NULL)
                return reject(d, BG_REJECT_NOT_FOUND, "project \"%s\" not found in account %s%s",
                              ID(id), d->acct,
                              acct_find_project(d->st, id) != NULL ? " (deleted)" : "");
        if ((ev = emit(d, BG_EVT_PROJECT_DELETED)) == NULL)
                return D_NOMEM;
        ev->payload.project_deleted.project_id = *id;
        ev->payload.project_deleted.billing_group_id = pr->billing_group_id;
        return D_OK;
}

static dres_t do_issue_credit(decide_t *d) {
        const bg_cmd_issue_credit_t *p = &d->cmd->payload.issue_credit;
        bg_evt_credit_issued_t *e;
        bg_event_t *ev;

        if (acct_find_credit(d->st, p->code) != NULL)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "credit code \"%s\" already exists in account %s", p->code,
                              d->acct);
        if ((ev = emit(d, BG_EVT_CREDIT_ISSUED)) == NULL)
                return D_NOMEM;
        e = &ev->payload.credit_issued;
        memcpy(e->code, p->code, sizeof(e->code));
        e->value = p->value;
        e->currency = p->currency;
        e->type = p->type;
        e->start_time = p->start_time;
        e->has_expire_time = p->has_expire_time;
        e->expire_time = p->has_expire_time ? p->expire_time : 0;
        return D_OK;
}

static dres_t do_claim_credit(decide_t *d) {
        const bg_cmd_claim_credit_t *p = &d->cmd->payload.claim_credit;
        const acct_group_t *g = live_group(d, &p->billing_group_id);
        const acct_credit_t *cr;
        bg_evt_credit_claimed_t *e;
        bg_event_t *ev;

        if (g == NULL)
                return group_not_found(d, &p->billing_group_id);
        cr = acct_find_credit(d->st, p->code);
        if (cr == NULL)
                return reject(d, BG_REJECT_NOT_FOUND, "credit code \"%s\" not found in account %s",
                              p->code, d->acct);
        if (cr->claimed)
                return reject(d, BG_REJECT_ALREADY_EXISTS,
                              "credit code \"%s\" was already claimed by billing group \"%s\"",
                              p->code, ID(&cr->billing_group_id));
        if (cr->has_expire_time && cr->expire_time <= d->ctx->now_ms)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot claim credit code \"%s\": it expired at %lld ms",
                              p->code, (long long)cr->expire_time);
        if (cr->currency != g->billing_currency)
                return reject(d, BG_REJECT_FAILED_PRECONDITION,
                              "cannot claim credit code \"%s\" for billing group \"%s\": the "
                              "credit is in %s, the group bills in %s", p->code, ID(&g->id),
                              bg_currency_name(cr->currency),
                              bg_currency_name(g->billing_currency));
        if (p->has_project_id) {
                const acct_project_t *pr = live_project(d, &p->project_id);

                if (pr == NULL)
                        return reject(d, BG_REJECT_NOT_FOUND,
                                      "project \"%s\" not found in account %s",
                                      ID(&p->project_id), d->acct);
                if (!bg_uuid_equal(&pr->billing_group_id, &g->id))
                        return reject(d, BG_REJECT_FAILED_PRECONDITION,
                                      "cannot claim credit code \"%s\" for project \"%s\": it "
                                      "is not in billing group \"%s\"", p->code, pr->name,
                                      ID(&g->id));
        }
        if ((ev = emit(d, BG_EVT_CREDIT_CLAIMED)) == NULL)
                return D_NOMEM;
        e = &ev->payload.credit_claimed;
        memcpy(e->code, p->code, sizeof(e->code));
        e->billing_group_id = g->id;
        e->has_project_id = p->has_project_id;
        if (p->has_project_id)
                e->project_id = p->project_id;
        return D_OK;
}

static dres_t execute(decide_t *d) {
        switch (d->cmd->type) {
        case BG_CMD_CREATE_ACCOUNT:            return do_create_account(d);
        case BG_CMD_GRANT_ROLE:                return do_grant_role(d);
        case BG_CMD_REVOKE_ROLE:               return do_revoke_role(d);
        case BG_CMD_CREATE_BILLING_GROUP:      return do_create_billing_group(d);
        case BG_CMD_UPDATE_BILLING_GROUP:      return do_update_billing_group(d);
        case BG_CMD_DELETE_BILLING_GROUP:      return do_delete_billing_group(d);
        case BG_CMD_SET_PRIMARY_BILLING_GROUP: return do_set_primary(d);
        case BG_CMD_CREATE_PROJECT:            return do_create_project(d);
        case BG_CMD_ASSIGN_PROJECTS:           return do_assign_projects(d);
        case BG_CMD_DELETE_PROJECT:            return do_delete_project(d);
        case BG_CMD_ISSUE_CREDIT:              return do_issue_credit(d);
        case BG_CMD_CLAIM_CREDIT:              return do_claim_credit(d);
        case BG_CMD_NONE:
        case BG_CMD__COUNT:
                break;
        }
        return reject(d, BG_REJECT_INVALID_ARGUMENT, "invalid type: unknown command type");
}

static bool service_listed(const acct_ctx_t *ctx, const char *actor) {
        for (size_t i = 0; i < ctx->n_service_principals; i++)
                if (ctx->service_principals[i] != NULL &&
                    strcmp(ctx->service_principals[i], actor) == 0)
                        return true;
        return false;
}

/* Steps 1-6; D_OK means: go on to the rules. */
static dres_t check_envelope(decide_t *d) {
        const bg_command_t *c = d->cmd;
        const acct_state_t *st = d->st;

        if (bg_uuid_is_nil(&c->command_id))
                return reject(d, BG_REJECT_INVALID_ARGUMENT,
                              "invalid command_id: must not be nil");
        if (acct_command_seqs(st, &c->command_id, &d->out->result.first_seq,
                              &d->out->result.last_seq)) {
                d->out->result.outcome = BG_OUTCOME_DUPLICATE;
                return D_REJECTED;              /* stop here; not a rejection */
        }
        if (bg_uuid_is_nil(&c->account_id))
                return reject(d, BG_REJECT_INVALID_ARGUMENT,
                              "invalid account_id: must not be nil");
        if (c->type <= BG_CMD_NONE || c->type >= BG_CMD__COUNT)
                return reject(d, BG_REJECT_INVALID_ARGUMENT,
                              "invalid type: unknown command type %d", (int)c->type);
        d->kind = bg_v_principal(c->actor, sizeof(c->actor));
        if (d->kind == BG_PRINCIPAL_INVALID)
                return reject(d, BG_REJECT_INVALID_ARGUMENT,
                              "invalid actor: must be \"user:<email>\" or \"service:<name>\"");
        if (d->kind == BG_PRINCIPAL_SERVICE && !service_listed(d->ctx, c->actor))
                return reject(d, BG_REJECT_FORBIDDEN,
                              "actor \"%s\" is not a trusted service principal", c->actor);
        if (!acct_exists(st) && c->type != BG_CMD_CREATE_ACCOUNT)
                return reject(d, BG_REJECT_NOT_FOUND, "account %s not found", d->acct);
        if (acct_exists(st) && c->type == BG_CMD_CREATE_ACCOUNT)
                return reject(d, BG_REJECT_ALREADY_EXISTS, "account %s already exists",
                              d->acct);
        if (c->has_expected_version && c->expected_version != st->version)
                return reject(d, BG_REJECT_CONFLICT,
                              "account %s is at version %lld, the command expected %lld",
                              d->acct, (long long)st->version,
                              (long long)c->expected_version);
        if (!validate(d))
                return invalid(d);
        return authorize(d);
}

acct_err_t acct_decide(const acct_state_t *st, const bg_command_t *cmd,
                       const acct_ctx_t *ctx, acct_decision_t *out) {
        decide_t d;
        dres_t r;

        if (out != NULL) {
                /* Keep the events buffer: a service decides many commands with one
                 * decision, and an event is ~12 KiB to allocate and free each time. */
                out->n_events = 0;
                memset(&out->result, 0, sizeof(out->result));
        }
        if (st == NULL || cmd == NULL || ctx == NULL || out == NULL ||
            ctx->new_event_id == NULL ||
            (ctx->n_service_principals > 0 && ctx->service_principals == NULL))
                return ACCT_ERR_ARG;
        /* The caller must pass the state of the command's account. */
        if (acct_exists(st) && !bg_uuid_equal(&st->account_id, &cmd->account_id))
                return ACCT_ERR_ARG;

        memset(&d, 0, sizeof(d));
        d.st = st;
        d.cmd = cmd;
        d.ctx = ctx;
        d.out = out;
        bg_uuid_format(&cmd->account_id, d.acct);
        out->result.command_id = cmd->command_id;
        out->result.account_id = cmd->account_id;
        out->result.outcome = BG_OUTCOME_ACCEPTED;

        r = check_envelope(&d);
        if (r == D_OK)
                r = execute(&d);
        if (r == D_NOMEM) {
                acct_decision_clear(out);
                return ACCT_ERR_NOMEM;
        }
        if (r == D_REJECTED) {
                /* No events with a rejection or a duplicate. */
                out->n_events = 0;
                if (out->result.outcome == BG_OUTCOME_REJECTED)
                        out->result.first_seq = out->result.last_seq = 0;
                return ACCT_OK;
        }
        out->result.first_seq = st->version + 1;
        out->result.last_seq = st->version + (int64_t)out->n_events;
        return ACCT_OK;
}
