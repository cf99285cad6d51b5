#include "inv_members.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_uuidmap.h"

struct inv_members_s {
        bg_uuidmap_t *im_accounts;      /* account id -> acct_state_t * */
        bg_uuidmap_t *im_projects;      /* project id -> inv_project_t * */
        bg_uuidmap_t *im_groups;        /* group id -> acct_state_t * (its account) */
};

inv_members_t *inv_members_new(void) {
        inv_members_t *m = calloc(1, sizeof(*m));

        if (m == NULL)
                return NULL;
        m->im_accounts = bg_uuidmap_new();
        m->im_projects = bg_uuidmap_new();
        m->im_groups = bg_uuidmap_new();
        if (!m->im_accounts || !m->im_projects || !m->im_groups) {
                inv_members_destroy(m);
                return NULL;
        }
        return m;
}

void inv_members_destroy(inv_members_t *m) {
        size_t pos = 0;
        void *v;

        if (m == NULL)
                return;
        while (m->im_accounts && bg_uuidmap_next(m->im_accounts, &pos, NULL, &v))
                acct_state_destroy(v);
        pos = 0;
        while (m->im_projects && bg_uuidmap_next(m->im_projects, &pos, NULL, &v)) {
                inv_project_t *p = v;
                free(p->ip_spans);
                free(p);
        }
        bg_uuidmap_destroy(m->im_accounts);
        bg_uuidmap_destroy(m->im_projects);
        bg_uuidmap_destroy(m->im_groups);
        free(m);
}

static int add_span(inv_project_t *p, int64_t from, const bg_uuid_t *group) {
        size_t i;

        if (p->ip_nspans == p->ip_capspans) {
                size_t cap = p->ip_capspans ? p->ip_capspans * 2 : 2;
                inv_span_t *s = realloc(p->ip_spans, cap * sizeof(*s));
                if (s == NULL)
                        return -1;
                p->ip_spans = s;
                p->ip_capspans = cap;
        }
        /* Events of one account come in seq order, and occurred_at follows it; keep the
         * list sorted anyway, should a clock have stepped back (stable for equal times). */
        for (i = p->ip_nspans; i > 0 && p->ip_spans[i - 1].is_from_ms > from; i--)
                p->ip_spans[i] = p->ip_spans[i - 1];
        p->ip_spans[i].is_from_ms = from;
        p->ip_spans[i].is_group = *group;
        p->ip_nspans++;
        return 0;
}

int inv_members_fold(inv_members_t *m, const bg_event_t *ev, bool *project_created,
                     char *errstr, size_t errstr_size) {
        acct_state_t *st = bg_uuidmap_get(m->im_accounts, &ev->account_id);
        inv_project_t *p;
        bool fresh = false;

        if (project_created)
                *project_created = false;
        if (st == NULL) {
                st = acct_state_new();
                if (st == NULL || !bg_uuidmap_put(m->im_accounts, &ev->account_id, st)) {
                        acct_state_destroy(st);
                        snprintf(errstr, errstr_size, "out of memory");
                        return -1;
                }
                fresh = true;
        }
        if (acct_evolve(st, ev, errstr, errstr_size) != ACCT_OK) {
                if (fresh) {
                        bg_uuidmap_remove(m->im_accounts, &ev->account_id);
                        acct_state_destroy(st);
                }
                return -1;
        }
        /* The event is consistent with the account (acct_evolve checked it): record what
         * the invoicer needs beyond the state. */
        switch (ev->type) {
        case BG_EVT_BILLING_GROUP_CREATED:
                if (!bg_uuidmap_put(m->im_groups,
                                    &ev->payload.billing_group_created.billing_group_id, st))
                        goto nomem;
                break;
        case BG_EVT_PROJECT_CREATED: {
                const bg_evt_project_created_t *pc = &ev->payload.project_created;

                p = calloc(1, sizeof(*p));
                if (p == NULL)
                        goto nomem;
                p->ip_id = pc->project_id;
                p->ip_account = ev->account_id;
                memcpy(p->ip_name, pc->name, sizeof(p->ip_name));
                if (add_span(p, ev->occurred_at, &pc->billing_group_id) != 0 ||
                    !bg_uuidmap_put(m->im_projects, &pc->project_id, p)) {
                        free(p->ip_spans);
                        free(p);
                        goto nomem;
                }
                if (project_created)
                        *project_created = true;
                break;
        }
        case BG_EVT_PROJECT_MOVED:
                p = bg_uuidmap_get(m->im_projects, &ev->payload.project_moved.project_id);
                if (p != NULL &&
                    add_span(p, ev->occurred_at, &ev->payload.project_moved.to_billing_group_id) != 0)
                        goto nomem;
                break;
        case BG_EVT_PROJECT_DELETED:
                p = bg_uuidmap_get(m->im_projects, &ev->payload.project_deleted.project_id);
                if (p != NULL) {
                        p->ip_deleted = true;
                        p->ip_deleted_at = ev->occurred_at;
                }
                break;
        default:
                break;
        }
        return 0;
nomem:
        /* The account state has the event but our index may not: the caller stops. */
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}

inv_resolve_t inv_members_resolve(const inv_members_t *m, const bg_uuid_t *project,
                                  int64_t t_ms, const inv_project_t **proj, bg_uuid_t *group) {
        const inv_project_t *p = bg_uuidmap_get(m->im_projects, project);
        size_t i;

        *proj = p;
        if (p == NULL)
                return INV_RESOLVE_UNKNOWN;
        if (p->ip_deleted && t_ms >= p->ip_deleted_at)
                return INV_RESOLVE_DELETED;
        for (i = p->ip_nspans; i > 1 && p->ip_spans[i - 1].is_from_ms > t_ms; i--)
                ;
        *group = p->ip_spans[i - 1].is_group;
        return INV_RESOLVE_OK;
}

const acct_group_t *inv_members_group(const inv_members_t *m, const bg_uuid_t *group,
                                      const acct_state_t **account) {
        const acct_state_t *st = bg_uuidmap_get(m->im_groups, group);

        if (account)
                *account = st;
        return st ? acct_find_group(st, group) : NULL;
}

const acct_state_t *inv_members_account(const inv_members_t *m, const bg_uuid_t *account) {
        return bg_uuidmap_get(m->im_accounts, account);
}

size_t inv_members_project_count(const inv_members_t *m) {
        return bg_uuidmap_count(m->im_projects);
}
