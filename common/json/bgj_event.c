/* Events -> JSON (audit tool, events endpoint) and one-line human descriptions. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bg_money.h"
#include "bgj_int.h"

/* ---- JSON ---- */

static json_t *w_hash(const uint8_t h[BG_HASH_SIZE]) {
        static const char hex[] = "0123456789abcdef";
        char buf[BG_HASH_SIZE * 2 + 1];

        for (size_t i = 0; i < BG_HASH_SIZE; i++) {
                buf[2 * i] = hex[h[i] >> 4];
                buf[2 * i + 1] = hex[h[i] & 0xf];
        }
        buf[BG_HASH_SIZE * 2] = '\0';
        return json_stringn(buf, BG_HASH_SIZE * 2);
}

/* "changed" of BillingProfileUpdated: the field names in bit order. */
static json_t *w_changed(uint32_t changed) {
        json_t *a = json_array();

        if (a == NULL)
                return NULL;
        for (unsigned i = 0; i < 32; i++) {
                const char *name;

                if (!(changed & (1u << i)))
                        continue;
                name = bg_profile_field_name((bg_profile_field_t)(1u << i));
                if (name == NULL || json_array_append_new(a, json_string(name)) != 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *w_uuid_if(bool has, const bg_uuid_t *id) {
        return has ? bgj__w_uuid(id) : json_null();
}

/* Adds the whole profile's keys to @o. */
static int put_profile(json_t *o, const bg_profile_t *p) {
        json_t *prof = bgj_profile_to_json(p);
        int rc;

        if (prof == NULL)
                return -1;
        rc = json_object_update(o, prof);
        json_decref(prof);
        return rc;
}

static int wr_payload(json_t *o, const bg_event_t *ev) {
        int rc = 0;

#define PUT(key, value)                                                         \
        do {                                                                    \
                if (rc == 0)                                                    \
                        rc = bgj__put(o, key, (value));                         \
        } while (0)

        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                const bg_evt_account_created_t *e = &ev->payload.account_created;

                PUT("account_name", BGJ_W_STR(e->name));
                PUT("owner", BGJ_W_STR(e->owner));
                break;
        }
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *e = &ev->payload.role_granted;

                PUT("user", BGJ_W_STR(e->user));
                PUT("role", bgj__w_enum(BGJ_ENUM_ROLE, e->role));
                PUT("previous_role", e->previous_role == BG_ROLE_NONE ? json_null() :
                    bgj__w_enum(BGJ_ENUM_ROLE, e->previous_role));
                break;
        }
        case BG_EVT_ROLE_REVOKED: {
                const bg_evt_role_revoked_t *e = &ev->payload.role_revoked;

                PUT("user", BGJ_W_STR(e->user));
                PUT("role", bgj__w_enum(BGJ_ENUM_ROLE, e->role));
                break;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *e = &ev->payload.billing_group_created;

                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                PUT("billing_group_name", BGJ_W_STR(e->name));
                if (rc == 0)
                        rc = put_profile(o, &e->profile);
                PUT("copied_from_billing_group", w_uuid_if(e->has_copied_from,
                                                           &e->copied_from));
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                const bg_evt_billing_group_renamed_t *e = &ev->payload.billing_group_renamed;

                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                PUT("previous_billing_group_name", BGJ_W_STR(e->previous_name));
                PUT("billing_group_name", BGJ_W_STR(e->name));
                break;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *e =
                        &ev->payload.billing_profile_updated;

                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                PUT("changed", w_changed(e->changed));
                if (rc == 0)
                        rc = put_profile(o, &e->profile);
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED:
                PUT("billing_group_id",
                    bgj__w_uuid(&ev->payload.billing_group_deleted.billing_group_id));
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                const bg_evt_primary_billing_group_set_t *e =
                        &ev->payload.primary_billing_group_set;

                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                PUT("previous_billing_group_id", w_uuid_if(e->has_previous, &e->previous));
                break;
        }
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *e = &ev->payload.project_created;

                PUT("project_id", bgj__w_uuid(&e->project_id));
                PUT("project", BGJ_W_STR(e->name));
                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *e = &ev->payload.project_moved;

                PUT("project_id", bgj__w_uuid(&e->project_id));
                PUT("from_billing_group_id", bgj__w_uuid(&e->from_billing_group_id));
                PUT("to_billing_group_id", bgj__w_uuid(&e->to_billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_DELETED: {
                const bg_evt_project_deleted_t *e = &ev->payload.project_deleted;

                PUT("project_id", bgj__w_uuid(&e->project_id));
                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                break;
        }
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *e = &ev->payload.credit_issued;

                PUT("code", BGJ_W_STR(e->code));
                PUT("value", bgj__w_money(e->value));
                PUT("currency", bgj__w_enum(BGJ_ENUM_CURRENCY, e->currency));
                PUT("type", bgj__w_enum(BGJ_ENUM_CREDIT_TYPE, e->type));
                PUT("start_time", bgj__w_time(e->start_time));
                PUT("expire_time", e->has_expire_time ? bgj__w_time(e->expire_time) :
                    json_null());
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *e = &ev->payload.credit_claimed;

                PUT("code", BGJ_W_STR(e->code));
                PUT("billing_group_id", bgj__w_uuid(&e->billing_group_id));
                PUT("project_id", w_uuid_if(e->has_project_id, &e->project_id));
                break;
        }
        case BG_EVT_NONE:
        case BG_EVT__COUNT:
        default:
                rc = -1;
                break;
        }
#undef PUT
        return rc;
}

json_t *bgj_event_to_json(const bg_event_t *ev) {
        json_t *o, *payload;
        const char *type;
        int rc = 0;

        if (ev == NULL || (type = bg_event_type_name(ev->type)) == NULL)
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "event_id", bgj__w_uuid(&ev->event_id));
        rc |= bgj__put(o, "account_id", bgj__w_uuid(&ev->account_id));
        rc |= bgj__put(o, "seq", json_integer(ev->seq));
        rc |= bgj__put(o, "type", json_string(type));
        rc |= bgj__put(o, "occurred_at", bgj__w_time(ev->occurred_at));
        rc |= bgj__put(o, "command_id", bgj__w_uuid(&ev->command_id));
        rc |= bgj__put(o, "actor", BGJ_W_STR(ev->actor));
        rc |= bgj__put(o, "prev_hash", w_hash(ev->prev_hash));
        rc |= bgj__put(o, "hash", w_hash(ev->hash));
        payload = json_object();
        rc |= bgj__put(o, "payload", payload);
        if (rc != 0 || wr_payload(payload, ev) != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* ---- descriptions ---- */

#define DESC_MAX (BGJ_DESCRIBE_SIZE * 2)

typedef struct desc_s {
        char buf[DESC_MAX];
        size_t len;
} desc_t;

static void add(desc_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(desc_t *d, const char *fmt, ...) {
        va_list ap;
        int n;

        if (d->len >= sizeof(d->buf) - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(d->buf + d->len, sizeof(d->buf) - d->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                d->len += (size_t)n < sizeof(d->buf) - d->len ? (size_t)n :
                          sizeof(d->buf) - d->len - 1;
}

/* An identifier (e-mail, code) without quotes, control characters as '?'. */
static void add_ident(desc_t *d, const char *s, size_t size) {
        for (size_t i = 0; i < size && s[i] != '\0' && d->len < sizeof(d->buf) - 1; i++) {
                unsigned char c = (unsigned char)s[i];

                d->buf[d->len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
        d->buf[d->len] = '\0';
}

#define ADD_IDENT(d, field) add_ident((d), (field), sizeof(field))

/* A name from a fixed array, control characters shown as '?', in double quotes. */
static void add_name(desc_t *d, const char *s, size_t size) {
        add(d, "\"");
        add_ident(d, s, size);
        add(d, "\"");
}

#define ADD_NAME(d, field) add_name((d), (field), sizeof(field))


static void add_id(desc_t *d, const bg_uuid_t *id) {
        char buf[BG_UUID_STR_LEN + 1];

        bg_uuid_format(id, buf);
        add(d, "%s", buf);
}

static void add_time(desc_t *d, int64_t ms) {
        char buf[BGJ_TIME_STR_SIZE];

        if (bgj_time_format(ms, buf))
                add(d, "%s", buf);
        else
                add(d, "%lld ms", (long long)ms);
}

/* "100.00 EUR": the currency's minor unit when exact, else 6 fraction digits. */
static void add_money(desc_t *d, int64_t micros, bg_currency_t currency) {
        const char *code = bg_currency_name(currency);
        const bg_money_currency_t *cur = code != NULL ? bg_money_currency_find(code, 3) : NULL;
        char buf[BG_MONEY_STR_SIZE];

        if (cur == NULL || bg_money_format_currency(micros, cur, buf, NULL) != BG_MONEY_OK)
                bg_money_format(micros, buf);
        add(d, "%s %s", buf, code != NULL ? code : "(unknown currency)");
}

static const char *or_unknown(const char *s) {
        return s != NULL ? s : "(unknown)";
}

static void describe(desc_t *d, const bg_event_t *ev) {
        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                const bg_evt_account_created_t *e = &ev->payload.account_created;

                add(d, "Created account ");
                ADD_NAME(d, e->name);
                add(d, " with owner ");
                ADD_IDENT(d, e->owner);
                return;
        }
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *e = &ev->payload.role_granted;

                if (e->previous_role == BG_ROLE_NONE) {
                        add(d, "Added member ");
                        ADD_IDENT(d, e->user);
                        add(d, " as %s", or_unknown(bg_role_name(e->role)));
                } else {
                        add(d, "Changed the role of ");
                        ADD_IDENT(d, e->user);
                        add(d, " from %s to %s", or_unknown(bg_role_name(e->previous_role)),
                            or_unknown(bg_role_name(e->role)));
                }
                return;
        }
        case BG_EVT_ROLE_REVOKED: {
                const bg_evt_role_revoked_t *e = &ev->payload.role_revoked;

                add(d, "Removed member ");
                ADD_IDENT(d, e->user);
                add(d, " (was %s)", or_unknown(bg_role_name(e->role)));
                return;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *e = &ev->payload.billing_group_created;

                add(d, "Created billing group ");
                ADD_NAME(d, e->name);
                if (e->has_copied_from) {
                        add(d, " (copied from billing group ");
                        add_id(d, &e->copied_from);
                        add(d, ")");
                }
                return;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                const bg_evt_billing_group_renamed_t *e = &ev->payload.billing_group_renamed;

                add(d, "Renamed billing group ");
                ADD_NAME(d, e->previous_name);
                add(d, " to ");
                ADD_NAME(d, e->name);
                return;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *e =
                        &ev->payload.billing_profile_updated;
                bool first = true;

                add(d, "Updated billing details of billing group ");
                add_id(d, &e->billing_group_id);
                add(d, ":");
                for (unsigned i = 0; i < 32; i++) {
                        const char *name;

                        if (!(e->changed & (1u << i)))
                                continue;
                        name = bg_profile_field_name((bg_profile_field_t)(1u << i));
                        add(d, "%s%s", first ? " " : ", ", or_unknown(name));
                        first = false;
                }
                if (first)
                        add(d, " nothing");
                return;
        }
        case BG_EVT_BILLING_GROUP_DELETED:
                add(d, "Deleted billing group ");
                add_id(d, &ev->payload.billing_group_deleted.billing_group_id);
                return;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                const bg_evt_primary_billing_group_set_t *e =
                        &ev->payload.primary_billing_group_set;

                add(d, "Set billing group ");
                add_id(d, &e->billing_group_id);
                add(d, " as the primary billing group");
                if (e->has_previous) {
                        add(d, " (was ");
                        add_id(d, &e->previous);
                        add(d, ")");
                }
                return;
        }
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *e = &ev->payload.project_created;

                add(d, "Created project ");
                ADD_NAME(d, e->name);
                add(d, " in billing group ");
                add_id(d, &e->billing_group_id);
                return;
        }
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *e = &ev->payload.project_moved;

                add(d, "Moved project ");
                add_id(d, &e->project_id);
                add(d, " from billing group ");
                add_id(d, &e->from_billing_group_id);
                add(d, " to billing group ");
                add_id(d, &e->to_billing_group_id);
                return;
        }
        case BG_EVT_PROJECT_DELETED: {
                const bg_evt_project_deleted_t *e = &ev->payload.project_deleted;

                add(d, "Deleted project ");
                add_id(d, &e->project_id);
                add(d, " from billing group ");
                add_id(d, &e->billing_group_id);
                return;
        }
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *e = &ev->payload.credit_issued;

                add(d, "Issued credit ");
                ADD_NAME(d, e->code);
                add(d, " of ");
                add_money(d, e->value, e->currency);
                add(d, " (%s), valid from ", or_unknown(bg_credit_type_name(e->type)));
                add_time(d, e->start_time);
                if (e->has_expire_time) {
                        add(d, " until ");
                        add_time(d, e->expire_time);
                } else {
                        add(d, ", no expiry");
                }
                return;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *e = &ev->payload.credit_claimed;

                add(d, "Claimed credit ");
                ADD_NAME(d, e->code);
                add(d, " for billing group ");
                add_id(d, &e->billing_group_id);
                if (e->has_project_id) {
                        add(d, ", for project ");
                        add_id(d, &e->project_id);
                        add(d, " only");
                }
                return;
        }
        case BG_EVT_NONE:
        case BG_EVT__COUNT:
        default:
                break;
        }
        add(d, "Unknown event type %d", (int)ev->type);
}

size_t bgj_event_describe(const bg_event_t *ev, char *buf, size_t size) {
        desc_t d;
        size_t n;

        d.len = 0;
        d.buf[0] = '\0';
        if (ev == NULL)
                add(&d, "(no event)");
        else
                describe(&d, ev);
        if (size == 0 || buf == NULL)
                return d.len;
        n = d.len < size - 1 ? d.len : size - 1;
        /* Cut before a continuation byte: never half a UTF-8 character. */
        while (n > 0 && n < d.len && ((unsigned char)d.buf[n] & 0xc0) == 0x80)
                n--;
        memcpy(buf, d.buf, n);
        buf[n] = '\0';
        return d.len;
}
