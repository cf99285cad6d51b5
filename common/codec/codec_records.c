/*
 * billing.CommandResult <-> bg_command_result_t, billing.UsageRecord <-> codec_usage_t,
 * billing.Invoice <-> codec_invoice_t.
 */
#include "codec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(e)                                  \
        do {                                    \
                if ((err = (e)) != CODEC_OK)    \
                        return err;             \
        } while (0)

static const char *const line_type_names[CODEC_LINE__COUNT] = {
        NULL,           "service_charge", "extra_charge", "support_charge", "commitment_fee",
        "credit_consumption", "multiplier", "other_event", "rounding",
};

static const char *const invoice_state_names[CODEC_INVOICE__COUNT] = {
        NULL,
        "estimate",
        "due",
        "paid",
        "mailed",
        "accrual",
        "consolidated",
        "failed_credit_card_charge",
        "failed_no_credit_card",
        "no_payment_expected",
        "partner_metering",
        "uncollectible",
        "waived",
        "due_only_project_charges_calculated",
};

const char *codec_line_type_name(codec_line_type_t t) {
        return (unsigned)t < CODEC_LINE__COUNT ? line_type_names[t] : NULL;
}

codec_line_type_t codec_line_type_from_name(const char *s) {
        if (s == NULL)
                return CODEC_LINE_UNSET;
        for (int i = 1; i < CODEC_LINE__COUNT; i++)
                if (strcmp(line_type_names[i], s) == 0)
                        return (codec_line_type_t)i;
        return CODEC_LINE_UNSET;
}

const char *codec_invoice_state_name(codec_invoice_state_t s) {
        return (unsigned)s < CODEC_INVOICE__COUNT ? invoice_state_names[s] : NULL;
}

codec_invoice_state_t codec_invoice_state_from_name(const char *s) {
        if (s == NULL)
                return CODEC_INVOICE_UNSET;
        for (int i = 1; i < CODEC_INVOICE__COUNT; i++)
                if (strcmp(invoice_state_names[i], s) == 0)
                        return (codec_invoice_state_t)i;
        return CODEC_INVOICE_UNSET;
}

static codec_err_t d_line_type(codec_ctx_t *x, avro_value_t *rec, codec_line_type_t *out) {
        const char *sym;
        codec_err_t err;

        TRY(codec_d_enum(x, rec, "line_type", &sym));
        if (sym == NULL) {              /* older writer schema: the default */
                *out = CODEC_LINE_SERVICE_CHARGE;
                return CODEC_OK;
        }
        *out = codec_line_type_from_name(sym);
        if (*out == CODEC_LINE_UNSET)
                return codec_fail(x, CODEC_ERR_INVALID, "line_type", "unknown line type \"%s\"",
                                  sym);
        return CODEC_OK;
}

/*
 * CommandResult
 */

codec_err_t codec_encode_result(codec_t *c, const bg_command_result_t *res,
                                const uint8_t **out, size_t *out_len,
                                char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        const char *code = NULL;
        codec_schema_t *s;
        codec_err_t err;

        if (c == NULL || res == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, result or output");
                return CODEC_ERR_ARG;
        }
        if (res->outcome == BG_OUTCOME_REJECTED) {
                code = bg_reject_code_name(res->rejection.code);
                if (code == NULL)
                        return codec_fail(&x, CODEC_ERR_ARG, "code",
                                          "a rejected result needs a rejection code");
        } else if (res->rejection.code != BG_REJECT_NONE) {
                return codec_fail(&x, CODEC_ERR_ARG, "code",
                                  "rejection code set for outcome %s",
                                  bg_outcome_name(res->outcome) ? bg_outcome_name(res->outcome)
                                                                : "(invalid)");
        }
        TRY(codec_encode_begin(c, CODEC_KIND_RESULT, &s, errstr, errstr_size));
        TRY(codec_e_uuid(&x, &s->value, "command_id", &res->command_id));
        TRY(codec_e_uuid(&x, &s->value, "account_id", &res->account_id));
        TRY(codec_e_enum(&x, &s->value, "outcome", bg_outcome_name(res->outcome)));
        TRY(codec_e_opt_enum(&x, &s->value, "code", code));
        TRY(codec_e_str(&x, &s->value, "message", res->rejection.message,
                        sizeof(res->rejection.message), 0));
        TRY(codec_e_long(&x, &s->value, "first_seq", res->first_seq));
        TRY(codec_e_long(&x, &s->value, "last_seq", res->last_seq));
        return codec_encode_finish(c, s, &c->wire, out, out_len, errstr, errstr_size);
}

