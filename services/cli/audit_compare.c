#include "audit_compare.h"

#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bg_uuidmap.h"
#include "pgx.h"

typedef struct cmp_s {
        const audit_t *const *c_audits; /* one per worker: accounts are disjoint */
        size_t c_naudits;
        PGconn *c_conn;
        const char *c_schema;
        audit_diff_fn *c_fn;
        void *c_opaque;
        audit_cmp_stats_t *c_stats;
        const char *c_table;
        bg_uuidmap_t *c_seen;           /* account id -> uint8_t[] marks (or (void *)1) */
        char *c_errstr;
        size_t c_errstr_size;
        bool c_oom;
} cmp_t;

static void *const MARK = (void *)1;

/* ------------------------------------------------------------------ reporting */

static void diff(cmp_t *c, audit_dkind_t kind, const bg_uuid_t *account, const char *entity,
                 const char *key, const char *field, const char *log, const char *model) {
        audit_diff_t d;

        memset(&d, 0, sizeof(d));
        d.ad_kind = kind;
        d.ad_table = c->c_table;
        d.ad_account = *account;
        d.ad_entity = entity;
        snprintf(d.ad_key, sizeof(d.ad_key), "%s", key ? key : "");
        d.ad_field = field;
        snprintf(d.ad_log, sizeof(d.ad_log), "%s", log ? log : "");
        snprintf(d.ad_model, sizeof(d.ad_model), "%s", model ? model : "");
        if (kind != AUDIT_D_NOT_COMPARED)
                c->c_stats->acs_differences++;
        c->c_fn(c->c_opaque, &d);
}

static void diff_text(cmp_t *c, const bg_uuid_t *account, const char *entity, const char *key,
                      const char *field, const char *log, const char *model) {
        if (strcmp(log, model) != 0)
                diff(c, AUDIT_D_DIFFERS, account, entity, key, field, log, model);
}

static void diff_i64(cmp_t *c, const bg_uuid_t *account, const char *entity, const char *key,
                     const char *field, int64_t log, const char *model) {
        char l[32];

        snprintf(l, sizeof(l), "%" PRId64, log);
        diff_text(c, account, entity, key, field, l, model);
}

static void diff_uuid(cmp_t *c, const bg_uuid_t *account, const char *entity, const char *key,
                      const char *field, const bg_uuid_t *log, const char *model) {
        char l[BG_UUID_STR_LEN + 1] = "";

        if (log != NULL)
                bg_uuid_format(log, l);
        diff_text(c, account, entity, key, field, l, model);
}

/* A JSON array of the @n strings at @items (@stride apart) against the JSON text @model. */
static void diff_list(cmp_t *c, const bg_uuid_t *account, const char *entity, const char *key,
                      const char *field, const char *items, size_t stride, size_t n,
                      const char *model) {
        json_t *l = json_array(), *m = json_loads(model, 0, NULL);
        char *ltext;

        for (size_t i = 0; l != NULL && i < n; i++)
                json_array_append_new(l, json_string(items + i * stride));
        if (m == NULL)                  /* NULL column: an empty list in the log's terms */
                m = json_array();
        if (l == NULL || m == NULL) {
                c->c_oom = true;
        } else if (!json_equal(l, m)) {
                ltext = json_dumps(l, JSON_COMPACT);
                diff(c, AUDIT_D_DIFFERS, account, entity, key, field, ltext ? ltext : "?", model);
                free(ltext);
        }
        json_decref(l);
        json_decref(m);
}

/* ------------------------------------------------------------------ marks */

/* The account of a row: the rebuilt state when it can be compared, else NULL (and the
 * row is reported: extra when the log lacks the account, skipped when it is broken). */
static const audit_acct_t *row_account(cmp_t *c, const char *idtext, bg_uuid_t *id,
                                       const char *entity, const char *key) {
        const audit_acct_t *aa;

        if (!bg_uuid_parse(idtext, strlen(idtext), id))
                return NULL;
        aa = NULL;
        for (size_t i = 0; aa == NULL && i < c->c_naudits; i++)
                aa = audit_find_account(c->c_audits[i], id);
        if (aa == NULL || !acct_exists(aa->aa_state)) {
                if (aa == NULL || !aa->aa_tainted)
                        diff(c, AUDIT_D_EXTRA_ROW, id, entity, key, NULL, NULL, NULL);
                return NULL;
        }
        return aa->aa_tainted ? NULL : aa;
}

