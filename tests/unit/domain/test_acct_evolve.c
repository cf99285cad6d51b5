/* acct_evolve: replay, seq and hash-chain checks, command-id bookkeeping, and the
 * rejection of events that contradict the state (what `audit verify` relies on). */
#include <stdlib.h>

#include "domain_fixture.h"

/* A log with every event type: returns the fixture (its log holds the events). */
/* The unpacked profile of @g; two buffers in turn, so that one assertion can compare two
 * groups' profiles. */
static const bg_profile_t *prof_of(const acct_group_t *g) {
        static bg_profile_t buf[2];
        static int turn;

        turn ^= 1;
        acct_group_profile(g, &buf[turn]);
        return &buf[turn];
}

static fx_t *busy_account(void) {
        fx_t *fx = fx_new();
        bg_command_t *c;

        fx_create_account(fx);                                  /* AccountCreated */
        fx_grant(fx, "ann@example.com", BG_ROLE_ADMIN);         /* RoleGranted */
        fx_grant(fx, "bob@example.com", BG_ROLE_VIEWER);
        c = fx_cmd(fx, BG_CMD_REVOKE_ROLE, ACT_OWNER);          /* RoleRevoked */
        FX_SET(c->payload.revoke_role.user, "bob@example.com");
        c->payload.revoke_role.role = BG_ROLE_VIEWER;
        fx_accept(fx, 1);
        fx_create_group(fx, 1, "One", BG_CURRENCY_EUR);         /* BillingGroupCreated */
        c = fx_cmd(fx, BG_CMD_CREATE_BILLING_GROUP, ACT_OWNER); /* ... copied */
        c->payload.create_billing_group.billing_group_id = fx_id(K_GROUP, 2);
        FX_SET(c->payload.create_billing_group.name, "Two");
        c->payload.create_billing_group.has_copy_from = true;
        c->payload.create_billing_group.copy_from = fx_id(K_GROUP, 1);
        fx_accept(fx, 1);
        fx_create_group(fx, 3, "Three", BG_CURRENCY_USD);
        fx_set_primary(fx, 1);                                  /* PrimaryBillingGroupSet */
        c = fx_cmd(fx, BG_CMD_UPDATE_BILLING_GROUP, ACT_OWNER); /* Renamed + ProfileUpdated */
        c->payload.update_billing_group.billing_group_id = fx_id(K_GROUP, 2);
        c->payload.update_billing_group.has_name = true;
        FX_SET(c->payload.update_billing_group.name, "Two!");
        c->payload.update_billing_group.profile.present = BG_PROFILE_F_CITY;
        FX_SET(c->payload.update_billing_group.profile.v.city, "Turku");
        fx_accept(fx, 2);
        fx_create_project(fx, 1, "p1", 0);                      /* ProjectCreated */
        fx_create_project(fx, 2, "p2", 0);
        fx_create_project(fx, 3, "p3", 3);
        c = fx_cmd(fx, BG_CMD_ASSIGN_PROJECTS, ACT_OWNER);      /* ProjectMoved x2 */
        c->payload.assign_projects.billing_group_id = fx_id(K_GROUP, 2);
        c->payload.assign_projects.n_projects = 2;
        FX_SET(c->payload.assign_projects.project_names[0], "p1");
        FX_SET(c->payload.assign_projects.project_names[1], "p3");
        fx_accept(fx, 2);
        c = fx_cmd(fx, BG_CMD_DELETE_PROJECT, ACT_OWNER);       /* ProjectDeleted */
        c->payload.delete_project.project_id = fx_id(K_PROJECT, 3);
        fx_accept(fx, 1);
        c = fx_cmd(fx, BG_CMD_DELETE_BILLING_GROUP, ACT_OWNER); /* BillingGroupDeleted */
        c->payload.delete_billing_group.billing_group_id = fx_id(K_GROUP, 3);
        fx_accept(fx, 1);
        fx_issue_credit(fx, "C1", 5000000, BG_CURRENCY_EUR);    /* CreditIssued */
        fx_issue_credit(fx, "C2", 7000000, BG_CURRENCY_EUR);
        c = fx_cmd(fx, BG_CMD_CLAIM_CREDIT, ACT_OWNER);         /* CreditClaimed */
        c->payload.claim_credit.billing_group_id = fx_id(K_GROUP, 2);
        FX_SET(c->payload.claim_credit.code, "C1");
        c->payload.claim_credit.has_project_id = true;
        c->payload.claim_credit.project_id = fx_id(K_PROJECT, 1);
        fx_accept(fx, 1);
        return fx;
}

