/*
 * The projector's integration fixture (cmocka): topics with a unique prefix on the real
 * local Kafka, events made by pj_gen produced keyed by account (murmur2, like the
 * commands service; transactionally when asked), billing-projector started as a child
 * process with a unique BILLING_PG_SCHEMA, and table-by-table comparisons of schemas.
 */
#ifndef PJ_FIXTURE_H
#define PJ_FIXTURE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "kc_topics.h"
#include "pj_gen.h"

typedef struct pjt_s {
        char pt_name[96];               /* unique: topics, schemas and logs are named after it */
        char pt_prefix[112];
        kc_topics_t pt_topics;
        int pt_partitions;
        rd_kafka_t *pt_producer;
        bool pt_txn;                    /* producer is transactional */
        bool pt_txn_open;
        size_t pt_in_txn;
        PGconn *pt_conn;
        pjg_t *pt_gen;
        size_t pt_produced;             /* events produced so far */
        int pt_schemas;                 /* schema names handed out */
} pjt_t;

/* Creates the topics "<name>-<unique>.events" (and the rest) with @partitions partitions.
 * @transactional: events go in Kafka transactions of up to 500 (commit markers between). */
pjt_t *pjt_new(const char *name, int partitions, bool transactional);
void pjt_destroy(pjt_t *t);

/* A fresh schema name for this test ("pjt_<pid>_<n>"), into @buf (64 bytes). */
void pjt_schema(pjt_t *t, char *buf);

/* pjg_emit_fn: produces one event to the events topic, keyed by its account. */
void pjt_emit(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len);
/* Flushes the producer (and commits the open transaction). */
void pjt_flush(pjt_t *t);
/* Produces raw bytes keyed @key to the events topic (partition by murmur2). */
void pjt_produce_raw(pjt_t *t, const char *key, const void *value, size_t len);

/* Random stories for @n_accounts accounts, round-robin in random order, until at least
 * @n_events events were produced; flushed. Returns the number of events produced. */
size_t pjt_produce_random(pjt_t *t, int n_accounts, size_t n_events);

/* Starts billing-projector writing @schema; @args (NULL-terminated, may be NULL) are its
 * arguments ("rebuild", "--swap"), @env extra settings. The log is pjt_log_path(@tag). */
pid_t pjt_start(pjt_t *t, const char *schema, const char *tag, char *const args[],
                char *const env[]);
void pjt_log_path(const pjt_t *t, const char *tag, char *buf, size_t size);
bool pjt_log_contains(const pjt_t *t, const char *tag, const char *needle);

/* The admin port of the projector started with @tag (it binds port 0), read from its
 * log; -1 until it has logged it. */
int pjt_admin_port(const pjt_t *t, const char *tag);
/* GET @path on the admin port of @tag: the HTTP status (0: no answer); the body into @body
 * (may be NULL) when it fits. */
int pjt_admin_get(const pjt_t *t, const char *tag, const char *path, char *body,
                  size_t body_size);
/* The value of the /metrics line of @tag starting with @series (e.g.
 * "billing_projector_events_total{outcome=\"applied\"}"), or -1. */
long long pjt_metric(const pjt_t *t, const char *tag, const char *series);

/* The end of the events topic: the sum of every partition's high watermark. */
long long pjt_log_end(pjt_t *t);
/* The same, once it holds at least what this fixture produced (an answer right after a
 * produce can be stale); each partition's high watermark into @ends when not NULL. */
long long pjt_wait_log_end(pjt_t *t, int64_t *ends);

/* Waits until the offsets stored in @schema reach the end of every partition. */
bool pjt_wait_caught_up(pjt_t *t, const char *schema, int timeout_ms);
/* Sum of the stored next offsets in @schema (0 when none or no schema). */
long long pjt_stored_total(pjt_t *t, const char *schema);

/* The single value of @sql (printf-style), as a long long / a malloc()ed string. */
long long pjt_count(pjt_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *pjt_text(pjt_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Asserts that every read-model table (and the stored offsets) of @a equals @b's: same
 * row count, and no row in one that is not in the other (EXCEPT ALL both ways). */
void pjt_assert_same_tables(pjt_t *t, const char *a, const char *b);

/* Every read-model table, NULL-terminated. */
extern const char *const pjt_tables[];

#endif /* PJ_FIXTURE_H */
