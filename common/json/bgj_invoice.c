/* Invoices -> JSON (Aiven keys) and invoice lines -> RFC 4180 CSV. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bg_money.h"
#include "bgj_int.h"

/* ---- JSON ---- */

static json_t *w_time_if(bool has, int64_t ms) {
        return has ? bgj__w_time(ms) : json_null();
}

json_t *bgj_invoice_line_to_json(const codec_invoice_line_t *l) {
        json_t *o;
        int rc = 0;

        if (l == NULL || (l->n_tags > 0 && l->tags == NULL))
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "line_type", bgj__w_enum(BGJ_ENUM_LINE_TYPE, l->line_type));
        rc |= bgj__put(o, "description", BGJ_W_STR(l->description));
        rc |= bgj__put(o, "project_name",
                       bgj__w_str_or_null(l->project_name, sizeof(l->project_name)));
        rc |= bgj__put(o, "service_name",
                       bgj__w_str_or_null(l->service_name, sizeof(l->service_name)));
        rc |= bgj__put(o, "service_type",
                       bgj__w_str_or_null(l->service_type, sizeof(l->service_type)));
        rc |= bgj__put(o, "service_plan",
                       bgj__w_str_or_null(l->service_plan, sizeof(l->service_plan)));
        rc |= bgj__put(o, "line_total", bgj__w_money(l->line_total));
        rc |= bgj__put(o, "timestamp_begin",
                       w_time_if(l->has_timestamp_begin, l->timestamp_begin));
        rc |= bgj__put(o, "timestamp_end", w_time_if(l->has_timestamp_end, l->timestamp_end));
        rc |= bgj__put(o, "tags", bgj__w_tags(l->tags, l->n_tags));
        if (rc != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *bgj_invoice_to_json(const codec_invoice_t *inv) {
        json_t *o, *lines;
        int rc = 0;

        if (inv == NULL || inv->n_lines > CODEC_INVOICE_LINES_MAX ||
            (inv->n_lines > 0 && inv->lines == NULL))
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "invoice_number", BGJ_W_STR(inv->invoice_number));
        rc |= bgj__put(o, "billing_group_id", bgj__w_uuid(&inv->billing_group_id));
        rc |= bgj__put(o, "billing_group_name", BGJ_W_STR(inv->billing_group_name));
        rc |= bgj__put(o, "account_id", bgj__w_uuid(&inv->account_id));
        rc |= bgj__put(o, "currency", bgj__w_enum(BGJ_ENUM_CURRENCY, inv->currency));
        rc |= bgj__put(o, "period_begin", bgj__w_time(inv->period_begin));
        rc |= bgj__put(o, "period_end", bgj__w_time(inv->period_end));
        rc |= bgj__put(o, "state", bgj__w_enum(BGJ_ENUM_INVOICE_STATE, inv->state));
        rc |= bgj__put(o, "total_vat_zero", bgj__w_money(inv->total_vat_zero));
        rc |= bgj__put(o, "total_inc_vat", bgj__w_money(inv->total_inc_vat));
        rc |= bgj__put(o, "issue_date", w_time_if(inv->has_issue_date, inv->issue_date));
        rc |= bgj__put(o, "due_date", w_time_if(inv->has_due_date, inv->due_date));
        rc |= bgj__put(o, "revision", json_integer(inv->revision));
        lines = json_array();
        rc |= bgj__put(o, "lines", lines);
        for (size_t i = 0; rc == 0 && i < inv->n_lines; i++)
                rc = json_array_append_new(lines, bgj_invoice_line_to_json(&inv->lines[i]));
        if (rc != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* ---- CSV ---- */

static const char *const csv_header[] = {
        "invoice_number", "currency", "line_type", "description", "project_name",
        "service_name", "service_type", "service_plan", "line_total", "timestamp_begin",
        "timestamp_end", "tags",
};

/* A spreadsheet would evaluate a cell starting with one of these as a formula. */
static bool formula_lead(const char *s, size_t len) {
        return len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
}

/* One cell: @s of @len bytes; quoted when it holds a comma, a quote, CR or LF (quotes
 * doubled); with @guard, a formula-looking text gets a leading apostrophe. */
static int cell(FILE *f, const char *s, size_t len, bool guard, bool last) {
        bool quote = false;

        for (size_t i = 0; i < len && !quote; i++)
                quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
        if (quote && fputc('"', f) == EOF)
                return -1;
        if (guard && formula_lead(s, len) && fputc('\'', f) == EOF)
                return -1;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"' && fputc('"', f) == EOF)
                        return -1;
                if (fputc(s[i], f) == EOF)
                        return -1;
        }
        if (quote && fputc('"', f) == EOF)
                return -1;
        if (fputs(last ? "\r\n" : ",", f) == EOF)
                return -1;
        return 0;
}

static int cell_str(FILE *f, const char *s, size_t size, bool guard) {
        return cell(f, s, strnlen(s, size), guard, false);
}

#define CELL_STR(f, field, guard) cell_str((f), (field), sizeof(field), (guard))

static int cell_time(FILE *f, bool has, int64_t ms) {
        char buf[BGJ_TIME_STR_SIZE];

        if (!has)
                return cell(f, "", 0, false, false);
        if (!bgj_time_format(ms, buf)) {
                errno = EINVAL;
                return -1;
        }
        return cell(f, buf, strlen(buf), false, false);
}

static int csv_row(FILE *f, const codec_invoice_t *inv, const char *currency,
                   const codec_invoice_line_t *l, bool guard) {
        const char *line_type = codec_line_type_name(l->line_type);
        char total[BG_MONEY_STR_SIZE];
        json_t *tags;
        char *tags_text;
        int rc;

        if (line_type == NULL || (l->n_tags > 0 && l->tags == NULL)) {
                errno = EINVAL;
                return -1;
        }
        bg_money_format(l->line_total, total);
        if (CELL_STR(f, inv->invoice_number, guard) != 0 ||
            cell(f, currency, strlen(currency), false, false) != 0 ||
            cell(f, line_type, strlen(line_type), false, false) != 0 ||
            CELL_STR(f, l->description, guard) != 0 ||
            CELL_STR(f, l->project_name, guard) != 0 ||
            CELL_STR(f, l->service_name, guard) != 0 ||
            CELL_STR(f, l->service_type, guard) != 0 ||
            CELL_STR(f, l->service_plan, guard) != 0 ||
            cell(f, total, strlen(total), false, false) != 0 ||
            cell_time(f, l->has_timestamp_begin, l->timestamp_begin) != 0 ||
            cell_time(f, l->has_timestamp_end, l->timestamp_end) != 0)
                return -1;
        tags = bgj__w_tags(l->tags, l->n_tags);
        tags_text = tags != NULL ? json_dumps(tags, JSON_COMPACT) : NULL;
        json_decref(tags);
        if (tags_text == NULL) {
                errno = EINVAL;
                return -1;
        }
        rc = cell(f, tags_text, strlen(tags_text), guard, true);
        free(tags_text);
        return rc;
}

int bgj_invoice_lines_csv_ex(const codec_invoice_t *inv, FILE *out, unsigned flags) {
        bool guard = !(flags & BGJ_CSV_NO_FORMULA_GUARD);
        size_t n_cols = sizeof(csv_header) / sizeof(csv_header[0]);
        const char *currency;

        if (inv == NULL || out == NULL || (inv->n_lines > 0 && inv->lines == NULL) ||
            (currency = bg_currency_name(inv->currency)) == NULL) {
                errno = EINVAL;
                return -1;
        }
        for (size_t i = 0; i < n_cols; i++)
                if (cell(out, csv_header[i], strlen(csv_header[i]), false,
                         i + 1 == n_cols) != 0)
                        return -1;
        for (size_t i = 0; i < inv->n_lines; i++)
                if (csv_row(out, inv, currency, &inv->lines[i], guard) != 0)
                        return -1;
        if (fflush(out) == EOF || ferror(out))
                return -1;
        return 0;
}

int bgj_invoice_lines_csv(const codec_invoice_t *inv, FILE *out) {
        return bgj_invoice_lines_csv_ex(inv, out, 0);
}
