/* libFuzzer: billing.UsageRecord decoding (see fuzz_common.h). */
#include "fuzz_common.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_USAGE;
static codec_usage_t a, b;

static void fuzz_message(const uint8_t *msg, size_t len) {
        const uint8_t *out;
        uint8_t *again;
        size_t out_len;

        memset(&a, 0, sizeof(a));
        if (!fuzz_decoded(codec_decode_usage(fuzz_codec, msg, len, &a, fuzz_err,
                                             sizeof(fuzz_err))))
                return;
        if (codec_encode_usage(fuzz_codec, &a, &out, &out_len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("decoded usage record does not re-encode");
        again = fuzz_dup(out, out_len);
        memset(&b, 0, sizeof(b));
        if (codec_decode_usage(fuzz_codec, again, out_len, &b, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("re-encoded usage record does not decode");
        if (memcmp(&a, &b, sizeof(a)) != 0)
                fuzz_die("usage record changed in a round trip");
        free(again);
}

static void fuzz_seeds(void) {
        const uint8_t *msg;
        size_t len;

        fx_usage(&a);
        if (codec_encode_usage(fuzz_codec, &a, &msg, &len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("seed");
        fuzz_seed(msg, len);
        a.has_amount = a.has_unit_price = false;
        a.n_tags = 0;
        if (codec_encode_usage(fuzz_codec, &a, &msg, &len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("seed");
        fuzz_seed(msg, len);
}
