/*
 * The `avn billing-group` verbs, and `account create|set-primary`, `project create|list`,
 * over the HTTP API (docs/api.md, docs/cli.md). --json prints the API's JSON response;
 * otherwise an aligned table as avn prints it.
 *
 *   BILLING_API_URL    (or --url)    default http://127.0.0.1:8080
 *   BILLING_API_TOKEN  (or --token)  required
 */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "bg_env.h"
#include "bg_uuid.h"
#include "cli.h"
#include "tbl.h"

#define TIMEOUT_S 60
#define MAX_POSITIONAL 1001             /* assign-projects: a group and 1000 projects */

/* Options; each verb lists those it takes (a bit mask). */
enum {
        O_URL = 0, O_TOKEN, O_JSON, O_ACCOUNT, O_NAME, O_COPY_FROM, O_PROJECT_ID, O_LIMIT,
        O_SORT, O_CSV, O_GROUP, O_OWNER,
        /* profile fields */
        O_CURRENCY, O_EMAIL, O_CONTACT_EMAIL, O_EXTRA_TEXT, O_PAYMENT, O_CARD, O_COMPANY,
        O_ADDRESS, O_CITY, O_STATE, O_ZIP, O_COUNTRY, O_VAT,
        O__COUNT
};

#define M(o) (1u << (o))
/* getopt_long values: above any character, and away from the 1 that "-" mode returns for
 * operands. */
#define OPT(o) (256 + (o))
#define M_COMMON (M(O_URL) | M(O_TOKEN) | M(O_JSON))
#define M_PROFILE                                                                       \
        (M(O_CURRENCY) | M(O_EMAIL) | M(O_CONTACT_EMAIL) | M(O_EXTRA_TEXT) | M(O_PAYMENT) | \
         M(O_CARD) | M(O_COMPANY) | M(O_ADDRESS) | M(O_CITY) | M(O_STATE) | M(O_ZIP) |     \
         M(O_COUNTRY) | M(O_VAT))

