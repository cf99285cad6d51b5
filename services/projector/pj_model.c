#include "pj_model.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_uuidmap.h"
#include "pj_describe.h"

/* ------------------------------------------------------------------ column lists */

const char *const PJ_COPY_ACCOUNTS =
        "COPY accounts (account_id, name, owner, primary_billing_group_id, created_at) FROM STDIN (FORMAT binary)";
#define PROFILE_COLS "billing_currency, payment_method, billing_emails, billing_contact_emails, " \
                     "billing_extra_text, card_id, company, address_lines, city, state, "        \
                     "zip_code, country_code, vat_id"
const char *const PJ_COPY_GROUPS =
        "COPY billing_groups (billing_group_id, account_id, name, status, " PROFILE_COLS
        ", copied_from, created_at, updated_at, deleted_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_PROJECTS =
        "COPY projects (project_id, account_id, name, billing_group_id, status, created_at, "
        "updated_at, deleted_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_CREDITS =
        "COPY credits (account_id, code, credit_type, currency, value_micros, remaining_micros, "
        "start_time, expire_time, issued_at, billing_group_id, project_id, claimed_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_AUDIT =
        "COPY audit_log (account_id, seq, log_entry_id, time, actor, event_type, event_desc, "
        "billing_group_id, previous_billing_group_id, project_id, project_name, command_id) "
        "FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_MOVES =
        "COPY project_moves (account_id, seq, project_id, from_billing_group_id, "
        "to_billing_group_id, moved_at, actor) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_ACCOUNTS =
        "COPY stage_accounts (account_id, primary_billing_group_id) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_GROUPS =
        "COPY stage_billing_groups (billing_group_id, set_name, name, set_profile, " PROFILE_COLS
        ", set_deleted, deleted_at, updated_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_PROJECTS =
        "COPY stage_projects (project_id, set_group, billing_group_id, set_deleted, deleted_at, "
        "updated_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_CREDITS =
        "COPY stage_credits (account_id, code, billing_group_id, project_id, claimed_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_MEMBERS =
        "COPY stage_members (account_id, user_key, user_email, role, granted_at) FROM STDIN (FORMAT binary)";
const char *const PJ_COPY_ST_SEQ =
        "COPY stage_seq (account_id, seq, last_hash, updated_at) FROM STDIN (FORMAT binary)";

/* ------------------------------------------------------------------ state */

typedef struct pj_acct_s {
        int64_t pa_seq;                 /* last applied, 0: none */
        uint8_t pa_hash[BG_HASH_SIZE];
        int64_t pa_updated_at;
        bool pa_dirty;                  /* in m_dirty: its seq goes to stage_seq */
        bg_uuid_t pa_id;
} pj_acct_t;

typedef struct wacct_s {
        bg_uuid_t wa_id;
        bool wa_inserted, wa_set_primary, wa_has_primary;
        char *wa_name, *wa_owner;
        bg_uuid_t wa_primary;
        int64_t wa_created_at;
} wacct_t;

/* A run of COPY binary fields, owned. */
typedef struct frag_s {
        char *fr_data;
        size_t fr_len;
} frag_t;

typedef struct wgroup_s {
        bg_uuid_t wg_id, wg_account;
        bool wg_inserted, wg_set_name, wg_set_profile, wg_set_deleted, wg_has_copied_from;
        char *wg_name;
        frag_t wg_profile;              /* the 13 profile columns, COPY binary */
        bg_uuid_t wg_copied_from;
        int64_t wg_created_at, wg_updated_at, wg_deleted_at;
} wgroup_t;

typedef struct wproj_s {
        bg_uuid_t wp_id, wp_account, wp_group;
        bool wp_inserted, wp_set_group, wp_set_deleted;
        char wp_name[BG_PROJECT_NAME_SIZE];
        int64_t wp_created_at, wp_updated_at, wp_deleted_at;
} wproj_t;

typedef struct wmember_s {
        bg_uuid_t wm_account;
        char wm_key[BG_EMAIL_SIZE];     /* lower-case e-mail */
        char *wm_email;                 /* spelling, when the batch made the user a member */
        bg_role_t wm_role;              /* NONE: not a member at the end of the batch */
        int64_t wm_granted_at;
} wmember_t;

struct pj_model_s {
        bg_uuidmap_t *m_accounts;       /* id -> pj_acct_t */
        bg_uuidmap_t *m_groups;         /* id -> char *name */
        bg_uuidmap_t *m_projects;       /* id -> char *name */

        bg_uuidmap_t *m_wacct;          /* the batch's rows, by key */
        bg_uuidmap_t *m_wgroup;
        bg_uuidmap_t *m_wproj;
        bg_uuidmap_t *m_wmember;        /* key: hash of (account, lower(e-mail)) */
        pj_acct_t **m_dirty;
        size_t m_ndirty, m_capdirty;
        pj_writes_t m_w;
        bool m_oom;

        bg_uuidmap_t *m_need[3];        /* pre-pass: ids to look up, value (void *)1 */
        pgx_buf_t m_need_buf[3];
        pgx_buf_t m_tmp;
};

static void *const PRESENT = (void *)1;

/* ------------------------------------------------------------------ helpers */

