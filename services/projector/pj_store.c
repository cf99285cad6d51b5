#include "pj_store.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_hashchain.h"
#include "bg_log.h"

struct pj_store_s {
        char *ps_conninfo;
        char ps_schema[64];
        char *ps_migrations;
        int *ps_parts;                  /* the partitions written through this store */
        int ps_nparts;
        PGconn *ps_conn;
};

/* Session staging tables: the batch's updates of existing rows, joined into the tables
 * by one statement each. Emptied by every commit. */
static const char STAGING_SQL[] =
        "CREATE TEMP TABLE stage_accounts (account_id uuid, primary_billing_group_id uuid) "
        "ON COMMIT DELETE ROWS;"
        "CREATE TEMP TABLE stage_billing_groups (billing_group_id uuid, set_name boolean, "
        "name text, set_profile boolean, billing_currency text, payment_method text, "
        "billing_emails text[], billing_contact_emails text[], billing_extra_text text, "
        "card_id text, company text, address_lines text[], city text, state text, "
        "zip_code text, country_code text, vat_id text, set_deleted boolean, "
        "deleted_at timestamptz, updated_at timestamptz) ON COMMIT DELETE ROWS;"
        "CREATE TEMP TABLE stage_projects (project_id uuid, set_group boolean, "
        "billing_group_id uuid, set_deleted boolean, deleted_at timestamptz, "
        "updated_at timestamptz) ON COMMIT DELETE ROWS;"
        "CREATE TEMP TABLE stage_credits (account_id uuid, code text, billing_group_id uuid, "
        "project_id uuid, claimed_at timestamptz) ON COMMIT DELETE ROWS;"
        "CREATE TEMP TABLE stage_members (account_id uuid, user_key text, user_email text, "
        "role text, granted_at timestamptz) ON COMMIT DELETE ROWS;"
        "CREATE TEMP TABLE stage_seq (account_id uuid, seq bigint, last_hash bytea, "
        "updated_at timestamptz) ON COMMIT DELETE ROWS";

#define KEEP(col) col " = CASE WHEN s.set_profile THEN s." col " ELSE g." col " END"

static const char UPDATE_ACCOUNTS[] =
        "UPDATE accounts a SET primary_billing_group_id = s.primary_billing_group_id "
        "FROM stage_accounts s WHERE a.account_id = s.account_id";
static const char UPDATE_GROUPS[] =
        "UPDATE billing_groups g SET "
        "name = CASE WHEN s.set_name THEN s.name ELSE g.name END, "
        KEEP("billing_currency") ", " KEEP("payment_method") ", " KEEP("billing_emails") ", "
        KEEP("billing_contact_emails") ", " KEEP("billing_extra_text") ", " KEEP("card_id") ", "
        KEEP("company") ", " KEEP("address_lines") ", " KEEP("city") ", " KEEP("state") ", "
        KEEP("zip_code") ", " KEEP("country_code") ", " KEEP("vat_id") ", "
        "status = CASE WHEN s.set_deleted THEN 'deleted' ELSE g.status END, "
        "deleted_at = CASE WHEN s.set_deleted THEN s.deleted_at ELSE g.deleted_at END, "
        "updated_at = s.updated_at "
        "FROM stage_billing_groups s WHERE g.billing_group_id = s.billing_group_id";
static const char UPDATE_PROJECTS[] =
        "UPDATE projects p SET "
        "billing_group_id = CASE WHEN s.set_group THEN s.billing_group_id ELSE p.billing_group_id END, "
        "status = CASE WHEN s.set_deleted THEN 'deleted' ELSE p.status END, "
        "deleted_at = CASE WHEN s.set_deleted THEN s.deleted_at ELSE p.deleted_at END, "
        "updated_at = s.updated_at "
        "FROM stage_projects s WHERE p.project_id = s.project_id";
