/*
 * inv_batch: the invoice changes of one batch of usage records, aggregated in memory
 * before they are written in one transaction: one entry per touched invoice line
 * (invoice, project, line type, late period, service) with the sums of its records, and
 * one per touched invoice header. The store turns them into one multi-row upsert each.
 *
 * Memory is reused from batch to batch (inv_batch_reset keeps the arrays).
 *
 * @locality one thread.
 */
#ifndef INV_BATCH_H
#define INV_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_profile.h"
#include "bg_uuid.h"
#include "codec.h"
#include "inv_totals.h"

#define INV_LINE_KEY_SIZE 256

typedef struct inv_header_s {
        char ih_number[CODEC_INVOICE_NUMBER_MAX + 1];
        bg_uuid_t ih_group;
        bg_uuid_t ih_account;
        char ih_group_name[BG_NAME_SIZE];
        bg_currency_t ih_currency;
        int64_t ih_period_begin;
        int64_t ih_period_end;
        int64_t ih_amount;              /* micros, summed over the batch's lines */
        int64_t ih_stored;              /* micros, the invoice's amount before the batch */
        uint64_t ih_hash;
        int32_t ih_next;                /* chain in the bucket, -1 at the end */
} inv_header_t;

typedef struct inv_line_s {
        int32_t il_header;              /* index into the batch's headers */
        char il_key[INV_LINE_KEY_SIZE]; /* unique within the invoice */
        bg_uuid_t il_project;
        char il_project_name[BG_PROJECT_NAME_SIZE];
        codec_line_type_t il_type;
        int64_t il_late_period;         /* extra_charge: begin of the late period; else -1 */
        char il_service_name[CODEC_SERVICE_NAME_MAX + 1];
        char il_service_type[CODEC_SERVICE_TYPE_MAX + 1];
        char il_service_plan[CODEC_SERVICE_PLAN_MAX + 1];
        char il_unit[CODEC_UNIT_MAX + 1];
        char il_description[CODEC_DESCRIPTION_MAX + 1];
        int64_t il_quantity;            /* micro-units, summed */
        int64_t il_amount;              /* micros, summed, exact */
        int64_t il_ts_begin, il_ts_end; /* widened */
        int64_t il_records;
        inv_sum_t il_stored;            /* the line's sums before the batch */
        char *il_tags_json;             /* of the first record; owned */
        uint64_t il_hash;
        int32_t il_next;
} inv_line_t;

typedef struct inv_batch_s {
        inv_header_t *ib_headers;
        size_t ib_nheaders, ib_capheaders;
        inv_line_t *ib_lines;
        size_t ib_nlines, ib_caplines;
        int32_t *ib_hbuckets, *ib_lbuckets;
        size_t ib_hmask, ib_lmask;      /* bucket counts - 1 */
} inv_batch_t;

/* One usage record as it is to be billed. */
typedef struct inv_charge_s {
        const char *ic_invoice;         /* the invoice number */
        const bg_uuid_t *ic_group;
        const bg_uuid_t *ic_account;
        const char *ic_group_name;
        bg_currency_t ic_currency;
        int64_t ic_period_begin, ic_period_end;
        const bg_uuid_t *ic_project;
        const char *ic_project_name;
        int64_t ic_late_period;         /* -1: on time; else the late period's begin */
        const codec_usage_t *ic_usage;
        int64_t ic_amount;              /* micros: amount, or quantity x unit_price */
} inv_charge_t;

void inv_batch_init(inv_batch_t *b);
void inv_batch_free(inv_batch_t *b);            /* NULL is a no-op */
void inv_batch_reset(inv_batch_t *b);           /* empties it, keeps the memory */

#define INV_BATCH_NOMEM (-1)    /* out of memory: the batch is unusable, reset it */
#define INV_BATCH_OVER  1       /* the record does not fit: nothing changed, say why */

/* Adds @c to its line: 0, INV_BATCH_NOMEM, or INV_BATCH_OVER when the line's quantity
 * would overflow int64 or the invoice's amount would pass INV_SUM_MAX (each counting what
 * @stored holds, the batch, and @c). @stored may be NULL (nothing stored). */
int inv_batch_add(inv_batch_t *b, const inv_totals_t *stored, const inv_charge_t *c,
                  char *errstr, size_t errstr_size);

/* The number of the invoice of @group for the month holding @period_begin:
 * "<first 16 hex digits of the group id>-<YYYYMM>". */
void inv_invoice_number(const bg_uuid_t *group, int64_t period_begin,
                        char buf[CODEC_INVOICE_NUMBER_MAX + 1]);

/* Cuts @s at @max bytes on a UTF-8 character boundary (in place). */
void inv_utf8_cut(char *s, size_t max);

#endif /* INV_BATCH_H */