codec_err_t codec_decode_result(codec_t *c, const void *buf, size_t len,
                                bg_command_result_t *out, char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        const char *sym;
        codec_schema_t *s;
        codec_err_t err;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        TRY(codec_decode_begin(c, CODEC_KIND_RESULT, buf, len, &s, errstr, errstr_size));
        memset(out, 0, sizeof(*out));
        TRY(codec_d_uuid(&x, &s->value, "command_id", &out->command_id));
        TRY(codec_d_uuid(&x, &s->value, "account_id", &out->account_id));
        TRY(codec_d_enum(&x, &s->value, "outcome", &sym));
        out->outcome = bg_outcome_from_name(sym);
        if (out->outcome == BG_OUTCOME__COUNT)
                return codec_fail(&x, CODEC_ERR_INVALID, "outcome", "unknown outcome \"%s\"",
                                  sym ? sym : "");
        TRY(codec_d_opt_enum(&x, &s->value, "code", &sym));
        if (sym != NULL) {
                out->rejection.code = bg_reject_code_from_name(sym);
                if (out->rejection.code == BG_REJECT_NONE)
                        return codec_fail(&x, CODEC_ERR_INVALID, "code",
                                          "unknown rejection code \"%s\"", sym);
        }
        if ((out->outcome == BG_OUTCOME_REJECTED) != (out->rejection.code != BG_REJECT_NONE))
                return codec_fail(&x, CODEC_ERR_INVALID, "code",
                                  "outcome %s %s a rejection code",
                                  bg_outcome_name(out->outcome),
                                  out->outcome == BG_OUTCOME_REJECTED ? "without" : "with");
        TRY(codec_d_str(&x, &s->value, "message", out->rejection.message,
                        sizeof(out->rejection.message), 0));
        TRY(codec_d_long(&x, &s->value, "first_seq", &out->first_seq));
        TRY(codec_d_long(&x, &s->value, "last_seq", &out->last_seq));
        return CODEC_OK;
}

/*
 * UsageRecord
 */

codec_err_t codec_encode_usage(codec_t *c, const codec_usage_t *u,
                               const uint8_t **out, size_t *out_len,
                               char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_line_type_t lt;
        codec_schema_t *s;
        avro_value_t *r;
        codec_err_t err;

        if (c == NULL || u == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, usage record or output");
                return CODEC_ERR_ARG;
        }
        lt = u->line_type == CODEC_LINE_UNSET ? CODEC_LINE_SERVICE_CHARGE : u->line_type;
        TRY(codec_encode_begin(c, CODEC_KIND_USAGE, &s, errstr, errstr_size));
        r = &s->value;
        TRY(codec_e_uuid(&x, r, "usage_id", &u->usage_id));
        TRY(codec_e_uuid(&x, r, "project_id", &u->project_id));
        TRY(codec_e_str(&x, r, "service_name", u->service_name, sizeof(u->service_name), 0));
        TRY(codec_e_str(&x, r, "service_type", u->service_type, sizeof(u->service_type), 0));
        TRY(codec_e_str(&x, r, "service_plan", u->service_plan, sizeof(u->service_plan), 0));
        TRY(codec_e_enum(&x, r, "line_type", codec_line_type_name(lt)));
        TRY(codec_e_decimal(&x, r, "quantity", u->quantity));
        TRY(codec_e_str(&x, r, "unit", u->unit, sizeof(u->unit), 0));
        TRY(codec_e_opt_decimal(&x, r, "unit_price", u->unit_price, u->has_unit_price));
        TRY(codec_e_opt_decimal(&x, r, "amount", u->amount, u->has_amount));
        TRY(codec_e_enum(&x, r, "currency", bg_currency_name(u->currency)));
        TRY(codec_e_long(&x, r, "timestamp_begin", u->timestamp_begin));
        TRY(codec_e_long(&x, r, "timestamp_end", u->timestamp_end));
        TRY(codec_e_tags(&x, r, "tags", u->tags, u->n_tags));
        return codec_encode_finish(c, s, &c->wire, out, out_len, errstr, errstr_size);
}

