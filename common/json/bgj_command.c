/* Commands <-> JSON: the envelope and one payload per command type (docs/json.md). */
#include <string.h>

#include "bgj_int.h"

#define P "payload"

/* ---- reading: one function per payload; @o is the payload object ---- */

static int rd_create_account(bgj_in_t *in, const json_t *o, bg_cmd_create_account_t *c) {
        static const char *const keys[] = { "account_name", "owner", NULL };

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__str(in, o, P, "account_name", BGJ_REQ | BGJ_TEXT, BG_NAME_MAX, c->name,
                     sizeof(c->name), NULL) != 0 ||
            bgj__str(in, o, P, "owner", BGJ_REQ, BG_EMAIL_MAX, c->owner, sizeof(c->owner),
                     NULL) != 0)
                return -1;
        return 0;
}

static int rd_role(bgj_in_t *in, const json_t *o, bg_cmd_role_t *c) {
        static const char *const keys[] = { "user", "role", NULL };
        int role;

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__str(in, o, P, "user", BGJ_REQ, BG_EMAIL_MAX, c->user, sizeof(c->user),
                     NULL) != 0 ||
            bgj__enum(in, o, P, "role", BGJ_REQ, BGJ_ENUM_ROLE, &role, NULL) != 0)
                return -1;
        c->role = (bg_role_t)role;
        return 0;
}

static int rd_create_group(bgj_in_t *in, const json_t *o, bg_cmd_create_billing_group_t *c) {
        static const char *const keys[] = {
                "billing_group_id", "billing_group_name", "copy_from_billing_group", NULL,
        };

        if (bgj__check_keys(in, o, P, keys, true) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_REQ, &c->billing_group_id,
                      NULL) != 0 ||
            bgj__str(in, o, P, "billing_group_name", BGJ_REQ | BGJ_TEXT, BG_NAME_MAX,
                     c->name, sizeof(c->name), NULL) != 0 ||
            bgj_profile_patch_from_json(o, P, &c->profile, in->errstr,
                                        in->errstr_size) != 0 ||
            bgj__uuid(in, o, P, "copy_from_billing_group", BGJ_NULLOK, &c->copy_from,
                      &c->has_copy_from) != 0)
                return -1;
        return 0;
}

static int rd_update_group(bgj_in_t *in, const json_t *o, bg_cmd_update_billing_group_t *c) {
        static const char *const keys[] = { "billing_group_id", "billing_group_name", NULL };

        if (bgj__check_keys(in, o, P, keys, true) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_REQ, &c->billing_group_id,
                      NULL) != 0 ||
            bgj__str(in, o, P, "billing_group_name", BGJ_TEXT, BG_NAME_MAX, c->name,
                     sizeof(c->name), &c->has_name) != 0 ||
            bgj_profile_patch_from_json(o, P, &c->profile, in->errstr,
                                        in->errstr_size) != 0)
                return -1;
        return 0;
}

static int rd_group_ref(bgj_in_t *in, const json_t *o, bg_cmd_billing_group_ref_t *c) {
        static const char *const keys[] = { "billing_group_id", NULL };

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_REQ, &c->billing_group_id,
                      NULL) != 0)
                return -1;
        return 0;
}

static int rd_create_project(bgj_in_t *in, const json_t *o, bg_cmd_create_project_t *c) {
        static const char *const keys[] = {
                "project_id", "project", "billing_group_id", NULL,
        };

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__uuid(in, o, P, "project_id", BGJ_REQ, &c->project_id, NULL) != 0 ||
            bgj__str(in, o, P, "project", BGJ_REQ, BG_PROJECT_NAME_MAX, c->name,
                     sizeof(c->name), NULL) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_NULLOK, &c->billing_group_id,
                      &c->has_billing_group_id) != 0)
                return -1;
        return 0;
}