/* Marks entity @i (of @n) of @account as seen in this table. */
static void mark(cmp_t *c, const bg_uuid_t *account, size_t i, size_t n) {
        uint8_t *marks = bg_uuidmap_get(c->c_seen, account);

        if (marks == NULL) {
                marks = calloc(n + 1, 1);
                if (marks == NULL || !bg_uuidmap_put(c->c_seen, account, marks)) {
                        free(marks);
                        c->c_oom = true;
                        return;
                }
        }
        if (i < n)
                marks[i] = 1;
}

static bool marked(cmp_t *c, const bg_uuid_t *account, size_t i) {
        uint8_t *marks = bg_uuidmap_get(c->c_seen, account);

        return marks != NULL && marks != MARK && marks[i];
}

static void marks_reset(cmp_t *c) {
        size_t pos = 0;
        void *v;

        while (bg_uuidmap_next(c->c_seen, &pos, NULL, &v))
                if (v != MARK)
                        free(v);
        bg_uuidmap_destroy(c->c_seen);
        c->c_seen = bg_uuidmap_new();
        if (c->c_seen == NULL)
                c->c_oom = true;
}

/* ------------------------------------------------------------------ scanning */

typedef void (row_fn)(cmp_t *c, const PGresult *r);

static const char *val(const PGresult *r, int col) {
        return PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col);
}

/* Runs @tmpl ("{s}" stands for the schema, a checked identifier) and calls @fn for each
 * row, streamed. */
static int scan(cmp_t *c, const char *table, const char *tmpl, row_fn *fn) {
        char sql[2048];
        const char *at = strstr(tmpl, "{s}");
        PGresult *res;
        int rc = 0;

        c->c_table = table;
        snprintf(sql, sizeof(sql), "%.*s%s%s", (int)(at - tmpl), tmpl, c->c_schema, at + 3);
        if (!PQsendQuery(c->c_conn, sql) || !PQsetSingleRowMode(c->c_conn)) {
                snprintf(c->c_errstr, c->c_errstr_size, "cannot read \"%s.%s\": %s", c->c_schema,
                         table, PQerrorMessage(c->c_conn));
                return -1;
        }
        while ((res = PQgetResult(c->c_conn)) != NULL) {
                ExecStatusType st = PQresultStatus(res);
                if (st == PGRES_SINGLE_TUPLE && rc == 0) {
                        c->c_stats->acs_rows++;
                        fn(c, res);
                } else if (st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE && rc == 0) {
                        snprintf(c->c_errstr, c->c_errstr_size, "cannot read \"%s.%s\": %s",
                                 c->c_schema, table, PQresultErrorMessage(res));
                        rc = -1;
                }
                PQclear(res);
        }
        if (rc == 0 && c->c_oom) {
                snprintf(c->c_errstr, c->c_errstr_size, "out of memory comparing \"%s\"", table);
                rc = -1;
        }
        return rc;
}

/* Calls @fn for every account that can be compared. */
static void each_account(cmp_t *c, void (*fn)(cmp_t *c, const audit_acct_t *aa)) {
        audit_acct_t *aa;

        for (size_t i = 0; i < c->c_naudits; i++)
                for (size_t pos = 0; audit_next_account(c->c_audits[i], &pos, &aa);)
                        if (!aa->aa_tainted && acct_exists(aa->aa_state))
                                fn(c, aa);
}

/* ------------------------------------------------------------------ accounts */

static void account_row(cmp_t *c, const PGresult *r) {
        bg_uuid_t id, primary;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, NULL, NULL);

        if (aa == NULL)
                return;
        if (bg_uuidmap_get(c->c_seen, &id) == NULL && !bg_uuidmap_put(c->c_seen, &id, MARK))
                c->c_oom = true;
        diff_text(c, &id, NULL, NULL, "name", acct_name(aa->aa_state), val(r, 1));
        diff_text(c, &id, NULL, NULL, "owner", aa->aa_owner, val(r, 2));
        diff_uuid(c, &id, NULL, NULL, "primary_billing_group_id",
                  acct_primary_group(aa->aa_state, &primary) ? &primary : NULL, val(r, 3));
}

