/* Billing profile <-> JSON, Aiven key names. */
#include <stdlib.h>
#include <string.h>

#include "bgj_int.h"

#define N_FIELDS 13     /* bits of BG_PROFILE_F_ALL */

bool bgj_profile_is_key(const char *key) {
        if (key == NULL)
                return false;
        for (unsigned i = 0; i < N_FIELDS; i++) {
                const char *name = bg_profile_field_name((bg_profile_field_t)(1u << i));

                if (name != NULL && strcmp(name, key) == 0)
                        return true;
        }
        return false;
}

/* ---- reading ---- */

/* An e-mail list: items {"email": "..."} (Aiven) or plain strings. */
static int read_emails(bgj_in_t *in, const json_t *obj, const char *path, const char *key,
                       size_t max, char (*list)[BG_EMAIL_SIZE], size_t *n, bool *found) {
        static const char *const item_keys[] = { "email", NULL };
        char lpath[BGJ_PATH_SIZE], ipath[BGJ_PATH_SIZE];
        const json_t *a;
        size_t i;
        json_t *item;

        *found = false;
        if (bgj__member(in, obj, path, key, 0, &a) != 0)
                return -1;
        if (a == NULL)
                return 0;
        bgj__join(lpath, sizeof(lpath), path, key);
        if (!json_is_array(a))
                return bgj__fail(in, lpath, "not an array");
        if (json_array_size(a) > max)
                return bgj__fail(in, lpath, "%zu items, at most %zu", json_array_size(a), max);
        json_array_foreach(a, i, item) {
                bgj__index(ipath, sizeof(ipath), lpath, i);
                if (json_is_string(item)) {
                        if (bgj__v_str(in, item, ipath, 0, BG_EMAIL_MAX, list[i],
                                       BG_EMAIL_SIZE) != 0)
                                return -1;
                        continue;
                }
                if (!json_is_object(item))
                        return bgj__fail(in, ipath, "not an object {\"email\": \"...\"}");
                if (bgj__check_keys(in, item, ipath, item_keys, false) != 0 ||
                    bgj__str(in, item, ipath, "email", BGJ_REQ, BG_EMAIL_MAX, list[i],
                             BG_EMAIL_SIZE, NULL) != 0)
                        return -1;
        }
        *n = json_array_size(a);
        *found = true;
        return 0;
}

static int read_address_lines(bgj_in_t *in, const json_t *obj, const char *path,
                              bg_profile_t *p, bool *found) {
        char lpath[BGJ_PATH_SIZE], ipath[BGJ_PATH_SIZE];
        const json_t *a;
        size_t i;
        json_t *item;

        *found = false;
        if (bgj__member(in, obj, path, "address_lines", 0, &a) != 0)
                return -1;
        if (a == NULL)
                return 0;
        bgj__join(lpath, sizeof(lpath), path, "address_lines");
        if (!json_is_array(a))
                return bgj__fail(in, lpath, "not an array");
        if (json_array_size(a) > BG_ADDRESS_LINES_MAX)
                return bgj__fail(in, lpath, "%zu items, at most %d", json_array_size(a),
                                 BG_ADDRESS_LINES_MAX);
        json_array_foreach(a, i, item) {
                bgj__index(ipath, sizeof(ipath), lpath, i);
                if (bgj__v_str(in, item, ipath, BGJ_TEXT, BG_ADDRESS_LINE_MAX,
                               p->address_lines[i], BG_ADDRESS_LINE_SIZE) != 0)
                        return -1;
        }
        p->n_address_lines = json_array_size(a);
        *found = true;
        return 0;
}

/* One free-text or identifier field: @flags BGJ_TEXT or 0. */
#define STR_FIELD(bit, key, flags, max, field)                                         \
        do {                                                                            \
                if (bgj__str(&in, obj, path, key, (flags), (max), p->field,             \
                             sizeof(p->field), &found) != 0)                            \
                        goto out_err;                                                   \
                if (found)                                                              \
                        out->present |= (bit);                                          \
        } while (0)