codec_err_t codec_decode_usage_generic(codec_t *c, const void *buf, size_t len,
                                       codec_usage_t *out, char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        avro_value_t *r;
        codec_err_t err;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        TRY(codec_decode_begin(c, CODEC_KIND_USAGE, buf, len, &s, errstr, errstr_size));
        r = &s->value;
        /* The tags are 10 KiB: zero all but them; codec_d_tags writes the used ones. */
        memset(out, 0, offsetof(codec_usage_t, tags));
        TRY(codec_d_uuid(&x, r, "usage_id", &out->usage_id));
        TRY(codec_d_uuid(&x, r, "project_id", &out->project_id));
        TRY(codec_d_str(&x, r, "service_name", out->service_name, sizeof(out->service_name), 0));
        TRY(codec_d_str(&x, r, "service_type", out->service_type, sizeof(out->service_type), 0));
        TRY(codec_d_str(&x, r, "service_plan", out->service_plan, sizeof(out->service_plan), 0));
        TRY(d_line_type(&x, r, &out->line_type));
        TRY(codec_d_decimal(&x, r, "quantity", &out->quantity));
        TRY(codec_d_str(&x, r, "unit", out->unit, sizeof(out->unit), 0));
        TRY(codec_d_opt_decimal(&x, r, "unit_price", &out->unit_price, &out->has_unit_price));
        TRY(codec_d_opt_decimal(&x, r, "amount", &out->amount, &out->has_amount));
        TRY(codec_d_currency(&x, r, "currency", &out->currency));
        TRY(codec_d_long(&x, r, "timestamp_begin", &out->timestamp_begin));
        TRY(codec_d_long(&x, r, "timestamp_end", &out->timestamp_end));
        TRY(codec_d_tags(&x, r, "tags", out->tags, CODEC_TAGS_MAX, &out->n_tags));
        return CODEC_OK;
}

/*
 * Invoice
 */

static codec_err_t e_line(codec_ctx_t *x, avro_value_t *r, const codec_invoice_line_t *l) {
        codec_err_t err;

        TRY(codec_e_enum(x, r, "line_type", codec_line_type_name(l->line_type)));
        TRY(codec_e_str(x, r, "description", l->description, sizeof(l->description), 0));
        TRY(codec_e_opt_str(x, r, "project_name", l->project_name, sizeof(l->project_name), 0,
                            l->project_name[0] != '\0'));
        TRY(codec_e_opt_str(x, r, "service_name", l->service_name, sizeof(l->service_name), 0,
                            l->service_name[0] != '\0'));
        TRY(codec_e_opt_str(x, r, "service_type", l->service_type, sizeof(l->service_type), 0,
                            l->service_type[0] != '\0'));
        TRY(codec_e_opt_str(x, r, "service_plan", l->service_plan, sizeof(l->service_plan), 0,
                            l->service_plan[0] != '\0'));
        TRY(codec_e_decimal(x, r, "line_total", l->line_total));
        TRY(codec_e_opt_long(x, r, "timestamp_begin", l->timestamp_begin,
                             l->has_timestamp_begin));
        TRY(codec_e_opt_long(x, r, "timestamp_end", l->timestamp_end, l->has_timestamp_end));
        TRY(codec_e_tags(x, r, "tags", l->tags, l->n_tags));
        return CODEC_OK;
}