static void account_missing(cmp_t *c, const audit_acct_t *aa) {
        if (bg_uuidmap_get(c->c_seen, &aa->aa_id) == NULL)
                diff(c, AUDIT_D_MISSING_ROW, &aa->aa_id, NULL, NULL, NULL, NULL, NULL);
}

static void seq_row(cmp_t *c, const PGresult *r) {
        bg_uuid_t id;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, NULL, NULL);
        char hex[BG_HASH_HEX_SIZE];

        if (aa == NULL)
                return;
        if (bg_uuidmap_get(c->c_seen, &id) == NULL && !bg_uuidmap_put(c->c_seen, &id, MARK))
                c->c_oom = true;
        diff_i64(c, &id, NULL, NULL, "seq", acct_version(aa->aa_state), val(r, 1));
        bg_hash_to_hex(acct_last_hash(aa->aa_state), hex);
        diff_text(c, &id, NULL, NULL, "last_hash", hex, val(r, 2));
}

/* audit_log: one row per event, seq 1..version. */
static void audit_row(cmp_t *c, const PGresult *r) {
        bg_uuid_t id;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, NULL, NULL);
        char want[64], got[64];

        if (aa == NULL)
                return;
        if (bg_uuidmap_get(c->c_seen, &id) == NULL && !bg_uuidmap_put(c->c_seen, &id, MARK))
                c->c_oom = true;
        snprintf(want, sizeof(want), "%" PRId64 " rows, seq 1..%" PRId64,
                 acct_version(aa->aa_state), acct_version(aa->aa_state));
        snprintf(got, sizeof(got), "%s rows, seq %s..%s", val(r, 1), val(r, 2), val(r, 3));
        diff_text(c, &id, NULL, NULL, "rows", want, got);
}

/* ------------------------------------------------------------------ members */

static void member_row(cmp_t *c, const PGresult *r) {
        bg_uuid_t id;
        const char *email = val(r, 1);
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, "member", email);
        size_t n, i;

        if (aa == NULL)
                return;
        n = acct_member_count(aa->aa_state);
        for (i = 0; i < n; i++)
                if (strcasecmp(acct_member_at(aa->aa_state, i)->user, email) == 0)
                        break;
        if (i == n) {
                diff(c, AUDIT_D_EXTRA_ROW, &id, "member", email, NULL, NULL, NULL);
                return;
        }
        mark(c, &id, i, n);
        diff_text(c, &id, "member", email, "role",
                  bg_role_name(acct_member_at(aa->aa_state, i)->role), val(r, 2));
}

