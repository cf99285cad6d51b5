#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_uuidmap.h"

struct audit_s {
        codec_t *a_codec;
        bg_uuidmap_t *a_accounts;       /* id -> audit_acct_t */
        bg_event_t *a_ev;               /* the record being verified (reused) */
        audit_problem_t *a_problems;
        size_t a_nproblems, a_capproblems, a_maxproblems;
        uint64_t a_problem_count;
        uint64_t a_events;
};

static const char *const pkind_names[AUDIT_P__COUNT] = {
        [AUDIT_P_CHANGED] = "changed",     [AUDIT_P_MISSING] = "missing",
        [AUDIT_P_CHAIN] = "chain",         [AUDIT_P_DUPLICATE] = "duplicate",
        [AUDIT_P_REORDERED] = "reordered", [AUDIT_P_PARTITION] = "partition",
        [AUDIT_P_UNDECODABLE] = "undecodable", [AUDIT_P_FOLD] = "fold",
};

const char *audit_pkind_name(audit_pkind_t k) {
        return k < AUDIT_P__COUNT ? pkind_names[k] : "unknown";
}

audit_t *audit_new(codec_t *codec, size_t max_problems) {
        audit_t *a = calloc(1, sizeof(*a));

        if (a == NULL)
                return NULL;
        a->a_codec = codec;
        a->a_maxproblems = max_problems;
        a->a_accounts = bg_uuidmap_new();
        a->a_ev = malloc(sizeof(*a->a_ev));
        if (a->a_accounts == NULL || a->a_ev == NULL) {
                audit_destroy(a);
                return NULL;
        }
        return a;
}

void audit_destroy(audit_t *a) {
        size_t pos = 0;
        void *v;

        if (a == NULL)
                return;
        while (a->a_accounts != NULL && bg_uuidmap_next(a->a_accounts, &pos, NULL, &v)) {
                audit_acct_t *aa = v;
                acct_state_destroy(aa->aa_state);
                free(aa);
        }
        bg_uuidmap_destroy(a->a_accounts);
        free(a->a_ev);
        free(a->a_problems);
        free(a);
}

uint64_t audit_events(const audit_t *a) {
        return a->a_events;
}

size_t audit_account_count(const audit_t *a) {
        return bg_uuidmap_count(a->a_accounts);
}

uint64_t audit_problem_count(const audit_t *a) {
        return a->a_problem_count;
}

const audit_problem_t *audit_problems(const audit_t *a, size_t *n) {
        *n = a->a_nproblems;
        return a->a_problems;
}

bool audit_next_account(const audit_t *a, size_t *pos, audit_acct_t **out) {
        void *v;

        if (!bg_uuidmap_next(a->a_accounts, pos, NULL, &v))
                return false;
        *out = v;
        return true;
}

audit_acct_t *audit_find_account(const audit_t *a, const bg_uuid_t *id) {
        return bg_uuidmap_get(a->a_accounts, id);
}

/* Notes a problem (kept when there is room) and returns it, or NULL when only counted. */
__attribute__((format(printf, 8, 9)))
static audit_problem_t *problem(audit_t *a, audit_acct_t *aa, audit_pkind_t kind,
                                const bg_uuid_t *account, int64_t seq, int32_t partition,
                                int64_t offset, const char *fmt, ...) {
        audit_problem_t *p;
        va_list ap;

        a->a_problem_count++;
        if (a->a_nproblems >= a->a_maxproblems)
                return NULL;
        if (a->a_nproblems == a->a_capproblems) {
                size_t ncap = a->a_capproblems ? a->a_capproblems * 2 : 16;
                audit_problem_t *np = realloc(a->a_problems, ncap * sizeof(*np));
                if (np == NULL)
                        return NULL;            /* counted, not kept */
                a->a_problems = np;
                a->a_capproblems = ncap;
        }
        p = &a->a_problems[a->a_nproblems++];
        memset(p, 0, sizeof(*p));
        p->ap_kind = kind;
        if (account != NULL) {
                p->ap_has_account = true;
                p->ap_account = *account;
        }
        p->ap_seq = p->ap_seq_last = seq;
        p->ap_partition = partition;
        p->ap_offset = offset;
        va_start(ap, fmt);
        vsnprintf(p->ap_reason, sizeof(p->ap_reason), fmt, ap);
        va_end(ap);
        if (aa != NULL) {
                if (aa->aa_last_problem != 0)
                        a->a_problems[aa->aa_last_problem - 1].ap_next_of_account = a->a_nproblems;
                else
                        aa->aa_first_problem = a->a_nproblems;
                aa->aa_last_problem = a->a_nproblems;
        }
        return p;
}