static acct_state_t *replay(const bg_event_t *log, size_t n) {
        acct_state_t *st = acct_state_new();
        char err[256];

        assert_non_null(st);
        for (size_t i = 0; i < n; i++)
                if (acct_evolve(st, &log[i], err, sizeof(err)) != ACCT_OK)
                        fail_msg("replay of event %zu: %s", i, err);
        return st;
}

static void replay_rebuilds_the_same_state(void **state) {
        fx_t *fx = busy_account();
        acct_state_t *st = replay(fx->log, fx->n_log);
        bool seen[BG_EVT__COUNT] = { false };
        bg_uuid_t a, b;

        for (size_t i = 0; i < fx->n_log; i++)
                seen[fx->log[i].type] = true;
        for (int t = BG_EVT_NONE + 1; t < BG_EVT__COUNT; t++)
                if (!seen[t])
                        fail_msg("the busy account lacks %s", bg_event_type_name((bg_event_type_t)t));

        assert_int_equal(acct_version(st), acct_version(fx->st));
        assert_int_equal(acct_version(st), (int64_t)fx->n_log);
        assert_string_equal(acct_name(st), acct_name(fx->st));
        assert_true(acct_primary_group(st, &a) && acct_primary_group(fx->st, &b));
        assert_true(bg_uuid_equal(&a, &b));
        assert_int_equal(acct_member_count(st), 2);
        for (size_t i = 0; i < acct_member_count(st); i++) {
                assert_string_equal(acct_member_at(st, i)->user, acct_member_at(fx->st, i)->user);
                assert_int_equal(acct_member_at(st, i)->role, acct_member_at(fx->st, i)->role);
        }
        assert_int_equal(acct_group_count(st), 3);
        for (size_t i = 0; i < acct_group_count(st); i++) {
                const acct_group_t *x = acct_group_at(st, i), *y = acct_group_at(fx->st, i);

                assert_true(bg_uuid_equal(&x->id, &y->id));
                assert_string_equal(x->name, y->name);
                assert_int_equal(bg_profile_diff(prof_of(x), prof_of(y)), 0);
                assert_int_equal(x->deleted, y->deleted);
                assert_int_equal(x->n_live_projects, y->n_live_projects);
                assert_int_equal(x->n_claimed_credits, y->n_claimed_credits);
        }
        assert_null(acct_group_at(st, 3));
        assert_string_equal(acct_group_at(st, 1)->name, "Two!");
        assert_string_equal(prof_of(acct_group_at(st, 1))->city, "Turku");
        assert_true(acct_group_at(st, 2)->deleted);
        assert_int_equal(acct_group_at(st, 1)->n_live_projects, 1);     /* p1; p3 deleted */
        assert_int_equal(acct_group_at(st, 0)->n_live_projects, 1);     /* p2 */
        assert_int_equal(acct_project_count(st), 3);
        for (size_t i = 0; i < acct_project_count(st); i++) {
                const acct_project_t *x = acct_project_at(st, i), *y = acct_project_at(fx->st, i);

                assert_true(bg_uuid_equal(&x->id, &y->id));
                assert_true(bg_uuid_equal(&x->billing_group_id, &y->billing_group_id));
                assert_int_equal(x->deleted, y->deleted);
        }
        assert_true(acct_project_at(st, 2)->deleted);
        assert_int_equal(acct_credit_count(st), 2);
        assert_true(acct_credit_at(st, 0)->claimed);
        assert_true(acct_credit_at(st, 0)->has_project_id);
        assert_false(acct_credit_at(st, 1)->claimed);
        assert_int_equal(acct_command_count(st), acct_command_count(fx->st));
        for (size_t i = 0; i < fx->n_log; i++) {
                int64_t f1, l1, f2, l2;

                assert_true(acct_command_seqs(st, &fx->log[i].command_id, &f1, &l1));
                assert_true(acct_command_seqs(fx->st, &fx->log[i].command_id, &f2, &l2));
                assert_int_equal(f1, f2);
                assert_int_equal(l1, l2);
                assert_true(f1 <= fx->log[i].seq && fx->log[i].seq <= l1);
        }
        acct_state_destroy(st);
        fx_free(fx);
}