static void members_missing(cmp_t *c, const audit_acct_t *aa) {
        for (size_t i = 0; i < acct_member_count(aa->aa_state); i++)
                if (!marked(c, &aa->aa_id, i))
                        diff(c, AUDIT_D_MISSING_ROW, &aa->aa_id, "member",
                             acct_member_at(aa->aa_state, i)->user, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ billing groups */

#define GROUP_SQL                                                                            \
        "SELECT account_id, billing_group_id, name, status, billing_currency, payment_method, " \
        "to_json(billing_emails), to_json(billing_contact_emails), billing_extra_text, "      \
        "card_id, company, to_json(address_lines), city, state, zip_code, country_code, "     \
        "vat_id FROM {s}.billing_groups"

/* The index of @p among the @n items of @item bytes at @base (acct_*_at(st, 0)): the state
 * keeps each kind in one array (acct_state.c); anything else falls back to comparing the
 * pointers one by one through @at. */
static size_t index_of(const void *base, const void *p, size_t item, size_t n,
                       const void *(*at)(const acct_state_t *, size_t), const acct_state_t *st) {
        size_t i = base != NULL && p >= base ?
                   (size_t)((const char *)p - (const char *)base) / item : n;

        if (i < n && at(st, i) == p)
                return i;
        for (i = 0; i < n; i++)
                if (at(st, i) == p)
                        return i;
        return n;
}

static const void *group_at(const acct_state_t *st, size_t i) {
        return acct_group_at(st, i);
}

static const void *project_at(const acct_state_t *st, size_t i) {
        return acct_project_at(st, i);
}

static const void *credit_at(const acct_state_t *st, size_t i) {
        return acct_credit_at(st, i);
}

static void group_row(cmp_t *c, const PGresult *r) {
        const char *key = val(r, 1);
        bg_uuid_t id, gid;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, "billing group", key);
        const acct_group_t *g;
        bg_profile_t profile, *p = &profile;
        size_t n;

        if (aa == NULL)
                return;
        n = acct_group_count(aa->aa_state);
        if (!bg_uuid_parse(key, strlen(key), &gid) ||
            (g = acct_find_group(aa->aa_state, &gid)) == NULL) {
                diff(c, AUDIT_D_EXTRA_ROW, &id, "billing group", key, NULL, NULL, NULL);
                return;
        }
        mark(c, &id, index_of(acct_group_at(aa->aa_state, 0), g, sizeof(*g), n, group_at,
                              aa->aa_state), n);
        acct_group_profile(g, p);
        diff_text(c, &id, "billing group", key, "name", g->name, val(r, 2));
        diff_text(c, &id, "billing group", key, "status", g->deleted ? "deleted" : "active",
                  val(r, 3));
        diff_text(c, &id, "billing group", key, "billing_currency",
                  bg_currency_name(p->billing_currency) ?: "", val(r, 4));
        diff_text(c, &id, "billing group", key, "payment_method",
                  bg_payment_method_name(p->payment_method) ?: "", val(r, 5));
        diff_list(c, &id, "billing group", key, "billing_emails", &p->billing_emails[0][0],
                  sizeof(p->billing_emails[0]), p->n_billing_emails, val(r, 6));
        diff_list(c, &id, "billing group", key, "billing_contact_emails",
                  &p->billing_contact_emails[0][0], sizeof(p->billing_contact_emails[0]),
                  p->n_billing_contact_emails, val(r, 7));
        diff_text(c, &id, "billing group", key, "billing_extra_text", p->billing_extra_text,
                  val(r, 8));
        diff_text(c, &id, "billing group", key, "card_id", p->card_id, val(r, 9));
        diff_text(c, &id, "billing group", key, "company", p->company, val(r, 10));
        diff_list(c, &id, "billing group", key, "address_lines", &p->address_lines[0][0],
                  sizeof(p->address_lines[0]), p->n_address_lines, val(r, 11));
        diff_text(c, &id, "billing group", key, "city", p->city, val(r, 12));
        diff_text(c, &id, "billing group", key, "state", p->state, val(r, 13));
        diff_text(c, &id, "billing group", key, "zip_code", p->zip_code, val(r, 14));
        diff_text(c, &id, "billing group", key, "country_code", p->country_code, val(r, 15));
        diff_text(c, &id, "billing group", key, "vat_id", p->vat_id, val(r, 16));
}

static void groups_missing(cmp_t *c, const audit_acct_t *aa) {
        char key[BG_UUID_STR_LEN + 1];

        for (size_t i = 0; i < acct_group_count(aa->aa_state); i++)
                if (!marked(c, &aa->aa_id, i)) {
                        bg_uuid_format(&acct_group_at(aa->aa_state, i)->id, key);
                        diff(c, AUDIT_D_MISSING_ROW, &aa->aa_id, "billing group", key, NULL,
                             NULL, NULL);
                }
}

/* ------------------------------------------------------------------ projects */

static void project_row(cmp_t *c, const PGresult *r) {
        const char *key = val(r, 1);
        bg_uuid_t id, pid;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, "project", key);
        const acct_project_t *p;
        size_t n;

        if (aa == NULL)
                return;
        n = acct_project_count(aa->aa_state);
        if (!bg_uuid_parse(key, strlen(key), &pid) ||
            (p = acct_find_project(aa->aa_state, &pid)) == NULL) {
                diff(c, AUDIT_D_EXTRA_ROW, &id, "project", key, NULL, NULL, NULL);
                return;
        }
        mark(c, &id, index_of(acct_project_at(aa->aa_state, 0), p, sizeof(*p), n, project_at,
                              aa->aa_state), n);
        diff_text(c, &id, "project", key, "name", p->name, val(r, 2));
        diff_uuid(c, &id, "project", key, "billing_group_id", &p->billing_group_id, val(r, 3));
        diff_text(c, &id, "project", key, "status", p->deleted ? "deleted" : "active", val(r, 4));
}