static void free_map_values(bg_uuidmap_t *map, void (*fn)(void *)) {
        size_t pos = 0;
        void *v;

        while (map != NULL && bg_uuidmap_next(map, &pos, NULL, &v))
                fn(v);
}

static void wacct_free(void *p) {
        wacct_t *w = p;
        free(w->wa_name);
        free(w->wa_owner);
        free(w);
}

static void wgroup_free(void *p) {
        wgroup_t *w = p;
        free(w->wg_name);
        free(w->wg_profile.fr_data);
        free(w);
}

static void wmember_free(void *p) {
        wmember_t *w = p;
        free(w->wm_email);
        free(w);
}

/* Destroys @*map after freeing its values with @fn, and makes a new empty one. */
static bool map_renew(bg_uuidmap_t **map, void (*fn)(void *)) {
        if (fn != NULL)
                free_map_values(*map, fn);
        bg_uuidmap_destroy(*map);
        *map = bg_uuidmap_new();
        return *map != NULL;
}

static void writes_reset(pj_writes_t *w) {
        pgx_buf_reset(&w->pw_accounts);
        pgx_buf_reset(&w->pw_groups);
        pgx_buf_reset(&w->pw_projects);
        pgx_buf_reset(&w->pw_credits);
        pgx_buf_reset(&w->pw_audit);
        pgx_buf_reset(&w->pw_moves);
        pgx_buf_reset(&w->pw_st_accounts);
        pgx_buf_reset(&w->pw_st_groups);
        pgx_buf_reset(&w->pw_st_projects);
        pgx_buf_reset(&w->pw_st_credits);
        pgx_buf_reset(&w->pw_st_members);
        pgx_buf_reset(&w->pw_st_seq);
        w->pw_events = 0;
}

static void writes_free(pj_writes_t *w) {
        pgx_buf_free(&w->pw_accounts);
        pgx_buf_free(&w->pw_groups);
        pgx_buf_free(&w->pw_projects);
        pgx_buf_free(&w->pw_credits);
        pgx_buf_free(&w->pw_audit);
        pgx_buf_free(&w->pw_moves);
        pgx_buf_free(&w->pw_st_accounts);
        pgx_buf_free(&w->pw_st_groups);
        pgx_buf_free(&w->pw_st_projects);
        pgx_buf_free(&w->pw_st_credits);
        pgx_buf_free(&w->pw_st_members);
        pgx_buf_free(&w->pw_st_seq);
}

static bool writes_oom(const pj_writes_t *w) {
        return w->pw_accounts.pb_oom || w->pw_groups.pb_oom || w->pw_projects.pb_oom ||
               w->pw_credits.pb_oom || w->pw_audit.pb_oom || w->pw_moves.pb_oom ||
               w->pw_st_accounts.pb_oom || w->pw_st_groups.pb_oom ||
               w->pw_st_projects.pb_oom || w->pw_st_credits.pb_oom ||
               w->pw_st_members.pb_oom || w->pw_st_seq.pb_oom;
}

/* COPY binary field writers. */
static void f_uuid(pgx_buf_t *b, const bg_uuid_t *id) {
        pgx_bin_uuid(b, id->b);
}

static void f_uuid_opt(pgx_buf_t *b, bool has, const bg_uuid_t *id) {
        if (has)
                pgx_bin_uuid(b, id->b);
        else
                pgx_bin_null(b);
}

static void f_time_opt(pgx_buf_t *b, bool has, int64_t ms) {
        if (has)
                pgx_bin_time_ms(b, ms);
        else
                pgx_bin_null(b);
}

static char *xstrdup(pj_model_t *m, const char *s) {
        char *p = strdup(s);
        if (p == NULL)
                m->m_oom = true;
        return p;
}

#define PROFILE_FIELDS 13

/* The 13 profile columns of @p (PROFILE_COLS order), COPY binary, into @out. */
static void render_profile(pj_model_t *m, const bg_profile_t *p, frag_t *out) {
        pgx_buf_t *b = &m->m_tmp;
        const char *cur = bg_currency_name(p->billing_currency);
        const char *pay = bg_payment_method_name(p->payment_method);

        free(out->fr_data);
        out->fr_data = NULL;
        out->fr_len = 0;
        pgx_buf_reset(b);
        pgx_bin_text(b, cur ? cur : "");
        pgx_bin_text(b, pay ? pay : "");
        pgx_bin_text_array(b, &p->billing_emails[0][0], sizeof(p->billing_emails[0]),
                           p->n_billing_emails);
        pgx_bin_text_array(b, &p->billing_contact_emails[0][0],
                           sizeof(p->billing_contact_emails[0]), p->n_billing_contact_emails);
        pgx_bin_text_or_null(b, p->billing_extra_text);
        pgx_bin_text_or_null(b, p->card_id);
        pgx_bin_text_or_null(b, p->company);
        pgx_bin_text_array(b, &p->address_lines[0][0], sizeof(p->address_lines[0]),
                           p->n_address_lines);
        pgx_bin_text_or_null(b, p->city);
        pgx_bin_text_or_null(b, p->state);
        pgx_bin_text_or_null(b, p->zip_code);
        pgx_bin_text_or_null(b, p->country_code);
        pgx_bin_text_or_null(b, p->vat_id);
        if (b->pb_oom || (out->fr_data = malloc(b->pb_len)) == NULL) {
                m->m_oom = true;
                return;
        }
        memcpy(out->fr_data, b->pb_data, b->pb_len);
        out->fr_len = b->pb_len;
}

