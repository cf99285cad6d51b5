/*
 * billing.Event <-> bg_event_t, and the canonical bytes the hash chain is computed over.
 * The payload union's record name is the event type (bg_event_type_name) and must equal
 * the envelope's "type" string.
 */
#include "codec_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define TRY(e)                                  \
        do {                                    \
                if ((err = (e)) != CODEC_OK)    \
                        return err;             \
        } while (0)

static codec_err_t d_changed(codec_ctx_t *x, avro_value_t *p, uint32_t *changed) {
        avro_value_t arr = {0};
        size_t n;

        *changed = 0;
        if (!codec_d_field(p, "changed", &arr))
                return CODEC_OK;
        if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) != 0)
                return codec_fail(x, CODEC_ERR_INVALID, "changed", "not an array");
        if (n > 32)
                return codec_fail(x, CODEC_ERR_INVALID, "changed", "%zu items, more than 32", n);
        for (size_t i = 0; i < n; i++) {
                avro_value_t el = {0};
                const char *sym;
                uint32_t bit = 0;
                codec_err_t err;

                if (avro_value_get_by_index(&arr, i, &el, NULL) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, "changed", "cannot read item");
                TRY(codec_d_enum_value(x, "changed", &el, &sym));
                for (uint32_t b = 1; b & BG_PROFILE_F_ALL; b <<= 1)
                        if (strcmp(bg_profile_field_name((bg_profile_field_t)b), sym) == 0)
                                bit = b;
                if (bit == 0)
                        return codec_fail(x, CODEC_ERR_INVALID, "changed",
                                          "unknown profile field \"%s\"", sym);
                *changed |= bit;
        }
        return CODEC_OK;
}

static codec_err_t e_changed(codec_ctx_t *x, avro_value_t *p, uint32_t changed) {
        avro_value_t arr = {0};
        codec_err_t err;

        if ((changed & ~(uint32_t)BG_PROFILE_F_ALL) != 0)
                return codec_fail(x, CODEC_ERR_ARG, "changed", "unknown field bits 0x%x",
                                  changed & ~(uint32_t)BG_PROFILE_F_ALL);
        TRY(codec_e_field(x, p, "changed", &arr));
        for (uint32_t b = 1; b & BG_PROFILE_F_ALL; b <<= 1) {
                avro_value_t el = {0};

                if (!(changed & b))
                        continue;
                if (avro_value_append(&arr, &el, NULL) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, "changed", "cannot append");
                TRY(codec_e_enum_value(x, "changed", &el,
                                       bg_profile_field_name((bg_profile_field_t)b)));
        }
        return CODEC_OK;
}

static codec_err_t d_profile_field(codec_ctx_t *x, avro_value_t *p, bg_profile_t *out) {
        avro_value_t prof = {0};
        codec_err_t err;
        size_t mark;

        if (!codec_d_field(p, "profile", &prof))
                return CODEC_OK;
        if (avro_value_get_type(&prof) != AVRO_RECORD)
                return codec_fail(x, CODEC_ERR_INVALID, "profile", "not a record");
        mark = codec_ctx_push(x, "profile");
        err = codec_d_profile(x, &prof, out);
        codec_ctx_pop(x, mark);
        return err;
}

static codec_err_t e_profile_field(codec_ctx_t *x, avro_value_t *p, const bg_profile_t *pr) {
        avro_value_t prof = {0};
        codec_err_t err;
        size_t mark;

        TRY(codec_e_field(x, p, "profile", &prof));
        mark = codec_ctx_push(x, "profile");
        err = codec_e_profile(x, &prof, pr);
        codec_ctx_pop(x, mark);
        return err;
}

