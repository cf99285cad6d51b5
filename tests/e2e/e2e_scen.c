/*
 * The scenario generator (see e2e_scen.h). Every choice comes from the seeded generator;
 * only usage timestamps come from the real clock.
 */
#include "e2e_scen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "e2e_scen: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        abort();
}

static void *xrealloc(void *p, size_t n) {
        void *q = realloc(p, n);

        if (q == NULL)
                die("out of memory");
        return q;
}

/* ------------------------------------------------------------------ random numbers */

uint64_t e2e_rng_next(e2e_rng_t *r) {
        uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

uint64_t e2e_rng_below(e2e_rng_t *r, uint64_t n) {
        return n == 0 ? 0 : e2e_rng_next(r) % n;
}

bool e2e_rng_chance(e2e_rng_t *r, unsigned percent) {
        return e2e_rng_below(r, 100) < percent;
}

void e2e_rng_uuid(e2e_rng_t *r, bg_uuid_t *out) {
        uint64_t a = e2e_rng_next(r), b = e2e_rng_next(r);

        memcpy(out->b, &a, 8);
        memcpy(out->b + 8, &b, 8);
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

/* ------------------------------------------------------------------ string lists */

void e2e_strs_add(e2e_strs_t *l, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                die("out of memory");
        va_end(ap);
        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 64;
                l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
        }
        l->v[l->n++] = s;
}

void e2e_strs_free(e2e_strs_t *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t e2e_strs_diff(e2e_strs_t *expected, e2e_strs_t *actual, const char *what,
                     size_t max_print) {
        size_t i = 0, j = 0, diff = 0;

        qsort(expected->v, expected->n, sizeof(char *), cmp_str);
        qsort(actual->v, actual->n, sizeof(char *), cmp_str);
        while (i < expected->n || j < actual->n) {
                int c = i == expected->n ? 1 : j == actual->n ? -1 :
                        strcmp(expected->v[i], actual->v[j]);
                if (c == 0) {
                        i++;
                        j++;
                        continue;
                }
                if (diff++ < max_print)
                        printf("  %s: %s %s\n", what, c < 0 ? "expected, missing:" :
                               "actual, not expected:", c < 0 ? expected->v[i] : actual->v[j]);
                if (c < 0)
                        i++;
                else
                        j++;
        }
        return diff;
}

/* ------------------------------------------------------------------ configuration */

void e2e_conf_init(e2e_conf_t *c, uint64_t seed, int scale, int64_t now_ms) {
        memset(c, 0, sizeof(*c));
        if (scale < 1)
                scale = 1;
        c->seed = seed;
        c->scale = scale;
        c->accounts = 20 * scale;
        c->rounds = 6;
        c->usage_per_round = 3000 * scale / (c->rounds + 1);
        /* The month a run starts in must not close while it runs: within two hours after
         * a month began, a longer grace keeps the previous month open (docs/e2e.md). */
        c->grace_ms = now_ms - e2e_month_begin(now_ms) < 2 * HOUR_MS ? 4 * HOUR_MS : HOUR_MS;
}

/* ------------------------------------------------------------------ calendar */

int64_t e2e_month_begin(int64_t ms) {
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        return (int64_t)timegm(&tm) * 1000;
}

int64_t e2e_month_next(int64_t ms) {
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&secs, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mon += 1;                 /* timegm normalizes December + 1 */
        return (int64_t)timegm(&tm) * 1000;
}

void e2e_invoice_number(const bg_uuid_t *group, int64_t ms, char *buf, size_t size) {
        char id[BG_UUID_STR_LEN + 1];
        time_t secs = (time_t)(ms / 1000);
        struct tm tm;

        bg_uuid_format(group, id);
        gmtime_r(&secs, &tm);
        /* The first 16 hex digits of the group id (dashes left out), then YYYYMM. */
        snprintf(buf, size, "%.8s%.4s%.4s-%04d%02d", id, id + 9, id + 14, tm.tm_year + 1900,
                 tm.tm_mon + 1);
}

/* ------------------------------------------------------------------ scenario state */

typedef struct acc_s {
        bg_uuid_t id;
        acct_state_t *st;
        char owner[64], ba[64], viewer[64];
        int n_projects, n_credits, n_groups, n_users;
        bg_command_t *last_accepted;    /* for repeats of an accepted command id */
        size_t moves;
} acc_t;

struct e2e_scen_s {
        e2e_conf_t conf;
        e2e_rng_t rng;                  /* commands */
        e2e_rng_t urng;                 /* usage */
        e2e_rng_t idrng;                /* event ids */
        acc_t *acc;
        size_t nacc;
        bg_command_t *cmd;
        acct_decision_t dec;
        e2e_usage_t *u;
        size_t nu, capu;
        int64_t max_begin;
        e2e_stats_t stats;
};

const char *const e2e_services[] = {"pg-main", "kafka-events", "redis-cache", "os-logs",
                                    "m3-metrics"};
const size_t e2e_n_services = sizeof(e2e_services) / sizeof(e2e_services[0]);

static const bg_currency_t currencies[] = {BG_CURRENCY_EUR, BG_CURRENCY_USD, BG_CURRENCY_GBP,
                                           BG_CURRENCY_SEK, BG_CURRENCY_JPY};
static const char *const countries[] = {"FI", "DE", "SE", "NO", "US", ""};
static const char *const principals[] = {"service:billing"};

#define NCURRENCIES (sizeof(currencies) / sizeof(currencies[0]))
#define NCOUNTRIES (sizeof(countries) / sizeof(countries[0]))

e2e_scen_t *e2e_scen_new(const e2e_conf_t *conf) {
        e2e_scen_t *s = calloc(1, sizeof(*s));

        if (s == NULL)
                die("out of memory");
        s->conf = *conf;
        s->rng.s = conf->seed;
        s->urng.s = conf->seed ^ UINT64_C(0x5eed0f05a6e0ca11);
        s->idrng.s = conf->seed ^ UINT64_C(0x1de7e71d5);
        s->nacc = (size_t)conf->accounts;
        s->acc = calloc(s->nacc, sizeof(*s->acc));
        s->cmd = malloc(sizeof(*s->cmd));
        if (s->acc == NULL || s->cmd == NULL)
                die("out of memory");
        acct_decision_init(&s->dec);
        for (size_t i = 0; i < s->nacc; i++) {
                acc_t *a = &s->acc[i];
                e2e_rng_uuid(&s->rng, &a->id);
                a->st = acct_state_new();
                if (a->st == NULL)
                        die("out of memory");
                snprintf(a->owner, sizeof(a->owner), "owner%zu@e2e.example.com", i);
                snprintf(a->ba, sizeof(a->ba), "billing%zu@e2e.example.com", i);
                snprintf(a->viewer, sizeof(a->viewer), "viewer%zu@e2e.example.com", i);
        }
        return s;
}

void e2e_scen_destroy(e2e_scen_t *s) {
        if (s == NULL)
                return;
        for (size_t i = 0; i < s->nacc; i++) {
                acct_state_destroy(s->acc[i].st);
                free(s->acc[i].last_accepted);
        }
        acct_decision_clear(&s->dec);
        free(s->acc);
        free(s->cmd);
        free(s->u);
        free(s);
}

const e2e_conf_t *e2e_scen_conf(const e2e_scen_t *s) {
        return &s->conf;
}

size_t e2e_scen_account_count(const e2e_scen_t *s) {
        return s->nacc;
}

const acct_state_t *e2e_scen_account(const e2e_scen_t *s, size_t i) {
        return s->acc[i].st;
}

size_t e2e_scen_moves(const e2e_scen_t *s, size_t i) {
        return s->acc[i].moves;
}

void e2e_scen_stats(const e2e_scen_t *s, e2e_stats_t *out) {
        *out = s->stats;
}

int64_t e2e_scen_max_begin(const e2e_scen_t *s) {
        return s->max_begin;
}

size_t e2e_scen_usage_count(const e2e_scen_t *s) {
        return s->nu;
}

e2e_usage_t *e2e_scen_usage_at(const e2e_scen_t *s, size_t i) {
        return &s->u[i];
}

/* ------------------------------------------------------------------ commands */

static void new_event_id(void *opaque, bg_uuid_t *out) {
        e2e_scen_t *s = opaque;
        e2e_rng_uuid(&s->idrng, out);
}

static bg_command_t *cmd_init(e2e_scen_t *s, acc_t *a, bg_command_type_t type, const char *user) {
        bg_command_t *c = s->cmd;

        memset(c, 0, sizeof(*c));
        e2e_rng_uuid(&s->rng, &c->command_id);
        c->account_id = a->id;
        if (strncmp(user, "service:", 8) == 0)
                snprintf(c->actor, sizeof(c->actor), "%s", user);
        else
                snprintf(c->actor, sizeof(c->actor), "user:%s", user);
        c->type = type;
        return c;
}

/* Decides @c against the reference state, applies its events, hands it to @fn. */
static void decide(e2e_scen_t *s, acc_t *a, const bg_command_t *c, int64_t now, e2e_cmd_fn fn,
                   void *opaque) {
        acct_ctx_t ctx = {.now_ms = now, .new_event_id = new_event_id, .new_event_id_opaque = s,
                          .service_principals = principals, .n_service_principals = 1};
        e2e_expect_t exp;
        char err[512];
        acct_err_t rc;

        if (c == s->cmd)
                s->cmd->issued_at = now;
        rc = acct_decide(a->st, c, &ctx, &s->dec);
        if (rc != ACCT_OK)
                die("acct_decide: %s", acct_err_name(rc));
        exp.outcome = s->dec.result.outcome;
        exp.code = s->dec.result.rejection.code;
        exp.n_events = s->dec.n_events;
        for (size_t i = 0; i < s->dec.n_events; i++) {
                if (acct_evolve(a->st, &s->dec.events[i], err, sizeof(err)) != ACCT_OK)
                        die("acct_evolve: %s", err);
                if (s->dec.events[i].type == BG_EVT_PROJECT_MOVED)
                        a->moves++;
        }
        s->stats.commands++;
        s->stats.events += exp.n_events;
        if (exp.outcome == BG_OUTCOME_ACCEPTED) {
                s->stats.accepted++;
                if (exp.n_events > 0 && c != a->last_accepted) {
                        if (a->last_accepted == NULL)
                                a->last_accepted = xrealloc(NULL, sizeof(*a->last_accepted));
                        memcpy(a->last_accepted, c, sizeof(*c));
                }
        } else if (exp.outcome == BG_OUTCOME_REJECTED) {
                s->stats.rejected++;
                s->stats.rejected_by_code[exp.code]++;
        } else {
                s->stats.duplicates++;
        }
        fn(opaque, c, &exp);
}

/* The i-th live group / project (creation order), or NULL; counts with n = SIZE_MAX. */
static size_t live_groups(const acc_t *a, const acct_group_t **out, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < acct_group_count(a->st); i++) {
                const acct_group_t *g = acct_group_at(a->st, i);
                if (!g->deleted && n < max)
                        out[n++] = g;
        }
        return n;
}

static size_t live_projects(const acc_t *a, const acct_project_t **out, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < acct_project_count(a->st); i++) {
                const acct_project_t *p = acct_project_at(a->st, i);
                if (!p->deleted && n < max)
                        out[n++] = p;
        }
        return n;
}

