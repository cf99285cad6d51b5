/* Validators shared by decide (commands) and evolve (events read from the log). Every
 * string is checked for its NUL before anything else reads it. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acct_internal.h"

void bg_vfmt(char *buf, size_t size, const char *fmt, va_list ap) {
        if (buf == NULL || size == 0)
                return;
        if (vsnprintf(buf, size, fmt, ap) < 0)
                buf[0] = '\0';
}

void bg_fmt(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        bg_vfmt(buf, size, fmt, ap);
        va_end(ap);
}

bool bg_v_terminated(const char *buf, size_t size) {
        return memchr(buf, '\0', size) != NULL;
}

bool bg_email_equal(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

/* Decodes one UTF-8 sequence at @s; returns its length (0 if invalid) and the code point. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp) {
        uint32_t c = s[0];
        size_t n;
        uint32_t min;

        if (c < 0x80) {
                *cp = c;
                return 1;
        } else if ((c & 0xe0) == 0xc0) {
                n = 2; c &= 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
                n = 3; c &= 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
                n = 4; c &= 0x07; min = 0x10000;
        } else {
                return 0;
        }
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)      /* also stops at the NUL */
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *cp = c;
        return n;
}

bool bg_v_text(const char *buf, size_t size, size_t max_chars, bool multiline,
               bool required, const char *field, char *msg, size_t msg_size) {
        const unsigned char *s = (const unsigned char *)buf;
        size_t chars = 0;
        bool blank = true;

        if (!bg_v_terminated(buf, size)) {
                bg_fmt(msg, msg_size, "invalid %s: not terminated", field);
                return false;
        }
        while (*s != '\0') {
                uint32_t cp;
                size_t n = utf8_decode(s, &cp);

                if (n == 0) {
                        bg_fmt(msg, msg_size, "invalid %s: not valid UTF-8", field);
                        return false;
                }
                if ((cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) &&
                    !(multiline && (cp == '\t' || cp == '\n' || cp == '\r'))) {
                        bg_fmt(msg, msg_size, "invalid %s: control character U+%04X",
                               field, (unsigned)cp);
                        return false;
                }
                if (cp != ' ' && cp != '\t' && cp != '\n' && cp != '\r')
                        blank = false;
                chars++;
                s += n;
        }
        if (chars > max_chars) {
                bg_fmt(msg, msg_size, "invalid %s: longer than %zu characters", field,
                       max_chars);
                return false;
        }
        if (required && blank) {
                bg_fmt(msg, msg_size, "invalid %s: must not be empty", field);
                return false;
        }
        return true;
}