static const struct option longopts[] = {
        {"url", required_argument, NULL, OPT(O_URL)},
        {"token", required_argument, NULL, OPT(O_TOKEN)},
        {"json", no_argument, NULL, OPT(O_JSON)},
        {"account", required_argument, NULL, OPT(O_ACCOUNT)},
        {"name", required_argument, NULL, OPT(O_NAME)},
        {"copy-from", required_argument, NULL, OPT(O_COPY_FROM)},
        {"project-id", required_argument, NULL, OPT(O_PROJECT_ID)},
        {"limit", required_argument, NULL, OPT(O_LIMIT)},
        {"sort", required_argument, NULL, OPT(O_SORT)},
        {"csv", no_argument, NULL, OPT(O_CSV)},
        {"billing-group", required_argument, NULL, OPT(O_GROUP)},
        {"owner", required_argument, NULL, OPT(O_OWNER)},
        {"billing-currency", required_argument, NULL, OPT(O_CURRENCY)},
        {"billing-email", required_argument, NULL, OPT(O_EMAIL)},
        {"billing-contact-email", required_argument, NULL, OPT(O_CONTACT_EMAIL)},
        {"billing-extra-text", required_argument, NULL, OPT(O_EXTRA_TEXT)},
        {"payment-method", required_argument, NULL, OPT(O_PAYMENT)},
        {"card-id", required_argument, NULL, OPT(O_CARD)},
        {"company", required_argument, NULL, OPT(O_COMPANY)},
        {"address-line", required_argument, NULL, OPT(O_ADDRESS)},
        {"city", required_argument, NULL, OPT(O_CITY)},
        {"state", required_argument, NULL, OPT(O_STATE)},
        {"zip-code", required_argument, NULL, OPT(O_ZIP)},
        {"country-code", required_argument, NULL, OPT(O_COUNTRY)},
        {"vat-id", required_argument, NULL, OPT(O_VAT)},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* Profile options and their API keys; lists are repeatable, "" alone empties the list. */
static const struct {
        int opt;
        const char *key;
        bool list;
} profile_opts[] = {
        {O_CURRENCY, "billing_currency", false},  {O_EMAIL, "billing_emails", true},
        {O_CONTACT_EMAIL, "billing_contact_emails", true},
        {O_EXTRA_TEXT, "billing_extra_text", false}, {O_PAYMENT, "payment_method", false},
        {O_CARD, "card_id", false},                 {O_COMPANY, "company", false},
        {O_ADDRESS, "address_lines", true},         {O_CITY, "city", false},
        {O_STATE, "state", false},                  {O_ZIP, "zip_code", false},
        {O_COUNTRY, "country_code", false},         {O_VAT, "vat_id", false},
};

typedef struct ctx_s {
        const char *x_group;            /* "billing-group" */
        const char *x_cmd;              /* "billing-group create" ... for messages */
        const char *x_synopsis;
        const char *x_opt[O__COUNT];    /* single-valued options */
        bool x_json, x_csv;
        json_t *x_profile;              /* profile fields given (an object) */
        char **x_args;                  /* positional arguments */
        int x_nargs;
        apic_t *x_api;
} ctx_t;

typedef int (verb_fn)(ctx_t *x);

typedef struct verb_s {
        const char *v_name;
        int v_min, v_max;               /* positional arguments */
        unsigned v_opts;                /* besides M_COMMON */
        verb_fn *v_fn;
        const char *v_synopsis;
} verb_t;

/* Prints "billingctl <group> <verb>: <message>" and the verb's usage; CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
static int usage(const ctx_t *x, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "billingctl %s: ", x->x_cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nusage: billingctl %s %s\n", x->x_group, x->x_synopsis);
        return CLI_EXIT_USAGE;
}

/* ------------------------------------------------------------------ output */

/* The text of a JSON value for a table cell: strings as they are, null empty, e-mail
 * objects by their address, arrays joined with ", ". */
static char *cell_text(const json_t *v) {
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        size_t i;
        json_t *item;

        if (v == NULL || json_is_null(v))
                return strdup("");
        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (json_is_object(v) && json_is_string(json_object_get(v, "email")))
                return strdup(json_string_value(json_object_get(v, "email")));
        if (!json_is_array(v))
                return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if ((f = open_memstream(&out, &len)) == NULL)
                return NULL;
        json_array_foreach(v, i, item) {
                char *s = cell_text(item);
                fprintf(f, "%s%s", i ? ", " : "", s ? s : "?");
                free(s);
        }
        fclose(f);
        return out;
}

/* Prints the objects of @list as a table of the @n @keys (columns named after them). */
static int print_list(const json_t *list, const char *const *keys, size_t n) {
        tbl_t *t = tbl_new(n, keys);
        size_t i;
        json_t *o;
        int rc;

        if (t == NULL)
                return cli_fail("out of memory");
        json_array_foreach(list, i, o) {
                for (size_t k = 0; k < n; k++) {
                        char *s = cell_text(json_object_get(o, keys[k]));
                        tbl_cell(t, s);
                        free(s);
                }
        }
        rc = tbl_print(t, stdout);
        tbl_destroy(t);
        return rc == 0 ? CLI_EXIT_OK : cli_fail("out of memory");
}

static int print_one(const json_t *obj, const char *const *keys, size_t n) {
        json_t *list = json_array();
        int rc;

        json_array_append(list, (json_t *)obj);
        rc = print_list(list, keys, n);
        json_decref(list);
        return rc;
}

/* Every field of @obj, one per row (FIELD VALUE), in the API's order. */
static int print_fields(const json_t *obj) {
        static const char *const cols[] = {"field", "value"};
        tbl_t *t = tbl_new(2, cols);
        const char *key;
        json_t *v;
        int rc;

        if (t == NULL)
                return cli_fail("out of memory");
        json_object_foreach((json_t *)obj, key, v) {
                char *s = cell_text(v);
                tbl_cell(t, key);
                tbl_cell(t, s);
                free(s);
        }
        rc = tbl_print(t, stdout);
        tbl_destroy(t);
        return rc == 0 ? CLI_EXIT_OK : cli_fail("out of memory");
}

/* ------------------------------------------------------------------ requests */

/* Sends the request; on a 2xx answer returns 0 with the parsed body in *out (may be NULL
 * when @out is NULL), or prints it as it is with --json. Anything else is reported and
 * returns CLI_EXIT_FAIL. */
static int call(ctx_t *x, const char *method, const char *path, const json_t *body,
                json_t **out) {
        apic_resp_t r;
        char errstr[1024];
        json_t *j;

        if (out != NULL)
                *out = NULL;
        if (apic_request(x->x_api, method, path, body, NULL, &r, errstr, sizeof(errstr)) != 0)
                return cli_fail("%s: %s", x->x_cmd, errstr);
        if (r.ar_status < 200 || r.ar_status > 299) {
                apic_error_text(&r, errstr, sizeof(errstr));
                apic_resp_clear(&r);
                return cli_fail("%s: %s %s: %s", x->x_cmd, method, path, errstr);
        }
        j = json_loads(r.ar_body, 0, NULL);
        apic_resp_clear(&r);
        if (j == NULL)
                return cli_fail("%s: %s %s: the response is not JSON", x->x_cmd, method, path);
        if (out != NULL)
                *out = j;
        else
                json_decref(j);
        return 0;
}

/* With --json: prints @j (pretty) and returns true. */
static bool json_out(ctx_t *x, const json_t *j) {
        if (!x->x_json)
                return false;
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        return true;
}

/* "/v1/billing-group/<escaped id><suffix>" into a malloc()ed string, or NULL. */
static char *group_path(ctx_t *x, const char *id, const char *suffix) {
        char *e = apic_escape(x->x_api, id), *p = NULL;

        if (e != NULL && asprintf(&p, "/v1/billing-group/%s%s", e, suffix) < 0)
                p = NULL;
        free(e);
        return p;
}

static int require_uuid(ctx_t *x, const char *what, const char *s) {
        bg_uuid_t id;

        if (!bg_uuid_parse(s, strlen(s), &id))
                return usage(x, "%s: \"%s\" is not a UUID", what, s);
        return 0;
}

/* ------------------------------------------------------------------ billing-group verbs */

static const char *const GROUP_COLS[] = {"billing_group_id", "billing_group_name", "account_name",
                                         "billing_currency", "payment_method"};
#define NGROUP_COLS (sizeof(GROUP_COLS) / sizeof(GROUP_COLS[0]))

static int group_reply(ctx_t *x, const char *method, const char *path, json_t *body) {
        json_t *j;
        int rc = call(x, method, path, body, &j);

        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_one(json_object_get(j, "billing_group"), GROUP_COLS, NGROUP_COLS);
        json_decref(j);
        return rc;
}

static int bg_create(ctx_t *x) {
        json_t *body = json_deep_copy(x->x_profile);
        int rc;

        json_object_set_new(body, "billing_group_name", json_string(x->x_args[0]));
        if (x->x_opt[O_ACCOUNT] != NULL)
                json_object_set_new(body, "account_id", json_string(x->x_opt[O_ACCOUNT]));
        if (x->x_opt[O_COPY_FROM] != NULL)
                json_object_set_new(body, "copy_from_billing_group",
                                    json_string(x->x_opt[O_COPY_FROM]));
        rc = group_reply(x, "POST", "/v1/billing-group", body);
        json_decref(body);
        return rc;
}

static int bg_update(ctx_t *x) {
        json_t *body = json_deep_copy(x->x_profile);
        char *path = group_path(x, x->x_args[0], "");
        int rc;

        if (x->x_opt[O_NAME] != NULL)
                json_object_set_new(body, "billing_group_name", json_string(x->x_opt[O_NAME]));
        if (json_object_size(body) == 0)
                rc = usage(x, "nothing to update: give --name or a profile option");
        else
                rc = group_reply(x, "PUT", path, body);
        json_decref(body);
        free(path);
        return rc;
}

static int bg_get(ctx_t *x) {
        char *path = group_path(x, x->x_args[0], "");
        json_t *j;
        int rc = call(x, "GET", path, NULL, &j);

        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_fields(json_object_get(j, "billing_group"));
        json_decref(j);
        return rc;
}

static int bg_list(ctx_t *x) {
        char *path = NULL, *e = NULL;
        json_t *j;
        int rc;

        if (x->x_opt[O_ACCOUNT] != NULL) {
                e = apic_escape(x->x_api, x->x_opt[O_ACCOUNT]);
                if (e == NULL || asprintf(&path, "/v1/billing-group?account_id=%s", e) < 0)
                        path = NULL;
        } else {
                path = strdup("/v1/billing-group");
        }
        free(e);
        if (path == NULL)
                return cli_fail("out of memory");
        rc = call(x, "GET", path, NULL, &j);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "billing_groups"), GROUP_COLS, NGROUP_COLS);
        json_decref(j);
        return rc;
}