#define MAXL 256

static const acct_group_t *pick_group(e2e_scen_t *s, const acc_t *a) {
        const acct_group_t *g[MAXL];
        size_t n = live_groups(a, g, MAXL);

        return n ? g[e2e_rng_below(&s->rng, n)] : NULL;
}

static const acct_project_t *pick_project(e2e_scen_t *s, const acc_t *a) {
        const acct_project_t *p[MAXL];
        size_t n = live_projects(a, p, MAXL);

        return n ? p[e2e_rng_below(&s->rng, n)] : NULL;
}

static const char *actor_of(e2e_scen_t *s, const acc_t *a) {
        return e2e_rng_chance(&s->rng, 75) ? a->owner : a->ba;
}

static void op_create_group(e2e_scen_t *s, acc_t *a, int64_t now, const bg_uuid_t *copy_from,
                            const char *user, e2e_cmd_fn fn, void *opaque) {
        bg_command_t *c = cmd_init(s, a, BG_CMD_CREATE_BILLING_GROUP, user);
        bg_cmd_create_billing_group_t *p = &c->payload.create_billing_group;

        e2e_rng_uuid(&s->rng, &p->billing_group_id);
        snprintf(p->name, sizeof(p->name), "Group %d of account %d", ++a->n_groups,
                 (int)(a - s->acc));
        if (copy_from != NULL) {
                p->has_copy_from = true;
                p->copy_from = *copy_from;
        } else {
                p->profile.present = BG_PROFILE_F_BILLING_CURRENCY | BG_PROFILE_F_COUNTRY_CODE |
                                     BG_PROFILE_F_COMPANY;
                p->profile.v.billing_currency = currencies[e2e_rng_below(&s->rng, NCURRENCIES)];
                snprintf(p->profile.v.country_code, sizeof(p->profile.v.country_code), "%s",
                         countries[e2e_rng_below(&s->rng, NCOUNTRIES)]);
                snprintf(p->profile.v.company, sizeof(p->profile.v.company), "Company %d Oy",
                         (int)e2e_rng_below(&s->rng, 1000));
        }
        decide(s, a, c, now, fn, opaque);
}