static codec_err_t decode_payload(codec_ctx_t *x, avro_value_t *p, bg_event_t *ev) {
        codec_err_t err = CODEC_OK;

        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                bg_evt_account_created_t *e = &ev->payload.account_created;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                TRY(codec_d_str(x, p, "owner", e->owner, sizeof(e->owner), 0));
                break;
        }
        case BG_EVT_ROLE_GRANTED: {
                bg_evt_role_granted_t *e = &ev->payload.role_granted;
                avro_value_t v = {0};
                bool present;

                memset(e, 0, sizeof(*e));
                TRY(codec_d_str(x, p, "user", e->user, sizeof(e->user), 0));
                TRY(codec_d_role(x, p, "role", &e->role));
                TRY(codec_d_opt(x, p, "previous_role", &v, &present));
                if (present) {
                        const char *sym;
                        TRY(codec_d_enum_value(x, "previous_role", &v, &sym));
                        e->previous_role = bg_role_from_name(sym);
                        if (e->previous_role == BG_ROLE_NONE)
                                return codec_fail(x, CODEC_ERR_INVALID, "previous_role",
                                                  "unknown role \"%s\"", sym);
                }
                break;
        }
        case BG_EVT_ROLE_REVOKED: {
                bg_evt_role_revoked_t *e = &ev->payload.role_revoked;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_str(x, p, "user", e->user, sizeof(e->user), 0));
                TRY(codec_d_role(x, p, "role", &e->role));
                break;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                bg_evt_billing_group_created_t *e = &ev->payload.billing_group_created;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_d_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                TRY(d_profile_field(x, p, &e->profile));
                TRY(codec_d_opt_uuid(x, p, "copied_from", &e->copied_from, &e->has_copied_from));
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                bg_evt_billing_group_renamed_t *e = &ev->payload.billing_group_renamed;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_d_str(x, p, "previous_name", e->previous_name,
                                sizeof(e->previous_name), BG_NAME_MAX));
                TRY(codec_d_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                break;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                bg_evt_billing_profile_updated_t *e = &ev->payload.billing_profile_updated;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(d_changed(x, p, &e->changed));
                TRY(d_profile_field(x, p, &e->profile));
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED: {
                bg_evt_billing_group_ref_t *e = &ev->payload.billing_group_deleted;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                break;
        }
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                bg_evt_primary_billing_group_set_t *e = &ev->payload.primary_billing_group_set;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_d_opt_uuid(x, p, "previous", &e->previous, &e->has_previous));
                break;
        }
        case BG_EVT_PROJECT_CREATED: {
                bg_evt_project_created_t *e = &ev->payload.project_created;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_d_str(x, p, "name", e->name, sizeof(e->name), 0));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_MOVED: {
                bg_evt_project_moved_t *e = &ev->payload.project_moved;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_d_uuid(x, p, "from_billing_group_id", &e->from_billing_group_id));
                TRY(codec_d_uuid(x, p, "to_billing_group_id", &e->to_billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_DELETED: {
                bg_evt_project_deleted_t *e = &ev->payload.project_deleted;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                break;
        }
        case BG_EVT_CREDIT_ISSUED: {
                bg_evt_credit_issued_t *e = &ev->payload.credit_issued;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_str(x, p, "code", e->code, sizeof(e->code), 0));
                TRY(codec_d_decimal(x, p, "value", &e->value));
                TRY(codec_d_currency(x, p, "currency", &e->currency));
                TRY(codec_d_credit_type(x, p, "type", &e->type));
                TRY(codec_d_long(x, p, "start_time", &e->start_time));
                TRY(codec_d_opt_long(x, p, "expire_time", &e->expire_time,
                                     &e->has_expire_time));
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                bg_evt_credit_claimed_t *e = &ev->payload.credit_claimed;
                memset(e, 0, sizeof(*e));
                TRY(codec_d_str(x, p, "code", e->code, sizeof(e->code), 0));
                TRY(codec_d_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_d_opt_uuid(x, p, "project_id", &e->project_id, &e->has_project_id));
                break;
        }
        default:
                return codec_fail(x, CODEC_ERR_UNKNOWN_TYPE, NULL, "unknown event type %d",
                                  (int)ev->type);
        }
        return CODEC_OK;
}

