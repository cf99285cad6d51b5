/*
 * billing.Command <-> bg_command_t. The payload union's record name is the command type
 * (bg_command_type_name).
 */
#include "codec_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static codec_err_t decode_payload(codec_ctx_t *x, avro_value_t *p, bg_command_t *cmd) {
        codec_err_t err = CODEC_OK;

#define TRY(e)                                  \
        do {                                    \
                if ((err = (e)) != CODEC_OK)    \
                        return err;             \
        } while (0)

        switch (cmd->type) {
        case BG_CMD_CREATE_ACCOUNT: {
                bg_cmd_create_account_t *c = &cmd->payload.create_account;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX));
                TRY(codec_d_str(x, p, "owner", c->owner, sizeof(c->owner), 0));
                break;
        }
        case BG_CMD_GRANT_ROLE:
        case BG_CMD_REVOKE_ROLE: {
                bg_cmd_role_t *c = cmd->type == BG_CMD_GRANT_ROLE ? &cmd->payload.grant_role
                                                                  : &cmd->payload.revoke_role;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_str(x, p, "user", c->user, sizeof(c->user), 0));
                TRY(codec_d_role(x, p, "role", &c->role));
                break;
        }
        case BG_CMD_CREATE_BILLING_GROUP: {
                bg_cmd_create_billing_group_t *c = &cmd->payload.create_billing_group;
                avro_value_t prof = {0};
                size_t mark;

                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_d_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX));
                if (codec_d_field(p, "profile", &prof)) {
                        mark = codec_ctx_push(x, "profile");
                        TRY(codec_d_profile_patch(x, &prof, &c->profile));
                        codec_ctx_pop(x, mark);
                }
                TRY(codec_d_opt_uuid(x, p, "copy_from", &c->copy_from, &c->has_copy_from));
                break;
        }
        case BG_CMD_UPDATE_BILLING_GROUP: {
                bg_cmd_update_billing_group_t *c = &cmd->payload.update_billing_group;
                avro_value_t prof = {0};
                size_t mark;

                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_d_opt_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX,
                                    &c->has_name));
                if (codec_d_field(p, "profile", &prof)) {
                        mark = codec_ctx_push(x, "profile");
                        TRY(codec_d_profile_patch(x, &prof, &c->profile));
                        codec_ctx_pop(x, mark);
                }
                break;
        }
        case BG_CMD_DELETE_BILLING_GROUP:
        case BG_CMD_SET_PRIMARY_BILLING_GROUP: {
                bg_cmd_billing_group_ref_t *c = cmd->type == BG_CMD_DELETE_BILLING_GROUP
                                                        ? &cmd->payload.delete_billing_group
                                                        : &cmd->payload.set_primary_billing_group;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "billing_group_id", &c->billing_group_id));
                break;
        }
        case BG_CMD_CREATE_PROJECT: {
                bg_cmd_create_project_t *c = &cmd->payload.create_project;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "project_id", &c->project_id));
                TRY(codec_d_str(x, p, "name", c->name, sizeof(c->name), 0));
                TRY(codec_d_opt_uuid(x, p, "billing_group_id", &c->billing_group_id,
                                     &c->has_billing_group_id));
                break;
        }
        case BG_CMD_ASSIGN_PROJECTS: {
                /* 64 KiB of names: zero only what is used. */
                bg_cmd_assign_projects_t *c = &cmd->payload.assign_projects;
                avro_value_t arr = {0};

                memset(c, 0, offsetof(bg_cmd_assign_projects_t, project_names));
                TRY(codec_d_uuid(x, p, "billing_group_id", &c->billing_group_id));
                if (codec_d_field(p, "project_names", &arr)) {
                        size_t n = 0;
                        TRY(codec_d_str_array_value(x, "project_names", &arr,
                                                    &c->project_names[0][0],
                                                    sizeof(c->project_names[0]),
                                                    BG_ASSIGN_PROJECTS_MAX, 0, &n));
                        for (size_t i = 0; i < n; i++) {
                                size_t l = strlen(c->project_names[i]);
                                memset(c->project_names[i] + l, 0,
                                       sizeof(c->project_names[i]) - l);
                        }
                        c->n_projects = n;
                }
                break;
        }
        case BG_CMD_DELETE_PROJECT: {
                bg_cmd_delete_project_t *c = &cmd->payload.delete_project;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "project_id", &c->project_id));
                break;
        }
        case BG_CMD_ISSUE_CREDIT: {
                bg_cmd_issue_credit_t *c = &cmd->payload.issue_credit;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_str(x, p, "code", c->code, sizeof(c->code), 0));
                TRY(codec_d_decimal(x, p, "value", &c->value));
                TRY(codec_d_currency(x, p, "currency", &c->currency));
                TRY(codec_d_credit_type(x, p, "type", &c->type));
                TRY(codec_d_long(x, p, "start_time", &c->start_time));
                TRY(codec_d_opt_long(x, p, "expire_time", &c->expire_time,
                                     &c->has_expire_time));
                break;
        }
        case BG_CMD_CLAIM_CREDIT: {
                bg_cmd_claim_credit_t *c = &cmd->payload.claim_credit;
                memset(c, 0, sizeof(*c));
                TRY(codec_d_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_d_str(x, p, "code", c->code, sizeof(c->code), 0));
                TRY(codec_d_opt_uuid(x, p, "project_id", &c->project_id, &c->has_project_id));
                break;
        }
        default:
                return codec_fail(x, CODEC_ERR_UNKNOWN_TYPE, NULL, "unknown command type %d",
                                  (int)cmd->type);
        }
        return CODEC_OK;