static void op_create_project(e2e_scen_t *s, acc_t *a, int64_t now, const char *user,
                              e2e_cmd_fn fn, void *opaque) {
        bg_command_t *c = cmd_init(s, a, BG_CMD_CREATE_PROJECT, user);
        bg_cmd_create_project_t *p = &c->payload.create_project;
        const acct_group_t *g = e2e_rng_chance(&s->rng, 50) ? pick_group(s, a) : NULL;

        e2e_rng_uuid(&s->rng, &p->project_id);
        snprintf(p->name, sizeof(p->name), "p%d-%d", (int)(a - s->acc), a->n_projects++);
        if (g != NULL) {
                p->has_billing_group_id = true;
                p->billing_group_id = g->id;
        }
        decide(s, a, c, now, fn, opaque);
}

static void op_move(e2e_scen_t *s, acc_t *a, int64_t now, bool with_version, e2e_cmd_fn fn,
                    void *opaque) {
        const acct_group_t *g = pick_group(s, a);
        bg_command_t *c;
        size_t n = 1 + e2e_rng_below(&s->rng, 2);

        if (g == NULL)
                return;
        c = cmd_init(s, a, BG_CMD_ASSIGN_PROJECTS, actor_of(s, a));
        c->payload.assign_projects.billing_group_id = g->id;
        for (size_t i = 0; i < n; i++) {
                const acct_project_t *p = pick_project(s, a);
                bool dup = false;
                if (p == NULL)
                        return;
                for (size_t j = 0; j < c->payload.assign_projects.n_projects; j++)
                        dup = dup || strcmp(c->payload.assign_projects.project_names[j],
                                            p->name) == 0;
                if (!dup)
                        snprintf(c->payload.assign_projects.project_names
                                         [c->payload.assign_projects.n_projects++],
                                 BG_PROJECT_NAME_SIZE, "%s", p->name);
        }
        if (with_version) {
                c->has_expected_version = true;
                c->expected_version = acct_version(a->st);
        }
        decide(s, a, c, now, fn, opaque);
}

/* Issue a credit (a service) and claim it (a user): kinds of validity and values that
 * exercise the credit rules and the rounding line. */