codec_err_t codec_decode_event(codec_t *c, const void *buf, size_t len, bg_event_t *out,
                               char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        char type[64] = "";
        codec_schema_t *s;
        avro_value_t *root, p = {0};
        const char *name;
        codec_err_t err;
        size_t mark;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        err = codec_decode_begin(c, CODEC_KIND_EVENT, buf, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        root = &s->value;
        memset(out, 0, offsetof(bg_event_t, payload));
        TRY(codec_d_uuid(&x, root, "event_id", &out->event_id));
        TRY(codec_d_uuid(&x, root, "account_id", &out->account_id));
        TRY(codec_d_long(&x, root, "seq", &out->seq));
        TRY(codec_d_str(&x, root, "type", type, sizeof(type), 0));
        TRY(codec_d_long(&x, root, "occurred_at", &out->occurred_at));
        TRY(codec_d_uuid(&x, root, "command_id", &out->command_id));
        TRY(codec_d_str(&x, root, "actor", out->actor, sizeof(out->actor), 0));
        TRY(codec_d_fixed(&x, root, "prev_hash", out->prev_hash, sizeof(out->prev_hash)));
        TRY(codec_d_fixed(&x, root, "hash", out->hash, sizeof(out->hash)));
        TRY(codec_d_payload(&x, root, &p, &name));
        out->type = bg_event_type_from_name(name);
        if (out->type == BG_EVT_NONE)
                return codec_fail(&x, CODEC_ERR_UNKNOWN_TYPE, NULL, "unknown event type \"%s\"",
                                  name ? name : "");
        if (strcmp(type, name) != 0)
                return codec_fail(&x, CODEC_ERR_INVALID, "type",
                                  "event type \"%s\" does not match its payload %s", type, name);
        mark = codec_ctx_push(&x, "payload");
        err = decode_payload(&x, &p, out);
        codec_ctx_pop(&x, mark);
        return err;
}

static codec_err_t encode_payload(codec_ctx_t *x, avro_value_t *p, const bg_event_t *ev) {
        codec_err_t err = CODEC_OK;

        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED: {
                const bg_evt_account_created_t *e = &ev->payload.account_created;
                TRY(codec_e_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                TRY(codec_e_str(x, p, "owner", e->owner, sizeof(e->owner), 0));
                break;
        }
        case BG_EVT_ROLE_GRANTED: {
                const bg_evt_role_granted_t *e = &ev->payload.role_granted;
                TRY(codec_e_str(x, p, "user", e->user, sizeof(e->user), 0));
                TRY(codec_e_enum(x, p, "role", bg_role_name(e->role)));
                if (e->previous_role != BG_ROLE_NONE && bg_role_name(e->previous_role) == NULL)
                        return codec_fail(x, CODEC_ERR_ARG, "previous_role", "out of range");
                TRY(codec_e_opt_enum(x, p, "previous_role",
                                     e->previous_role == BG_ROLE_NONE
                                             ? NULL
                                             : bg_role_name(e->previous_role)));
                break;
        }
        case BG_EVT_ROLE_REVOKED: {
                const bg_evt_role_revoked_t *e = &ev->payload.role_revoked;
                TRY(codec_e_str(x, p, "user", e->user, sizeof(e->user), 0));
                TRY(codec_e_enum(x, p, "role", bg_role_name(e->role)));
                break;
        }
        case BG_EVT_BILLING_GROUP_CREATED: {
                const bg_evt_billing_group_created_t *e = &ev->payload.billing_group_created;
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_e_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                TRY(e_profile_field(x, p, &e->profile));
                TRY(codec_e_opt_uuid(x, p, "copied_from", &e->copied_from, e->has_copied_from));
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                const bg_evt_billing_group_renamed_t *e = &ev->payload.billing_group_renamed;
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_e_str(x, p, "previous_name", e->previous_name,
                                sizeof(e->previous_name), BG_NAME_MAX));
                TRY(codec_e_str(x, p, "name", e->name, sizeof(e->name), BG_NAME_MAX));
                break;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                const bg_evt_billing_profile_updated_t *e = &ev->payload.billing_profile_updated;
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(e_changed(x, p, e->changed));
                TRY(e_profile_field(x, p, &e->profile));
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED:
                TRY(codec_e_uuid(x, p, "billing_group_id",
                                 &ev->payload.billing_group_deleted.billing_group_id));
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET: {
                const bg_evt_primary_billing_group_set_t *e =
                        &ev->payload.primary_billing_group_set;
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_e_opt_uuid(x, p, "previous", &e->previous, e->has_previous));
                break;
        }
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *e = &ev->payload.project_created;
                TRY(codec_e_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_e_str(x, p, "name", e->name, sizeof(e->name), 0));
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_MOVED: {
                const bg_evt_project_moved_t *e = &ev->payload.project_moved;
                TRY(codec_e_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_e_uuid(x, p, "from_billing_group_id", &e->from_billing_group_id));
                TRY(codec_e_uuid(x, p, "to_billing_group_id", &e->to_billing_group_id));
                break;
        }
        case BG_EVT_PROJECT_DELETED: {
                const bg_evt_project_deleted_t *e = &ev->payload.project_deleted;
                TRY(codec_e_uuid(x, p, "project_id", &e->project_id));
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                break;
        }
        case BG_EVT_CREDIT_ISSUED: {
                const bg_evt_credit_issued_t *e = &ev->payload.credit_issued;
                TRY(codec_e_str(x, p, "code", e->code, sizeof(e->code), 0));
                TRY(codec_e_decimal(x, p, "value", e->value));
                TRY(codec_e_enum(x, p, "currency", bg_currency_name(e->currency)));
                TRY(codec_e_enum(x, p, "type", bg_credit_type_name(e->type)));
                TRY(codec_e_long(x, p, "start_time", e->start_time));
                TRY(codec_e_opt_long(x, p, "expire_time", e->expire_time, e->has_expire_time));
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                const bg_evt_credit_claimed_t *e = &ev->payload.credit_claimed;
                TRY(codec_e_str(x, p, "code", e->code, sizeof(e->code), 0));
                TRY(codec_e_uuid(x, p, "billing_group_id", &e->billing_group_id));
                TRY(codec_e_opt_uuid(x, p, "project_id", &e->project_id, e->has_project_id));
                break;
        }
        default:
                return codec_fail(x, CODEC_ERR_ARG, NULL, "unknown event type %d", (int)ev->type);
        }
        return CODEC_OK;
}

