#include "bg_hashchain.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* Hex digits of a hash shown in reasons: enough to tell hashes apart, short enough to
 * read. */
#define SHORT_HEX 16

const char *bg_hash_status2str(bg_hash_status_t status) {
        switch (status) {
        case BG_HASH_OK:                  return "ok";
        case BG_HASH_CHANGED:             return "changed";
        case BG_HASH_GAP:                 return "gap";
        case BG_HASH_DUPLICATE:           return "duplicate";
        case BG_HASH_REORDERED:           return "reordered";
        case BG_HASH_FIRST_PREV_NOT_ZERO: return "first_prev_not_zero";
        case BG_HASH_BAD_SEQ:             return "bad_seq";
        case BG_HASH_CRYPTO_FAILED:       return "crypto_failed";
        }
        return "unknown";
}

/* SHA-256 fetched from the provider once: EVP_sha256() makes every EVP_DigestInit_ex
 * fetch it again (about 2% of the commands service's thread in a profile). */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

bool bg_hash_event(const uint8_t prev[BG_HASH_LEN], const uint8_t *canonical, size_t len,
                   uint8_t out[BG_HASH_LEN]) {
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx;
        bool ok = false;

        pthread_once(&sha256_once, sha256_fetch);
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
                goto out_fail;
        if (EVP_DigestInit_ex(ctx, sha256 ? sha256 : EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, prev, BG_HASH_LEN) != 1 ||
            (len > 0 && EVP_DigestUpdate(ctx, canonical, len) != 1) ||
            EVP_DigestFinal_ex(ctx, out, &md_len) != 1 || md_len != BG_HASH_LEN)
                goto out_free_ctx;
        ok = true;

out_free_ctx:
        EVP_MD_CTX_free(ctx);
out_fail:
        if (!ok)
                memset(out, 0xff, BG_HASH_LEN);
        return ok;
}

void bg_hash_chain_init(bg_hash_chain_t *hc) {
        memset(hc, 0, sizeof(*hc));
}

bool bg_hash_is_zero(const uint8_t hash[BG_HASH_LEN]) {
        static const uint8_t zero[BG_HASH_LEN];

        return memcmp(hash, zero, BG_HASH_LEN) == 0;
}

/* Formats the first SHORT_HEX hex digits of @hash into @out. */
static void short_hex(const uint8_t hash[BG_HASH_LEN], char out[SHORT_HEX + 1]) {
        char full[BG_HASH_HEX_SIZE];

        bg_hash_to_hex(hash, full);
        memcpy(out, full, SHORT_HEX);
        out[SHORT_HEX] = '\0';
}

static bool same_event(const bg_hash_link_t *a, const bg_hash_link_t *b) {
        return a->hl_seq == b->hl_seq &&
               memcmp(a->hl_prev, b->hl_prev, BG_HASH_LEN) == 0 &&
               memcmp(a->hl_hash, b->hl_hash, BG_HASH_LEN) == 0 &&
               a->hl_canonical_len == b->hl_canonical_len &&
               (a->hl_canonical_len == 0 ||
                memcmp(a->hl_canonical, b->hl_canonical, a->hl_canonical_len) == 0);
}

/* The seq checks of bg_hash_chain_check(). */
static bg_hash_status_t check_seq(const bg_hash_chain_t *hc, const bg_hash_link_t *link,
                                  char *errstr, size_t errstr_size) {
        int64_t seq = link->hl_seq;

        if (seq < 1) {
                snprintf(errstr, errstr_size, "event seq %" PRId64 ": seq must be at least 1",
                         seq);
                return BG_HASH_BAD_SEQ;
        }
        if (hc->hc_seq > 0 && seq == hc->hc_seq) {
                snprintf(errstr, errstr_size, "event seq %" PRId64 " repeats seq %" PRId64
                         ": %s", seq, hc->hc_seq,
                         memcmp(link->hl_hash, hc->hc_hash, BG_HASH_LEN) == 0 ?
                         "a copy of the previous event" :
                         "a different event with the same seq");
                return BG_HASH_DUPLICATE;
        }
        if (seq < hc->hc_seq) {
                snprintf(errstr, errstr_size, "event seq %" PRId64 " comes after seq %" PRId64
                         ": seq goes back", seq, hc->hc_seq);
                return BG_HASH_REORDERED;
        }
        /* hc_seq < seq here, and hc_seq >= 0, so hc_seq + 1 cannot overflow. */
        if (seq > hc->hc_seq + 1) {
                char missing[64];

                if (seq == hc->hc_seq + 2)
                        snprintf(missing, sizeof(missing), "seq %" PRId64 " is missing",
                                 hc->hc_seq + 1);
                else
                        snprintf(missing, sizeof(missing), "seqs %" PRId64 " to %" PRId64
                                 " are missing", hc->hc_seq + 1, seq - 1);
                if (hc->hc_seq == 0)
                        snprintf(errstr, errstr_size, "the account's first event has seq %"
                                 PRId64 ": %s", seq, missing);
                else
                        snprintf(errstr, errstr_size, "event seq %" PRId64 " follows seq %"
                                 PRId64 ": %s", seq, hc->hc_seq, missing);
                return BG_HASH_GAP;
        }
        return BG_HASH_OK;
}

