#include "pj_describe.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bg_money.h"

typedef struct desc_s {
        char *d_buf;
        size_t d_len;
} desc_t;

static void put(desc_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(desc_t *d, const char *fmt, ...) {
        va_list ap;
        int n;

        if (d->d_len >= PJ_DESC_SIZE - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(d->d_buf + d->d_len, PJ_DESC_SIZE - d->d_len, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        d->d_len += (size_t)n;
        if (d->d_len >= PJ_DESC_SIZE - 1) {
                /* Cut: drop a partial UTF-8 sequence at the end. */
                size_t len = PJ_DESC_SIZE - 1, i = len;
                while (i > 0 && ((unsigned char)d->d_buf[i - 1] & 0xC0) == 0x80)
                        i--;
                if (i > 0 && ((unsigned char)d->d_buf[i - 1] & 0x80) != 0) {
                        unsigned char lead = (unsigned char)d->d_buf[i - 1];
                        size_t need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
                        if (len - (i - 1) < need)
                                len = i - 1;
                }
                d->d_buf[len] = '\0';
                d->d_len = PJ_DESC_SIZE - 1;
        }
}

typedef struct name_s {
        char n_buf[BG_UUID_STR_LEN + 1];
} name_t;

/* The name of a group or project, or its id in the caller's buffer when unknown. */
static const char *name_of(const char *(*fn)(void *, const bg_uuid_t *), void *opaque,
                           const bg_uuid_t *id, name_t *tmp) {
        const char *s = fn ? fn(opaque, id) : NULL;

        if (s != NULL)
                return s;
        bg_uuid_format(id, tmp->n_buf);
        return tmp->n_buf;
}

static void date_of(int64_t ms, char out[16]) {
        time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;

        if (gmtime_r(&t, &tm) == NULL) {
                snprintf(out, 16, "?");
                return;
        }
        strftime(out, 16, "%Y-%m-%d", &tm);
}

static void changed_fields(desc_t *d, uint32_t changed) {
        bool first = true;

        for (uint32_t bit = 1; bit != 0 && bit <= BG_PROFILE_F_ALL; bit <<= 1) {
                const char *f;
                if ((changed & bit) == 0 || (f = bg_profile_field_name(bit)) == NULL)
                        continue;
                put(d, "%s%s", first ? "" : ", ", f);
                first = false;
        }
}

void pj_describe(const bg_event_t *ev, const pj_names_t *names, char out[PJ_DESC_SIZE]) {
        desc_t d = {out, 0};
        name_t t1, t2, t3;
        void *o = names ? names->pn_opaque : NULL;
        const char *(*gn)(void *, const bg_uuid_t *) = names ? names->pn_group : NULL;
        const char *(*pn)(void *, const bg_uuid_t *) = names ? names->pn_project : NULL;

        out[0] = '\0';
        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED:
                put(&d, "Created account \"%s\" owned by %s", ev->payload.account_created.name,
                    ev->payload.account_created.owner);
                break;
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *p = &ev->payload.role_granted;
                if (p->previous_role == BG_ROLE_NONE)
                        put(&d, "Granted role %s to %s", bg_role_name(p->role), p->user);
                else
                        put(&d, "Changed the role of %s from %s to %s", p->user,
                            bg_role_name(p->previous_role), bg_role_name(p->role));
                break;
        }
        case BG_EVT_ROLE_REVOKED:
                put(&d, "Revoked role %s from %s", bg_role_name(ev->payload.role_revoked.role),
                    ev->payload.role_revoked.user);
                break;
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *p = &ev->payload.billing_group_created;
                put(&d, "Created billing group \"%s\"", p->name);
                if (p->has_copied_from)
                        put(&d, " as a copy of \"%s\"", name_of(gn, o, &p->copied_from, &t1));
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED:
                put(&d, "Renamed billing group \"%s\" to \"%s\"",
                    ev->payload.billing_group_renamed.previous_name,
                    ev->payload.billing_group_renamed.name);
                break;
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *p = &ev->payload.billing_profile_updated;
                put(&d, "Updated the billing information of \"%s\": ",
                    name_of(gn, o, &p->billing_group_id, &t1));
                changed_fields(&d, p->changed);
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED:
                put(&d, "Deleted billing group \"%s\"",
                    name_of(gn, o, &ev->payload.billing_group_deleted.billing_group_id, &t1));
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                const bg_evt_primary_billing_group_set_t *p = &ev->payload.primary_billing_group_set;
                put(&d, "Set \"%s\" as the primary billing group",
                    name_of(gn, o, &p->billing_group_id, &t1));
                if (p->has_previous)
                        put(&d, " instead of \"%s\"", name_of(gn, o, &p->previous, &t2));
                break;
        }
        case BG_EVT_PROJECT_CREATED:
                put(&d, "Created project \"%s\" in billing group \"%s\"",
                    ev->payload.project_created.name,
                    name_of(gn, o, &ev->payload.project_created.billing_group_id, &t1));
                break;
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *p = &ev->payload.project_moved;
                put(&d, "Moved project \"%s\" from \"%s\" to \"%s\"",
                    name_of(pn, o, &p->project_id, &t1),
                    name_of(gn, o, &p->from_billing_group_id, &t2),
                    name_of(gn, o, &p->to_billing_group_id, &t3));
                break;
        }
        case BG_EVT_PROJECT_DELETED:
                put(&d, "Deleted project \"%s\" of billing group \"%s\"",
                    name_of(pn, o, &ev->payload.project_deleted.project_id, &t1),
                    name_of(gn, o, &ev->payload.project_deleted.billing_group_id, &t2));
                break;
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *p = &ev->payload.credit_issued;
                const char *cur = bg_currency_name(p->currency);
                const bg_money_currency_t *mc = cur ? bg_money_currency_find(cur, strlen(cur)) : NULL;
                char amount[BG_MONEY_STR_SIZE], from[16], until[16];

                /* "100.00" in the currency's minor unit; all six digits when it has more. */
                if (mc == NULL || bg_money_format_currency(p->value, mc, amount, NULL) != BG_MONEY_OK)
                        bg_money_format(p->value, amount);
                date_of(p->start_time, from);
                put(&d, "Issued %s credit \"%s\" of %s %s, valid from %s",
                    bg_credit_type_name(p->type) ? bg_credit_type_name(p->type) : "?", p->code,
                    amount, cur ? cur : "?", from);
                if (p->has_expire_time) {
                        date_of(p->expire_time, until);
                        put(&d, " until %s", until);
                }
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *p = &ev->payload.credit_claimed;
                put(&d, "Claimed credit \"%s\" for billing group \"%s\"", p->code,
                    name_of(gn, o, &p->billing_group_id, &t1));
                if (p->has_project_id)
                        put(&d, ", project \"%s\" only", name_of(pn, o, &p->project_id, &t2));
                break;
        }
        default:
                put(&d, "%s", bg_event_type_name(ev->type) ? bg_event_type_name(ev->type) : "?");
                break;
        }
}
