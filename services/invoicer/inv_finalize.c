#include "inv_finalize.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_log.h"
#include "bg_money.h"
#include "inv_final.h"
#include "inv_time.h"

pgx_err_t inv_finalize_due(inv_store_t *st, int64_t cutoff_ms,
                           char (**numbers)[CODEC_INVOICE_NUMBER_MAX + 1], size_t *n,
                           char *errstr, size_t errstr_size) {
        char cutoff[48];
        const char *params[] = {cutoff};
        PGresult *res;
        pgx_err_t err;
        int rows;

        *numbers = NULL;
        *n = 0;
        inv_time_pg(cutoff_ms, cutoff, sizeof(cutoff));
        err = pgx_query(inv_store_conn(st),
                        "SELECT invoice_number FROM invoices WHERE state = 'estimate' "
                        "AND period_end <= $1 ORDER BY period_end, invoice_number",
                        1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        rows = PQntuples(res);
        if (rows > 0) {
                *numbers = calloc((size_t)rows, sizeof(**numbers));
                if (*numbers == NULL) {
                        PQclear(res);
                        snprintf(errstr, errstr_size, "out of memory");
                        return PGX_ERR_NOMEM;
                }
                for (int i = 0; i < rows; i++)
                        snprintf((*numbers)[i], sizeof((*numbers)[i]), "%s",
                                 PQgetvalue(res, i, 0));
        }
        *n = (size_t)rows;
        PQclear(res);
        return PGX_OK;
}

static bool get_uuid(PGresult *res, int row, int col, bg_uuid_t *out) {
        const char *v = PQgetvalue(res, row, col);
        return bg_uuid_parse(v, strlen(v), out);
}

static bool get_i64(PGresult *res, int row, int col, int64_t *out) {
        return inv_parse_i64(PQgetvalue(res, row, col), out);
}

/* The credits of the invoice's group in its currency, with what is left of each. */
static pgx_err_t load_credits(inv_store_t *st, const acct_state_t *acct, const bg_uuid_t *account,
                              const bg_uuid_t *group, bg_currency_t currency,
                              inv_fcredit_t **out, const acct_credit_t ***src, size_t *n,
                              char *errstr, size_t errstr_size) {
        char acc[BG_UUID_STR_LEN + 1];
        const char *params[] = {acc};
        size_t cap = acct ? acct_credit_count(acct) : 0;
        PGresult *res;
        pgx_err_t err;

        *out = NULL;
        *src = NULL;
        *n = 0;
        if (cap == 0)
                return PGX_OK;
        *out = calloc(cap, sizeof(**out));
        *src = calloc(cap, sizeof(**src));
        if (*out == NULL || *src == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        bg_uuid_format(account, acc);
        err = pgx_query(inv_store_conn(st), "SELECT code, remaining FROM credits "
                        "WHERE account_id = $1", 1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        for (size_t i = 0; i < cap; i++) {
                const acct_credit_t *c = acct_credit_at(acct, i);
                inv_fcredit_t *f = &(*out)[*n];

                if (!c->claimed || !bg_uuid_equal(&c->billing_group_id, group) ||
                    c->currency != currency)
                        continue;
                f->fc_code = c->code;
                f->fc_has_project = c->has_project_id;
                f->fc_project = c->project_id;
                f->fc_start_time = c->start_time;
                f->fc_has_expire = c->has_expire_time;
                f->fc_expire_time = c->expire_time;
                f->fc_remaining = c->value;
                for (int r = 0; r < PQntuples(res); r++)
                        if (strcmp(PQgetvalue(res, r, 0), c->code) == 0)
                                (void)get_i64(res, r, 1, &f->fc_remaining);
                (*src)[*n] = c;
                (*n)++;
        }
        PQclear(res);
        return PGX_OK;
}

static pgx_err_t exec_params(inv_store_t *st, const char *sql, int n, const char *const *params,
                             char *errstr, size_t errstr_size) {
        PGresult *res;
        pgx_err_t err = pgx_query(inv_store_conn(st), sql, n, params, &res, errstr, errstr_size);

        if (err == PGX_OK)
                PQclear(res);
        return err;
}

static void fmt_i64(char *buf, size_t size, int64_t v) {
        snprintf(buf, size, "%" PRId64, v);
}

static pgx_err_t write_outbox(inv_store_t *st, const char *number, codec_t *codec, char *errstr,
                              size_t errstr_size) {
        static const char hex[] = "0123456789abcdef";
        codec_invoice_t inv;
        const uint8_t *buf;
        size_t len;
        char cerr[256], *payload;
        pgx_err_t err;

        err = inv_invoice_read(inv_store_conn(st), number, &inv, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        if (codec_encode_invoice(codec, &inv, &buf, &len, cerr, sizeof(cerr)) != CODEC_OK) {
                snprintf(errstr, errstr_size, "cannot encode invoice \"%s\": %s", number, cerr);
                inv_invoice_free(&inv);
                return PGX_ERR_ARG;
        }
        payload = malloc(2 * len + 3);
        if (payload == NULL) {
                inv_invoice_free(&inv);
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        payload[0] = '\\';
        payload[1] = 'x';
        for (size_t i = 0; i < len; i++) {
                payload[2 + 2 * i] = hex[buf[i] >> 4];
                payload[3 + 2 * i] = hex[buf[i] & 15];
        }
        payload[2 + 2 * len] = '\0';
        {
                char rev[24];
                const char *params[] = {number, rev, payload};

                fmt_i64(rev, sizeof(rev), inv.revision);
                err = exec_params(st, "INSERT INTO invoice_outbox (invoice_number, revision, payload) "
                                  "VALUES ($1, $2, $3::bytea)", 3, params, errstr, errstr_size);
        }
        free(payload);
        inv_invoice_free(&inv);
        return err;
}

pgx_err_t inv_finalize_one(inv_store_t *st, const char *number, const inv_members_t *m,
                           const inv_conf_t *conf, codec_t *codec, int64_t now_ms, bool *done,
                           bg_uuid_t *group_out, int64_t *period_out, char *errstr,
                           size_t errstr_size) {
        const char *params1[] = {number};
        PGresult *res = NULL;
        pgx_err_t err;
        bg_uuid_t group, account;
        int64_t pbegin, pend;
        bg_currency_t currency;
        const bg_money_currency_t *cur;
        const acct_state_t *acct = NULL;
        const acct_group_t *g;
        inv_fline_t *lines = NULL;
        char **keys = NULL;
        int nlines = 0;
        inv_fcredit_t *credits = NULL;
        const acct_credit_t **csrc = NULL;
        size_t ncredits = 0;
        inv_ftotals_t tot;
        char country[BG_COUNTRY_CODE_SIZE] = "";
        int64_t vat;
        pgx_buf_t b = {0};

        *done = false;
        if ((err = inv_store_begin(st, errstr, errstr_size)) != PGX_OK)
                return err;
        err = pgx_query(inv_store_conn(st),
                        "SELECT billing_group_id, account_id, currency, "
                        "(extract(epoch FROM period_begin) * 1000)::bigint, "
                        "(extract(epoch FROM period_end) * 1000)::bigint, state "
                        "FROM invoices WHERE invoice_number = $1 FOR UPDATE",
                        1, params1, &res, errstr, errstr_size);
        if (err != PGX_OK)
                goto out;
        if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 5), "estimate") != 0) {
                inv_store_rollback(st);
                goto out;                       /* final already (or gone): nothing to do */
        }
        currency = bg_currency_from_name(PQgetvalue(res, 0, 2));
        cur = bg_money_currency_find(PQgetvalue(res, 0, 2), strlen(PQgetvalue(res, 0, 2)));
        if (!get_uuid(res, 0, 0, &group) || !get_uuid(res, 0, 1, &account) ||
            !get_i64(res, 0, 3, &pbegin) || !get_i64(res, 0, 4, &pend) || cur == NULL) {
                snprintf(errstr, errstr_size, "invoice \"%s\": unreadable header", number);
                err = PGX_ERR_SQL;
                goto out;
        }
        PQclear(res);
        res = NULL;

        g = inv_members_group(m, &group, &acct);
        if (g != NULL)
                snprintf(country, sizeof(country), "%s", g->country_code);
        vat = inv_conf_vat(conf, country);

        err = pgx_query(inv_store_conn(st),
                        "SELECT line_key, project_id, amount FROM invoice_lines "
                        "WHERE invoice_number = $1 AND sort_group = 0 ORDER BY line_key",
                        1, params1, &res, errstr, errstr_size);
        if (err != PGX_OK)
                goto out;
        nlines = PQntuples(res);
        lines = calloc(nlines > 0 ? (size_t)nlines : 1, sizeof(*lines));
        keys = calloc(nlines > 0 ? (size_t)nlines : 1, sizeof(*keys));
        if (lines == NULL || keys == NULL)
                goto nomem;
        for (int i = 0; i < nlines; i++) {
                keys[i] = PQgetvalue(res, i, 0);
                lines[i].fl_has_project = !PQgetisnull(res, i, 1) && get_uuid(res, i, 1,
                                                                                &lines[i].fl_project);
                if (!get_i64(res, i, 2, &lines[i].fl_amount)) {
                        snprintf(errstr, errstr_size, "invoice \"%s\": unreadable line", number);
                        err = PGX_ERR_SQL;
                        goto out;
                }
        }
        err = load_credits(st, acct, &account, &group, currency, &credits, &csrc, &ncredits,
                           errstr, errstr_size);
        if (err != PGX_OK)
                goto out;
        if (inv_final_compute(lines, (size_t)nlines, credits, ncredits, pbegin, pend, cur, vat,
                              &tot, errstr, errstr_size) != 0) {
                err = PGX_ERR_ARG;
                goto out;
        }

        /* Line totals of the charge lines. */
        for (int i = 0; i < nlines; i++) {
                pgx_buf_copy_text(&b, keys[i]);
                pgx_buf_printf(&b, "\t%" PRId64 "\n", lines[i].fl_total);
        }
        if (b.pb_oom)
                goto nomem;
        if (nlines > 0 &&
            ((err = pgx_copy_in(inv_store_conn(st), "COPY stage_totals (line_key, line_total) "
                                "FROM STDIN", b.pb_data, b.pb_len, errstr, errstr_size)) != PGX_OK ||
             (err = exec_params(st, "UPDATE invoice_lines l SET line_total = t.line_total "
                                "FROM stage_totals t WHERE l.invoice_number = $1 "
                                "AND l.line_key = t.line_key", 1, params1, errstr,
                                errstr_size)) != PGX_OK))
                goto out;

        /* A credit_consumption line per credit used, and its remaining value. */
        for (size_t i = 0; i < ncredits; i++) {
                const inv_fcredit_t *c = &credits[i];
                const acct_credit_t *src = csrc[i];
                const inv_project_t *proj = NULL;
                bg_uuid_t pg;
                char key[BG_CREDIT_CODE_SIZE + 8], desc[CODEC_DESCRIPTION_MAX + 1];
                char amount[24], remaining[24], value[24];
                char acc[BG_UUID_STR_LEN + 1], grp[BG_UUID_STR_LEN + 1];
                char prj[BG_UUID_STR_LEN + 1] = "";
                const char *pname = NULL;

                if (c->fc_used == 0)
                        continue;
                if (c->fc_has_project) {
                        bg_uuid_format(&c->fc_project, prj);
                        if (inv_members_resolve(m, &c->fc_project, pbegin, &proj, &pg) !=
                                    INV_RESOLVE_UNKNOWN && proj != NULL)
                                pname = proj->ip_name;
                }
                snprintf(key, sizeof(key), "credit/%s", c->fc_code);
                snprintf(desc, sizeof(desc), "Credit \"%s\" (%s)%s%s", c->fc_code,
                         bg_credit_type_name(src->type), pname ? " for project " : "",
                         pname ? pname : "");
                fmt_i64(amount, sizeof(amount), -c->fc_used);
                {
                        const char *params[] = {number, key, desc, prj[0] ? prj : NULL, pname,
                                                amount, c->fc_code};
                        err = exec_params(st,
                                          "INSERT INTO invoice_lines (invoice_number, line_key, "
                                          "line_type, sort_group, description, project_id, "
                                          "project_name, amount, line_total, credit_code) "
                                          "VALUES ($1, $2, 'credit_consumption', 1, $3, $4, $5, "
                                          "$6, $6, $7)",
                                          7, params, errstr, errstr_size);
                        if (err != PGX_OK)
                                goto out;
                }
                bg_uuid_format(&account, acc);
                bg_uuid_format(&group, grp);
                fmt_i64(value, sizeof(value), src->value);
                fmt_i64(remaining, sizeof(remaining), c->fc_remaining - c->fc_used);
                {
                        const char *params[] = {acc, c->fc_code, grp, prj[0] ? prj : NULL, value,
                                                remaining};
                        err = exec_params(st,
                                          "INSERT INTO credits (account_id, code, "
                                          "billing_group_id, project_id, value, remaining) "
                                          "VALUES ($1, $2, $3, $4, $5, $6) "
                                          "ON CONFLICT (account_id, code) DO UPDATE "
                                          "SET remaining = EXCLUDED.remaining",
                                          6, params, errstr, errstr_size);
                        if (err != PGX_OK)
                                goto out;
                }
        }
        if (tot.ft_rounding != 0) {
                char amount[24];
                const char *params[] = {number, amount};

                fmt_i64(amount, sizeof(amount), tot.ft_rounding);
                err = exec_params(st, "INSERT INTO invoice_lines (invoice_number, line_key, "
                                  "line_type, sort_group, description, amount, line_total) "
                                  "VALUES ($1, 'rounding', 'rounding', 2, "
                                  "'Rounding to the currency''s minor unit', $2, $2)",
                                  2, params, errstr, errstr_size);
                if (err != PGX_OK)
                        goto out;
        }
        {
                char tvz[24], tiv[24], vp[24], issue[48], due[48], fin[48];
                const char *params[] = {number, tvz, tiv, vp, country[0] ? country : NULL, issue,
                                        due, fin};

                fmt_i64(tvz, sizeof(tvz), tot.ft_total_vat_zero);
                fmt_i64(tiv, sizeof(tiv), tot.ft_total_inc_vat);
                fmt_i64(vp, sizeof(vp), vat);
                /* Dates derive from the period only, so that a replay gives the same
                 * invoice: issued when the period ends, due after the payment terms. */
                inv_time_pg(pend, issue, sizeof(issue));
                inv_time_pg(pend + conf->ic_payment_terms_ms, due, sizeof(due));
                inv_time_pg(now_ms, fin, sizeof(fin));
                err = exec_params(st, "UPDATE invoices SET state = 'due', total_vat_zero = $2, "
                                  "total_inc_vat = $3, vat_percent = $4, country_code = $5, "
                                  "issue_date = $6, due_date = $7, revision = 1, "
                                  "finalized_at = $8 WHERE invoice_number = $1",
                                  8, params, errstr, errstr_size);
                if (err != PGX_OK)
                        goto out;
        }
        if ((err = write_outbox(st, number, codec, errstr, errstr_size)) != PGX_OK ||
            (err = inv_store_commit_txn(st, errstr, errstr_size)) != PGX_OK)
                goto out;
        *done = true;
        if (group_out)
                *group_out = group;
        if (period_out)
                *period_out = pbegin;
        bg_log_info("finalized invoice \"%s\": %zu lines, %" PRId64 " micros before VAT, %"
                    PRId64 " with VAT, credits %" PRId64, number, (size_t)nlines,
                    tot.ft_total_vat_zero, tot.ft_total_inc_vat, tot.ft_credits);
        goto out;
nomem:
        snprintf(errstr, errstr_size, "out of memory");
        err = PGX_ERR_NOMEM;
out:
        if (err != PGX_OK)
                inv_store_rollback(st);
        if (res)
                PQclear(res);
        pgx_buf_free(&b);
        free(lines);
        free(keys);
        free(credits);
        free(csrc);
        return err;
}

/* ------------------------------------------------------------------ reading an invoice */

void inv_invoice_free(codec_invoice_t *inv) {
        if (inv == NULL)
                return;
        free(inv->lines);
        free(inv->tag_pool);
        memset(inv, 0, sizeof(*inv));
}

/* The tags of a line (jsonb text) into @out (NULL: only count them). */
static size_t parse_tags(const char *json, codec_tag_t *out) {
        json_t *o = json_loads(json, 0, NULL);
        const char *k;
        json_t *v;
        size_t n = 0;

        if (o == NULL)
                return 0;
        json_object_foreach(o, k, v) {
                if (n == CODEC_TAGS_MAX || !json_is_string(v))
                        continue;
                if (out != NULL) {
                        snprintf(out[n].key, sizeof(out[n].key), "%s", k);
                        snprintf(out[n].value, sizeof(out[n].value), "%s",
                                 json_string_value(v));
                }
                n++;
        }
        json_decref(o);
        return n;
}

static void copy_str(char *dst, size_t size, PGresult *res, int row, int col) {
        snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

pgx_err_t inv_invoice_read(PGconn *conn, const char *number, codec_invoice_t *inv,
                           char *errstr, size_t errstr_size) {
        const char *params[] = {number};
        PGresult *res;
        pgx_err_t err;
        size_t ntags = 0, used = 0;
        int n;

        memset(inv, 0, sizeof(*inv));
        err = pgx_query(conn,
                        "SELECT invoice_number, billing_group_id, billing_group_name, account_id, "
                        "currency, (extract(epoch FROM period_begin) * 1000)::bigint, "
                        "(extract(epoch FROM period_end) * 1000)::bigint, state, total_vat_zero, "
                        "coalesce(total_inc_vat, total_vat_zero), "
                        "(extract(epoch FROM issue_date) * 1000)::bigint, "
                        "(extract(epoch FROM due_date) * 1000)::bigint, revision "
                        "FROM invoices WHERE invoice_number = $1",
                        1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        if (PQntuples(res) != 1) {
                PQclear(res);
                snprintf(errstr, errstr_size, "invoice \"%s\" not found", number);
                return PGX_ERR_SQL;
        }
        copy_str(inv->invoice_number, sizeof(inv->invoice_number), res, 0, 0);
        (void)get_uuid(res, 0, 1, &inv->billing_group_id);
        copy_str(inv->billing_group_name, sizeof(inv->billing_group_name), res, 0, 2);
        (void)get_uuid(res, 0, 3, &inv->account_id);
        inv->currency = bg_currency_from_name(PQgetvalue(res, 0, 4));
        (void)get_i64(res, 0, 5, &inv->period_begin);
        (void)get_i64(res, 0, 6, &inv->period_end);
        inv->state = codec_invoice_state_from_name(PQgetvalue(res, 0, 7));
        (void)get_i64(res, 0, 8, &inv->total_vat_zero);
        (void)get_i64(res, 0, 9, &inv->total_inc_vat);
        inv->has_issue_date = !PQgetisnull(res, 0, 10) && get_i64(res, 0, 10, &inv->issue_date);
        inv->has_due_date = !PQgetisnull(res, 0, 11) && get_i64(res, 0, 11, &inv->due_date);
        (void)get_i64(res, 0, 12, &inv->revision);
        PQclear(res);

        err = pgx_query(conn,
                        "SELECT line_type, description, project_name, service_name, service_type, "
                        "service_plan, coalesce(line_total, amount), "
                        "(extract(epoch FROM timestamp_begin) * 1000)::bigint, "
                        "(extract(epoch FROM timestamp_end) * 1000)::bigint, tags::text "
                        "FROM invoice_lines WHERE invoice_number = $1 "
                        "ORDER BY sort_group, project_name, service_name, line_type, line_key",
                        1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        n = PQntuples(res);
        if (n > CODEC_INVOICE_LINES_MAX) {
                PQclear(res);
                snprintf(errstr, errstr_size, "invoice \"%s\" has %d lines, at most %d fit",
                         number, n, CODEC_INVOICE_LINES_MAX);
                return PGX_ERR_ARG;
        }
        inv->n_lines = (size_t)n;
        for (int i = 0; i < n; i++)
                ntags += parse_tags(PQgetvalue(res, i, 9), NULL);
        inv->lines = calloc(n > 0 ? (size_t)n : 1, sizeof(*inv->lines));
        inv->tag_pool = calloc(ntags > 0 ? ntags : 1, sizeof(codec_tag_t));
        if (inv->lines == NULL || inv->tag_pool == NULL) {
                PQclear(res);
                inv_invoice_free(inv);
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        for (int i = 0; i < n; i++) {
                codec_invoice_line_t *l = &inv->lines[i];
                codec_tag_t *tags = &inv->tag_pool[used];

                l->line_type = codec_line_type_from_name(PQgetvalue(res, i, 0));
                copy_str(l->description, sizeof(l->description), res, i, 1);
                copy_str(l->project_name, sizeof(l->project_name), res, i, 2);
                copy_str(l->service_name, sizeof(l->service_name), res, i, 3);
                copy_str(l->service_type, sizeof(l->service_type), res, i, 4);
                copy_str(l->service_plan, sizeof(l->service_plan), res, i, 5);
                (void)get_i64(res, i, 6, &l->line_total);
                l->has_timestamp_begin = !PQgetisnull(res, i, 7) &&
                                         get_i64(res, i, 7, &l->timestamp_begin);
                l->has_timestamp_end = !PQgetisnull(res, i, 8) &&
                                       get_i64(res, i, 8, &l->timestamp_end);
                l->n_tags = parse_tags(PQgetvalue(res, i, 9), tags);
                l->tags = tags;
                used += l->n_tags;
        }
        PQclear(res);
        return PGX_OK;
}