bg_hash_status_t bg_hash_chain_check(bg_hash_chain_t *hc, const bg_hash_link_t *link,
                                     char *errstr, size_t errstr_size) {
        char stored[SHORT_HEX + 1], computed[SHORT_HEX + 1];
        uint8_t hash[BG_HASH_LEN];
        bg_hash_status_t st;

        if (errstr == NULL)
                errstr_size = 0;   /* snprintf(NULL, 0, ...) writes nothing */
        if ((st = check_seq(hc, link, errstr, errstr_size)) != BG_HASH_OK)
                return st;

        if (hc->hc_seq == 0) {
                if (!bg_hash_is_zero(link->hl_prev)) {
                        short_hex(link->hl_prev, stored);
                        snprintf(errstr, errstr_size, "event seq %" PRId64 " is the account's "
                                 "first but its prev_hash %s... is not zero",
                                 link->hl_seq, stored);
                        return BG_HASH_FIRST_PREV_NOT_ZERO;
                }
        } else if (memcmp(link->hl_prev, hc->hc_hash, BG_HASH_LEN) != 0) {
                snprintf(errstr, errstr_size, "event seq %" PRId64 ": prev_hash does not "
                         "match the hash of seq %" PRId64 ": events reordered or replaced",
                         link->hl_seq, hc->hc_seq);
                return BG_HASH_REORDERED;
        }

        if (!bg_hash_event(link->hl_prev, link->hl_canonical, link->hl_canonical_len, hash)) {
                snprintf(errstr, errstr_size, "cannot hash event seq %" PRId64
                         ": libcrypto failed", link->hl_seq);
                return BG_HASH_CRYPTO_FAILED;
        }
        if (memcmp(hash, link->hl_hash, BG_HASH_LEN) != 0) {
                short_hex(link->hl_hash, stored);
                short_hex(hash, computed);
                snprintf(errstr, errstr_size, "event seq %" PRId64 " was changed: stored hash "
                         "%s... but its content hashes to %s...",
                         link->hl_seq, stored, computed);
                return BG_HASH_CHANGED;
        }

        hc->hc_seq = link->hl_seq;
        memcpy(hc->hc_hash, link->hl_hash, BG_HASH_LEN);
        return BG_HASH_OK;
}

bg_hash_status_t bg_hash_verify(const bg_hash_link_t *links, size_t n,
                                bg_hash_problem_t *problem) {
        bg_hash_problem_t scratch;
        bg_hash_chain_t hc;
        bg_hash_status_t st = BG_HASH_OK;
        size_t i;

        if (problem == NULL)
                problem = &scratch;
        memset(problem, 0, sizeof(*problem));
        bg_hash_chain_init(&hc);

        for (i = 0; i < n; i++) {
                const bg_hash_link_t *l = &links[i];
                int64_t last = hc.hc_seq;

                st = bg_hash_chain_check(&hc, l, problem->hp_reason,
                                         sizeof(problem->hp_reason));
                if (st == BG_HASH_OK)
                        continue;

                if (st == BG_HASH_GAP) {
                        /* A missing seq that turns up later was moved, not dropped. */
                        for (size_t j = i + 1; j < n; j++) {
                                if (links[j].hl_seq > last && links[j].hl_seq < l->hl_seq) {
                                        st = BG_HASH_REORDERED;
                                        snprintf(problem->hp_reason,
                                                 sizeof(problem->hp_reason),
                                                 "event seq %" PRId64 " comes before seq %"
                                                 PRId64 " (at position %zu)",
                                                 l->hl_seq, links[j].hl_seq, j);
                                        break;
                                }
                        }
                } else if (st == BG_HASH_REORDERED && l->hl_seq < last) {
                        /* Going back to an exact copy of an earlier event is a duplicate. */
                        for (size_t j = 0; j < i; j++) {
                                if (same_event(&links[j], l)) {
                                        st = BG_HASH_DUPLICATE;
                                        snprintf(problem->hp_reason,
                                                 sizeof(problem->hp_reason),
                                                 "event seq %" PRId64 " at position %zu is "
                                                 "a copy of the one at position %zu",
                                                 l->hl_seq, i, j);
                                        break;
                                }
                        }
                }
                break;
        }
        if (st != BG_HASH_OK) {
                problem->hp_status = st;
                problem->hp_index = i;
                problem->hp_seq = links[i].hl_seq;
        } else {
                problem->hp_reason[0] = '\0';
        }
        return st;
}

void bg_hash_to_hex(const uint8_t hash[BG_HASH_LEN], char out[BG_HASH_HEX_SIZE]) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < BG_HASH_LEN; i++) {
                out[2 * i] = digits[hash[i] >> 4];
                out[2 * i + 1] = digits[hash[i] & 0x0f];
        }
        out[2 * BG_HASH_LEN] = '\0';
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool bg_hash_from_hex(const char *hex, size_t len, uint8_t out[BG_HASH_LEN]) {
        memset(out, 0, BG_HASH_LEN);
        if (hex == NULL || len != 2 * BG_HASH_LEN)
                return false;
        for (size_t i = 0; i < BG_HASH_LEN; i++) {
                int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

                if (hi < 0 || lo < 0) {
                        memset(out, 0, BG_HASH_LEN);
                        return false;
                }
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
}
