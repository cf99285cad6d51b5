/* libFuzzer: billing.Event decoding and canonical bytes (see fuzz_common.h). */
#include "fuzz_common.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_EVENT;
static bg_event_t a, b;

static void fuzz_message(const uint8_t *msg, size_t len) {
        const uint8_t *out, *canon;
        uint8_t *again, *wire_canon;
        size_t out_len, canon_len, wire_canon_len;

        memset(&a, 0, sizeof(a));
        if (!fuzz_decoded(codec_decode_event(fuzz_codec, msg, len, &a, fuzz_err,
                                             sizeof(fuzz_err)))) {
                /* What does not decode may still walk: never crash on it. */
                (void)codec_event_canonical_wire(fuzz_codec, msg, len, &canon, &canon_len,
                                                 fuzz_err, sizeof(fuzz_err));
                return;
        }
        /* A decodable event always has canonical bytes. */
        if (codec_event_canonical_wire(fuzz_codec, msg, len, &canon, &canon_len, fuzz_err,
                                       sizeof(fuzz_err)) != CODEC_OK)
                fuzz_die("decodable event has no canonical bytes");
        if (codec_encode_event(fuzz_codec, &a, &out, &out_len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("decoded event does not re-encode");
        again = fuzz_dup(out, out_len);
        memset(&b, 0, sizeof(b));
        if (codec_decode_event(fuzz_codec, again, out_len, &b, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("re-encoded event does not decode");
        if (memcmp(&a, &b, sizeof(a)) != 0)
                fuzz_die("event changed in a round trip");
        /* The producer's canonical bytes equal the verifier's for what we write. */
        if (codec_event_canonical_wire(fuzz_codec, again, out_len, &canon, &canon_len, fuzz_err,
                                       sizeof(fuzz_err)) != CODEC_OK)
                fuzz_die("re-encoded event has no canonical bytes");
        wire_canon = fuzz_dup(canon, canon_len);
        wire_canon_len = canon_len;
        if (codec_event_canonical(fuzz_codec, &a, &canon, &canon_len, fuzz_err,
                                  sizeof(fuzz_err)) != CODEC_OK)
                fuzz_die("canonical");
        if (canon_len != wire_canon_len || memcmp(canon, wire_canon, canon_len) != 0)
                fuzz_die("canonical bytes differ between producer and verifier");
        free(wire_canon);
        free(again);
}

static void fuzz_seeds(void) {
        const uint8_t *msg;
        size_t len;

        for (int t = BG_EVT_NONE + 1; t < BG_EVT__COUNT; t++) {
                fx_event(&a, (bg_event_type_t)t);
                if (codec_encode_event(fuzz_codec, &a, &msg, &len, fuzz_err, sizeof(fuzz_err)) !=
                    CODEC_OK)
                        fuzz_die("seed");
                fuzz_seed(msg, len);
        }
}
