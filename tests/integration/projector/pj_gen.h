/*
 * pj_gen: valid event streams made by the domain itself, for the projector's tests and
 * benchmark. Commands go through acct_decide; each event is chained (prev_hash, hash over
 * the canonical encoding), encoded with the codec and folded with acct_evolve, exactly as
 * the commands service appends them. No Kafka, no PostgreSQL, no cmocka.
 *
 * Random stories are deterministic for a seed (ids included), so two runs produce the
 * same log.
 */
#ifndef PJ_GEN_H
#define PJ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "bg_command.h"
#include "bg_event.h"

#define PJG_OWNER_ACTOR   "user:owner@example.com"
#define PJG_SERVICE_ACTOR "service:billing"

typedef struct pjg_s pjg_t;
typedef struct pjg_account_s pjg_account_t;

/* Receives each event and its framed encoding (valid during the call). */
typedef void (*pjg_emit_fn)(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len);

/* A generator using the schemas of @schemas_dir, random stream @seed, clock starting at
 * @start_ms (each command advances it one second). NULL with a reason. */
pjg_t *pjg_new(const char *schemas_dir, uint64_t seed, int64_t start_ms, char *errstr,
               size_t errstr_size);
void pjg_destroy(pjg_t *g);

/* A new account (not created yet: its first step is CreateAccount). */
pjg_account_t *pjg_account_new(pjg_t *g);
void pjg_account_destroy(pjg_account_t *a);
const bg_uuid_t *pjg_account_id(const pjg_account_t *a);
const acct_state_t *pjg_account_state(const pjg_account_t *a);

/* Decides @cmd (type and payload set by the caller; the envelope is filled here, actor
 * @actor) for @a and emits its events. Returns the number of events, or -1 when the
 * command was rejected (the reason in @why). */
int pjg_decide(pjg_t *g, pjg_account_t *a, bg_command_t *cmd, const char *actor,
               pjg_emit_fn emit, void *opaque, char *why, size_t why_size);

/* One random, plausible command for @a (create groups and projects, move projects,
 * rename, update profiles, grant and revoke roles, issue and claim credits, delete ...).
 * Returns the number of events emitted (0 when the pick was rejected). */
int pjg_random_step(pjg_t *g, pjg_account_t *a, pjg_emit_fn emit, void *opaque);

/* Commands rejected so far by random steps (a handful is normal). */
uint64_t pjg_rejections(const pjg_t *g);

#endif /* PJ_GEN_H */