/* The profile columns of a group whose profile the batch did not change: 13 NULLs. */
static void null_profile(pgx_buf_t *b) {
        for (int i = 0; i < PROFILE_FIELDS; i++)
                pgx_bin_null(b);
}

/* ------------------------------------------------------------------ life cycle */

pj_model_t *pj_model_new(void) {
        pj_model_t *m = calloc(1, sizeof(*m));

        if (m == NULL)
                return NULL;
        m->m_accounts = bg_uuidmap_new();
        m->m_groups = bg_uuidmap_new();
        m->m_projects = bg_uuidmap_new();
        m->m_wacct = bg_uuidmap_new();
        m->m_wgroup = bg_uuidmap_new();
        m->m_wproj = bg_uuidmap_new();
        m->m_wmember = bg_uuidmap_new();
        for (int k = 0; k < 3; k++)
                m->m_need[k] = bg_uuidmap_new();
        if (!m->m_accounts || !m->m_groups || !m->m_projects || !m->m_wacct || !m->m_wgroup ||
            !m->m_wproj || !m->m_wmember || !m->m_need[0] || !m->m_need[1] || !m->m_need[2]) {
                pj_model_destroy(m);
                return NULL;
        }
        return m;
}

static void batch_clear(pj_model_t *m) {
        for (size_t i = 0; i < m->m_ndirty; i++)
                m->m_dirty[i]->pa_dirty = false;
        m->m_ndirty = 0;
        free_map_values(m->m_wacct, wacct_free);
        free_map_values(m->m_wgroup, wgroup_free);
        free_map_values(m->m_wproj, free);
        free_map_values(m->m_wmember, wmember_free);
        if (!map_renew(&m->m_wacct, NULL) || !map_renew(&m->m_wgroup, NULL) ||
            !map_renew(&m->m_wproj, NULL) || !map_renew(&m->m_wmember, NULL))
                m->m_oom = true;
        writes_reset(&m->m_w);
}

static void caches_clear(pj_model_t *m) {
        if (!map_renew(&m->m_accounts, free) || !map_renew(&m->m_groups, free) ||
            !map_renew(&m->m_projects, free))
                m->m_oom = true;
}

void pj_model_destroy(pj_model_t *m) {
        if (m == NULL)
                return;
        if (m->m_wacct && m->m_wgroup && m->m_wproj && m->m_wmember)
                batch_clear(m);
        bg_uuidmap_destroy(m->m_wacct);
        bg_uuidmap_destroy(m->m_wgroup);
        bg_uuidmap_destroy(m->m_wproj);
        bg_uuidmap_destroy(m->m_wmember);
        free_map_values(m->m_accounts, free);
        free_map_values(m->m_groups, free);
        free_map_values(m->m_projects, free);
        bg_uuidmap_destroy(m->m_accounts);
        bg_uuidmap_destroy(m->m_groups);
        bg_uuidmap_destroy(m->m_projects);
        for (int k = 0; k < 3; k++) {
                bg_uuidmap_destroy(m->m_need[k]);
                pgx_buf_free(&m->m_need_buf[k]);
        }
        writes_free(&m->m_w);
        pgx_buf_free(&m->m_tmp);
        free(m->m_dirty);
        free(m);
}

void pj_model_forget(pj_model_t *m) {
        batch_clear(m);
        caches_clear(m);
        for (int k = 0; k < 3; k++)
                if (!map_renew(&m->m_need[k], NULL))
                        m->m_oom = true;
        m->m_oom = false;
}

void pj_model_trim(pj_model_t *m, size_t max) {
        if (pj_model_cached(m) > max)
                caches_clear(m);
}

size_t pj_model_cached(const pj_model_t *m) {
        return bg_uuidmap_count(m->m_accounts) + bg_uuidmap_count(m->m_groups) +
               bg_uuidmap_count(m->m_projects);
}

/* ------------------------------------------------------------------ pre-pass */

static void need(pj_model_t *m, int kind, const bg_uuid_t *id) {
        bg_uuidmap_t *cache = kind == 0 ? m->m_accounts : kind == 1 ? m->m_groups : m->m_projects;

        if (bg_uuidmap_get(cache, id) != NULL || bg_uuidmap_get(m->m_need[kind], id) != NULL)
                return;
        if (!bg_uuidmap_put(m->m_need[kind], id, PRESENT))
                m->m_oom = true;
}

