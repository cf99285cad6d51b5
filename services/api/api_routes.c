/*
 * The route table, row helpers, and the account, token and project endpoints.
 * Billing groups are in api_routes_groups.c, invoices in api_routes_invoices.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bg_json.h"
#include "bg_money.h"

static const char *const P_NONE[] = {NULL};
static const char *const P_ACCOUNT[] = {"account_id", NULL};
static const char *const P_LIMIT[] = {"limit", NULL};
static const char *const P_SORT[] = {"sort", NULL};

/* Every endpoint; services/api/openapi.json documents each (test_api_openapi checks). */
const api_route_t api_routes[] = {
        {"GET", "/v1/account", api_h_account_list, P_NONE, false},
        {"POST", "/v1/account", api_h_account_create, P_NONE, false},
        {"GET", "/v1/account/{}", api_h_account_get, P_NONE, false},
        {"PUT", "/v1/account/{}", api_h_account_update, P_NONE, false},
        {"GET", "/v1/account/{}/billing-group", api_h_account_group_list, P_NONE, false},
        {"POST", "/v1/account/{}/token", api_h_account_token_create, P_NONE, false},
        {"DELETE", "/v1/access-token", api_h_token_revoke_self, P_NONE, false},
        {"GET", "/v1/billing-group", api_h_group_list, P_ACCOUNT, false},
        {"POST", "/v1/billing-group", api_h_group_create, P_NONE, false},
        {"GET", "/v1/billing-group/{}", api_h_group_get, P_NONE, false},
        {"PUT", "/v1/billing-group/{}", api_h_group_update, P_NONE, false},
        {"DELETE", "/v1/billing-group/{}", api_h_group_delete, P_NONE, false},
        {"GET", "/v1/billing-group/{}/projects", api_h_group_projects, P_NONE, false},
        {"POST", "/v1/billing-group/{}/projects-assign", api_h_group_projects_assign, P_NONE,
         false},
        {"GET", "/v1/billing-group/{}/events", api_h_group_events, P_LIMIT, false},
        {"GET", "/v1/billing-group/{}/credits", api_h_group_credits, P_NONE, false},
        {"POST", "/v1/billing-group/{}/credits", api_h_group_credit_claim, P_NONE, false},
        {"GET", "/v1/billing-group/{}/invoice", api_h_group_invoices, P_SORT, false},
        {"GET", "/v1/billing-group/{}/invoice/{}/lines", api_h_group_invoice_lines, P_NONE,
         false},
        {"GET", "/v1/project", api_h_project_list, P_ACCOUNT, false},
        {"POST", "/v1/project", api_h_project_create, P_NONE, false},
        {"GET", "/v1/project/{}", api_h_project_get, P_ACCOUNT, false},
        {"DELETE", "/v1/project/{}", api_h_project_delete, P_ACCOUNT, false},
        {NULL, NULL, NULL, NULL, false},
};

/* ------------------------------------------------------------------ row helpers */

json_t *api_col_str(const PGresult *res, int row, int col) {
        if (PQgetisnull(res, row, col))
                return json_null();
        return json_string(PQgetvalue(res, row, col));
}

json_t *api_col_time(const PGresult *res, int row, int col) {
        char buf[BGJ_TIME_STR_SIZE];

        if (PQgetisnull(res, row, col) ||
            !bgj_time_format(strtoll(PQgetvalue(res, row, col), NULL, 10), buf))
                return json_null();
        return json_string(buf);
}

json_t *api_col_money(const PGresult *res, int row, int col) {
        char buf[BG_MONEY_STR_SIZE];

        if (PQgetisnull(res, row, col))
                return json_null();
        bg_money_format(strtoll(PQgetvalue(res, row, col), NULL, 10), buf);
        return json_string(buf);
}

bool api_check_keys(api_req_t *req, json_t *body, const char *const *allowed, bool profile) {
        const char *key;
        json_t *v;

        json_object_foreach(body, key, v) {
                bool ok = profile && bgj_profile_is_key(key);

                for (const char *const *a = allowed; !ok && *a; a++)
                        ok = strcmp(*a, key) == 0;
                if (!ok) {
                        char shown[48];
                        size_t i = 0;

                        for (const char *k = key; *k && i < 40; k++)
                                shown[i++] = (*k >= 0x20 && *k < 0x7f && *k != '"' &&
                                              *k != '\\') ? *k : '?';
                        shown[i] = '\0';
                        api_reply_error(req, 400, "invalid_argument", "%s: unknown field", shown);
                        return false;
                }
        }
        return true;
}

