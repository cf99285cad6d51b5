/*
 * bg_profile: the billing profile of a billing group, its enums and its length limits.
 *
 * Every string is a fixed-size, NUL-terminated char array sized by its limit, so that a
 * profile (and every command and event holding one) is a plain value: copy it with `=`,
 * free nothing. The limits live here and only here.
 *
 * Two kinds of limit (see docs/domain.md "Strings"):
 *   - free text (names, billing_extra_text, company, address lines, city, state, zip_code,
 *     vat_id): UTF-8, the limit counts characters (code points) like Aiven's API and like
 *     PostgreSQL varchar(n); the array holds 4 bytes per character plus the NUL
 *     (BG_TEXT_SIZE);
 *   - identifiers (e-mails, card_id, country_code, project names, credit codes, actors):
 *     ASCII, the limit counts bytes; the array holds the limit plus the NUL.
 */
#ifndef BG_PROFILE_H
#define BG_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes needed for @chars UTF-8 characters and the terminating NUL. */
#define BG_TEXT_SIZE(chars)       ((chars) * 4 + 1)

/* Free text: limits in characters. */
#define BG_NAME_MAX               128   /* account and billing group names */
#define BG_EXTRA_TEXT_MAX         1000  /* billing_extra_text (PO number, cost center) */
#define BG_COMPANY_MAX            83
#define BG_ADDRESS_LINE_MAX       100
#define BG_CITY_MAX               50
#define BG_STATE_MAX              30
#define BG_ZIP_CODE_MAX           36
#define BG_VAT_ID_MAX             64

#define BG_NAME_SIZE              BG_TEXT_SIZE(BG_NAME_MAX)
#define BG_EXTRA_TEXT_SIZE        BG_TEXT_SIZE(BG_EXTRA_TEXT_MAX)
#define BG_COMPANY_SIZE           BG_TEXT_SIZE(BG_COMPANY_MAX)
#define BG_ADDRESS_LINE_SIZE      BG_TEXT_SIZE(BG_ADDRESS_LINE_MAX)
#define BG_CITY_SIZE              BG_TEXT_SIZE(BG_CITY_MAX)
#define BG_STATE_SIZE             BG_TEXT_SIZE(BG_STATE_MAX)
#define BG_ZIP_CODE_SIZE          BG_TEXT_SIZE(BG_ZIP_CODE_MAX)
#define BG_VAT_ID_SIZE            BG_TEXT_SIZE(BG_VAT_ID_MAX)

/* ASCII identifiers: limits in bytes. */
#define BG_EMAIL_MAX              254   /* RFC 5321 path limit; ASCII only (no SMTPUTF8) */
#define BG_EMAIL_SIZE             (BG_EMAIL_MAX + 1)
#define BG_CARD_ID_MAX            64
#define BG_CARD_ID_SIZE           (BG_CARD_ID_MAX + 1)
#define BG_COUNTRY_CODE_LEN       2     /* ISO 3166-1 alpha-2, upper case, or empty */
#define BG_COUNTRY_CODE_SIZE      (BG_COUNTRY_CODE_LEN + 1)

/* List limits. */
#define BG_BILLING_EMAILS_MAX     10
#define BG_CONTACT_EMAILS_MAX     10
#define BG_ADDRESS_LINES_MAX      4

/* ISO 4217 codes accepted as billing_currency. 0 is "not given" (never in a resolved
 * profile or an event). */
typedef enum {
        BG_CURRENCY_UNSET = 0,
        BG_CURRENCY_AUD,
        BG_CURRENCY_CAD,
        BG_CURRENCY_CHF,
        BG_CURRENCY_DKK,
        BG_CURRENCY_EUR,
        BG_CURRENCY_GBP,
        BG_CURRENCY_JPY,
        BG_CURRENCY_NOK,
        BG_CURRENCY_NZD,
        BG_CURRENCY_SEK,
        BG_CURRENCY_SGD,
        BG_CURRENCY_USD,
        BG_CURRENCY__COUNT
} bg_currency_t;

/* 0 is "not given" (never in a resolved profile or an event). */
typedef enum {
        BG_PAYMENT_UNSET = 0,
        BG_PAYMENT_ACCRUAL,
        BG_PAYMENT_CARD,
        BG_PAYMENT_DISABLED,
        BG_PAYMENT_EMAIL,
        BG_PAYMENT_NO_PAYMENT_EXPECTED,
        BG_PAYMENT_PARTNER,
        BG_PAYMENT__COUNT
} bg_payment_method_t;

