/*
 * billingctl token create on the real PostgreSQL: prints a fresh 64-hex-digit token once,
 * stores only its SHA-256 (with account, user and role) in api_tokens of
 * BILLING_API_SCHEMA (migrated on first use), and refuses bad arguments with exit 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_test_support.h"
#include "cli_fixture.h"

#define ACCOUNT "0f8fad5b-d9cb-469f-a165-70867728950e"

static PGconn *conn;
static char schema[64];

static int setup(void **state) {
        conn = PQconnectdb(bg_test_env("BILLING_PG_CONNINFO"));
        if (PQstatus(conn) != CONNECTION_OK)
                fail_msg("cannot connect: %s", PQerrorMessage(conn));
        snprintf(schema, sizeof(schema), "it_cli_token_%ld", (long)getpid());
        setenv("BILLING_API_SCHEMA", schema, 1);
        return 0;
}

static int teardown(void **state) {
        char sql[128];

        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        PQclear(PQexec(conn, sql));
        PQfinish(conn);
        return 0;
}

static void token_is_printed_once_and_stored_hashed(void **state) {
        char *out, *out2, hexsha[65], sql[512];
        uint8_t sha[SHA256_DIGEST_LENGTH];
        PGresult *res;

        assert_int_equal(clit_run(&out, "token create --account %s --user Bob@Example.com "
                                        "--role billing_admin", ACCOUNT), 0);
        assert_int_equal(strlen(out), 65);              /* 64 hex digits and a newline */
        assert_int_equal(strspn(out, "0123456789abcdef"), 64);
        out[64] = '\0';
        SHA256((const unsigned char *)out, 64, sha);
        for (int i = 0; i < 32; i++)
                snprintf(hexsha + 2 * i, 3, "%02x", sha[i]);

        snprintf(sql, sizeof(sql), "SELECT account_id, user_email, role, revoked_at IS NULL, "
                 "position('%s' IN encode(token_sha256, 'hex')) FROM %s.api_tokens "
                 "WHERE token_sha256 = decode('%s', 'hex')", out, schema, hexsha);
        res = PQexec(conn, sql);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(res), 1);
        assert_string_equal(PQgetvalue(res, 0, 0), ACCOUNT);
        assert_string_equal(PQgetvalue(res, 0, 1), "Bob@Example.com");
        assert_string_equal(PQgetvalue(res, 0, 2), "billing_admin");
        assert_string_equal(PQgetvalue(res, 0, 3), "t");
        assert_string_equal(PQgetvalue(res, 0, 4), "0");        /* the token is not stored */
        PQclear(res);

        /* Another token is another secret. */
        assert_int_equal(clit_run(&out2, "token create --account %s --user bob@example.com "
                                         "--role viewer --json", ACCOUNT), 0);
        assert_null(strstr(out2, out));
        assert_non_null(strstr(out2, "\"role\": \"viewer\""));
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.api_tokens", schema);
        res = PQexec(conn, sql);
        assert_string_equal(PQgetvalue(res, 0, 0), "2");
        PQclear(res);
        free(out);
        free(out2);
}

static void bad_arguments_exit_2(void **state) {
        assert_int_equal(clit_run(NULL, "token create --account %s --user bob@example.com "
                                        "--role owner 2>/dev/null", ACCOUNT), 2);
        assert_int_equal(clit_run(NULL, "token create --account nope --user bob@example.com "
                                        "--role viewer 2>/dev/null"), 2);
        assert_int_equal(clit_run(NULL, "token create --account %s --user bob "
                                        "--role viewer 2>/dev/null", ACCOUNT), 2);
        assert_int_equal(clit_run(NULL, "token create --account %s --role viewer 2>/dev/null",
                                  ACCOUNT), 2);
        assert_int_equal(clit_run(NULL, "token revoke 2>/dev/null"), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(token_is_printed_once_and_stored_hashed),
                cmocka_unit_test(bad_arguments_exit_2),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
