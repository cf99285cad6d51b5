/*
 * inv_finalize: turns an estimate whose period ended (plus the grace period) into the
 * final invoice, in one transaction: line totals rounded, credit_consumption lines, a
 * rounding line where needed, totals with VAT, state due, credits' remaining value, and
 * the encoded invoice in the outbox (inv_final.h has the arithmetic).
 *
 * @locality one thread.
 */
#ifndef INV_FINALIZE_H
#define INV_FINALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "inv_conf.h"
#include "inv_members.h"
#include "inv_store.h"

/* Numbers of the estimates with period_end <= @cutoff_ms, oldest period first, into a
 * malloc()ed array of CODEC_INVOICE_NUMBER_MAX + 1 byte strings (caller frees). */
pgx_err_t inv_finalize_due(inv_store_t *st, int64_t cutoff_ms,
                           char (**numbers)[CODEC_INVOICE_NUMBER_MAX + 1], size_t *n,
                           char *errstr, size_t errstr_size);

/* Finalizes invoice @number at clock @now_ms. *@group and *@period_begin (may be NULL)
 * get its identity when it was finalized now; *@done says whether it was (false: it was
 * final already or is unknown). */
pgx_err_t inv_finalize_one(inv_store_t *st, const char *number, const inv_members_t *m,
                           const inv_conf_t *conf, codec_t *codec, int64_t now_ms, bool *done,
                           bg_uuid_t *group, int64_t *period_begin, char *errstr,
                           size_t errstr_size);

/* The final invoice @number as published (header and lines from the tables), into *@out
 * (free with inv_invoice_free). Used for the outbox and by tests' expectations. */
pgx_err_t inv_invoice_read(PGconn *conn, const char *number, codec_invoice_t *out,
                           char *errstr, size_t errstr_size);
void inv_invoice_free(codec_invoice_t *inv);

#endif /* INV_FINALIZE_H */