int bgj_profile_patch_from_json(const json_t *obj, const char *path,
                                bg_profile_patch_t *out, char *errstr, size_t errstr_size) {
        bgj_in_t in = { errstr, errstr_size };
        bg_profile_t *p = &out->v;
        bool found;
        int e;

        memset(out, 0, sizeof(*out));
        if (path == NULL)
                path = "";
        if (bgj__object(&in, obj, path) != 0)
                goto out_err;
        if (read_emails(&in, obj, path, "billing_emails", BG_BILLING_EMAILS_MAX,
                        p->billing_emails, &p->n_billing_emails, &found) != 0)
                goto out_err;
        if (found)
                out->present |= BG_PROFILE_F_BILLING_EMAILS;
        if (read_emails(&in, obj, path, "billing_contact_emails", BG_CONTACT_EMAILS_MAX,
                        p->billing_contact_emails, &p->n_billing_contact_emails,
                        &found) != 0)
                goto out_err;
        if (found)
                out->present |= BG_PROFILE_F_BILLING_CONTACT_EMAILS;
        STR_FIELD(BG_PROFILE_F_BILLING_EXTRA_TEXT, "billing_extra_text", BGJ_TEXT,
                  BG_EXTRA_TEXT_MAX, billing_extra_text);
        if (bgj__enum(&in, obj, path, "payment_method", 0, BGJ_ENUM_PAYMENT, &e,
                      &found) != 0)
                goto out_err;
        if (found) {
                p->payment_method = (bg_payment_method_t)e;
                out->present |= BG_PROFILE_F_PAYMENT_METHOD;
        }
        STR_FIELD(BG_PROFILE_F_CARD_ID, "card_id", 0, BG_CARD_ID_MAX, card_id);
        STR_FIELD(BG_PROFILE_F_COMPANY, "company", BGJ_TEXT, BG_COMPANY_MAX, company);
        if (read_address_lines(&in, obj, path, p, &found) != 0)
                goto out_err;
        if (found)
                out->present |= BG_PROFILE_F_ADDRESS_LINES;
        STR_FIELD(BG_PROFILE_F_CITY, "city", BGJ_TEXT, BG_CITY_MAX, city);
        STR_FIELD(BG_PROFILE_F_STATE, "state", BGJ_TEXT, BG_STATE_MAX, state);
        STR_FIELD(BG_PROFILE_F_ZIP_CODE, "zip_code", BGJ_TEXT, BG_ZIP_CODE_MAX, zip_code);
        STR_FIELD(BG_PROFILE_F_COUNTRY_CODE, "country_code", 0, BG_COUNTRY_CODE_LEN,
                  country_code);
        STR_FIELD(BG_PROFILE_F_VAT_ID, "vat_id", BGJ_TEXT, BG_VAT_ID_MAX, vat_id);
        if (bgj__enum(&in, obj, path, "billing_currency", 0, BGJ_ENUM_CURRENCY, &e,
                      &found) != 0)
                goto out_err;
        if (found) {
                p->billing_currency = (bg_currency_t)e;
                out->present |= BG_PROFILE_F_BILLING_CURRENCY;
        }
        return 0;
out_err:
        memset(out, 0, sizeof(*out));
        return -1;
}

int bgj_profile_from_json(const json_t *obj, bg_profile_t *out,
                          char *errstr, size_t errstr_size) {
        bgj_in_t in = { errstr, errstr_size };
        bg_profile_patch_t *patch;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        if (bgj__object(&in, obj, "") != 0 || bgj__check_keys(&in, obj, "", NULL, true) != 0)
                return -1;
        /* ~12 KiB: keep it off the stack of the callers' threads. */
        patch = malloc(sizeof(*patch));
        if (patch == NULL)
                return bgj__fail(&in, "", "out of memory");
        if (bgj_profile_patch_from_json(obj, "", patch, errstr, errstr_size) == 0) {
                *out = patch->v;
                rc = 0;
        }
        free(patch);
        return rc;
}

/* ---- writing ---- */