#undef TRY
}

codec_err_t codec_decode_command(codec_t *c, const void *buf, size_t len, bg_command_t *out,
                                 char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        avro_value_t *root, p = {0};
        const char *name;
        codec_err_t err;
        size_t mark;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        err = codec_decode_begin(c, CODEC_KIND_COMMAND, buf, len, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        root = &s->value;
        memset(out, 0, offsetof(bg_command_t, payload));
        if ((err = codec_d_uuid(&x, root, "command_id", &out->command_id)) != CODEC_OK ||
            (err = codec_d_uuid(&x, root, "account_id", &out->account_id)) != CODEC_OK ||
            (err = codec_d_str(&x, root, "actor", out->actor, sizeof(out->actor), 0)) !=
                    CODEC_OK ||
            (err = codec_d_long(&x, root, "issued_at", &out->issued_at)) != CODEC_OK ||
            (err = codec_d_opt_long(&x, root, "expected_version", &out->expected_version,
                                    &out->has_expected_version)) != CODEC_OK ||
            (err = codec_d_payload(&x, root, &p, &name)) != CODEC_OK)
                return err;
        out->type = bg_command_type_from_name(name);
        if (out->type == BG_CMD_NONE)
                return codec_fail(&x, CODEC_ERR_UNKNOWN_TYPE, NULL, "unknown command type \"%s\"",
                                  name ? name : "");
        mark = codec_ctx_push(&x, "payload");
        err = decode_payload(&x, &p, out);
        codec_ctx_pop(&x, mark);
        return err;
}

static codec_err_t encode_payload(codec_ctx_t *x, avro_value_t *p, const bg_command_t *cmd) {
        codec_err_t err = CODEC_OK;
        avro_value_t v = {0};

#define TRY(e)                                  \
        do {                                    \
                if ((err = (e)) != CODEC_OK)    \
                        return err;             \
        } while (0)

        switch (cmd->type) {
        case BG_CMD_CREATE_ACCOUNT: {
                const bg_cmd_create_account_t *c = &cmd->payload.create_account;
                TRY(codec_e_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX));
                TRY(codec_e_str(x, p, "owner", c->owner, sizeof(c->owner), 0));
                break;
        }
        case BG_CMD_GRANT_ROLE:
        case BG_CMD_REVOKE_ROLE: {
                const bg_cmd_role_t *c = cmd->type == BG_CMD_GRANT_ROLE
                                                 ? &cmd->payload.grant_role
                                                 : &cmd->payload.revoke_role;
                TRY(codec_e_str(x, p, "user", c->user, sizeof(c->user), 0));
                TRY(codec_e_enum(x, p, "role", bg_role_name(c->role)));
                break;
        }
        case BG_CMD_CREATE_BILLING_GROUP: {
                const bg_cmd_create_billing_group_t *c = &cmd->payload.create_billing_group;
                size_t mark;

                TRY(codec_e_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_e_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX));
                TRY(codec_e_field(x, p, "profile", &v));
                mark = codec_ctx_push(x, "profile");
                TRY(codec_e_profile_patch(x, &v, &c->profile));
                codec_ctx_pop(x, mark);
                TRY(codec_e_opt_uuid(x, p, "copy_from", &c->copy_from, c->has_copy_from));
                break;
        }
        case BG_CMD_UPDATE_BILLING_GROUP: {
                const bg_cmd_update_billing_group_t *c = &cmd->payload.update_billing_group;
                size_t mark;

                TRY(codec_e_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_e_opt_str(x, p, "name", c->name, sizeof(c->name), BG_NAME_MAX,
                                    c->has_name));
                TRY(codec_e_field(x, p, "profile", &v));
                mark = codec_ctx_push(x, "profile");
                TRY(codec_e_profile_patch(x, &v, &c->profile));
                codec_ctx_pop(x, mark);
                break;
        }
        case BG_CMD_DELETE_BILLING_GROUP:
        case BG_CMD_SET_PRIMARY_BILLING_GROUP: {
                const bg_cmd_billing_group_ref_t *c =
                        cmd->type == BG_CMD_DELETE_BILLING_GROUP
                                ? &cmd->payload.delete_billing_group
                                : &cmd->payload.set_primary_billing_group;
                TRY(codec_e_uuid(x, p, "billing_group_id", &c->billing_group_id));
                break;
        }
        case BG_CMD_CREATE_PROJECT: {
                const bg_cmd_create_project_t *c = &cmd->payload.create_project;
                TRY(codec_e_uuid(x, p, "project_id", &c->project_id));
                TRY(codec_e_str(x, p, "name", c->name, sizeof(c->name), 0));
                TRY(codec_e_opt_uuid(x, p, "billing_group_id", &c->billing_group_id,
                                     c->has_billing_group_id));
                break;
        }
        case BG_CMD_ASSIGN_PROJECTS: {
                const bg_cmd_assign_projects_t *c = &cmd->payload.assign_projects;
                TRY(codec_e_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_e_field(x, p, "project_names", &v));
                TRY(codec_e_str_array_value(x, "project_names", &v, &c->project_names[0][0],
                                            sizeof(c->project_names[0]), c->n_projects,
                                            BG_ASSIGN_PROJECTS_MAX, 0));
                break;
        }
        case BG_CMD_DELETE_PROJECT:
                TRY(codec_e_uuid(x, p, "project_id", &cmd->payload.delete_project.project_id));
                break;
        case BG_CMD_ISSUE_CREDIT: {
                const bg_cmd_issue_credit_t *c = &cmd->payload.issue_credit;
                TRY(codec_e_str(x, p, "code", c->code, sizeof(c->code), 0));
                TRY(codec_e_decimal(x, p, "value", c->value));
                TRY(codec_e_enum(x, p, "currency", bg_currency_name(c->currency)));
                TRY(codec_e_enum(x, p, "type", bg_credit_type_name(c->type)));
                TRY(codec_e_long(x, p, "start_time", c->start_time));
                TRY(codec_e_opt_long(x, p, "expire_time", c->expire_time, c->has_expire_time));
                break;
        }
        case BG_CMD_CLAIM_CREDIT: {
                const bg_cmd_claim_credit_t *c = &cmd->payload.claim_credit;
                TRY(codec_e_uuid(x, p, "billing_group_id", &c->billing_group_id));
                TRY(codec_e_str(x, p, "code", c->code, sizeof(c->code), 0));
                TRY(codec_e_opt_uuid(x, p, "project_id", &c->project_id, c->has_project_id));
                break;
        }
        default:
                return codec_fail(x, CODEC_ERR_ARG, NULL, "unknown command type %d",
                                  (int)cmd->type);
        }
        return CODEC_OK;
