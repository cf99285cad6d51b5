/* libFuzzer: billing.Invoice decoding (see fuzz_common.h). */
#include "fuzz_common.h"

static const codec_kind_t fuzz_kind = CODEC_KIND_INVOICE;

static int lines_equal(const codec_invoice_t *a, const codec_invoice_t *b) {
        if (memcmp(a, b, offsetof(codec_invoice_t, lines)) != 0)
                return 0;
        for (size_t i = 0; i < a->n_lines; i++) {
                const codec_invoice_line_t *x = &a->lines[i], *y = &b->lines[i];

                if (memcmp(x, y, offsetof(codec_invoice_line_t, tags)) != 0)
                        return 0;
                for (size_t t = 0; t < x->n_tags; t++)
                        if (strcmp(x->tags[t].key, y->tags[t].key) != 0 ||
                            strcmp(x->tags[t].value, y->tags[t].value) != 0)
                                return 0;
        }
        return 1;
}

static void fuzz_message(const uint8_t *msg, size_t len) {
        codec_invoice_t a, b;
        const uint8_t *out;
        uint8_t *again;
        size_t out_len;

        memset(&a, 0, sizeof(a));
        if (!fuzz_decoded(codec_decode_invoice(fuzz_codec, msg, len, &a, fuzz_err,
                                               sizeof(fuzz_err)))) {
                if (a.lines != NULL || a.tag_pool != NULL)
                        fuzz_die("failed decode left memory behind");
                return;
        }
        if (codec_encode_invoice(fuzz_codec, &a, &out, &out_len, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("decoded invoice does not re-encode");
        again = fuzz_dup(out, out_len);
        memset(&b, 0, sizeof(b));
        if (codec_decode_invoice(fuzz_codec, again, out_len, &b, fuzz_err, sizeof(fuzz_err)) !=
            CODEC_OK)
                fuzz_die("re-encoded invoice does not decode");
        if (!lines_equal(&a, &b))
                fuzz_die("invoice changed in a round trip");
        codec_invoice_clear(&a);
        codec_invoice_clear(&b);
        free(again);
}

static void fuzz_seeds(void) {
        static codec_invoice_line_t lines[8];
        static codec_tag_t tags[8 * 3];
        codec_invoice_t inv;
        const uint8_t *msg;
        size_t len;

        for (size_t n = 0; n <= 8; n += 4) {
                fx_invoice(&inv, lines, n, tags);
                if (codec_encode_invoice(fuzz_codec, &inv, &msg, &len, fuzz_err,
                                         sizeof(fuzz_err)) != CODEC_OK)
                        fuzz_die("seed");
                fuzz_seed(msg, len);
        }
}
