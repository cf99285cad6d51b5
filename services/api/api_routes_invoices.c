/*
 * Invoices of a billing group, from the invoicer's tables (services/invoicer/migrations):
 * the list ("invoices") and the lines of one ("lines"), as JSON or, with Accept: text/csv,
 * as RFC 4180 CSV for BI tools (bgj_invoice_lines_csv). While an invoice is an estimate
 * its lines have no rounded line_total yet: the exact accumulated amount is shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bg_json.h"
#include "codec.h"

#define INVOICE_COLS                                                                    \
        "SELECT invoice_number, billing_group_id, billing_group_name, account_id, "      \
        "currency, (extract(epoch FROM period_begin) * 1000)::bigint, "                 \
        "(extract(epoch FROM period_end) * 1000)::bigint, state, total_vat_zero, "       \
        "total_inc_vat, (extract(epoch FROM issue_date) * 1000)::bigint, "              \
        "(extract(epoch FROM due_date) * 1000)::bigint, revision "                      \
        "FROM invoices WHERE billing_group_id = $1 "

/* ?sort= : one constant statement per order (no SQL is built from input). */
static const struct {
        const char *name;
        const char *sql;
} invoice_sorts[] = {
        {"-period_begin", INVOICE_COLS "ORDER BY period_begin DESC"},   /* the default */
        {"period_begin", INVOICE_COLS "ORDER BY period_begin ASC"},
        {"-invoice_number", INVOICE_COLS "ORDER BY invoice_number DESC"},
        {"invoice_number", INVOICE_COLS "ORDER BY invoice_number ASC"},
};

int api_h_group_invoices(api_req_t *req) {
        const char *sort = api_query_arg(req, "sort"), *sql = NULL;
        char gid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {gid};
        bg_uuid_t account, group;
        PGresult *res;
        json_t *list;

        for (size_t i = 0; i < sizeof(invoice_sorts) / sizeof(invoice_sorts[0]); i++)
                if (sort == NULL || strcmp(sort, invoice_sorts[i].name) == 0) {
                        sql = invoice_sorts[i].sql;
                        break;
                }
        if (sql == NULL)
                return api_reply_error(req, 400, "invalid_argument", "sort: expected one of "
                                       "period_begin, -period_begin, invoice_number, "
                                       "-invoice_number");
        if (!api_group_scope(req, &group, &account))
                return 0;
        bg_uuid_format(&group, gid);
        if ((res = api_query_db(req, API_DB_INVOICER, sql, 1, params)) == NULL)
                return 0;
        list = json_array();
        for (int i = 0; list && i < PQntuples(res); i++)
                json_array_append_new(list, json_pack(
                        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
                        "invoice_number", api_col_str(res, i, 0),
                        "billing_group_id", api_col_str(res, i, 1),
                        "billing_group_name", api_col_str(res, i, 2),
                        "account_id", api_col_str(res, i, 3),
                        "currency", api_col_str(res, i, 4),
                        "period_begin", api_col_time(res, i, 5),
                        "period_end", api_col_time(res, i, 6),
                        "state", api_col_str(res, i, 7),
                        "total_vat_zero", api_col_money(res, i, 8),
                        "total_inc_vat", api_col_money(res, i, 9),
                        "issue_date", api_col_time(res, i, 10),
                        "due_date", api_col_time(res, i, 11),
                        "revision", (json_int_t)strtoll(PQgetvalue(res, i, 12), NULL, 10)));
        PQclear(res);
        return api_reply_json(req, 200, json_pack("{s:o}", "invoices", list));
}

static const char SQL_INVOICE[] =
        "SELECT invoice_number, currency FROM invoices "
        "WHERE invoice_number = $1 AND billing_group_id = $2";
static const char SQL_LINES[] =
        "SELECT line_type, description, project_name, service_name, service_type, "
        "service_plan, coalesce(line_total, amount), "
        "(extract(epoch FROM timestamp_begin) * 1000)::bigint, "
        "(extract(epoch FROM timestamp_end) * 1000)::bigint, tags::text "
        "FROM invoice_lines WHERE invoice_number = $1 ORDER BY sort_group, line_key";

/* Copies at most @size - 1 bytes of @src, cut at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t size, const char *src) {
        size_t n = strlen(src);

        if (n >= size) {
                n = size - 1;
                while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Fills @inv->lines (and a tag pool) from the rows of SQL_LINES. -1 out of memory. */