/* The string member @key of @body, NULL when absent; answers 400 when it is not a
 * string (then *bad is set). */
static const char *body_str(api_req_t *req, json_t *body, const char *key, bool *bad) {
        json_t *v = json_object_get(body, key);

        if (v == NULL || json_is_null(v))
                return NULL;
        if (!json_is_string(v)) {
                api_reply_error(req, 400, "invalid_argument", "%s: not a string", key);
                *bad = true;
                return NULL;
        }
        return json_string_value(v);
}

/* ------------------------------------------------------------------ accounts */

static const char SQL_ACCOUNT[] =
        "SELECT a.account_id, a.name, a.owner, a.primary_billing_group_id, "
        "(extract(epoch FROM a.created_at) * 1000)::bigint, s.seq "
        "FROM accounts a LEFT JOIN account_seq s ON s.account_id = a.account_id "
        "WHERE a.account_id = $1";
static const char SQL_ACCOUNTS_ALL[] =
        "SELECT a.account_id, a.name, a.owner, a.primary_billing_group_id, "
        "(extract(epoch FROM a.created_at) * 1000)::bigint, s.seq "
        "FROM accounts a LEFT JOIN account_seq s ON s.account_id = a.account_id "
        "ORDER BY a.created_at, a.account_id LIMIT 1000";

static json_t *account_row(const PGresult *res, int row) {
        return json_pack("{s:o, s:o, s:o, s:o, s:o}", "account_id", api_col_str(res, row, 0),
                         "account_name", api_col_str(res, row, 1), "account_owner",
                         api_col_str(res, row, 2), "primary_billing_group_id",
                         api_col_str(res, row, 3), "create_time", api_col_time(res, row, 4));
}

/* Answers {"account": ...} (@status) for @account, or 404. */
static int reply_account(api_req_t *req, unsigned status, const bg_uuid_t *account) {
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {aid};
        PGresult *res;
        json_t *obj;

        bg_uuid_format(account, aid);
        res = api_query(req, SQL_ACCOUNT, 1, params);
        if (res == NULL)
                return 0;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return api_reply_error(req, 404, "not_found", "account not found");
        }
        if (!PQgetisnull(res, 0, 5))
                snprintf(req->ar_etag, sizeof(req->ar_etag), "\"%s\"", PQgetvalue(res, 0, 5));
        obj = account_row(res, 0);
        PQclear(res);
        return api_reply_json(req, status, json_pack("{s:o}", "account", obj));
}

int api_h_account_list(api_req_t *req) {
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {aid};
        PGresult *res;
        json_t *list;

        if (req->ar_who.ap_service) {
                res = api_query(req, SQL_ACCOUNTS_ALL, 0, NULL);
        } else {
                bg_uuid_format(&req->ar_who.ap_account, aid);
                res = api_query(req, SQL_ACCOUNT, 1, params);
        }
        if (res == NULL)
                return 0;
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++)
                json_array_append_new(list, account_row(res, i));
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:o}", "accounts", list));
}

