/* Billing profile helpers: field names, patching, comparison. */
#include <stdlib.h>
#include <string.h>

#include "bg_profile.h"

static const char *const field_names[] = {
        "billing_emails", "billing_contact_emails", "billing_extra_text", "payment_method",
        "card_id", "company", "address_lines", "city", "state", "zip_code", "country_code",
        "vat_id", "billing_currency",
};

const char *bg_profile_field_name(bg_profile_field_t f) {
        for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++)
                if ((uint32_t)f == (1u << i))
                        return field_names[i];
        return NULL;
}

#define COPY_IF(bit, field)                                                     \
        do {                                                                    \
                if (patch->present & (bit))                                     \
                        memcpy(dst->field, patch->v.field, sizeof(dst->field)); \
        } while (0)

void bg_profile_apply_patch(bg_profile_t *dst, const bg_profile_patch_t *patch) {
        if (patch->present & BG_PROFILE_F_BILLING_EMAILS) {
                memcpy(dst->billing_emails, patch->v.billing_emails,
                       sizeof(dst->billing_emails));
                dst->n_billing_emails = patch->v.n_billing_emails;
        }
        if (patch->present & BG_PROFILE_F_BILLING_CONTACT_EMAILS) {
                memcpy(dst->billing_contact_emails, patch->v.billing_contact_emails,
                       sizeof(dst->billing_contact_emails));
                dst->n_billing_contact_emails = patch->v.n_billing_contact_emails;
        }
        COPY_IF(BG_PROFILE_F_BILLING_EXTRA_TEXT, billing_extra_text);
        if (patch->present & BG_PROFILE_F_PAYMENT_METHOD)
                dst->payment_method = patch->v.payment_method;
        COPY_IF(BG_PROFILE_F_CARD_ID, card_id);
        COPY_IF(BG_PROFILE_F_COMPANY, company);
        if (patch->present & BG_PROFILE_F_ADDRESS_LINES) {
                memcpy(dst->address_lines, patch->v.address_lines,
                       sizeof(dst->address_lines));
                dst->n_address_lines = patch->v.n_address_lines;
        }
        COPY_IF(BG_PROFILE_F_CITY, city);
        COPY_IF(BG_PROFILE_F_STATE, state);
        COPY_IF(BG_PROFILE_F_ZIP_CODE, zip_code);
        COPY_IF(BG_PROFILE_F_COUNTRY_CODE, country_code);
        COPY_IF(BG_PROFILE_F_VAT_ID, vat_id);
        if (patch->present & BG_PROFILE_F_BILLING_CURRENCY)
                dst->billing_currency = patch->v.billing_currency;
}

/* Strings are compared up to their NUL, bounded by the array size. */
static bool str_differs(const char *a, const char *b, size_t size) {
        return strncmp(a, b, size) != 0;
}

static bool list_differs(const char *a, size_t na, const char *b, size_t nb, size_t n_max,
                         size_t item_size) {
        if (na != nb)
                return true;
        if (na > n_max)
                na = n_max;
        for (size_t i = 0; i < na; i++)
                if (str_differs(a + i * item_size, b + i * item_size, item_size))
                        return true;
        return false;
}

#define STR_DIFF(bit, field) \
        (str_differs(a->field, b->field, sizeof(a->field)) ? (uint32_t)(bit) : 0u)

uint32_t bg_profile_diff(const bg_profile_t *a, const bg_profile_t *b) {
        uint32_t m = 0;

        if (list_differs(&a->billing_emails[0][0], a->n_billing_emails,
                         &b->billing_emails[0][0], b->n_billing_emails,
                         BG_BILLING_EMAILS_MAX, BG_EMAIL_SIZE))
                m |= BG_PROFILE_F_BILLING_EMAILS;
        if (list_differs(&a->billing_contact_emails[0][0], a->n_billing_contact_emails,
                         &b->billing_contact_emails[0][0], b->n_billing_contact_emails,
                         BG_CONTACT_EMAILS_MAX, BG_EMAIL_SIZE))
                m |= BG_PROFILE_F_BILLING_CONTACT_EMAILS;
        m |= STR_DIFF(BG_PROFILE_F_BILLING_EXTRA_TEXT, billing_extra_text);
        if (a->payment_method != b->payment_method)
                m |= BG_PROFILE_F_PAYMENT_METHOD;
        m |= STR_DIFF(BG_PROFILE_F_CARD_ID, card_id);
        m |= STR_DIFF(BG_PROFILE_F_COMPANY, company);
        if (list_differs(&a->address_lines[0][0], a->n_address_lines,
                         &b->address_lines[0][0], b->n_address_lines,
                         BG_ADDRESS_LINES_MAX, BG_ADDRESS_LINE_SIZE))
                m |= BG_PROFILE_F_ADDRESS_LINES;
        m |= STR_DIFF(BG_PROFILE_F_CITY, city);
        m |= STR_DIFF(BG_PROFILE_F_STATE, state);
        m |= STR_DIFF(BG_PROFILE_F_ZIP_CODE, zip_code);
        m |= STR_DIFF(BG_PROFILE_F_COUNTRY_CODE, country_code);
        m |= STR_DIFF(BG_PROFILE_F_VAT_ID, vat_id);
        if (a->billing_currency != b->billing_currency)
                m |= BG_PROFILE_F_BILLING_CURRENCY;
        return m;
}