void audit_add_problem(audit_t *a, audit_pkind_t kind, const bg_uuid_t *account, int64_t seq,
                       int32_t partition, int64_t offset, const char *reason) {
        audit_acct_t *aa = account ? bg_uuidmap_get(a->a_accounts, account) : NULL;

        problem(a, aa, kind, account, seq, partition, offset, "%s", reason);
}

static void taint(audit_acct_t *aa, int64_t seq) {
        if (!aa->aa_tainted) {
                aa->aa_tainted = true;
                aa->aa_tainted_seq = seq;
        }
}

static audit_acct_t *account_get(audit_t *a, const bg_uuid_t *id, int32_t partition) {
        audit_acct_t *aa = bg_uuidmap_get(a->a_accounts, id);

        if (aa != NULL)
                return aa;
        aa = calloc(1, sizeof(*aa));
        if (aa == NULL)
                return NULL;
        aa->aa_id = *id;
        aa->aa_partition = partition;
        bg_hash_chain_init(&aa->aa_chain);
        aa->aa_state = acct_state_new();
        if (aa->aa_state == NULL || !bg_uuidmap_put(a->a_accounts, id, aa)) {
                acct_state_destroy(aa->aa_state);
                free(aa);
                return NULL;
        }
        return aa;
}

/* A seq lower than or equal to the last one verified: a copy of a verified event, or one
 * that was reported missing and arrives late (then it is a reorder, and the "missing"
 * report of its seq is withdrawn once all its seqs have arrived). */
static void late_arrival(audit_t *a, audit_acct_t *aa, const bg_event_t *ev,
                         int32_t partition, int64_t offset, bool same_as_last) {
        for (size_t i = aa->aa_first_problem; i != 0; i = a->a_problems[i - 1].ap_next_of_account) {
                audit_problem_t *g = &a->a_problems[i - 1];
                if (g->ap_kind == AUDIT_P_MISSING && ev->seq >= g->ap_seq &&
                    ev->seq <= g->ap_seq_last) {
                        if (!g->ap_withdrawn && ++g->ap_late > g->ap_seq_last - g->ap_seq) {
                                g->ap_withdrawn = true;
                                a->a_problem_count--;
                        }
                        problem(a, aa, AUDIT_P_REORDERED, &ev->account_id, ev->seq, partition,
                                offset, "out of order: arrives after seq %" PRId64,
                                aa->aa_chain.hc_seq);
                        return;
                }
        }
        if (same_as_last)
                problem(a, aa, AUDIT_P_DUPLICATE, &ev->account_id, ev->seq, partition, offset,
                        "seq %" PRId64 " appears again (identical copy)", ev->seq);
        else
                problem(a, aa, AUDIT_P_DUPLICATE, &ev->account_id, ev->seq, partition, offset,
                        "seq %" PRId64 " appears again after seq %" PRId64
                        " (a repeated or conflicting event)", ev->seq, aa->aa_chain.hc_seq);
}

static void hex8(const uint8_t *h, char out[17]) {
        char full[BG_HASH_HEX_SIZE];

        bg_hash_to_hex(h, full);
        memcpy(out, full, 16);
        out[16] = '\0';
}