static void multi_event_command_has_one_range(void **state) {
        fx_t *fx = busy_account();
        int64_t first, last;
        size_t i;

        for (i = 0; i < fx->n_log; i++)
                if (fx->log[i].type == BG_EVT_PROJECT_MOVED)
                        break;
        assert_true(i + 1 < fx->n_log);
        assert_int_equal(fx->log[i + 1].type, BG_EVT_PROJECT_MOVED);
        assert_true(acct_command_seqs(fx->st, &fx->log[i].command_id, &first, &last));
        assert_int_equal(first, fx->log[i].seq);
        assert_int_equal(last, fx->log[i].seq + 1);
        fx_free(fx);
}

static void seq_gap_and_repeat_rejected(void **state) {
        fx_t *fx = busy_account();
        acct_state_t *st = acct_state_new();
        char err[256];

        assert_int_equal(acct_evolve(st, &fx->log[0], err, sizeof(err)), ACCT_OK);
        assert_int_equal(acct_evolve(st, &fx->log[2], err, sizeof(err)), ACCT_ERR_SEQ);
        assert_non_null(strstr(err, "event seq 3 (RoleGranted): expected seq 2"));
        assert_int_equal(acct_version(st), 1);
        assert_int_equal(acct_evolve(st, &fx->log[0], err, sizeof(err)), ACCT_ERR_SEQ);
        assert_int_equal(acct_evolve(st, &fx->log[1], err, sizeof(err)), ACCT_OK);
        assert_int_equal(acct_version(st), 2);
        assert_int_equal(acct_member_role(st, "ann@example.com"), BG_ROLE_ADMIN);
        assert_int_equal(acct_evolve(st, &fx->log[1], NULL, 0), ACCT_ERR_SEQ);
        acct_state_destroy(st);
        fx_free(fx);
}

static void envelope_checks(void **state) {
        fx_t *fx = busy_account();
        acct_state_t *st = acct_state_new();
        bg_event_t ev;
        char err[256];

        /* The first event must be AccountCreated. */
        ev = fx->log[1];
        ev.seq = 1;
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INCONSISTENT);
        assert_non_null(strstr(err, "the first event must be AccountCreated"));
        assert_int_equal(acct_version(st), 0);

        ev = fx->log[0];
        ev.type = BG_EVT__COUNT;
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INVALID);
        ev = fx->log[0];
        memset(&ev.event_id, 0, sizeof(ev.event_id));
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INVALID);
        ev = fx->log[0];
        memset(ev.actor, 'x', sizeof(ev.actor));
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INVALID);
        ev = fx->log[0];
        memset(ev.payload.account_created.name, 'n', sizeof(ev.payload.account_created.name));
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INVALID);
        assert_int_equal(acct_version(st), 0);

        assert_int_equal(acct_evolve(st, &fx->log[0], err, sizeof(err)), ACCT_OK);
        /* Created twice. */
        ev = fx->log[0];
        ev.seq = 2;
        ev.command_id = fx_id(K_COMMAND, 5000);
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INCONSISTENT);
        /* Another account's event. */
        ev = fx->log[1];
        ev.account_id = fx_id(K_ACCOUNT, 2);
        assert_int_equal(acct_evolve(st, &ev, err, sizeof(err)), ACCT_ERR_INVALID);
        assert_non_null(strstr(err, "in the log of account"));
        assert_int_equal(acct_version(st), 1);

        assert_int_equal(acct_evolve(NULL, &ev, err, sizeof(err)), ACCT_ERR_ARG);
        assert_int_equal(acct_evolve(st, NULL, err, sizeof(err)), ACCT_ERR_ARG);
        acct_state_destroy(st);
        fx_free(fx);
}