/* ---- packed profiles ---- */

/* The enums and counts, then every string of the profile NUL-terminated, in this order:
 * billing_emails, billing_contact_emails, billing_extra_text, card_id, company,
 * address_lines, city, state, zip_code, country_code, vat_id. */
struct bg_profile_packed_s {
        bg_payment_method_t payment_method;
        bg_currency_t billing_currency;
        uint8_t n_billing_emails, n_billing_contact_emails, n_address_lines;
        char text[];
};

/* Visits every string field of @p in the packed order. */
#define PROFILE_STRINGS(p, VISIT)                                                    \
        do {                                                                         \
                for (size_t i_ = 0; i_ < (p)->n_billing_emails; i_++)                \
                        VISIT((p)->billing_emails[i_]);                              \
                for (size_t i_ = 0; i_ < (p)->n_billing_contact_emails; i_++)        \
                        VISIT((p)->billing_contact_emails[i_]);                      \
                VISIT((p)->billing_extra_text);                                      \
                VISIT((p)->card_id);                                                 \
                VISIT((p)->company);                                                 \
                for (size_t i_ = 0; i_ < (p)->n_address_lines; i_++)                 \
                        VISIT((p)->address_lines[i_]);                               \
                VISIT((p)->city);                                                    \
                VISIT((p)->state);                                                   \
                VISIT((p)->zip_code);                                                \
                VISIT((p)->country_code);                                            \
                VISIT((p)->vat_id);                                                  \
        } while (0)

bg_profile_packed_t *bg_profile_pack(const bg_profile_t *p) {
        bg_profile_packed_t *pk;
        size_t len = 0;
        char *w;

#define MEASURE(field) (len += strnlen((field), sizeof(field) - 1) + 1)
        PROFILE_STRINGS(p, MEASURE);
#undef MEASURE
        pk = malloc(sizeof(*pk) + len);
        if (pk == NULL)
                return NULL;
        pk->payment_method = p->payment_method;
        pk->billing_currency = p->billing_currency;
        pk->n_billing_emails = (uint8_t)p->n_billing_emails;
        pk->n_billing_contact_emails = (uint8_t)p->n_billing_contact_emails;
        pk->n_address_lines = (uint8_t)p->n_address_lines;
        w = pk->text;
#define COPY(field)                                                                  \
        do {                                                                         \
                size_t n_ = strnlen((field), sizeof(field) - 1);                     \
                memcpy(w, (field), n_);                                              \
                w[n_] = '\0';                                                        \
                w += n_ + 1;                                                         \
        } while (0)
        PROFILE_STRINGS(p, COPY);
#undef COPY
        return pk;
}

void bg_profile_unpack(const bg_profile_packed_t *pk, bg_profile_t *out) {
        const char *r = pk->text;

        memset(out, 0, sizeof(*out));
        out->payment_method = pk->payment_method;
        out->billing_currency = pk->billing_currency;
        out->n_billing_emails = pk->n_billing_emails;
        out->n_billing_contact_emails = pk->n_billing_contact_emails;
        out->n_address_lines = pk->n_address_lines;
#define PASTE(field)                                                                 \
        do {                                                                         \
                size_t n_ = strlen(r);                                               \
                memcpy((field), r, n_ + 1);                                          \
                r += n_ + 1;                                                         \
        } while (0)
        PROFILE_STRINGS(out, PASTE);
#undef PASTE
}

void bg_profile_packed_free(bg_profile_packed_t *pk) {
        free(pk);
}