static int bg_delete(ctx_t *x) {
        char *path = group_path(x, x->x_args[0], "");
        json_t *j;
        int rc = call(x, "DELETE", path, NULL, &j);

        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                printf("deleted billing group %s\n", x->x_args[0]);
        json_decref(j);
        return rc;
}

static const char *const PROJECT_COLS[] = {"project_name", "project_id", "estimated_balance",
                                           "currency"};

static int bg_assign_projects(ctx_t *x) {
        char *path = group_path(x, x->x_args[0], "/projects-assign");
        json_t *names = json_array(), *body = json_pack("{s:o}", "projects_names", names), *j;
        int rc;

        for (int i = 1; i < x->x_nargs; i++)
                json_array_append_new(names, json_string(x->x_args[i]));
        rc = call(x, "POST", path, body, &j);
        json_decref(body);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "projects"), PROJECT_COLS, 4);
        json_decref(j);
        return rc;
}

static int bg_events(ctx_t *x) {
        static const char *const cols[] = {"create_time", "actor", "event_type", "event_desc"};
        char *path, *base = group_path(x, x->x_args[0], "/events");
        json_t *j;
        int rc;

        if (base == NULL)
                return cli_fail("out of memory");
        if (x->x_opt[O_LIMIT] != NULL) {
                long long lim;
                if (!cli_parse_int(x->x_opt[O_LIMIT], 1, 1000, &lim)) {
                        free(base);
                        return usage(x, "--limit: \"%s\" is not a number in 1..1000",
                                     x->x_opt[O_LIMIT]);
                }
                if (asprintf(&path, "%s?limit=%lld", base, lim) < 0)
                        path = NULL;
                free(base);
        } else {
                path = base;
        }
        rc = call(x, "GET", path, NULL, &j);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "events"), cols, 4);
        json_decref(j);
        return rc;
}