void pj_model_need(pj_model_t *m, const bg_event_t *ev) {
        need(m, 0, &ev->account_id);
        switch (ev->type) {
        case BG_EVT_BILLING_GROUP_CREATED:
                if (ev->payload.billing_group_created.has_copied_from)
                        need(m, 1, &ev->payload.billing_group_created.copied_from);
                break;
        case BG_EVT_BILLING_PROFILE_UPDATED:
                need(m, 1, &ev->payload.billing_profile_updated.billing_group_id);
                break;
        case BG_EVT_BILLING_GROUP_DELETED:
                need(m, 1, &ev->payload.billing_group_deleted.billing_group_id);
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                need(m, 1, &ev->payload.primary_billing_group_set.billing_group_id);
                if (ev->payload.primary_billing_group_set.has_previous)
                        need(m, 1, &ev->payload.primary_billing_group_set.previous);
                break;
        case BG_EVT_PROJECT_CREATED:
                need(m, 1, &ev->payload.project_created.billing_group_id);
                break;
        case BG_EVT_PROJECT_MOVED:
                need(m, 2, &ev->payload.project_moved.project_id);
                need(m, 1, &ev->payload.project_moved.from_billing_group_id);
                need(m, 1, &ev->payload.project_moved.to_billing_group_id);
                break;
        case BG_EVT_PROJECT_DELETED:
                need(m, 2, &ev->payload.project_deleted.project_id);
                need(m, 1, &ev->payload.project_deleted.billing_group_id);
                break;
        case BG_EVT_CREDIT_CLAIMED:
                need(m, 1, &ev->payload.credit_claimed.billing_group_id);
                if (ev->payload.credit_claimed.has_project_id)
                        need(m, 2, &ev->payload.credit_claimed.project_id);
                break;
        default:
                break;
        }
}

const char *pj_model_needed(pj_model_t *m, int kind) {
        pgx_buf_t *b = &m->m_need_buf[kind];
        size_t pos = 0;
        bg_uuid_t id;
        bool first = true;

        if (kind < 0 || kind > 2 || bg_uuidmap_count(m->m_need[kind]) == 0)
                return NULL;
        pgx_buf_reset(b);
        pgx_buf_putc(b, '{');
        while (bg_uuidmap_next(m->m_need[kind], &pos, &id, NULL)) {
                char text[BG_UUID_STR_LEN + 1];

                if (!first)
                        pgx_buf_putc(b, ',');
                bg_uuid_format(&id, text);
                pgx_buf_put(b, text, BG_UUID_STR_LEN);
                first = false;
        }
        pgx_buf_putc(b, '}');
        pgx_buf_putc(b, '\0');
        if (b->pb_oom) {
                m->m_oom = true;
                return NULL;
        }
        return b->pb_data;
}

static pj_acct_t *acct_put(pj_model_t *m, const bg_uuid_t *id) {
        pj_acct_t *a = bg_uuidmap_get(m->m_accounts, id);

        if (a != NULL)
                return a;
        a = calloc(1, sizeof(*a));
        if (a == NULL || !bg_uuidmap_put(m->m_accounts, id, a)) {
                free(a);
                m->m_oom = true;
                return NULL;
        }
        a->pa_id = *id;
        return a;
}

void pj_model_cache_account(pj_model_t *m, const bg_uuid_t *id, int64_t seq,
                            const uint8_t hash[BG_HASH_SIZE]) {
        pj_acct_t *a = acct_put(m, id);

        if (a == NULL)
                return;
        a->pa_seq = seq;
        memcpy(a->pa_hash, hash, BG_HASH_SIZE);
}

static void name_put(pj_model_t *m, bg_uuidmap_t *cache, const bg_uuid_t *id, const char *name) {
        char *s = xstrdup(m, name), *old;

        if (s == NULL)
                return;
        old = bg_uuidmap_get(cache, id);
        if (!bg_uuidmap_put(cache, id, s)) {
                free(s);
                m->m_oom = true;
                return;
        }
        free(old);
}

void pj_model_cache_group(pj_model_t *m, const bg_uuid_t *id, const char *name) {
        name_put(m, m->m_groups, id, name);
}

void pj_model_cache_project(pj_model_t *m, const bg_uuid_t *id, const char *name) {
        name_put(m, m->m_projects, id, name);
}

void pj_model_need_done(pj_model_t *m) {
        size_t pos = 0;
        bg_uuid_t id;

        /* Accounts the tables do not know start empty. */
        while (bg_uuidmap_next(m->m_need[0], &pos, &id, NULL))
                if (bg_uuidmap_get(m->m_accounts, &id) == NULL)
                        acct_put(m, &id);
        for (int k = 0; k < 3; k++)
                if (!map_renew(&m->m_need[k], NULL))
                        m->m_oom = true;
}

/* ------------------------------------------------------------------ the batch's rows */

static void *wrow(pj_model_t *m, bg_uuidmap_t *map, const bg_uuid_t *key, size_t size) {
        void *w = bg_uuidmap_get(map, key);

        if (w != NULL)
                return w;
        w = calloc(1, size);
        if (w == NULL || !bg_uuidmap_put(map, key, w)) {
                free(w);
                m->m_oom = true;
                return NULL;
        }
        return w;
}

static wacct_t *wacct(pj_model_t *m, const bg_uuid_t *id) {
        wacct_t *w = wrow(m, m->m_wacct, id, sizeof(*w));
        if (w != NULL)
                w->wa_id = *id;
        return w;
}

static wgroup_t *wgroup(pj_model_t *m, const bg_uuid_t *id) {
        wgroup_t *w = wrow(m, m->m_wgroup, id, sizeof(*w));
        if (w != NULL)
                w->wg_id = *id;
        return w;
}

static wproj_t *wproj(pj_model_t *m, const bg_uuid_t *id) {
        wproj_t *w = wrow(m, m->m_wproj, id, sizeof(*w));
        if (w != NULL)
                w->wp_id = *id;
        return w;
}

