/* Test fixture for the domain core: a state, a deterministic ctx, command builders and
 * decide-then-evolve helpers that assert every step. */
#ifndef DOMAIN_FIXTURE_H
#define DOMAIN_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "acct.h"

#define OWNER        "owner@example.com"
#define ACT_OWNER    "user:owner@example.com"
#define ACT_SERVICE  "service:platform"
#define NOW_MS       INT64_C(1764172800000)     /* 2025-11-26T16:00:00Z */

enum { K_ACCOUNT = 1, K_COMMAND, K_EVENT, K_GROUP, K_PROJECT };

typedef struct fx_s {
        acct_state_t *st;
        acct_ctx_t ctx;
        uint32_t next_event;
        uint32_t next_command;
        bg_uuid_t account;
        bg_command_t *cmd;                      /* the command being built */
        acct_decision_t d;                      /* the last decision */
        bg_event_t *log;                        /* every event applied, in order */
        size_t n_log, cap_log;
} fx_t;

/* A distinct id per (kind, n); never nil for n > 0. */
bg_uuid_t fx_id(uint8_t kind, uint32_t n);

fx_t *fx_new(void);
void fx_free(fx_t *fx);

/* Resets fx->cmd to a fresh command (new command_id, the fixture account) and returns it. */
bg_command_t *fx_cmd(fx_t *fx, bg_command_type_t type, const char *actor);
/* Gives fx->cmd a fresh command_id (to decide it again as a new command). */
void fx_renew(fx_t *fx);
/* Decides fx->cmd; asserts ACCT_OK and that the state was not modified. */
acct_decision_t *fx_decide(fx_t *fx);
/* Evolves the state with every event of the last decision, asserting each succeeds. */
void fx_apply(fx_t *fx);
/* Decides fx->cmd, asserts it was accepted with @n_events events, applies them. */
void fx_accept(fx_t *fx, size_t n_events);
/* Decides fx->cmd, asserts the rejection code and that the message contains @substr. */
void fx_reject(fx_t *fx, bg_reject_code_t code, const char *substr);

/* Setup steps (each accepted and applied, asserting). */
void fx_create_account(fx_t *fx);
void fx_grant(fx_t *fx, const char *user, bg_role_t role);
void fx_create_group(fx_t *fx, uint32_t group, const char *name, bg_currency_t currency);
void fx_set_primary(fx_t *fx, uint32_t group);
void fx_create_project(fx_t *fx, uint32_t project, const char *name, uint32_t group);
void fx_issue_credit(fx_t *fx, const char *code, int64_t value, bg_currency_t currency);

/* Copies a string into a fixed-size field, asserting it fits. */
#define FX_SET(field, str)                                              \
        do {                                                            \
                assert_true(strlen(str) < sizeof(field));               \
                memcpy((field), (str), strlen(str) + 1);                \
        } while (0)

#endif /* DOMAIN_FIXTURE_H */
