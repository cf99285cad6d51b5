/*
 * acct_evolve: applies one event to the state. It checks the event first (seq, hash link,
 * account, payload, consistency with the state) and changes nothing when a check fails, so
 * that `audit verify` can fold an untrusted log through it.
 */
#include <string.h>

#include "acct_internal.h"

typedef struct evolve_s {
        acct_state_t *st;
        const bg_event_t *ev;
        char *errstr;
        size_t errstr_size;
        bg_profile_packed_t *packed;    /* the profile of a group event, packed ahead */
} evolve_t;

static acct_err_t fail(evolve_t *e, acct_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static acct_err_t fail(evolve_t *e, acct_err_t err, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        bg_vfmt(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        bg_fmt(e->errstr, e->errstr_size, "event seq %lld (%s): %s", (long long)e->ev->seq,
               bg_event_type_name(e->ev->type) ? bg_event_type_name(e->ev->type) : "?", msg);
        return err;
}

/* A validator wrote its message into @msg. */
static acct_err_t fail_invalid(evolve_t *e, const char *msg) {
        return fail(e, ACCT_ERR_INVALID, "%s", msg);
}

static const char *id_str(const bg_uuid_t *id, char buf[BG_UUID_STR_LEN + 1]) {
        bg_uuid_format(id, buf);
        return buf;
}

static acct_group_t *live_group(evolve_t *e, const bg_uuid_t *id) {
        acct_group_t *g = acct__group(e->st, id);

        return g != NULL && !g->deleted ? g : NULL;
}

static acct_project_t *live_project(evolve_t *e, const bg_uuid_t *id) {
        acct_project_t *p = acct__project(e->st, id);

        return p != NULL && !p->deleted ? p : NULL;
}

static bool valid_role(bg_role_t r) {
        return r > BG_ROLE_NONE && r < BG_ROLE__COUNT;
}

static bool is_primary(const acct_state_t *st, const bg_uuid_t *id) {
        return st->has_primary && bg_uuid_equal(&st->primary, id);
}

/* Checks the payload against the state; changes nothing. */
static acct_err_t check(evolve_t *e) {
        const bg_event_t *ev = e->ev;
        acct_state_t *st = e->st;
        char msg[BG_REJECT_MESSAGE_SIZE];
        char b1[BG_UUID_STR_LEN + 1];

        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                const bg_evt_account_created_t *p = &ev->payload.account_created;

                if (!bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false, true, "name",
                               msg, sizeof(msg)) ||
                    !bg_v_email(p->owner, sizeof(p->owner), "owner", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                return ACCT_OK;
        }
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *p = &ev->payload.role_granted;
                bg_role_t cur;

                if (!bg_v_email(p->user, sizeof(p->user), "user", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                if (!valid_role(p->role) ||
                    (p->previous_role != BG_ROLE_NONE && !valid_role(p->previous_role)))
                        return fail(e, ACCT_ERR_INVALID, "invalid role");
                cur = acct_member_role(st, p->user);
                if (cur != p->previous_role)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "user \"%s\" has role %s, the event says %s", p->user,
                                    cur ? bg_role_name(cur) : "none",
                                    p->previous_role ? bg_role_name(p->previous_role) : "none");
                if (cur == p->role)
                        return fail(e, ACCT_ERR_INCONSISTENT, "user \"%s\" already has role %s",
                                    p->user, bg_role_name(cur));
                if (cur == BG_ROLE_ADMIN && acct_admin_count(st) == 1)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "user \"%s\" is the last admin", p->user);
                return ACCT_OK;
        }
        case BG_EVT_ROLE_REVOKED: {
                const bg_evt_role_revoked_t *p = &ev->payload.role_revoked;
                bg_role_t cur;

                if (!bg_v_email(p->user, sizeof(p->user), "user", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                if (!valid_role(p->role))
                        return fail(e, ACCT_ERR_INVALID, "invalid role");
                cur = acct_member_role(st, p->user);
                if (cur != p->role)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "user \"%s\" does not have role %s", p->user,
                                    bg_role_name(p->role));
                if (cur == BG_ROLE_ADMIN && acct_admin_count(st) == 1)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "user \"%s\" is the last admin", p->user);
                return ACCT_OK;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *p = &ev->payload.billing_group_created;

                if (bg_uuid_is_nil(&p->billing_group_id))
                        return fail(e, ACCT_ERR_INVALID, "nil billing_group_id");
                if (!bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false, true, "name",
                               msg, sizeof(msg)) ||
                    !bg_v_profile(&p->profile, BG_PROFILE_F_ALL, true, "profile.", msg,
                                  sizeof(msg)))
                        return fail_invalid(e, msg);
                if (acct__group(st, &p->billing_group_id) != NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "billing group \"%s\" already exists",
                                    id_str(&p->billing_group_id, b1));
                if (p->has_copied_from && live_group(e, &p->copied_from) == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "copied_from billing group \"%s\" does not exist",
                                    id_str(&p->copied_from, b1));
                return ACCT_OK;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                const bg_evt_billing_group_renamed_t *p = &ev->payload.billing_group_renamed;
                const acct_group_t *g = live_group(e, &p->billing_group_id);

                if (!bg_v_text(p->name, sizeof(p->name), BG_NAME_MAX, false, true, "name",
                               msg, sizeof(msg)) ||
                    !bg_v_terminated(p->previous_name, sizeof(p->previous_name)))
                        return fail_invalid(e, "invalid name or previous_name");
                if (g == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                if (strcmp(g->name, p->previous_name) != 0)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "previous_name does not match billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                return ACCT_OK;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *p = &ev->payload.billing_profile_updated;
                const acct_group_t *g = live_group(e, &p->billing_group_id);
                bg_profile_t cur_profile, *cur = &cur_profile;

                if (!bg_v_profile(&p->profile, BG_PROFILE_F_ALL, true, "profile.", msg,
                                  sizeof(msg)))
                        return fail_invalid(e, msg);
                if (g == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                acct_group_profile(g, cur);
                if (p->changed == 0 || p->changed != bg_profile_diff(cur, &p->profile))
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "changed mask 0x%x does not match the profile change 0x%x",
                                    (unsigned)p->changed,
                                    (unsigned)bg_profile_diff(cur, &p->profile));
                if ((p->changed & BG_PROFILE_F_BILLING_CURRENCY) && g->n_claimed_credits > 0)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "billing_currency changed with claimed credits");
                return ACCT_OK;
        }
        case BG_EVT_BILLING_GROUP_DELETED: {
                const bg_uuid_t *id = &ev->payload.billing_group_deleted.billing_group_id;
                const acct_group_t *g = live_group(e, id);

                if (g == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(id, b1));
                if (g->n_live_projects > 0 || is_primary(st, id))
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "billing group \"%s\" has projects or is primary",
                                    id_str(id, b1));
                return ACCT_OK;
        }
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                const bg_evt_primary_billing_group_set_t *p =
                        &ev->payload.primary_billing_group_set;

                if (live_group(e, &p->billing_group_id) == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                if (p->has_previous != st->has_primary ||
                    (p->has_previous && !bg_uuid_equal(&p->previous, &st->primary)))
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "previous primary billing group does not match");
                if (is_primary(st, &p->billing_group_id))
                        return fail(e, ACCT_ERR_INCONSISTENT, "already the primary group");
                return ACCT_OK;
        }
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *p = &ev->payload.project_created;

                if (bg_uuid_is_nil(&p->project_id))
                        return fail(e, ACCT_ERR_INVALID, "nil project_id");
                if (!bg_v_project_name(p->name, sizeof(p->name), "name", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                if (acct__project(st, &p->project_id) != NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "project \"%s\" already exists",
                                    id_str(&p->project_id, b1));
                if (acct_find_live_project_by_name(st, p->name) != NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "project name \"%s\" already in use", p->name);
                if (live_group(e, &p->billing_group_id) == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                return ACCT_OK;
        }
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *p = &ev->payload.project_moved;
                const acct_project_t *pr = live_project(e, &p->project_id);

                if (pr == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no project \"%s\"",
                                    id_str(&p->project_id, b1));
                if (!bg_uuid_equal(&pr->billing_group_id, &p->from_billing_group_id))
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "project \"%s\" is not in the from billing group", pr->name);
                if (bg_uuid_equal(&p->from_billing_group_id, &p->to_billing_group_id))
                        return fail(e, ACCT_ERR_INCONSISTENT, "move to the same billing group");
                if (live_group(e, &p->to_billing_group_id) == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->to_billing_group_id, b1));
                return ACCT_OK;
        }
        case BG_EVT_PROJECT_DELETED: {
                const bg_evt_project_deleted_t *p = &ev->payload.project_deleted;
                const acct_project_t *pr = live_project(e, &p->project_id);

                if (pr == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no project \"%s\"",
                                    id_str(&p->project_id, b1));
                if (!bg_uuid_equal(&pr->billing_group_id, &p->billing_group_id))
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "project \"%s\" is not in that billing group", pr->name);
                return ACCT_OK;
        }
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *p = &ev->payload.credit_issued;

                if (!bg_v_credit_code(p->code, sizeof(p->code), "code", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                if (p->value <= 0 || p->value > BG_CREDIT_VALUE_MAX ||
                    p->currency <= BG_CURRENCY_UNSET || p->currency >= BG_CURRENCY__COUNT ||
                    p->type <= BG_CREDIT_TYPE_UNSET || p->type >= BG_CREDIT_TYPE__COUNT ||
                    p->start_time <= 0 ||
                    (p->has_expire_time && p->expire_time <= p->start_time))
                        return fail(e, ACCT_ERR_INVALID, "invalid credit \"%s\"", p->code);
                if (acct__credit(st, p->code) != NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "credit code \"%s\" already exists", p->code);
                return ACCT_OK;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *p = &ev->payload.credit_claimed;
                const acct_credit_t *cr;
                const acct_group_t *g;

                if (!bg_v_credit_code(p->code, sizeof(p->code), "code", msg, sizeof(msg)))
                        return fail_invalid(e, msg);
                cr = acct__credit(st, p->code);
                g = live_group(e, &p->billing_group_id);
                if (cr == NULL || cr->claimed)
                        return fail(e, ACCT_ERR_INCONSISTENT,
                                    "credit code \"%s\" is unknown or already claimed", p->code);
                if (g == NULL)
                        return fail(e, ACCT_ERR_INCONSISTENT, "no billing group \"%s\"",
                                    id_str(&p->billing_group_id, b1));
                if (cr->currency != g->billing_currency)
                        return fail(e, ACCT_ERR_INCONSISTENT, "credit currency mismatch");
                if (cr->has_expire_time && cr->expire_time <= ev->occurred_at)
                        return fail(e, ACCT_ERR_INCONSISTENT, "credit claimed after expiry");
                if (p->has_project_id) {
                        const acct_project_t *pr = live_project(e, &p->project_id);

                        if (pr == NULL || !bg_uuid_equal(&pr->billing_group_id, &g->id))
                                return fail(e, ACCT_ERR_INCONSISTENT,
                                            "project \"%s\" is not live in the billing group",
                                            id_str(&p->project_id, b1));
                }
                return ACCT_OK;
        }
        case BG_EVT_NONE:
        case BG_EVT__COUNT:
                break;
        }
        return fail(e, ACCT_ERR_INVALID, "unknown event type %d", (int)ev->type);
}

