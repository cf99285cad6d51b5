#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bg_hashchain.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define N_EVENTS 5

/* A clean chain of five events of one account. The hashes were computed outside this
 * code, with Python's hashlib: h1 = sha256(bytes(32) + c1), h2 = sha256(h1 + c2) ... */
static const char *const canonical[N_EVENTS] = {
        "1 AccountCreated acme",
        "2 BillingGroupCreated eu",
        "3 ProjectCreated web",
        "4 ProjectMoved web",
        "5 CreditClaimed PROMO",
};
static const char *const hash_hex[N_EVENTS] = {
        "41645417f7b6e4f57b7e05c351804bc4b05ccb831384d237f10b4c8adae9925b",
        "f956be0c79329d65deaeef6d354a39271adfa71e15124177cadeaf50103be8b1",
        "a4953d59aaf1e5b62b9e3bd18554036dde7d3fd491117c82862720bb9329f569",
        "9b995c98f7a6a964664269f9798ddaa691f00149fb3fdd1c609eeda8e2ea66ef",
        "82836252aa62400eece67236eca5e62ad56c83ebf1d404070889c6954c4bd51e",
};

static void unhex(const char *hex, uint8_t out[BG_HASH_LEN]) {
        assert_true(bg_hash_from_hex(hex, strlen(hex), out));
}

/* Fills @links with the clean chain. */
static void clean_chain(bg_hash_link_t links[N_EVENTS]) {
        memset(links, 0, N_EVENTS * sizeof(links[0]));
        for (int i = 0; i < N_EVENTS; i++) {
                links[i].hl_seq = i + 1;
                if (i > 0)
                        unhex(hash_hex[i - 1], links[i].hl_prev);
                unhex(hash_hex[i], links[i].hl_hash);
                links[i].hl_canonical = (const uint8_t *)canonical[i];
                links[i].hl_canonical_len = strlen(canonical[i]);
        }
}

static void expect_problem(const bg_hash_link_t *links, size_t n, bg_hash_status_t status,
                           size_t index, int64_t seq, const char *reason) {
        bg_hash_problem_t p;

        assert_int_equal(bg_hash_verify(links, n, &p), status);
        assert_int_equal(p.hp_status, status);
        assert_int_equal(p.hp_index, index);
        assert_int_equal(p.hp_seq, seq);
        assert_string_equal(p.hp_reason, reason);
}

/*
 * SHA-256
 */