static const char *const CREDIT_COLS[] = {"code", "type", "value", "remaining_value", "currency",
                                          "expire_time", "project_id"};

static int bg_credits_list(ctx_t *x) {
        char *path = group_path(x, x->x_args[0], "/credits");
        json_t *j;
        int rc = call(x, "GET", path, NULL, &j);

        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "credits"), CREDIT_COLS, 7);
        json_decref(j);
        return rc;
}

static int bg_credits_claim(ctx_t *x) {
        char *path = group_path(x, x->x_args[0], "/credits");
        json_t *body = json_pack("{s:s}", "code", x->x_args[1]), *j;
        int rc;

        if (x->x_opt[O_PROJECT_ID] != NULL)
                json_object_set_new(body, "project_id", json_string(x->x_opt[O_PROJECT_ID]));
        rc = call(x, "POST", path, body, &j);
        json_decref(body);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_one(json_object_get(j, "credit"), CREDIT_COLS, 7);
        json_decref(j);
        return rc;
}

static int bg_invoice_list(ctx_t *x) {
        static const char *const cols[] = {"invoice_number", "period_begin", "state",
                                           "total_inc_vat", "currency", "revision"};
        char *path = NULL, *base = group_path(x, x->x_args[0], "/invoice"), *e = NULL;
        json_t *j;
        int rc;

        if (base != NULL && x->x_opt[O_SORT] != NULL) {
                e = apic_escape(x->x_api, x->x_opt[O_SORT]);
                if (e == NULL || asprintf(&path, "%s?sort=%s", base, e) < 0)
                        path = NULL;
                free(base);
        } else {
                path = base;
        }
        free(e);
        if (path == NULL)
                return cli_fail("out of memory");
        rc = call(x, "GET", path, NULL, &j);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "invoices"), cols, 6);
        json_decref(j);
        return rc;
}

