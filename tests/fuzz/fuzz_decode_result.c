/* libFuzzer: billing.CommandResult decoding (see fuzz_common.h). */
#include "fuzz_common.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_RESULT;

static void fuzz_message(const uint8_t *msg, size_t len) {
        bg_command_result_t a, b;
        const uint8_t *out;
        uint8_t *again;
        size_t out_len;

        memset(&a, 0, sizeof(a));
        if (!fuzz_decoded(codec_decode_result(fuzz_codec, msg, len, &a, fuzz_err,
                                              sizeof(fuzz_err))))
                return;
        if (codec_encode_result(fuzz_codec, &a, &out, &out_len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("decoded result does not re-encode");
        again = fuzz_dup(out, out_len);
        memset(&b, 0, sizeof(b));
        if (codec_decode_result(fuzz_codec, again, out_len, &b, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("re-encoded result does not decode");
        if (memcmp(&a, &b, sizeof(a)) != 0)
                fuzz_die("result changed in a round trip");
        free(again);
}

static void fuzz_seeds(void) {
        bg_command_result_t r;
        const uint8_t *msg;
        size_t len;

        for (int o = 0; o < BG_OUTCOME__COUNT; o++) {
                fx_result(&r, (bg_outcome_t)o);
                if (codec_encode_result(fuzz_codec, &r, &msg, &len, fuzz_err,
                                        sizeof(fuzz_err)) != CODEC_OK)
                        fuzz_die("seed");
                fuzz_seed(msg, len);
        }
}
