/*
 * inv_totals: what PostgreSQL holds of each open (estimate) invoice: its accumulated
 * amount and each line's summed quantity and amount, as of the last committed batch.
 *
 * The batch checks every record against these before it adds it (inv_batch_add), so a
 * record that would take a stored sum past the limit is dead-lettered on its own. Without
 * them PostgreSQL would refuse the whole batch's upsert ("bigint out of range") and the
 * invoicer would stop on it at every restart.
 *
 * Keys are the first 16 bytes of SHA-256 over (kind, invoice number, line key), so memory
 * is a few dozen bytes per open line whatever the key's length, and no usage record can
 * make two lines collide. Loaded at start from PostgreSQL, advanced when a batch is handed
 * to the committer (a failed commit reloads them), and an invoice's entries are dropped
 * when it is finalized.
 *
 * @locality one thread.
 */
#ifndef INV_TOTALS_H
#define INV_TOTALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* The most an open invoice may accumulate: 4 x 10^18 micros (4 x 10^12 currency units,
 * four times the largest single amount a usage record can carry). With VAT at most 100%
 * and rounding to a minor unit, a final invoice's totals then always fit int64. Line
 * sums are parts of it; quantities only have to fit int64. */
#define INV_SUM_MAX INT64_C(4000000000000000000)

typedef struct inv_totals_s inv_totals_t;

typedef struct inv_sum_s {
        int64_t is_quantity;            /* micro-units */
        int64_t is_amount;              /* micros */
} inv_sum_t;

inv_totals_t *inv_totals_new(void);             /* NULL when out of memory */
void inv_totals_destroy(inv_totals_t *t);       /* NULL is a no-op */
void inv_totals_clear(inv_totals_t *t);
size_t inv_totals_count(const inv_totals_t *t); /* entries: invoices + lines */

/* The stored sums of line @key of invoice @number; zeros when it has none yet. */
inv_sum_t inv_totals_line(const inv_totals_t *t, const char *number, const char *key);

/* The stored accumulated amount of invoice @number; 0 when it has none yet. */
int64_t inv_totals_invoice(const inv_totals_t *t, const char *number);

/* Adds @add to what is stored (loading, or after a committed batch). False when out of
 * memory or when the sum does not fit int64 (then nothing changed). */
bool inv_totals_add_line(inv_totals_t *t, const char *number, const char *key, inv_sum_t add);
bool inv_totals_add_invoice(inv_totals_t *t, const char *number, int64_t amount);

/* Drops the @n invoices @numbers and their lines (they became final and take no more
 * usage). Sorts @numbers. */
void inv_totals_forget(inv_totals_t *t, char (*numbers)[CODEC_INVOICE_NUMBER_MAX + 1],
                       size_t n);

#endif /* INV_TOTALS_H */
