#include "inv_store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg_log.h"
#include "inv_time.h"

#define LOCK_POLL_MS 1000

struct inv_store_s {
        char *st_conninfo;
        char *st_schema;
        char *st_migrations;
        PGconn *st_conn;
        pgx_buf_t st_buf;               /* COPY data, reused */
        pgx_buf_t st_buf2;
};

bool inv_parse_i64(const char *s, int64_t *out) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return false;
        *out = (int64_t)v;
        return true;
}

inv_store_t *inv_store_new(const char *conninfo, const char *schema, const char *migrations_dir) {
        inv_store_t *st = calloc(1, sizeof(*st));

        if (st == NULL)
                return NULL;
        st->st_conninfo = strdup(conninfo);
        st->st_schema = strdup(schema);
        st->st_migrations = strdup(migrations_dir);
        if (!st->st_conninfo || !st->st_schema || !st->st_migrations) {
                inv_store_destroy(st);
                return NULL;
        }
        return st;
}

void inv_store_destroy(inv_store_t *st) {
        if (st == NULL)
                return;
        inv_store_close(st);
        free(st->st_conninfo);
        free(st->st_schema);
        free(st->st_migrations);
        pgx_buf_free(&st->st_buf);
        pgx_buf_free(&st->st_buf2);
        free(st);
}

void inv_store_close(inv_store_t *st) {
        if (st->st_conn != NULL)
                PQfinish(st->st_conn);
        st->st_conn = NULL;
}

PGconn *inv_store_conn(inv_store_t *st) {
        return st->st_conn;
}

static pgx_err_t lock_schema(inv_store_t *st, volatile sig_atomic_t *stop, char *errstr,
                             size_t errstr_size) {
        char key[128];
        const char *params[] = {key};
        bool logged = false;

        snprintf(key, sizeof(key), "billing-invoicer:%s", st->st_schema);
        for (;;) {
                PGresult *res;
                pgx_err_t err = pgx_query(st->st_conn, "SELECT pg_try_advisory_lock(hashtext($1))",
                                          1, params, &res, errstr, errstr_size);
                bool got;

                if (err != PGX_OK)
                        return err;
                got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);
                if (got)
                        return PGX_OK;
                if (!logged)
                        bg_log_info("another invoicer holds schema \"%s\": waiting", st->st_schema);
                logged = true;
                if (stop != NULL && *stop) {
                        snprintf(errstr, errstr_size, "stopped while waiting for schema \"%s\"",
                                 st->st_schema);
                        return PGX_ERR_CONN;
                }
                usleep(LOCK_POLL_MS * 1000);
        }
}

pgx_err_t inv_store_open(inv_store_t *st, volatile sig_atomic_t *stop, char *errstr,
                         size_t errstr_size) {
        char sql[512];
        pgx_err_t err;
        int applied = 0;

        inv_store_close(st);
        if (!pgx_ident_valid(st->st_schema)) {
                snprintf(errstr, errstr_size, "schema name \"%s\" is not [a-z_][a-z0-9_]*",
                         st->st_schema);
                return PGX_ERR_ARG;
        }
        st->st_conn = pgx_connect(st->st_conninfo, -1, stop, errstr, errstr_size);
        if (st->st_conn == NULL)
                return PGX_ERR_CONN;
        if ((err = lock_schema(st, stop, errstr, errstr_size)) != PGX_OK ||
            (err = pgx_migrate(st->st_conn, st->st_schema, st->st_migrations, &applied, errstr,
                               errstr_size)) != PGX_OK)
                goto fail;
        if (applied > 0)
                bg_log_info("applied %d migrations to schema \"%s\"", applied, st->st_schema);
        snprintf(sql, sizeof(sql),
                 "SET search_path = %s; "
                 "SET synchronous_commit = on; "
                 "CREATE TEMP TABLE stage_invoices (LIKE invoices INCLUDING DEFAULTS) "
                 "ON COMMIT DELETE ROWS; "
                 "CREATE TEMP TABLE stage_lines (LIKE invoice_lines INCLUDING DEFAULTS) "
                 "ON COMMIT DELETE ROWS; "
                 "CREATE TEMP TABLE stage_totals (line_key text NOT NULL, "
                 "line_total bigint NOT NULL) ON COMMIT DELETE ROWS",
                 st->st_schema);
        if ((err = pgx_exec(st->st_conn, sql, errstr, errstr_size)) != PGX_OK)
                goto fail;
        return PGX_OK;
fail:
        inv_store_close(st);
        return err;
}