static int bg_invoice_lines(ctx_t *x) {
        static const char *const cols[] = {"line_type", "project_name", "service_name",
                                           "description", "line_total"};
        char *num = apic_escape(x->x_api, x->x_args[1]), *suffix = NULL, *path = NULL;
        apic_resp_t r;
        char errstr[1024];
        json_t *j;
        int rc;

        if (num != NULL && asprintf(&suffix, "/invoice/%s/lines", num) >= 0)
                path = group_path(x, x->x_args[0], suffix);
        free(num);
        free(suffix);
        if (path == NULL)
                return cli_fail("out of memory");
        if (!x->x_csv) {
                rc = call(x, "GET", path, NULL, &j);
                free(path);
                if (rc != 0)
                        return rc;
                if (!json_out(x, j))
                        rc = print_list(json_object_get(j, "lines"), cols, 5);
                json_decref(j);
                return rc;
        }
        /* CSV: the API's text as it is (RFC 4180, docs/json.md). */
        rc = apic_request(x->x_api, "GET", path, NULL, "text/csv", &r, errstr, sizeof(errstr));
        if (rc != 0) {
                free(path);
                return cli_fail("%s: %s", x->x_cmd, errstr);
        }
        if (r.ar_status != 200) {
                apic_error_text(&r, errstr, sizeof(errstr));
                rc = cli_fail("%s: GET %s: %s", x->x_cmd, path, errstr);
        } else {
                fwrite(r.ar_body, 1, r.ar_len, stdout);
                rc = CLI_EXIT_OK;
        }
        apic_resp_clear(&r);
        free(path);
        return rc;
}

/* ------------------------------------------------------------------ account, project */

/* The account: --account, else the token's own (GET /v1/account answers exactly one for a
 * user token). Writes a malloc()ed id to *out. */
static int token_account(ctx_t *x, char **out) {
        json_t *j, *list;
        int rc;

        if (x->x_opt[O_ACCOUNT] != NULL) {
                *out = strdup(x->x_opt[O_ACCOUNT]);
                return *out ? 0 : cli_fail("out of memory");
        }
        if ((rc = call(x, "GET", "/v1/account", NULL, &j)) != 0)
                return rc;
        list = json_object_get(j, "accounts");
        if (json_array_size(list) != 1) {
                json_decref(j);
                return usage(x, "--account is needed: the token is not scoped to one account");
        }
        *out = strdup(json_string_value(json_object_get(json_array_get(list, 0), "account_id")));
        json_decref(j);
        return *out ? 0 : cli_fail("out of memory");
}

static const char *const ACCOUNT_COLS[] = {"account_id", "account_name", "account_owner",
                                           "primary_billing_group_id"};