/* Applies a checked event; room was reserved, nothing here can fail. */
static void apply(evolve_t *e) {
        const bg_event_t *ev = e->ev;
        acct_state_t *st = e->st;

        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                const bg_evt_account_created_t *p = &ev->payload.account_created;
                acct_member_t *m = &st->members[st->n_members++];

                st->account_id = ev->account_id;
                memcpy(st->name, p->name, sizeof(st->name));
                memset(m, 0, sizeof(*m));
                memcpy(m->user, p->owner, sizeof(m->user));
                m->role = BG_ROLE_ADMIN;
                break;
        }
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *p = &ev->payload.role_granted;
                acct_member_t *m = acct__member(st, p->user);

                if (m == NULL) {
                        m = &st->members[st->n_members++];
                        memset(m, 0, sizeof(*m));
                        memcpy(m->user, p->user, sizeof(m->user));
                }
                m->role = p->role;
                break;
        }
        case BG_EVT_ROLE_REVOKED: {
                acct_member_t *m = acct__member(st, ev->payload.role_revoked.user);
                size_t i = (size_t)(m - st->members);

                memmove(&st->members[i], &st->members[i + 1],
                        (st->n_members - i - 1) * sizeof(*m));
                st->n_members--;
                break;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *p = &ev->payload.billing_group_created;
                acct_group_t *g = &st->groups[st->n_groups++];

                memset(g, 0, sizeof(*g));
                g->id = p->billing_group_id;
                memcpy(g->name, p->name, sizeof(g->name));
                g->billing_currency = p->profile.billing_currency;
                memcpy(g->country_code, p->profile.country_code, sizeof(g->country_code));
                g->profile = e->packed;
                g->created_seq = ev->seq;
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                const bg_evt_billing_group_renamed_t *p = &ev->payload.billing_group_renamed;

                memcpy(acct__group(st, &p->billing_group_id)->name, p->name, sizeof(p->name));
                break;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *p = &ev->payload.billing_profile_updated;

                acct_group_t *g = acct__group(st, &p->billing_group_id);

                bg_profile_packed_free(g->profile);
                g->profile = e->packed;
                g->billing_currency = p->profile.billing_currency;
                memcpy(g->country_code, p->profile.country_code, sizeof(g->country_code));
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED: {
                acct_group_t *g = acct__group(st, &ev->payload.billing_group_deleted.billing_group_id);

                g->deleted = true;
                g->deleted_seq = ev->seq;
                break;
        }
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                st->has_primary = true;
                st->primary = ev->payload.primary_billing_group_set.billing_group_id;
                break;
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *p = &ev->payload.project_created;
                acct_project_t *pr = &st->projects[st->n_projects++];

                memset(pr, 0, sizeof(*pr));
                pr->id = p->project_id;
                memcpy(pr->name, p->name, sizeof(pr->name));
                pr->billing_group_id = p->billing_group_id;
                pr->created_seq = ev->seq;
                acct__group(st, &p->billing_group_id)->n_live_projects++;
                break;
        }
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *p = &ev->payload.project_moved;

                acct__project(st, &p->project_id)->billing_group_id = p->to_billing_group_id;
                acct__group(st, &p->from_billing_group_id)->n_live_projects--;
                acct__group(st, &p->to_billing_group_id)->n_live_projects++;
                break;
        }
        case BG_EVT_PROJECT_DELETED: {
                const bg_evt_project_deleted_t *p = &ev->payload.project_deleted;
                acct_project_t *pr = acct__project(st, &p->project_id);

                pr->deleted = true;
                pr->deleted_seq = ev->seq;
                acct__group(st, &p->billing_group_id)->n_live_projects--;
                break;
        }
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *p = &ev->payload.credit_issued;
                acct_credit_t *c = &st->credits[st->n_credits++];

                memset(c, 0, sizeof(*c));
                memcpy(c->code, p->code, sizeof(c->code));
                c->value = p->value;
                c->currency = p->currency;
                c->type = p->type;
                c->start_time = p->start_time;
                c->has_expire_time = p->has_expire_time;
                c->expire_time = p->has_expire_time ? p->expire_time : 0;
                c->issued_seq = ev->seq;
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *p = &ev->payload.credit_claimed;
                acct_credit_t *c = acct__credit(st, p->code);

                c->claimed = true;
                c->billing_group_id = p->billing_group_id;
                c->has_project_id = p->has_project_id;
                if (p->has_project_id)
                        c->project_id = p->project_id;
                c->claimed_seq = ev->seq;
                acct__group(st, &p->billing_group_id)->n_claimed_credits++;
                break;
        }
        case BG_EVT_NONE:
        case BG_EVT__COUNT:
                break;
        }
}