static void hash_chain_is_linked(void **state) {
        fx_t *fx = busy_account();
        acct_state_t *st = acct_state_new();
        bg_event_t e1 = fx->log[0], e2 = fx->log[1], e3 = fx->log[2];
        char err[256];

        memset(e1.hash, 0x11, BG_HASH_SIZE);
        memcpy(e2.prev_hash, e1.hash, BG_HASH_SIZE);
        memset(e2.hash, 0x22, BG_HASH_SIZE);
        memset(e3.prev_hash, 0x11, BG_HASH_SIZE);       /* skips e2's hash */

        /* The first event's prev_hash must be zero. */
        memset(e1.prev_hash, 0x01, BG_HASH_SIZE);
        assert_int_equal(acct_evolve(st, &e1, err, sizeof(err)), ACCT_ERR_INCONSISTENT);
        memset(e1.prev_hash, 0, BG_HASH_SIZE);
        assert_int_equal(acct_evolve(st, &e1, err, sizeof(err)), ACCT_OK);
        assert_memory_equal(acct_last_hash(st), e1.hash, BG_HASH_SIZE);
        assert_int_equal(acct_evolve(st, &e2, err, sizeof(err)), ACCT_OK);
        assert_memory_equal(acct_last_hash(st), e2.hash, BG_HASH_SIZE);
        assert_int_equal(acct_evolve(st, &e3, err, sizeof(err)), ACCT_ERR_INCONSISTENT);
        assert_non_null(strstr(err, "prev_hash"));
        assert_int_equal(acct_version(st), 2);
        memcpy(e3.prev_hash, e2.hash, BG_HASH_SIZE);
        assert_int_equal(acct_evolve(st, &e3, err, sizeof(err)), ACCT_OK);
        acct_state_destroy(st);
        fx_free(fx);
}

static void replayed_command_id_rejected(void **state) {
        fx_t *fx = fx_new();
        bg_event_t ev;
        char err[256];

        fx_create_account(fx);
        fx_grant(fx, "ann@example.com", BG_ROLE_VIEWER);
        fx_grant(fx, "bob@example.com", BG_ROLE_VIEWER);
        /* An event of the first GrantRole command again, after another command. */
        ev = fx->log[2];
        ev.seq = 4;
        FX_SET(ev.payload.role_granted.user, "cy@example.com");
        ev.command_id = fx->log[1].command_id;
        assert_int_equal(acct_evolve(fx->st, &ev, err, sizeof(err)), ACCT_ERR_INCONSISTENT);
        assert_non_null(strstr(err, "already produced seq 2..2"));
        /* Right after its own command it extends that command's range. */
        ev.command_id = fx->log[2].command_id;
        assert_int_equal(acct_evolve(fx->st, &ev, err, sizeof(err)), ACCT_OK);
        {
                int64_t first, last;

                assert_true(acct_command_seqs(fx->st, &ev.command_id, &first, &last));
                assert_int_equal(first, 3);
                assert_int_equal(last, 4);
        }
        fx_free(fx);
}

/* Events that contradict the state: each is refused and changes nothing. */
typedef void (*mutate_fn)(fx_t *fx, bg_event_t *ev);

static bg_event_t base_event(fx_t *fx, bg_event_type_t type) {
        bg_event_t ev;

        memset(&ev, 0, sizeof(ev));
        ev.event_id = fx_id(K_EVENT, 90000);
        ev.account_id = fx->account;
        ev.seq = acct_version(fx->st) + 1;
        ev.type = type;
        ev.occurred_at = NOW_MS;
        ev.command_id = fx_id(K_COMMAND, 90000);
        FX_SET(ev.actor, ACT_OWNER);
        memcpy(ev.prev_hash, acct_last_hash(fx->st), BG_HASH_SIZE);
        return ev;
}