pgx_err_t inv_store_begin(inv_store_t *st, char *errstr, size_t errstr_size) {
        return pgx_exec(st->st_conn, "BEGIN", errstr, errstr_size);
}

void inv_store_rollback(inv_store_t *st) {
        char errstr[256];

        if (st->st_conn != NULL && PQtransactionStatus(st->st_conn) != PQTRANS_IDLE)
                (void)pgx_exec(st->st_conn, "ROLLBACK", errstr, sizeof(errstr));
}

pgx_err_t inv_store_commit_txn(inv_store_t *st, char *errstr, size_t errstr_size) {
        return pgx_exec(st->st_conn, "COMMIT", errstr, errstr_size);
}

pgx_err_t inv_store_offsets(inv_store_t *st, const char *topic, int nparts, int64_t *next,
                            char *errstr, size_t errstr_size) {
        const char *params[] = {topic};
        PGresult *res;
        pgx_err_t err;

        for (int p = 0; p < nparts; p++)
                next[p] = -1;
        err = pgx_query(st->st_conn, "SELECT partition, next_offset FROM consumer_offsets "
                                     "WHERE topic = $1", 1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        for (int i = 0; i < PQntuples(res); i++) {
                int64_t p, o;
                if (inv_parse_i64(PQgetvalue(res, i, 0), &p) &&
                    inv_parse_i64(PQgetvalue(res, i, 1), &o) && p >= 0 && p < nparts)
                        next[p] = o;
        }
        PQclear(res);
        return PGX_OK;
}

/* Adds the ids of one usage_seen_blocks row whose time is at or after @cutoff_ms. */
static pgx_err_t load_block(const uint8_t *p, size_t len, int64_t cutoff_ms, inv_dedup_t *d,
                            size_t *loaded, char *errstr, size_t errstr_size) {
        if (len % 24 != 0) {
                snprintf(errstr, errstr_size, "cannot load usage ids: a block of %zu bytes", len);
                return PGX_ERR_SQL;
        }
        for (size_t off = 0; off < len; off += 24) {
                uint64_t t = 0;
                bg_uuid_t id;

                for (int k = 0; k < 8; k++)
                        t = t << 8 | p[off + 16 + (size_t)k];
                if ((int64_t)t < cutoff_ms)
                        continue;
                memcpy(id.b, p + off, 16);
                if (!inv_dedup_add(d, &id, (int64_t)t)) {
                        snprintf(errstr, errstr_size, "cannot load usage ids: out of memory");
                        return PGX_ERR_NOMEM;
                }
                (*loaded)++;
        }
        return PGX_OK;
}

pgx_err_t inv_store_load_dedup(inv_store_t *st, int64_t cutoff_ms, inv_dedup_t *d,
                               char *errstr, size_t errstr_size) {
        char cutoff[48];
        const char *params[] = {cutoff};
        size_t loaded = 0;
        pgx_err_t err = PGX_OK;
        PGresult *res;

        snprintf(cutoff, sizeof(cutoff), "%" PRId64, cutoff_ms);
        /* Row by row (single-row mode, binary): memory stays that of the set. */
        if (!PQsendQueryParams(st->st_conn, "SELECT ids FROM usage_seen_blocks "
                               "WHERE max_ts >= $1", 1, NULL, params, NULL, NULL, 1) ||
            !PQsetSingleRowMode(st->st_conn)) {
                err = pgx_result_error(st->st_conn, NULL, "cannot load usage ids", errstr,
                                       errstr_size);
                while ((res = PQgetResult(st->st_conn)) != NULL)
                        PQclear(res);
                return err == PGX_OK ? PGX_ERR_CONN : err;
        }
        while ((res = PQgetResult(st->st_conn)) != NULL) {
                ExecStatusType status = PQresultStatus(res);

                if (err == PGX_OK && status == PGRES_SINGLE_TUPLE)
                        err = load_block((const uint8_t *)PQgetvalue(res, 0, 0),
                                         (size_t)PQgetlength(res, 0, 0), cutoff_ms, d, &loaded,
                                         errstr, errstr_size);
                else if (err == PGX_OK && status != PGRES_TUPLES_OK &&
                         status != PGRES_SINGLE_TUPLE) {
                        err = pgx_result_error(st->st_conn, res, "cannot load usage ids",
                                               errstr, errstr_size);
                }
                PQclear(res);
        }
        if (err == PGX_OK)
                bg_log_info("loaded %zu usage ids of the de-duplication window", loaded);
        return err;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

pgx_err_t inv_store_load_held(inv_store_t *st, inv_held_t **out, size_t *n, char *errstr,
                              size_t errstr_size) {
        PGresult *res;
        pgx_err_t err;
        inv_held_t *h;
        int rows;

        *out = NULL;
        *n = 0;
        err = pgx_query(st->st_conn,
                        "SELECT usage_id, project_id, source_partition, source_offset, "
                        "(extract(epoch FROM held_at) * 1000)::bigint, encode(payload, 'hex') "
                        "FROM held_usage ORDER BY held_at, source_partition, source_offset",
                        0, NULL, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        rows = PQntuples(res);
        h = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*h));
        if (h == NULL) {
                PQclear(res);
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        for (int i = 0; i < rows; i++) {
                const char *hex = PQgetvalue(res, i, 5);
                size_t hl = strlen(hex);
                int64_t part;

                if (!bg_uuid_parse(PQgetvalue(res, i, 0), strlen(PQgetvalue(res, i, 0)),
                                   &h[i].ih_id) ||
                    !bg_uuid_parse(PQgetvalue(res, i, 1), strlen(PQgetvalue(res, i, 1)),
                                   &h[i].ih_project) ||
                    !inv_parse_i64(PQgetvalue(res, i, 2), &part) ||
                    !inv_parse_i64(PQgetvalue(res, i, 3), &h[i].ih_offset) ||
                    !inv_parse_i64(PQgetvalue(res, i, 4), &h[i].ih_held_at) || hl % 2 != 0 ||
                    (h[i].ih_payload = malloc(hl / 2 + 1)) == NULL) {
                        snprintf(errstr, errstr_size, "cannot load held usage: bad row %d", i);
                        err = PGX_ERR_SQL;
                        rows = i + 1;
                        break;
                }
                h[i].ih_partition = (int32_t)part;
                h[i].ih_len = hl / 2;
                h[i].ih_stored = true;
                for (size_t k = 0; k < hl / 2; k++)
                        h[i].ih_payload[k] = (uint8_t)(hexval(hex[2 * k]) << 4 |
                                                       hexval(hex[2 * k + 1]));
        }
        PQclear(res);
        if (err != PGX_OK) {
                for (int i = 0; i < rows; i++)
                        free(h[i].ih_payload);
                free(h);
                return err;
        }
        *out = h;
        *n = (size_t)rows;
        return PGX_OK;
}

pgx_err_t inv_store_load_totals(inv_store_t *st, inv_totals_t *t, char *errstr,
                                size_t errstr_size) {
        PGresult *res;
        pgx_err_t err = pgx_query(st->st_conn,
                                  "SELECT l.invoice_number, l.line_key, l.quantity, l.amount "
                                  "FROM invoice_lines l JOIN invoices i USING (invoice_number) "
                                  "WHERE i.state = 'estimate' UNION ALL "
                                  "SELECT invoice_number, NULL, 0, total_vat_zero FROM invoices "
                                  "WHERE state = 'estimate'",
                                  0, NULL, &res, errstr, errstr_size);

        if (err != PGX_OK)
                return err;
        for (int i = 0; i < PQntuples(res); i++) {
                const char *number = PQgetvalue(res, i, 0);
                inv_sum_t sum;
                bool ok;

                if (!inv_parse_i64(PQgetvalue(res, i, 2), &sum.is_quantity) ||
                    !inv_parse_i64(PQgetvalue(res, i, 3), &sum.is_amount)) {
                        ok = false;
                } else if (PQgetisnull(res, i, 1)) {
                        ok = inv_totals_add_invoice(t, number, sum.is_amount);
                } else {
                        ok = inv_totals_add_line(t, number, PQgetvalue(res, i, 1), sum);
                }
                if (!ok) {
                        snprintf(errstr, errstr_size, "cannot load the sums of invoice \"%s\" "
                                 "(out of memory, or not numbers)", number);
                        PQclear(res);
                        return PGX_ERR_ARG;
                }
        }
        PQclear(res);
        return PGX_OK;
}

pgx_err_t inv_store_load_finalized(inv_store_t *st,
                                   void (*fn)(void *opaque, const bg_uuid_t *group,
                                              int64_t period_begin),
                                   void *opaque, char *errstr, size_t errstr_size) {
        PGresult *res;
        pgx_err_t err = pgx_query(st->st_conn,
                                  "SELECT billing_group_id, "
                                  "(extract(epoch FROM period_begin) * 1000)::bigint "
                                  "FROM invoices WHERE state <> 'estimate'",
                                  0, NULL, &res, errstr, errstr_size);

        if (err != PGX_OK)
                return err;
        for (int i = 0; i < PQntuples(res); i++) {
                bg_uuid_t g;
                int64_t p;
                if (bg_uuid_parse(PQgetvalue(res, i, 0), strlen(PQgetvalue(res, i, 0)), &g) &&
                    inv_parse_i64(PQgetvalue(res, i, 1), &p))
                        fn(opaque, &g, p);
        }
        PQclear(res);
        return PGX_OK;
}

/* ------------------------------------------------------------------ one batch */

static void copy_uuid(pgx_buf_t *b, const bg_uuid_t *id) {
        char s[BG_UUID_STR_LEN + 1];

        bg_uuid_format(id, s);
        pgx_buf_put(b, s, BG_UUID_STR_LEN);
}

static void copy_time(pgx_buf_t *b, int64_t ms) {
        char s[48];

        inv_time_pg(ms, s, sizeof(s));
        pgx_buf_puts(b, s);
}

static pgx_err_t write_lines(inv_store_t *st, const inv_batch_t *ba, char *errstr,
                             size_t errstr_size) {
        pgx_buf_t *b = &st->st_buf;
        PGresult *res;
        pgx_err_t err;
        int64_t touched;

        pgx_buf_reset(b);
        for (size_t i = 0; i < ba->ib_nheaders; i++) {
                const inv_header_t *h = &ba->ib_headers[i];
                pgx_buf_copy_text(b, h->ih_number);
                pgx_buf_putc(b, '\t');
                copy_uuid(b, &h->ih_group);
                pgx_buf_putc(b, '\t');
                copy_uuid(b, &h->ih_account);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, h->ih_group_name);
                pgx_buf_putc(b, '\t');
                pgx_buf_puts(b, bg_currency_name(h->ih_currency));
                pgx_buf_putc(b, '\t');
                copy_time(b, h->ih_period_begin);
                pgx_buf_putc(b, '\t');
                copy_time(b, h->ih_period_end);
                pgx_buf_puts(b, "\testimate\n");
        }
        if (b->pb_oom)
                goto nomem;
        err = pgx_copy_in(st->st_conn, "COPY stage_invoices (invoice_number, billing_group_id, "
                          "account_id, billing_group_name, currency, period_begin, period_end, "
                          "state) FROM STDIN", b->pb_data, b->pb_len, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        err = pgx_exec(st->st_conn,
                       "INSERT INTO invoices (invoice_number, billing_group_id, account_id, "
                       "billing_group_name, currency, period_begin, period_end, state) "
                       "SELECT invoice_number, billing_group_id, account_id, billing_group_name, "
                       "currency, period_begin, period_end, 'estimate' FROM stage_invoices "
                       "ON CONFLICT (invoice_number) DO NOTHING", errstr, errstr_size);
        if (err != PGX_OK)
                return err;

        pgx_buf_reset(b);
        for (size_t i = 0; i < ba->ib_nlines; i++) {
                const inv_line_t *l = &ba->ib_lines[i];
                pgx_buf_copy_text(b, ba->ib_headers[l->il_header].ih_number);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_key);
                pgx_buf_putc(b, '\t');
                pgx_buf_puts(b, codec_line_type_name(l->il_type));
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_description);
                pgx_buf_putc(b, '\t');
                copy_uuid(b, &l->il_project);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_project_name);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_service_name);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_service_type);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_service_plan);
                pgx_buf_putc(b, '\t');
                pgx_buf_copy_text(b, l->il_unit);
                pgx_buf_printf(b, "\t%" PRId64 "\t%" PRId64 "\t", l->il_quantity, l->il_amount);
                copy_time(b, l->il_ts_begin);
                pgx_buf_putc(b, '\t');
                copy_time(b, l->il_ts_end);
                pgx_buf_putc(b, '\t');
                if (l->il_late_period >= 0)
                        copy_time(b, l->il_late_period);
                else
                        pgx_buf_puts(b, "\\N");
                pgx_buf_printf(b, "\t%" PRId64 "\t", l->il_records);
                pgx_buf_copy_text(b, l->il_tags_json);
                pgx_buf_putc(b, '\n');
        }
        if (b->pb_oom)
                goto nomem;
        err = pgx_copy_in(st->st_conn, "COPY stage_lines (invoice_number, line_key, line_type, "
                          "description, project_id, project_name, service_name, service_type, "
                          "service_plan, unit, quantity, amount, timestamp_begin, timestamp_end, "
                          "late_period_begin, usage_records, tags) FROM STDIN",
                          b->pb_data, b->pb_len, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        err = pgx_exec(st->st_conn,
                       "INSERT INTO invoice_lines AS l (invoice_number, line_key, line_type, "
                       "description, project_id, project_name, service_name, service_type, "
                       "service_plan, unit, quantity, amount, timestamp_begin, timestamp_end, "
                       "late_period_begin, usage_records, tags) "
                       "SELECT invoice_number, line_key, line_type, description, project_id, "
                       "project_name, service_name, service_type, service_plan, unit, quantity, "
                       "amount, timestamp_begin, timestamp_end, late_period_begin, "
                       "usage_records, tags FROM stage_lines "
                       "ON CONFLICT (invoice_number, line_key) DO UPDATE SET "
                       "quantity = l.quantity + EXCLUDED.quantity, "
                       "amount = l.amount + EXCLUDED.amount, "
                       "timestamp_begin = LEAST(l.timestamp_begin, EXCLUDED.timestamp_begin), "
                       "timestamp_end = GREATEST(l.timestamp_end, EXCLUDED.timestamp_end), "
                       "usage_records = l.usage_records + EXCLUDED.usage_records",
                       errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        /* The accumulated cost of each touched invoice; every one must still be an
         * estimate (a final invoice never changes: finding one here is a bug). */
        err = pgx_query(st->st_conn,
                        "UPDATE invoices i SET total_vat_zero = i.total_vat_zero + s.amount "
                        "FROM (SELECT invoice_number, sum(amount)::bigint AS amount "
                        "FROM stage_lines GROUP BY invoice_number) s "
                        "WHERE i.invoice_number = s.invoice_number AND i.state = 'estimate'",
                        0, NULL, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        touched = atoll(PQcmdTuples(res));
        PQclear(res);
        if (touched != (int64_t)ba->ib_nheaders) {
                snprintf(errstr, errstr_size, "batch touches %zu invoices but only %" PRId64
                         " are estimates: refusing to change a final invoice",
                         ba->ib_nheaders, touched);
                return PGX_ERR_SQL;
        }
        return PGX_OK;
nomem:
        snprintf(errstr, errstr_size, "out of memory");
        return PGX_ERR_NOMEM;
}

static pgx_err_t write_offsets(inv_store_t *st, const char *topic, const int64_t *next,
                               int nparts, char *errstr, size_t errstr_size) {
        pgx_buf_t *parts = &st->st_buf, *offs = &st->st_buf2;
        const char *params[3];
        PGresult *res;
        pgx_err_t err;
        bool any = false;

        pgx_buf_reset(parts);
        pgx_buf_reset(offs);
        pgx_buf_putc(parts, '{');
        pgx_buf_putc(offs, '{');
        for (int p = 0; p < nparts; p++) {
                if (next[p] < 0)
                        continue;
                pgx_buf_printf(parts, "%s%d", any ? "," : "", p);
                pgx_buf_printf(offs, "%s%" PRId64, any ? "," : "", next[p]);
                any = true;
        }
        pgx_buf_putc(parts, '}');
        pgx_buf_putc(offs, '}');
        pgx_buf_putc(parts, '\0');
        pgx_buf_putc(offs, '\0');
        if (!any)
                return PGX_OK;
        if (parts->pb_oom || offs->pb_oom) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        params[0] = topic;
        params[1] = parts->pb_data;
        params[2] = offs->pb_data;
        err = pgx_query(st->st_conn,
                        "INSERT INTO consumer_offsets (topic, partition, next_offset) "
                        "SELECT $1, p, o FROM unnest($2::int[], $3::bigint[]) AS t(p, o) "
                        "ON CONFLICT (topic, partition) DO UPDATE "
                        "SET next_offset = EXCLUDED.next_offset",
                        3, params, &res, errstr, errstr_size);
        if (err == PGX_OK)
                PQclear(res);
        return err;
}

static pgx_err_t write_held(inv_store_t *st, const inv_commit_t *cm, char *errstr,
                            size_t errstr_size) {
        static const char hex[] = "0123456789abcdef";
        pgx_buf_t *b = &st->st_buf;
        pgx_err_t err;

        if (cm->cm_nunhold > 0) {
                const char *params[1];
                PGresult *res;

                pgx_buf_reset(b);
                pgx_buf_putc(b, '{');
                for (size_t i = 0; i < cm->cm_nunhold; i++) {
                        if (i > 0)
                                pgx_buf_putc(b, ',');
                        copy_uuid(b, &cm->cm_unhold[i]);
                }
                pgx_buf_putc(b, '}');
                pgx_buf_putc(b, '\0');
                if (b->pb_oom)
                        goto nomem;
                params[0] = b->pb_data;
                err = pgx_query(st->st_conn, "DELETE FROM held_usage WHERE usage_id = ANY($1::uuid[])",
                                1, params, &res, errstr, errstr_size);
                if (err != PGX_OK)
                        return err;
                PQclear(res);
        }
        if (cm->cm_nhold == 0)
                return PGX_OK;
        pgx_buf_reset(b);
        for (size_t i = 0; i < cm->cm_nhold; i++) {
                const inv_held_t *h = cm->cm_hold[i];
                copy_uuid(b, &h->ih_id);
                pgx_buf_putc(b, '\t');
                copy_uuid(b, &h->ih_project);
                pgx_buf_printf(b, "\t%d\t%" PRId64 "\t", (int)h->ih_partition, h->ih_offset);
                copy_time(b, h->ih_held_at);
                pgx_buf_puts(b, "\t\\\\x");     /* bytea hex input, backslash escaped */
                for (size_t k = 0; k < h->ih_len; k++) {
                        pgx_buf_putc(b, hex[h->ih_payload[k] >> 4]);
                        pgx_buf_putc(b, hex[h->ih_payload[k] & 15]);
                }
                pgx_buf_putc(b, '\n');
        }
        if (b->pb_oom)
                goto nomem;
        return pgx_copy_in(st->st_conn, "COPY held_usage (usage_id, project_id, source_partition, "
                           "source_offset, held_at, payload) FROM STDIN", b->pb_data, b->pb_len,
                           errstr, errstr_size);
nomem:
        snprintf(errstr, errstr_size, "out of memory");
        return PGX_ERR_NOMEM;
}

/* The batch's billed ids as one row of usage_seen_blocks: 24 bytes an id (the id, then
 * timestamp_begin as a big-endian int64), sent as one binary parameter. */
static pgx_err_t write_seen(inv_store_t *st, const inv_commit_t *cm, char *errstr,
                            size_t errstr_size) {
        pgx_buf_t *b = &st->st_buf;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        char min[24], max[24], n[24];
        const char *values[4] = {min, max, n, NULL};
        int lengths[4] = {0, 0, 0, 0}, formats[4] = {0, 0, 0, 1};
        PGresult *res;
        pgx_err_t err = PGX_OK;

        pgx_buf_reset(b);
        for (size_t i = 0; i < cm->cm_nseen; i++) {
                int64_t t = cm->cm_seen[i].is_ts;
                uint8_t be[8];

                for (int k = 0; k < 8; k++)
                        be[k] = (uint8_t)((uint64_t)t >> (56 - 8 * k));
                pgx_buf_put(b, cm->cm_seen[i].is_id.b, 16);
                pgx_buf_put(b, be, 8);
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
        }
        if (b->pb_oom || b->pb_len > INT32_MAX) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        snprintf(min, sizeof(min), "%" PRId64, lo);
        snprintf(max, sizeof(max), "%" PRId64, hi);
        snprintf(n, sizeof(n), "%zu", cm->cm_nseen);
        values[3] = b->pb_data;
        lengths[3] = (int)b->pb_len;
        res = PQexecParams(st->st_conn, "INSERT INTO usage_seen_blocks (min_ts, max_ts, n, ids) "
                           "VALUES ($1, $2, $3, $4)", 4, NULL, values, lengths, formats, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                err = pgx_result_error(st->st_conn, res, "cannot store usage ids", errstr,
                                       errstr_size);
        }
        PQclear(res);
        return err;
}

pgx_err_t inv_store_commit(inv_store_t *st, const inv_commit_t *cm, char *errstr,
                           size_t errstr_size) {
        pgx_err_t err;

        if ((err = inv_store_begin(st, errstr, errstr_size)) != PGX_OK)
                goto fail;
        if (cm->cm_batch->ib_nlines > 0 &&
            (err = write_lines(st, cm->cm_batch, errstr, errstr_size)) != PGX_OK)
                goto fail;
        if (cm->cm_nseen > 0 &&
            (err = write_seen(st, cm, errstr, errstr_size)) != PGX_OK)
                goto fail;
        if ((err = write_held(st, cm, errstr, errstr_size)) != PGX_OK ||
            (err = write_offsets(st, cm->cm_usage_topic, cm->cm_usage_next, cm->cm_usage_nparts,
                                 errstr, errstr_size)) != PGX_OK ||
            (err = write_offsets(st, cm->cm_events_topic, cm->cm_events_next,
                                 cm->cm_events_nparts, errstr, errstr_size)) != PGX_OK)
                goto fail;
        if (cm->cm_kill_before_commit) {
                bg_log_warn("fault injection: killing myself before COMMIT of a usage batch");
                raise(SIGKILL);
        }
        if ((err = inv_store_commit_txn(st, errstr, errstr_size)) != PGX_OK)
                goto fail;
        return PGX_OK;
fail:
        inv_store_rollback(st);
        return err;
}

pgx_err_t inv_store_prune_dedup(inv_store_t *st, int64_t cutoff_ms, char *errstr,
                                size_t errstr_size) {
        char cutoff[48];
        const char *params[] = {cutoff};
        PGresult *res;
        pgx_err_t err;

        snprintf(cutoff, sizeof(cutoff), "%" PRId64, cutoff_ms);
        /* A block goes once all its ids are older than the cutoff; loading skips the
         * older ids of a block that straddles it. */
        err = pgx_query(st->st_conn, "DELETE FROM usage_seen_blocks WHERE max_ts < $1", 1,
                        params, &res, errstr, errstr_size);
        if (err == PGX_OK) {
                if (atoll(PQcmdTuples(res)) > 0)
                        bg_log_info("pruned %s blocks of usage ids older than %s ms", PQcmdTuples(res),
                                    cutoff);
                PQclear(res);
        }
        return err;
}
