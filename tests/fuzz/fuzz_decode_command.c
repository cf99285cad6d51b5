/* libFuzzer: billing.Command decoding and id peeking (see fuzz_common.h). */
#include "fuzz_common.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_COMMAND;
static bg_command_t a, b;

static void fuzz_message(const uint8_t *msg, size_t len) {
        const uint8_t *out;
        uint8_t *again;
        size_t out_len;

        bg_uuid_t cid, aid;
        codec_err_t peek;

        peek = codec_peek_command_ids(fuzz_codec, msg, len, &cid, &aid, fuzz_err,
                                      sizeof(fuzz_err));
        memset(&a, 0, sizeof(a));
        if (!fuzz_decoded(codec_decode_command(fuzz_codec, msg, len, &a, fuzz_err,
                                               sizeof(fuzz_err))))
                return;
        /* What decodes has readable ids, the same ones. */
        if (peek != CODEC_OK || !bg_uuid_equal(&cid, &a.command_id) ||
            !bg_uuid_equal(&aid, &a.account_id))
                fuzz_die("peeked ids differ from decoded ones");
        if (codec_encode_command(fuzz_codec, &a, &out, &out_len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("decoded command does not re-encode");
        again = fuzz_dup(out, out_len);
        memset(&b, 0, sizeof(b));
        if (codec_decode_command(fuzz_codec, again, out_len, &b, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("re-encoded command does not decode");
        if (memcmp(&a, &b, sizeof(a)) != 0)
                fuzz_die("command changed in a round trip");
        free(again);
}

static void fuzz_seeds(void) {
        const uint8_t *msg;
        size_t len;

        for (int t = BG_CMD_NONE + 1; t < BG_CMD__COUNT; t++) {
                fx_command(&a, (bg_command_type_t)t);
                if (codec_encode_command(fuzz_codec, &a, &msg, &len, fuzz_err,
                                         sizeof(fuzz_err)) != CODEC_OK)
                        fuzz_die("seed");
                fuzz_seed(msg, len);
        }
}