/* Refused with @want and, when @says is not NULL, an error that contains it. */
static void expect_refused_saying(fx_t *fx, const bg_event_t *ev, acct_err_t want,
                                  const char *what, const char *says) {
        int64_t v = acct_version(fx->st);
        size_t groups = acct_group_count(fx->st), projects = acct_project_count(fx->st);
        size_t members = acct_member_count(fx->st), cmds = acct_command_count(fx->st);
        char err[256];
        acct_err_t got = acct_evolve(fx->st, ev, err, sizeof(err));

        if (got != want)
                fail_msg("%s: got %s (%s), want %s", what, acct_err_name(got), err,
                         acct_err_name(want));
        assert_true(err[0] != '\0');
        if (says != NULL && strstr(err, says) == NULL)
                fail_msg("%s: error \"%s\" lacks \"%s\"", what, err, says);
        assert_int_equal(acct_version(fx->st), v);
        assert_int_equal(acct_group_count(fx->st), groups);
        assert_int_equal(acct_project_count(fx->st), projects);
        assert_int_equal(acct_member_count(fx->st), members);
        assert_int_equal(acct_command_count(fx->st), cmds);
}

static void expect_refused(fx_t *fx, const bg_event_t *ev, acct_err_t want, const char *what) {
        expect_refused_saying(fx, ev, want, what, NULL);
}