/* Needs a service token: accounts are created by platform services. */
static int account_create(ctx_t *x) {
        json_t *body, *j;
        int rc;

        if (x->x_opt[O_OWNER] == NULL)
                return usage(x, "--owner is required");
        body = json_pack("{s:s, s:s}", "account_name", x->x_args[0], "owner", x->x_opt[O_OWNER]);
        rc = call(x, "POST", "/v1/account", body, &j);
        json_decref(body);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_one(json_object_get(j, "account"), ACCOUNT_COLS, 4);
        json_decref(j);
        return rc;
}

static int account_set_primary(ctx_t *x) {
        char *account = NULL, *e = NULL, *path = NULL;
        json_t *body, *j;
        int rc;

        if ((rc = require_uuid(x, "billing group", x->x_args[0])) != 0 ||
            (rc = token_account(x, &account)) != 0)
                return rc;
        e = apic_escape(x->x_api, account);
        if (e == NULL || asprintf(&path, "/v1/account/%s", e) < 0)
                path = NULL;
        free(e);
        free(account);
        if (path == NULL)
                return cli_fail("out of memory");
        body = json_pack("{s:s}", "primary_billing_group_id", x->x_args[0]);
        rc = call(x, "PUT", path, body, &j);
        json_decref(body);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_one(json_object_get(j, "account"), ACCOUNT_COLS, 4);
        json_decref(j);
        return rc;
}

static const char *const PROJECT_ROW_COLS[] = {"project_name", "project_id", "billing_group_id",
                                               "billing_group_name"};

static int project_create(ctx_t *x) {
        json_t *body = json_pack("{s:s}", "project", x->x_args[0]), *j;
        int rc;

        if (x->x_opt[O_ACCOUNT] != NULL)
                json_object_set_new(body, "account_id", json_string(x->x_opt[O_ACCOUNT]));
        if (x->x_opt[O_GROUP] != NULL)
                json_object_set_new(body, "billing_group_id", json_string(x->x_opt[O_GROUP]));
        rc = call(x, "POST", "/v1/project", body, &j);
        json_decref(body);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_one(json_object_get(j, "project"), PROJECT_ROW_COLS, 4);
        json_decref(j);
        return rc;
}

static int project_list(ctx_t *x) {
        char *path = NULL, *e = NULL;
        json_t *j;
        int rc;

        if (x->x_opt[O_ACCOUNT] != NULL) {
                e = apic_escape(x->x_api, x->x_opt[O_ACCOUNT]);
                if (e == NULL || asprintf(&path, "/v1/project?account_id=%s", e) < 0)
                        path = NULL;
        } else {
                path = strdup("/v1/project");
        }
        free(e);
        if (path == NULL)
                return cli_fail("out of memory");
        rc = call(x, "GET", path, NULL, &j);
        free(path);
        if (rc != 0)
                return rc;
        if (!json_out(x, j))
                rc = print_list(json_object_get(j, "projects"), PROJECT_ROW_COLS, 4);
        json_decref(j);
        return rc;
}

/* ------------------------------------------------------------------ dispatch */

#define PROFILE_SYNOPSIS                                                                     \
        "\n       [--billing-currency CUR] [--billing-email EMAIL]... "                        \
        "[--billing-contact-email EMAIL]...\n       [--billing-extra-text TEXT] "               \
        "[--payment-method METHOD] [--card-id ID] [--company NAME]\n       "                    \
        "[--address-line LINE]... [--city CITY] [--state STATE] [--zip-code ZIP]\n       "      \
        "[--country-code CC] [--vat-id VAT]"
#define COMMON_SYNOPSIS " [--json] [--url URL] [--token TOKEN]"

