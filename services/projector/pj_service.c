#include "pj_service.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bg_admin.h"
#include "bg_env.h"
#include "bg_log.h"
#include "bg_metrics.h"
#include "codec.h"
#include "bg_time.h"
#include "kc_client.h"
#include "kc_headers.h"
#include "kc_conf.h"
#include "kc_topics.h"
#include "pgx.h"
#include "pj_model.h"
#include "pj_store.h"

#define KAFKA_TIMEOUT_MS 30000
#define MAX_PARTITIONS   1024
#define SCHEMA_IDS_MAX   64             /* writer schema ids a lane remembers as ours or not */

/* ------------------------------------------------------------------ configuration */

int pj_conf_load(pj_conf_t *c, char *errstr, size_t errstr_size) {
        char def_rebuild[sizeof(((pj_conf_t *)0)->pc_schema) + sizeof("_rebuild")];
        int64_t n;

        memset(c, 0, sizeof(*c));
        snprintf(c->pc_conninfo, sizeof(c->pc_conninfo), "%s",
                 bg_env_str("BILLING_PG_CONNINFO", "dbname=billing"));
        snprintf(c->pc_schema, sizeof(c->pc_schema), "%s", bg_env_str("BILLING_PG_SCHEMA", "billing"));
        if (!pgx_ident_valid(c->pc_schema) || strlen(c->pc_schema) > 40) {
                snprintf(errstr, errstr_size, "invalid BILLING_PG_SCHEMA \"%s\": expected "
                         "[a-z_][a-z0-9_]*, at most 40 characters", c->pc_schema);
                return -1;
        }
        snprintf(def_rebuild, sizeof(def_rebuild), "%s_rebuild", c->pc_schema);
        snprintf(c->pc_rebuild_schema, sizeof(c->pc_rebuild_schema), "%s",
                 bg_env_str("BILLING_REBUILD_SCHEMA", def_rebuild));
        if (!pgx_ident_valid(c->pc_rebuild_schema) ||
            strcmp(c->pc_rebuild_schema, c->pc_schema) == 0) {
                snprintf(errstr, errstr_size, "invalid BILLING_REBUILD_SCHEMA \"%s\": expected "
                         "[a-z_][a-z0-9_]*, not the live schema", c->pc_rebuild_schema);
                return -1;
        }
        snprintf(c->pc_admin_addr, sizeof(c->pc_admin_addr), "%s",
                 bg_env_str("BILLING_ADMIN_ADDR", "127.0.0.1:9102"));
        snprintf(c->pc_migrations_dir, sizeof(c->pc_migrations_dir), "%s",
                 bg_env_str("BILLING_PROJECTOR_MIGRATIONS_DIR", BG_DEFAULT_MIGRATIONS_DIR));
        snprintf(c->pc_schemas_dir, sizeof(c->pc_schemas_dir), "%s",
                 bg_env_str("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR));
        if (!bg_env_int("BILLING_BATCH_MAX", 5000, 1, 100000, &n, errstr, errstr_size))
                return -1;
        c->pc_batch_max = (int)n;
        if (!bg_env_int("BILLING_BATCH_MS", 50, 0, 10000, &n, errstr, errstr_size))
                return -1;
        c->pc_batch_ms = (int)n;
        if (!bg_env_int("BILLING_MAX_MESSAGE_BYTES", 1 << 20, 1024, 64 << 20, &n, errstr,
                        errstr_size))
                return -1;
        c->pc_max_message_bytes = (size_t)n;
        if (!bg_env_int("BILLING_PROJECTOR_CACHE_MAX", 2000000, 1000, INT32_MAX, &n, errstr,
                        errstr_size))
                return -1;
        c->pc_cache_max = (size_t)n;
        if (!bg_env_int("BILLING_PROJECTOR_LANES", 2, 1, 64, &n, errstr, errstr_size))
                return -1;
        c->pc_lanes = (int)n;
        if (!bg_env_int("BILLING_FAULT_KILL_MID_BATCH", 0, 0, INT32_MAX, &n, errstr, errstr_size))
                return -1;
        c->pc_fault_kill_mid_batch = (int)n;
        return 0;
}

/* ------------------------------------------------------------------ state */

typedef enum { MSG_EVENT, MSG_DEAD } msg_kind_t;

/* STEP_RETRY: PostgreSQL is gone (reconnect); STEP_REGISTRY: the schema registry is (wait,
 * then replay from the stored offsets). */
typedef enum { STEP_OK, STEP_RETRY, STEP_REGISTRY, STEP_FATAL } step_t;

/* What to do with a message that does not decode. */
typedef enum {
        BAD_DEAD,       /* damaged: dead-letter it and go on */
        BAD_STOP,       /* of a schema or type this build does not know: stop at it */
        BAD_REGISTRY,   /* the registry cannot say what it is: wait and retry */
} bad_t;

typedef struct pj_proc_s pj_proc_t;

/* One lane: a thread projecting its share of the partitions through its own connection. */
typedef struct pj_lane_s {
        pj_proc_t *l_proc;
        int l_id;
        int l_parts[MAX_PARTITIONS];            /* the partitions it owns */
        int l_nparts;

        codec_t *l_codec;
        pj_store_t *l_store;
        pj_model_t *l_model;
        rd_kafka_t *l_consumer;
        rd_kafka_t *l_dlq;

        /* Indexed by partition number; only the lane's own partitions are used. */
        int64_t l_stored[MAX_PARTITIONS];       /* next offsets committed; -1: none */
        int64_t l_next[MAX_PARTITIONS];         /* the batch's; -1: unchanged */
        int64_t l_eof[MAX_PARTITIONS];          /* end of partition seen in this batch */
        int64_t l_end[MAX_PARTITIONS];          /* rebuild: the end to reach */

        rd_kafka_message_t **l_msgs;
        size_t l_nmsgs;
        bg_event_t *l_events;                   /* one slot per message */
        uint8_t *l_kind;                        /* msg_kind_t per message */
        _Atomic int l_dlq_failed;               /* delivery reports with an error */

        /* Writer schema ids seen on messages that did not decode: ours or not. */
        int32_t l_schema_ids[SCHEMA_IDS_MAX];
        bool l_schema_local[SCHEMA_IDS_MAX];
        int l_n_schema_ids;
        int l_registry_backoff_ms;              /* 0: the registry answered last time */

        pthread_t l_thread;
        bool l_started;
        bool l_until_end;
        int l_rc;
        _Atomic bool l_done;
        _Atomic bool l_pg_up;
        _Atomic bool l_registry_up;
        _Atomic int64_t l_heartbeat_ms;
        _Atomic int64_t l_lag;
} pj_lane_t;

struct pj_proc_s {
        const pj_conf_t *p_conf;
        pj_mode_t p_mode;
        const char *p_schema;                   /* the schema written */
        kc_topics_t p_topics;
        int p_nparts;
        codec_registry_t *p_reg;
        codec_registry_t *p_local;              /* the manifest: the schemas we were built with */
        volatile sig_atomic_t *p_stop;
        _Atomic bool p_abort;                   /* a lane failed: all stop */
        _Atomic int p_batches;                  /* batches written, for fault injection */
        pj_lane_t *p_lanes;
        int p_nlanes;

        bg_metrics_t *p_metrics;
        bg_admin_t *p_admin;
        bg_counter_t *m_applied;
        bg_counter_t *m_skipped;
        bg_counter_t *m_dead;
        bg_counter_t *m_txns;
        bg_counter_t *m_recoveries;
        bg_histogram_t *m_batch;
        bg_histogram_t *m_txn_seconds;
        bg_gauge_t *m_lag;
};

static bool stopping(const pj_lane_t *l) {
        return *l->l_proc->p_stop || atomic_load(&l->l_proc->p_abort);
}

static void discard_batch(pj_lane_t *l) {
        for (size_t i = 0; i < l->l_nmsgs; i++)
                rd_kafka_message_destroy(l->l_msgs[i]);
        l->l_nmsgs = 0;
        for (int i = 0; i < l->l_nparts; i++)
                l->l_eof[l->l_parts[i]] = -1;
}

/* ------------------------------------------------------------------ Kafka */


static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        pj_lane_t *l = opaque;
        (void)rk;
        if (m->err) {
                bg_log_error("cannot dead-letter to \"%s\": %s", rd_kafka_topic_name(m->rkt),
                             rd_kafka_err2str(m->err));
                atomic_fetch_add(&l->l_dlq_failed, 1);
        }
}

/* Assigns the lane's partitions at their stored offsets (the beginning when none). */
static int assign_stored(pj_lane_t *l) {
        const char *topic = l->l_proc->p_topics.kt_events;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(l->l_nparts);
        rd_kafka_resp_err_t err;

        for (int i = 0; i < l->l_nparts; i++) {
                int p = l->l_parts[i];
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
                        l->l_stored[p] >= 0 ? l->l_stored[p] : RD_KAFKA_OFFSET_BEGINNING;
        }
        err = rd_kafka_assign(l->l_consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                bg_log_error("lane %d: cannot assign \"%s\": %s", l->l_id, topic,
                             rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

static rd_kafka_t *consumer_new(pj_proc_t *pr, void *opaque, char *errstr, size_t errstr_size) {
        char group[160];
        const char *props[] = {
                "group.id", group, "isolation.level", "read_committed",
                "enable.auto.commit", "false", "enable.auto.offset.store", "false",
                "enable.partition.eof", "true", "auto.offset.reset", "earliest",
                "fetch.max.bytes", "52428800", "max.partition.fetch.bytes", "8388608",
                "queued.max.messages.kbytes", "262144", "fetch.wait.max.ms", "50", NULL};

        /* The group id only names the client: partitions are assigned by hand and offsets
         * are never committed to Kafka. */
        snprintf(group, sizeof(group), "billing-projector-%s", pr->p_schema);
        kc_client_opts_t opts = {.kco_opaque = opaque};

        return kc_client_new(RD_KAFKA_CONSUMER, props, &opts, errstr, errstr_size);
}

/* The high watermark of each of the lane's partitions: where a rebuild stops. */
static int query_end(pj_lane_t *l) {
        for (int i = 0; i < l->l_nparts; i++) {
                int p = l->l_parts[i];
                int64_t lo, hi;
                rd_kafka_resp_err_t err = kc_watermarks(
                        l->l_consumer, l->l_proc->p_topics.kt_events, p, &lo, &hi, KAFKA_TIMEOUT_MS);
                if (err) {
                        bg_log_error("cannot read the end of \"%s\" [%d]: %s",
                                     l->l_proc->p_topics.kt_events, p, rd_kafka_err2str(err));
                        return -1;
                }
                l->l_end[p] = hi;
        }
        return 0;
}

static bool reached_end(const pj_lane_t *l) {
        for (int i = 0; i < l->l_nparts; i++) {
                int p = l->l_parts[i];
                if (l->l_end[p] > 0 && l->l_stored[p] < l->l_end[p])
                        return false;
        }
        return true;
}

static void update_lag(pj_lane_t *l) {
        int64_t lag = 0;

        for (int i = 0; i < l->l_nparts; i++) {
                int p = l->l_parts[i];
                int64_t lo, hi;
                if (rd_kafka_get_watermark_offsets(l->l_consumer, l->l_proc->p_topics.kt_events, p,
                                                   &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
                        continue;
                lag += hi - (l->l_stored[p] > 0 ? l->l_stored[p] : (lo > 0 ? lo : 0));
        }
        atomic_store(&l->l_lag, lag > 0 ? lag : 0);
}

static void dead_letter(pj_lane_t *l, const rd_kafka_message_t *m, const char *reason) {
        const char *dlq = l->l_proc->p_topics.kt_events_dlq;
        rd_kafka_headers_t *h = kc_dlq_headers(rd_kafka_topic_name(m->rkt), m->partition,
                                               m->offset, "billing-projector", reason);
        rd_kafka_resp_err_t err;

        bg_log_warn("dead-lettering \"%s\" [%d] offset %" PRId64 ": %s",
                    rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset, reason);
        for (;;) {
                err = rd_kafka_producev(l->l_dlq, RD_KAFKA_V_TOPIC(dlq),
                                        RD_KAFKA_V_KEY(m->key, m->key_len),
                                        RD_KAFKA_V_VALUE(m->payload, m->len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(l->l_dlq, 10);
        }
        if (err) {
                rd_kafka_headers_destroy(h);
                bg_log_error("cannot dead-letter to \"%s\": %s", dlq, rd_kafka_err2str(err));
                atomic_fetch_add(&l->l_dlq_failed, 1);
        }
        bg_counter_add(l->l_proc->m_dead, 1);
}

/* ------------------------------------------------------------------ the loop */

/* Gathers up to batch_max messages, waiting at most batch_ms after the first. End of
 * partition events record where each partition ends (past transaction markers). */
static void gather(pj_lane_t *l) {
        const pj_conf_t *c = l->l_proc->p_conf;
        double deadline = 0;

        while (!stopping(l) && l->l_nmsgs < (size_t)c->pc_batch_max) {
                int timeout = 100;
                rd_kafka_message_t *m;

                if (l->l_nmsgs > 0) {
                        double left = deadline - bg_time_mono_s();
                        if (left <= 0)
                                break;
                        timeout = (int)(left * 1000) + 1;
                }
                m = rd_kafka_consumer_poll(l->l_consumer, timeout);
                atomic_store(&l->l_heartbeat_ms, bg_time_now_ms());
                if (m == NULL) {
                        if (l->l_nmsgs == 0)
                                return;         /* idle: let the loop look around */
                        continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        if (m->partition >= 0 && m->partition < MAX_PARTITIONS &&
                            m->offset > l->l_eof[m->partition])
                                l->l_eof[m->partition] = m->offset;
                        rd_kafka_message_destroy(m);
                        if (l->l_nmsgs == 0)
                                return;
                        continue;
                }
                if (m->err) {
                        bg_log_warn("consuming \"%s\": %s", l->l_proc->p_topics.kt_events,
                                    rd_kafka_message_errstr(m));
                        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                                atomic_store(&l->l_proc->p_abort, true);
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (m->partition < 0 || m->partition >= MAX_PARTITIONS) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (l->l_nmsgs == 0)
                        deadline = bg_time_mono_s() + c->pc_batch_ms / 1000.0;
                l->l_msgs[l->l_nmsgs++] = m;
        }
}

/* Whether writer schema @id is one of the manifest's (remembered per id). */
static codec_err_t schema_local(pj_lane_t *l, int32_t id, bool *local, char *why,
                                size_t why_size) {
        codec_err_t err;

        for (int i = 0; i < l->l_n_schema_ids; i++)
                if (l->l_schema_ids[i] == id) {
                        *local = l->l_schema_local[i];
                        return CODEC_OK;
                }
        err = codec_registry_schema_is_local(l->l_proc->p_reg, id, l->l_proc->p_local, local,
                                             why, why_size);
        if (err == CODEC_OK && l->l_n_schema_ids < SCHEMA_IDS_MAX) {
                l->l_schema_ids[l->l_n_schema_ids] = id;
                l->l_schema_local[l->l_n_schema_ids++] = *local;
        }
        return err;
}

/*
 * A message that does not decode (@err, the codec's reason in @why) is
 *   - of a schema or type this build does not know, when the registry has no such id,
 *     the payload type is unknown, or the writer schema is not one of the manifest's (a
 *     newer schema: an added enum symbol fails as an out-of-range value): stop at it,
 *     never skip it;
 *   - damaged otherwise (framing, malformed or out-of-range values under one of our
 *     schemas, a record of another kind): dead-letter it;
 *   - undecided while the registry cannot be asked: wait and retry.
 * @why is rewritten as the reason to log or dead-letter with.
 */
static bad_t classify(pj_lane_t *l, const rd_kafka_message_t *m, codec_err_t err, char *why,
                      size_t why_size) {
        const char *topic = l->l_proc->p_topics.kt_events;
        char codec_why[1024], peek_why[128];
        int32_t id = -1;
        bool local = false;
        codec_err_t lerr;

        snprintf(codec_why, sizeof(codec_why), "%.1000s", why);
        if (err == CODEC_ERR_REGISTRY)
                return BAD_REGISTRY;
        if (err == CODEC_ERR_TOO_LARGE || err == CODEC_ERR_FRAMING || err == CODEC_ERR_WRONG_TYPE ||
            codec_peek_schema_id(l->l_codec, m->payload, m->len, &id, peek_why,
                                 sizeof(peek_why)) != CODEC_OK)
                return BAD_DEAD;
        if (err == CODEC_ERR_UNKNOWN_SCHEMA || err == CODEC_ERR_UNKNOWN_TYPE) {
                snprintf(why, why_size, "event at \"%s\" [%d] offset %" PRId64 " is of a schema "
                         "this projector does not know (schema id %" PRId32 ": %s): stopping "
                         "rather than skipping it; deploy a projector that knows it", topic,
                         (int)m->partition, m->offset, id, codec_why);
                return BAD_STOP;
        }
        lerr = schema_local(l, id, &local, peek_why, sizeof(peek_why));
        if (lerr == CODEC_ERR_REGISTRY) {
                snprintf(why, why_size, "%s", peek_why);
                return BAD_REGISTRY;
        }
        if (lerr == CODEC_OK && local)
                return BAD_DEAD;
        snprintf(why, why_size, "event at \"%s\" [%d] offset %" PRId64 " is of a schema this "
                 "projector does not know (schema id %" PRId32 " is %s%.300s%s, and the event does "
                 "not decode: %s): stopping rather than skipping it; deploy a projector that knows it",
                 topic, (int)m->partition, m->offset, id,
                 lerr == CODEC_OK ? "not one of the schemas in " : "",
                 lerr == CODEC_OK ? l->l_proc->p_conf->pc_schemas_dir : peek_why,
                 lerr == CODEC_OK ? "/manifest.json" : "", codec_why);
        return BAD_STOP;
}

static step_t pg_failed(pj_lane_t *l, pgx_err_t err, const char *what, const char *why) {
        if (err == PGX_ERR_CONN) {
                bg_log_warn("lane %d: %s: %s; reconnecting and resuming from the stored offsets",
                            l->l_id, what, why);
                return STEP_RETRY;
        }
        bg_log_error("lane %d: %s: %s", l->l_id, what, why);
        return STEP_FATAL;
}

/* Decodes, applies and commits the gathered batch (or only the offsets that moved past
 * transaction markers). */
static step_t process_batch(pj_lane_t *l) {
        pj_proc_t *pr = l->l_proc;
        const pj_conf_t *c = pr->p_conf;
        const char *topic = pr->p_topics.kt_events;
        size_t n = l->l_nmsgs, upto = n;
        size_t applied = 0, skipped = 0, dead = 0;
        char why[2048], stop_reason[2600] = "";
        const pj_writes_t *w;
        bool stop_after = false, registry_down = false, any_offset = false, kill = false;
        pgx_err_t err;
        double t0;

        /* 1. Decode. */
        for (size_t i = 0; i < n; i++) {
                const rd_kafka_message_t *m = l->l_msgs[i];
                codec_err_t cerr;

                if (m->len > c->pc_max_message_bytes) {
                        snprintf(why, sizeof(why), "message of %zu bytes exceeds the %zu-byte cap",
                                 m->len, c->pc_max_message_bytes);
                        l->l_kind[i] = MSG_DEAD;
                        dead_letter(l, m, why);
                        dead++;
                        continue;
                }
                cerr = codec_decode_event(l->l_codec, m->payload, m->len, &l->l_events[i], why,
                                          sizeof(why));
                if (cerr == CODEC_OK) {
                        l->l_kind[i] = MSG_EVENT;
                        continue;
                }
                switch (classify(l, m, cerr, why, sizeof(why))) {
                case BAD_STOP:
                        snprintf(stop_reason, sizeof(stop_reason), "%s", why);
                        upto = i;
                        stop_after = true;
                        break;
                case BAD_REGISTRY:
                        bg_log_warn("lane %d: the schema registry is unreachable (%s) at \"%s\" "
                                    "[%d] offset %" PRId64 "; committing what came before, then "
                                    "retrying from there", l->l_id, why, topic,
                                    (int)m->partition, m->offset);
                        upto = i;
                        registry_down = true;
                        break;
                case BAD_DEAD:
                        break;
                }
                if (stop_after || registry_down)
                        break;
                l->l_kind[i] = MSG_DEAD;
                dead_letter(l, m, why);
                dead++;
        }

        /* 2. Pre-pass: what the caches lack, in one query per kind. */
        for (size_t i = 0; i < upto; i++)
                if (l->l_kind[i] == MSG_EVENT)
                        pj_model_need(l->l_model, &l->l_events[i]);
        err = pj_store_prepass(l->l_store, l->l_model, why, sizeof(why));
        if (err != PGX_OK)
                return pg_failed(l, err, "cannot look up the batch's accounts and names", why);

        /* 3. Apply, in log order; the first event that does not follow its account's
         * applied seq ends the batch. */
        for (size_t i = 0; i < upto; i++) {
                const rd_kafka_message_t *m = l->l_msgs[i];
                pj_apply_t r;

                if (l->l_kind[i] != MSG_EVENT)
                        continue;
                r = pj_model_apply(l->l_model, &l->l_events[i], why, sizeof(why));
                if (r == PJ_APPLIED) {
                        applied++;
                } else if (r == PJ_SKIPPED) {
                        skipped++;
                } else if (r == PJ_NOMEM) {
                        bg_log_error("cannot apply the event at \"%s\" [%d] offset %" PRId64 ": %s",
                                     topic, (int)m->partition, m->offset, why);
                        return STEP_FATAL;
                } else {
                        snprintf(stop_reason, sizeof(stop_reason),
                                 "cannot apply the event at \"%s\" [%d] offset %" PRId64 ": %s; "
                                 "stopping (the read models stay at the last good event)",
                                 topic, (int)m->partition, m->offset, why);
                        upto = i;
                        stop_after = true;
                        break;
                }
        }

        /* 4. The offsets this batch moves to. */
        for (int i = 0; i < l->l_nparts; i++)
                l->l_next[l->l_parts[i]] = -1;
        for (size_t i = 0; i < upto; i++) {
                const rd_kafka_message_t *m = l->l_msgs[i];
                if (m->offset + 1 > l->l_next[m->partition])
                        l->l_next[m->partition] = m->offset + 1;
        }
        for (int i = 0; i < l->l_nparts; i++) {
                int p = l->l_parts[i];
                if (!stop_after && !registry_down && l->l_eof[p] > l->l_next[p])
                        l->l_next[p] = l->l_eof[p];
                /* Offset 0 is where a partition without a row starts anyway: an empty
                 * partition gets no row, so the table is the same live and rebuilt. */
                if (l->l_next[p] <= l->l_stored[p] || l->l_next[p] == 0)
                        l->l_next[p] = -1;
                if (l->l_next[p] >= 0)
                        any_offset = true;
        }

        /* 5. Write: dead letters first (at least once), then one transaction. */
        if (any_offset || applied > 0) {
                w = pj_model_render(l->l_model);
                if (w == NULL) {
                        bg_log_error("cannot render the batch: out of memory");
                        return STEP_FATAL;
                }
                if (dead > 0) {
                        rd_kafka_flush(l->l_dlq, KAFKA_TIMEOUT_MS);
                        if (rd_kafka_outq_len(l->l_dlq) > 0 || atomic_exchange(&l->l_dlq_failed, 0) > 0) {
                                bg_log_warn("dead letters not delivered to \"%s\"; replaying the batch",
                                            pr->p_topics.kt_events_dlq);
                                return STEP_RETRY;
                        }
                }
                if (applied > 0 && c->pc_fault_kill_mid_batch > 0 &&
                    atomic_fetch_add(&pr->p_batches, 1) + 1 == c->pc_fault_kill_mid_batch)
                        kill = true;
                t0 = bg_time_mono_s();
                err = pj_store_commit(l->l_store, w, topic, l->l_next, MAX_PARTITIONS, kill, why,
                                      sizeof(why));
                if (err != PGX_OK)
                        return pg_failed(l, err, "cannot commit a batch", why);
                bg_histogram_observe(pr->m_txn_seconds, bg_time_mono_s() - t0);
                bg_histogram_observe(pr->m_batch, (double)applied);
                bg_counter_add(pr->m_txns, 1);
                for (int i = 0; i < l->l_nparts; i++) {
                        int p = l->l_parts[i];
                        if (l->l_next[p] >= 0)
                                l->l_stored[p] = l->l_next[p];
                }
        }
        bg_counter_add(pr->m_applied, applied);
        bg_counter_add(pr->m_skipped, skipped);
        if (skipped > 0)
                bg_log_info("lane %d: skipped %zu events already applied", l->l_id, skipped);
        pj_model_batch_done(l->l_model);
        pj_model_trim(l->l_model, c->pc_cache_max);
        discard_batch(l);
        if (stop_after) {
                bg_log_error("%s", stop_reason);
                return STEP_FATAL;
        }
        if (registry_down)
                return STEP_REGISTRY;
        if (n > 0 && l->l_registry_backoff_ms > 0) {
                bg_log_info("lane %d: the schema registry answers again", l->l_id);
                l->l_registry_backoff_ms = 0;
                atomic_store(&l->l_registry_up, true);
        }
        return STEP_OK;
}

/* Reads the stored offsets of the lane's partitions. */
static pgx_err_t load_offsets(pj_lane_t *l, char *why, size_t why_size) {
        int64_t *all = malloc(sizeof(int64_t) * (size_t)l->l_proc->p_nparts);
        pgx_err_t err;

        if (all == NULL) {
                snprintf(why, why_size, "out of memory");
                return PGX_ERR_NOMEM;
        }
        err = pj_store_offsets(l->l_store, l->l_proc->p_topics.kt_events, l->l_proc->p_nparts, all,
                               why, why_size);
        if (err == PGX_OK)
                for (int i = 0; i < l->l_nparts; i++)
                        l->l_stored[l->l_parts[i]] = all[l->l_parts[i]];
        free(all);
        return err;
}

/* After a lost connection or a failed batch: forget everything not committed, reconnect
 * with backoff, reload the stored offsets and seek there. */
static step_t recover(pj_lane_t *l) {
        char why[1024];
        pgx_err_t err;

        atomic_store(&l->l_pg_up, false);
        bg_counter_add(l->l_proc->m_recoveries, 1);
        discard_batch(l);
        pj_model_forget(l->l_model);
        for (;;) {
                err = pj_store_open(l->l_store, l->l_proc->p_stop, why, sizeof(why));
                if (err == PGX_OK)
                        err = load_offsets(l, why, sizeof(why));
                if (err == PGX_OK)
                        break;
                if (stopping(l))
                        return STEP_FATAL;
                if (err != PGX_ERR_CONN) {
                        bg_log_error("lane %d: cannot reopen schema \"%s\": %s", l->l_id,
                                     l->l_proc->p_schema, why);
                        return STEP_FATAL;
                }
        }
        if (assign_stored(l) != 0)
                return STEP_FATAL;
        atomic_store(&l->l_pg_up, true);
        bg_log_info("lane %d: reconnected to PostgreSQL; resuming \"%s\" from the stored offsets",
                    l->l_id, l->l_proc->p_topics.kt_events);
        return STEP_OK;
}

/* The schema registry did not answer: what came before the message is committed; wait
 * (100 ms doubling to 5 s), then replay from the stored offsets. Unhealthy meanwhile. */
static step_t registry_wait(pj_lane_t *l) {
        int waited = 0;

        atomic_store(&l->l_registry_up, false);
        bg_counter_add(l->l_proc->m_recoveries, 1);
        l->l_registry_backoff_ms = l->l_registry_backoff_ms == 0 ? 100
                                   : l->l_registry_backoff_ms >= 2500 ? 5000
                                   : l->l_registry_backoff_ms * 2;
        while (waited < l->l_registry_backoff_ms && !stopping(l)) {
                struct timespec pause = {0, 50 * 1000 * 1000};
                nanosleep(&pause, NULL);
                waited += 50;
                atomic_store(&l->l_heartbeat_ms, bg_time_now_ms());
        }
        if (stopping(l))
                return STEP_OK;
        return assign_stored(l) == 0 ? STEP_OK : STEP_FATAL;
}

/* Projects until stopped, a fatal error, or (l_until_end) l_end is reached. */
static void *lane_main(void *opaque) {
        pj_lane_t *l = opaque;
        int64_t last_lag = 0;
        bool fatal = false;

        while (!stopping(l)) {
                step_t st;

                if (l->l_until_end && reached_end(l))
                        break;
                gather(l);
                if (stopping(l))
                        break;
                st = process_batch(l);
                if (st == STEP_RETRY)
                        st = recover(l);
                else if (st == STEP_REGISTRY)
                        st = registry_wait(l);
                if (st == STEP_FATAL) {
                        fatal = !*l->l_proc->p_stop;
                        break;
                }
                if (bg_time_now_ms() - last_lag > 1000) {
                        update_lag(l);
                        last_lag = bg_time_now_ms();
                }
        }
        discard_batch(l);
        update_lag(l);
        l->l_rc = fatal ? 1 : 0;
        if (fatal)
                atomic_store(&l->l_proc->p_abort, true);
        atomic_store(&l->l_done, true);
        return NULL;
}

/* ------------------------------------------------------------------ setup */

static bool health(void *opaque, char *why, size_t why_size) {
        pj_proc_t *pr = opaque;

        if (atomic_load(&pr->p_abort)) {
                snprintf(why, why_size, "fatal error, stopping");
                return false;
        }
        for (int i = 0; i < pr->p_nlanes; i++) {
                pj_lane_t *l = &pr->p_lanes[i];
                int64_t age = bg_time_now_ms() - atomic_load(&l->l_heartbeat_ms);

                if (!l->l_started || atomic_load(&l->l_done))
                        continue;
                if (!atomic_load(&l->l_pg_up)) {
                        snprintf(why, why_size, "lane %d: PostgreSQL unreachable, reconnecting", i);
                        return false;
                }
                if (!atomic_load(&l->l_registry_up)) {
                        snprintf(why, why_size, "lane %d: schema registry unreachable, retrying", i);
                        return false;
                }
                if (age > 30000) {
                        snprintf(why, why_size, "lane %d: stalled for %" PRId64 " ms", i, age);
                        return false;
                }
        }
        return true;
}

static int metrics_setup(pj_proc_t *pr, char *errstr, size_t errstr_size) {
        static const double batch_bounds[] = {1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000};
        const char *name = "billing_projector_events_total", *help = "Events consumed, by outcome";

        pr->p_metrics = bg_metrics_new();
        if (pr->p_metrics == NULL)
                return -1;
        pr->m_applied = bg_metrics_counter(pr->p_metrics, name, help, "outcome=\"applied\"");
        pr->m_skipped = bg_metrics_counter(pr->p_metrics, name, help, "outcome=\"already_applied\"");
        pr->m_dead = bg_metrics_counter(pr->p_metrics, name, help, "outcome=\"dead_lettered\"");
        pr->m_txns = bg_metrics_counter(pr->p_metrics, "billing_projector_transactions_total",
                                        "PostgreSQL transactions committed", NULL);
        pr->m_recoveries = bg_metrics_counter(pr->p_metrics, "billing_projector_recoveries_total",
                                              "Reconnections and replays from the stored offsets",
                                              NULL);
        pr->m_batch = bg_metrics_histogram(pr->p_metrics, "billing_projector_batch_events",
                                           "Events applied per committed transaction", NULL,
                                           batch_bounds, sizeof(batch_bounds) / sizeof(batch_bounds[0]));
        pr->m_txn_seconds = bg_metrics_histogram(pr->p_metrics, "billing_projector_transaction_seconds",
                                                 "Time to write and commit one batch", NULL, NULL, 0);
        pr->m_lag = bg_metrics_gauge(pr->p_metrics, "billing_projector_lag_events",
                                     "Offsets of billing.events not yet projected", NULL);
        if (!pr->m_applied || !pr->m_skipped || !pr->m_dead || !pr->m_txns || !pr->m_recoveries ||
            !pr->m_batch || !pr->m_txn_seconds || !pr->m_lag)
                return -1;
        pr->p_admin = bg_admin_start(pr->p_conf->pc_admin_addr, pr->p_metrics, health, pr, errstr,
                                     errstr_size);
        return pr->p_admin ? 0 : -1;
}

/* The lane's codec, store (connected, locked, migrated), offsets and Kafka clients. */
static int lane_setup(pj_lane_t *l, char *errstr, size_t errstr_size) {
        pj_proc_t *pr = l->l_proc;
        const pj_conf_t *c = pr->p_conf;
        const char *dlq_props[] = {"enable.idempotence", "true", "linger.ms", "5", NULL};
        kc_client_opts_t dlq_opts = {0};
        codec_conf_t cc;
        pgx_err_t err;

        for (int p = 0; p < MAX_PARTITIONS; p++)
                l->l_stored[p] = l->l_next[p] = l->l_eof[p] = -1;
        l->l_msgs = calloc((size_t)c->pc_batch_max, sizeof(*l->l_msgs));
        l->l_events = calloc((size_t)c->pc_batch_max, sizeof(*l->l_events));
        l->l_kind = calloc((size_t)c->pc_batch_max, sizeof(*l->l_kind));
        l->l_model = pj_model_new();
        l->l_store = pj_store_new(c->pc_conninfo, pr->p_schema, c->pc_migrations_dir, l->l_parts,
                                  l->l_nparts);
        if (!l->l_msgs || !l->l_events || !l->l_kind || !l->l_model || !l->l_store) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        codec_conf_init(&cc);
        cc.max_message_size = c->pc_max_message_bytes;
        if ((l->l_codec = codec_new(pr->p_reg, &cc, errstr, errstr_size)) == NULL)
                return -1;
        err = pj_store_open(l->l_store, pr->p_stop, errstr, errstr_size);
        if (err == PGX_OK)
                err = load_offsets(l, errstr, errstr_size);
        if (err != PGX_OK)
                return -1;
        atomic_store(&l->l_pg_up, true);
        atomic_store(&l->l_registry_up, true);
        atomic_store(&l->l_heartbeat_ms, bg_time_now_ms());
        dlq_opts.kco_opaque = l;
        dlq_opts.kco_dr_msg_cb = on_dlq_delivery;
        if ((l->l_consumer = consumer_new(pr, l, errstr, errstr_size)) == NULL ||
            (l->l_dlq = kc_client_new(RD_KAFKA_PRODUCER, dlq_props, &dlq_opts, errstr,
                                      errstr_size)) == NULL)
                return -1;
        return assign_stored(l);
}

static void lane_teardown(pj_lane_t *l) {
        discard_batch(l);
        if (l->l_consumer) {
                rd_kafka_consumer_close(l->l_consumer);
                rd_kafka_destroy(l->l_consumer);
        }
        if (l->l_dlq) {
                rd_kafka_flush(l->l_dlq, 5000);
                rd_kafka_destroy(l->l_dlq);
        }
        pj_store_destroy(l->l_store);
        pj_model_destroy(l->l_model);
        codec_destroy(l->l_codec);
        free(l->l_msgs);
        free(l->l_events);
        free(l->l_kind);
}

/* The events topic's partition count, through a short-lived client. */
static int partition_count(pj_proc_t *pr, char *errstr, size_t errstr_size) {
        rd_kafka_t *rk = consumer_new(pr, NULL, errstr, errstr_size);
        int n;

        if (rk == NULL)
                return -1;
        n = kc_topic_partition_count(rk, pr->p_topics.kt_events, KAFKA_TIMEOUT_MS, errstr,
                                     errstr_size);
        rd_kafka_destroy(rk);
        if (n == 0 || n > MAX_PARTITIONS) {
                snprintf(errstr, errstr_size, "\"%s\" has %d partitions (at most %d supported)",
                         pr->p_topics.kt_events, n, MAX_PARTITIONS);
                return -1;
        }
        return n;
}

/* Runs every lane's thread (to the end of the log when @until_end) and waits for them,
 * keeping the lag gauge. 0, or -1 when a lane failed or *stop. */
static int run_lanes(pj_proc_t *pr, bool until_end) {
        int rc = 0;

        for (int i = 0; i < pr->p_nlanes; i++) {
                pj_lane_t *l = &pr->p_lanes[i];
                l->l_until_end = until_end;
                atomic_store(&l->l_done, false);
                atomic_store(&l->l_heartbeat_ms, bg_time_now_ms());
                if (until_end && query_end(l) != 0)
                        return -1;
        }
        for (int i = 0; i < pr->p_nlanes; i++) {
                pj_lane_t *l = &pr->p_lanes[i];
                if (pthread_create(&l->l_thread, NULL, lane_main, l) != 0) {
                        bg_log_error("cannot start lane %d", i);
                        atomic_store(&pr->p_abort, true);
                        for (int j = 0; j < i; j++)
                                pthread_join(pr->p_lanes[j].l_thread, NULL);
                        return -1;
                }
                l->l_started = true;
        }
        for (;;) {
                bool all_done = true;
                int64_t lag = 0;
                struct timespec pause = {0, 200 * 1000 * 1000};

                for (int i = 0; i < pr->p_nlanes; i++) {
                        all_done = all_done && atomic_load(&pr->p_lanes[i].l_done);
                        lag += atomic_load(&pr->p_lanes[i].l_lag);
                }
                bg_gauge_set(pr->m_lag, lag);
                if (all_done)
                        break;
                nanosleep(&pause, NULL);
        }
        for (int i = 0; i < pr->p_nlanes; i++) {
                pthread_join(pr->p_lanes[i].l_thread, NULL);
                pr->p_lanes[i].l_started = false;
                if (pr->p_lanes[i].l_rc != 0)
                        rc = -1;
        }
        return rc == 0 && !*pr->p_stop ? 0 : -1;
}

/* Rebuild, second half: wait until no projector writes the live schema, catch up to the
 * end again, then rename in one transaction. */
static int swap_in(pj_proc_t *pr) {
        const pj_conf_t *c = pr->p_conf;
        pj_store_t *st = pj_store_new(c->pc_conninfo, pr->p_schema, c->pc_migrations_dir, NULL, 0);
        char why[1024], old[128];
        pgx_err_t err;
        int rc = -1;

        if (st == NULL)
                return -1;
        bg_log_info("rebuild of \"%s\" reached the end; waiting for the projector of schema "
                    "\"%s\" to stop before swapping", pr->p_schema, c->pc_schema);
        err = pj_store_open(st, pr->p_stop, why, sizeof(why));
        if (err == PGX_OK)
                err = pj_store_lock_schema(st, c->pc_schema, pr->p_nparts, pr->p_stop, why,
                                           sizeof(why));
        if (err != PGX_OK) {
                bg_log_error("cannot lock schema \"%s\": %s", c->pc_schema, why);
                goto out;
        }
        if (run_lanes(pr, true) != 0)
                goto out;
        err = pj_store_swap(st, c->pc_schema, old, sizeof(old), why, sizeof(why));
        if (err != PGX_OK) {
                bg_log_error("cannot swap schema \"%s\" in for \"%s\": %s", pr->p_schema,
                             c->pc_schema, why);
                goto out;
        }
        bg_log_info("swapped: schema \"%s\" is now \"%s\"%s%s%s", pr->p_schema, c->pc_schema,
                    old[0] ? "; the previous one is \"" : "", old, old[0] ? "\"" : "");
        rc = 0;
out:
        pj_store_destroy(st);
        return rc;
}

int pj_service_run(const pj_conf_t *conf, pj_mode_t mode, volatile sig_atomic_t *stop) {
        pj_proc_t *pr = calloc(1, sizeof(*pr));
        char errstr[1024];
        double t0 = bg_time_mono_s();
        pgx_err_t err;
        int rc = 1;

        if (pr == NULL)
                return 1;
        pr->p_conf = conf;
        pr->p_mode = mode;
        pr->p_stop = stop;
        pr->p_schema = mode == PJ_MODE_RUN ? conf->pc_schema : conf->pc_rebuild_schema;

        if (kc_topics_load(&pr->p_topics, errstr, sizeof(errstr)) != 0 ||
            metrics_setup(pr, errstr, sizeof(errstr)) != 0 ||
            (pr->p_reg = codec_registry_from_env(conf->pc_schemas_dir, errstr,
                                                 sizeof(errstr))) == NULL ||
            (pr->p_local = codec_registry_manifest_new(conf->pc_schemas_dir, errstr,
                                                       sizeof(errstr))) == NULL ||
            (pr->p_nparts = partition_count(pr, errstr, sizeof(errstr))) < 0) {
                bg_log_error("cannot start: %s", errstr);
                goto out;
        }
        bg_log_info("admin port on 127.0.0.1:%d (/healthz, /metrics)", bg_admin_port(pr->p_admin));

        if (mode != PJ_MODE_RUN) {
                bg_log_info("rebuild: dropping schema \"%s\" and replaying \"%s\" from offset 0",
                            pr->p_schema, pr->p_topics.kt_events);
                err = pj_store_drop_schema(conf->pc_conninfo, pr->p_schema, pr->p_nparts, stop,
                                           errstr, sizeof(errstr));
                if (err != PGX_OK) {
                        bg_log_error("cannot drop schema \"%s\": %s", pr->p_schema, errstr);
                        goto out;
                }
        }

        pr->p_nlanes = conf->pc_lanes < pr->p_nparts ? conf->pc_lanes : pr->p_nparts;
        pr->p_lanes = calloc((size_t)pr->p_nlanes, sizeof(*pr->p_lanes));
        if (pr->p_lanes == NULL) {
                bg_log_error("cannot start: out of memory");
                goto out;
        }
        for (int i = 0; i < pr->p_nlanes; i++) {
                pr->p_lanes[i].l_proc = pr;
                pr->p_lanes[i].l_id = i;
        }
        for (int p = 0; p < pr->p_nparts; p++) {
                pj_lane_t *l = &pr->p_lanes[p % pr->p_nlanes];
                l->l_parts[l->l_nparts++] = p;
        }
        for (int i = 0; i < pr->p_nlanes; i++)
                if (lane_setup(&pr->p_lanes[i], errstr, sizeof(errstr)) != 0) {
                        bg_log_error("cannot start lane %d: %s", i, errstr);
                        goto out;
                }
        bg_log_info("projecting \"%s\" (%d partitions, %d lanes) into schema \"%s\", from the "
                    "offsets stored there", pr->p_topics.kt_events, pr->p_nparts, pr->p_nlanes,
                    pr->p_schema);

        if (mode == PJ_MODE_RUN) {
                rc = run_lanes(pr, false) == 0 || *stop ? 0 : 1;
                if (atomic_load(&pr->p_abort))
                        rc = 1;
        } else if (run_lanes(pr, true) == 0) {
                bg_log_info("rebuilt schema \"%s\" up to the end of \"%s\" in %.1f s",
                            pr->p_schema, pr->p_topics.kt_events, bg_time_mono_s() - t0);
                rc = mode == PJ_MODE_REBUILD_SWAP ? (swap_in(pr) == 0 ? 0 : 1) : 0;
        }
        bg_log_info("stopping (%s)", rc ? "error" : *stop ? "signal" : "done");
out:
        for (int i = 0; pr->p_lanes && i < pr->p_nlanes; i++)
                lane_teardown(&pr->p_lanes[i]);
        free(pr->p_lanes);
        codec_registry_destroy(pr->p_reg);
        codec_registry_destroy(pr->p_local);
        bg_admin_stop(pr->p_admin);
        bg_metrics_destroy(pr->p_metrics);
        free(pr);
        return rc;
}