static void inconsistent_events_refused(void **state) {
        fx_t *fx = busy_account();
        bg_event_t ev;
        bg_uuid_t g1 = fx_id(K_GROUP, 1), g2 = fx_id(K_GROUP, 2), g3 = fx_id(K_GROUP, 3);

        /* State: owner + ann admins; groups 1 (primary, p2), 2 (p1, credit C1), 3 deleted;
         * credits C1 claimed, C2 free. */
        ev = base_event(fx, BG_EVT_ROLE_GRANTED);
        FX_SET(ev.payload.role_granted.user, "ann@example.com");
        ev.payload.role_granted.role = BG_ROLE_VIEWER;
        ev.payload.role_granted.previous_role = BG_ROLE_NONE;   /* she is admin */
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "RoleGranted previous_role");
        ev.payload.role_granted.previous_role = BG_ROLE_ADMIN;
        ev.payload.role_granted.role = BG_ROLE_ADMIN;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "RoleGranted same role");
        ev.payload.role_granted.role = (bg_role_t)17;
        expect_refused(fx, &ev, ACCT_ERR_INVALID, "RoleGranted bad role");

        ev = base_event(fx, BG_EVT_ROLE_REVOKED);
        FX_SET(ev.payload.role_revoked.user, "bob@example.com");
        ev.payload.role_revoked.role = BG_ROLE_VIEWER;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "RoleRevoked non-member");

        ev = base_event(fx, BG_EVT_BILLING_GROUP_CREATED);
        ev.payload.billing_group_created.billing_group_id = g1;
        FX_SET(ev.payload.billing_group_created.name, "Again");
        acct_group_profile(acct_find_group(fx->st, &g1), &ev.payload.billing_group_created.profile);
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupCreated existing id");
        ev.payload.billing_group_created.billing_group_id = fx_id(K_GROUP, 40);
        ev.payload.billing_group_created.has_copied_from = true;
        ev.payload.billing_group_created.copied_from = g3;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupCreated deleted copied_from");
        ev.payload.billing_group_created.has_copied_from = false;
        ev.payload.billing_group_created.profile.billing_currency = BG_CURRENCY_UNSET;
        expect_refused(fx, &ev, ACCT_ERR_INVALID, "BillingGroupCreated unresolved profile");

        ev = base_event(fx, BG_EVT_BILLING_GROUP_RENAMED);
        ev.payload.billing_group_renamed.billing_group_id = g1;
        FX_SET(ev.payload.billing_group_renamed.previous_name, "Wrong");
        FX_SET(ev.payload.billing_group_renamed.name, "New");
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupRenamed previous_name");
        ev.payload.billing_group_renamed.billing_group_id = g3;
        FX_SET(ev.payload.billing_group_renamed.previous_name, "Three");
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupRenamed deleted group");

        ev = base_event(fx, BG_EVT_BILLING_PROFILE_UPDATED);
        ev.payload.billing_profile_updated.billing_group_id = g1;
        acct_group_profile(acct_find_group(fx->st, &g1), &ev.payload.billing_profile_updated.profile);
        FX_SET(ev.payload.billing_profile_updated.profile.city, "Vaasa");
        ev.payload.billing_profile_updated.changed = BG_PROFILE_F_STATE;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingProfileUpdated mask");
        ev.payload.billing_profile_updated.changed = 0;
        FX_SET(ev.payload.billing_profile_updated.profile.city, "");
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingProfileUpdated no change");
        ev.payload.billing_profile_updated.billing_group_id = g2;
        acct_group_profile(acct_find_group(fx->st, &g2), &ev.payload.billing_profile_updated.profile);
        ev.payload.billing_profile_updated.profile.billing_currency = BG_CURRENCY_USD;
        ev.payload.billing_profile_updated.changed = BG_PROFILE_F_BILLING_CURRENCY;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "currency change with claimed credit");

        ev = base_event(fx, BG_EVT_BILLING_GROUP_DELETED);
        ev.payload.billing_group_deleted.billing_group_id = g2;   /* has p1 */
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupDeleted with projects");
        ev.payload.billing_group_deleted.billing_group_id = g3;   /* already deleted */
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "BillingGroupDeleted twice");

        ev = base_event(fx, BG_EVT_PRIMARY_BILLING_GROUP_SET);
        ev.payload.primary_billing_group_set.billing_group_id = g2;
        ev.payload.primary_billing_group_set.has_previous = false;   /* g1 is */
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "PrimaryBillingGroupSet previous");
        ev.payload.primary_billing_group_set.has_previous = true;
        ev.payload.primary_billing_group_set.previous = g1;
        ev.payload.primary_billing_group_set.billing_group_id = g3;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "PrimaryBillingGroupSet deleted group");

        ev = base_event(fx, BG_EVT_PROJECT_CREATED);
        ev.payload.project_created.project_id = fx_id(K_PROJECT, 70);
        FX_SET(ev.payload.project_created.name, "p2");              /* live name */
        ev.payload.project_created.billing_group_id = g1;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectCreated name in use");
        FX_SET(ev.payload.project_created.name, "p70");
        ev.payload.project_created.billing_group_id = g3;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectCreated into deleted group");
        FX_SET(ev.payload.project_created.name, "P70");
        ev.payload.project_created.billing_group_id = g1;
        expect_refused(fx, &ev, ACCT_ERR_INVALID, "ProjectCreated bad name");

        ev = base_event(fx, BG_EVT_PROJECT_MOVED);
        ev.payload.project_moved.project_id = fx_id(K_PROJECT, 1);   /* in g2 */
        ev.payload.project_moved.from_billing_group_id = g1;
        ev.payload.project_moved.to_billing_group_id = g2;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectMoved wrong from");
        ev.payload.project_moved.from_billing_group_id = g2;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectMoved to the same group");
        ev.payload.project_moved.to_billing_group_id = g3;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectMoved to deleted group");
        ev.payload.project_moved.project_id = fx_id(K_PROJECT, 3);   /* deleted */
        ev.payload.project_moved.to_billing_group_id = g1;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectMoved deleted project");

        ev = base_event(fx, BG_EVT_PROJECT_DELETED);
        ev.payload.project_deleted.project_id = fx_id(K_PROJECT, 1);
        ev.payload.project_deleted.billing_group_id = g1;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectDeleted wrong group");

        ev = base_event(fx, BG_EVT_CREDIT_ISSUED);
        FX_SET(ev.payload.credit_issued.code, "C2");
        ev.payload.credit_issued.value = 1;
        ev.payload.credit_issued.currency = BG_CURRENCY_EUR;
        ev.payload.credit_issued.type = BG_CREDIT_TYPE_OTHER;
        ev.payload.credit_issued.start_time = 1;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditIssued duplicate code");
        FX_SET(ev.payload.credit_issued.code, "C3");
        ev.payload.credit_issued.value = 0;
        expect_refused(fx, &ev, ACCT_ERR_INVALID, "CreditIssued zero value");

        ev = base_event(fx, BG_EVT_CREDIT_CLAIMED);
        FX_SET(ev.payload.credit_claimed.code, "C1");
        ev.payload.credit_claimed.billing_group_id = g1;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditClaimed twice");
        FX_SET(ev.payload.credit_claimed.code, "C9");
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditClaimed unknown");
        FX_SET(ev.payload.credit_claimed.code, "C2");
        ev.occurred_at = NOW_MS + 86400000;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditClaimed after expiry");
        ev.occurred_at = NOW_MS;
        ev.payload.credit_claimed.has_project_id = true;
        ev.payload.credit_claimed.project_id = fx_id(K_PROJECT, 1);  /* in g2, not g1 */
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditClaimed project elsewhere");

        /* And the well-formed version of the last one is accepted. */
        ev.payload.credit_claimed.project_id = fx_id(K_PROJECT, 2);
        assert_int_equal(acct_evolve(fx->st, &ev, NULL, 0), ACCT_OK);
        assert_true(acct_find_credit(fx->st, "C2")->claimed);
        fx_free(fx);
}

