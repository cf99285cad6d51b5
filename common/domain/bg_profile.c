/* Billing profile helpers: field names, patching, comparison. */
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
