/*
 * bg_json: JSON <-> C structs for the HTTP API, the CLI, the command publisher and the
 * audit tool. The JSON shapes are documented in docs/json.md.
 *
 * Conventions on the JSON side (DESIGN.md section 3):
 *   - money is a decimal string: "12.34" is read, "12.340000" is written. A JSON number
 *     given for money is an error, never rounded or converted;
 *   - timestamps are ISO-8601 UTC strings, "2026-11-26T16:04:28Z" or with 1 to 3
 *     fraction digits "2026-11-26T16:04:28.5Z"; int64 milliseconds since the epoch in C.
 *     Written without fraction when the milliseconds are 0, else with exactly 3 digits;
 *   - ids are canonical UUID text, written lower case;
 *   - enums are their wire names ("EUR", "billing_admin", "CreateBillingGroup" ...).
 *
 * Readers (*_from_json) are strict: an unknown field, a wrong JSON type, a string longer
 * than its C limit, an invalid UUID, an unknown enum name, bad money, a bad timestamp or
 * too many list items is an error whose text starts with the path of the field:
 *   payload.billing_emails[3].email: not a string
 *   payload.value: money must be a decimal string such as "12.34", not a JSON number
 * Readers check shape and limits only; the domain (acct_decide) checks meaning (e-mail
 * syntax, project name characters, positive credit values ...). Readers return 0 on
 * success and -1 on error; they allocate nothing, and on error *out is zeroed.
 * @errstr may be NULL when @errstr_size is 0.
 *
 * Writers (*_to_json) return a new reference (json_decref it) or NULL when out of memory
 * or when a value cannot be represented (an enum out of range, a timestamp outside years
 * 0001..9999, a string that is not valid UTF-8).
 *
 * @locality any thread: no global state (jansson is thread-safe for separate values).
 */
#ifndef BG_JSON_H
#define BG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "bg_command.h"
#include "bg_event.h"
#include "bg_profile.h"
#include "codec.h"

/* "2026-11-26T16:04:28.123Z" is 24 characters + NUL. */
#define BGJ_TIME_STR_SIZE 25

/* Largest JSON document bgj_parse accepts by default (bytes). */
#define BGJ_PARSE_MAX_DEFAULT (4 * 1024 * 1024)

/* A buffer of this size always holds a whole bgj_event_describe() text. */
#define BGJ_DESCRIBE_SIZE 2048

/*
 * Parsing and primitives
 */

/* Parses @len bytes of @buf as one JSON document, refusing documents over @max_len bytes
 * (0: BGJ_PARSE_MAX_DEFAULT), duplicate object keys and NUL characters in strings.
 * Returns a new reference, or NULL and a reason ("line 1 column 7: ..."). */
json_t *bgj_parse(const char *buf, size_t len, size_t max_len,
                  char *errstr, size_t errstr_size);

/* Parses exactly @len bytes of @s as "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z" (upper-case T and
 * Z, years 0001..9999, a real calendar date, seconds 00..59) into ms since the epoch.
 * Returns false, *out_ms set to 0, on anything else. */
bool bgj_time_parse(const char *s, size_t len, int64_t *out_ms);

/* Writes @ms as "YYYY-MM-DDTHH:MM:SSZ", or "YYYY-MM-DDTHH:MM:SS.mmmZ" when @ms is not a
 * whole second. Returns false (and @buf "") outside years 0001..9999. */
bool bgj_time_format(int64_t ms, char buf[BGJ_TIME_STR_SIZE]);

/*
 * Billing profiles (Aiven key names)
 */

/* True when @key is one of the 13 profile keys (billing_currency, billing_emails ...). */
bool bgj_profile_is_key(const char *key);

/* The whole profile as an object with all 13 keys; e-mail lists are arrays of
 * {"email": "..."}; unset enums (never in a resolved profile) are null. */
json_t *bgj_profile_to_json(const bg_profile_t *p);

/* Adds the fields of @patch named in patch->present to the object @obj (replacing keys
 * of the same name). Returns 0, or -1 when out of memory or a value cannot be
 * represented (then @obj may hold some of the fields). */
int bgj_profile_patch_add_to_json(json_t *obj, const bg_profile_patch_t *patch);

/* Reads the profile keys present in the object @obj into @out (out->present gets a bit
 * per key found) and ignores every other key: the caller checks for unknown keys (see
 * bgj_profile_is_key). @path prefixes error texts ("payload"; NULL or "" for none).
 * E-mail list items are {"email": "..."} objects (Aiven's form) or plain strings. */
int bgj_profile_patch_from_json(const json_t *obj, const char *path,
                                bg_profile_patch_t *out, char *errstr, size_t errstr_size);