static const char UPDATE_CREDITS[] =
        "UPDATE credits c SET billing_group_id = s.billing_group_id, project_id = s.project_id, "
        "claimed_at = s.claimed_at "
        "FROM stage_credits s WHERE c.account_id = s.account_id AND c.code = s.code";
/* Members: rows whose user left, or that the batch (re)created with a known spelling, go;
 * those come back; role changes of members the batch did not create are updates. */
static const char DELETE_MEMBERS[] =
        "DELETE FROM account_members m USING stage_members s "
        "WHERE m.account_id = s.account_id AND lower(m.user_email) = s.user_key "
        "AND (s.role IS NULL OR s.user_email IS NOT NULL)";
static const char INSERT_MEMBERS[] =
        "INSERT INTO account_members (account_id, user_email, role, granted_at) "
        "SELECT account_id, user_email, role, granted_at FROM stage_members "
        "WHERE role IS NOT NULL AND user_email IS NOT NULL";
static const char UPDATE_MEMBERS[] =
        "UPDATE account_members m SET role = s.role, granted_at = s.granted_at "
        "FROM stage_members s WHERE s.role IS NOT NULL AND s.user_email IS NULL "
        "AND m.account_id = s.account_id AND lower(m.user_email) = s.user_key";
static const char UPSERT_SEQ[] =
        "INSERT INTO account_seq (account_id, seq, last_hash, updated_at) "
        "SELECT account_id, seq, last_hash, updated_at FROM stage_seq "
        "ON CONFLICT (account_id) DO UPDATE SET seq = EXCLUDED.seq, "
        "last_hash = EXCLUDED.last_hash, updated_at = EXCLUDED.updated_at";
static const char UPSERT_OFFSETS[] =
        "INSERT INTO kafka_offsets (topic, partition, next_offset) "
        "SELECT $1, p, o FROM unnest($2::integer[], $3::bigint[]) AS t(p, o) "
        "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset";

pj_store_t *pj_store_new(const char *conninfo, const char *schema, const char *migrations_dir,
                         const int *parts, int nparts) {
        pj_store_t *st = calloc(1, sizeof(*st));

        if (st == NULL)
                return NULL;
        st->ps_conninfo = strdup(conninfo);
        st->ps_migrations = strdup(migrations_dir);
        snprintf(st->ps_schema, sizeof(st->ps_schema), "%s", schema);
        st->ps_parts = calloc(nparts > 0 ? (size_t)nparts : 1, sizeof(int));
        if (st->ps_parts != NULL && nparts > 0)
                memcpy(st->ps_parts, parts, (size_t)nparts * sizeof(int));
        st->ps_nparts = nparts;
        if (st->ps_conninfo == NULL || st->ps_migrations == NULL || st->ps_parts == NULL) {
                pj_store_destroy(st);
                return NULL;
        }
        return st;
}

void pj_store_destroy(pj_store_t *st) {
        if (st == NULL)
                return;
        pj_store_close(st);
        free(st->ps_conninfo);
        free(st->ps_migrations);
        free(st->ps_parts);
        free(st);
}

void pj_store_close(pj_store_t *st) {
        if (st->ps_conn != NULL)
                PQfinish(st->ps_conn);
        st->ps_conn = NULL;
}

bool pj_store_connected(const pj_store_t *st) {
        return st->ps_conn != NULL && PQstatus(st->ps_conn) == CONNECTION_OK;
}

PGconn *pj_store_conn(pj_store_t *st) {
        return st->ps_conn;
}

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* The advisory locks of @schema's partitions @parts (one projector writes a partition of
 * a schema), all or none, polling every second until they are ours or *@stop. */
