#include "cmd_codec.h"

#include <stdio.h>
#include <stdlib.h>

#include "codec.h"

struct cmd_codec_s {
        codec_registry_t *cc_reg;
        codec_t *cc_codec;
};

cmd_codec_t *cmd_codec_new(char *errstr, size_t errstr_size) {
        cmd_codec_t *c = calloc(1, sizeof(*c));
        if (c == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->cc_reg = codec_registry_from_env(BG_DEFAULT_SCHEMAS_DIR, errstr, errstr_size);
        if (c->cc_reg != NULL)
                c->cc_codec = codec_new(c->cc_reg, NULL, errstr, errstr_size);
        if (c->cc_codec == NULL) {
                cmd_codec_destroy(c);
                return NULL;
        }
        return c;
}

void cmd_codec_destroy(cmd_codec_t *c) {
        if (c == NULL)
                return;
        codec_destroy(c->cc_codec);
        codec_registry_destroy(c->cc_reg);
        free(c);
}

int cmd_codec_decode_command(cmd_codec_t *c, const void *buf, size_t len, bg_command_t *out,
                             char *errstr, size_t errstr_size) {
        return codec_decode_command(c->cc_codec, buf, len, out, errstr, errstr_size) == CODEC_OK
                       ? 0
                       : -1;
}

int cmd_codec_peek_command_ids(cmd_codec_t *c, const void *buf, size_t len,
                               bg_uuid_t *command_id, bg_uuid_t *account_id) {
        char errstr[256];

        return codec_peek_command_ids(c->cc_codec, buf, len, command_id, account_id, errstr,
                                      sizeof(errstr)) == CODEC_OK
                       ? 0
                       : -1;
}

int cmd_codec_encode_event(cmd_codec_t *c, const bg_event_t *ev, bool canonical,
                           const void **out, size_t *out_len, char *errstr, size_t errstr_size) {
        const uint8_t *p;
        codec_err_t err = canonical
                ? codec_event_canonical(c->cc_codec, ev, &p, out_len, errstr, errstr_size)
                : codec_encode_event(c->cc_codec, ev, &p, out_len, errstr, errstr_size);
        *out = p;
        return err == CODEC_OK ? 0 : -1;
}

int cmd_codec_decode_event(cmd_codec_t *c, const void *buf, size_t len, bg_event_t *out,
                           char *errstr, size_t errstr_size) {
        return codec_decode_event(c->cc_codec, buf, len, out, errstr, errstr_size) == CODEC_OK
                       ? 0
                       : -1;
}

int cmd_codec_encode_result(cmd_codec_t *c, const bg_command_result_t *res, const void **out,
                            size_t *out_len, char *errstr, size_t errstr_size) {
        const uint8_t *p;
        codec_err_t err = codec_encode_result(c->cc_codec, res, &p, out_len, errstr, errstr_size);
        *out = p;
        return err == CODEC_OK ? 0 : -1;
}