static int rd_assign_projects(bgj_in_t *in, const json_t *o, bg_cmd_assign_projects_t *c) {
        static const char *const keys[] = { "billing_group_id", "projects_names", NULL };
        char lpath[BGJ_PATH_SIZE], ipath[BGJ_PATH_SIZE];
        const json_t *a;
        json_t *item;
        size_t i;

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_REQ, &c->billing_group_id,
                      NULL) != 0 ||
            bgj__member(in, o, P, "projects_names", BGJ_REQ, &a) != 0)
                return -1;
        bgj__join(lpath, sizeof(lpath), P, "projects_names");
        if (!json_is_array(a))
                return bgj__fail(in, lpath, "not an array");
        if (json_array_size(a) > BG_ASSIGN_PROJECTS_MAX)
                return bgj__fail(in, lpath, "%zu items, at most %d", json_array_size(a),
                                 BG_ASSIGN_PROJECTS_MAX);
        json_array_foreach(a, i, item) {
                bgj__index(ipath, sizeof(ipath), lpath, i);
                if (bgj__v_str(in, item, ipath, 0, BG_PROJECT_NAME_MAX, c->project_names[i],
                               BG_PROJECT_NAME_SIZE) != 0)
                        return -1;
        }
        c->n_projects = json_array_size(a);
        return 0;
}

static int rd_delete_project(bgj_in_t *in, const json_t *o, bg_cmd_delete_project_t *c) {
        static const char *const keys[] = { "project_id", NULL };

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__uuid(in, o, P, "project_id", BGJ_REQ, &c->project_id, NULL) != 0)
                return -1;
        return 0;
}

static int rd_issue_credit(bgj_in_t *in, const json_t *o, bg_cmd_issue_credit_t *c) {
        static const char *const keys[] = {
                "code", "value", "currency", "type", "start_time", "expire_time", NULL,
        };
        int currency, type;

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__str(in, o, P, "code", BGJ_REQ, BG_CREDIT_CODE_MAX, c->code,
                     sizeof(c->code), NULL) != 0 ||
            bgj__money(in, o, P, "value", BGJ_REQ, &c->value, NULL) != 0 ||
            bgj__enum(in, o, P, "currency", BGJ_REQ, BGJ_ENUM_CURRENCY, &currency,
                      NULL) != 0 ||
            bgj__enum(in, o, P, "type", BGJ_REQ, BGJ_ENUM_CREDIT_TYPE, &type, NULL) != 0 ||
            bgj__time(in, o, P, "start_time", BGJ_REQ, &c->start_time, NULL) != 0 ||
            bgj__time(in, o, P, "expire_time", BGJ_NULLOK, &c->expire_time,
                      &c->has_expire_time) != 0)
                return -1;
        c->currency = (bg_currency_t)currency;
        c->type = (bg_credit_type_t)type;
        return 0;
}

static int rd_claim_credit(bgj_in_t *in, const json_t *o, bg_cmd_claim_credit_t *c) {
        static const char *const keys[] = { "billing_group_id", "code", "project_id", NULL };

        if (bgj__check_keys(in, o, P, keys, false) != 0 ||
            bgj__uuid(in, o, P, "billing_group_id", BGJ_REQ, &c->billing_group_id,
                      NULL) != 0 ||
            bgj__str(in, o, P, "code", BGJ_REQ, BG_CREDIT_CODE_MAX, c->code,
                     sizeof(c->code), NULL) != 0 ||
            bgj__uuid(in, o, P, "project_id", BGJ_NULLOK, &c->project_id,
                      &c->has_project_id) != 0)
                return -1;
        return 0;
}

static int rd_payload(bgj_in_t *in, const json_t *o, bg_command_t *c) {
        switch (c->type) {
        case BG_CMD_CREATE_ACCOUNT:
                return rd_create_account(in, o, &c->payload.create_account);
        case BG_CMD_GRANT_ROLE:
                return rd_role(in, o, &c->payload.grant_role);
        case BG_CMD_REVOKE_ROLE:
                return rd_role(in, o, &c->payload.revoke_role);
        case BG_CMD_CREATE_BILLING_GROUP:
                return rd_create_group(in, o, &c->payload.create_billing_group);
        case BG_CMD_UPDATE_BILLING_GROUP:
                return rd_update_group(in, o, &c->payload.update_billing_group);
        case BG_CMD_DELETE_BILLING_GROUP:
                return rd_group_ref(in, o, &c->payload.delete_billing_group);
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                return rd_group_ref(in, o, &c->payload.set_primary_billing_group);
        case BG_CMD_CREATE_PROJECT:
                return rd_create_project(in, o, &c->payload.create_project);
        case BG_CMD_ASSIGN_PROJECTS:
                return rd_assign_projects(in, o, &c->payload.assign_projects);
        case BG_CMD_DELETE_PROJECT:
                return rd_delete_project(in, o, &c->payload.delete_project);
        case BG_CMD_ISSUE_CREDIT:
                return rd_issue_credit(in, o, &c->payload.issue_credit);
        case BG_CMD_CLAIM_CREDIT:
                return rd_claim_credit(in, o, &c->payload.claim_credit);
        case BG_CMD_NONE:
        case BG_CMD__COUNT:
                break;
        }
        return bgj__fail(in, "type", "unknown command type");
}

