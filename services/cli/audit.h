/*
 * audit: the verifier of `billingctl audit verify` (DESIGN.md section 7), without Kafka.
 *
 * Records of the events topic go in one at a time, in the order of their partition
 * (audit_record). For each: decode (codec), check the key and the partition against the
 * account, check the seq and the hash chain of the account (bg_hash_chain_check over the
 * canonical bytes of the received message, codec_event_canonical_wire), then fold the
 * event into the account's state with the shared acct_evolve.
 *
 * A problem is noted, never fatal, and the walk resynchronises so that one tampered event
 * is reported once, not as a cascade:
 *   changed     hash != SHA-256(prev_hash || canonical): the chain moves on to the stored
 *               hash, so the next event verifies again
 *   missing     seq jumps ahead: the chain resumes at the new event's prev_hash
 *   chain       prev_hash is not the hash of the previous event (or not zero for seq 1)
 *   duplicate   a seq already verified appears again (identical copy or not)
 *   reordered   a seq that was reported missing arrives later (the "missing" report of
 *               that seq is then withdrawn)
 *   partition   an account's events in two partitions, or a key that is not the account
 *   undecodable the record is not an event the codec accepts
 *   fold        acct_evolve refused the event (the log contradicts the domain rules)
 * After an account's first changed, chain, missing, undecodable or fold problem its state
 * is no longer folded ("tainted"): a state rebuilt from a broken chain proves nothing, and
 * the read-model comparison skips the account. Skipped duplicates and late arrivals, and
 * a wrong key or partition, leave the state as it is.
 *
 * Memory: one account record and one acct_state_t per account (bg_uuidmap); the event
 * buffer is reused, so a record costs no allocation once its account exists.
 *
 * @locality one thread.
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "bg_hashchain.h"
#include "bg_uuid.h"
#include "codec.h"

typedef enum {
        AUDIT_P_CHANGED = 0,
        AUDIT_P_MISSING,
        AUDIT_P_CHAIN,
        AUDIT_P_DUPLICATE,
        AUDIT_P_REORDERED,
        AUDIT_P_PARTITION,
        AUDIT_P_UNDECODABLE,
        AUDIT_P_FOLD,
        AUDIT_P__COUNT
} audit_pkind_t;

/* "changed", "missing" ... (static). */
const char *audit_pkind_name(audit_pkind_t k);

#define AUDIT_REASON_SIZE 512

typedef struct audit_problem_s {
        audit_pkind_t ap_kind;
        bool ap_has_account;            /* false: undecodable and the key is no UUID */
        bg_uuid_t ap_account;
        int64_t ap_seq;                 /* 0 when unknown */
        int64_t ap_seq_last;            /* missing: last seq of the range (= ap_seq: one) */
        int32_t ap_partition;
        int64_t ap_offset;
        char ap_reason[AUDIT_REASON_SIZE];
        /* internal */
        bool ap_withdrawn;              /* missing, and every seq of it arrived later */
        int64_t ap_late;                /* missing: seqs of the range that arrived later */
        size_t ap_next_of_account;      /* index + 1 of the account's next problem, 0: none */
} audit_problem_t;

/* What the verifier knows of one account. */
typedef struct audit_acct_s {
        bg_uuid_t aa_id;
        bg_hash_chain_t aa_chain;       /* last verified (or resynchronised) event */
        acct_state_t *aa_state;         /* folded up to aa_state's version */
        int32_t aa_partition;
        bool aa_tainted;                /* not folded after aa_tainted_seq */
        int64_t aa_tainted_seq;
        int64_t aa_events;              /* records of this account seen */
        char aa_owner[BG_EMAIL_SIZE];   /* from AccountCreated (not in acct_state_t) */
        int64_t aa_created_at;
        size_t aa_first_problem;        /* index + 1, 0: none */
        size_t aa_last_problem;
} audit_acct_t;

typedef struct audit_s audit_t;

/* A verifier decoding with @codec (borrowed). Keeps at most @max_problems problems with
 * their details (more are counted). NULL when out of memory. */
audit_t *audit_new(codec_t *codec, size_t max_problems);
void audit_destroy(audit_t *a);        /* NULL is a no-op */

/* Verifies one record of the events topic. @key may be NULL. Returns 0, or -1 when out of
 * memory or libcrypto failed (nothing more can be verified; the reason in @errstr). */
int audit_record(audit_t *a, int32_t partition, int64_t offset, const void *key,
                 size_t key_len, const void *value, size_t len, char *errstr,
                 size_t errstr_size);

/* Notes a problem found outside audit_record (an account in two verifiers' partitions).
 * @account may be NULL. */
void audit_add_problem(audit_t *a, audit_pkind_t kind, const bg_uuid_t *account, int64_t seq,
                       int32_t partition, int64_t offset, const char *reason);

/* Counters. */
uint64_t audit_events(const audit_t *a);
size_t audit_account_count(const audit_t *a);
/* Problems found (including those past max_problems, not counting withdrawn ones). */
uint64_t audit_problem_count(const audit_t *a);

/* The problems kept, in the order found; withdrawn ones have ap_withdrawn set. */
const audit_problem_t *audit_problems(const audit_t *a, size_t *n);

/* Iterates the accounts in no particular order: *pos = 0 first; false at the end. */
bool audit_next_account(const audit_t *a, size_t *pos, audit_acct_t **out);
audit_acct_t *audit_find_account(const audit_t *a, const bg_uuid_t *id);

/* "account <id> seq <n>: <kind>: <reason> (partition P offset O)" into @buf. */
void audit_problem_format(const audit_problem_t *p, char *buf, size_t size);

#endif /* AUDIT_H */