#undef TRY
}

codec_err_t codec_encode_command(codec_t *c, const bg_command_t *cmd,
                                 const uint8_t **out, size_t *out_len,
                                 char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        avro_value_t *root, u = {0}, p = {0};
        codec_err_t err;
        size_t mark;

        if (c == NULL || cmd == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, command or output");
                return CODEC_ERR_ARG;
        }
        if (cmd->type <= BG_CMD_NONE || cmd->type >= BG_CMD__COUNT) {
                snprintf(errstr, errstr_size, "unknown command type %d", (int)cmd->type);
                return CODEC_ERR_ARG;
        }
        err = codec_encode_begin(c, CODEC_KIND_COMMAND, &s, errstr, errstr_size);
        if (err != CODEC_OK)
                return err;
        if (s->cmd_branch[cmd->type] < 0) {
                snprintf(errstr, errstr_size, "command type %s is not in schema id %d",
                         bg_command_type_name(cmd->type), (int)s->id);
                return CODEC_ERR_ARG;
        }
        root = &s->value;
        if ((err = codec_e_uuid(&x, root, "command_id", &cmd->command_id)) != CODEC_OK ||
            (err = codec_e_uuid(&x, root, "account_id", &cmd->account_id)) != CODEC_OK ||
            (err = codec_e_str(&x, root, "actor", cmd->actor, sizeof(cmd->actor), 0)) !=
                    CODEC_OK ||
            (err = codec_e_long(&x, root, "issued_at", cmd->issued_at)) != CODEC_OK ||
            (err = codec_e_opt_long(&x, root, "expected_version", cmd->expected_version,
                                    cmd->has_expected_version)) != CODEC_OK ||
            (err = codec_e_field(&x, root, "payload", &u)) != CODEC_OK)
                return err;
        if (avro_value_set_branch(&u, s->cmd_branch[cmd->type], &p) != 0)
                return codec_fail(&x, CODEC_ERR_AVRO, "payload", "cannot set union branch");
        mark = codec_ctx_push(&x, "payload");
        err = encode_payload(&x, &p, cmd);
        codec_ctx_pop(&x, mark);
        if (err != CODEC_OK)
                return err;
        return codec_encode_finish(c, s, &c->wire, out, out_len, errstr, errstr_size);
}
