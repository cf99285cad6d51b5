/*
 * inv_final: the arithmetic of finalizing an invoice, pure (no I/O): rounding of every
 * charge line to the currency's minor unit, credits (project-scoped ones on their
 * project's lines first, then group credits; each group by earliest expiry, no expiry
 * last, then code), a rounding line when the credits leave digits below the minor unit,
 * VAT. docs/invoicer.md, "Finalization", states the rules; this is their one place.
 */
#ifndef INV_FINAL_H
#define INV_FINAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_money.h"
#include "bg_uuid.h"

/* A charge line of the invoice (service_charge, extra_charge, ...). */
typedef struct inv_fline_s {
        bool fl_has_project;
        bg_uuid_t fl_project;
        int64_t fl_amount;              /* exact accumulated micros */
        int64_t fl_total;               /* out: rounded to the minor unit, half-up */
} inv_fline_t;

/* A credit claimed by the invoice's group (in the invoice currency). */
typedef struct inv_fcredit_s {
        const char *fc_code;
        bool fc_has_project;
        bg_uuid_t fc_project;
        int64_t fc_start_time;
        bool fc_has_expire;
        int64_t fc_expire_time;
        int64_t fc_remaining;           /* in: what is left of it */
        int64_t fc_used;                /* out: consumed by this invoice, >= 0 */
        int fc_order;                   /* out: position among the used credits, from 0 */
} inv_fcredit_t;

typedef struct inv_ftotals_s {
        int64_t ft_charges;             /* sum of the rounded charge lines */
        int64_t ft_credits;             /* sum of the credits used (>= 0) */
        int64_t ft_rounding;            /* the rounding line (0: none) */
        int64_t ft_total_vat_zero;      /* charges - credits + rounding: at the minor unit */
        int64_t ft_vat;
        int64_t ft_total_inc_vat;
} inv_ftotals_t;

/* Computes the final amounts of an invoice of period [@period_begin, @period_end) in
 * @cur with VAT @vat_percent_micros (25.5 % = 25500000). Credits not valid in the period
 * (start_time >= period_end, or expiry <= period_begin) are not used. -1 with a reason on
 * overflow or a negative charge. */
int inv_final_compute(inv_fline_t *lines, size_t nlines, inv_fcredit_t *credits,
                      size_t ncredits, int64_t period_begin, int64_t period_end,
                      const bg_money_currency_t *cur, int64_t vat_percent_micros,
                      inv_ftotals_t *out, char *errstr, size_t errstr_size);

#endif /* INV_FINAL_H */
