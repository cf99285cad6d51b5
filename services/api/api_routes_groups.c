/*
 * Billing groups: CRUD, projects, projects-assign, events and credits. Shapes follow
 * Aiven's billing-group API ("billing_group", "billing_groups", "projects", "events",
 * "credits"); money is a decimal string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bg_json.h"
#include "bg_money.h"

#define GROUP_COLS                                                                      \
        "SELECT g.billing_group_id, g.name, g.account_id, a.name, g.billing_currency, "  \
        "g.payment_method, array_to_json(g.billing_emails)::text, "                     \
        "array_to_json(g.billing_contact_emails)::text, coalesce(g.billing_extra_text, ''), " \
        "coalesce(g.card_id, ''), coalesce(g.company, ''), "                            \
        "array_to_json(g.address_lines)::text, coalesce(g.city, ''), "                  \
        "coalesce(g.state, ''), coalesce(g.zip_code, ''), coalesce(g.country_code, ''), " \
        "coalesce(g.vat_id, ''), g.copied_from, "                                       \
        "(extract(epoch FROM g.created_at) * 1000)::bigint, s.seq "                     \
        "FROM billing_groups g JOIN accounts a ON a.account_id = g.account_id "         \
        "LEFT JOIN account_seq s ON s.account_id = g.account_id "

/* The statement the benchmark compares with (tests/bench/bench_api.sh). */
static const char SQL_GROUP[] =
        GROUP_COLS "WHERE g.billing_group_id = $1 AND g.status = 'active' "
        "AND ($2::uuid IS NULL OR g.account_id = $2::uuid)";
static const char SQL_GROUPS[] =
        GROUP_COLS "WHERE g.account_id = $1 AND g.status = 'active' "
        "ORDER BY g.created_at, g.billing_group_id";

/* A JSON array text of strings from PostgreSQL: the strings, or as {"email": s} objects. */
static json_t *text_array(const PGresult *res, int row, int col, bool emails) {
        json_t *in, *out = json_array(), *v;
        size_t i;

        if (out == NULL || PQgetisnull(res, row, col))
                return out;
        in = json_loads(PQgetvalue(res, row, col), 0, NULL);
        json_array_foreach(in, i, v) {
                if (!json_is_string(v))
                        continue;
                if (emails)
                        json_array_append_new(out, json_pack("{s:O}", "email", v));
                else
                        json_array_append(out, v);
        }
        json_decref(in);
        return out;
}

static json_t *group_row(const PGresult *res, int row) {
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                         "s:o, s:o, s:o, s:o, s:o, s:o}",
                         "billing_group_id", api_col_str(res, row, 0),
                         "billing_group_name", api_col_str(res, row, 1),
                         "account_id", api_col_str(res, row, 2),
                         "account_name", api_col_str(res, row, 3),
                         "billing_currency", api_col_str(res, row, 4),
                         "payment_method", api_col_str(res, row, 5),
                         "billing_emails", text_array(res, row, 6, true),
                         "billing_contact_emails", text_array(res, row, 7, true),
                         "billing_extra_text", api_col_str(res, row, 8),
                         "card_id", api_col_str(res, row, 9),
                         "company", api_col_str(res, row, 10),
                         "address_lines", text_array(res, row, 11, false),
                         "city", api_col_str(res, row, 12),
                         "state", api_col_str(res, row, 13),
                         "zip_code", api_col_str(res, row, 14),
                         "country_code", api_col_str(res, row, 15),
                         "vat_id", api_col_str(res, row, 16),
                         "copied_from_billing_group", api_col_str(res, row, 17),
                         "create_time", api_col_time(res, row, 18));
}