/* Encodes @ev (with a zero hash when @zero_hash) into @b. */
static codec_err_t encode_event(codec_t *c, const bg_event_t *ev, bool zero_hash,
                                codec_buf_t *b, const uint8_t **out, size_t *out_len,
                                char *errstr, size_t errstr_size) {
        static const uint8_t zero[BG_HASH_SIZE];
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        avro_value_t *root, u = {0}, p = {0};
        const char *type;
        codec_err_t err;
        size_t mark;

        if (c == NULL || ev == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, event or output");
                return CODEC_ERR_ARG;
        }
        type = bg_event_type_name(ev->type);
        if (ev->type == BG_EVT_NONE || type == NULL) {
                snprintf(errstr, errstr_size, "unknown event type %d", (int)ev->type);
                return CODEC_ERR_ARG;
        }
        TRY(codec_encode_begin(c, CODEC_KIND_EVENT, &s, errstr, errstr_size));
        if (s->evt_branch[ev->type] < 0) {
                snprintf(errstr, errstr_size, "event type %s is not in schema id %d", type,
                         (int)s->id);
                return CODEC_ERR_ARG;
        }
        root = &s->value;
        TRY(codec_e_uuid(&x, root, "event_id", &ev->event_id));
        TRY(codec_e_uuid(&x, root, "account_id", &ev->account_id));
        TRY(codec_e_long(&x, root, "seq", ev->seq));
        TRY(codec_e_str(&x, root, "type", type, strlen(type) + 1, 0));
        TRY(codec_e_long(&x, root, "occurred_at", ev->occurred_at));
        TRY(codec_e_uuid(&x, root, "command_id", &ev->command_id));
        TRY(codec_e_str(&x, root, "actor", ev->actor, sizeof(ev->actor), 0));
        TRY(codec_e_fixed(&x, root, "prev_hash", ev->prev_hash, sizeof(ev->prev_hash)));
        TRY(codec_e_fixed(&x, root, "hash", zero_hash ? zero : ev->hash, BG_HASH_SIZE));
        TRY(codec_e_field(&x, root, "payload", &u));
        if (avro_value_set_branch(&u, s->evt_branch[ev->type], &p) != 0)
                return codec_fail(&x, CODEC_ERR_AVRO, "payload", "cannot set union branch");
        mark = codec_ctx_push(&x, "payload");
        err = encode_payload(&x, &p, ev);
        codec_ctx_pop(&x, mark);
        if (err != CODEC_OK)
                return err;
        return codec_encode_finish(c, s, b, out, out_len, errstr, errstr_size);
}

codec_err_t codec_encode_event(codec_t *c, const bg_event_t *ev,
                               const uint8_t **out, size_t *out_len,
                               char *errstr, size_t errstr_size) {
        return encode_event(c, ev, false, c ? &c->wire : NULL, out, out_len, errstr,
                            errstr_size);
}

codec_err_t codec_event_canonical(codec_t *c, const bg_event_t *ev,
                                  const uint8_t **out, size_t *out_len,
                                  char *errstr, size_t errstr_size) {
        const uint8_t *msg;
        size_t len;
        codec_err_t err;

        if (c == NULL) {
                snprintf(errstr, errstr_size, "no codec");
                return CODEC_ERR_ARG;
        }
        err = encode_event(c, ev, true, &c->canon, &msg, &len, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        *out = msg + CODEC_HEADER_SIZE;
        *out_len = len - CODEC_HEADER_SIZE;
        return CODEC_OK;
}

codec_err_t codec_event_canonical_wire(codec_t *c, const void *buf, size_t len,
                                       const uint8_t **out, size_t *out_len,
                                       char *errstr, size_t errstr_size) {
        size_t off, body;
        codec_err_t err;

        if (c == NULL || buf == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, message or output");
                return CODEC_ERR_ARG;
        }
        err = codec_event_hash_offset(c, buf, len, &off, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        body = len - CODEC_HEADER_SIZE;
        if (c->canon.cap < body) {
                uint8_t *p = realloc(c->canon.p, body);
                if (p == NULL) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return CODEC_ERR_NOMEM;
                }
                c->canon.p = p;
                c->canon.cap = body;
        }
        memcpy(c->canon.p, (const uint8_t *)buf + CODEC_HEADER_SIZE, body);
        memset(c->canon.p + (off - CODEC_HEADER_SIZE), 0, BG_HASH_SIZE);
        *out = c->canon.p;
        *out_len = body;
        return CODEC_OK;
}