static void op_credit(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        const acct_group_t *g = pick_group(s, a);
        bg_command_t *c;
        bg_cmd_issue_credit_t *ic;
        bg_cmd_claim_credit_t *cc;
        char code[BG_CREDIT_CODE_SIZE];
        int64_t next = e2e_month_next(now);
        unsigned kind = (unsigned)e2e_rng_below(&s->rng, 4), vk = (unsigned)e2e_rng_below(&s->rng, 4);
        bg_currency_t cur;
        bg_uuid_t gid;          /* g points into the state: gone once decide() evolves it */

        if (g == NULL)
                return;
        cur = g->billing_currency;
        gid = g->id;
        snprintf(code, sizeof(code), "C%d-%d", (int)(a - s->acc), a->n_credits++);
        c = cmd_init(s, a, BG_CMD_ISSUE_CREDIT, "service:billing");
        ic = &c->payload.issue_credit;
        snprintf(ic->code, sizeof(ic->code), "%s", code);
        ic->currency = cur;
        ic->type = (bg_credit_type_t)(1 + e2e_rng_below(&s->rng, BG_CREDIT_TYPE__COUNT - 1));
        ic->start_time = now - DAY_MS;
        switch (kind) {
        case 0:                         /* never expires */
                break;
        case 1:                         /* expires before the next month (if time allows) */
                ic->has_expire_time = true;
                ic->expire_time = next - HOUR_MS > now + 2 * HOUR_MS ? next - HOUR_MS :
                                  now + 2 * HOUR_MS;
                break;
        case 2:                         /* starts next month */
                ic->start_time = next;
                break;
        default:                        /* expires in the month after next */
                ic->has_expire_time = true;
                ic->expire_time = e2e_month_next(next) + 5 * DAY_MS;
                break;
        }
        switch (vk) {
        case 0:                         /* whole minor units */
                ic->value = (int64_t)(1 + e2e_rng_below(&s->rng, 30000)) * 10000;
                break;
        case 1:                         /* half a cent more: a rounding line when used up */
                ic->value = (int64_t)(1 + e2e_rng_below(&s->rng, 30000)) * 10000 + 5000;
                break;
        case 2:                         /* any micros */
                ic->value = (int64_t)(1 + e2e_rng_below(&s->rng, 300000000));
                break;
        default:                        /* large: pays whole invoices */
                ic->value = (int64_t)(1 + e2e_rng_below(&s->rng, 5000)) * 1000000;
                break;
        }
        decide(s, a, c, now, fn, opaque);

        c = cmd_init(s, a, BG_CMD_CLAIM_CREDIT, actor_of(s, a));
        cc = &c->payload.claim_credit;
        cc->billing_group_id = gid;
        snprintf(cc->code, sizeof(cc->code), "%s", code);
        if (e2e_rng_chance(&s->rng, 40)) {
                const acct_project_t *p[MAXL], *in[MAXL];
                size_t n = live_projects(a, p, MAXL), k = 0;
                for (size_t i = 0; i < n; i++)
                        if (bg_uuid_equal(&p[i]->billing_group_id, &gid))
                                in[k++] = p[i];
                if (k > 0) {
                        cc->has_project_id = true;
                        cc->project_id = in[e2e_rng_below(&s->rng, k)]->id;
                }
        }
        decide(s, a, c, now, fn, opaque);
}

static void op_update_group(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        const acct_group_t *g = pick_group(s, a);
        bg_command_t *c;
        bg_cmd_update_billing_group_t *p;

        if (g == NULL)
                return;
        c = cmd_init(s, a, BG_CMD_UPDATE_BILLING_GROUP, actor_of(s, a));
        p = &c->payload.update_billing_group;
        p->billing_group_id = g->id;
        if (e2e_rng_chance(&s->rng, 50)) {
                p->has_name = true;
                snprintf(p->name, sizeof(p->name), "Renamed %d", (int)e2e_rng_below(&s->rng, 100000));
        }
        if (e2e_rng_chance(&s->rng, 40)) {
                p->profile.present |= BG_PROFILE_F_COUNTRY_CODE;
                snprintf(p->profile.v.country_code, sizeof(p->profile.v.country_code), "%s",
                         countries[e2e_rng_below(&s->rng, NCOUNTRIES)]);
        }
        if (!p->has_name || e2e_rng_chance(&s->rng, 30)) {
                p->profile.present |= BG_PROFILE_F_COMPANY;
                snprintf(p->profile.v.company, sizeof(p->profile.v.company), "Company %d Ltd",
                         (int)e2e_rng_below(&s->rng, 1000));
        }
        decide(s, a, c, now, fn, opaque);
}

static void op_role(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        unsigned k = (unsigned)e2e_rng_below(&s->rng, 5);
        bg_command_t *c = cmd_init(s, a, k == 2 ? BG_CMD_REVOKE_ROLE : BG_CMD_GRANT_ROLE,
                                   e2e_rng_chance(&s->rng, 90) ? a->owner : a->viewer);
        bg_cmd_role_t *r = k == 2 ? &c->payload.revoke_role : &c->payload.grant_role;

        switch (k) {
        case 0:                         /* the viewer becomes billing admin */
                snprintf(r->user, sizeof(r->user), "%s", a->viewer);
                r->role = BG_ROLE_BILLING_ADMIN;
                break;
        case 1:                         /* the billing admin becomes viewer */
                snprintf(r->user, sizeof(r->user), "%s", a->ba);
                r->role = BG_ROLE_VIEWER;
                break;
        case 2:                         /* the viewer leaves (if still a viewer) */
                snprintf(r->user, sizeof(r->user), "%s", a->viewer);
                r->role = BG_ROLE_VIEWER;
                break;
        case 3:                         /* the billing admin (back) */
                snprintf(r->user, sizeof(r->user), "%s", a->ba);
                r->role = BG_ROLE_BILLING_ADMIN;
                break;
        default:                        /* a new member, spelled in upper case */
                snprintf(r->user, sizeof(r->user), "User%d.%d@E2E.example.com",
                         (int)(a - s->acc), a->n_users++);
                r->role = e2e_rng_chance(&s->rng, 50) ? BG_ROLE_VIEWER : BG_ROLE_ADMIN;
                break;
        }
        decide(s, a, c, now, fn, opaque);
}

