/*
 * The reference invoices (see e2e_scen.h): plain arithmetic written for clarity, apart
 * from the invoicer's code and from common/money on purpose. The rules are those of
 * docs/invoicer.md ("Where a record is billed", "Late usage", "Finalization") and
 * docs/money.md (half-up, the currency's minor unit).
 */
#include "e2e_scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ money, plainly */

/* Micros in one minor unit of @cur: JPY has no minor unit, the others have cents. */
static int64_t minor_unit(bg_currency_t cur) {
        return cur == BG_CURRENCY_JPY ? 1000000 : 10000;
}

/* @x rounded to a multiple of @unit, halves away from zero. */
static int64_t round_half_up(int64_t x, int64_t unit) {
        if (x >= 0)
                return (x + unit / 2) / unit * unit;
        return -((-x + unit / 2) / unit * unit);
}

/* quantity x unit price, both in micros, to the nearest micro (halves up). */
static int64_t times_price(int64_t quantity, int64_t price) {
        __int128 p = (__int128)quantity * price;      /* micros x micros = 10^-12 */

        return (int64_t)((p + 500000) / 1000000);
}

int64_t e2e_vat_percent_micros(const char *country) {
        const char *p = E2E_VAT_RATES;

        while (country != NULL && country[0] != '\0' && *p) {
                int64_t whole = 0, frac = 0, scale = 1000000;
                bool match = strncmp(p, country, 2) == 0 && p[2] == '=';
                p += 3;
                while (*p >= '0' && *p <= '9')
                        whole = whole * 10 + (*p++ - '0');
                if (*p == '.')
                        for (p++; *p >= '0' && *p <= '9'; p++) {
                                scale /= 10;
                                frac += (*p - '0') * scale;
                        }
                if (match)
                        return whole * 1000000 + frac;
                if (*p == ',')
                        p++;
        }
        return 0;
}

/* ------------------------------------------------------------------ lines */

