/*
 * A PostgreSQL round trip through libpq on the local stack's private cluster: parameters
 * in, typed values out, money as exact numeric (never float), a transaction rolled back
 * leaves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <string.h>

#include "bg_test_support.h"

static PGconn *connect_db(void) {
        PGconn *conn = PQconnectdb(bg_test_env("BILLING_PG_CONNINFO"));
        if (PQstatus(conn) != CONNECTION_OK)
                fail_msg("cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
        return conn;
}

static void exec_ok(PGconn *conn, const char *sql) {
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
                fail_msg("\"%s\" failed: %s", sql, PQerrorMessage(conn));
        PQclear(res);
}

static void parameters_round_trip_exactly(void **state) {
        PGconn *conn = connect_db();
        const char *params[3] = {"8b6e6a3e-7f7d-4a5c-9d1e-2f3a4b5c6d7e",
                                 "O'Brien; DROP TABLE t; --", "9223372036854.775807"};
        PGresult *res;

        exec_ok(conn, "CREATE TEMP TABLE t (id uuid PRIMARY KEY, name text, amount numeric(38,6))");
        res = PQexecParams(conn, "INSERT INTO t VALUES ($1, $2, $3)", 3, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);

        res = PQexecParams(conn, "SELECT id, name, amount, amount * 1000000 FROM t WHERE id = $1",
                           1, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(res), 1);
        assert_string_equal(PQgetvalue(res, 0, 0), params[0]);
        assert_string_equal(PQgetvalue(res, 0, 1), params[1]);
        assert_string_equal(PQgetvalue(res, 0, 2), "9223372036854.775807");
        /* INT64_MAX micro-units: exact, no float rounding anywhere. */
        assert_string_equal(PQgetvalue(res, 0, 3), "9223372036854775807.000000");
        PQclear(res);
        PQfinish(conn);
}

static void rolled_back_transaction_leaves_nothing(void **state) {
        PGconn *conn = connect_db();
        PGresult *res;

        exec_ok(conn, "CREATE TEMP TABLE r (n int)");
        exec_ok(conn, "BEGIN");
        exec_ok(conn, "INSERT INTO r SELECT generate_series(1, 100)");
        exec_ok(conn, "ROLLBACK");
        exec_ok(conn, "INSERT INTO r VALUES (42)");
        res = PQexec(conn, "SELECT count(*), sum(n) FROM r");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(res, 0, 0), "1");
        assert_string_equal(PQgetvalue(res, 0, 1), "42");
        PQclear(res);
        PQfinish(conn);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parameters_round_trip_exactly),
                cmocka_unit_test(rolled_back_transaction_leaves_nothing),
        };
        return cmocka_run_group_tests_name("postgres_roundtrip", tests, NULL, NULL);
}