codec_err_t codec_encode_invoice(codec_t *c, const codec_invoice_t *inv,
                                 const uint8_t **out, size_t *out_len,
                                 char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        avro_value_t *r, lines = {0};
        codec_err_t err;

        if (c == NULL || inv == NULL || out == NULL || out_len == NULL) {
                snprintf(errstr, errstr_size, "no codec, invoice or output");
                return CODEC_ERR_ARG;
        }
        if (inv->n_lines > CODEC_INVOICE_LINES_MAX || (inv->n_lines > 0 && inv->lines == NULL))
                return codec_fail(&x, CODEC_ERR_ARG, "lines", "%zu lines: more than %d or no array",
                                  inv->n_lines, CODEC_INVOICE_LINES_MAX);
        TRY(codec_encode_begin(c, CODEC_KIND_INVOICE, &s, errstr, errstr_size));
        r = &s->value;
        TRY(codec_e_str(&x, r, "invoice_number", inv->invoice_number,
                        sizeof(inv->invoice_number), 0));
        TRY(codec_e_uuid(&x, r, "billing_group_id", &inv->billing_group_id));
        TRY(codec_e_str(&x, r, "billing_group_name", inv->billing_group_name,
                        sizeof(inv->billing_group_name), BG_NAME_MAX));
        TRY(codec_e_uuid(&x, r, "account_id", &inv->account_id));
        TRY(codec_e_enum(&x, r, "currency", bg_currency_name(inv->currency)));
        TRY(codec_e_long(&x, r, "period_begin", inv->period_begin));
        TRY(codec_e_long(&x, r, "period_end", inv->period_end));
        TRY(codec_e_enum(&x, r, "state", codec_invoice_state_name(inv->state)));
        TRY(codec_e_decimal(&x, r, "total_vat_zero", inv->total_vat_zero));
        TRY(codec_e_decimal(&x, r, "total_inc_vat", inv->total_inc_vat));
        TRY(codec_e_opt_long(&x, r, "issue_date", inv->issue_date, inv->has_issue_date));
        TRY(codec_e_opt_long(&x, r, "due_date", inv->due_date, inv->has_due_date));
        TRY(codec_e_long(&x, r, "revision", inv->revision));
        TRY(codec_e_field(&x, r, "lines", &lines));
        for (size_t i = 0; i < inv->n_lines; i++) {
                avro_value_t l = {0};
                char seg[32];
                size_t mark;

                if (avro_value_append(&lines, &l, NULL) != 0)
                        return codec_fail(&x, CODEC_ERR_AVRO, "lines", "cannot append");
                snprintf(seg, sizeof(seg), "lines[%zu]", i);
                mark = codec_ctx_push(&x, seg);
                err = e_line(&x, &l, &inv->lines[i]);
                codec_ctx_pop(&x, mark);
                if (err != CODEC_OK)
                        return err;
        }
        return codec_encode_finish(c, s, &c->wire, out, out_len, errstr, errstr_size);
}

static codec_err_t d_line(codec_ctx_t *x, avro_value_t *r, codec_invoice_line_t *l,
                          codec_tag_t *tags) {
        bool present;
        codec_err_t err;

        TRY(d_line_type(x, r, &l->line_type));
        TRY(codec_d_str(x, r, "description", l->description, sizeof(l->description), 0));
        TRY(codec_d_opt_str(x, r, "project_name", l->project_name, sizeof(l->project_name), 0,
                            &present));
        TRY(codec_d_opt_str(x, r, "service_name", l->service_name, sizeof(l->service_name), 0,
                            &present));
        TRY(codec_d_opt_str(x, r, "service_type", l->service_type, sizeof(l->service_type), 0,
                            &present));
        TRY(codec_d_opt_str(x, r, "service_plan", l->service_plan, sizeof(l->service_plan), 0,
                            &present));
        TRY(codec_d_decimal(x, r, "line_total", &l->line_total));
        TRY(codec_d_opt_long(x, r, "timestamp_begin", &l->timestamp_begin,
                             &l->has_timestamp_begin));
        TRY(codec_d_opt_long(x, r, "timestamp_end", &l->timestamp_end, &l->has_timestamp_end));
        TRY(codec_d_tags(x, r, "tags", tags, CODEC_TAGS_MAX, &l->n_tags));
        l->tags = l->n_tags > 0 ? tags : NULL;
        return CODEC_OK;
}