static void projects_missing(cmp_t *c, const audit_acct_t *aa) {
        char key[BG_UUID_STR_LEN + 1];

        for (size_t i = 0; i < acct_project_count(aa->aa_state); i++)
                if (!marked(c, &aa->aa_id, i)) {
                        bg_uuid_format(&acct_project_at(aa->aa_state, i)->id, key);
                        diff(c, AUDIT_D_MISSING_ROW, &aa->aa_id, "project", key, NULL, NULL,
                             NULL);
                }
}

/* ------------------------------------------------------------------ credits */

#define CREDIT_SQL                                                                           \
        "SELECT account_id, code, credit_type, currency, value_micros, "                    \
        "(extract(epoch FROM start_time) * 1000)::bigint, "                                   \
        "(extract(epoch FROM expire_time) * 1000)::bigint, billing_group_id, project_id, "    \
        "claimed_at IS NOT NULL FROM {s}.credits"

static void credit_row(cmp_t *c, const PGresult *r) {
        const char *key = val(r, 1);
        bg_uuid_t id;
        const audit_acct_t *aa = row_account(c, val(r, 0), &id, "credit", key);
        const acct_credit_t *cr;
        size_t n;

        if (aa == NULL)
                return;
        n = acct_credit_count(aa->aa_state);
        if ((cr = acct_find_credit(aa->aa_state, key)) == NULL) {
                diff(c, AUDIT_D_EXTRA_ROW, &id, "credit", key, NULL, NULL, NULL);
                return;
        }
        mark(c, &id, index_of(acct_credit_at(aa->aa_state, 0), cr, sizeof(*cr), n, credit_at,
                              aa->aa_state), n);
        diff_text(c, &id, "credit", key, "credit_type", bg_credit_type_name(cr->type) ?: "",
                  val(r, 2));
        diff_text(c, &id, "credit", key, "currency", bg_currency_name(cr->currency) ?: "",
                  val(r, 3));
        diff_i64(c, &id, "credit", key, "value_micros", cr->value, val(r, 4));
        diff_i64(c, &id, "credit", key, "start_time", cr->start_time, val(r, 5));
        if (cr->has_expire_time)
                diff_i64(c, &id, "credit", key, "expire_time", cr->expire_time, val(r, 6));
        else
                diff_text(c, &id, "credit", key, "expire_time", "", val(r, 6));
        diff_uuid(c, &id, "credit", key, "billing_group_id",
                  cr->claimed ? &cr->billing_group_id : NULL, val(r, 7));
        diff_uuid(c, &id, "credit", key, "project_id",
                  cr->claimed && cr->has_project_id ? &cr->project_id : NULL, val(r, 8));
        diff_text(c, &id, "credit", key, "claimed", cr->claimed ? "t" : "f", val(r, 9));
}

