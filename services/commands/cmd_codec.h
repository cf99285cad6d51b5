/*
 * cmd_codec: what the commands service needs of the codec, in one place: decode a
 * command (bounded, untrusted bytes), read the ids of one that does not decode, encode
 * events (canonical form for the hash, and final) and results, decode events of the log.
 *
 * Encoders return a pointer to a buffer owned by the codec, valid until its next call.
 */
#ifndef CMD_CODEC_H
#define CMD_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "bg_command.h"
#include "bg_event.h"

typedef struct cmd_codec_s cmd_codec_t;

cmd_codec_t *cmd_codec_new(char *errstr, size_t errstr_size);
void cmd_codec_destroy(cmd_codec_t *c);      /* NULL is a no-op */

int cmd_codec_decode_command(cmd_codec_t *c, const void *buf, size_t len, bg_command_t *out,
                             char *errstr, size_t errstr_size);
/* 0 when the envelope's command_id and account_id can be read from a command that does
 * not decode as a whole (so the issuer gets a rejection instead of silence). */
int cmd_codec_peek_command_ids(cmd_codec_t *c, const void *buf, size_t len,
                               bg_uuid_t *command_id, bg_uuid_t *account_id);
int cmd_codec_encode_event(cmd_codec_t *c, const bg_event_t *ev, bool canonical,
                           const void **out, size_t *out_len, char *errstr, size_t errstr_size);
int cmd_codec_decode_event(cmd_codec_t *c, const void *buf, size_t len, bg_event_t *out,
                           char *errstr, size_t errstr_size);
int cmd_codec_encode_result(cmd_codec_t *c, const bg_command_result_t *res, const void **out,
                            size_t *out_len, char *errstr, size_t errstr_size);

#endif /* CMD_CODEC_H */
