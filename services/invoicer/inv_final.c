#include "inv_final.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool credit_valid(const inv_fcredit_t *c, int64_t begin, int64_t end) {
        return c->fc_start_time < end && (!c->fc_has_expire || c->fc_expire_time > begin) &&
               c->fc_remaining > 0;
}

/* Project-scoped first, then earliest expiry (none last), then code. */
static int credit_cmp(const void *a, const void *b) {
        const inv_fcredit_t *x = *(const inv_fcredit_t *const *)a;
        const inv_fcredit_t *y = *(const inv_fcredit_t *const *)b;

        if (x->fc_has_project != y->fc_has_project)
                return x->fc_has_project ? -1 : 1;
        if (x->fc_has_expire != y->fc_has_expire)
                return x->fc_has_expire ? -1 : 1;
        if (x->fc_has_expire && x->fc_expire_time != y->fc_expire_time)
                return x->fc_expire_time < y->fc_expire_time ? -1 : 1;
        return strcmp(x->fc_code, y->fc_code);
}

static int64_t min64(int64_t a, int64_t b) {
        return a < b ? a : b;
}

int inv_final_compute(inv_fline_t *lines, size_t nlines, inv_fcredit_t *credits,
                      size_t ncredits, int64_t period_begin, int64_t period_end,
                      const bg_money_currency_t *cur, int64_t vat_percent_micros,
                      inv_ftotals_t *out, char *errstr, size_t errstr_size) {
        inv_fcredit_t **order = NULL;
        int64_t open, subtotal, rounded;
        int used = 0;

        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < nlines; i++) {
                if (lines[i].fl_amount < 0) {
                        snprintf(errstr, errstr_size, "negative charge line");
                        return -1;
                }
                if (bg_money_round_currency(lines[i].fl_amount, cur, BG_MONEY_ROUND_INVOICE,
                                            &lines[i].fl_total) != BG_MONEY_OK ||
                    bg_money_add(out->ft_charges, lines[i].fl_total, &out->ft_charges) !=
                            BG_MONEY_OK)
                        goto overflow;
        }
        open = out->ft_charges;
        if (ncredits > 0 && (order = malloc(ncredits * sizeof(*order))) == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (size_t i = 0; i < ncredits; i++) {
                credits[i].fc_used = 0;
                credits[i].fc_order = -1;
                order[i] = &credits[i];
        }
        if (ncredits > 0)
                qsort(order, ncredits, sizeof(*order), credit_cmp);
        for (size_t k = 0; k < ncredits && open > 0; k++) {
                inv_fcredit_t *c = order[k];
                int64_t room = open;

                if (!credit_valid(c, period_begin, period_end))
                        continue;
                if (c->fc_has_project) {
                        /* What is still unpaid of the project's lines: its charges less the
                         * project credits already used on it. */
                        int64_t proj = 0;
                        for (size_t i = 0; i < nlines; i++)
                                if (lines[i].fl_has_project &&
                                    bg_uuid_equal(&lines[i].fl_project, &c->fc_project))
                                        proj += lines[i].fl_total;
                        for (size_t j = 0; j < k; j++)
                                if (order[j]->fc_has_project &&
                                    bg_uuid_equal(&order[j]->fc_project, &c->fc_project))
                                        proj -= order[j]->fc_used;
                        room = min64(room, proj);
                }
                c->fc_used = min64(c->fc_remaining, room);
                if (c->fc_used <= 0) {
                        c->fc_used = 0;
                        continue;
                }
                c->fc_order = used++;
                open -= c->fc_used;
                out->ft_credits += c->fc_used;
        }
        free(order);
        subtotal = out->ft_charges - out->ft_credits;     /* 0 <= subtotal <= charges */
        if (bg_money_round_currency(subtotal, cur, BG_MONEY_ROUND_INVOICE, &rounded) !=
            BG_MONEY_OK)
                goto overflow;
        out->ft_rounding = rounded - subtotal;
        out->ft_total_vat_zero = rounded;
        if (bg_money_mul(rounded, vat_percent_micros / 100, BG_MONEY_ROUND_INVOICE,
                         &out->ft_vat) != BG_MONEY_OK ||
            bg_money_round_currency(out->ft_vat, cur, BG_MONEY_ROUND_INVOICE, &out->ft_vat) !=
                    BG_MONEY_OK ||
            bg_money_add(rounded, out->ft_vat, &out->ft_total_inc_vat) != BG_MONEY_OK)
                goto overflow;
        return 0;
overflow:
        snprintf(errstr, errstr_size, "invoice amounts overflow");
        return -1;
}