/* Members are keyed by (account, lower-case e-mail): the first 16 bytes of their SHA-256
 * stand in for a UUID key. */
static wmember_t *wmember(pj_model_t *m, const bg_uuid_t *account, const char *user) {
        unsigned char buf[16 + BG_EMAIL_SIZE], digest[SHA256_DIGEST_LENGTH];
        char lower[BG_EMAIL_SIZE];
        size_t n = 0;
        bg_uuid_t key;
        wmember_t *w;

        for (; user[n] != '\0' && n < BG_EMAIL_SIZE - 1; n++)
                lower[n] = (char)tolower((unsigned char)user[n]);
        lower[n] = '\0';
        memcpy(buf, account->b, 16);
        memcpy(buf + 16, lower, n);
        SHA256(buf, 16 + n, digest);
        memcpy(key.b, digest, 16);
        w = wrow(m, m->m_wmember, &key, sizeof(*w));
        if (w != NULL && w->wm_key[0] == '\0') {
                w->wm_account = *account;
                memcpy(w->wm_key, lower, n + 1);
        }
        return w;
}

static void member_grant(pj_model_t *m, const bg_uuid_t *account, const char *user,
                         bg_role_t role, bool new_member, int64_t at) {
        wmember_t *w = wmember(m, account, user);

        if (w == NULL)
                return;
        if (new_member) {
                free(w->wm_email);
                w->wm_email = xstrdup(m, user);
        }
        w->wm_role = role;
        w->wm_granted_at = at;
}

static void dirty(pj_model_t *m, pj_acct_t *a) {
        if (a->pa_dirty)
                return;
        if (m->m_ndirty == m->m_capdirty) {
                size_t cap = m->m_capdirty ? m->m_capdirty * 2 : 256;
                pj_acct_t **p = realloc(m->m_dirty, cap * sizeof(*p));
                if (p == NULL) {
                        m->m_oom = true;
                        return;
                }
                m->m_dirty = p;
                m->m_capdirty = cap;
        }
        m->m_dirty[m->m_ndirty++] = a;
        a->pa_dirty = true;
}

/* ------------------------------------------------------------------ applying */

static const char *group_name(void *opaque, const bg_uuid_t *id) {
        return bg_uuidmap_get(((pj_model_t *)opaque)->m_groups, id);
}

static const char *project_name(void *opaque, const bg_uuid_t *id) {
        return bg_uuidmap_get(((pj_model_t *)opaque)->m_projects, id);
}

/* The audit row of @ev; descriptions use the names before @ev applies. */
static void audit_row(pj_model_t *m, const bg_event_t *ev) {
        pgx_buf_t *b = &m->m_w.pw_audit;
        const pj_names_t names = {group_name, project_name, m};
        const bg_uuid_t *group = NULL, *previous = NULL, *project = NULL;
        const char *pname = NULL;
        char desc[PJ_DESC_SIZE];

        pj_describe(ev, &names, desc);
        switch (ev->type) {
        case BG_EVT_BILLING_GROUP_CREATED:
                group = &ev->payload.billing_group_created.billing_group_id;
                break;
        case BG_EVT_BILLING_GROUP_RENAMED:
                group = &ev->payload.billing_group_renamed.billing_group_id;
                break;
        case BG_EVT_BILLING_PROFILE_UPDATED:
                group = &ev->payload.billing_profile_updated.billing_group_id;
                break;
        case BG_EVT_BILLING_GROUP_DELETED:
                group = &ev->payload.billing_group_deleted.billing_group_id;
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                group = &ev->payload.primary_billing_group_set.billing_group_id;
                if (ev->payload.primary_billing_group_set.has_previous)
                        previous = &ev->payload.primary_billing_group_set.previous;
                break;
        case BG_EVT_PROJECT_CREATED:
                group = &ev->payload.project_created.billing_group_id;
                project = &ev->payload.project_created.project_id;
                pname = ev->payload.project_created.name;
                break;
        case BG_EVT_PROJECT_MOVED:
                group = &ev->payload.project_moved.to_billing_group_id;
                previous = &ev->payload.project_moved.from_billing_group_id;
                project = &ev->payload.project_moved.project_id;
                break;
        case BG_EVT_PROJECT_DELETED:
                group = &ev->payload.project_deleted.billing_group_id;
                project = &ev->payload.project_deleted.project_id;
                break;
        case BG_EVT_CREDIT_CLAIMED:
                group = &ev->payload.credit_claimed.billing_group_id;
                if (ev->payload.credit_claimed.has_project_id)
                        project = &ev->payload.credit_claimed.project_id;
                break;
        default:
                break;
        }
        if (project != NULL && pname == NULL)
                pname = project_name(m, project);

        pgx_bin_row(b, 12);
        f_uuid(b, &ev->account_id);
        pgx_bin_int8(b, ev->seq);
        f_uuid(b, &ev->event_id);
        pgx_bin_time_ms(b, ev->occurred_at);
        pgx_bin_text(b, ev->actor);
        pgx_bin_text(b, bg_event_type_name(ev->type));
        pgx_bin_text(b, desc);
        f_uuid_opt(b, group != NULL, group);
        f_uuid_opt(b, previous != NULL, previous);
        f_uuid_opt(b, project != NULL, project);
        pgx_bin_text_or_null(b, pname);
        f_uuid(b, &ev->command_id);
}