/* State of busy_account, as in inconsistent_events_refused: g1 primary (p2), g2 (p1),
 * g3 deleted, p3 deleted. Each test below refuses one contradiction with the error that
 * names it, then evolves the consistent form, so the refusal is about nothing else. */

static void primary_set_to_the_group_already_primary_refused(void **state) {
        fx_t *fx = busy_account();
        bg_event_t ev;
        bg_uuid_t g1 = fx_id(K_GROUP, 1), g2 = fx_id(K_GROUP, 2), primary;

        ev = base_event(fx, BG_EVT_PRIMARY_BILLING_GROUP_SET);
        ev.payload.primary_billing_group_set.billing_group_id = g1;
        ev.payload.primary_billing_group_set.has_previous = true;
        ev.payload.primary_billing_group_set.previous = g1;
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "PrimaryBillingGroupSet again",
                              "already the primary group");
        assert_true(acct_primary_group(fx->st, &primary));
        assert_true(bg_uuid_equal(&primary, &g1));

        ev.payload.primary_billing_group_set.billing_group_id = g2;
        assert_int_equal(acct_evolve(fx->st, &ev, NULL, 0), ACCT_OK);
        fx_free(fx);
}

static void project_created_with_an_existing_id_refused(void **state) {
        fx_t *fx = busy_account();
        bg_event_t ev;
        bg_uuid_t g1 = fx_id(K_GROUP, 1);

        /* A live project's id (p2) and a deleted one's (p3), under a free name. */
        ev = base_event(fx, BG_EVT_PROJECT_CREATED);
        ev.payload.project_created.project_id = fx_id(K_PROJECT, 2);
        FX_SET(ev.payload.project_created.name, "p70");
        ev.payload.project_created.billing_group_id = g1;
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectCreated live id",
                              "project \"05000000-0000-4000-8000-000000000002\" already exists");
        ev.payload.project_created.project_id = fx_id(K_PROJECT, 3);
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectCreated deleted id",
                              "project \"05000000-0000-4000-8000-000000000003\" already exists");
        assert_null(acct_find_live_project_by_name(fx->st, "p70"));
        assert_int_equal(acct_find_group(fx->st, &g1)->n_live_projects, 1);

        ev.payload.project_created.project_id = fx_id(K_PROJECT, 70);
        assert_int_equal(acct_evolve(fx->st, &ev, NULL, 0), ACCT_OK);
        fx_free(fx);
}

static void credit_claimed_in_another_currency_refused(void **state) {
        fx_t *fx = busy_account();
        bg_event_t ev;
        bg_uuid_t g1 = fx_id(K_GROUP, 1);

        fx_issue_credit(fx, "USD1", 1000000, BG_CURRENCY_USD);
        ev = base_event(fx, BG_EVT_CREDIT_CLAIMED);
        FX_SET(ev.payload.credit_claimed.code, "USD1");
        ev.payload.credit_claimed.billing_group_id = g1;        /* bills in EUR */
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "CreditClaimed other currency",
                              "credit currency mismatch");
        assert_false(acct_find_credit(fx->st, "USD1")->claimed);
        assert_int_equal(acct_find_group(fx->st, &g1)->n_claimed_credits, 0);

        FX_SET(ev.payload.credit_claimed.code, "C2");           /* EUR */
        assert_int_equal(acct_evolve(fx->st, &ev, NULL, 0), ACCT_OK);
        fx_free(fx);
}