static pgx_err_t lock_partitions(PGconn *conn, const char *schema, const int *parts, int nparts,
                                 volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        pgx_buf_t list = {0};
        const char *params[2];
        bool logged = false;
        pgx_err_t err = PGX_OK;

        if (nparts == 0)
                return PGX_OK;          /* a store that writes no partition locks none */
        pgx_buf_putc(&list, '{');
        for (int i = 0; i < nparts; i++)
                pgx_buf_printf(&list, "%s%d", i ? "," : "", parts[i]);
        pgx_buf_putc(&list, '}');
        pgx_buf_putc(&list, '\0');
        if (list.pb_oom) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        params[0] = schema;
        params[1] = list.pb_data;
        for (;;) {
                PGresult *res;
                bool got;

                err = pgx_query(conn, "SELECT bool_and(pg_try_advisory_lock("
                                      "hashtext('billing-projector:' || $1), p)) "
                                      "FROM unnest($2::integer[]) AS t(p)",
                                2, params, &res, errstr, errstr_size);
                if (err != PGX_OK)
                        break;
                got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
                PQclear(res);
                if (got)
                        break;
                if ((err = pgx_exec(conn, "SELECT pg_advisory_unlock_all()", errstr,
                                    errstr_size)) != PGX_OK)
                        break;
                if (!logged) {
                        bg_log_warn("partitions %s of schema \"%s\" are locked by another "
                                    "projector; waiting for it to stop", list.pb_data, schema);
                        logged = true;
                }
                if (stop != NULL && *stop) {
                        snprintf(errstr, errstr_size, "stopped while waiting for the locks of "
                                 "schema \"%s\"", schema);
                        err = PGX_ERR_CONN;
                        break;
                }
                sleep_ms(1000);
        }
        pgx_buf_free(&list);
        return err;
}