static void op_delete_group(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        const acct_group_t *g[MAXL], *empty = NULL, *target;
        size_t n = live_groups(a, g, MAXL);
        bg_uuid_t primary;
        bool has_primary = acct_primary_group(a->st, &primary);
        bg_command_t *c;

        if (n == 0)
                return;
        for (size_t i = 0; i < n && empty == NULL; i++)
                if (g[i]->n_live_projects == 0 &&
                    !(has_primary && bg_uuid_equal(&primary, &g[i]->id)))
                        empty = g[i];
        /* Mostly a group that can go; else one that cannot (a rejection). */
        target = empty != NULL && e2e_rng_chance(&s->rng, 80) ? empty : g[e2e_rng_below(&s->rng, n)];
        c = cmd_init(s, a, BG_CMD_DELETE_BILLING_GROUP, actor_of(s, a));
        c->payload.delete_billing_group.billing_group_id = target->id;
        decide(s, a, c, now, fn, opaque);
}

static void op_delete_project(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        const acct_project_t *p[MAXL];
        size_t n = live_projects(a, p, MAXL);
        bg_command_t *c;

        if (n < 3)
                return;
        c = cmd_init(s, a, BG_CMD_DELETE_PROJECT, actor_of(s, a));
        c->payload.delete_project.project_id = p[e2e_rng_below(&s->rng, n)]->id;
        decide(s, a, c, now, fn, opaque);
}

static void op_set_primary(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        const acct_group_t *g = pick_group(s, a);
        bg_command_t *c;

        if (g == NULL)
                return;
        c = cmd_init(s, a, BG_CMD_SET_PRIMARY_BILLING_GROUP, actor_of(s, a));
        c->payload.set_primary_billing_group.billing_group_id = g->id;
        decide(s, a, c, now, fn, opaque);
}

/* Commands the domain must refuse (the prediction says which code). */
static void op_invalid(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        unsigned k = (unsigned)e2e_rng_below(&s->rng, 8);
        const acct_project_t *p = pick_project(s, a);
        const acct_group_t *g = pick_group(s, a);
        bg_command_t *c;

        switch (k) {
        case 0:                         /* a viewer creates a group */
                op_create_group(s, a, now, NULL, a->viewer, fn, opaque);
                return;
        case 1: {                       /* a credit claimed twice */
                const acct_credit_t *cr = NULL;
                for (size_t i = 0; i < acct_credit_count(a->st) && cr == NULL; i++)
                        if (acct_credit_at(a->st, i)->claimed)
                                cr = acct_credit_at(a->st, i);
                if (cr == NULL || g == NULL)
                        break;
                c = cmd_init(s, a, BG_CMD_CLAIM_CREDIT, a->owner);
                c->payload.claim_credit.billing_group_id = g->id;
                snprintf(c->payload.claim_credit.code, sizeof(c->payload.claim_credit.code), "%s",
                         cr->code);
                decide(s, a, c, now, fn, opaque);
                return;
        }
        case 2:                         /* a project that does not exist */
                if (g == NULL)
                        break;
                c = cmd_init(s, a, BG_CMD_ASSIGN_PROJECTS, a->owner);
                c->payload.assign_projects.billing_group_id = g->id;
                c->payload.assign_projects.n_projects = 1;
                snprintf(c->payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE,
                         "nosuch-%d", (int)e2e_rng_below(&s->rng, 1000));
                decide(s, a, c, now, fn, opaque);
                return;
        case 3:                         /* a stale expected_version */
                if (g == NULL)
                        break;
                c = cmd_init(s, a, BG_CMD_UPDATE_BILLING_GROUP, a->owner);
                c->payload.update_billing_group.billing_group_id = g->id;
                c->payload.update_billing_group.has_name = true;
                snprintf(c->payload.update_billing_group.name, BG_NAME_SIZE, "Stale");
                c->has_expected_version = true;
                c->expected_version = acct_version(a->st) - 1;
                decide(s, a, c, now, fn, opaque);
                return;
        case 4:                         /* a malformed project name */
                c = cmd_init(s, a, BG_CMD_CREATE_PROJECT, a->owner);
                e2e_rng_uuid(&s->rng, &c->payload.create_project.project_id);
                snprintf(c->payload.create_project.name, BG_PROJECT_NAME_SIZE, "Bad_Name");
                decide(s, a, c, now, fn, opaque);
                return;
        case 5:                         /* a live project's name again */
                if (p == NULL)
                        break;
                c = cmd_init(s, a, BG_CMD_CREATE_PROJECT, a->owner);
                e2e_rng_uuid(&s->rng, &c->payload.create_project.project_id);
                snprintf(c->payload.create_project.name, BG_PROJECT_NAME_SIZE, "%s", p->name);
                decide(s, a, c, now, fn, opaque);
                return;
        case 6:                         /* a service that is not trusted */
                c = cmd_init(s, a, BG_CMD_ISSUE_CREDIT, "service:rogue");
                snprintf(c->payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "ROGUE");
                c->payload.issue_credit.value = 1000000;
                c->payload.issue_credit.currency = BG_CURRENCY_EUR;
                c->payload.issue_credit.type = BG_CREDIT_TYPE_OTHER;
                c->payload.issue_credit.start_time = now;
                decide(s, a, c, now, fn, opaque);
                return;
        default: {                      /* the primary group cannot be deleted */
                bg_uuid_t primary;
                if (!acct_primary_group(a->st, &primary))
                        break;
                c = cmd_init(s, a, BG_CMD_DELETE_BILLING_GROUP, a->owner);
                c->payload.delete_billing_group.billing_group_id = primary;
                decide(s, a, c, now, fn, opaque);
                return;
        }
        }
        /* Nothing to aim at: a command for an account that does not exist. */
        {
                acc_t ghost = *a;
                e2e_rng_uuid(&s->rng, &ghost.id);
                ghost.st = acct_state_new();
                if (ghost.st == NULL)
                        die("out of memory");
                ghost.last_accepted = NULL;
                c = cmd_init(s, &ghost, BG_CMD_SET_PRIMARY_BILLING_GROUP, a->owner);
                e2e_rng_uuid(&s->rng, &c->payload.set_primary_billing_group.billing_group_id);
                decide(s, &ghost, c, now, fn, opaque);
                acct_state_destroy(ghost.st);
        }
}