static void yyyymm(int64_t ms, char *buf, size_t size) {
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        snprintf(buf, size, "%04d%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

typedef struct rec_s {
        char number[40];
        char key[200];
        const e2e_usage_t *u;
        int64_t period;                 /* the invoice's month */
        int64_t late;                   /* the record's month when late, else -1 */
        int line_type;
} rec_t;

static int cmp_rec(const void *a, const void *b) {
        const rec_t *x = a, *y = b;
        int c = strcmp(x->number, y->number);

        return c != 0 ? c : strcmp(x->key, y->key);
}

typedef struct line_s {
        char key[200];
        int line_type;
        bg_uuid_t project;
        bool has_project;
        int service;                    /* -1: none */
        int64_t late;
        int64_t amount, quantity, records, total;
        char credit[BG_CREDIT_CODE_SIZE];
} line_t;

typedef struct inv_s {
        char number[40];
        bg_uuid_t group, account;
        const acct_state_t *st;
        int64_t period;
        line_t *lines;
        size_t n, cap;
} inv_t;

static line_t *add_line(inv_t *inv) {
        if (inv->n == inv->cap) {
                inv->cap = inv->cap ? inv->cap * 2 : 8;
                inv->lines = realloc(inv->lines, inv->cap * sizeof(*inv->lines));
                if (inv->lines == NULL)
                        abort();
        }
        memset(&inv->lines[inv->n], 0, sizeof(inv->lines[0]));
        return &inv->lines[inv->n++];
}

static int cmp_inv(const void *a, const void *b) {
        const inv_t *x = a, *y = b;

        if (x->period != y->period)
                return x->period < y->period ? -1 : 1;
        return strcmp(x->number, y->number);
}

/* A claimed credit with what is left of it. */
typedef struct cred_s {
        const acct_credit_t *c;
        bg_uuid_t account;
        int64_t remaining;
        int64_t used;                   /* in the invoice at hand */
        bool ever_used;
} cred_t;

/* Project-scoped first, then those that expire (earliest first), then by code. */
static int cmp_cred(const void *a, const void *b) {
        const cred_t *x = *(cred_t *const *)a, *y = *(cred_t *const *)b;

        if (x->c->has_project_id != y->c->has_project_id)
                return x->c->has_project_id ? -1 : 1;
        if (x->c->has_expire_time != y->c->has_expire_time)
                return x->c->has_expire_time ? -1 : 1;
        if (x->c->has_expire_time && x->c->expire_time != y->c->expire_time)
                return x->c->expire_time < y->c->expire_time ? -1 : 1;
        return strcmp(x->c->code, y->c->code);
}

static const acct_state_t *account_of(const e2e_scen_t *s, const bg_uuid_t *group) {
        for (size_t i = 0; i < e2e_scen_account_count(s); i++)
                if (acct_find_group(e2e_scen_account(s, i), group) != NULL)
                        return e2e_scen_account(s, i);
        return NULL;
}

/* Finalizes @inv: line totals, credits, rounding, VAT; renders its rows. */
static void finalize(const e2e_scen_t *s, inv_t *inv, cred_t *creds, size_t ncreds,
                     e2e_ref_out_t *out) {
        const acct_group_t *g = acct_find_group(inv->st, &inv->group);
        bg_currency_t cur = g->billing_currency;
        int64_t unit = minor_unit(cur), charges = 0, open, credits = 0, subtotal, tvz, vat, pct;
        int64_t pend = e2e_month_next(inv->period);
        size_t ncharge = inv->n;
        cred_t **order = calloc(ncreds + 1, sizeof(*order));
        size_t n = 0;
        char acc[BG_UUID_STR_LEN + 1], grp[BG_UUID_STR_LEN + 1], prj[BG_UUID_STR_LEN + 1];

        if (order == NULL)
                abort();
        /* 1. Each charge line rounded to the minor unit; the charges are their sum. */
        for (size_t i = 0; i < ncharge; i++) {
                inv->lines[i].total = round_half_up(inv->lines[i].amount, unit);
                charges += inv->lines[i].total;
        }
        /* 2. Credits of the group in its currency, valid in the period, not used up. */
        for (size_t i = 0; i < ncreds; i++) {
                const acct_credit_t *c = creds[i].c;
                creds[i].used = 0;
                if (!c->claimed || !bg_uuid_equal(&c->billing_group_id, &inv->group) ||
                    c->currency != cur)
                        continue;
                if (!(c->start_time < pend && (!c->has_expire_time || c->expire_time > inv->period)))
                        continue;
                if (creds[i].remaining <= 0)
                        continue;
                order[n++] = &creds[i];
        }
        qsort(order, n, sizeof(*order), cmp_cred);
        open = charges;
        for (size_t k = 0; k < n && open > 0; k++) {
                cred_t *c = order[k];
                int64_t room = open, used;

                if (c->c->has_project_id) {
                        /* Only on the project's own lines, less what earlier credits of
                         * that project already paid. */
                        int64_t proj = 0;
                        for (size_t i = 0; i < ncharge; i++)
                                if (inv->lines[i].has_project &&
                                    bg_uuid_equal(&inv->lines[i].project, &c->c->project_id))
                                        proj += inv->lines[i].total;
                        for (size_t j = 0; j < k; j++)
                                if (order[j]->c->has_project_id &&
                                    bg_uuid_equal(&order[j]->c->project_id, &c->c->project_id))
                                        proj -= order[j]->used;
                        if (proj < room)
                                room = proj;
                }
                used = c->remaining < room ? c->remaining : room;
                if (used <= 0)
                        continue;
                c->used = used;
                c->remaining -= used;
                c->ever_used = true;
                open -= used;
                credits += used;
        }
        for (size_t k = 0; k < n; k++) {
                line_t *l;
                if (order[k]->used == 0)
                        continue;
                l = add_line(inv);
                snprintf(l->key, sizeof(l->key), "credit/%s", order[k]->c->code);
                l->line_type = CODEC_LINE_CREDIT_CONSUMPTION;
                l->has_project = order[k]->c->has_project_id;
                l->project = order[k]->c->project_id;
                l->service = -1;
                l->late = -1;
                l->amount = l->total = -order[k]->used;
                snprintf(l->credit, sizeof(l->credit), "%s", order[k]->c->code);
        }
        free(order);
        /* 3. A rounding line when the credits left digits below the minor unit. */
        subtotal = charges - credits;
        tvz = round_half_up(subtotal, unit);
        if (tvz != subtotal) {
                line_t *l = add_line(inv);
                snprintf(l->key, sizeof(l->key), "rounding");
                l->line_type = CODEC_LINE_ROUNDING;
                l->service = -1;
                l->late = -1;
                l->amount = l->total = tvz - subtotal;
        }
        /* 4. VAT: the rate of the group's country, to the micro, then the minor unit. */
        pct = e2e_vat_percent_micros(g->country_code);
        vat = (int64_t)(((__int128)tvz * pct + 50000000) / 100000000);
        vat = round_half_up(vat, unit);

        bg_uuid_format(&inv->account, acc);
        bg_uuid_format(&inv->group, grp);
        e2e_strs_add(&out->headers, "%s|%s|%s|%s|%lld|due|%lld|%lld|%lld|%s", inv->number, grp, acc,
                     bg_currency_name(cur), (long long)inv->period, (long long)tvz,
                     (long long)(tvz + vat), (long long)pct,
                     g->country_code[0] ? g->country_code : "-");
        e2e_strs_add(&out->published, "%s|due|1|%lld|%lld|%zu", inv->number, (long long)tvz,
                     (long long)(tvz + vat), inv->n);
        for (size_t i = 0; i < inv->n; i++) {
                const line_t *l = &inv->lines[i];
                char late[24] = "-";
                const char *svc = l->service >= 0 ? e2e_services[l->service] : NULL;
                if (l->late >= 0)
                        snprintf(late, sizeof(late), "%lld", (long long)l->late);
                strcpy(prj, "-");
                if (l->has_project)
                        bg_uuid_format(&l->project, prj);
                e2e_strs_add(&out->lines, "%s|%s|%s|%lld|%lld|%lld|%lld|%s|%s|%s|%s", inv->number,
                             l->key, codec_line_type_name((codec_line_type_t)l->line_type),
                             (long long)l->amount, (long long)l->total, (long long)l->quantity,
                             (long long)l->records, prj, svc ? svc : "-", late,
                             l->credit[0] ? l->credit : "-");
                e2e_strs_add(&out->published_lines, "%s|%s|%s|%lld", inv->number,
                             codec_line_type_name((codec_line_type_t)l->line_type), svc ? svc : "",
                             (long long)l->total);
        }
        (void)s;
}

void e2e_ref_invoices(const e2e_scen_t *s, int64_t late_clock_ms, e2e_ref_out_t *out) {
        size_t nu = e2e_scen_usage_count(s), nrec = 0, ninv = 0, ncreds = 0;
        int64_t grace = e2e_scen_conf(s)->grace_ms;
        rec_t *recs = calloc(nu + 1, sizeof(*recs));
        inv_t *invs = calloc(nu + 1, sizeof(*invs));
        cred_t *creds;

        memset(out, 0, sizeof(*out));
        if (recs == NULL || invs == NULL)
                abort();
        /* Where each billed record goes: its group (at its begin), the month it begins in,
         * or for a record sent after that month closed, the group's first month still
         * open, on an extra_charge line naming the record's month. */
        for (size_t i = 0; i < nu; i++) {
                const e2e_usage_t *u = e2e_scen_usage_at(s, i);
                rec_t *r = &recs[nrec];
                int64_t month = e2e_month_begin(u->begin), target = month;
                char prj[BG_UUID_STR_LEN + 1], late[32] = "-";

                if (u->kind != E2E_U_BILL && u->kind != E2E_U_LATE)
                        continue;
                if (u->kind == E2E_U_LATE)
                        while (e2e_month_next(target) + grace <= late_clock_ms)
                                target = e2e_month_next(target);
                r->u = u;
                r->period = target;
                r->late = target == month ? -1 : month;
                r->line_type = r->late >= 0 ? CODEC_LINE_EXTRA_CHARGE : u->line_type;
                e2e_invoice_number(&u->group, target, r->number, sizeof(r->number));
                if (r->late >= 0)
                        yyyymm(month, late, sizeof(late));
                bg_uuid_format(&u->project_id, prj);
                snprintf(r->key, sizeof(r->key), "%s/%s/%s/%s", prj,
                         codec_line_type_name((codec_line_type_t)r->line_type), late,
                         e2e_services[u->service]);
                nrec++;
        }
        out->expected_billed = (int64_t)nrec;
        qsort(recs, nrec, sizeof(*recs), cmp_rec);

        /* Sum per line: amount (quantity x price to the micro, or the amount given),
         * quantity, records. */
        for (size_t i = 0; i < nrec; i++) {
                const e2e_usage_t *u = recs[i].u;
                inv_t *inv = ninv > 0 && strcmp(invs[ninv - 1].number, recs[i].number) == 0 ?
                             &invs[ninv - 1] : NULL;
                line_t *l;

                if (inv == NULL) {
                        inv = &invs[ninv++];
                        snprintf(inv->number, sizeof(inv->number), "%s", recs[i].number);
                        inv->group = u->group;
                        inv->account = u->account;
                        inv->st = account_of(s, &u->group);
                        inv->period = recs[i].period;
                }
                if (inv->n > 0 && strcmp(inv->lines[inv->n - 1].key, recs[i].key) == 0) {
                        l = &inv->lines[inv->n - 1];
                } else {
                        l = add_line(inv);
                        snprintf(l->key, sizeof(l->key), "%s", recs[i].key);
                        l->line_type = recs[i].line_type;
                        l->has_project = true;
                        l->project = u->project_id;
                        l->service = u->service;
                        l->late = recs[i].late;
                }
                l->amount += u->has_amount ? u->amount : times_price(u->quantity, u->unit_price);
                l->quantity += u->quantity;
                l->records++;
        }
        free(recs);

        /* Credits: every claimed credit of every account, with its full value left. */
        for (size_t i = 0; i < e2e_scen_account_count(s); i++)
                ncreds += acct_credit_count(e2e_scen_account(s, i));
        creds = calloc(ncreds + 1, sizeof(*creds));
        if (creds == NULL)
                abort();
        ncreds = 0;
        for (size_t i = 0; i < e2e_scen_account_count(s); i++) {
                const acct_state_t *st = e2e_scen_account(s, i);
                for (size_t k = 0; k < acct_credit_count(st); k++) {
                        creds[ncreds].c = acct_credit_at(st, k);
                        creds[ncreds].account = *acct_account_id(st);
                        creds[ncreds].remaining = creds[ncreds].c->value;
                        ncreds++;
                }
        }

        /* Oldest period first, as the invoicer finalizes (credits are used in time order). */
        qsort(invs, ninv, sizeof(*invs), cmp_inv);
        out->periods = calloc(ninv + 1, sizeof(*out->periods));
        if (out->periods == NULL)
                abort();
        for (size_t i = 0; i < ninv; i++) {
                finalize(s, &invs[i], creds, ncreds, out);
                if (out->n_periods == 0 || out->periods[out->n_periods - 1] != invs[i].period)
                        out->periods[out->n_periods++] = invs[i].period;
                free(invs[i].lines);
        }
        out->n_invoices = ninv;
        for (size_t i = 0; i < ncreds; i++) {
                char acc[BG_UUID_STR_LEN + 1];
                if (!creds[i].ever_used)
                        continue;
                bg_uuid_format(&creds[i].account, acc);
                e2e_strs_add(&out->credits, "%s|%s|%lld|%lld", acc, creds[i].c->code,
                             (long long)creds[i].c->value, (long long)creds[i].remaining);
        }
        free(creds);
        free(invs);
}

void e2e_ref_free(e2e_ref_out_t *out) {
        e2e_strs_free(&out->headers);
        e2e_strs_free(&out->lines);
        e2e_strs_free(&out->credits);
        e2e_strs_free(&out->published);
        e2e_strs_free(&out->published_lines);
        free(out->periods);
        memset(out, 0, sizeof(*out));
}
