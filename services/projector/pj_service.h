/*
 * The projector: consumes billing.events (read_committed, every partition assigned by
 * hand, never a Kafka-committed offset) and keeps the read models of docs/read-models.md
 * in PostgreSQL. Each batch of events, its rows and the next offsets of the partitions it
 * consumed are written in one PostgreSQL transaction; on start, and after any lost
 * connection, the projector seeks to the stored offsets. See docs/projector.md.
 *
 * Lanes: the partitions are dealt to BILLING_PROJECTOR_LANES lanes (partition p to lane
 * p mod lanes), each a thread with its own consumer, codec, caches and PostgreSQL
 * connection. An account lives in one partition, so lanes never write the same rows;
 * each commits its own partitions' offsets with its rows, and holds their advisory locks.
 *
 * Setup order (stopped in reverse): configuration, metrics + admin port, schema registry,
 * then per lane: codec, PostgreSQL (locks, migrations, offsets), Kafka (consumer assigned
 * at the stored offsets, dead-letter producer); then the lanes' threads.
 */
#ifndef PJ_SERVICE_H
#define PJ_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pj_conf_s {
        char pc_conninfo[1024];         /* BILLING_PG_CONNINFO */
        char pc_schema[64];             /* BILLING_PG_SCHEMA */
        char pc_rebuild_schema[64];     /* BILLING_REBUILD_SCHEMA: rebuild builds here */
        char pc_admin_addr[64];         /* BILLING_ADMIN_ADDR */
        char pc_migrations_dir[1024];   /* BILLING_PROJECTOR_MIGRATIONS_DIR */
        char pc_schemas_dir[1024];      /* BILLING_SCHEMAS_DIR: Avro schemas + manifest */
        int pc_batch_max;               /* BILLING_BATCH_MAX: events per transaction */
        int pc_batch_ms;                /* BILLING_BATCH_MS: longest wait to fill a batch */
        size_t pc_max_message_bytes;    /* BILLING_MAX_MESSAGE_BYTES: larger is dead-lettered */
        size_t pc_cache_max;            /* BILLING_PROJECTOR_CACHE_MAX: ids kept per lane */
        int pc_lanes;                   /* BILLING_PROJECTOR_LANES: parallel writers */
        /* BILLING_FAULT_KILL_MID_BATCH=N: the Nth batch sends half of its writes, then the
         * process SIGKILLs itself before COMMIT. Crash tests only; 0 (default) never. */
        int pc_fault_kill_mid_batch;
} pj_conf_t;

typedef enum {
        PJ_MODE_RUN = 0,                /* project forever */
        PJ_MODE_REBUILD,                /* replay into the rebuild schema up to the end */
        PJ_MODE_REBUILD_SWAP,           /* ... then swap it in for the live schema */
} pj_mode_t;

/* Reads the configuration from the environment; -1 with a reason on a bad value. */
int pj_conf_load(pj_conf_t *conf, char *errstr, size_t errstr_size);

/* Runs until *@stop (SIGTERM), a fatal error, or (rebuild) the end of the log. Returns the
 * exit code: 0 after a clean stop or a finished rebuild; 1 on a fatal error (an event the
 * projector cannot apply, a schema it does not know, an SQL error). */
int pj_service_run(const pj_conf_t *conf, pj_mode_t mode, volatile sig_atomic_t *stop);

#endif /* PJ_SERVICE_H */
