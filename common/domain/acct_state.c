/* The account state: storage, the command-id set, and the read-only queries. */
#include <stdlib.h>
#include <string.h>

#include "acct_internal.h"

acct_state_t *acct_state_new(void) {
        return calloc(1, sizeof(acct_state_t));
}

void acct_state_destroy(acct_state_t *st) {
        if (st == NULL)
                return;
        free(st->members);
        for (size_t i = 0; i < st->n_groups; i++)
                bg_profile_packed_free(st->groups[i].profile);
        free(st->groups);
        free(st->projects);
        free(st->credits);
        free(st->cmds);
        free(st);
}

/* ---- storage ---- */

/* Doubles *arr (of *cap items) when it holds n items already. */
static void *grow(void *arr, size_t *cap, size_t n, size_t item_size, bool *failed) {
        size_t ncap;
        void *p;

        if (n < *cap)
                return arr;
        ncap = *cap ? *cap * 2 : 2;   /* most accounts have few of each; a group is ~12 KiB */
        if (ncap > SIZE_MAX / item_size) {
                *failed = true;
                return arr;
        }
        p = realloc(arr, ncap * item_size);
        if (p == NULL) {
                *failed = true;
                return arr;
        }
        *cap = ncap;
        return p;
}

#define GROW(st, f, failed) \
        ((st)->f##s = grow((st)->f##s, &(st)->cap_##f##s, (st)->n_##f##s, \
                           sizeof(*(st)->f##s), (failed)))

/* FNV-1a over all 16 bytes: test and sequential ids differ only in a few bytes. */
static size_t uuid_hash(const bg_uuid_t *id) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < sizeof(id->b); i++) {
                h ^= id->b[i];
                h *= UINT64_C(1099511628211);
        }
        return (size_t)(h ^ (h >> 32));
}

static void cmd_put(acct_cmdrec_t *slots, size_t cap, const acct_cmdrec_t *rec) {
        size_t i = uuid_hash(&rec->id) & (cap - 1);

        while (slots[i].used)
                i = (i + 1) & (cap - 1);
        slots[i] = *rec;
}

/* Keeps the load factor at or under 1/2 after one more insertion. */
static acct_err_t cmd_reserve(acct_state_t *st) {
        acct_cmdrec_t *slots;
        size_t ncap;

        if ((st->n_cmds + 1) * 2 <= st->cap_cmds)
                return ACCT_OK;
        ncap = st->cap_cmds ? st->cap_cmds * 2 : 16;
        slots = calloc(ncap, sizeof(*slots));
        if (slots == NULL)
                return ACCT_ERR_NOMEM;
        for (size_t i = 0; i < st->cap_cmds; i++)
                if (st->cmds[i].used)
                        cmd_put(slots, ncap, &st->cmds[i]);
        free(st->cmds);
        st->cmds = slots;
        st->cap_cmds = ncap;
        return ACCT_OK;
}

acct_cmdrec_t *acct__cmd_find(const acct_state_t *st, const bg_uuid_t *id) {
        size_t i;

        if (st->cap_cmds == 0)
                return NULL;
        i = uuid_hash(id) & (st->cap_cmds - 1);
        while (st->cmds[i].used) {
                if (bg_uuid_equal(&st->cmds[i].id, id))
                        return &st->cmds[i];
                i = (i + 1) & (st->cap_cmds - 1);
        }
        return NULL;
}

void acct__cmd_insert(acct_state_t *st, const bg_uuid_t *id, int64_t seq) {
        acct_cmdrec_t rec = { .id = *id, .first_seq = seq, .last_seq = seq, .used = true };

        cmd_put(st->cmds, st->cap_cmds, &rec);
        st->n_cmds++;
}

acct_err_t acct__reserve(acct_state_t *st) {
        bool failed = false;

        GROW(st, member, &failed);
        GROW(st, group, &failed);
        GROW(st, project, &failed);
        GROW(st, credit, &failed);
        if (failed)
                return ACCT_ERR_NOMEM;
        return cmd_reserve(st);
}

/* ---- lookups ---- */

acct_group_t *acct__group(acct_state_t *st, const bg_uuid_t *id) {
        for (size_t i = 0; i < st->n_groups; i++)
                if (bg_uuid_equal(&st->groups[i].id, id))
                        return &st->groups[i];
        return NULL;
}

acct_project_t *acct__project(acct_state_t *st, const bg_uuid_t *id) {
        for (size_t i = 0; i < st->n_projects; i++)
                if (bg_uuid_equal(&st->projects[i].id, id))
                        return &st->projects[i];
        return NULL;
}