static const verb_t group_verbs[] = {
        {"create", 1, 1, M(O_ACCOUNT) | M(O_COPY_FROM) | M_PROFILE, bg_create,
         "create NAME [--account ID] [--copy-from GROUP_ID]" PROFILE_SYNOPSIS COMMON_SYNOPSIS},
        {"update", 1, 1, M(O_NAME) | M_PROFILE, bg_update,
         "update GROUP_ID [--name NAME]" PROFILE_SYNOPSIS COMMON_SYNOPSIS},
        {"list", 0, 0, M(O_ACCOUNT), bg_list, "list [--account ID]" COMMON_SYNOPSIS},
        {"get", 1, 1, 0, bg_get, "get GROUP_ID" COMMON_SYNOPSIS},
        {"delete", 1, 1, 0, bg_delete, "delete GROUP_ID" COMMON_SYNOPSIS},
        {"assign-projects", 2, MAX_POSITIONAL, 0, bg_assign_projects,
         "assign-projects GROUP_ID PROJECT_NAME..." COMMON_SYNOPSIS},
        {"events", 1, 1, M(O_LIMIT), bg_events, "events GROUP_ID [--limit N]" COMMON_SYNOPSIS},
        {"credits-list", 1, 1, 0, bg_credits_list, "credits-list GROUP_ID" COMMON_SYNOPSIS},
        {"credits-claim", 2, 2, M(O_PROJECT_ID), bg_credits_claim,
         "credits-claim GROUP_ID CODE [--project-id ID]" COMMON_SYNOPSIS},
        {"invoice-list", 1, 1, M(O_SORT), bg_invoice_list,
         "invoice-list GROUP_ID [--sort [-]period_begin|[-]invoice_number]" COMMON_SYNOPSIS},
        {"invoice-lines", 2, 2, M(O_CSV), bg_invoice_lines,
         "invoice-lines GROUP_ID INVOICE_NUMBER [--csv]" COMMON_SYNOPSIS},
};

static const verb_t account_verbs[] = {
        {"create", 1, 1, M(O_OWNER), account_create,
         "create NAME --owner EMAIL (a service token)" COMMON_SYNOPSIS},
        {"set-primary", 1, 1, M(O_ACCOUNT), account_set_primary,
         "set-primary GROUP_ID [--account ID]" COMMON_SYNOPSIS},
};

static const verb_t project_verbs[] = {
        {"create", 1, 1, M(O_ACCOUNT) | M(O_GROUP), project_create,
         "create NAME [--billing-group GROUP_ID] [--account ID]" COMMON_SYNOPSIS},
        {"list", 0, 0, M(O_ACCOUNT), project_list, "list [--account ID]" COMMON_SYNOPSIS},
};

static void group_usage(FILE *f, const char *group, const verb_t *verbs, size_t n) {
        fprintf(f, "usage:\n");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "  billingctl %s %s\n", group, verbs[i].v_synopsis);
}

/* Adds one profile option's value to x_profile. */
static int add_profile(ctx_t *x, int opt, const char *val) {
        for (size_t i = 0; i < sizeof(profile_opts) / sizeof(profile_opts[0]); i++) {
                json_t *cur;
                if (profile_opts[i].opt != opt)
                        continue;
                if (!profile_opts[i].list)
                        return json_object_set_new(x->x_profile, profile_opts[i].key,
                                                   json_string(val));
                cur = json_object_get(x->x_profile, profile_opts[i].key);
                if (cur == NULL) {
                        cur = json_array();
                        if (json_object_set_new(x->x_profile, profile_opts[i].key, cur) != 0)
                                return -1;
                }
                if (*val == '\0')       /* "" alone: empty the list */
                        return 0;
                return json_array_append_new(cur, json_string(val));
        }
        return -1;
}