pgx_err_t pj_store_lock_schema(pj_store_t *st, const char *schema, int nparts,
                               volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        int *all = calloc((size_t)nparts, sizeof(*all));
        pgx_err_t err;

        if (all == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        for (int p = 0; p < nparts; p++)
                all[p] = p;
        err = lock_partitions(st->ps_conn, schema, all, nparts, stop, errstr, errstr_size);
        free(all);
        return err;
}

pgx_err_t pj_store_open(pj_store_t *st, volatile sig_atomic_t *stop, char *errstr,
                        size_t errstr_size) {
        char sql[128];
        int applied = 0;
        pgx_err_t err;

        pj_store_close(st);
        if (!pgx_ident_valid(st->ps_schema)) {
                snprintf(errstr, errstr_size, "invalid schema name \"%s\": expected "
                         "[a-z_][a-z0-9_]*, at most 63 characters", st->ps_schema);
                return PGX_ERR_ARG;
        }
        for (;;) {
                st->ps_conn = pgx_connect(st->ps_conninfo, -1, stop, errstr, errstr_size);
                if (st->ps_conn == NULL)
                        return PGX_ERR_CONN;    /* stopped */
                err = lock_partitions(st->ps_conn, st->ps_schema, st->ps_parts, st->ps_nparts,
                                      stop, errstr, errstr_size);
                if (err == PGX_OK)
                        err = pgx_migrate(st->ps_conn, st->ps_schema, st->ps_migrations, &applied,
                                          errstr, errstr_size);
                if (err == PGX_OK) {
                        if (applied > 0)
                                bg_log_info("schema \"%s\": applied %d migrations from \"%s\"",
                                            st->ps_schema, applied, st->ps_migrations);
                        snprintf(sql, sizeof(sql), "SET search_path TO %s", st->ps_schema);
                        err = pgx_exec(st->ps_conn, sql, errstr, errstr_size);
                }
                if (err == PGX_OK)
                        err = pgx_exec(st->ps_conn, STAGING_SQL, errstr, errstr_size);
                /* The batch statements join a small staging table to big tables by key:
                 * only a nested loop over the big table's index scales. Without statistics
                 * on the temporary tables the planner would hash the whole big table. */
                if (err == PGX_OK)
                        err = pgx_exec(st->ps_conn, "SET enable_hashjoin = off; "
                                                    "SET enable_mergejoin = off", errstr,
                                       errstr_size);
                if (err == PGX_OK)
                        return PGX_OK;
                pj_store_close(st);
                if (err != PGX_ERR_CONN || (stop != NULL && *stop))
                        return err;
                bg_log_warn("PostgreSQL set-up failed, retrying: %s", errstr);
                sleep_ms(1000);
        }
}

pgx_err_t pj_store_drop_schema(const char *conninfo, const char *schema, int nparts,
                               volatile sig_atomic_t *stop, char *errstr, size_t errstr_size) {
        pj_store_t st = {.ps_conn = NULL};
        char sql[128];
        pgx_err_t err;

        if (!pgx_ident_valid(schema)) {
                snprintf(errstr, errstr_size, "invalid schema name \"%s\"", schema);
                return PGX_ERR_ARG;
        }
        st.ps_conn = pgx_connect(conninfo, -1, stop, errstr, errstr_size);
        if (st.ps_conn == NULL)
                return PGX_ERR_CONN;
        err = pj_store_lock_schema(&st, schema, nparts, stop, errstr, errstr_size);
        if (err == PGX_OK) {
                snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
                err = pgx_exec(st.ps_conn, sql, errstr, errstr_size);
        }
        PQfinish(st.ps_conn);           /* releases the locks */
        return err;
}

pgx_err_t pj_store_offsets(pj_store_t *st, const char *topic, int nparts, int64_t *offsets,
                           char *errstr, size_t errstr_size) {
        const char *params[1] = {topic};
        PGresult *res;
        pgx_err_t err;

        for (int p = 0; p < nparts; p++)
                offsets[p] = -1;
        err = pgx_query(st->ps_conn, "SELECT partition, next_offset FROM kafka_offsets "
                                     "WHERE topic = $1", 1, params, &res, errstr, errstr_size);
        if (err != PGX_OK)
                return err;
        for (int r = 0; r < PQntuples(res); r++) {
                int p = atoi(PQgetvalue(res, r, 0));
                if (p < 0 || p >= nparts) {
                        snprintf(errstr, errstr_size, "stored offsets name partition %d of \"%s\", "
                                 "which has %d partitions", p, topic, nparts);
                        PQclear(res);
                        return PGX_ERR_SQL;
                }
                offsets[p] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        }
        PQclear(res);
        return PGX_OK;
}

pgx_err_t pj_store_prepass(pj_store_t *st, pj_model_t *m, char *errstr, size_t errstr_size) {
        static const char *const sql[3] = {
                "SELECT account_id, seq, last_hash FROM account_seq WHERE account_id = ANY($1::uuid[])",
                "SELECT billing_group_id, name FROM billing_groups "
                "WHERE billing_group_id = ANY($1::uuid[])",
                "SELECT project_id, name FROM projects WHERE project_id = ANY($1::uuid[])",
        };

        for (int kind = 0; kind < 3; kind++) {
                const char *ids = pj_model_needed(m, kind);
                PGresult *res;
                pgx_err_t err;

                if (ids == NULL)
                        continue;
                err = pgx_query(st->ps_conn, sql[kind], 1, &ids, &res, errstr, errstr_size);
                if (err != PGX_OK)
                        return err;
                for (int r = 0; r < PQntuples(res); r++) {
                        bg_uuid_t id;
                        uint8_t hash[BG_HASH_SIZE];
                        const char *h;

                        if (!bg_uuid_parse(PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0), &id))
                                continue;
                        if (kind == 0) {
                                h = PQgetvalue(res, r, 2);      /* bytea hex: \x + 64 */
                                if (PQgetlength(res, r, 2) != 2 + 2 * BG_HASH_SIZE ||
                                    !bg_hash_from_hex(h + 2, 2 * BG_HASH_SIZE, hash)) {
                                        snprintf(errstr, errstr_size, "account_seq.last_hash of "
                                                 "%s is not 32 bytes", PQgetvalue(res, r, 0));
                                        PQclear(res);
                                        return PGX_ERR_SQL;
                                }
                                pj_model_cache_account(m, &id,
                                                       strtoll(PQgetvalue(res, r, 1), NULL, 10), hash);
                        } else if (kind == 1) {
                                pj_model_cache_group(m, &id, PQgetvalue(res, r, 1));
                        } else {
                                pj_model_cache_project(m, &id, PQgetvalue(res, r, 1));
                        }
                }
                PQclear(res);
        }
        pj_model_need_done(m);
        return PGX_OK;
}