int bgj_command_from_json(const json_t *j, bg_command_t *out,
                          char *errstr, size_t errstr_size) {
        static const char *const keys[] = {
                "command_id", "account_id", "actor", "issued_at", "expected_version",
                "type", "payload", NULL,
        };
        bgj_in_t in = { errstr, errstr_size };
        const json_t *payload;
        int type;

        if (out == NULL)
                return bgj__fail(&in, "", "no output command");
        memset(out, 0, sizeof(*out));
        if (bgj__object(&in, j, "") != 0 ||
            bgj__check_keys(&in, j, "", keys, false) != 0 ||
            bgj__uuid(&in, j, "", "command_id", BGJ_REQ, &out->command_id, NULL) != 0 ||
            bgj__uuid(&in, j, "", "account_id", BGJ_REQ, &out->account_id, NULL) != 0 ||
            bgj__str(&in, j, "", "actor", BGJ_REQ, BG_ACTOR_MAX, out->actor,
                     sizeof(out->actor), NULL) != 0 ||
            bgj__time(&in, j, "", "issued_at", BGJ_REQ, &out->issued_at, NULL) != 0 ||
            bgj__int(&in, j, "", "expected_version", BGJ_NULLOK, 0, INT64_MAX,
                     &out->expected_version, &out->has_expected_version) != 0 ||
            bgj__enum(&in, j, "", "type", BGJ_REQ, BGJ_ENUM_COMMAND, &type, NULL) != 0 ||
            bgj__member(&in, j, "", "payload", BGJ_REQ, &payload) != 0)
                goto out_err;
        out->type = (bg_command_type_t)type;
        if (bgj__object(&in, payload, P) != 0 || rd_payload(&in, payload, out) != 0)
                goto out_err;
        return 0;
out_err:
        memset(out, 0, sizeof(*out));
        return -1;
}

/* ---- writing ---- */