acct_credit_t *acct__credit(acct_state_t *st, const char *code) {
        for (size_t i = 0; i < st->n_credits; i++)
                if (strcmp(st->credits[i].code, code) == 0)
                        return &st->credits[i];
        return NULL;
}

acct_member_t *acct__member(acct_state_t *st, const char *user) {
        for (size_t i = 0; i < st->n_members; i++)
                if (bg_email_equal(st->members[i].user, user))
                        return &st->members[i];
        return NULL;
}

/* ---- public queries ---- */

int64_t acct_version(const acct_state_t *st) {
        return st->version;
}

bool acct_exists(const acct_state_t *st) {
        return st->version > 0;
}

const bg_uuid_t *acct_account_id(const acct_state_t *st) {
        return &st->account_id;
}

const char *acct_name(const acct_state_t *st) {
        return st->name;
}

const uint8_t *acct_last_hash(const acct_state_t *st) {
        return st->last_hash;
}

bool acct_primary_group(const acct_state_t *st, bg_uuid_t *out) {
        if (!st->has_primary)
                return false;
        if (out != NULL)
                *out = st->primary;
        return true;
}

size_t acct_member_count(const acct_state_t *st) {
        return st->n_members;
}

const acct_member_t *acct_member_at(const acct_state_t *st, size_t i) {
        return i < st->n_members ? &st->members[i] : NULL;
}

bg_role_t acct_member_role(const acct_state_t *st, const char *user) {
        const acct_member_t *m = acct__member((acct_state_t *)st, user);

        return m != NULL ? m->role : BG_ROLE_NONE;
}

size_t acct_admin_count(const acct_state_t *st) {
        size_t n = 0;

        for (size_t i = 0; i < st->n_members; i++)
                if (st->members[i].role == BG_ROLE_ADMIN)
                        n++;
        return n;
}

size_t acct_group_count(const acct_state_t *st) {
        return st->n_groups;
}

const acct_group_t *acct_group_at(const acct_state_t *st, size_t i) {
        return i < st->n_groups ? &st->groups[i] : NULL;
}

const acct_group_t *acct_find_group(const acct_state_t *st, const bg_uuid_t *id) {
        return acct__group((acct_state_t *)st, id);
}

size_t acct_project_count(const acct_state_t *st) {
        return st->n_projects;
}

const acct_project_t *acct_project_at(const acct_state_t *st, size_t i) {
        return i < st->n_projects ? &st->projects[i] : NULL;
}

const acct_project_t *acct_find_project(const acct_state_t *st, const bg_uuid_t *id) {
        return acct__project((acct_state_t *)st, id);
}

const acct_project_t *acct_find_live_project_by_name(const acct_state_t *st,
                                                     const char *name) {
        for (size_t i = 0; i < st->n_projects; i++)
                if (!st->projects[i].deleted && strcmp(st->projects[i].name, name) == 0)
                        return &st->projects[i];
        return NULL;
}

size_t acct_credit_count(const acct_state_t *st) {
        return st->n_credits;
}

const acct_credit_t *acct_credit_at(const acct_state_t *st, size_t i) {
        return i < st->n_credits ? &st->credits[i] : NULL;
}

const acct_credit_t *acct_find_credit(const acct_state_t *st, const char *code) {
        return acct__credit((acct_state_t *)st, code);
}

bool acct_command_seqs(const acct_state_t *st, const bg_uuid_t *command_id,
                       int64_t *first_seq, int64_t *last_seq) {
        const acct_cmdrec_t *rec = acct__cmd_find(st, command_id);

        if (rec == NULL)
                return false;
        if (first_seq != NULL)
                *first_seq = rec->first_seq;
        if (last_seq != NULL)
                *last_seq = rec->last_seq;
        return true;
}

size_t acct_command_count(const acct_state_t *st) {
        return st->n_cmds;
}

const char *acct_err_name(acct_err_t err) {
        switch (err) {
        case ACCT_OK:               return "ok";
        case ACCT_ERR_SEQ:          return "seq";
        case ACCT_ERR_INCONSISTENT: return "inconsistent";
        case ACCT_ERR_INVALID:      return "invalid";
        case ACCT_ERR_NOMEM:        return "out of memory";
        case ACCT_ERR_ARG:          return "bad argument";
        }
        return "unknown";
}

void acct_group_profile(const acct_group_t *g, bg_profile_t *out) {
        bg_profile_unpack(g->profile, out);
}