typedef struct copy_s {
        const char *const *c_sql;
        const pgx_buf_t *c_buf;
} copy_t;

static pgx_err_t copy_all(PGconn *conn, const copy_t *copies, size_t n, char *errstr,
                          size_t errstr_size) {
        for (size_t i = 0; i < n; i++) {
                pgx_err_t err;
                if (copies[i].c_buf->pb_len == 0)
                        continue;
                err = pgx_copy_in_binary(conn, *copies[i].c_sql, copies[i].c_buf->pb_data,
                                  copies[i].c_buf->pb_len, errstr, errstr_size);
                if (err != PGX_OK)
                        return err;
        }
        return PGX_OK;
}

pgx_err_t pj_store_commit(pj_store_t *st, const pj_writes_t *w, const char *topic,
                          const int64_t *offsets, int nparts, bool kill_mid, char *errstr,
                          size_t errstr_size) {
        const copy_t first[] = {
                {&PJ_COPY_ACCOUNTS, &w->pw_accounts}, {&PJ_COPY_GROUPS, &w->pw_groups},
                {&PJ_COPY_PROJECTS, &w->pw_projects}, {&PJ_COPY_CREDITS, &w->pw_credits},
                {&PJ_COPY_AUDIT, &w->pw_audit},
        };
        const copy_t second[] = {
                {&PJ_COPY_MOVES, &w->pw_moves},           {&PJ_COPY_ST_ACCOUNTS, &w->pw_st_accounts},
                {&PJ_COPY_ST_GROUPS, &w->pw_st_groups},   {&PJ_COPY_ST_PROJECTS, &w->pw_st_projects},
                {&PJ_COPY_ST_CREDITS, &w->pw_st_credits}, {&PJ_COPY_ST_MEMBERS, &w->pw_st_members},
                {&PJ_COPY_ST_SEQ, &w->pw_st_seq},
        };
        pgx_stmt_t stmts[16];
        size_t n = 0;
        pgx_buf_t parts = {0}, offs = {0};
        const char *oparams[3];
        pgx_err_t err;
        bool any = false;

        if (st->ps_conn == NULL) {
                snprintf(errstr, errstr_size, "not connected");
                return PGX_ERR_CONN;
        }
        if ((err = pgx_exec(st->ps_conn, "BEGIN", errstr, errstr_size)) != PGX_OK)
                return err;
        if ((err = copy_all(st->ps_conn, first, sizeof(first) / sizeof(first[0]), errstr,
                            errstr_size)) != PGX_OK)
                goto out_rollback;
        if (kill_mid) {
                bg_log_warn("fault injection: killing myself in the middle of a batch of %zu "
                            "events, before COMMIT", w->pw_events);
                raise(SIGKILL);
        }
        if ((err = copy_all(st->ps_conn, second, sizeof(second) / sizeof(second[0]), errstr,
                            errstr_size)) != PGX_OK)
                goto out_rollback;

#define ADD(sql) stmts[n++] = (pgx_stmt_t){(sql), 0, NULL}
        if (w->pw_st_accounts.pb_len > 0)
                ADD(UPDATE_ACCOUNTS);
        if (w->pw_st_groups.pb_len > 0)
                ADD(UPDATE_GROUPS);
        if (w->pw_st_projects.pb_len > 0)
                ADD(UPDATE_PROJECTS);
        if (w->pw_st_credits.pb_len > 0)
                ADD(UPDATE_CREDITS);
        if (w->pw_st_members.pb_len > 0) {
                ADD(DELETE_MEMBERS);
                ADD(INSERT_MEMBERS);
                ADD(UPDATE_MEMBERS);
        }
        if (w->pw_st_seq.pb_len > 0)
                ADD(UPSERT_SEQ);
#undef ADD
        pgx_buf_putc(&parts, '{');
        pgx_buf_putc(&offs, '{');
        for (int p = 0; p < nparts; p++) {
                if (offsets[p] < 0)
                        continue;
                pgx_buf_printf(&parts, "%s%d", any ? "," : "", p);
                pgx_buf_printf(&offs, "%s%" PRId64, any ? "," : "", offsets[p]);
                any = true;
        }
        pgx_buf_putc(&parts, '}');
        pgx_buf_putc(&parts, '\0');
        pgx_buf_putc(&offs, '}');
        pgx_buf_putc(&offs, '\0');
        if (parts.pb_oom || offs.pb_oom) {
                snprintf(errstr, errstr_size, "out of memory");
                err = PGX_ERR_NOMEM;
                goto out_rollback;
        }
        oparams[0] = topic;
        oparams[1] = parts.pb_data;
        oparams[2] = offs.pb_data;
        if (any)
                stmts[n++] = (pgx_stmt_t){UPSERT_OFFSETS, 3, oparams};
        stmts[n++] = (pgx_stmt_t){"COMMIT", 0, NULL};
        err = pgx_pipeline(st->ps_conn, stmts, n, errstr, errstr_size);
        if (err != PGX_OK)
                goto out_rollback;
        pgx_buf_free(&parts);
        pgx_buf_free(&offs);
        return PGX_OK;

out_rollback:
        pgx_buf_free(&parts);
        pgx_buf_free(&offs);
        if (PQstatus(st->ps_conn) == CONNECTION_OK)
                PQclear(PQexec(st->ps_conn, "ROLLBACK"));
        return err;
}