int api_h_account_create(api_req_t *req) {
        static const char *const allowed[] = {"account_name", "owner", NULL};
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL;
        bg_uuid_t account;

        if (!req->ar_who.ap_service)
                return api_reply_error(req, 403, "forbidden", "creating an account needs a "
                                       "service token");
        if ((body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        payload = json_deep_copy(body);
        cmd = malloc(sizeof(*cmd));
        if (payload == NULL || cmd == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        memset(&account, 0, sizeof(account));
        if (!api_command_init(req, cmd, BG_CMD_CREATE_ACCOUNT, &account))
                goto out;
        api_derived_id(&cmd->command_id, "account", &account);
        cmd->account_id = account;
        if (!api_command_payload(req, cmd, payload) || !api_command_run(req, cmd))
                goto out;
        reply_account(req, 201, &account);
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

int api_h_account_get(api_req_t *req) {
        bg_uuid_t account;

        if (!api_scope_account(req, req->ar_arg[0], &account))
                return 0;
        return reply_account(req, 200, &account);
}

int api_h_account_update(api_req_t *req) {
        static const char *const allowed[] = {"primary_billing_group_id", NULL};
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL;
        const char *gid;
        bool bad = false;
        bg_uuid_t account;

        if (!api_scope_account(req, req->ar_arg[0], &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN) ||
            (body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        gid = body_str(req, body, "primary_billing_group_id", &bad);
        if (bad)
                goto out;
        if (gid == NULL) {
                api_reply_error(req, 400, "invalid_argument", "primary_billing_group_id: "
                                "required field is missing");
                goto out;
        }
        payload = json_pack("{s:s}", "billing_group_id", gid);
        cmd = malloc(sizeof(*cmd));
        if (payload == NULL || cmd == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (!api_command_init(req, cmd, BG_CMD_SET_PRIMARY_BILLING_GROUP, &account) ||
            !api_command_payload(req, cmd, payload) || !api_command_run(req, cmd))
                goto out;
        reply_account(req, 200, &account);
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

/* ------------------------------------------------------------------ tokens */

static const char SQL_MEMBER[] =
        "SELECT user_email, role FROM account_members "
        "WHERE account_id = $1 AND lower(user_email) = lower($2)";
static const char SQL_TOKEN_INSERT[] =
        "INSERT INTO api_tokens (token_sha256, account_id, user_email, role, description, "
        "created_by) VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6)";

int api_h_account_token_create(api_req_t *req) {
        static const char *const allowed[] = {"user_email", "role", "description", NULL};
        char aid[BG_UUID_STR_LEN + 1], hex[65], sha_hex[65];
        const char *email, *role_name, *desc, *params[6];
        uint8_t sha[32];
        PGresult *res = NULL;
        json_t *body = NULL, *out;
        bg_uuid_t account;
        bg_role_t role;
        bool bad = false;

        if (!api_scope_account(req, req->ar_arg[0], &account) ||
            !api_require_role(req, BG_ROLE_ADMIN) ||
            (body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        email = body_str(req, body, "user_email", &bad);
        role_name = bad ? NULL : body_str(req, body, "role", &bad);
        desc = bad ? NULL : body_str(req, body, "description", &bad);
        if (bad)
                goto out;
        if (email == NULL || role_name == NULL) {
                api_reply_error(req, 400, "invalid_argument", "%s: required field is missing",
                                email == NULL ? "user_email" : "role");
                goto out;
        }
        role = bg_role_from_name(role_name);
        if (role == BG_ROLE_NONE) {
                api_reply_error(req, 400, "invalid_argument", "role: expected one of admin, "
                                "billing_admin, viewer");
                goto out;
        }
        if (strlen(email) > BG_EMAIL_MAX || (desc != NULL && strlen(desc) > 256)) {
                api_reply_error(req, 400, "invalid_argument", "%s: too long",
                                strlen(email) > BG_EMAIL_MAX ? "user_email" : "description");
                goto out;
        }
        bg_uuid_format(&account, aid);
        params[0] = aid;
        params[1] = email;
        if ((res = api_query(req, SQL_MEMBER, 2, params)) == NULL)
                goto out;
        if (PQntuples(res) != 1) {
                api_reply_error(req, 409, "failed_precondition", "user is not a member of the "
                                "account: grant a role first");
                goto out;
        }
        PQclear(res);
        res = NULL;
        if (!api_token_new(hex, sha)) {
                api_reply_error(req, 503, "unavailable", "no randomness available");
                goto out;
        }
        api_hex(sha, sizeof(sha), sha_hex);
        params[0] = sha_hex;
        params[1] = aid;
        params[2] = email;
        params[3] = bg_role_name(role);
        params[4] = desc;
        params[5] = req->ar_who.ap_actor;
        if ((res = api_query(req, SQL_TOKEN_INSERT, 6, params)) == NULL)
                goto out;
        out = json_pack("{s:s, s:s, s:s, s:s}", "token", hex, "account_id", aid, "user_email",
                        email, "role", bg_role_name(role));
        api_reply_json(req, 201, out);
out:
        PQclear(res);
        json_decref(body);
        return 0;
}

int api_h_token_revoke_self(api_req_t *req) {
        char sha_hex[65];
        const char *params[1] = {sha_hex};
        PGresult *res;

        if (req->ar_who.ap_service)
                return api_reply_error(req, 400, "invalid_argument", "service tokens are "
                                       "configured, not revoked (BILLING_API_SERVICE_TOKENS)");
        api_hex(req->ar_who.ap_token_sha256, 32, sha_hex);
        res = api_query(req, "UPDATE api_tokens SET revoked_at = now() "
                        "WHERE token_sha256 = decode($1, 'hex') AND revoked_at IS NULL", 1,
                        params);
        if (res == NULL)
                return 0;
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:s}", "message", "token revoked"));
}

/* ------------------------------------------------------------------ projects */

static const char SQL_PROJECTS[] =
        "SELECT p.project_id, p.name, p.account_id, p.billing_group_id, g.name, "
        "(extract(epoch FROM p.created_at) * 1000)::bigint "
        "FROM projects p JOIN billing_groups g ON g.billing_group_id = p.billing_group_id "
        "WHERE p.account_id = $1 AND p.status = 'active' ORDER BY p.name";
static const char SQL_PROJECT_BY_NAME[] =
        "SELECT p.project_id, p.name, p.account_id, p.billing_group_id, g.name, "
        "(extract(epoch FROM p.created_at) * 1000)::bigint "
        "FROM projects p JOIN billing_groups g ON g.billing_group_id = p.billing_group_id "
        "WHERE p.account_id = $1 AND p.status = 'active' AND p.name = $2";

static json_t *project_row(const PGresult *res, int row) {
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "project_id", api_col_str(res, row, 0),
                         "project_name", api_col_str(res, row, 1), "account_id",
                         api_col_str(res, row, 2), "billing_group_id", api_col_str(res, row, 3),
                         "billing_group_name", api_col_str(res, row, 4), "create_time",
                         api_col_time(res, row, 5));
}

/* The live project named @name of @account: its row (PQclear it), or NULL after
 * answering 404 / 5xx. */
static PGresult *project_by_name(api_req_t *req, const bg_uuid_t *account, const char *name) {
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[2] = {aid, name};
        PGresult *res;

        bg_uuid_format(account, aid);
        res = api_query(req, SQL_PROJECT_BY_NAME, 2, params);
        if (res != NULL && PQntuples(res) != 1) {
                PQclear(res);
                api_reply_error(req, 404, "not_found", "project not found");
                return NULL;
        }
        return res;
}

int api_h_project_list(api_req_t *req) {
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {aid};
        bg_uuid_t account;
        PGresult *res;
        json_t *list;

        if (!api_scope_account(req, api_query_arg(req, "account_id"), &account))
                return 0;
        bg_uuid_format(&account, aid);
        if ((res = api_query(req, SQL_PROJECTS, 1, params)) == NULL)
                return 0;
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++)
                json_array_append_new(list, project_row(res, i));
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:o}", "projects", list));
}

int api_h_project_create(api_req_t *req) {
        static const char *const allowed[] = {"project", "account_id", "billing_group_id", NULL};
        char pid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL;
        const char *acc, *name;
        bool bad = false;
        bg_uuid_t account, project;
        PGresult *res;

        if ((body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        acc = body_str(req, body, "account_id", &bad);
        if (bad || !api_scope_account(req, acc, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN))
                goto out;
        payload = json_deep_copy(body);
        cmd = malloc(sizeof(*cmd));
        if (payload == NULL || cmd == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (!api_command_init(req, cmd, BG_CMD_CREATE_PROJECT, &account))
                goto out;
        api_derived_id(&cmd->command_id, "project", &project);
        bg_uuid_format(&project, pid);
        json_object_del(payload, "account_id");                 /* absent is fine */
        if (json_object_set_new(payload, "project_id", json_string(pid)) != 0) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (!api_command_payload(req, cmd, payload) || !api_command_run(req, cmd))
                goto out;
        name = cmd->payload.create_project.name;
        if ((res = project_by_name(req, &account, name)) == NULL)
                goto out;
        api_reply_json(req, 201, json_pack("{s:o}", "project", project_row(res, 0)));
        PQclear(res);
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

int api_h_project_get(api_req_t *req) {
        bg_uuid_t account;
        PGresult *res;

        if (!api_scope_account(req, api_query_arg(req, "account_id"), &account) ||
            (res = project_by_name(req, &account, req->ar_arg[0])) == NULL)
                return 0;
        api_reply_json(req, 200, json_pack("{s:o}", "project", project_row(res, 0)));
        PQclear(res);
        return 0;
}

int api_h_project_delete(api_req_t *req) {
        bg_command_t *cmd = NULL;
        json_t *payload = NULL;
        bg_uuid_t account;
        PGresult *res;

        if (!api_scope_account(req, api_query_arg(req, "account_id"), &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN) ||
            (res = project_by_name(req, &account, req->ar_arg[0])) == NULL)
                return 0;
        payload = json_pack("{s:s}", "project_id", PQgetvalue(res, 0, 0));
        PQclear(res);
        cmd = malloc(sizeof(*cmd));
        if (payload == NULL || cmd == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (!api_command_init(req, cmd, BG_CMD_DELETE_PROJECT, &account) ||
            !api_command_payload(req, cmd, payload) || !api_command_run(req, cmd))
                goto out;
        api_reply_json(req, 200, json_pack("{s:s}", "message", "project deleted"));
out:
        json_decref(payload);
        free(cmd);
        return 0;
}