static int lines_from_rows(const PGresult *res, codec_invoice_t *inv) {
        int n = PQntuples(res);
        json_t **tags = calloc((size_t)n + 1, sizeof(*tags));
        size_t ntags = 0, used = 0;
        int rc = -1;

        if (tags == NULL)
                return -1;
        for (int i = 0; i < n; i++) {
                tags[i] = json_loads(PQgetvalue(res, i, 9), 0, NULL);
                if (json_is_object(tags[i]))
                        ntags += json_object_size(tags[i]) < CODEC_TAGS_MAX ?
                                 json_object_size(tags[i]) : CODEC_TAGS_MAX;
        }
        inv->lines = calloc((size_t)n + 1, sizeof(*inv->lines));
        inv->tag_pool = calloc(ntags + 1, sizeof(*inv->tag_pool));
        if (inv->lines == NULL || inv->tag_pool == NULL)
                goto out;
        for (int i = 0; i < n; i++) {
                codec_invoice_line_t *l = &inv->lines[i];
                const char *key;
                json_t *v;

                l->line_type = codec_line_type_from_name(PQgetvalue(res, i, 0));
                if (l->line_type == CODEC_LINE_UNSET)
                        l->line_type = CODEC_LINE_OTHER_EVENT;
                copy_utf8(l->description, sizeof(l->description), PQgetvalue(res, i, 1));
                copy_utf8(l->project_name, sizeof(l->project_name), PQgetvalue(res, i, 2));
                copy_utf8(l->service_name, sizeof(l->service_name), PQgetvalue(res, i, 3));
                copy_utf8(l->service_type, sizeof(l->service_type), PQgetvalue(res, i, 4));
                copy_utf8(l->service_plan, sizeof(l->service_plan), PQgetvalue(res, i, 5));
                l->line_total = strtoll(PQgetvalue(res, i, 6), NULL, 10);
                l->has_timestamp_begin = !PQgetisnull(res, i, 7);
                l->timestamp_begin = strtoll(PQgetvalue(res, i, 7), NULL, 10);
                l->has_timestamp_end = !PQgetisnull(res, i, 8);
                l->timestamp_end = strtoll(PQgetvalue(res, i, 8), NULL, 10);
                l->tags = &inv->tag_pool[used];
                json_object_foreach(tags[i], key, v) {
                        codec_tag_t *t = &inv->tag_pool[used];

                        if (l->n_tags == CODEC_TAGS_MAX || used == ntags || !json_is_string(v))
                                break;
                        copy_utf8(t->key, sizeof(t->key), key);
                        copy_utf8(t->value, sizeof(t->value), json_string_value(v));
                        l->n_tags++;
                        used++;
                }
        }
        inv->n_lines = (size_t)n;
        rc = 0;
out:
        for (int i = 0; i < n; i++)
                json_decref(tags[i]);
        free(tags);
        return rc;
}

static bool wants_csv(api_req_t *req) {
        const char *accept = api_header(req, MHD_HTTP_HEADER_ACCEPT);

        return accept != NULL && strstr(accept, "text/csv") != NULL;
}

int api_h_group_invoice_lines(api_req_t *req) {
        char gid[BG_UUID_STR_LEN + 1];
        const char *params[2] = {req->ar_arg[1], gid};
        codec_invoice_t inv;
        bg_uuid_t account, group;
        PGresult *head = NULL, *res = NULL;

        memset(&inv, 0, sizeof(inv));
        if (!api_group_scope(req, &group, &account))
                return 0;
        bg_uuid_format(&group, gid);
        if (strlen(req->ar_arg[1]) > CODEC_INVOICE_NUMBER_MAX)
                return api_reply_error(req, 404, "not_found", "invoice not found");
        if ((head = api_query_db(req, API_DB_INVOICER, SQL_INVOICE, 2, params)) == NULL)
                return 0;
        if (PQntuples(head) != 1) {
                api_reply_error(req, 404, "not_found", "invoice not found");
                goto out;
        }
        copy_utf8(inv.invoice_number, sizeof(inv.invoice_number), PQgetvalue(head, 0, 0));
        inv.currency = bg_currency_from_name(PQgetvalue(head, 0, 1));
        inv.billing_group_id = group;
        inv.account_id = account;
        if ((res = api_query_db(req, API_DB_INVOICER, SQL_LINES, 1, params)) == NULL)
                goto out;
        if (lines_from_rows(res, &inv) != 0) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (wants_csv(req)) {
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                int rc = f ? bgj_invoice_lines_csv(&inv, f) : -1;

                if (f != NULL && fclose(f) != 0)
                        rc = -1;
                if (rc != 0) {
                        free(text);
                        api_reply_error(req, 500, "internal", "cannot write the CSV");
                        goto out;
                }
                api_reply_text(req, 200, "text/csv; charset=utf-8", text, len);
        } else {
                json_t *list = json_array();

                for (size_t i = 0; list && i < inv.n_lines; i++)
                        json_array_append_new(list, bgj_invoice_line_to_json(&inv.lines[i]));
                api_reply_json(req, 200, json_pack("{s:o}", "lines", list));
        }
out:
        PQclear(head);
        PQclear(res);
        codec_invoice_clear(&inv);
        return 0;
}