pgx_err_t pj_store_swap(pj_store_t *st, const char *live, char *old_out, size_t old_size,
                        char *errstr, size_t errstr_size) {
        const char *params[1] = {live};
        PGresult *res;
        char sql[512];
        bool exists;
        pgx_err_t err;

        old_out[0] = '\0';
        if (!pgx_ident_valid(live) || strlen(live) > 40) {
                snprintf(errstr, errstr_size, "invalid live schema name \"%s\"", live);
                return PGX_ERR_ARG;
        }
        if ((err = pgx_exec(st->ps_conn, "BEGIN", errstr, errstr_size)) != PGX_OK)
                return err;
        err = pgx_query(st->ps_conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, params,
                        &res, errstr, errstr_size);
        if (err != PGX_OK)
                goto out_rollback;
        exists = PQntuples(res) > 0;
        PQclear(res);
        if (exists) {
                snprintf(old_out, old_size, "%s_replaced_%ld", live, (long)time(NULL));
                snprintf(sql, sizeof(sql), "ALTER SCHEMA %s RENAME TO %s", live, old_out);
                if ((err = pgx_exec(st->ps_conn, sql, errstr, errstr_size)) != PGX_OK)
                        goto out_rollback;
        }
        snprintf(sql, sizeof(sql), "ALTER SCHEMA %s RENAME TO %s", st->ps_schema, live);
        if ((err = pgx_exec(st->ps_conn, sql, errstr, errstr_size)) != PGX_OK)
                goto out_rollback;
        if ((err = pgx_exec(st->ps_conn, "COMMIT", errstr, errstr_size)) != PGX_OK)
                goto out_rollback;
        return PGX_OK;

out_rollback:
        old_out[0] = '\0';
        if (PQstatus(st->ps_conn) == CONNECTION_OK)
                PQclear(PQexec(st->ps_conn, "ROLLBACK"));
        return err;
}