/* One bit per profile field: presence flags of a patch, and the "changed" mask of a
 * BillingProfileUpdated event. */
typedef enum {
        BG_PROFILE_F_BILLING_EMAILS         = 1u << 0,
        BG_PROFILE_F_BILLING_CONTACT_EMAILS = 1u << 1,
        BG_PROFILE_F_BILLING_EXTRA_TEXT     = 1u << 2,
        BG_PROFILE_F_PAYMENT_METHOD         = 1u << 3,
        BG_PROFILE_F_CARD_ID                = 1u << 4,
        BG_PROFILE_F_COMPANY                = 1u << 5,
        BG_PROFILE_F_ADDRESS_LINES          = 1u << 6,
        BG_PROFILE_F_CITY                   = 1u << 7,
        BG_PROFILE_F_STATE                  = 1u << 8,
        BG_PROFILE_F_ZIP_CODE               = 1u << 9,
        BG_PROFILE_F_COUNTRY_CODE           = 1u << 10,
        BG_PROFILE_F_VAT_ID                 = 1u << 11,
        BG_PROFILE_F_BILLING_CURRENCY       = 1u << 12,
} bg_profile_field_t;

#define BG_PROFILE_F_ALL          ((1u << 13) - 1)

/* A billing profile. An empty string means "not set". In a resolved profile (events,
 * state) payment_method and billing_currency are never UNSET. */
typedef struct bg_profile_s {
        char billing_emails[BG_BILLING_EMAILS_MAX][BG_EMAIL_SIZE];
        size_t n_billing_emails;
        char billing_contact_emails[BG_CONTACT_EMAILS_MAX][BG_EMAIL_SIZE];
        size_t n_billing_contact_emails;
        char billing_extra_text[BG_EXTRA_TEXT_SIZE];
        bg_payment_method_t payment_method;
        char card_id[BG_CARD_ID_SIZE];
        char company[BG_COMPANY_SIZE];
        char address_lines[BG_ADDRESS_LINES_MAX][BG_ADDRESS_LINE_SIZE];
        size_t n_address_lines;
        char city[BG_CITY_SIZE];
        char state[BG_STATE_SIZE];
        char zip_code[BG_ZIP_CODE_SIZE];
        char country_code[BG_COUNTRY_CODE_SIZE];
        char vat_id[BG_VAT_ID_SIZE];
        bg_currency_t billing_currency;
} bg_profile_t;

/* A partial profile: only the fields whose BG_PROFILE_F_* bit is set in @present are
 * meant; the others in @v are ignored. Setting a string field to "" clears it; setting a
 * list with n = 0 empties it. */
typedef struct bg_profile_patch_s {
        uint32_t present;
        bg_profile_t v;
} bg_profile_patch_t;

/* "EUR" etc., or NULL for UNSET / out of range. */
const char *bg_currency_name(bg_currency_t c);
/* Exact, upper-case match; BG_CURRENCY_UNSET when @s names none (or is NULL). */
bg_currency_t bg_currency_from_name(const char *s);

/* "accrual", "card", "disabled", "email", "no_payment_expected", "partner", or NULL. */
const char *bg_payment_method_name(bg_payment_method_t m);
bg_payment_method_t bg_payment_method_from_name(const char *s);

/* "billing_emails", "vat_id" ... for a single bit, or NULL. */
const char *bg_profile_field_name(bg_profile_field_t f);

/* Overwrites the fields of @dst named in @patch->present with @patch's values. */
void bg_profile_apply_patch(bg_profile_t *dst, const bg_profile_patch_t *patch);

/* Bit mask of the fields that differ between @a and @b (list comparisons are ordered). */
uint32_t bg_profile_diff(const bg_profile_t *a, const bg_profile_t *b);

/*
 * A profile packed into one allocation sized to its contents. A bg_profile_t is ~12 KiB
 * of mostly empty fixed-size text; the account state keeps every billing group's profile
 * packed (tens to hundreds of bytes) and unpacks one when a command needs it.
 */
typedef struct bg_profile_packed_s bg_profile_packed_t;

/* A packed copy of @p (malloc'ed, free with bg_profile_packed_free), or NULL when out of
 * memory. */
bg_profile_packed_t *bg_profile_pack(const bg_profile_t *p);
/* Writes the whole profile packed in @pk to @out. */
void bg_profile_unpack(const bg_profile_packed_t *pk, bg_profile_t *out);
void bg_profile_packed_free(bg_profile_packed_t *pk);   /* NULL is a no-op */

#endif /* BG_PROFILE_H */