static codec_err_t d_invoice(codec_ctx_t *x, avro_value_t *r, codec_invoice_t *inv) {
        avro_value_t lines = {0};
        const char *sym;
        size_t n = 0, n_tags = 0, used = 0;
        codec_err_t err;

        TRY(codec_d_str(x, r, "invoice_number", inv->invoice_number,
                        sizeof(inv->invoice_number), 0));
        TRY(codec_d_uuid(x, r, "billing_group_id", &inv->billing_group_id));
        TRY(codec_d_str(x, r, "billing_group_name", inv->billing_group_name,
                        sizeof(inv->billing_group_name), BG_NAME_MAX));
        TRY(codec_d_uuid(x, r, "account_id", &inv->account_id));
        TRY(codec_d_currency(x, r, "currency", &inv->currency));
        TRY(codec_d_long(x, r, "period_begin", &inv->period_begin));
        TRY(codec_d_long(x, r, "period_end", &inv->period_end));
        TRY(codec_d_enum(x, r, "state", &sym));
        inv->state = codec_invoice_state_from_name(sym);
        if (inv->state == CODEC_INVOICE_UNSET)
                return codec_fail(x, CODEC_ERR_INVALID, "state", "unknown invoice state \"%s\"",
                                  sym ? sym : "");
        TRY(codec_d_decimal(x, r, "total_vat_zero", &inv->total_vat_zero));
        TRY(codec_d_decimal(x, r, "total_inc_vat", &inv->total_inc_vat));
        TRY(codec_d_opt_long(x, r, "issue_date", &inv->issue_date, &inv->has_issue_date));
        TRY(codec_d_opt_long(x, r, "due_date", &inv->due_date, &inv->has_due_date));
        TRY(codec_d_long(x, r, "revision", &inv->revision));
        if (!codec_d_field(r, "lines", &lines))
                return CODEC_OK;
        if (avro_value_get_type(&lines) != AVRO_ARRAY || avro_value_get_size(&lines, &n) != 0)
                return codec_fail(x, CODEC_ERR_INVALID, "lines", "not an array");
        if (n > CODEC_INVOICE_LINES_MAX)
                return codec_fail(x, CODEC_ERR_INVALID, "lines", "%zu lines, more than %d", n,
                                  CODEC_INVOICE_LINES_MAX);
        if (n == 0)
                return CODEC_OK;
        /* First pass: how many tags, so that one pool holds them all. */
        for (size_t i = 0; i < n; i++) {
                avro_value_t l = {0}, t = {0};
                size_t k = 0;

                if (avro_value_get_by_index(&lines, i, &l, NULL) == 0 &&
                    codec_d_field(&l, "tags", &t) && avro_value_get_type(&t) == AVRO_MAP &&
                    avro_value_get_size(&t, &k) == 0)
                        n_tags += k < CODEC_TAGS_MAX ? k : CODEC_TAGS_MAX;
        }
        inv->lines = calloc(n, sizeof(*inv->lines));
        if (n_tags > 0)
                inv->tag_pool = calloc(n_tags, sizeof(*inv->tag_pool));
        if (inv->lines == NULL || (n_tags > 0 && inv->tag_pool == NULL))
                return codec_fail(x, CODEC_ERR_NOMEM, "lines", "out of memory for %zu lines", n);
        inv->n_lines = n;
        for (size_t i = 0; i < n; i++) {
                avro_value_t l = {0};
                char seg[32];
                size_t mark;

                if (avro_value_get_by_index(&lines, i, &l, NULL) != 0)
                        return codec_fail(x, CODEC_ERR_AVRO, "lines", "cannot read line %zu", i);
                snprintf(seg, sizeof(seg), "lines[%zu]", i);
                mark = codec_ctx_push(x, seg);
                err = d_line(x, &l, &inv->lines[i], inv->tag_pool ? inv->tag_pool + used : NULL);
                codec_ctx_pop(x, mark);
                if (err != CODEC_OK)
                        return err;
                used += inv->lines[i].n_tags;
        }
        return CODEC_OK;
}

codec_err_t codec_decode_invoice(codec_t *c, const void *buf, size_t len, codec_invoice_t *out,
                                 char *errstr, size_t errstr_size) {
        codec_ctx_t x = {.errstr = errstr, .errstr_size = errstr_size};
        codec_schema_t *s;
        codec_err_t err;

        if (out == NULL) {
                snprintf(errstr, errstr_size, "no output");
                return CODEC_ERR_ARG;
        }
        memset(out, 0, sizeof(*out));
        TRY(codec_decode_begin(c, CODEC_KIND_INVOICE, buf, len, &s, errstr, errstr_size));
        err = d_invoice(&x, &s->value, out);
        if (err != CODEC_OK)
                codec_invoice_clear(out);
        return err;
}

void codec_invoice_clear(codec_invoice_t *inv) {
        if (inv == NULL)
                return;
        free(inv->lines);
        free(inv->tag_pool);
        memset(inv, 0, sizeof(*inv));
}