static int run(const char *group, const verb_t *verbs, size_t nverbs, int argc, char **argv) {
        const verb_t *v = NULL;
        char cmd[64], errstr[512];
        ctx_t x;
        int ch, rc, longindex = -1;
        const char *url, *token;

        if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
                group_usage(argc < 1 ? stderr : stdout, group, verbs, nverbs);
                return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
        }
        for (size_t i = 0; i < nverbs; i++)
                if (strcmp(argv[0], verbs[i].v_name) == 0)
                        v = &verbs[i];
        if (v == NULL) {
                fprintf(stderr, "billingctl %s: unknown verb \"%s\"\n", group, argv[0]);
                group_usage(stderr, group, verbs, nverbs);
                return CLI_EXIT_USAGE;
        }
        memset(&x, 0, sizeof(x));
        snprintf(cmd, sizeof(cmd), "%s %s", group, v->v_name);
        x.x_group = group;
        x.x_cmd = cmd;
        x.x_synopsis = v->v_synopsis;
        x.x_profile = json_object();
        x.x_args = calloc(MAX_POSITIONAL + 1, sizeof(char *));
        if (x.x_profile == NULL || x.x_args == NULL) {
                json_decref(x.x_profile);
                free(x.x_args);
                return cli_fail("out of memory");
        }
        rc = CLI_EXIT_USAGE;
        optind = 1;
        opterr = 0;
        /* "-" first: options and operands in any order, operands returned as 1. */
        while ((ch = getopt_long(argc, argv, "-", longopts, &longindex)) != -1) {
                if (ch == 1) {
                        if (x.x_nargs >= v->v_max) {
                                usage(&x, "unexpected argument \"%s\"", optarg);
                                goto out;
                        }
                        x.x_args[x.x_nargs++] = optarg;
                        continue;
                }
                if (ch == 'h') {
                        printf("usage: billingctl %s %s\n", group, v->v_synopsis);
                        rc = CLI_EXIT_OK;
                        goto out;
                }
                ch -= 256;
                if (ch < 0 || ch >= O__COUNT) {
                        usage(&x, "unknown option \"%s\"", argv[optind - 1]);
                        goto out;
                }
                if (!((M_COMMON | v->v_opts) & M(ch))) {
                        usage(&x, "option \"--%s\" does not apply here", longopts[longindex].name);
                        goto out;
                }
                if (ch == O_JSON)
                        x.x_json = true;
                else if (ch == O_CSV)
                        x.x_csv = true;
                else if (M(ch) & M_PROFILE) {
                        if (add_profile(&x, ch, optarg) != 0) {
                                rc = cli_fail("out of memory");
                                goto out;
                        }
                } else {
                        x.x_opt[ch] = optarg;
                }
        }
        if (x.x_nargs < v->v_min) {
                usage(&x, "missing argument");
                goto out;
        }
        if (x.x_json && x.x_csv) {
                usage(&x, "--json and --csv exclude each other");
                goto out;
        }
        url = x.x_opt[O_URL] ? x.x_opt[O_URL] : bg_env_str("BILLING_API_URL",
                                                           "http://127.0.0.1:8080");
        token = x.x_opt[O_TOKEN] ? x.x_opt[O_TOKEN] : bg_env_str("BILLING_API_TOKEN", NULL);
        if (token == NULL) {
                usage(&x, "no API token: set BILLING_API_TOKEN or give --token (billingctl "
                      "token create makes one)");
                goto out;
        }
        x.x_api = apic_new(url, token, TIMEOUT_S, errstr, sizeof(errstr));
        if (x.x_api == NULL) {
                rc = cli_fail("%s: %s", cmd, errstr);
                goto out;
        }
        rc = v->v_fn(&x);

out:
        apic_destroy(x.x_api);
        json_decref(x.x_profile);
        free(x.x_args);
        return rc;
}

int cli_billing_group(int argc, char **argv) {
        return run("billing-group", group_verbs, sizeof(group_verbs) / sizeof(group_verbs[0]),
                   argc, argv);
}

int cli_account(int argc, char **argv) {
        return run("account", account_verbs, sizeof(account_verbs) / sizeof(account_verbs[0]),
                   argc, argv);
}

int cli_project(int argc, char **argv) {
        return run("project", project_verbs, sizeof(project_verbs) / sizeof(project_verbs[0]),
                   argc, argv);
}
