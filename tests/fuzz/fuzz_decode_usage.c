/* libFuzzer: billing.UsageRecord decoding (see fuzz_common.h). */
#include "fuzz_common.h"

#include "codec_int.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_USAGE;
static codec_usage_t a, b, f;
static char fuzz_err_generic[512], fuzz_err_walked[512];

static void fuzz_message(const uint8_t *msg, size_t len) {
        const uint8_t *out;
        uint8_t *again;
        size_t out_len;
        codec_err_t e;

        /* The direct decoder against the avro-c generic one it replaced: same outcome,
         * same struct. */
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        e = codec_decode_usage(fuzz_codec, msg, len, &a, fuzz_err, sizeof(fuzz_err));
        if (codec_decode_usage_generic(fuzz_codec, msg, len, &b, fuzz_err_generic,
                                       sizeof(fuzz_err_generic)) != e) {
                fprintf(stderr, "generic decoder: %s\n", fuzz_err_generic);
                fuzz_die("usage decoders disagree");
        }
        if (e == CODEC_OK && memcmp(&a, &b, sizeof(a)) != 0)
                fuzz_die("usage decoders decode differently");
        /* The fused fast path against the walked path behind it: a fast success is a
         * walked success with the same struct; codec_decode_usage is the walked path's
         * code and reason whatever the fast path did. */
        {
                codec_err_t ew;
                bool fast;

                memset(&f, 0, sizeof(f));
                fast = codec_decode_usage_fast(fuzz_codec, msg, len, &f);
                memset(&b, 0, sizeof(b));
                ew = codec_decode_usage_walked(fuzz_codec, msg, len, &b, fuzz_err_walked,
                                               sizeof(fuzz_err_walked));
                if (fast && ew != CODEC_OK) {
                        fprintf(stderr, "walked path: %s\n", fuzz_err_walked);
                        fuzz_die("fast path accepts what the walked path refuses");
                }
                if (fast && memcmp(&f, &b, sizeof(f)) != 0)
                        fuzz_die("fast and walked paths decode differently");
                if (ew != e || (e != CODEC_OK && strcmp(fuzz_err, fuzz_err_walked) != 0)) {
                        fprintf(stderr, "walked: %d %s; decode: %d %s\n", ew, fuzz_err_walked,
                                e, fuzz_err);
                        fuzz_die("codec_decode_usage differs from the walked path");
                }
                if (e == CODEC_OK && memcmp(&a, &b, sizeof(a)) != 0)
                        fuzz_die("codec_decode_usage and the walked path decode differently");
        }
        /* The invoicer's prefetch hint: any bytes, and the decoder's id when it reads one. */
        {
                bg_uuid_t peeked;

                if (codec_peek_usage_id(fuzz_codec, msg, len, &peeked) && e == CODEC_OK &&
                    memcmp(&peeked, &a.usage_id, sizeof(peeked)) != 0)
                        fuzz_die("peeked usage id differs from the decoded one");
        }
        if (!fuzz_decoded(e))
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