json_t *api_group_load(api_req_t *req, const bg_uuid_t *id, bool answer, bg_uuid_t *account_out) {
        char gid[BG_UUID_STR_LEN + 1], aid[BG_UUID_STR_LEN + 1];
        const char *params[2] = {gid, NULL};
        PGresult *res;
        json_t *obj;

        bg_uuid_format(id, gid);
        if (!req->ar_who.ap_service) {
                bg_uuid_format(&req->ar_who.ap_account, aid);
                params[1] = aid;
        }
        res = api_query(req, SQL_GROUP, 2, params);
        if (res == NULL)
                return NULL;
        if (PQntuples(res) != 1) {
                PQclear(res);
                if (answer)
                        api_reply_error(req, 404, "not_found", "billing group not found");
                return NULL;
        }
        if (account_out != NULL)
                bg_uuid_parse(PQgetvalue(res, 0, 2), BG_UUID_STR_LEN, account_out);
        if (!PQgetisnull(res, 0, 19))
                snprintf(req->ar_etag, sizeof(req->ar_etag), "\"%s\"", PQgetvalue(res, 0, 19));
        obj = group_row(res, 0);
        PQclear(res);
        if (obj == NULL && answer)
                api_reply_error(req, 500, "internal", "cannot build the response");
        return obj;
}

bool api_group_scope(api_req_t *req, bg_uuid_t *id_out, bg_uuid_t *account_out) {
        char gid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {gid};
        PGresult *res;
        bool ok;

        if (!api_arg_uuid(req, 0, "billing_group_id", id_out))
                return false;
        bg_uuid_format(id_out, gid);
        /* Deleted groups too: their invoices, events and credits stay readable, and writes
         * get the domain's not_found (docs/api.md, "Deleted billing groups"). */
        res = api_query(req, "SELECT account_id FROM billing_groups WHERE billing_group_id = $1",
                        1, params);
        if (res == NULL)
                return false;
        ok = PQntuples(res) == 1 &&
             bg_uuid_parse(PQgetvalue(res, 0, 0), BG_UUID_STR_LEN, account_out) &&
             (req->ar_who.ap_service || bg_uuid_equal(account_out, &req->ar_who.ap_account));
        PQclear(res);
        if (!ok)
                api_reply_error(req, 404, "not_found", "billing group not found");
        return ok;
}

/* Runs @cmd (its payload from @payload) for the group of the path; true when done and
 * the caller may answer. */
static bool group_command(api_req_t *req, bg_command_type_t type, const bg_uuid_t *account,
                          json_t *payload, bg_command_t **cmd_out) {
        bg_command_t *cmd = malloc(sizeof(*cmd));

        *cmd_out = cmd;
        if (cmd == NULL || payload == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                return false;
        }
        return api_command_init(req, cmd, type, account) &&
               api_command_payload(req, cmd, payload) && api_command_run(req, cmd);
}

/* ------------------------------------------------------------------ CRUD */

static int list_groups(api_req_t *req, const char *account_arg) {
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {aid};
        bg_uuid_t account;
        PGresult *res;
        json_t *list;

        if (!api_scope_account(req, account_arg, &account))
                return 0;
        bg_uuid_format(&account, aid);
        if ((res = api_query(req, SQL_GROUPS, 1, params)) == NULL)
                return 0;
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++)
                json_array_append_new(list, group_row(res, i));
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:o}", "billing_groups", list));
}

int api_h_group_list(api_req_t *req) {
        return list_groups(req, api_query_arg(req, "account_id"));
}

int api_h_account_group_list(api_req_t *req) {
        return list_groups(req, req->ar_arg[0]);
}