acct_err_t acct_evolve(acct_state_t *st, const bg_event_t *ev, char *errstr,
                       size_t errstr_size) {
        evolve_t e = { .st = st, .ev = ev, .errstr = errstr, .errstr_size = errstr_size };
        const acct_cmdrec_t *rec;
        bool same_command;
        acct_err_t err;
        char b1[BG_UUID_STR_LEN + 1], b2[BG_UUID_STR_LEN + 1];

        if (errstr != NULL && errstr_size > 0)
                errstr[0] = '\0';
        if (st == NULL || ev == NULL) {
                bg_fmt(errstr, errstr_size, "no state or no event");
                return ACCT_ERR_ARG;
        }
        if (ev->seq != st->version + 1)
                return fail(&e, ACCT_ERR_SEQ, "expected seq %lld", (long long)st->version + 1);
        if (ev->type <= BG_EVT_NONE || ev->type >= BG_EVT__COUNT)
                return fail(&e, ACCT_ERR_INVALID, "unknown event type %d", (int)ev->type);
        if (bg_uuid_is_nil(&ev->account_id) || bg_uuid_is_nil(&ev->command_id) ||
            bg_uuid_is_nil(&ev->event_id))
                return fail(&e, ACCT_ERR_INVALID, "nil account_id, command_id or event_id");
        if (bg_v_principal(ev->actor, sizeof(ev->actor)) == BG_PRINCIPAL_INVALID)
                return fail(&e, ACCT_ERR_INVALID, "invalid actor");
        if (st->version == 0 && ev->type != BG_EVT_ACCOUNT_CREATED)
                return fail(&e, ACCT_ERR_INCONSISTENT, "the first event must be AccountCreated");
        if (st->version > 0 && ev->type == BG_EVT_ACCOUNT_CREATED)
                return fail(&e, ACCT_ERR_INCONSISTENT, "account already created");
        if (st->version > 0 && !bg_uuid_equal(&ev->account_id, &st->account_id))
                return fail(&e, ACCT_ERR_INVALID, "event of account %s in the log of account %s",
                            id_str(&ev->account_id, b1), id_str(&st->account_id, b2));
        if (memcmp(ev->prev_hash, st->last_hash, BG_HASH_SIZE) != 0)
                return fail(&e, ACCT_ERR_INCONSISTENT, "prev_hash is not the previous hash");
        /* A command's events are contiguous: the same command as the last event extends
         * its range, a command seen before anywhere else is a replay. */
        same_command = st->has_last_command &&
                       bg_uuid_equal(&st->last_command_id, &ev->command_id);
        rec = acct__cmd_find(st, &ev->command_id);
        if (!same_command && rec != NULL)
                return fail(&e, ACCT_ERR_INCONSISTENT,
                            "command %s already produced seq %lld..%lld",
                            id_str(&ev->command_id, b1), (long long)rec->first_seq,
                            (long long)rec->last_seq);
        if ((err = check(&e)) != ACCT_OK)
                return err;
        if (acct__reserve(st) != ACCT_OK)
                return fail(&e, ACCT_ERR_NOMEM, "out of memory");
        /* The one allocation apply() needs is made here, so that apply cannot fail. */
        if (ev->type == BG_EVT_BILLING_GROUP_CREATED || ev->type == BG_EVT_BILLING_PROFILE_UPDATED) {
                e.packed = bg_profile_pack(ev->type == BG_EVT_BILLING_GROUP_CREATED
                                                   ? &ev->payload.billing_group_created.profile
                                                   : &ev->payload.billing_profile_updated.profile);
                if (e.packed == NULL)
                        return fail(&e, ACCT_ERR_NOMEM, "out of memory");
        }

        apply(&e);
        if (same_command)
                acct__cmd_find(st, &ev->command_id)->last_seq = ev->seq;
        else
                acct__cmd_insert(st, &ev->command_id, ev->seq);
        st->has_last_command = true;
        st->last_command_id = ev->command_id;
        st->version = ev->seq;
        memcpy(st->last_hash, ev->hash, BG_HASH_SIZE);
        return ACCT_OK;
}