/* Reads a whole profile object: only profile keys allowed; absent keys stay empty / unset. */
int bgj_profile_from_json(const json_t *obj, bg_profile_t *out,
                          char *errstr, size_t errstr_size);

/*
 * Commands
 */

/* Reads a command document
 *   {"command_id", "account_id", "actor", "issued_at", "expected_version" (optional),
 *    "type", "payload": {...}}
 * into @out (which is zeroed first). See docs/json.md for each payload. */
int bgj_command_from_json(const json_t *j, bg_command_t *out,
                          char *errstr, size_t errstr_size);

/* The inverse of bgj_command_from_json: bgj_command_from_json(bgj_command_to_json(c))
 * gives back @c (profile fields only where present, as in the patch). */
json_t *bgj_command_to_json(const bg_command_t *cmd);

/*
 * Command results
 */

/* {"command_id", "account_id", "outcome", "first_seq", "last_seq",
 *  "error": {"code", "message"}}; "error" only when the outcome is rejected. */
json_t *bgj_result_to_json(const bg_command_result_t *res);

/* The inverse: "error" is required exactly when "outcome" is "rejected". */
int bgj_result_from_json(const json_t *j, bg_command_result_t *out,
                         char *errstr, size_t errstr_size);

/*
 * Events
 */

/* The envelope (event_id, account_id, seq, type, occurred_at, command_id, actor,
 * prev_hash and hash as 64 lower-case hex digits) and "payload". */
json_t *bgj_event_to_json(const bg_event_t *ev);

/* A one-line human description of @ev, as in a console's Events tab:
 *   Created billing group "Engineering"
 *   Moved project 0f8f... from billing group 1a2b... to billing group 3c4d...
 * Only what the event itself carries: ids where it carries no names. Control characters
 * of names are shown as '?'. Writes at most @size bytes with the NUL into @buf,
 * truncating at a UTF-8 character boundary; returns the length of the whole text (as
 * snprintf), so a result >= @size means truncated. BGJ_DESCRIBE_SIZE is always enough.
 * @buf may be NULL when @size is 0. */
size_t bgj_event_describe(const bg_event_t *ev, char *buf, size_t size);

/*
 * Usage records
 */

/* {usage_id, project_id, service_name, service_type, service_plan, line_type, quantity,
 *  unit, unit_price, amount, currency, timestamp_begin, timestamp_end, tags: {k: v}};
 * unit_price and amount are null when absent; line_type UNSET is written
 * "service_charge". */
json_t *bgj_usage_to_json(const codec_usage_t *u);

/* The inverse. line_type is optional (default "service_charge"), unit_price and amount
 * are optional (absent or null), tags optional (default {}). */
int bgj_usage_from_json(const json_t *j, codec_usage_t *out,
                        char *errstr, size_t errstr_size);

/*
 * Invoices
 */

/* Header (invoice_number, billing_group_id, billing_group_name, account_id, currency,
 * period_begin, period_end, state, total_vat_zero, total_inc_vat, issue_date, due_date,
 * revision) and "lines": [{line_type, description, project_name, service_name,
 * service_type, service_plan, line_total, timestamp_begin, timestamp_end, tags}].
 * Absent dates and empty project/service strings are null. */
json_t *bgj_invoice_to_json(const codec_invoice_t *inv);

/* One line as in "lines" above (for paged line listings). */
json_t *bgj_invoice_line_to_json(const codec_invoice_line_t *line);

/* Flags of bgj_invoice_lines_csv_ex. */
#define BGJ_CSV_NO_FORMULA_GUARD 0x1    /* write text cells exactly as stored */

/* Writes the lines of @inv to @out as RFC 4180 CSV: a header row
 *   invoice_number,currency,line_type,description,project_name,service_name,
 *   service_type,service_plan,line_total,timestamp_begin,timestamp_end,tags
 * then one row per line, CRLF line ends, a field quoted when it holds a comma, a double
 * quote, CR or LF, with quotes doubled. line_total has 6 fraction digits, tags is the
 * compact JSON object. Formula guard (spreadsheet formula injection, see docs/json.md):
 * a text cell (invoice_number, description, project and service names, tags) whose first
 * character is '=', '+', '-', '@', TAB or CR gets a leading apostrophe; currency,
 * line_type, line_total and timestamps are never changed. Returns 0, or -1 when writing
 * failed (errno from stdio) or a value cannot be represented (errno EINVAL); the
 * stream may then hold a partial document. */
int bgj_invoice_lines_csv(const codec_invoice_t *inv, FILE *out);

/* bgj_invoice_lines_csv with BGJ_CSV_* @flags. */
int bgj_invoice_lines_csv_ex(const codec_invoice_t *inv, FILE *out, unsigned flags);

#endif /* BG_JSON_H */
