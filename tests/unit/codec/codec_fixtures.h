/*
 * codec_fixtures: fully populated sample values of every wire type, shared by the codec
 * unit tests and the fuzz seed-corpus generator. Every field holds a non-default value, so
 * that a round trip that drops a field shows.
 */
#ifndef CODEC_FIXTURES_H
#define CODEC_FIXTURES_H

#include "codec.h"

/* A deterministic UUID from @seed. */
void fx_uuid(bg_uuid_t *out, uint8_t seed);

/* A resolved profile with every field set (non-ASCII free text included). */
void fx_profile(bg_profile_t *p);

/* Zeroes *cmd and fills a command of @type, payload and envelope. */
void fx_command(bg_command_t *cmd, bg_command_type_t type);

/* Zeroes *ev and fills an event of @type (prev_hash and hash set to patterns). */
void fx_event(bg_event_t *ev, bg_event_type_t type);

void fx_result(bg_command_result_t *res, bg_outcome_t outcome);

void fx_usage(codec_usage_t *u);

/* An invoice with @n_lines lines (at most 8) in @lines, tags in @tags (at least 8 * 3). */
void fx_invoice(codec_invoice_t *inv, codec_invoice_line_t *lines, size_t n_lines,
                codec_tag_t *tags);

#endif /* CODEC_FIXTURES_H */