int api_h_group_create(api_req_t *req) {
        static const char *const allowed[] = {"account_id", "billing_group_name",
                                              "copy_from_billing_group", NULL};
        char gid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL, *obj, *acc;
        bg_uuid_t account, group;

        if ((body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, true))
                goto out;
        acc = json_object_get(body, "account_id");
        if (acc != NULL && !json_is_string(acc)) {
                api_reply_error(req, 400, "invalid_argument", "account_id: not a string");
                goto out;
        }
        if (!api_scope_account(req, acc ? json_string_value(acc) : NULL, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN))
                goto out;
        if ((cmd = malloc(sizeof(*cmd))) == NULL ||
            (payload = json_deep_copy(body)) == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (!api_command_init(req, cmd, BG_CMD_CREATE_BILLING_GROUP, &account))
                goto out;
        api_derived_id(&cmd->command_id, "billing_group", &group);
        bg_uuid_format(&group, gid);
        json_object_del(payload, "account_id");
        if (json_object_set_new(payload, "billing_group_id", json_string(gid)) != 0 ||
            !api_command_payload(req, cmd, payload) || !api_command_run(req, cmd))
                goto out;
        if ((obj = api_group_load(req, &group, true, NULL)) != NULL)
                api_reply_json(req, 201, json_pack("{s:o}", "billing_group", obj));
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

int api_h_group_get(api_req_t *req) {
        bg_uuid_t group;
        json_t *obj;

        if (!api_arg_uuid(req, 0, "billing_group_id", &group))
                return 0;
        if ((obj = api_group_load(req, &group, true, NULL)) != NULL)
                api_reply_json(req, 200, json_pack("{s:o}", "billing_group", obj));
        return 0;
}

int api_h_group_update(api_req_t *req) {
        static const char *const allowed[] = {"billing_group_name", NULL};
        char gid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL, *obj;
        bg_uuid_t account, group;

        if (!api_group_scope(req, &group, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN) ||
            (body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, true))
                goto out;
        bg_uuid_format(&group, gid);
        if ((payload = json_deep_copy(body)) != NULL)
                json_object_set_new(payload, "billing_group_id", json_string(gid));
        if (!group_command(req, BG_CMD_UPDATE_BILLING_GROUP, &account, payload, &cmd))
                goto out;
        if ((obj = api_group_load(req, &group, true, NULL)) != NULL)
                api_reply_json(req, 200, json_pack("{s:o}", "billing_group", obj));
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

int api_h_group_delete(api_req_t *req) {
        char gid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *payload = NULL;
        bg_uuid_t account, group;

        if (!api_group_scope(req, &group, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN))
                return 0;
        if (req->ar_body_len > 0)
                return api_reply_error(req, 400, "invalid_argument", "DELETE takes no body");
        bg_uuid_format(&group, gid);
        payload = json_pack("{s:s}", "billing_group_id", gid);
        if (group_command(req, BG_CMD_DELETE_BILLING_GROUP, &account, payload, &cmd))
                api_reply_json(req, 200, json_pack("{s:s}", "message", "billing group deleted"));
        json_decref(payload);
        free(cmd);
        return 0;
}

/* ------------------------------------------------------------------ projects */

static const char SQL_GROUP_PROJECTS[] =
        "SELECT p.project_id, p.name, (extract(epoch FROM p.created_at) * 1000)::bigint, "
        "g.billing_currency FROM projects p "
        "JOIN billing_groups g ON g.billing_group_id = p.billing_group_id "
        "WHERE p.billing_group_id = $1 AND p.status = 'active' ORDER BY p.name";
/* Accumulated costs of the group's open (estimate) invoices, per project: the exact sums
 * (line_total is only set at finalization). */
static const char SQL_ESTIMATES[] =
        "SELECT l.project_id, sum(l.amount)::bigint FROM invoice_lines l "
        "JOIN invoices i ON i.invoice_number = l.invoice_number "
        "WHERE i.billing_group_id = $1 AND i.state = 'estimate' AND l.project_id IS NOT NULL "
        "GROUP BY l.project_id";

static int reply_group_projects(api_req_t *req, const bg_uuid_t *group) {
        char gid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {gid};
        PGresult *res, *est;
        json_t *list;

        bg_uuid_format(group, gid);
        if ((res = api_query(req, SQL_GROUP_PROJECTS, 1, params)) == NULL)
                return 0;
        if ((est = api_query_db(req, API_DB_INVOICER, SQL_ESTIMATES, 1, params)) == NULL) {
                PQclear(res);
                return 0;
        }
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++) {
                const char *pid = PQgetvalue(res, i, 0);
                int64_t micros = 0;
                char money[BG_MONEY_STR_SIZE];

                for (int j = 0; j < PQntuples(est); j++)
                        if (strcmp(PQgetvalue(est, j, 0), pid) == 0)
                                micros = strtoll(PQgetvalue(est, j, 1), NULL, 10);
                bg_money_format(micros, money);
                json_array_append_new(list, json_pack("{s:s, s:o, s:s, s:s, s:o}",
                                                      "project_id", pid,
                                                      "project_name", api_col_str(res, i, 1),
                                                      "estimated_balance", money,
                                                      "currency", PQgetvalue(res, i, 3),
                                                      "create_time", api_col_time(res, i, 2)));
        }
        PQclear(res);
        PQclear(est);
        return api_reply_json(req, 200, json_pack("{s:o}", "projects", list));
}

int api_h_group_projects(api_req_t *req) {
        bg_uuid_t account, group;

        if (!api_group_scope(req, &group, &account))
                return 0;
        return reply_group_projects(req, &group);
}

int api_h_group_projects_assign(api_req_t *req) {
        static const char *const allowed[] = {"projects_names", NULL};
        char gid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL;
        bg_uuid_t account, group;

        if (!api_group_scope(req, &group, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN) ||
            (body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        bg_uuid_format(&group, gid);
        if ((payload = json_deep_copy(body)) != NULL)
                json_object_set_new(payload, "billing_group_id", json_string(gid));
        if (group_command(req, BG_CMD_ASSIGN_PROJECTS, &account, payload, &cmd))
                reply_group_projects(req, &group);
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}

/* ------------------------------------------------------------------ events */

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX     1000

static const char SQL_EVENTS[] =
        "SELECT log_entry_id, (extract(epoch FROM time) * 1000)::bigint, actor, event_type, "
        "event_desc, billing_group_id, project_id, project_name, seq "
        "FROM audit_log WHERE account_id = $1 "
        "AND (billing_group_id = $2 OR previous_billing_group_id = $2) "
        "ORDER BY seq DESC LIMIT $3";

int api_h_group_events(api_req_t *req) {
        const char *limit_arg = api_query_arg(req, "limit");
        char gid[BG_UUID_STR_LEN + 1], aid[BG_UUID_STR_LEN + 1], lim[16];
        const char *params[3] = {aid, gid, lim};
        bg_uuid_t account, group;
        long limit = EVENTS_LIMIT_DEFAULT;
        PGresult *res;
        json_t *list;

        if (limit_arg != NULL) {
                char *end;

                limit = strtol(limit_arg, &end, 10);
                if (*limit_arg < '0' || *limit_arg > '9' || *end != '\0' || limit < 1 ||
                    limit > EVENTS_LIMIT_MAX)
                        return api_reply_error(req, 400, "invalid_argument", "limit: expected "
                                               "an integer from 1 to %d", EVENTS_LIMIT_MAX);
        }
        if (!api_group_scope(req, &group, &account))
                return 0;
        bg_uuid_format(&group, gid);
        bg_uuid_format(&account, aid);
        snprintf(lim, sizeof(lim), "%ld", limit);
        if ((res = api_query(req, SQL_EVENTS, 3, params)) == NULL)
                return 0;
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++)
                json_array_append_new(list, json_pack(
                        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "log_entry_id", api_col_str(res, i, 0),
                        "create_time", api_col_time(res, i, 1),
                        "actor", api_col_str(res, i, 2),
                        "event_type", api_col_str(res, i, 3),
                        "event_desc", api_col_str(res, i, 4),
                        "billing_group_id", api_col_str(res, i, 5),
                        "project_id", api_col_str(res, i, 6),
                        "project_name", api_col_str(res, i, 7)));
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:o}", "events", list));
}

/* ------------------------------------------------------------------ credits */

static const char SQL_CREDITS[] =
        "SELECT code, credit_type, currency, value_micros, remaining_micros, "
        "(extract(epoch FROM start_time) * 1000)::bigint, "
        "(extract(epoch FROM expire_time) * 1000)::bigint, project_id, "
        "(extract(epoch FROM claimed_at) * 1000)::bigint "
        "FROM credits WHERE account_id = $1 AND billing_group_id = $2 "
        "AND ($3::text IS NULL OR code = $3) ORDER BY claimed_at, code";
/* What the invoicer has used of each credit (final invoices only). */
static const char SQL_CREDITS_USED[] =
        "SELECT code, remaining FROM credits WHERE account_id = $1 AND billing_group_id = $2";

/* The credits of @group (only @code when not NULL) as a JSON array, or NULL (answered). */
static json_t *load_credits(api_req_t *req, const bg_uuid_t *account, const bg_uuid_t *group,
                            const char *code) {
        char gid[BG_UUID_STR_LEN + 1], aid[BG_UUID_STR_LEN + 1];
        const char *params[3] = {aid, gid, code};
        PGresult *res, *used;
        json_t *list;

        bg_uuid_format(group, gid);
        bg_uuid_format(account, aid);
        if ((res = api_query(req, SQL_CREDITS, 3, params)) == NULL)
                return NULL;
        if ((used = api_query_db(req, API_DB_INVOICER, SQL_CREDITS_USED, 2, params)) == NULL) {
                PQclear(res);
                return NULL;
        }
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++) {
                json_t *remaining = api_col_money(res, i, 4);

                for (int j = 0; j < PQntuples(used); j++)
                        if (strcmp(PQgetvalue(used, j, 0), PQgetvalue(res, i, 0)) == 0) {
                                json_decref(remaining);
                                remaining = api_col_money(used, j, 1);
                        }
                json_array_append_new(list, json_pack(
                        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "code", api_col_str(res, i, 0), "type", api_col_str(res, i, 1),
                        "currency", api_col_str(res, i, 2), "value", api_col_money(res, i, 3),
                        "remaining_value", remaining, "start_time", api_col_time(res, i, 5),
                        "expire_time", api_col_time(res, i, 6),
                        "project_id", api_col_str(res, i, 7),
                        "claimed_at", api_col_time(res, i, 8)));
        }
        PQclear(res);
        PQclear(used);
        if (list == NULL)
                api_reply_error(req, 500, "internal", "out of memory");
        return list;
}

int api_h_group_credits(api_req_t *req) {
        bg_uuid_t account, group;
        json_t *list;

        if (!api_group_scope(req, &group, &account) ||
            (list = load_credits(req, &account, &group, NULL)) == NULL)
                return 0;
        return api_reply_json(req, 200, json_pack("{s:o}", "credits", list));
}

int api_h_group_credit_claim(api_req_t *req) {
        static const char *const allowed[] = {"code", "project_id", NULL};
        char gid[BG_UUID_STR_LEN + 1];
        bg_command_t *cmd = NULL;
        json_t *body = NULL, *payload = NULL, *list;
        bg_uuid_t account, group;

        if (!api_group_scope(req, &group, &account) ||
            !api_require_role(req, BG_ROLE_BILLING_ADMIN) ||
            (body = api_body_object(req)) == NULL || !api_check_keys(req, body, allowed, false))
                goto out;
        bg_uuid_format(&group, gid);
        if ((payload = json_deep_copy(body)) != NULL)
                json_object_set_new(payload, "billing_group_id", json_string(gid));
        if (!group_command(req, BG_CMD_CLAIM_CREDIT, &account, payload, &cmd))
                goto out;
        list = load_credits(req, &account, &group, cmd->payload.claim_credit.code);
        if (list == NULL)
                goto out;
        if (json_array_size(list) != 1) {
                json_decref(list);
                api_reply_error(req, 500, "internal", "claimed credit not found");
                goto out;
        }
        api_reply_json(req, 201, json_pack("{s:O}", "credit", json_array_get(list, 0)));
        json_decref(list);
out:
        json_decref(body);
        json_decref(payload);
        free(cmd);
        return 0;
}