static void apply_account_created(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_account_created_t *p = &ev->payload.account_created;
        wacct_t *w = wacct(m, &ev->account_id);

        if (w == NULL)
                return;
        w->wa_inserted = true;
        free(w->wa_name);
        free(w->wa_owner);
        w->wa_name = xstrdup(m, p->name);
        w->wa_owner = xstrdup(m, p->owner);
        w->wa_created_at = ev->occurred_at;
        member_grant(m, &ev->account_id, p->owner, BG_ROLE_ADMIN, true, ev->occurred_at);
}

static void apply_group_created(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_billing_group_created_t *p = &ev->payload.billing_group_created;
        wgroup_t *w = wgroup(m, &p->billing_group_id);

        if (w == NULL)
                return;
        w->wg_inserted = true;
        w->wg_account = ev->account_id;
        free(w->wg_name);
        w->wg_name = xstrdup(m, p->name);
        render_profile(m, &p->profile, &w->wg_profile);
        w->wg_has_copied_from = p->has_copied_from;
        w->wg_copied_from = p->copied_from;
        w->wg_created_at = w->wg_updated_at = ev->occurred_at;
        pj_model_cache_group(m, &p->billing_group_id, p->name);
}

static void apply_group_renamed(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_billing_group_renamed_t *p = &ev->payload.billing_group_renamed;
        wgroup_t *w = wgroup(m, &p->billing_group_id);

        if (w == NULL)
                return;
        w->wg_set_name = true;
        free(w->wg_name);
        w->wg_name = xstrdup(m, p->name);
        w->wg_updated_at = ev->occurred_at;
        pj_model_cache_group(m, &p->billing_group_id, p->name);
}

static void apply_profile_updated(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_billing_profile_updated_t *p = &ev->payload.billing_profile_updated;
        wgroup_t *w = wgroup(m, &p->billing_group_id);

        if (w == NULL)
                return;
        w->wg_set_profile = true;
        render_profile(m, &p->profile, &w->wg_profile);
        w->wg_updated_at = ev->occurred_at;
}

static void apply_group_deleted(pj_model_t *m, const bg_event_t *ev) {
        wgroup_t *w = wgroup(m, &ev->payload.billing_group_deleted.billing_group_id);

        if (w == NULL)
                return;
        w->wg_set_deleted = true;
        w->wg_deleted_at = w->wg_updated_at = ev->occurred_at;
}

static void apply_primary_set(pj_model_t *m, const bg_event_t *ev) {
        wacct_t *w = wacct(m, &ev->account_id);

        if (w == NULL)
                return;
        w->wa_set_primary = true;
        w->wa_has_primary = true;
        w->wa_primary = ev->payload.primary_billing_group_set.billing_group_id;
}

static void apply_project_created(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_project_created_t *p = &ev->payload.project_created;
        wproj_t *w = wproj(m, &p->project_id);

        if (w == NULL)
                return;
        w->wp_inserted = true;
        w->wp_account = ev->account_id;
        w->wp_group = p->billing_group_id;
        memcpy(w->wp_name, p->name, sizeof(w->wp_name));
        w->wp_created_at = w->wp_updated_at = ev->occurred_at;
        pj_model_cache_project(m, &p->project_id, p->name);
}

static void apply_project_moved(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_project_moved_t *p = &ev->payload.project_moved;
        wproj_t *w = wproj(m, &p->project_id);
        pgx_buf_t *b = &m->m_w.pw_moves;

        if (w == NULL)
                return;
        w->wp_set_group = true;
        w->wp_group = p->to_billing_group_id;
        w->wp_updated_at = ev->occurred_at;

        pgx_bin_row(b, 7);
        f_uuid(b, &ev->account_id);
        pgx_bin_int8(b, ev->seq);
        f_uuid(b, &p->project_id);
        f_uuid(b, &p->from_billing_group_id);
        f_uuid(b, &p->to_billing_group_id);
        pgx_bin_time_ms(b, ev->occurred_at);
        pgx_bin_text(b, ev->actor);
}

static void apply_project_deleted(pj_model_t *m, const bg_event_t *ev) {
        wproj_t *w = wproj(m, &ev->payload.project_deleted.project_id);

        if (w == NULL)
                return;
        w->wp_set_deleted = true;
        w->wp_deleted_at = w->wp_updated_at = ev->occurred_at;
}

static void apply_credit_issued(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_credit_issued_t *p = &ev->payload.credit_issued;
        pgx_buf_t *b = &m->m_w.pw_credits;
        const char *type = bg_credit_type_name(p->type), *cur = bg_currency_name(p->currency);

        pgx_bin_row(b, 12);
        f_uuid(b, &ev->account_id);
        pgx_bin_text(b, p->code);
        pgx_bin_text(b, type ? type : "");
        pgx_bin_text(b, cur ? cur : "");
        pgx_bin_int8(b, p->value);
        pgx_bin_int8(b, p->value);             /* remaining: nothing consumed yet */
        pgx_bin_time_ms(b, p->start_time);
        f_time_opt(b, p->has_expire_time, p->expire_time);
        pgx_bin_time_ms(b, ev->occurred_at);
        pgx_bin_null(b);                      /* billing_group_id, project_id, claimed_at */
        pgx_bin_null(b);
        pgx_bin_null(b);
}

