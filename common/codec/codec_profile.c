/*
 * Billing profiles on the wire: BillingProfile (resolved: every field) in events,
 * BillingProfilePatch (every field nullable: null = unchanged) in commands. One table
 * drives both, so that a field added to bg_profile_t is added in one place.
 */
#include "codec_int.h"

#include <stddef.h>
#include <string.h>

typedef enum {
        PF_STR,       /* char[size] */
        PF_STR_LIST,  /* char[max_rows][size] + size_t count */
        PF_PAYMENT,   /* bg_payment_method_t */
        PF_CURRENCY,  /* bg_currency_t */
} pf_kind_t;

typedef struct pfield_s {
        const char *name;
        uint32_t bit;
        pf_kind_t kind;
        size_t off;        /* of the value in bg_profile_t */
        size_t size;       /* bytes of one string */
        size_t max_chars;  /* 0: a byte limit only */
        size_t n_off;      /* PF_STR_LIST: of the count */
        size_t max_rows;
} pfield_t;

#define STR(f, bit, chars) \
        {#f, bit, PF_STR, offsetof(bg_profile_t, f), sizeof(((bg_profile_t *)0)->f), chars, 0, 0}
#define LIST(f, bit, chars, max) \
        {#f, bit, PF_STR_LIST, offsetof(bg_profile_t, f), sizeof(((bg_profile_t *)0)->f[0]), \
         chars, offsetof(bg_profile_t, n_##f), max}

static const pfield_t pfields[] = {
        LIST(billing_emails, BG_PROFILE_F_BILLING_EMAILS, 0, BG_BILLING_EMAILS_MAX),
        LIST(billing_contact_emails, BG_PROFILE_F_BILLING_CONTACT_EMAILS, 0,
             BG_CONTACT_EMAILS_MAX),
        STR(billing_extra_text, BG_PROFILE_F_BILLING_EXTRA_TEXT, BG_EXTRA_TEXT_MAX),
        {"payment_method", BG_PROFILE_F_PAYMENT_METHOD, PF_PAYMENT,
         offsetof(bg_profile_t, payment_method), 0, 0, 0, 0},
        STR(card_id, BG_PROFILE_F_CARD_ID, 0),
        STR(company, BG_PROFILE_F_COMPANY, BG_COMPANY_MAX),
        LIST(address_lines, BG_PROFILE_F_ADDRESS_LINES, BG_ADDRESS_LINE_MAX,
             BG_ADDRESS_LINES_MAX),
        STR(city, BG_PROFILE_F_CITY, BG_CITY_MAX),
        STR(state, BG_PROFILE_F_STATE, BG_STATE_MAX),
        STR(zip_code, BG_PROFILE_F_ZIP_CODE, BG_ZIP_CODE_MAX),
        STR(country_code, BG_PROFILE_F_COUNTRY_CODE, 0),
        STR(vat_id, BG_PROFILE_F_VAT_ID, BG_VAT_ID_MAX),
        {"billing_currency", BG_PROFILE_F_BILLING_CURRENCY, PF_CURRENCY,
         offsetof(bg_profile_t, billing_currency), 0, 0, 0, 0},
};

#define N_PFIELDS (sizeof(pfields) / sizeof(pfields[0]))

static codec_err_t pf_decode(codec_ctx_t *x, const pfield_t *f, avro_value_t *v,
                             bg_profile_t *p) {
        char *base = (char *)p;
        const char *sym;
        codec_err_t err;

        switch (f->kind) {
        case PF_STR:
                return codec_d_str_value(x, f->name, v, base + f->off, f->size, f->max_chars);
        case PF_STR_LIST:
                return codec_d_str_array_value(x, f->name, v, base + f->off, f->size,
                                               f->max_rows, f->max_chars,
                                               (size_t *)(void *)(base + f->n_off));
        case PF_PAYMENT:
                err = codec_d_enum_value(x, f->name, v, &sym);
                if (err != CODEC_OK)
                        return err;
                p->payment_method = bg_payment_method_from_name(sym);
                if (p->payment_method == BG_PAYMENT_UNSET)
                        return codec_fail(x, CODEC_ERR_INVALID, f->name,
                                          "unknown payment method \"%s\"", sym);
                return CODEC_OK;
        case PF_CURRENCY:
                err = codec_d_enum_value(x, f->name, v, &sym);
                if (err != CODEC_OK)
                        return err;
                p->billing_currency = bg_currency_from_name(sym);
                if (p->billing_currency == BG_CURRENCY_UNSET)
                        return codec_fail(x, CODEC_ERR_INVALID, f->name,
                                          "unknown currency \"%s\"", sym);
                return CODEC_OK;
        }
        return CODEC_ERR_AVRO;
}

static codec_err_t pf_encode(codec_ctx_t *x, const pfield_t *f, avro_value_t *v,
                             const bg_profile_t *p) {
        const char *base = (const char *)p;

        switch (f->kind) {
        case PF_STR:
                return codec_e_str_value(x, f->name, v, base + f->off, f->size, f->max_chars);
        case PF_STR_LIST:
                return codec_e_str_array_value(x, f->name, v, base + f->off, f->size,
                                               *(const size_t *)(const void *)(base + f->n_off),
                                               f->max_rows, f->max_chars);
        case PF_PAYMENT:
                return codec_e_enum_value(x, f->name, v, bg_payment_method_name(p->payment_method));
        case PF_CURRENCY:
                return codec_e_enum_value(x, f->name, v, bg_currency_name(p->billing_currency));
        }
        return CODEC_ERR_AVRO;
}

codec_err_t codec_d_profile(codec_ctx_t *x, avro_value_t *rec, bg_profile_t *out) {
        for (size_t i = 0; i < N_PFIELDS; i++) {
                avro_value_t v = {0};
                codec_err_t err;

                if (!codec_d_field(rec, pfields[i].name, &v))
                        continue;   /* older writer schema: default */
                err = pf_decode(x, &pfields[i], &v, out);
                if (err != CODEC_OK)
                        return err;
        }
        return CODEC_OK;
}

codec_err_t codec_d_profile_patch(codec_ctx_t *x, avro_value_t *rec, bg_profile_patch_t *out) {
        out->present = 0;
        for (size_t i = 0; i < N_PFIELDS; i++) {
                avro_value_t v = {0};
                bool present;
                codec_err_t err;

                err = codec_d_opt(x, rec, pfields[i].name, &v, &present);
                if (err != CODEC_OK)
                        return err;
                if (!present)
                        continue;
                err = pf_decode(x, &pfields[i], &v, &out->v);
                if (err != CODEC_OK)
                        return err;
                out->present |= pfields[i].bit;
        }
        return CODEC_OK;
}

codec_err_t codec_e_profile(codec_ctx_t *x, avro_value_t *rec, const bg_profile_t *p) {
        for (size_t i = 0; i < N_PFIELDS; i++) {
                avro_value_t v = {0};
                codec_err_t err;

                err = codec_e_field(x, rec, pfields[i].name, &v);
                if (err == CODEC_OK)
                        err = pf_encode(x, &pfields[i], &v, p);
                if (err != CODEC_OK)
                        return err;
        }
        return CODEC_OK;
}

codec_err_t codec_e_profile_patch(codec_ctx_t *x, avro_value_t *rec,
                                  const bg_profile_patch_t *pp) {
        if ((pp->present & ~(uint32_t)BG_PROFILE_F_ALL) != 0)
                return codec_fail(x, CODEC_ERR_ARG, NULL,
                                  "profile patch has unknown field bits 0x%x",
                                  pp->present & ~(uint32_t)BG_PROFILE_F_ALL);
        for (size_t i = 0; i < N_PFIELDS; i++) {
                const bool present = (pp->present & pfields[i].bit) != 0;
                avro_value_t v = {0};
                codec_err_t err;

                err = codec_e_opt(x, rec, pfields[i].name, present, &v);
                if (err == CODEC_OK && present)
                        err = pf_encode(x, &pfields[i], &v, &pp->v);
                if (err != CODEC_OK)
                        return err;
        }
        return CODEC_OK;
}
