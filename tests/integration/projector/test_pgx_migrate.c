/*
 * pgx_migrate on the real PostgreSQL: versioned files applied once and in order, a
 * failing file applies nothing of the run, renamed or duplicate versions are refused,
 * and concurrent starters apply each version exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bg_test_support.h"
#include "pgx.h"

static char dir[256];
static char schema[64];

static void write_file(const char *name, const char *sql) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(sql, f);
        fclose(f);
}

static PGconn *connect_db(void) {
        char errstr[512];
        PGconn *c = pgx_connect(bg_test_env("BILLING_PG_CONNINFO"), 10000, NULL, errstr,
                                sizeof(errstr));
        if (c == NULL)
                fail_msg("%s", errstr);
        return c;
}

static long long value(PGconn *c, const char *sql) {
        PGresult *res;
        char errstr[512];
        long long v;

        if (pgx_query(c, sql, 0, NULL, &res, errstr, sizeof(errstr)) != PGX_OK)
                fail_msg("%s", errstr);
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return v;
}

static int setup(void **state) {
        snprintf(dir, sizeof(dir), "/tmp/pgx-migrate-%ld", (long)getpid());
        snprintf(schema, sizeof(schema), "pgx_mig_%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
        return mkdir(dir, 0755) == 0 ? 0 : -1;
}

static void versions_apply_once_in_order(void **state) {
        PGconn *c = connect_db();
        char errstr[512], sql[256];
        int applied = -1;

        write_file("002_more.sql", "INSERT INTO t VALUES (2);");
        write_file("001_first.sql", "CREATE TABLE t (n int); INSERT INTO t VALUES (1);");
        write_file("README", "not a migration");
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_OK);
        assert_int_equal(applied, 2);
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_OK);
        assert_int_equal(applied, 0);
        snprintf(sql, sizeof(sql), "SELECT string_agg(n::text, '' ORDER BY n) FROM %s.t", schema);
        assert_int_equal(value(c, sql), 12);            /* 1 then 2 */

        /* A failing file applies nothing of its run. */
        write_file("003_ok.sql", "INSERT INTO t VALUES (3);");
        write_file("004_bad.sql", "INSERT INTO no_such_table VALUES (4);");
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_ERR_SQL);
        assert_non_null(strstr(errstr, "004_bad.sql"));
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.t", schema);
        assert_int_equal(value(c, sql), 2);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", schema);
        assert_int_equal(value(c, sql), 2);

        /* Fixed: both apply. */
        write_file("004_bad.sql", "INSERT INTO t VALUES (4);");
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_OK);
        assert_int_equal(applied, 2);

        /* A version recorded under another name is refused. */
        {
                char path[512];
                snprintf(path, sizeof(path), "%s/004_bad.sql", dir);
                unlink(path);
        }
        write_file("004_renamed.sql", "SELECT 1;");
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_ERR_ARG);
        assert_non_null(strstr(errstr, "was applied as"));

        /* Two files with one version are refused. */
        write_file("005_a.sql", "SELECT 1;");
        write_file("005_b.sql", "SELECT 1;");
        assert_int_equal(pgx_migrate(c, schema, dir, &applied, errstr, sizeof(errstr)), PGX_ERR_ARG);
        assert_non_null(strstr(errstr, "same version"));

        assert_int_equal(pgx_migrate(c, "Bad-Name", dir, &applied, errstr, sizeof(errstr)), PGX_ERR_ARG);
        PQfinish(c);
}

static void *migrate_thread(void *arg) {
        char errstr[512];
        PGconn *c = pgx_connect(getenv("BILLING_PG_CONNINFO"), 10000, NULL, errstr, sizeof(errstr));
        int *applied = arg;

        if (c == NULL || pgx_migrate(c, schema, dir, applied, errstr, sizeof(errstr)) != PGX_OK)
                *applied = -1;
        PQfinish(c);
        return NULL;
}

static void concurrent_starters_apply_each_version_once(void **state) {
        pthread_t th[4];
        int applied[4];
        int total = 0;

        snprintf(schema, sizeof(schema), "pgx_conc_%ld_%ld", (long)getpid(), (long)time(NULL) % 100000);
        snprintf(dir, sizeof(dir), "/tmp/pgx-migrate-conc-%ld", (long)getpid());
        assert_int_equal(mkdir(dir, 0755), 0);
        write_file("001_a.sql", "CREATE TABLE a (n int); SELECT pg_sleep(0.2);");
        write_file("002_b.sql", "CREATE TABLE b (n int);");
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &applied[i]), 0);
        for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                assert_true(applied[i] >= 0);
                total += applied[i];
        }
        assert_int_equal(total, 2);
}

static void connect_gives_a_clear_error(void **state) {
        char errstr[512];
        PGconn *c = pgx_connect("host=127.0.0.1 port=1 dbname=x connect_timeout=1", 0, NULL,
                                errstr, sizeof(errstr));

        assert_null(c);
        assert_non_null(strstr(errstr, "cannot connect to PostgreSQL at host=127.0.0.1 port=1"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(versions_apply_once_in_order),
                cmocka_unit_test(concurrent_starters_apply_each_version_once),
                cmocka_unit_test(connect_gives_a_clear_error),
        };
        return cmocka_run_group_tests_name("pgx_migrate", tests, setup, NULL);
}