static void credits_missing(cmp_t *c, const audit_acct_t *aa) {
        for (size_t i = 0; i < acct_credit_count(aa->aa_state); i++)
                if (!marked(c, &aa->aa_id, i))
                        diff(c, AUDIT_D_MISSING_ROW, &aa->aa_id, "credit",
                             acct_credit_at(aa->aa_state, i)->code, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ driver */

static void note_skipped(cmp_t *c) {
        audit_acct_t *aa;
        char why[64];

        c->c_table = "accounts";
        for (size_t i = 0; i < c->c_naudits; i++) {
                for (size_t pos = 0; audit_next_account(c->c_audits[i], &pos, &aa);) {
                        if (aa->aa_tainted) {
                                c->c_stats->acs_accounts_skipped++;
                                snprintf(why, sizeof(why), "log broken at seq %" PRId64,
                                         aa->aa_tainted_seq);
                                diff(c, AUDIT_D_NOT_COMPARED, &aa->aa_id, NULL, NULL, NULL, why,
                                     NULL);
                        } else if (acct_exists(aa->aa_state)) {
                                c->c_stats->acs_accounts_compared++;
                        }
                }
        }
}

int audit_compare(const audit_t *const *audits, size_t n, const char *conninfo,
                  const char *schema, audit_diff_fn *fn, void *opaque,
                  audit_cmp_stats_t *stats, char *errstr, size_t errstr_size) {
        static const struct {
                const char *table, *sql;
                row_fn *row;
                void (*missing)(cmp_t *c, const audit_acct_t *aa);
        } steps[] = {
                {"accounts",
                 "SELECT account_id, name, owner, primary_billing_group_id FROM {s}.accounts",
                 account_row, account_missing},
                {"account_seq",
                 "SELECT account_id, seq, encode(last_hash, 'hex') FROM {s}.account_seq",
                 seq_row, account_missing},
                {"account_members", "SELECT account_id, user_email, role FROM {s}.account_members",
                 member_row, members_missing},
                {"billing_groups", GROUP_SQL, group_row, groups_missing},
                {"projects",
                 "SELECT account_id, project_id, name, billing_group_id, status FROM {s}.projects",
                 project_row, projects_missing},
                {"credits", CREDIT_SQL, credit_row, credits_missing},
                {"audit_log",
                 "SELECT account_id, count(*), min(seq), max(seq) FROM {s}.audit_log "
                 "GROUP BY account_id",
                 audit_row, account_missing},
        };
        cmp_t c = {.c_audits = audits, .c_naudits = n, .c_schema = schema, .c_fn = fn,
                   .c_opaque = opaque,
                   .c_stats = stats, .c_errstr = errstr, .c_errstr_size = errstr_size};
        int rc = -1;

        memset(stats, 0, sizeof(*stats));
        if (!pgx_ident_valid(schema)) {
                snprintf(errstr, errstr_size, "invalid schema name \"%s\"", schema);
                return -1;
        }
        c.c_conn = pgx_connect(conninfo, 0, NULL, errstr, errstr_size);
        if (c.c_conn == NULL)
                return -1;
        if (pgx_exec(c.c_conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", errstr,
                     errstr_size) != PGX_OK)
                goto out_finish;
        c.c_seen = bg_uuidmap_new();
        if (c.c_seen == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out_finish;
        }
        note_skipped(&c);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                if (scan(&c, steps[i].table, steps[i].sql, steps[i].row) != 0)
                        goto out_free_marks;
                each_account(&c, steps[i].missing);
                marks_reset(&c);
                if (c.c_oom) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto out_free_marks;
                }
        }
        rc = 0;

out_free_marks:
        marks_reset(&c);
        bg_uuidmap_destroy(c.c_seen);
out_finish:
        PQfinish(c.c_conn);
        return rc;
}

void audit_diff_format(const audit_diff_t *d, char *buf, size_t size) {
        char id[BG_UUID_STR_LEN + 1], what[BG_EMAIL_SIZE + 32] = "";

        bg_uuid_format(&d->ad_account, id);
        if (d->ad_entity != NULL)
                snprintf(what, sizeof(what), " %s %s", d->ad_entity, d->ad_key);
        switch (d->ad_kind) {
        case AUDIT_D_DIFFERS:
                snprintf(buf, size,
                         "read model %s: account %s%s: %s: log \"%s\", read model \"%s\"",
                         d->ad_table, id, what, d->ad_field, d->ad_log, d->ad_model);
                break;
        case AUDIT_D_MISSING_ROW:
                snprintf(buf, size, "read model %s: account %s%s: missing row (the log has it)",
                         d->ad_table, id, what);
                break;
        case AUDIT_D_EXTRA_ROW:
                snprintf(buf, size, "read model %s: account %s%s: extra row (not in the log)",
                         d->ad_table, id, what);
                break;
        case AUDIT_D_NOT_COMPARED:
                snprintf(buf, size, "read models: account %s: not compared: %s", id, d->ad_log);
                break;
        }
}