static void setup_account(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        bg_command_t *c = cmd_init(s, a, BG_CMD_CREATE_ACCOUNT, a->owner);
        bg_cmd_role_t *r;
        const acct_group_t *g1;
        bg_uuid_t g1id;
        int nproj = 3 + (int)e2e_rng_below(&s->rng, 4), ncred = 1 + (int)e2e_rng_below(&s->rng, 3);

        snprintf(c->payload.create_account.name, BG_NAME_SIZE, "E2E account %d", (int)(a - s->acc));
        snprintf(c->payload.create_account.owner, BG_EMAIL_SIZE, "%s", a->owner);
        decide(s, a, c, now, fn, opaque);

        op_create_group(s, a, now, NULL, a->owner, fn, opaque);
        g1 = acct_group_at(a->st, 0);
        g1id = g1->id;
        c = cmd_init(s, a, BG_CMD_SET_PRIMARY_BILLING_GROUP, a->owner);
        c->payload.set_primary_billing_group.billing_group_id = g1id;
        decide(s, a, c, now, fn, opaque);
        op_create_group(s, a, now, e2e_rng_chance(&s->rng, 50) ? &g1id : NULL, a->owner, fn,
                        opaque);
        if (e2e_rng_chance(&s->rng, 40))
                op_create_group(s, a, now, NULL, a->owner, fn, opaque);

        c = cmd_init(s, a, BG_CMD_GRANT_ROLE, a->owner);
        r = &c->payload.grant_role;
        snprintf(r->user, sizeof(r->user), "%s", a->ba);
        r->role = BG_ROLE_BILLING_ADMIN;
        decide(s, a, c, now, fn, opaque);
        c = cmd_init(s, a, BG_CMD_GRANT_ROLE, a->owner);
        r = &c->payload.grant_role;
        snprintf(r->user, sizeof(r->user), "%s", a->viewer);
        r->role = BG_ROLE_VIEWER;
        decide(s, a, c, now, fn, opaque);

        for (int i = 0; i < nproj; i++)
                op_create_project(s, a, now, i % 2 ? a->ba : a->owner, fn, opaque);
        for (int i = 0; i < ncred; i++)
                op_credit(s, a, now, fn, opaque);
}

static void random_op(e2e_scen_t *s, acc_t *a, int64_t now, e2e_cmd_fn fn, void *opaque) {
        unsigned w = (unsigned)e2e_rng_below(&s->rng, 100);

        if (w < 30)
                op_move(s, a, now, e2e_rng_chance(&s->rng, 10), fn, opaque);
        else if (w < 38)
                op_create_project(s, a, now, actor_of(s, a), fn, opaque);
        else if (w < 42)
                op_delete_project(s, a, now, fn, opaque);
        else if (w < 50)
                op_update_group(s, a, now, fn, opaque);
        else if (w < 56)
                op_role(s, a, now, fn, opaque);
        else if (w < 60)
                op_create_group(s, a, now, NULL, actor_of(s, a), fn, opaque);
        else if (w < 64)
                op_delete_group(s, a, now, fn, opaque);
        else if (w < 67)
                op_set_primary(s, a, now, fn, opaque);
        else if (w < 76)
                op_credit(s, a, now, fn, opaque);
        else if (w < 90)
                op_invalid(s, a, now, fn, opaque);
        else if (w < 95 && a->last_accepted != NULL)
                /* The same command id again: answered duplicate, no new event. */
                decide(s, a, a->last_accepted, now, fn, opaque);
        else
                op_move(s, a, now, true, fn, opaque);
}

void e2e_scen_commands(e2e_scen_t *s, int round, int64_t now_ms, e2e_cmd_fn fn, void *opaque) {
        /* Accounts interleave: commands of one account stay in order (one partition),
         * different accounts run in parallel on the commands service. */
        if (round == 0) {
                for (size_t i = 0; i < s->nacc; i++)
                        setup_account(s, &s->acc[i], now_ms, fn, opaque);
                return;
        }
        for (int k = 0; k < 5; k++)
                for (size_t i = 0; i < s->nacc; i++)
                        if (k < 2 || e2e_rng_chance(&s->rng, 50))
                                random_op(s, &s->acc[(i + (size_t)round) % s->nacc], now_ms, fn,
                                          opaque);
}