static void deleting_a_missing_or_deleted_project_refused(void **state) {
        fx_t *fx = busy_account();
        bg_event_t ev;
        bg_uuid_t g1 = fx_id(K_GROUP, 1), g2 = fx_id(K_GROUP, 2);

        ev = base_event(fx, BG_EVT_PROJECT_DELETED);
        ev.payload.project_deleted.project_id = fx_id(K_PROJECT, 99);
        ev.payload.project_deleted.billing_group_id = g1;
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectDeleted unknown",
                              "no project \"05000000-0000-4000-8000-000000000063\"");
        ev.payload.project_deleted.project_id = fx_id(K_PROJECT, 3);   /* deleted, was in g2 */
        ev.payload.project_deleted.billing_group_id = g2;
        expect_refused_saying(fx, &ev, ACCT_ERR_INCONSISTENT, "ProjectDeleted twice",
                              "no project \"05000000-0000-4000-8000-000000000003\"");
        assert_int_equal(acct_find_group(fx->st, &g2)->n_live_projects, 1);

        ev.payload.project_deleted.project_id = fx_id(K_PROJECT, 1);   /* live, in g2 */
        assert_int_equal(acct_evolve(fx->st, &ev, NULL, 0), ACCT_OK);
        assert_int_equal(acct_find_group(fx->st, &g2)->n_live_projects, 0);
        fx_free(fx);
}

static void last_admin_protected_in_evolve(void **state) {
        fx_t *fx = fx_new();
        bg_event_t ev;

        fx_create_account(fx);
        ev = base_event(fx, BG_EVT_ROLE_REVOKED);
        FX_SET(ev.payload.role_revoked.user, OWNER);
        ev.payload.role_revoked.role = BG_ROLE_ADMIN;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "RoleRevoked last admin");
        ev = base_event(fx, BG_EVT_ROLE_GRANTED);
        FX_SET(ev.payload.role_granted.user, OWNER);
        ev.payload.role_granted.role = BG_ROLE_VIEWER;
        ev.payload.role_granted.previous_role = BG_ROLE_ADMIN;
        expect_refused(fx, &ev, ACCT_ERR_INCONSISTENT, "RoleGranted demotes last admin");
        fx_free(fx);
}

static void empty_state_queries(void **state) {
        acct_state_t *st = acct_state_new();
        static const uint8_t zero[BG_HASH_SIZE];
        bg_uuid_t any = fx_id(K_GROUP, 1);

        assert_int_equal(acct_version(st), 0);
        assert_false(acct_exists(st));
        assert_true(bg_uuid_is_nil(acct_account_id(st)));
        assert_string_equal(acct_name(st), "");
        assert_memory_equal(acct_last_hash(st), zero, BG_HASH_SIZE);
        assert_null(acct_find_group(st, &any));
        assert_null(acct_find_project(st, &any));
        assert_null(acct_find_credit(st, "X"));
        assert_null(acct_member_at(st, 0));
        assert_false(acct_command_seqs(st, &any, NULL, NULL));
        assert_int_equal(acct_command_count(st), 0);
        acct_state_destroy(st);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(replay_rebuilds_the_same_state),
                cmocka_unit_test(multi_event_command_has_one_range),
                cmocka_unit_test(seq_gap_and_repeat_rejected),
                cmocka_unit_test(envelope_checks),
                cmocka_unit_test(hash_chain_is_linked),
                cmocka_unit_test(replayed_command_id_rejected),
                cmocka_unit_test(inconsistent_events_refused),
                cmocka_unit_test(primary_set_to_the_group_already_primary_refused),
                cmocka_unit_test(project_created_with_an_existing_id_refused),
                cmocka_unit_test(credit_claimed_in_another_currency_refused),
                cmocka_unit_test(deleting_a_missing_or_deleted_project_refused),
                cmocka_unit_test(last_admin_protected_in_evolve),
                cmocka_unit_test(empty_state_queries),
        };
        return cmocka_run_group_tests_name("acct_evolve", tests, NULL, NULL);
}