/* A claim is a staged update even when the credit was issued in this batch: the COPY of
 * issued credits runs first, and a code is claimed once, so no two updates meet. */
static void apply_credit_claimed(pj_model_t *m, const bg_event_t *ev) {
        const bg_evt_credit_claimed_t *p = &ev->payload.credit_claimed;
        pgx_buf_t *b = &m->m_w.pw_st_credits;

        pgx_bin_row(b, 5);
        f_uuid(b, &ev->account_id);
        pgx_bin_text(b, p->code);
        f_uuid(b, &p->billing_group_id);
        f_uuid_opt(b, p->has_project_id, &p->project_id);
        pgx_bin_time_ms(b, ev->occurred_at);
}

pj_apply_t pj_model_apply(pj_model_t *m, const bg_event_t *ev, char *why, size_t why_size) {
        pj_acct_t *a = acct_put(m, &ev->account_id);
        char acct[BG_UUID_STR_LEN + 1];

        if (a == NULL || m->m_oom) {
                snprintf(why, why_size, "out of memory");
                return PJ_NOMEM;
        }
        if (ev->seq <= a->pa_seq)
                return PJ_SKIPPED;
        bg_uuid_format(&ev->account_id, acct);
        if (ev->seq != a->pa_seq + 1) {
                snprintf(why, why_size, "event seq %" PRId64 " of account %s does not follow the "
                         "applied seq %" PRId64 ": seq %" PRId64 " is missing from the log",
                         ev->seq, acct, a->pa_seq, a->pa_seq + 1);
                return PJ_SEQ_GAP;
        }
        if (memcmp(ev->prev_hash, a->pa_hash, BG_HASH_SIZE) != 0) {
                snprintf(why, why_size, "event seq %" PRId64 " of account %s: prev_hash is not "
                         "the hash of seq %" PRId64 " (the chain is broken)", ev->seq, acct,
                         a->pa_seq);
                return PJ_CHAIN_BROKEN;
        }

        audit_row(m, ev);
        switch (ev->type) {
        case BG_EVT_ACCOUNT_CREATED:
                apply_account_created(m, ev);
                break;
        case BG_EVT_ROLE_GRANTED:
                member_grant(m, &ev->account_id, ev->payload.role_granted.user,
                             ev->payload.role_granted.role,
                             ev->payload.role_granted.previous_role == BG_ROLE_NONE,
                             ev->occurred_at);
                break;
        case BG_EVT_ROLE_REVOKED:
                member_grant(m, &ev->account_id, ev->payload.role_revoked.user, BG_ROLE_NONE,
                             false, ev->occurred_at);
                break;
        case BG_EVT_BILLING_GROUP_CREATED:
                apply_group_created(m, ev);
                break;
        case BG_EVT_BILLING_GROUP_RENAMED:
                apply_group_renamed(m, ev);
                break;
        case BG_EVT_BILLING_PROFILE_UPDATED:
                apply_profile_updated(m, ev);
                break;
        case BG_EVT_BILLING_GROUP_DELETED:
                apply_group_deleted(m, ev);
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                apply_primary_set(m, ev);
                break;
        case BG_EVT_PROJECT_CREATED:
                apply_project_created(m, ev);
                break;
        case BG_EVT_PROJECT_MOVED:
                apply_project_moved(m, ev);
                break;
        case BG_EVT_PROJECT_DELETED:
                apply_project_deleted(m, ev);
                break;
        case BG_EVT_CREDIT_ISSUED:
                apply_credit_issued(m, ev);
                break;
        case BG_EVT_CREDIT_CLAIMED:
                apply_credit_claimed(m, ev);
                break;
        default:
                break;          /* the codec never yields another type */
        }
        a->pa_seq = ev->seq;
        memcpy(a->pa_hash, ev->hash, BG_HASH_SIZE);
        a->pa_updated_at = ev->occurred_at;
        dirty(m, a);
        m->m_w.pw_events++;
        if (m->m_oom || writes_oom(&m->m_w)) {
                snprintf(why, why_size, "out of memory");
                return PJ_NOMEM;
        }
        return PJ_APPLIED;
}

/* ------------------------------------------------------------------ rendering */

static void render_accounts(pj_model_t *m) {
        size_t pos = 0;
        void *v;

        while (bg_uuidmap_next(m->m_wacct, &pos, NULL, &v)) {
                wacct_t *w = v;
                pgx_buf_t *b;

                if (w->wa_inserted) {
                        b = &m->m_w.pw_accounts;
                        pgx_bin_row(b, 5);
                        f_uuid(b, &w->wa_id);
                        pgx_bin_text(b, w->wa_name ? w->wa_name : "");
                        pgx_bin_text(b, w->wa_owner ? w->wa_owner : "");
                        f_uuid_opt(b, w->wa_has_primary, &w->wa_primary);
                        pgx_bin_time_ms(b, w->wa_created_at);
                } else if (w->wa_set_primary) {
                        b = &m->m_w.pw_st_accounts;
                        pgx_bin_row(b, 2);
                        f_uuid(b, &w->wa_id);
                        f_uuid(b, &w->wa_primary);
                }
        }
}