/* ------------------------------------------------------------------ usage */

static e2e_usage_t *new_usage(e2e_scen_t *s) {
        e2e_usage_t *u;

        if (s->nu == s->capu) {
                s->capu = s->capu ? s->capu * 2 : 1024;
                s->u = xrealloc(s->u, s->capu * sizeof(*s->u));
        }
        u = &s->u[s->nu++];
        memset(u, 0, sizeof(*u));
        return u;
}

static void send(e2e_scen_t *s, e2e_usage_t *u, e2e_usage_fn fn, void *opaque) {
        if (u->sent > 0)
                s->stats.usage_repeats++;
        u->sent++;
        s->stats.usage_sent++;
        fn(opaque, u);
}

/* A billed record sent before, at random (NULL when there is none). */
static e2e_usage_t *pick_billed(e2e_scen_t *s, int kind) {
        for (int tries = 0; tries < 20 && s->nu > 0; tries++) {
                e2e_usage_t *u = &s->u[e2e_rng_below(&s->urng, s->nu)];
                if (u->kind == kind && u->sent > 0)
                        return u;
        }
        return NULL;
}

void e2e_scen_usage(e2e_scen_t *s, int round, int64_t lo_ms, e2e_now_fn now, e2e_usage_fn fn,
                    void *opaque) {
        int n = s->conf.usage_per_round;

        for (int k = 0; k < n; k++) {
                acc_t *a = &s->acc[e2e_rng_below(&s->urng, s->nacc)];
                size_t np = acct_project_count(a->st);
                const acct_project_t *p = np ? acct_project_at(a->st, e2e_rng_below(&s->urng, np)) :
                                               NULL;
                e2e_usage_t *u;
                unsigned r = (unsigned)e2e_rng_below(&s->urng, 1000);
                int64_t hi;

                /* Deleted projects: mostly another one (a few records still go to them). */
                if (p != NULL && p->deleted && e2e_rng_chance(&s->urng, 70))
                        p = acct_project_at(a->st, e2e_rng_below(&s->urng, np));
                if (p == NULL)
                        continue;
                u = new_usage(s);
                u->round = round;
                u->account = a->id;
                u->project_id = p->id;
                u->group = p->billing_group_id;
                u->currency = (uint8_t)acct_find_group(a->st, &p->billing_group_id)
                                      ->billing_currency;
                u->service = (uint8_t)e2e_rng_below(&s->urng, e2e_n_services);
                u->line_type = CODEC_LINE_SERVICE_CHARGE;
                if (r >= 900)
                        u->line_type = r < 950 ? CODEC_LINE_SUPPORT_CHARGE : CODEC_LINE_EXTRA_CHARGE;
                if (e2e_rng_chance(&s->urng, 20)) {
                        u->has_amount = true;
                        u->amount = (int64_t)(1 + e2e_rng_below(&s->urng, 50000000));
                        u->quantity = (int64_t)(1 + e2e_rng_below(&s->urng, 10000000));
                } else {
                        u->quantity = (int64_t)(1 + e2e_rng_below(&s->urng, 20000000));
                        u->unit_price = (int64_t)(1 + e2e_rng_below(&s->urng, 5000000));
                }
                if (p->deleted) {
                        u->kind = E2E_U_DELETED;
                } else if (r < 10) {
                        u->kind = E2E_U_UNKNOWN;
                        e2e_rng_uuid(&s->urng, &u->project_id);
                        memset(&u->group, 0, sizeof(u->group));
                } else if (r < 20) {
                        u->kind = E2E_U_CURRENCY;
                        u->currency = (uint8_t)(u->currency == BG_CURRENCY_CHF ? BG_CURRENCY_NOK :
                                                BG_CURRENCY_CHF);
                } else if (r < 60) {
                        u->kind = E2E_U_LATE;
                } else {
                        u->kind = E2E_U_BILL;
                }
                e2e_rng_uuid(&s->urng, &u->usage_id);
                /* Stamped between the round's results and now (the real clock): after the
                 * round's events, before the next round's. */
                while ((hi = now()) < lo_ms + 2) {
                        struct timespec ts = {0, 1000000};
                        nanosleep(&ts, NULL);
                }
                u->begin = lo_ms + (int64_t)e2e_rng_below(&s->urng, (uint64_t)(hi - 1 - lo_ms));
                u->end = u->begin + (int64_t)e2e_rng_below(&s->urng, 60000);
                if (u->begin > s->max_begin)
                        s->max_begin = u->begin;
                s->stats.usage_distinct++;
                s->stats.usage_by_kind[u->kind]++;
                if (u->kind != E2E_U_LATE)
                        send(s, u, fn, opaque);
                /* Repeats of billed records, now and then. */
                if (e2e_rng_chance(&s->urng, 3)) {
                        e2e_usage_t *d = pick_billed(s, E2E_U_BILL);
                        if (d != NULL)
                                send(s, d, fn, opaque);
                }
        }
}

void e2e_scen_late(e2e_scen_t *s, e2e_usage_fn fn, void *opaque) {
        size_t n = s->nu;

        for (size_t i = 0; i < n; i++) {
                e2e_usage_t *u = &s->u[i];
                if (u->kind == E2E_U_LATE) {
                        send(s, u, fn, opaque);
                        if (e2e_rng_chance(&s->urng, 20))
                                send(s, u, fn, opaque);
                } else if (u->kind == E2E_U_BILL && e2e_rng_chance(&s->urng, 2)) {
                        send(s, u, fn, opaque);         /* billed before the month closed */
                }
        }
}