static int wr_payload(json_t *o, const bg_command_t *cmd) {
        int rc = 0;

#define PUT(key, value)                                                         \
        do {                                                                    \
                if (rc == 0)                                                    \
                        rc = bgj__put(o, key, (value));                         \
        } while (0)

        switch (cmd->type) {
        case BG_CMD_CREATE_ACCOUNT: {
                const bg_cmd_create_account_t *c = &cmd->payload.create_account;

                PUT("account_name", BGJ_W_STR(c->name));
                PUT("owner", BGJ_W_STR(c->owner));
                break;
        }
        case BG_CMD_GRANT_ROLE:
        case BG_CMD_REVOKE_ROLE: {
                const bg_cmd_role_t *c = cmd->type == BG_CMD_GRANT_ROLE ?
                                         &cmd->payload.grant_role : &cmd->payload.revoke_role;

                PUT("user", BGJ_W_STR(c->user));
                PUT("role", bgj__w_enum(BGJ_ENUM_ROLE, c->role));
                break;
        }
        case BG_CMD_CREATE_BILLING_GROUP: {
                const bg_cmd_create_billing_group_t *c = &cmd->payload.create_billing_group;

                PUT("billing_group_id", bgj__w_uuid(&c->billing_group_id));
                PUT("billing_group_name", BGJ_W_STR(c->name));
                if (rc == 0)
                        rc = bgj_profile_patch_add_to_json(o, &c->profile);
                if (c->has_copy_from)
                        PUT("copy_from_billing_group", bgj__w_uuid(&c->copy_from));
                break;
        }
        case BG_CMD_UPDATE_BILLING_GROUP: {
                const bg_cmd_update_billing_group_t *c = &cmd->payload.update_billing_group;

                PUT("billing_group_id", bgj__w_uuid(&c->billing_group_id));
                if (c->has_name)
                        PUT("billing_group_name", BGJ_W_STR(c->name));
                if (rc == 0)
                        rc = bgj_profile_patch_add_to_json(o, &c->profile);
                break;
        }
        case BG_CMD_DELETE_BILLING_GROUP:
                PUT("billing_group_id",
                    bgj__w_uuid(&cmd->payload.delete_billing_group.billing_group_id));
                break;
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                PUT("billing_group_id",
                    bgj__w_uuid(&cmd->payload.set_primary_billing_group.billing_group_id));
                break;
        case BG_CMD_CREATE_PROJECT: {
                const bg_cmd_create_project_t *c = &cmd->payload.create_project;

                PUT("project_id", bgj__w_uuid(&c->project_id));
                PUT("project", BGJ_W_STR(c->name));
                if (c->has_billing_group_id)
                        PUT("billing_group_id", bgj__w_uuid(&c->billing_group_id));
                break;
        }
        case BG_CMD_ASSIGN_PROJECTS: {
                const bg_cmd_assign_projects_t *c = &cmd->payload.assign_projects;
                json_t *a = NULL;

                PUT("billing_group_id", bgj__w_uuid(&c->billing_group_id));
                if (rc == 0) {
                        a = json_array();
                        rc = bgj__put(o, "projects_names", a);
                }
                if (c->n_projects > BG_ASSIGN_PROJECTS_MAX)
                        rc = -1;
                for (size_t i = 0; rc == 0 && i < c->n_projects; i++)
                        rc = json_array_append_new(a, BGJ_W_STR(c->project_names[i]));
                break;
        }
        case BG_CMD_DELETE_PROJECT:
                PUT("project_id", bgj__w_uuid(&cmd->payload.delete_project.project_id));
                break;
        case BG_CMD_ISSUE_CREDIT: {
                const bg_cmd_issue_credit_t *c = &cmd->payload.issue_credit;

                PUT("code", BGJ_W_STR(c->code));
                PUT("value", bgj__w_money(c->value));
                PUT("currency", bgj__w_enum(BGJ_ENUM_CURRENCY, c->currency));
                PUT("type", bgj__w_enum(BGJ_ENUM_CREDIT_TYPE, c->type));
                PUT("start_time", bgj__w_time(c->start_time));
                if (c->has_expire_time)
                        PUT("expire_time", bgj__w_time(c->expire_time));
                break;
        }
        case BG_CMD_CLAIM_CREDIT: {
                const bg_cmd_claim_credit_t *c = &cmd->payload.claim_credit;

                PUT("billing_group_id", bgj__w_uuid(&c->billing_group_id));
                PUT("code", BGJ_W_STR(c->code));
                if (c->has_project_id)
                        PUT("project_id", bgj__w_uuid(&c->project_id));
                break;
        }
        case BG_CMD_NONE:
        case BG_CMD__COUNT:
        default:
                rc = -1;
                break;
        }
#undef PUT
        return rc;
}

json_t *bgj_command_to_json(const bg_command_t *cmd) {
        json_t *o, *payload;
        int rc = 0;

        if (cmd == NULL)
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "command_id", bgj__w_uuid(&cmd->command_id));
        rc |= bgj__put(o, "account_id", bgj__w_uuid(&cmd->account_id));
        rc |= bgj__put(o, "actor", BGJ_W_STR(cmd->actor));
        rc |= bgj__put(o, "issued_at", bgj__w_time(cmd->issued_at));
        if (cmd->has_expected_version)
                rc |= bgj__put(o, "expected_version", json_integer(cmd->expected_version));
        rc |= bgj__put(o, "type", bgj__w_enum(BGJ_ENUM_COMMAND, cmd->type));
        payload = json_object();
        rc |= bgj__put(o, "payload", payload);
        if (rc != 0 || wr_payload(payload, cmd) != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
