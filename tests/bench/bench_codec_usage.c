/*
 * bench_codec_usage: nanoseconds per usage-record decode, the direct decoder
 * (codec_decode_usage, the fused fast path for our own schema) against the avro-c generic
 * one it replaced (codec_decode_usage_generic) and the walk + field readers it falls back
 * to (codec_decode_usage_walked). One thread, one codec, the same messages for both.
 * Prints figures only; timing never decides pass or fail. Run it alone on the machine:
 *
 *   flock /tmp/bench.lock build-rel/tests/bench/bench_codec_usage [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "codec_fixtures.h"
#include "codec_int.h"

#define N_MSGS 64

typedef codec_err_t (*decode_fn)(codec_t *, const void *, size_t, codec_usage_t *, char *,
                                 size_t);

static uint8_t *msgs[N_MSGS];
static size_t lens[N_MSGS];
static codec_usage_t out;

static double now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The best of 5 rounds of @iters decodes, in ns per decode. */
static double measure(codec_t *c, decode_fn fn, long iters) {
        char err[256];
        double best = 0;

        for (int round = 0; round < 5; round++) {
                double t0 = now_ns(), ns;

                for (long i = 0; i < iters; i++)
                        if (fn(c, msgs[i % N_MSGS], lens[i % N_MSGS], &out, err,
                               sizeof(err)) != CODEC_OK) {
                                fprintf(stderr, "decode: %s\n", err);
                                exit(1);
                        }
                ns = (now_ns() - t0) / (double)iters;
                if (round == 0 || ns < best)
                        best = ns;
        }
        return best;
}

int main(int argc, char **argv) {
        long iters = argc > 1 ? atol(argv[1]) : 200000;
        codec_registry_t *reg;
        codec_t *c;
        char err[256];
        double t_new, t_old, t_walked;
        size_t bytes = 0;

        reg = codec_registry_manifest_new(BG_SCHEMAS_DIR, err, sizeof(err));
        c = reg ? codec_new(reg, NULL, err, sizeof(err)) : NULL;
        if (c == NULL) {
                fprintf(stderr, "setup: %s\n", err);
                return 1;
        }
        /* The fixture (two tags, both prices), and variants: no optionals, more tags. */
        for (int i = 0; i < N_MSGS; i++) {
                const uint8_t *m;

                fx_usage(&out);
                out.usage_id.b[15] = (uint8_t)i;
                if (i % 4 == 1) {
                        out.has_unit_price = out.has_amount = false;
                        out.n_tags = 0;
                } else if (i % 4 == 2) {
                        out.n_tags = 6;
                        for (size_t t = 2; t < out.n_tags; t++) {
                                snprintf(out.tags[t].key, sizeof(out.tags[t].key), "tag-%zu", t);
                                snprintf(out.tags[t].value, sizeof(out.tags[t].value),
                                         "value number %zu, ünïcödé", t);
                        }
                }
                if (codec_encode_usage(c, &out, &m, &lens[i], err, sizeof(err)) != CODEC_OK) {
                        fprintf(stderr, "encode: %s\n", err);
                        return 1;
                }
                msgs[i] = malloc(lens[i]);
                memcpy(msgs[i], m, lens[i]);
                bytes += lens[i];
        }
        measure(c, codec_decode_usage_generic, iters / 10);   /* warm up */
        t_old = measure(c, codec_decode_usage_generic, iters);
        t_walked = measure(c, codec_decode_usage_walked, iters);
        t_new = measure(c, codec_decode_usage, iters);
        printf("usage decode, %zu-byte messages on average, best of 5 x %ld decodes:\n",
               bytes / N_MSGS, iters);
        printf("  avro-c generic (old): %8.1f ns/decode\n", t_old);
        printf("  walk + direct:        %8.1f ns/decode\n", t_walked);
        printf("  direct (new):         %8.1f ns/decode  (fused fast path)\n", t_new);
        printf("  speed-up:             %8.2fx\n", t_old / t_new);
        for (int i = 0; i < N_MSGS; i++)
                free(msgs[i]);
        codec_destroy(c);
        codec_registry_destroy(reg);
        return 0;
}