int audit_record(audit_t *a, int32_t partition, int64_t offset, const void *key,
                 size_t key_len, const void *value, size_t len, char *errstr,
                 size_t errstr_size) {
        bg_event_t *ev = a->a_ev;
        char why[AUDIT_REASON_SIZE], idtxt[BG_UUID_STR_LEN + 1];
        const uint8_t *canon;
        size_t canon_len;
        bg_hash_link_t link;
        bg_hash_status_t hs;
        audit_acct_t *aa;
        codec_err_t cerr;

        a->a_events++;
        cerr = codec_decode_event(a->a_codec, value, len, ev, why, sizeof(why));
        if (cerr != CODEC_OK) {
                bg_uuid_t kid;
                bool has = key != NULL && bg_uuid_parse(key, key_len, &kid);
                audit_acct_t *ka = has ? bg_uuidmap_get(a->a_accounts, &kid) : NULL;
                problem(a, ka, AUDIT_P_UNDECODABLE, has ? &kid : NULL, 0, partition, offset,
                        "cannot decode event: %s", why);
                if (ka != NULL)
                        taint(ka, ka->aa_chain.hc_seq + 1);
                return 0;
        }
        aa = account_get(a, &ev->account_id, partition);
        if (aa == NULL) {
                snprintf(errstr, errstr_size, "out of memory after %" PRIu64 " events",
                         a->a_events);
                return -1;
        }
        aa->aa_events++;

        bg_uuid_format(&ev->account_id, idtxt);
        if (key == NULL || key_len != BG_UUID_STR_LEN || memcmp(key, idtxt, BG_UUID_STR_LEN) != 0)
                problem(a, aa, AUDIT_P_PARTITION, &ev->account_id, ev->seq, partition, offset,
                        "the record's key is not the account id");
        if (partition != aa->aa_partition)
                problem(a, aa, AUDIT_P_PARTITION, &ev->account_id, ev->seq, partition, offset,
                        "in partition %" PRId32 ", the account's earlier events in partition %"
                        PRId32, partition, aa->aa_partition);

        cerr = codec_event_canonical_wire(a->a_codec, value, len, &canon, &canon_len, why,
                                          sizeof(why));
        if (cerr != CODEC_OK) {         /* decoded, so only a codec bug gets here */
                problem(a, aa, AUDIT_P_UNDECODABLE, &ev->account_id, ev->seq, partition, offset,
                        "cannot take the canonical bytes: %s", why);
                taint(aa, ev->seq);
                return 0;
        }
        link.hl_seq = ev->seq;
        memcpy(link.hl_prev, ev->prev_hash, BG_HASH_LEN);
        memcpy(link.hl_hash, ev->hash, BG_HASH_LEN);
        link.hl_canonical = canon;
        link.hl_canonical_len = canon_len;

        if (ev->seq < 1) {
                problem(a, aa, AUDIT_P_CHAIN, &ev->account_id, ev->seq, partition, offset,
                        "seq %" PRId64 " is not a valid seq", ev->seq);
                taint(aa, ev->seq);
                return 0;
        }
        if (ev->seq <= aa->aa_chain.hc_seq) {
                bool same = false;
                if (ev->seq == aa->aa_chain.hc_seq &&
                    memcmp(ev->hash, aa->aa_chain.hc_hash, BG_HASH_LEN) == 0) {
                        uint8_t h[BG_HASH_LEN];
                        if (!bg_hash_event(ev->prev_hash, canon, canon_len, h))
                                goto crypto_failed;
                        same = memcmp(h, ev->hash, BG_HASH_LEN) == 0;
                }
                late_arrival(a, aa, ev, partition, offset, same);
                return 0;               /* skipped: the state stays right */
        }
        if (ev->seq > aa->aa_chain.hc_seq + 1) {
                int64_t lo = aa->aa_chain.hc_seq + 1, hi = ev->seq - 1;
                audit_problem_t *p = problem(
                        a, aa, AUDIT_P_MISSING, &ev->account_id, lo, partition, offset,
                        "seq %" PRId64 " follows seq %" PRId64 " (%" PRId64 " event%s dropped)",
                        ev->seq, lo - 1, hi - lo + 1, hi > lo ? "s" : "");
                if (p != NULL)
                        p->ap_seq_last = hi;
                taint(aa, lo);
                /* Resume the chain at this event's own link. */
                aa->aa_chain.hc_seq = ev->seq - 1;
                memcpy(aa->aa_chain.hc_hash, ev->prev_hash, BG_HASH_LEN);
        }
        hs = bg_hash_chain_check(&aa->aa_chain, &link, why, sizeof(why));
        if (hs == BG_HASH_REORDERED || hs == BG_HASH_FIRST_PREV_NOT_ZERO) {
                char want[17], got[17];
                hex8(aa->aa_chain.hc_hash, want);
                hex8(ev->prev_hash, got);
                if (hs == BG_HASH_FIRST_PREV_NOT_ZERO)
                        problem(a, aa, AUDIT_P_CHAIN, &ev->account_id, ev->seq, partition, offset,
                                "the account's first event has prev_hash %s..., not zeros", got);
                else
                        problem(a, aa, AUDIT_P_CHAIN, &ev->account_id, ev->seq, partition, offset,
                                "prev_hash %s... is not the hash %s... of seq %" PRId64
                                ": seq %" PRId64
                                " was replaced (its hash recomputed) or this link was altered",
                                got, want, ev->seq - 1, ev->seq - 1);
                taint(aa, ev->seq);
                memcpy(aa->aa_chain.hc_hash, ev->prev_hash, BG_HASH_LEN);
                hs = bg_hash_chain_check(&aa->aa_chain, &link, why, sizeof(why));
        }
        if (hs == BG_HASH_CHANGED) {
                uint8_t h[BG_HASH_LEN];
                char stored[17], computed[17];
                if (!bg_hash_event(ev->prev_hash, canon, canon_len, h))
                        goto crypto_failed;
                hex8(ev->hash, stored);
                hex8(h, computed);
                problem(a, aa, AUDIT_P_CHANGED, &ev->account_id, ev->seq, partition, offset,
                        "%s event changed: stored hash %s... but its content hashes to %s...",
                        bg_event_type_name(ev->type), stored, computed);
                taint(aa, ev->seq);
                /* The events after it link to the stored hash: verify them against it. */
                aa->aa_chain.hc_seq = ev->seq;
                memcpy(aa->aa_chain.hc_hash, ev->hash, BG_HASH_LEN);
        } else if (hs == BG_HASH_CRYPTO_FAILED) {
                goto crypto_failed;
        } else if (hs != BG_HASH_OK) {  /* cannot happen after the seq checks above */
                problem(a, aa, AUDIT_P_CHAIN, &ev->account_id, ev->seq, partition, offset, "%s",
                        why);
                taint(aa, ev->seq);
                return 0;
        }

        if (!aa->aa_tainted) {
                acct_err_t e = acct_evolve(aa->aa_state, ev, why, sizeof(why));
                if (e == ACCT_ERR_NOMEM) {
                        snprintf(errstr, errstr_size, "out of memory after %" PRIu64 " events",
                                 a->a_events);
                        return -1;
                }
                if (e != ACCT_OK) {
                        problem(a, aa, AUDIT_P_FOLD, &ev->account_id, ev->seq, partition, offset,
                                "%s: %s", acct_err_name(e), why);
                        taint(aa, ev->seq);
                } else if (ev->type == BG_EVT_ACCOUNT_CREATED) {
                        memcpy(aa->aa_owner, ev->payload.account_created.owner,
                               sizeof(aa->aa_owner));
                        aa->aa_created_at = ev->occurred_at;
                }
        }
        return 0;

crypto_failed:
        snprintf(errstr, errstr_size, "libcrypto failed to hash (out of memory?)");
        return -1;
}

void audit_problem_format(const audit_problem_t *p, char *buf, size_t size) {
        char id[BG_UUID_STR_LEN + 1], seq[48];

        if (p->ap_has_account)
                bg_uuid_format(&p->ap_account, id);
        else
                snprintf(id, sizeof(id), "?");
        if (p->ap_seq_last != p->ap_seq)
                snprintf(seq, sizeof(seq), "seq %" PRId64 "..%" PRId64, p->ap_seq, p->ap_seq_last);
        else if (p->ap_seq > 0)
                snprintf(seq, sizeof(seq), "seq %" PRId64, p->ap_seq);
        else
                snprintf(seq, sizeof(seq), "seq ?");
        snprintf(buf, size, "account %s %s: %s: %s (partition %" PRId32 " offset %" PRId64 ")", id,
                 seq, audit_pkind_name(p->ap_kind), p->ap_reason, p->ap_partition, p->ap_offset);
}
