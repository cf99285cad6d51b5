/*
 * billingctl: the command-line tool of the billing backend (DESIGN.md section 5, "cli";
 * docs/cli.md). One entry point per verb; each parses its own options with getopt_long and
 * returns the process exit code:
 *
 *   0  done, nothing wrong found
 *   1  a problem was found (audit), or a request / connection failed
 *   2  usage error (unknown verb or option, missing or malformed argument)
 *
 * Results go to stdout (a table, or JSON with --json); errors and progress to stderr.
 */
#ifndef CLI_H
#define CLI_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_FAIL = 1,
        CLI_EXIT_USAGE = 2,
};

/* Prints "billingctl <cmd>: <message>" and "usage: billingctl <cmd> <synopsis>" to stderr
 * and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *synopsis, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prints "billingctl: <message>" to stderr and returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal integer in [@min, @max]; false on anything else. */
bool cli_parse_int(const char *s, long long min, long long max, long long *out);

/* ---- Kafka (cli_kafka.c) ---- */

/* A consumer that never joins a group and never commits: configuration from the
 * environment (kc_conf), then read_committed, enable.partition.eof, fetch sizes and
 * @extra ("name", "value" pairs, NULL-terminated; may be NULL), each unless the user set
 * it as KAFKA_<PROPERTY>. NULL with a reason. */
rd_kafka_t *cli_consumer_new(const char *const *extra, char *errstr, size_t errstr_size);

/* Assigns partitions 0..@nparts-1 of @topic, each at @offset (RD_KAFKA_OFFSET_BEGINNING
 * or _END). 0, or -1 with a reason. */
int cli_assign_all(rd_kafka_t *rk, const char *topic, int nparts, int64_t offset,
                   char *errstr, size_t errstr_size);

/* The schema registry of BILLING_SCHEMAS_DIR (default: the source tree's schemas/) and a
 * codec on it decoding messages of up to @max_message bytes (0: the codec's default).
 * 0, or -1 with a reason; free with codec_destroy then codec_registry_destroy. */
int cli_codec_new(size_t max_message, codec_registry_t **reg, codec_t **codec, char *errstr,
                  size_t errstr_size);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t cli_now_ms(void);

/* ---- verbs ---- */

int cli_audit_verify(int argc, char **argv);          /* audit_verify.c */
int cli_invoices_tail(int argc, char **argv);         /* invoices_tail.c */
int cli_token_create(int argc, char **argv);          /* token.c */
int cli_billing_group(int argc, char **argv);         /* api_verbs.c: argv[0] is the verb */
int cli_account(int argc, char **argv);
int cli_project(int argc, char **argv);

#endif /* CLI_H */