static void render_groups(pj_model_t *m) {
        size_t pos = 0;
        void *v;

        while (bg_uuidmap_next(m->m_wgroup, &pos, NULL, &v)) {
                wgroup_t *w = v;
                pgx_buf_t *b;

                if (w->wg_inserted) {
                        b = &m->m_w.pw_groups;
                        pgx_bin_row(b, 4 + PROFILE_FIELDS + 4);
                        f_uuid(b, &w->wg_id);
                        f_uuid(b, &w->wg_account);
                        pgx_bin_text(b, w->wg_name ? w->wg_name : "");
                        pgx_bin_text(b, w->wg_set_deleted ? "deleted" : "active");
                        if (w->wg_profile.fr_data != NULL)
                                pgx_buf_put(b, w->wg_profile.fr_data, w->wg_profile.fr_len);
                        else
                                null_profile(b);
                        f_uuid_opt(b, w->wg_has_copied_from, &w->wg_copied_from);
                        pgx_bin_time_ms(b, w->wg_created_at);
                        pgx_bin_time_ms(b, w->wg_updated_at);
                        f_time_opt(b, w->wg_set_deleted, w->wg_deleted_at);
                } else {
                        b = &m->m_w.pw_st_groups;
                        pgx_bin_row(b, 4 + PROFILE_FIELDS + 3);
                        f_uuid(b, &w->wg_id);
                        pgx_bin_bool(b, w->wg_set_name);
                        if (w->wg_set_name)
                                pgx_bin_text(b, w->wg_name ? w->wg_name : "");
                        else
                                pgx_bin_null(b);
                        pgx_bin_bool(b, w->wg_set_profile);
                        if (w->wg_set_profile && w->wg_profile.fr_data != NULL)
                                pgx_buf_put(b, w->wg_profile.fr_data, w->wg_profile.fr_len);
                        else
                                null_profile(b);
                        pgx_bin_bool(b, w->wg_set_deleted);
                        f_time_opt(b, w->wg_set_deleted, w->wg_deleted_at);
                        pgx_bin_time_ms(b, w->wg_updated_at);
                }
        }
}

static void render_projects(pj_model_t *m) {
        size_t pos = 0;
        void *v;

        while (bg_uuidmap_next(m->m_wproj, &pos, NULL, &v)) {
                wproj_t *w = v;
                pgx_buf_t *b;

                if (w->wp_inserted) {
                        b = &m->m_w.pw_projects;
                        pgx_bin_row(b, 8);
                        f_uuid(b, &w->wp_id);
                        f_uuid(b, &w->wp_account);
                        pgx_bin_text(b, w->wp_name);
                        f_uuid(b, &w->wp_group);
                        pgx_bin_text(b, w->wp_set_deleted ? "deleted" : "active");
                        pgx_bin_time_ms(b, w->wp_created_at);
                        pgx_bin_time_ms(b, w->wp_updated_at);
                        f_time_opt(b, w->wp_set_deleted, w->wp_deleted_at);
                } else {
                        b = &m->m_w.pw_st_projects;
                        pgx_bin_row(b, 6);
                        f_uuid(b, &w->wp_id);
                        pgx_bin_bool(b, w->wp_set_group);
                        f_uuid_opt(b, w->wp_set_group, &w->wp_group);
                        pgx_bin_bool(b, w->wp_set_deleted);
                        f_time_opt(b, w->wp_set_deleted, w->wp_deleted_at);
                        pgx_bin_time_ms(b, w->wp_updated_at);
                }
        }
}

static void render_members(pj_model_t *m) {
        pgx_buf_t *b = &m->m_w.pw_st_members;
        size_t pos = 0;
        void *v;

        while (bg_uuidmap_next(m->m_wmember, &pos, NULL, &v)) {
                wmember_t *w = v;

                pgx_bin_row(b, 5);
                f_uuid(b, &w->wm_account);
                pgx_bin_text(b, w->wm_key);
                pgx_bin_text_or_null(b, w->wm_role != BG_ROLE_NONE ? w->wm_email : NULL);
                if (w->wm_role != BG_ROLE_NONE)
                        pgx_bin_text(b, bg_role_name(w->wm_role));
                else
                        pgx_bin_null(b);
                pgx_bin_time_ms(b, w->wm_granted_at);
        }
}

static void render_seq(pj_model_t *m) {
        pgx_buf_t *b = &m->m_w.pw_st_seq;

        for (size_t i = 0; i < m->m_ndirty; i++) {
                const pj_acct_t *a = m->m_dirty[i];

                pgx_bin_row(b, 4);
                f_uuid(b, &a->pa_id);
                pgx_bin_int8(b, a->pa_seq);
                pgx_bin_bytea(b, a->pa_hash, BG_HASH_SIZE);
                pgx_bin_time_ms(b, a->pa_updated_at);
        }
}

const pj_writes_t *pj_model_render(pj_model_t *m) {
        render_accounts(m);
        render_groups(m);
        render_projects(m);
        render_members(m);
        render_seq(m);
        if (m->m_oom || writes_oom(&m->m_w))
                return NULL;
        return &m->m_w;
}

void pj_model_batch_done(pj_model_t *m) {
        batch_clear(m);
}
