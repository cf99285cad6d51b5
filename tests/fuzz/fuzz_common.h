/*
 * Shared harness of the codec fuzz targets (libFuzzer). Each target includes this file
 * once, then defines:
 *
 *   static const codec_kind_t fuzz_kind;                    what it decodes
 *   static void fuzz_message(const uint8_t *msg, size_t len);  decode + oracles
 *   static void fuzz_seeds(void);                           fuzz_seed() each sample
 *
 * Input layout: byte 0 selects the framing. With its top bit clear, the rest is an Avro
 * body and the harness puts the 5-byte header of the kind's latest schema in front (so
 * that mutations explore the walker and the decoder, not the header); with the top bit
 * set, the rest is a whole framed message (so that framing and schema ids get mutated
 * too).
 *
 * Oracles, on top of the sanitizers: a decode that fails inside avro-c after the walker
 * accepted (CODEC_ERR_AVRO) aborts; any single avro-c allocation larger than
 * FUZZ_ALLOC_FACTOR times the message plus 64 KiB aborts (the walker's promise); a message
 * that decodes must re-encode, and the re-encoded message must decode to the same value.
 *
 * FUZZ_WRITE_SEEDS=<dir>: write the seed corpus into <dir> and exit.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <avro.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_fixtures.h"

#define FUZZ_ALLOC_FACTOR 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_options(void);

/* avro-c keeps a union's branch right after an int (generic.c), so the pointers inside a
 * live union value are only 4-byte aligned: without use_unaligned, LeakSanitizer does not
 * see them and reports the codec's cached values as leaks. */
const char *__lsan_default_options(void) {
        return "use_unaligned=1";
}

static codec_registry_t *fuzz_reg;
static codec_t *fuzz_codec;
static char fuzz_err[512];
static size_t fuzz_alloc_limit;    /* 0 while setting up */
static const char *fuzz_seed_dir;
static int fuzz_seed_n;

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
        (void)ud;
        (void)osize;
        if (nsize == 0) {
                free(ptr);
                return NULL;
        }
        if (fuzz_alloc_limit != 0 && nsize > fuzz_alloc_limit) {
                fprintf(stderr, "avro-c allocation of %zu bytes exceeds the bound %zu\n", nsize,
                        fuzz_alloc_limit);
                abort();
        }
        return realloc(ptr, nsize);
}

static void fuzz_die(const char *what) {
        fprintf(stderr, "%s: %s\n", what, fuzz_err);
        abort();
}

/* Writes one seed: the body of @msg behind selector byte 0, and the whole message behind
 * selector 0x80. */
static void fuzz_seed(const uint8_t *msg, size_t len) {
        char path[4096];
        FILE *f;

        for (int framed = 0; framed <= 1; framed++) {
                snprintf(path, sizeof(path), "%s/seed-%03d", fuzz_seed_dir, fuzz_seed_n++);
                f = fopen(path, "wb");
                if (f == NULL) {
                        perror(path);
                        exit(1);
                }
                fputc(framed ? 0x80 : 0x00, f);
                if (framed)
                        fwrite(msg, 1, len, f);
                else
                        fwrite(msg + CODEC_HEADER_SIZE, 1, len - CODEC_HEADER_SIZE, f);
                fclose(f);
        }
}

static void fuzz_message(const uint8_t *msg, size_t len);
static void fuzz_seeds(void);
static const codec_kind_t fuzz_kind;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        avro_set_allocator(fuzz_alloc, NULL);
        fuzz_reg = codec_registry_manifest_new(BG_SCHEMAS_DIR, fuzz_err, sizeof(fuzz_err));
        if (fuzz_reg == NULL)
                fuzz_die("manifest");
        fuzz_codec = codec_new(fuzz_reg, NULL, fuzz_err, sizeof(fuzz_err));
        if (fuzz_codec == NULL)
                fuzz_die("codec");
        fuzz_seed_dir = getenv("FUZZ_WRITE_SEEDS");
        if (fuzz_seed_dir != NULL) {
                fuzz_seeds();
                codec_destroy(fuzz_codec);
                codec_registry_destroy(fuzz_reg);
                exit(0);
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t *buf;
        static size_t cap;
        int32_t id;

        if (size < 1 || size > CODEC_DEFAULT_MAX_MESSAGE + 16)
                return 0;
        if (data[0] & 0x80) {
                fuzz_alloc_limit = FUZZ_ALLOC_FACTOR * (size - 1) + 65536;
                fuzz_message(data + 1, size - 1);
                fuzz_alloc_limit = 0;
                return 0;
        }
        if (cap < size + CODEC_HEADER_SIZE) {
                cap = size + CODEC_HEADER_SIZE;
                buf = realloc(buf, cap);
                if (buf == NULL)
                        abort();
        }
        if (codec_registry_latest_id(fuzz_reg, codec_kind_default_subject(fuzz_kind), &id,
                                     fuzz_err, sizeof(fuzz_err)) != CODEC_OK)
                fuzz_die("latest id");
        buf[0] = 0;
        buf[1] = (uint8_t)((uint32_t)id >> 24);
        buf[2] = (uint8_t)((uint32_t)id >> 16);
        buf[3] = (uint8_t)((uint32_t)id >> 8);
        buf[4] = (uint8_t)id;
        memcpy(buf + CODEC_HEADER_SIZE, data + 1, size - 1);
        fuzz_alloc_limit = FUZZ_ALLOC_FACTOR * (size - 1 + CODEC_HEADER_SIZE) + 65536;
        fuzz_message(buf, size - 1 + CODEC_HEADER_SIZE);
        fuzz_alloc_limit = 0;
        return 0;
}

/* Copies a codec-owned message (the next encode overwrites it). */
static uint8_t *fuzz_dup(const uint8_t *p, size_t n) {
        uint8_t *d = malloc(n ? n : 1);
        if (d == NULL)
                abort();
        memcpy(d, p, n);
        return d;
}

/* The verdict on a decode: fine unless avro-c failed on what the walker accepted. */
static int fuzz_decoded(codec_err_t e) {
        if (e == CODEC_ERR_AVRO || e == CODEC_ERR_ARG)
                fuzz_die(codec_err2str(e));
        return e == CODEC_OK;
}

#endif /* FUZZ_COMMON_H */
