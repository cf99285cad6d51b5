/*
 * bg_hashchain: the audit hash chain of an account's events (DESIGN.md section 7).
 *
 *   hash = SHA-256(prev_hash || canonical event bytes with the hash field empty)
 *
 * where prev_hash is the hash of the account's previous event, or 32 zero bytes for its
 * first event (seq 1). The module does not know the event encoding: callers pass the
 * canonical bytes that the codec produced.
 *
 * Verification walks one account's events in log order and stops at the first problem:
 * a changed event, a dropped one (seq gap), a duplicated one (seq repeats), reordered
 * ones (seq goes back, or prev_hash is not the previous event's hash), or a first event
 * whose prev_hash is not zero. All functions are thread-safe; a bg_hash_chain_t belongs to
 * one caller at a time.
 */
#ifndef BG_HASHCHAIN_H
#define BG_HASHCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BG_HASH_LEN      32   /* bytes of a SHA-256 hash */
#define BG_HASH_HEX_SIZE 65   /* 64 lower-case hex digits + NUL */

/* Size of the reason text in bg_hash_problem_t. */
#define BG_HASH_REASON_SIZE 256

typedef enum {
        BG_HASH_OK = 0,
        BG_HASH_CHANGED,            /* hash != SHA-256(prev_hash || canonical): edited event */
        BG_HASH_GAP,                /* seq skips ahead: events dropped */
        BG_HASH_DUPLICATE,          /* seq repeats one already seen */
        BG_HASH_REORDERED,          /* seq goes back, or prev_hash != previous event's hash */
        BG_HASH_FIRST_PREV_NOT_ZERO,/* the first event (seq 1) has a non-zero prev_hash */
        BG_HASH_BAD_SEQ,            /* seq < 1 */
        BG_HASH_CRYPTO_FAILED,      /* libcrypto failed (out of memory): nothing verified */
} bg_hash_status_t;

/* One event as the verifier sees it. The codec must have checked that the hash fields
 * are exactly 32 bytes before filling this in. */
typedef struct bg_hash_link_s {
        int64_t        hl_seq;
        uint8_t        hl_prev[BG_HASH_LEN];   /* prev_hash as stored in the event */
        uint8_t        hl_hash[BG_HASH_LEN];   /* hash as stored in the event */
        const uint8_t *hl_canonical;           /* canonical encoding, hash field empty */
        size_t         hl_canonical_len;
} bg_hash_link_t;

/* Where one account's chain stands: the last accepted event. Zeroed (bg_hash_chain_init)
 * before the account's first event. To resume from a trusted checkpoint, set hc_seq and
 * hc_hash to that event's seq and hash. */
typedef struct bg_hash_chain_s {
        int64_t hc_seq;                 /* 0 before the first event */
        uint8_t hc_hash[BG_HASH_LEN];   /* zeros before the first event */
} bg_hash_chain_t;

/* The first problem bg_hash_verify() found. */
typedef struct bg_hash_problem_s {
        bg_hash_status_t hp_status;
        size_t           hp_index;     /* position in the array passed in */
        int64_t          hp_seq;       /* seq of the event at hp_index */
        char             hp_reason[BG_HASH_REASON_SIZE];
} bg_hash_problem_t;

/* A static, never-NULL name for @status ("changed", "gap"...). */
const char *bg_hash_status2str(bg_hash_status_t status);

/* @out = SHA-256(@prev || the @len bytes at @canonical), through the libcrypto EVP API.
 * @canonical may be NULL when @len is 0. Returns false only when libcrypto fails (out of
 * memory); @out is then all 0xff, which no verifier accepts as a hash it computed. */
bool bg_hash_event(const uint8_t prev[BG_HASH_LEN], const uint8_t *canonical, size_t len,
                   uint8_t out[BG_HASH_LEN]);

/* Resets @hc to "before the first event". */
void bg_hash_chain_init(bg_hash_chain_t *hc);

/* Checks that @link follows the events @hc has accepted, in this order: seq (BAD_SEQ,
 * DUPLICATE when seq equals the last one, REORDERED when it is lower, GAP when it is more
 * than one higher), then prev_hash (FIRST_PREV_NOT_ZERO for seq 1, REORDERED when it is
 * not the last accepted hash), then the hash itself (CHANGED). On BG_HASH_OK the event is
 * accepted: @hc moves to it. On any problem @hc is unchanged and a reason that names the
 * seq goes into @errstr (may be NULL when @errstr_size is 0). */
bg_hash_status_t bg_hash_chain_check(bg_hash_chain_t *hc, const bg_hash_link_t *link,
                                     char *errstr, size_t errstr_size);

/* Verifies the @n events of one account at @links, in log order, from the account's first
 * event. Returns BG_HASH_OK when the chain is intact; otherwise the status of the first
 * problem, also written with its position, seq and reason to *problem (when not NULL).
 * Beyond bg_hash_chain_check(), knowing the whole sequence lets it tell a reorder from a
 * drop (a gap whose missing seq comes later is REORDERED) and a duplicate from a reorder
 * (a seq going back to an identical copy of an earlier event is DUPLICATE). */
bg_hash_status_t bg_hash_verify(const bg_hash_link_t *links, size_t n,
                                bg_hash_problem_t *problem);

/* Writes @hash as 64 lower-case hex digits and a NUL into @out. */
void bg_hash_to_hex(const uint8_t hash[BG_HASH_LEN], char out[BG_HASH_HEX_SIZE]);

/* Reads exactly @len == 64 hex digits (either case) at @hex into @out. Returns false,
 * leaving @out zeroed, on any other input. @hex need not be NUL-terminated. */
bool bg_hash_from_hex(const char *hex, size_t len, uint8_t out[BG_HASH_LEN]);

/* True when @hash is 32 zero bytes (the prev_hash of an account's first event). */
bool bg_hash_is_zero(const uint8_t hash[BG_HASH_LEN]);

#endif /* BG_HASHCHAIN_H */
