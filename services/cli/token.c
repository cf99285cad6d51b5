/*
 * billingctl token create: a bearer token for the HTTP API (docs/api.md, docs/cli.md).
 *
 * The token is 64 lower-case hex digits (32 bytes of OpenSSL RAND_bytes), the form the API
 * expects (services/api/api_auth.c); only SHA-256 of that text is stored, in
 * <BILLING_API_SCHEMA>.api_tokens (the API's migration, applied here too when the API
 * has not run yet). The token is printed once and cannot be shown again.
 *
 * The API scopes a token to its account and caps its role by the user's current role in
 * the account; a token for a user who is not (yet) a member is created with a warning,
 * since the read models may lag behind the member's grant.
 */
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bg_command.h"
#include "bg_env.h"
#include "bg_uuid.h"
#include "cli.h"
#include "pgx.h"

#define SYNOPSIS                                                                             \
        "create --account ID --user EMAIL --role viewer|billing_admin|admin\n"               \
        "       [--description TEXT] [--json]"
#define DESCRIPTION_MAX 200

static void hex(const uint8_t *b, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 0xf];
        }
        out[2 * n] = '\0';
}

/* A plausible e-mail address: ASCII, no spaces or controls, one '@' with text on both
 * sides, at most BG_EMAIL_MAX bytes. The API and the domain hold the full rules. */
static bool plausible_email(const char *s) {
        const char *at = strchr(s, '@');
        size_t len = strlen(s);

        if (len == 0 || len > BG_EMAIL_MAX || at == NULL || at == s || at[1] == '\0' ||
            strchr(at + 1, '@') != NULL)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return false;
        return true;
}

static void creator(char *buf, size_t size) {
        struct passwd *pw = getpwuid(geteuid());

        snprintf(buf, size, "billingctl:%s", pw && pw->pw_name ? pw->pw_name : "unknown");
}

/* Warns when @email is not a member of @account in the read models (never fails). */
static void warn_if_not_member(PGconn *conn, const char *account, const char *email) {
        const char *schema = bg_env_str("BILLING_PG_SCHEMA", "billing");
        const char *params[2] = {account, email};
        char sql[256], errstr[512];
        PGresult *res;

        if (!pgx_ident_valid(schema))
                return;
        snprintf(sql, sizeof(sql), "SELECT role FROM %s.account_members WHERE account_id = $1 "
                 "AND lower(user_email) = lower($2)", schema);
        if (pgx_query(conn, sql, 2, params, &res, errstr, sizeof(errstr)) != PGX_OK)
                return;                 /* no read models here: nothing to say */
        if (PQntuples(res) == 0)
                fprintf(stderr, "billingctl: warning: %s is not a member of account %s (yet): "
                        "the API refuses the token until they are\n", email, account);
        PQclear(res);
}

int cli_token_create(int argc, char **argv) {
        static const struct option longopts[] = {
                {"account", required_argument, NULL, 'a'},
                {"user", required_argument, NULL, 'u'},
                {"role", required_argument, NULL, 'r'},
                {"description", required_argument, NULL, 'd'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *account = NULL, *user = NULL, *role = NULL, *description = NULL;
        const char *schema = bg_env_str("BILLING_API_SCHEMA", "billing_api");
        const char *dir = bg_env_str("BILLING_API_MIGRATIONS_DIR", BG_DEFAULT_API_MIGRATIONS_DIR);
        char errstr[1024], token[65], digest_hex[65], by[300], sql[512];
        char idtext[BG_UUID_STR_LEN + 1];
        const char *params[6];
        uint8_t raw[32], digest[SHA256_DIGEST_LENGTH];
        bg_uuid_t id;
        bool json = false;
        PGconn *conn = NULL;
        PGresult *res = NULL;
        int ch, rc = CLI_EXIT_FAIL;

        if (argc < 1 || strcmp(argv[0], "create") != 0)
                return cli_usage_error("token", SYNOPSIS, "unknown or missing verb");
        optind = 1;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
                switch (ch) {
                case 'a':
                        account = optarg;
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'r':
                        role = optarg;
                        break;
                case 'd':
                        description = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("usage: billingctl token %s\n", SYNOPSIS);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage_error("token", SYNOPSIS, "unknown option \"%s\"",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("token", SYNOPSIS, "unexpected argument \"%s\"",
                                       argv[optind]);
        if (account == NULL || user == NULL || role == NULL)
                return cli_usage_error("token", SYNOPSIS, "--account, --user and --role are "
                                       "required");
        if (!bg_uuid_parse(account, strlen(account), &id) || bg_uuid_is_nil(&id))
                return cli_usage_error("token", SYNOPSIS, "--account: \"%s\" is not an account "
                                       "id (a UUID)", account);
        if (!plausible_email(user))
                return cli_usage_error("token", SYNOPSIS, "--user: \"%s\" is not an e-mail "
                                       "address", user);
        if (bg_role_from_name(role) == BG_ROLE_NONE)
                return cli_usage_error("token", SYNOPSIS, "--role: unknown role \"%s\" (expected "
                                       "one of: viewer, billing_admin, admin)", role);
        if (description != NULL && strlen(description) > DESCRIPTION_MAX)
                return cli_usage_error("token", SYNOPSIS, "--description: longer than %d bytes",
                                       DESCRIPTION_MAX);
        if (!pgx_ident_valid(schema))
                return cli_fail("token create: BILLING_API_SCHEMA \"%s\" is not a plain "
                                "identifier", schema);

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return cli_fail("token create: cannot get random bytes from OpenSSL");
        hex(raw, sizeof(raw), token);
        OPENSSL_cleanse(raw, sizeof(raw));
        SHA256((const unsigned char *)token, 64, digest);
        hex(digest, sizeof(digest), digest_hex);
        bg_uuid_format(&id, idtext);
        creator(by, sizeof(by));

        conn = pgx_connect(bg_env_str("BILLING_PG_CONNINFO", "dbname=billing"), 0, NULL, errstr,
                           sizeof(errstr));
        if (conn == NULL)
                goto out_fail;
        if (pgx_migrate(conn, schema, dir, NULL, errstr, sizeof(errstr)) != PGX_OK)
                goto out_fail;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s.api_tokens (token_sha256, account_id, user_email, role, "
                 "description, created_by) VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6) "
                 "RETURNING to_char(created_at AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", schema);
        params[0] = digest_hex;
        params[1] = idtext;
        params[2] = user;
        params[3] = role;
        params[4] = description;
        params[5] = by;
        if (pgx_query(conn, sql, 6, params, &res, errstr, sizeof(errstr)) != PGX_OK)
                goto out_fail;
        warn_if_not_member(conn, idtext, user);

        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "token", token,
                                      "token_sha256", digest_hex, "account_id", idtext,
                                      "user", user, "role", role, "created_at",
                                      PQgetvalue(res, 0, 0));
                if (o != NULL && description != NULL)
                        json_object_set_new(o, "description", json_string(description));
                if (o != NULL)
                        json_dumpf(o, stdout, JSON_INDENT(2));
                json_decref(o);
                fputc('\n', stdout);
        } else {
                printf("%s\n", token);
                fprintf(stderr, "billingctl: token for %s (%s) on account %s created; it is "
                        "shown only this once. Use it as \"Authorization: Bearer <token>\" "
                        "(BILLING_API_TOKEN).\n", user, role, idtext);
        }
        rc = CLI_EXIT_OK;
        goto out_clear;

out_fail:
        cli_fail("token create: %s", errstr);
out_clear:
        OPENSSL_cleanse(token, sizeof(token));
        PQclear(res);
        PQfinish(conn);
        return rc;
}