static void hash_matches_known_vectors(void **state) {
        /* FIPS 180-2 example: SHA-256 of the 56-byte message
         * "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", split here as
         * 32 bytes of prev and 24 bytes of canonical. */
        const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        static const uint8_t zero[BG_HASH_LEN];
        char hex[BG_HASH_HEX_SIZE];
        uint8_t out[BG_HASH_LEN];

        assert_true(bg_hash_event((const uint8_t *)msg, (const uint8_t *)msg + 32, 24, out));
        bg_hash_to_hex(out, hex);
        assert_string_equal(hex,
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

        /* SHA-256 of 32 zero bytes: a first event with empty canonical bytes. */
        assert_true(bg_hash_event(zero, NULL, 0, out));
        bg_hash_to_hex(out, hex);
        assert_string_equal(hex,
                "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
}

static void hash_chains_from_zero(void **state) {
        uint8_t prev[BG_HASH_LEN] = { 0 }, out[BG_HASH_LEN];
        char hex[BG_HASH_HEX_SIZE];

        for (int i = 0; i < N_EVENTS; i++) {
                assert_true(bg_hash_event(prev, (const uint8_t *)canonical[i],
                                          strlen(canonical[i]), out));
                bg_hash_to_hex(out, hex);
                assert_string_equal(hex, hash_hex[i]);
                memcpy(prev, out, BG_HASH_LEN);
        }
}

/*
 * Hex and helpers
 */

static void hex_round_trip_and_rejects(void **state) {
        const char *upper = "41645417F7B6E4F57B7E05C351804BC4B05CCB831384D237F10B4C8ADAE9925B";
        char hex[BG_HASH_HEX_SIZE], buf[65];
        uint8_t h[BG_HASH_LEN];

        assert_true(bg_hash_from_hex(upper, 64, h));
        assert_int_equal(h[0], 0x41);
        assert_int_equal(h[31], 0x5b);
        bg_hash_to_hex(h, hex);
        assert_string_equal(hex, hash_hex[0]);

        assert_false(bg_hash_from_hex(hash_hex[0], 63, h));
        assert_true(bg_hash_is_zero(h));
        memcpy(buf, hash_hex[0], 65);
        buf[40] = 'g';
        assert_false(bg_hash_from_hex(buf, 64, h));
        assert_true(bg_hash_is_zero(h));
        buf[40] = '\0';
        assert_false(bg_hash_from_hex(buf, 64, h));
        assert_false(bg_hash_from_hex(NULL, 0, h));
}

static void is_zero_and_status_names(void **state) {
        uint8_t h[BG_HASH_LEN] = { 0 };

        assert_true(bg_hash_is_zero(h));
        h[31] = 1;
        assert_false(bg_hash_is_zero(h));
        assert_string_equal(bg_hash_status2str(BG_HASH_OK), "ok");
        assert_string_equal(bg_hash_status2str(BG_HASH_CHANGED), "changed");
        assert_string_equal(bg_hash_status2str(BG_HASH_REORDERED), "reordered");
        assert_string_equal(bg_hash_status2str((bg_hash_status_t)77), "unknown");
}

/*
 * Verifying a chain: one test per kind of tampering
 */

static void clean_chain_passes(void **state) {
        bg_hash_link_t links[N_EVENTS];
        bg_hash_problem_t p;

        clean_chain(links);
        memset(&p, 0x55, sizeof(p));
        assert_int_equal(bg_hash_verify(links, N_EVENTS, &p), BG_HASH_OK);
        assert_int_equal(p.hp_status, BG_HASH_OK);
        assert_string_equal(p.hp_reason, "");
        assert_int_equal(bg_hash_verify(links, N_EVENTS, NULL), BG_HASH_OK);
        assert_int_equal(bg_hash_verify(links, 0, &p), BG_HASH_OK);
}

static void changed_event_is_detected(void **state) {
        const char *edited = "3 ProjectCreated WEB";
        bg_hash_link_t links[N_EVENTS];

        clean_chain(links);
        links[2].hl_canonical = (const uint8_t *)edited;
        links[2].hl_canonical_len = strlen(edited);
        expect_problem(links, N_EVENTS, BG_HASH_CHANGED, 2, 3,
                       "event seq 3 was changed: stored hash a4953d59aaf1e5b6... "
                       "but its content hashes to 50753e1481ecaf14...");
}

static void changed_event_with_rehash_breaks_the_next_link(void **state) {
        /* The editor also recomputed event 3's hash (sha256(h2 + edited), from Python);
         * event 4 still names the old one. */
        const char *edited = "3 ProjectCreated WEB";
        bg_hash_link_t links[N_EVENTS];

        clean_chain(links);
        links[2].hl_canonical = (const uint8_t *)edited;
        links[2].hl_canonical_len = strlen(edited);
        unhex("50753e1481ecaf143b45e1e5f874f07443e092270e4c61644abc83e53f4930f1",
              links[2].hl_hash);
        expect_problem(links, N_EVENTS, BG_HASH_REORDERED, 3, 4,
                       "event seq 4: prev_hash does not match the hash of seq 3: "
                       "events reordered or replaced");
}

static void dropped_event_is_detected(void **state) {
        bg_hash_link_t links[N_EVENTS], dropped[N_EVENTS - 1];

        clean_chain(links);
        dropped[0] = links[0];
        dropped[1] = links[1];
        dropped[2] = links[3];
        dropped[3] = links[4];
        expect_problem(dropped, 4, BG_HASH_GAP, 2, 4,
                       "event seq 4 follows seq 2: seq 3 is missing");

        /* Two dropped. */
        dropped[1] = links[3];
        dropped[2] = links[4];
        expect_problem(dropped, 3, BG_HASH_GAP, 1, 4,
                       "event seq 4 follows seq 1: seqs 2 to 3 are missing");

        /* The account's first event dropped. */
        expect_problem(links + 1, 4, BG_HASH_GAP, 0, 2,
                       "the account's first event has seq 2: seq 1 is missing");
}

static void dropped_and_renumbered_event_is_detected(void **state) {
        bg_hash_link_t links[N_EVENTS], dropped[N_EVENTS - 1];

        clean_chain(links);
        dropped[0] = links[0];
        dropped[1] = links[2];
        dropped[2] = links[3];
        dropped[3] = links[4];
        for (int i = 0; i < 4; i++)
                dropped[i].hl_seq = i + 1;   /* hides the gap */
        expect_problem(dropped, 4, BG_HASH_REORDERED, 1, 2,
                       "event seq 2: prev_hash does not match the hash of seq 1: "
                       "events reordered or replaced");
}

static void duplicated_event_is_detected(void **state) {
        bg_hash_link_t links[N_EVENTS], dup[N_EVENTS + 1];

        clean_chain(links);
        /* Right after itself: 1 2 3 3 4 5 */
        dup[0] = links[0];
        dup[1] = links[1];
        dup[2] = links[2];
        dup[3] = links[2];
        dup[4] = links[3];
        dup[5] = links[4];
        expect_problem(dup, 6, BG_HASH_DUPLICATE, 3, 3,
                       "event seq 3 repeats seq 3: a copy of the previous event");

        /* Later: 1 2 3 4 5 2 */
        memcpy(dup, links, sizeof(links));
        dup[5] = links[1];
        expect_problem(dup, 6, BG_HASH_DUPLICATE, 5, 2,
                       "event seq 2 at position 5 is a copy of the one at position 1");
}

static void conflicting_event_with_same_seq_is_detected(void **state) {
        const char *other = "3 ProjectCreated api";
        bg_hash_link_t links[N_EVENTS], fork[4];

        clean_chain(links);
        fork[0] = links[0];
        fork[1] = links[1];
        fork[2] = links[2];
        fork[3] = links[2];
        fork[3].hl_canonical = (const uint8_t *)other;
        fork[3].hl_canonical_len = strlen(other);
        memset(fork[3].hl_hash, 0x33, BG_HASH_LEN);
        expect_problem(fork, 4, BG_HASH_DUPLICATE, 3, 3,
                       "event seq 3 repeats seq 3: a different event with the same seq");
}

static void reordered_events_are_detected(void **state) {
        bg_hash_link_t links[N_EVENTS], swapped[N_EVENTS];

        clean_chain(links);
        /* 1 3 2 4 5: the gap at 3 is a move, since 2 comes later. */
        memcpy(swapped, links, sizeof(links));
        swapped[1] = links[2];
        swapped[2] = links[1];
        expect_problem(swapped, N_EVENTS, BG_HASH_REORDERED, 1, 3,
                       "event seq 3 comes before seq 2 (at position 2)");

        /* 1 2 3 5 4 */
        memcpy(swapped, links, sizeof(links));
        swapped[3] = links[4];
        swapped[4] = links[3];
        expect_problem(swapped, N_EVENTS, BG_HASH_REORDERED, 3, 5,
                       "event seq 5 comes before seq 4 (at position 4)");
}

static void reordered_and_renumbered_events_are_detected(void **state) {
        bg_hash_link_t links[N_EVENTS], swapped[N_EVENTS];

        clean_chain(links);
        /* Events 2 and 3 swapped, their seqs rewritten to stay 1 2 3 4 5. */
        memcpy(swapped, links, sizeof(links));
        swapped[1] = links[2];
        swapped[2] = links[1];
        swapped[1].hl_seq = 2;
        swapped[2].hl_seq = 3;
        expect_problem(swapped, N_EVENTS, BG_HASH_REORDERED, 1, 2,
                       "event seq 2: prev_hash does not match the hash of seq 1: "
                       "events reordered or replaced");
}

static void first_prev_hash_must_be_zero(void **state) {
        /* A consistent first event (hash = sha256(prev + c1), from Python) whose prev is
         * not zero: it claims a predecessor that the account cannot have. */
        bg_hash_link_t links[N_EVENTS];

        clean_chain(links);
        memset(links[0].hl_prev, 0x01, BG_HASH_LEN);
        unhex("a4a3096932e656d03f41565f3655677ec102e34303e8502dab655b1fb261030f",
              links[0].hl_hash);
        expect_problem(links, N_EVENTS, BG_HASH_FIRST_PREV_NOT_ZERO, 0, 1,
                       "event seq 1 is the account's first but its prev_hash "
                       "0101010101010101... is not zero");
}

static void seq_below_one_is_rejected(void **state) {
        bg_hash_link_t links[N_EVENTS];

        clean_chain(links);
        links[0].hl_seq = 0;
        expect_problem(links, N_EVENTS, BG_HASH_BAD_SEQ, 0, 0,
                       "event seq 0: seq must be at least 1");
        links[0].hl_seq = INT64_MIN;
        expect_problem(links, N_EVENTS, BG_HASH_BAD_SEQ, 0, INT64_MIN,
                       "event seq -9223372036854775808: seq must be at least 1");
}

static void truncated_tail_is_not_detectable_by_the_chain(void **state) {
        /* Documented limit: the chain proves order and content of what is there; it cannot
         * know about events after the last one it is given. */
        bg_hash_link_t links[N_EVENTS];

        clean_chain(links);
        assert_int_equal(bg_hash_verify(links, 3, NULL), BG_HASH_OK);
}

/*
 * The incremental checker (what audit verify uses while streaming the log)
 */

static void chain_check_accepts_and_advances(void **state) {
        bg_hash_link_t links[N_EVENTS];
        uint8_t want[BG_HASH_LEN];
        bg_hash_chain_t hc;
        char err[BG_HASH_REASON_SIZE];

        clean_chain(links);
        bg_hash_chain_init(&hc);
        assert_int_equal(hc.hc_seq, 0);
        assert_true(bg_hash_is_zero(hc.hc_hash));
        for (int i = 0; i < N_EVENTS; i++) {
                err[0] = '\0';
                assert_int_equal(bg_hash_chain_check(&hc, &links[i], err, sizeof(err)),
                                 BG_HASH_OK);
                assert_string_equal(err, "");
                assert_int_equal(hc.hc_seq, i + 1);
                unhex(hash_hex[i], want);
                assert_memory_equal(hc.hc_hash, want, BG_HASH_LEN);
        }
}

static void chain_check_leaves_state_on_problem(void **state) {
        bg_hash_link_t links[N_EVENTS];
        bg_hash_chain_t hc, before;
        char err[BG_HASH_REASON_SIZE];

        clean_chain(links);
        bg_hash_chain_init(&hc);
        assert_int_equal(bg_hash_chain_check(&hc, &links[0], NULL, 0), BG_HASH_OK);
        assert_int_equal(bg_hash_chain_check(&hc, &links[1], NULL, 0), BG_HASH_OK);
        assert_int_equal(bg_hash_chain_check(&hc, &links[2], NULL, 0), BG_HASH_OK);
        before = hc;

        assert_int_equal(bg_hash_chain_check(&hc, &links[2], err, sizeof(err)),
                         BG_HASH_DUPLICATE);
        assert_memory_equal(&hc, &before, sizeof(hc));
        /* Streaming cannot look back: seq 2 again after 3 is "goes back". */
        assert_int_equal(bg_hash_chain_check(&hc, &links[1], err, sizeof(err)),
                         BG_HASH_REORDERED);
        assert_string_equal(err, "event seq 2 comes after seq 3: seq goes back");
        /* Nor ahead: seq 5 after 3 is a gap. */
        assert_int_equal(bg_hash_chain_check(&hc, &links[4], err, sizeof(err)), BG_HASH_GAP);
        assert_string_equal(err, "event seq 5 follows seq 3: seq 4 is missing");
        assert_memory_equal(&hc, &before, sizeof(hc));

        /* The right next event is still accepted. */
        assert_int_equal(bg_hash_chain_check(&hc, &links[3], err, sizeof(err)), BG_HASH_OK);
        assert_int_equal(hc.hc_seq, 4);
}

static void chain_check_resumes_from_a_checkpoint(void **state) {
        bg_hash_link_t links[N_EVENTS];
        bg_hash_chain_t hc;

        clean_chain(links);
        hc.hc_seq = 3;
        unhex(hash_hex[2], hc.hc_hash);
        assert_int_equal(bg_hash_chain_check(&hc, &links[3], NULL, 0), BG_HASH_OK);
        assert_int_equal(bg_hash_chain_check(&hc, &links[4], NULL, 0), BG_HASH_OK);
        assert_int_equal(hc.hc_seq, 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(hash_matches_known_vectors),
                cmocka_unit_test(hash_chains_from_zero),
                cmocka_unit_test(hex_round_trip_and_rejects),
                cmocka_unit_test(is_zero_and_status_names),
                cmocka_unit_test(clean_chain_passes),
                cmocka_unit_test(changed_event_is_detected),
                cmocka_unit_test(changed_event_with_rehash_breaks_the_next_link),
                cmocka_unit_test(dropped_event_is_detected),
                cmocka_unit_test(dropped_and_renumbered_event_is_detected),
                cmocka_unit_test(duplicated_event_is_detected),
                cmocka_unit_test(conflicting_event_with_same_seq_is_detected),
                cmocka_unit_test(reordered_events_are_detected),
                cmocka_unit_test(reordered_and_renumbered_events_are_detected),
                cmocka_unit_test(first_prev_hash_must_be_zero),
                cmocka_unit_test(seq_below_one_is_rejected),
                cmocka_unit_test(truncated_tail_is_not_detectable_by_the_chain),
                cmocka_unit_test(chain_check_accepts_and_advances),
                cmocka_unit_test(chain_check_leaves_state_on_problem),
                cmocka_unit_test(chain_check_resumes_from_a_checkpoint),
        };
        return cmocka_run_group_tests_name("hashchain", tests, NULL, NULL);
}