static json_t *w_emails(const char (*list)[BG_EMAIL_SIZE], size_t n, size_t max) {
        json_t *a = json_array();

        if (a == NULL)
                return NULL;
        if (n > max)
                goto out_free;
        for (size_t i = 0; i < n; i++) {
                json_t *item = json_object();

                if (json_array_append_new(a, item) != 0 ||
                    bgj__put(item, "email", bgj__w_str(list[i], BG_EMAIL_SIZE)) != 0)
                        goto out_free;
        }
        return a;
out_free:
        json_decref(a);
        return NULL;
}

static json_t *w_address_lines(const bg_profile_t *p) {
        json_t *a = json_array();

        if (a == NULL)
                return NULL;
        if (p->n_address_lines > BG_ADDRESS_LINES_MAX)
                goto out_free;
        for (size_t i = 0; i < p->n_address_lines; i++)
                if (json_array_append_new(a, BGJ_W_STR(p->address_lines[i])) != 0)
                        goto out_free;
        return a;
out_free:
        json_decref(a);
        return NULL;
}

/* An unset enum is null in a whole profile; a patch never names an unset one. */
static json_t *w_enum_or_null(bgj_enum_t kind, int v, bool null_ok) {
        if (v == 0 && null_ok)
                return json_null();
        return bgj__w_enum(kind, v);
}

static int add_fields(json_t *o, const bg_profile_t *p, uint32_t present, bool null_ok) {
        int rc = 0;

#define ADD(bit, key, value)                                                    \
        do {                                                                    \
                if ((present & (bit)) && rc == 0)                               \
                        rc = bgj__put(o, key, (value));                         \
        } while (0)

        ADD(BG_PROFILE_F_BILLING_CURRENCY, "billing_currency",
            w_enum_or_null(BGJ_ENUM_CURRENCY, p->billing_currency, null_ok));
        ADD(BG_PROFILE_F_BILLING_EMAILS, "billing_emails",
            w_emails(p->billing_emails, p->n_billing_emails, BG_BILLING_EMAILS_MAX));
        ADD(BG_PROFILE_F_BILLING_CONTACT_EMAILS, "billing_contact_emails",
            w_emails(p->billing_contact_emails, p->n_billing_contact_emails,
                     BG_CONTACT_EMAILS_MAX));
        ADD(BG_PROFILE_F_BILLING_EXTRA_TEXT, "billing_extra_text",
            BGJ_W_STR(p->billing_extra_text));
        ADD(BG_PROFILE_F_PAYMENT_METHOD, "payment_method",
            w_enum_or_null(BGJ_ENUM_PAYMENT, p->payment_method, null_ok));
        ADD(BG_PROFILE_F_CARD_ID, "card_id", BGJ_W_STR(p->card_id));
        ADD(BG_PROFILE_F_COMPANY, "company", BGJ_W_STR(p->company));
        ADD(BG_PROFILE_F_ADDRESS_LINES, "address_lines", w_address_lines(p));
        ADD(BG_PROFILE_F_CITY, "city", BGJ_W_STR(p->city));
        ADD(BG_PROFILE_F_STATE, "state", BGJ_W_STR(p->state));
        ADD(BG_PROFILE_F_ZIP_CODE, "zip_code", BGJ_W_STR(p->zip_code));
        ADD(BG_PROFILE_F_COUNTRY_CODE, "country_code", BGJ_W_STR(p->country_code));
        ADD(BG_PROFILE_F_VAT_ID, "vat_id", BGJ_W_STR(p->vat_id));
#undef ADD
        return rc;
}

int bgj_profile_patch_add_to_json(json_t *obj, const bg_profile_patch_t *patch) {
        if (!json_is_object(obj) || patch == NULL)
                return -1;
        return add_fields(obj, &patch->v, patch->present, false);
}

json_t *bgj_profile_to_json(const bg_profile_t *p) {
        json_t *o;

        if (p == NULL)
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        if (add_fields(o, p, BG_PROFILE_F_ALL, true) != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}