static bool is_alnum(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool email_ok(const char *s, size_t len) {
        const char *at = memchr(s, '@', len);
        size_t local_len, dom_len, label = 0;
        const char *dom;
        int labels = 1;

        if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
                return false;
        local_len = (size_t)(at - s);
        dom = at + 1;
        dom_len = len - local_len - 1;
        if (local_len == 0 || local_len > 64 || dom_len == 0)
                return false;
        if (s[0] == '.' || s[local_len - 1] == '.')
                return false;
        for (size_t i = 0; i < local_len; i++) {
                char c = s[i];

                if (is_alnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL)
                        continue;
                if (c == '.' && s[i + 1] != '.')
                        continue;
                return false;
        }
        for (size_t i = 0; i < dom_len; i++) {
                char c = dom[i];

                if (c == '.') {
                        if (label == 0 || dom[i - 1] == '-')
                                return false;
                        label = 0;
                        labels++;
                        continue;
                }
                if (!is_alnum(c) && c != '-')
                        return false;
                if (c == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && dom[dom_len - 1] != '-' && labels >= 2;
}

bool bg_v_email(const char *buf, size_t size, const char *field, char *msg,
                size_t msg_size) {
        size_t len;

        if (!bg_v_terminated(buf, size)) {
                bg_fmt(msg, msg_size, "invalid %s: not terminated", field);
                return false;
        }
        len = strlen(buf);
        if (len == 0) {
                bg_fmt(msg, msg_size, "invalid %s: must not be empty", field);
                return false;
        }
        if (len > BG_EMAIL_MAX || !email_ok(buf, len)) {
                bg_fmt(msg, msg_size, "invalid %s: \"%.64s\" is not an e-mail address",
                       field, buf);
                return false;
        }
        return true;
}

bool bg_v_project_name(const char *buf, size_t size, const char *field, char *msg,
                       size_t msg_size) {
        size_t len;

        if (!bg_v_terminated(buf, size)) {
                bg_fmt(msg, msg_size, "invalid %s: not terminated", field);
                return false;
        }
        len = strlen(buf);
        if (len == 0 || len > BG_PROJECT_NAME_MAX) {
                bg_fmt(msg, msg_size, "invalid %s: must be 1 to %d characters", field,
                       BG_PROJECT_NAME_MAX);
                return false;
        }
        for (size_t i = 0; i < len; i++) {
                char c = buf[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                        bg_fmt(msg, msg_size,
                               "invalid %s: \"%s\" may contain only a-z, 0-9 and '-'",
                               field, buf);
                        return false;
                }
        }
        if (!(buf[0] >= 'a' && buf[0] <= 'z') || buf[len - 1] == '-') {
                bg_fmt(msg, msg_size,
                       "invalid %s: \"%s\" must start with a letter and not end with '-'",
                       field, buf);
                return false;
        }
        return true;
}

bool bg_v_credit_code(const char *buf, size_t size, const char *field, char *msg,
                      size_t msg_size) {
        size_t len;

        if (!bg_v_terminated(buf, size)) {
                bg_fmt(msg, msg_size, "invalid %s: not terminated", field);
                return false;
        }
        len = strlen(buf);
        if (len == 0 || len > BG_CREDIT_CODE_MAX) {
                bg_fmt(msg, msg_size, "invalid %s: must be 1 to %d characters", field,
                       BG_CREDIT_CODE_MAX);
                return false;
        }
        for (size_t i = 0; i < len; i++) {
                if (!is_alnum(buf[i]) && strchr("._-", buf[i]) == NULL) {
                        bg_fmt(msg, msg_size,
                               "invalid %s: may contain only A-Z, a-z, 0-9, '.', '_', '-'",
                               field);
                        return false;
                }
        }
        return true;
}

bg_principal_kind_t bg_v_principal(const char *buf, size_t size) {
        size_t len;

        if (!bg_v_terminated(buf, size))
                return BG_PRINCIPAL_INVALID;
        len = strlen(buf);
        if (strncmp(buf, "user:", 5) == 0) {
                if (len - 5 == 0 || len - 5 > BG_EMAIL_MAX || !email_ok(buf + 5, len - 5))
                        return BG_PRINCIPAL_INVALID;
                return BG_PRINCIPAL_USER;
        }
        if (strncmp(buf, "service:", 8) == 0) {
                if (len - 8 == 0 || len - 8 > BG_SERVICE_NAME_MAX)
                        return BG_PRINCIPAL_INVALID;
                for (size_t i = 8; i < len; i++) {
                        char c = buf[i];

                        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                              c == '.' || c == '_' || c == '-'))
                                return BG_PRINCIPAL_INVALID;
                }
                return BG_PRINCIPAL_SERVICE;
        }
        return BG_PRINCIPAL_INVALID;
}

static bool v_email_list(const char (*list)[BG_EMAIL_SIZE], size_t n, size_t max,
                         const char *prefix, const char *name, char *msg,
                         size_t msg_size) {
        char field[96];

        if (n > max) {
                bg_fmt(msg, msg_size, "invalid %s%s: more than %zu addresses", prefix, name,
                       max);
                return false;
        }
        for (size_t i = 0; i < n; i++) {
                bg_fmt(field, sizeof(field), "%s%s[%zu]", prefix, name, i);
                if (!bg_v_email(list[i], BG_EMAIL_SIZE, field, msg, msg_size))
                        return false;
                for (size_t j = 0; j < i; j++) {
                        if (bg_email_equal(list[i], list[j])) {
                                bg_fmt(msg, msg_size, "invalid %s: \"%s\" is listed twice",
                                       field, list[i]);
                                return false;
                        }
                }
        }
        return true;
}

#define V_TEXT(bit, fld, max, multi)                                                   \
        do {                                                                           \
                if (fields & (bit)) {                                                  \
                        bg_fmt(field, sizeof(field), "%s" #fld, prefix);               \
                        if (!bg_v_text(p->fld, sizeof(p->fld), (max), (multi), false,  \
                                       field, msg, msg_size))                          \
                                return false;                                          \
                }                                                                      \
        } while (0)

bool bg_v_profile(const bg_profile_t *p, uint32_t fields, bool resolved,
                  const char *prefix, char *msg, size_t msg_size) {
        char field[96];

        if (resolved)
                fields = BG_PROFILE_F_ALL;
        if (fields & ~BG_PROFILE_F_ALL) {
                bg_fmt(msg, msg_size, "invalid %sfields: unknown field bits 0x%x", prefix,
                       (unsigned)(fields & ~BG_PROFILE_F_ALL));
                return false;
        }
        if ((fields & BG_PROFILE_F_BILLING_EMAILS) &&
            !v_email_list(p->billing_emails, p->n_billing_emails, BG_BILLING_EMAILS_MAX,
                          prefix, "billing_emails", msg, msg_size))
                return false;
        if ((fields & BG_PROFILE_F_BILLING_CONTACT_EMAILS) &&
            !v_email_list(p->billing_contact_emails, p->n_billing_contact_emails,
                          BG_CONTACT_EMAILS_MAX, prefix, "billing_contact_emails", msg,
                          msg_size))
                return false;
        V_TEXT(BG_PROFILE_F_BILLING_EXTRA_TEXT, billing_extra_text, BG_EXTRA_TEXT_MAX,
               true);
        if ((fields & BG_PROFILE_F_PAYMENT_METHOD) &&
            (p->payment_method <= BG_PAYMENT_UNSET || p->payment_method >= BG_PAYMENT__COUNT)) {
                bg_fmt(msg, msg_size,
                       "invalid %spayment_method: must be one of accrual, card, disabled, "
                       "email, no_payment_expected, partner", prefix);
                return false;
        }
        if (fields & BG_PROFILE_F_CARD_ID) {
                size_t len;

                if (!bg_v_terminated(p->card_id, sizeof(p->card_id))) {
                        bg_fmt(msg, msg_size, "invalid %scard_id: not terminated", prefix);
                        return false;
                }
                len = strlen(p->card_id);
                for (size_t i = 0; i < len; i++) {
                        if (p->card_id[i] <= ' ' || p->card_id[i] >= 0x7f) {
                                bg_fmt(msg, msg_size,
                                       "invalid %scard_id: only printable ASCII without "
                                       "spaces", prefix);
                                return false;
                        }
                }
        }
        V_TEXT(BG_PROFILE_F_COMPANY, company, BG_COMPANY_MAX, false);
        if (fields & BG_PROFILE_F_ADDRESS_LINES) {
                if (p->n_address_lines > BG_ADDRESS_LINES_MAX) {
                        bg_fmt(msg, msg_size, "invalid %saddress_lines: more than %d lines",
                               prefix, BG_ADDRESS_LINES_MAX);
                        return false;
                }
                for (size_t i = 0; i < p->n_address_lines; i++) {
                        bg_fmt(field, sizeof(field), "%saddress_lines[%zu]", prefix, i);
                        if (!bg_v_text(p->address_lines[i], BG_ADDRESS_LINE_SIZE,
                                       BG_ADDRESS_LINE_MAX, false, true, field, msg,
                                       msg_size))
                                return false;
                }
        }
        V_TEXT(BG_PROFILE_F_CITY, city, BG_CITY_MAX, false);
        V_TEXT(BG_PROFILE_F_STATE, state, BG_STATE_MAX, false);
        V_TEXT(BG_PROFILE_F_ZIP_CODE, zip_code, BG_ZIP_CODE_MAX, false);
        if (fields & BG_PROFILE_F_COUNTRY_CODE) {
                const char *c = p->country_code;

                if (!bg_v_terminated(c, sizeof(p->country_code)) ||
                    !(c[0] == '\0' || (c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' &&
                                       c[1] <= 'Z' && c[2] == '\0'))) {
                        bg_fmt(msg, msg_size,
                               "invalid %scountry_code: must be an ISO 3166-1 alpha-2 code "
                               "in upper case, or empty", prefix);
                        return false;
                }
        }
        V_TEXT(BG_PROFILE_F_VAT_ID, vat_id, BG_VAT_ID_MAX, false);
        if ((fields & BG_PROFILE_F_BILLING_CURRENCY) &&
            (p->billing_currency <= BG_CURRENCY_UNSET ||
             p->billing_currency >= BG_CURRENCY__COUNT)) {
                bg_fmt(msg, msg_size,
                       "invalid %sbilling_currency: must be one of AUD CAD CHF DKK EUR GBP "
                       "JPY NOK NZD SEK SGD USD", prefix);
                return false;
        }
        if (resolved && p->payment_method == BG_PAYMENT_CARD && p->card_id[0] == '\0') {
                bg_fmt(msg, msg_size,
                       "invalid %scard_id: required when payment_method is card", prefix);
                return false;
        }
        return true;
}