void e2e_usage_to_codec(const e2e_usage_t *u, codec_usage_t *out) {
        const char *svc = e2e_services[u->service];

        memset(out, 0, offsetof(codec_usage_t, tags));
        out->usage_id = u->usage_id;
        out->project_id = u->project_id;
        snprintf(out->service_name, sizeof(out->service_name), "%s", svc);
        snprintf(out->service_type, sizeof(out->service_type), "%.*s",
                 (int)strcspn(svc, "-"), svc);
        snprintf(out->service_plan, sizeof(out->service_plan), "business-4");
        out->line_type = (codec_line_type_t)u->line_type;
        out->quantity = u->quantity;
        snprintf(out->unit, sizeof(out->unit), "hour");
        out->has_unit_price = !u->has_amount;
        out->unit_price = u->has_amount ? 0 : u->unit_price;
        out->has_amount = u->has_amount;
        out->amount = u->amount;
        out->currency = (bg_currency_t)u->currency;
        out->timestamp_begin = u->begin;
        out->timestamp_end = u->end;
        out->n_tags = 1;
        snprintf(out->tags[0].key, sizeof(out->tags[0].key), "round");
        snprintf(out->tags[0].value, sizeof(out->tags[0].value), "%d", u->round);
}

/* ------------------------------------------------------------------ read-model rows */

static void lower(char *dst, size_t size, const char *src) {
        size_t i;

        for (i = 0; i + 1 < size && src[i]; i++)
                dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
        dst[i] = '\0';
}

void e2e_scen_rm_rows(const e2e_scen_t *s, const char *table, e2e_strs_t *out) {
        for (size_t i = 0; i < s->nacc; i++) {
                const acct_state_t *st = s->acc[i].st;
                char acc[BG_UUID_STR_LEN + 1], id[BG_UUID_STR_LEN + 1], gid[BG_UUID_STR_LEN + 1];
                char pid[BG_UUID_STR_LEN + 1];
                bg_uuid_t primary;

                if (!acct_exists(st))
                        continue;
                bg_uuid_format(&s->acc[i].id, acc);
                if (strcmp(table, "accounts") == 0) {
                        bool has = acct_primary_group(st, &primary);
                        if (has)
                                bg_uuid_format(&primary, id);
                        e2e_strs_add(out, "%s|%s|%s|%s", acc, acct_name(st), s->acc[i].owner,
                                     has ? id : "-");
                } else if (strcmp(table, "account_members") == 0) {
                        for (size_t k = 0; k < acct_member_count(st); k++) {
                                const acct_member_t *m = acct_member_at(st, k);
                                char email[BG_EMAIL_SIZE];
                                lower(email, sizeof(email), m->user);
                                e2e_strs_add(out, "%s|%s|%s", acc, email, bg_role_name(m->role));
                        }
                } else if (strcmp(table, "billing_groups") == 0) {
                        static bg_profile_t prof;       /* ~12 KiB: not on the stack */
                        for (size_t k = 0; k < acct_group_count(st); k++) {
                                const acct_group_t *g = acct_group_at(st, k);
                                acct_group_profile(g, &prof);
                                bg_uuid_format(&g->id, gid);
                                e2e_strs_add(out, "%s|%s|%s|%s|%s|%s|%s|%s", gid, acc, g->name,
                                             g->deleted ? "deleted" : "active",
                                             bg_currency_name(prof.billing_currency),
                                             bg_payment_method_name(prof.payment_method),
                                             prof.company, prof.country_code);
                        }
                } else if (strcmp(table, "projects") == 0) {
                        for (size_t k = 0; k < acct_project_count(st); k++) {
                                const acct_project_t *p = acct_project_at(st, k);
                                bg_uuid_format(&p->id, pid);
                                bg_uuid_format(&p->billing_group_id, gid);
                                e2e_strs_add(out, "%s|%s|%s|%s|%s", pid, acc, p->name, gid,
                                             p->deleted ? "deleted" : "active");
                        }
                } else if (strcmp(table, "credits") == 0) {
                        for (size_t k = 0; k < acct_credit_count(st); k++) {
                                const acct_credit_t *c = acct_credit_at(st, k);
                                char exp[24] = "-";
                                if (c->has_expire_time)
                                        snprintf(exp, sizeof(exp), "%lld", (long long)c->expire_time);
                                strcpy(gid, "-");
                                strcpy(pid, "-");
                                if (c->claimed)
                                        bg_uuid_format(&c->billing_group_id, gid);
                                if (c->claimed && c->has_project_id)
                                        bg_uuid_format(&c->project_id, pid);
                                e2e_strs_add(out, "%s|%s|%s|%s|%lld|%lld|%s|%s|%s", acc, c->code,
                                             bg_credit_type_name(c->type),
                                             bg_currency_name(c->currency), (long long)c->value,
                                             (long long)c->start_time, exp, gid, pid);
                        }
                } else if (strcmp(table, "account_seq") == 0 || strcmp(table, "audit_log") == 0) {
                        e2e_strs_add(out, "%s|%lld", acc, (long long)acct_version(st));
                } else if (strcmp(table, "project_moves") == 0) {
                        if (s->acc[i].moves > 0)
                                e2e_strs_add(out, "%s|%zu", acc, s->acc[i].moves);
                } else {
                        die("unknown table %s", table);
                }
        }
}
