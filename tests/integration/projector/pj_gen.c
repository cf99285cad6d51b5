#include "pj_gen.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_hashchain.h"
#include "bg_cmd_harness.h"
#include "codec.h"

struct pjg_s {
        codec_registry_t *g_reg;
        codec_t *g_codec;
        uint64_t g_rng;
        int64_t g_now;
        uint64_t g_rejections;
        uint64_t g_counter;             /* names and codes unique per generator */
        bg_command_t *g_cmd;            /* scratch: a command is ~64 KiB */
        acct_decision_t g_dec;
};

struct pjg_account_s {
        pjg_t *a_gen;
        bg_uuid_t a_id;
        acct_state_t *a_state;
        int a_users;                    /* members invited so far */
};

static uint64_t rnd(pjg_t *g) {
        uint64_t z = (g->g_rng += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
}

static unsigned pick(pjg_t *g, unsigned n) {
        return n ? (unsigned)(rnd(g) % n) : 0;
}

static void new_id(pjg_t *g, bg_uuid_t *out) {
        uint64_t a = rnd(g), b = rnd(g);
        memcpy(out->b, &a, 8);
        memcpy(out->b + 8, &b, 8);
        out->b[6] = (uint8_t)((out->b[6] & 0x0F) | 0x40);
        out->b[8] = (uint8_t)((out->b[8] & 0x3F) | 0x80);
}

static void event_id_cb(void *opaque, bg_uuid_t *out) {
        new_id(opaque, out);
}

pjg_t *pjg_new(const char *schemas_dir, uint64_t seed, int64_t start_ms, char *errstr,
               size_t errstr_size) {
        pjg_t *g = calloc(1, sizeof(*g));

        if (g == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        g->g_rng = seed;
        g->g_now = start_ms;
        g->g_cmd = malloc(sizeof(*g->g_cmd));
        acct_decision_init(&g->g_dec);
        (void)schemas_dir;      /* the registry the services use: see bg_test_registry */
        g->g_reg = bg_test_registry(errstr, errstr_size);
        if (g->g_reg != NULL)
                g->g_codec = codec_new(g->g_reg, NULL, errstr, errstr_size);
        if (g->g_codec == NULL || g->g_cmd == NULL) {
                pjg_destroy(g);
                return NULL;
        }
        return g;
}

void pjg_destroy(pjg_t *g) {
        if (g == NULL)
                return;
        codec_destroy(g->g_codec);
        codec_registry_destroy(g->g_reg);
        acct_decision_clear(&g->g_dec);
        free(g->g_cmd);
        free(g);
}

uint64_t pjg_rejections(const pjg_t *g) {
        return g->g_rejections;
}

pjg_account_t *pjg_account_new(pjg_t *g) {
        pjg_account_t *a = calloc(1, sizeof(*a));

        if (a == NULL)
                return NULL;
        a->a_gen = g;
        new_id(g, &a->a_id);
        a->a_state = acct_state_new();
        if (a->a_state == NULL) {
                free(a);
                return NULL;
        }
        return a;
}

void pjg_account_destroy(pjg_account_t *a) {
        if (a == NULL)
                return;
        acct_state_destroy(a->a_state);
        free(a);
}

const bg_uuid_t *pjg_account_id(const pjg_account_t *a) {
        return &a->a_id;
}

const acct_state_t *pjg_account_state(const pjg_account_t *a) {
        return a->a_state;
}

int pjg_decide(pjg_t *g, pjg_account_t *a, bg_command_t *cmd, const char *actor,
               pjg_emit_fn emit, void *opaque, char *why, size_t why_size) {
        static const char *const principals[] = {PJG_SERVICE_ACTOR};
        acct_ctx_t ctx = {.now_ms = g->g_now, .new_event_id = event_id_cb,
                          .new_event_id_opaque = g, .service_principals = principals,
                          .n_service_principals = 1};
        char errstr[512];

        new_id(g, &cmd->command_id);
        cmd->account_id = a->a_id;
        snprintf(cmd->actor, sizeof(cmd->actor), "%s", actor);
        cmd->issued_at = g->g_now;
        cmd->has_expected_version = false;
        g->g_now += 1000;
        if (acct_decide(a->a_state, cmd, &ctx, &g->g_dec) != ACCT_OK) {
                snprintf(why, why_size, "acct_decide failed");
                return -1;
        }
        if (g->g_dec.result.outcome != BG_OUTCOME_ACCEPTED) {
                snprintf(why, why_size, "%s: %s %s", bg_command_type_name(cmd->type),
                         bg_reject_code_name(g->g_dec.result.rejection.code),
                         g->g_dec.result.rejection.message);
                return -1;
        }
        for (size_t i = 0; i < g->g_dec.n_events; i++) {
                bg_event_t *ev = &g->g_dec.events[i];
                const uint8_t *buf;
                size_t len;

                memcpy(ev->prev_hash, acct_last_hash(a->a_state), BG_HASH_SIZE);
                if (codec_event_canonical(g->g_codec, ev, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                        goto err_codec;
                bg_hash_event(ev->prev_hash, buf, len, ev->hash);
                if (codec_encode_event(g->g_codec, ev, &buf, &len, errstr, sizeof(errstr)) != CODEC_OK)
                        goto err_codec;
                if (acct_evolve(a->a_state, ev, errstr, sizeof(errstr)) != ACCT_OK) {
                        snprintf(why, why_size, "decided event does not fold: %s", errstr);
                        return -1;
                }
                emit(opaque, ev, buf, len);
        }
        return (int)g->g_dec.n_events;

err_codec:
        snprintf(why, why_size, "codec: %s", errstr);
        return -1;
}

/* ------------------------------------------------------------------ random stories */

static const bg_currency_t currencies[] = {BG_CURRENCY_EUR, BG_CURRENCY_USD, BG_CURRENCY_GBP};

static const acct_group_t *random_live_group(pjg_t *g, const acct_state_t *st) {
        size_t n = acct_group_count(st), live = 0;
        const acct_group_t *live_ones[64];

        for (size_t i = 0; i < n && live < 64; i++)
                if (!acct_group_at(st, i)->deleted)
                        live_ones[live++] = acct_group_at(st, i);
        return live ? live_ones[pick(g, (unsigned)live)] : NULL;
}

static const acct_project_t *random_live_project(pjg_t *g, const acct_state_t *st) {
        size_t n = acct_project_count(st), live = 0;
        const acct_project_t *live_ones[64];

        for (size_t i = 0; i < n && live < 64; i++)
                if (!acct_project_at(st, i)->deleted)
                        live_ones[live++] = acct_project_at(st, i);
        return live ? live_ones[pick(g, (unsigned)live)] : NULL;
}

static size_t live_groups(const acct_state_t *st) {
        size_t n = 0;
        for (size_t i = 0; i < acct_group_count(st); i++)
                n += !acct_group_at(st, i)->deleted;
        return n;
}

static size_t live_projects(const acct_state_t *st) {
        size_t n = 0;
        for (size_t i = 0; i < acct_project_count(st); i++)
                n += !acct_project_at(st, i)->deleted;
        return n;
}

static void random_profile(pjg_t *g, bg_profile_patch_t *p, bool full) {
        static const char *const cities[] = {"Helsinki", "Berlin", "O'Hare \"Central\"", "Zürich"};
        unsigned r = pick(g, 4);

        memset(p, 0, sizeof(*p));
        if (full || r == 0) {
                p->present |= BG_PROFILE_F_BILLING_CURRENCY;
                p->v.billing_currency = currencies[pick(g, 3)];
        }
        if (full || r == 1) {
                p->present |= BG_PROFILE_F_COMPANY | BG_PROFILE_F_CITY;
                snprintf(p->v.company, sizeof(p->v.company), "Company %u Ltd", pick(g, 1000));
                snprintf(p->v.city, sizeof(p->v.city), "%s", cities[pick(g, 4)]);
        }
        if (full || r == 2) {
                p->present |= BG_PROFILE_F_BILLING_EMAILS | BG_PROFILE_F_ADDRESS_LINES;
                p->v.n_billing_emails = 1 + pick(g, 2);
                for (size_t i = 0; i < p->v.n_billing_emails; i++)
                        snprintf(p->v.billing_emails[i], BG_EMAIL_SIZE, "billing%u@example.com",
                                 pick(g, 100));
                p->v.n_address_lines = 2;
                snprintf(p->v.address_lines[0], BG_ADDRESS_LINE_SIZE, "Street %u", pick(g, 100));
                snprintf(p->v.address_lines[1], BG_ADDRESS_LINE_SIZE, "c/o \\ \"Finance\", {dept}");
        }
        if (full || r == 3) {
                p->present |= BG_PROFILE_F_VAT_ID | BG_PROFILE_F_BILLING_EXTRA_TEXT;
                snprintf(p->v.vat_id, sizeof(p->v.vat_id), "FI%08u", pick(g, 100000000));
                snprintf(p->v.billing_extra_text, sizeof(p->v.billing_extra_text),
                         "PO %u\nline\ttwo", pick(g, 100000));
        }
}

int pjg_random_step(pjg_t *g, pjg_account_t *a, pjg_emit_fn emit, void *opaque) {
        const acct_state_t *st = a->a_state;
        bg_command_t *cmd = g->g_cmd;
        const char *actor = PJG_OWNER_ACTOR;
        const acct_group_t *grp;
        const acct_project_t *prj;
        bg_uuid_t primary;
        char why[512];
        unsigned r;
        int n;

        /* Zero what the picks below fill (not the 64 KiB of AssignProjects' names). */
        memset(cmd, 0, offsetof(bg_command_t, payload));
        memset(&cmd->payload, 0, sizeof(cmd->payload.create_billing_group) >
                                         sizeof(cmd->payload.update_billing_group)
                                         ? sizeof(cmd->payload.create_billing_group)
                                         : sizeof(cmd->payload.update_billing_group));
        if (!acct_exists(st)) {
                cmd->type = BG_CMD_CREATE_ACCOUNT;
                snprintf(cmd->payload.create_account.name, BG_NAME_SIZE, "Account %llu",
                         (unsigned long long)++g->g_counter);
                snprintf(cmd->payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
                goto decide;
        }
        if (live_groups(st) == 0 || (live_groups(st) < 2 && pick(g, 2) == 0)) {
                r = 0;                          /* a group */
        } else if (!acct_primary_group(st, &primary)) {
                r = 1;                          /* a primary group */
        } else if (live_projects(st) < 2) {
                r = 2;                          /* a project */
        } else {
                r = 3 + pick(g, 100);
        }

        if (r == 0 || (r >= 3 && r < 10 && live_groups(st) < 6)) {
                cmd->type = BG_CMD_CREATE_BILLING_GROUP;
                new_id(g, &cmd->payload.create_billing_group.billing_group_id);
                snprintf(cmd->payload.create_billing_group.name, BG_NAME_SIZE, "Group %llu \"é\"",
                         (unsigned long long)++g->g_counter);
                random_profile(g, &cmd->payload.create_billing_group.profile, true);
                if ((grp = random_live_group(g, st)) != NULL && pick(g, 3) == 0) {
                        cmd->payload.create_billing_group.has_copy_from = true;
                        cmd->payload.create_billing_group.copy_from = grp->id;
                        cmd->payload.create_billing_group.profile.present &=
                                ~(uint32_t)BG_PROFILE_F_BILLING_CURRENCY;
                }
        } else if (r == 1 || (r >= 10 && r < 14)) {
                grp = random_live_group(g, st);
                cmd->type = BG_CMD_SET_PRIMARY_BILLING_GROUP;
                cmd->payload.set_primary_billing_group.billing_group_id = grp->id;
        } else if (r == 2 || (r >= 14 && r < 24 && live_projects(st) < 12)) {
                cmd->type = BG_CMD_CREATE_PROJECT;
                new_id(g, &cmd->payload.create_project.project_id);
                snprintf(cmd->payload.create_project.name, BG_PROJECT_NAME_SIZE, "prj-%llu",
                         (unsigned long long)++g->g_counter);
                if (pick(g, 2) == 0 && (grp = random_live_group(g, st)) != NULL) {
                        cmd->payload.create_project.has_billing_group_id = true;
                        cmd->payload.create_project.billing_group_id = grp->id;
                }
        } else if (r < 54) {
                /* Moves are the bread and butter of billing groups. */
                grp = random_live_group(g, st);
                prj = random_live_project(g, st);
                cmd->type = BG_CMD_ASSIGN_PROJECTS;
                cmd->payload.assign_projects.billing_group_id = grp->id;
                cmd->payload.assign_projects.n_projects = 1;
                snprintf(cmd->payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE,
                         "%s", prj->name);
                if ((prj = random_live_project(g, st)) != NULL &&
                    strcmp(prj->name, cmd->payload.assign_projects.project_names[0]) != 0) {
                        cmd->payload.assign_projects.n_projects = 2;
                        snprintf(cmd->payload.assign_projects.project_names[1],
                                 BG_PROJECT_NAME_SIZE, "%s", prj->name);
                }
        } else if (r < 66) {
                grp = random_live_group(g, st);
                cmd->type = BG_CMD_UPDATE_BILLING_GROUP;
                cmd->payload.update_billing_group.billing_group_id = grp->id;
                if (pick(g, 2) == 0) {
                        cmd->payload.update_billing_group.has_name = true;
                        snprintf(cmd->payload.update_billing_group.name, BG_NAME_SIZE,
                                 "Renamed %llu", (unsigned long long)++g->g_counter);
                }
                if (pick(g, 2) == 0 || !cmd->payload.update_billing_group.has_name)
                        random_profile(g, &cmd->payload.update_billing_group.profile, false);
        } else if (r < 72) {
                cmd->type = BG_CMD_GRANT_ROLE;
                snprintf(cmd->payload.grant_role.user, BG_EMAIL_SIZE, "%s%u@example.com",
                         pick(g, 2) ? "user" : "User", pick(g, 4));
                cmd->payload.grant_role.role = (bg_role_t)(BG_ROLE_ADMIN + pick(g, 3));
        } else if (r < 76) {
                size_t nm = acct_member_count(st);
                const acct_member_t *m = acct_member_at(st, pick(g, (unsigned)nm));
                if (strcmp(m->user, "owner@example.com") == 0)
                        return 0;
                cmd->type = BG_CMD_REVOKE_ROLE;
                snprintf(cmd->payload.revoke_role.user, BG_EMAIL_SIZE, "%s", m->user);
                cmd->payload.revoke_role.role = m->role;
        } else if (r < 84) {
                grp = random_live_group(g, st);
                cmd->type = BG_CMD_ISSUE_CREDIT;
                actor = PJG_SERVICE_ACTOR;
                snprintf(cmd->payload.issue_credit.code, BG_CREDIT_CODE_SIZE, "CODE-%llu",
                         (unsigned long long)++g->g_counter);
                cmd->payload.issue_credit.value = (int64_t)(1 + pick(g, 500)) * 1000000 +
                                                  (pick(g, 2) ? 0 : 123456);
                cmd->payload.issue_credit.currency = grp->billing_currency;
                cmd->payload.issue_credit.type = (bg_credit_type_t)(1 + pick(g, 13));
                cmd->payload.issue_credit.start_time = g->g_now - 86400000;
                if (pick(g, 2)) {
                        cmd->payload.issue_credit.has_expire_time = true;
                        cmd->payload.issue_credit.expire_time = g->g_now + 365LL * 86400000;
                }
        } else if (r < 92) {
                const acct_credit_t *cr = NULL;
                for (size_t i = 0; i < acct_credit_count(st); i++)
                        if (!acct_credit_at(st, i)->claimed) {
                                cr = acct_credit_at(st, i);
                                break;
                        }
                if (cr == NULL)
                        return 0;
                grp = NULL;
                for (size_t i = 0; i < acct_group_count(st); i++) {
                        const acct_group_t *x = acct_group_at(st, i);
                        if (!x->deleted && x->billing_currency == cr->currency)
                                grp = x;
                }
                if (grp == NULL)
                        return 0;
                cmd->type = BG_CMD_CLAIM_CREDIT;
                cmd->payload.claim_credit.billing_group_id = grp->id;
                snprintf(cmd->payload.claim_credit.code, BG_CREDIT_CODE_SIZE, "%s", cr->code);
                for (size_t i = 0; i < acct_project_count(st); i++) {
                        prj = acct_project_at(st, i);
                        if (!prj->deleted && bg_uuid_equal(&prj->billing_group_id, &grp->id) &&
                            pick(g, 2)) {
                                cmd->payload.claim_credit.has_project_id = true;
                                cmd->payload.claim_credit.project_id = prj->id;
                                break;
                        }
                }
        } else if (r < 96) {
                prj = random_live_project(g, st);
                cmd->type = BG_CMD_DELETE_PROJECT;
                cmd->payload.delete_project.project_id = prj->id;
        } else {
                /* A group with nothing in it that is not the primary: delete it. */
                grp = NULL;
                for (size_t i = 0; i < acct_group_count(st); i++) {
                        const acct_group_t *x = acct_group_at(st, i);
                        if (!x->deleted && x->n_live_projects == 0 &&
                            !bg_uuid_equal(&x->id, &primary))
                                grp = x;
                }
                if (grp == NULL)
                        return 0;
                cmd->type = BG_CMD_DELETE_BILLING_GROUP;
                cmd->payload.delete_billing_group.billing_group_id = grp->id;
        }
decide:
        n = pjg_decide(g, a, cmd, actor, emit, opaque, why, sizeof(why));
        if (n < 0) {
                g->g_rejections++;
                return 0;
        }
        return n;
}
