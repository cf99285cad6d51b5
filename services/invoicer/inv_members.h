/*
 * inv_members: what the invoicer knows from billing.events. Every event is folded with
 * the shared acct_evolve into its account's state (groups with their profiles, credits,
 * who claimed them); beside it, each project's membership history: the group it joined
 * at each time (ProjectCreated, ProjectMoved: the event's occurred_at) and its deletion
 * time.
 *
 * A usage record is billed to the group its project belonged to at timestamp_begin.
 * Usage that begins before the project's creation time goes to the group the project was
 * created in (metering and the commands service have different clocks; the project
 * exists, and had no other group before).
 *
 * @locality one thread.
 */
#ifndef INV_MEMBERS_H
#define INV_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "bg_event.h"
#include "bg_uuid.h"

typedef struct inv_span_s {
        int64_t is_from_ms;             /* member of is_group from this time on */
        bg_uuid_t is_group;
} inv_span_t;

typedef struct inv_project_s {
        bg_uuid_t ip_id;
        bg_uuid_t ip_account;
        char ip_name[BG_PROJECT_NAME_SIZE];
        inv_span_t *ip_spans;           /* in time order */
        size_t ip_nspans, ip_capspans;
        bool ip_deleted;
        int64_t ip_deleted_at;
} inv_project_t;

typedef struct inv_members_s inv_members_t;

inv_members_t *inv_members_new(void);          /* NULL when out of memory */
void inv_members_destroy(inv_members_t *m);    /* NULL is a no-op */

/* Folds @ev. -1 with a reason when it does not fold (the state is then unchanged).
 * *@project_created (may be NULL) is set when a project became known. */
int inv_members_fold(inv_members_t *m, const bg_event_t *ev, bool *project_created,
                     char *errstr, size_t errstr_size);

typedef enum {
        INV_RESOLVE_OK = 0,
        INV_RESOLVE_UNKNOWN,            /* no ProjectCreated seen for the project */
        INV_RESOLVE_DELETED,            /* the usage begins at or after the deletion */
} inv_resolve_t;

/* The group of @project at @t_ms into *@group, and the project into *@proj. */
inv_resolve_t inv_members_resolve(const inv_members_t *m, const bg_uuid_t *project,
                                  int64_t t_ms, const inv_project_t **proj, bg_uuid_t *group);

/* The group @group (deleted ones too) and its account's state, or NULL. */
const acct_group_t *inv_members_group(const inv_members_t *m, const bg_uuid_t *group,
                                      const acct_state_t **account);

/* The account's state, or NULL. */
const acct_state_t *inv_members_account(const inv_members_t *m, const bg_uuid_t *account);

size_t inv_members_project_count(const inv_members_t *m);

#endif /* INV_MEMBERS_H */
