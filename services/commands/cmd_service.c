#include "cmd_service.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acct.h"
#include "bg_admin.h"
#include "bg_env.h"
#include "bg_hashchain.h"
#include "bg_log.h"
#include "bg_metrics.h"
#include "bg_uuidmap.h"
#include "cmd_codec.h"
#include "bg_time.h"
#include "kc_client.h"
#include "kc_headers.h"
#include "kc_topics.h"

#define KAFKA_TIMEOUT_MS 30000
#define SEND_OFFSETS_ATTEMPTS 5   /* retriable failures of send_offsets_to_transaction */
#define MAX_PARTITIONS   1024
#define MAX_SLOTS        4      /* transactional producers at most (BILLING_TXN_PRODUCERS) */

/* ------------------------------------------------------------------ configuration */

int cmd_conf_load(cmd_conf_t *c, char *errstr, size_t errstr_size) {
        int64_t n;
        char *save = NULL, *tok;

        memset(c, 0, sizeof(*c));
        snprintf(c->cc_instance, sizeof(c->cc_instance), "%s",
                 bg_env_str("BILLING_INSTANCE_ID", "0"));
        snprintf(c->cc_group, sizeof(c->cc_group), "%s",
                 bg_env_str("BILLING_COMMANDS_GROUP", "billing-commands"));
        snprintf(c->cc_admin_addr, sizeof(c->cc_admin_addr), "%s",
                 bg_env_str("BILLING_ADMIN_ADDR", "127.0.0.1:9101"));
        if (!bg_env_int("BILLING_BATCH_MAX", 2000, 1, 100000, &n, errstr, errstr_size))
                return -1;
        c->cc_batch_max = (int)n;
        if (!bg_env_int("BILLING_BATCH_MS", 2, 0, 10000, &n, errstr, errstr_size))
                return -1;
        c->cc_batch_ms = (int)n;
        if (!bg_env_int("BILLING_MAX_MESSAGE_BYTES", 1 << 20, 1024, 64 << 20, &n, errstr,
                        errstr_size))
                return -1;
        c->cc_max_message_bytes = (size_t)n;
        if (!bg_env_int("BILLING_TXN_PRODUCERS", 2, 1, MAX_SLOTS, &n, errstr, errstr_size))
                return -1;
        c->cc_producers = (int)n;
        if (!bg_env_int("BILLING_FAULT_KILL_BEFORE_COMMIT", 0, 0, INT32_MAX, &n, errstr,
                        errstr_size))
                return -1;
        c->cc_fault_kill_before_commit = (int)n;
        if (!bg_env_int("BILLING_FAULT_FAIL_COMMIT", 0, 0, INT32_MAX, &n, errstr, errstr_size))
                return -1;
        c->cc_fault_fail_commit = (int)n;
        snprintf(c->cc_principals_buf, sizeof(c->cc_principals_buf), "%s",
                 bg_env_str("BILLING_SERVICE_PRINCIPALS", "service:billing"));
        for (tok = strtok_r(c->cc_principals_buf, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
                if (c->cc_n_principals == sizeof(c->cc_principals) / sizeof(c->cc_principals[0])) {
                        snprintf(errstr, errstr_size, "BILLING_SERVICE_PRINCIPALS lists more than %zu",
                                 sizeof(c->cc_principals) / sizeof(c->cc_principals[0]));
                        return -1;
                }
                if (strncmp(tok, "service:", 8) != 0) {
                        snprintf(errstr, errstr_size,
                                 "BILLING_SERVICE_PRINCIPALS: \"%s\" is not of the form service:<name>",
                                 tok);
                        return -1;
                }
                c->cc_principals[c->cc_n_principals++] = tok;
        }
        return 0;
}

/* ------------------------------------------------------------------ state */

/* Where a transaction's time goes, for billing_transaction_stage_seconds and the
 * periodic "transactions" log line. */
typedef enum {
        STAGE_GATHER,           /* first command of the batch in hand to the batch closed */
        STAGE_BEGIN,            /* begin_transaction */
        STAGE_DECIDE,           /* decode, partition check, acct_decide, evolve */
        STAGE_ENCODE,           /* hash and encode events and results, headers */
        STAGE_WAIT,             /* decided, waiting for the previous transaction's commit */
        STAGE_PRODUCE,          /* producev: hand the records to librdkafka */
        STAGE_OFFSETS,          /* send_offsets_to_transaction, before the records */
        STAGE_DELIVER,          /* flush: until the broker acknowledged every record */
        STAGE_COMMIT,           /* commit_transaction: EndTxn (committer thread) */
        STAGE__COUNT
} cmd_stage_t;

static const char *const stage_names[STAGE__COUNT] = {
        [STAGE_GATHER] = "gather", [STAGE_BEGIN] = "begin", [STAGE_DECIDE] = "decide",
        [STAGE_ENCODE] = "encode", [STAGE_WAIT] = "wait", [STAGE_PRODUCE] = "produce",
        [STAGE_OFFSETS] = "offsets", [STAGE_DELIVER] = "deliver", [STAGE_COMMIT] = "commit",
};

typedef enum { OUT_OK, OUT_ABORT, OUT_FATAL } out_status_t;

/* One record of a decided batch, kept until the batch's transaction has begun. Key and
 * value live in the service's arena (cs_arena), by offset since the arena grows. */
typedef struct cmd_out_s {
        const char *co_topic;
        int32_t co_partition;
        bool co_has_key;
        size_t co_key_off, co_key_len;
        size_t co_value_off, co_value_len;
        rd_kafka_headers_t *co_hdrs;    /* owned until produced */
} cmd_out_t;

/* A transactional producer's slot: free, or holding the transaction it has open. The loop
 * begins, fills and queues a slot's transaction; the committer thread commits the queued
 * ones in the order they were queued. */
typedef enum {
        SLOT_FREE,              /* no transaction open (or one the loop is filling) */
        SLOT_QUEUED,            /* records produced, handed to the committer */
        SLOT_DELIVERED,         /* the broker has them all (or refused one) */
        SLOT_DONE,              /* the committer is done with it: see sl_status */
} slot_state_t;

typedef struct cmd_slot_s {
        rd_kafka_t *sl_producer;
        char sl_txn_id[224];            /* <group>-<instance>.t<k> */
        bool sl_open;                   /* loop only: queued, not settled yet */
        slot_state_t sl_state;          /* under cs_mtx */
        out_status_t sl_status;         /* under cs_mtx, once SLOT_DONE */
        rd_kafka_message_t **sl_msgs;   /* the commands of its transaction */
        size_t sl_nmsgs;
        double sl_stage[STAGE__COUNT];
        double sl_t0;                   /* its begin_transaction */
} cmd_slot_t;

/* The accounts of one assigned partition, rebuilt from billing.events on assignment. */
typedef struct cmd_partition_s {
        int cp_partition;
        bg_uuidmap_t *cp_accounts;      /* account id -> acct_state_t * */
} cmd_partition_t;

typedef struct cmd_svc_s {
        const cmd_conf_t *cs_conf;
        kc_topics_t cs_topics;
        int cs_nparts;                  /* partitions of commands == of events */
        cmd_codec_t *cs_codec;

        rd_kafka_t *cs_consumer;        /* group member on billing.commands */
        rd_kafka_t *cs_reader;          /* reads billing.events to rebuild state */
        rd_kafka_consumer_group_metadata_t *cs_cgmd;
        rd_kafka_queue_t *cs_consumer_q; /* the consumer's queue, for rd_kafka_queue_yield */

        cmd_partition_t *cs_parts[MAX_PARTITIONS];
        bool cs_rebalanced;             /* set by the rebalance callback */
        bool cs_fatal;
        int cs_txn_count;               /* commits attempted, for fault injection */

        rd_kafka_message_t **cs_batch;  /* gathered, then decided */
        size_t cs_nbatch;
        rd_kafka_topic_partition_list_t *cs_offsets; /* next offsets of the decided batch */
        cmd_out_t *cs_out;              /* its records, produced after begin_transaction */
        size_t cs_nout, cs_out_cap;
        uint8_t *cs_arena;              /* their keys and values */
        size_t cs_arena_len, cs_arena_cap;

        /* Pipelining (docs/commands.md): transaction N is in the committer thread's hands
         * (EndTxn) while the loop gathers and decides batch N+1 and, on the next producer,
         * sends its offsets and records. N+1's records go out only once N's were
         * acknowledged, and N+1 is committed only after N committed, so the log and the
         * offsets keep their order; when N fails, every transaction after it is aborted
         * too (they were decided on a state that included N). */
        cmd_slot_t cs_slots[MAX_SLOTS];
        int cs_nslots;
        int cs_next;                    /* loop only: the slot of the next transaction */
        pthread_t cs_committer;
        bool cs_committer_running;
        pthread_mutex_t cs_mtx;
        pthread_cond_t cs_cond;
        bool cs_failed;                 /* under cs_mtx: a commit failed, skip the rest */
        bool cs_quit;                   /* under cs_mtx */
        bg_command_t *cs_cmd;           /* reused: a command is ~64 KiB */
        acct_decision_t cs_decision;
        acct_state_t *cs_empty;         /* the state of accounts not created yet */

        bg_metrics_t *cs_metrics;
        bg_admin_t *cs_admin;
        bg_counter_t *m_outcome[BG_OUTCOME__COUNT];
        bg_counter_t *m_dead_lettered;
        bg_counter_t *m_events;
        bg_counter_t *m_txn_aborted;
        bg_histogram_t *m_txn_seconds;
        bg_histogram_t *m_batch_size;
        bg_histogram_t *m_command_age;
        bg_gauge_t *m_lag;
        bg_gauge_t *m_partitions;
        bg_histogram_t *m_stage[STAGE__COUNT];
        double cs_stage[STAGE__COUNT];  /* seconds of the current batch */
        double cs_stage_sum[STAGE__COUNT]; /* seconds since the last "transactions" line */
        double cs_lap;                  /* end of the last measured stage */
        int64_t cs_sum_txns, cs_sum_commands, cs_sum_age_ms, cs_sum_since_ms;
        _Atomic int64_t cs_heartbeat_ms; /* last pass of the loop, for /healthz */
} cmd_svc_t;

static void partition_destroy(cmd_partition_t *cp) {
        size_t pos = 0;
        void *st;

        if (cp == NULL)
                return;
        while (bg_uuidmap_next(cp->cp_accounts, &pos, NULL, &st))
                acct_state_destroy(st);
        bg_uuidmap_destroy(cp->cp_accounts);
        free(cp);
}

static void drop_all_partitions(cmd_svc_t *s) {
        for (int p = 0; p < MAX_PARTITIONS; p++) {
                partition_destroy(s->cs_parts[p]);
                s->cs_parts[p] = NULL;
        }
        bg_gauge_set(s->m_partitions, 0);
}

/* The state of @account in @cp, created empty when @create and absent. NULL when absent
 * (and !create) or out of memory. */
static acct_state_t *account_state(cmd_partition_t *cp, const bg_uuid_t *account, bool create) {
        acct_state_t *st = bg_uuidmap_get(cp->cp_accounts, account);

        if (st != NULL || !create)
                return st;
        st = acct_state_new();
        if (st != NULL && !bg_uuidmap_put(cp->cp_accounts, account, st)) {
                acct_state_destroy(st);
                st = NULL;
        }
        return st;
}

/* Reads billing.events partition @cp->cp_partition from the beginning to its end
 * (read_committed: the last stable offset) and folds every event into the account states.
 * A log that does not decode or does not fold is fatal: deciding on a wrong state would
 * corrupt the log further. */
static int rebuild_partition(cmd_svc_t *s, cmd_partition_t *cp) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        bg_event_t *ev = malloc(sizeof(*ev));
        char errstr[512];
        int64_t n = 0, last_progress = bg_time_now_ms();
        int ret = -1;

        rd_kafka_topic_partition_list_add(parts, s->cs_topics.kt_events, cp->cp_partition)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        if (ev == NULL || rd_kafka_assign(s->cs_reader, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                bg_log_error("cannot read \"%s\" [%d] to rebuild state", s->cs_topics.kt_events,
                             cp->cp_partition);
                goto out;
        }
        for (;;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(s->cs_reader, 200);
                acct_state_t *st;

                if (m == NULL) {
                        if (bg_time_now_ms() - last_progress > 120000) {
                                bg_log_error("rebuilding \"%s\" [%d]: no end of partition after 120 s",
                                             s->cs_topics.kt_events, cp->cp_partition);
                                goto out;
                        }
                        continue;
                }
                last_progress = bg_time_now_ms();
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        rd_kafka_message_destroy(m);
                        break;
                }
                if (m->err) {
                        bg_log_warn("reading \"%s\" [%d]: %s", s->cs_topics.kt_events,
                                    cp->cp_partition, rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (cmd_codec_decode_event(s->cs_codec, m->payload, m->len, ev, errstr,
                                           sizeof(errstr)) != 0) {
                        bg_log_error("cannot decode event at \"%s\" [%d] offset %" PRId64 ": %s",
                                     s->cs_topics.kt_events, cp->cp_partition, m->offset, errstr);
                        rd_kafka_message_destroy(m);
                        goto out;
                }
                st = account_state(cp, &ev->account_id, true);
                if (st == NULL || acct_evolve(st, ev, errstr, sizeof(errstr)) != ACCT_OK) {
                        bg_log_error("event at \"%s\" [%d] offset %" PRId64 " does not fold: %s",
                                     s->cs_topics.kt_events, cp->cp_partition, m->offset,
                                     st ? errstr : "out of memory");
                        rd_kafka_message_destroy(m);
                        goto out;
                }
                n++;
                rd_kafka_message_destroy(m);
        }
        bg_log_info("rebuilt \"%s\" [%d]: %" PRId64 " events, %zu accounts", s->cs_topics.kt_events,
                    cp->cp_partition, n, bg_uuidmap_count(cp->cp_accounts));
        ret = 0;
out:
        rd_kafka_assign(s->cs_reader, NULL);
        rd_kafka_topic_partition_list_destroy(parts);
        free(ev);
        return ret;
}

static int assign_partitions(cmd_svc_t *s, const rd_kafka_topic_partition_list_t *parts) {
        for (int i = 0; i < parts->cnt; i++) {
                int p = parts->elems[i].partition;
                cmd_partition_t *cp;

                if (p < 0 || p >= MAX_PARTITIONS)
                        return -1;
                cp = calloc(1, sizeof(*cp));
                if (cp == NULL || (cp->cp_accounts = bg_uuidmap_new()) == NULL) {
                        free(cp);
                        return -1;
                }
                cp->cp_partition = p;
                s->cs_parts[p] = cp;
                if (rebuild_partition(s, cp) != 0)
                        return -1;
        }
        bg_gauge_set(s->m_partitions, parts->cnt);
        return 0;
}

static out_status_t settle_all(cmd_svc_t *s, bool rewind);

/* Eager rebalancing: every revoke takes all partitions, every assign starts from the
 * committed offsets. The transaction the committer thread may still be committing is
 * settled first (committed, or aborted), so no transaction is open past this point and a
 * revoke only has to forget the state and the gathered batch. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
        cmd_svc_t *s = opaque;

        if (settle_all(s, false) == OUT_FATAL)
                s->cs_fatal = true;
        s->cs_rebalanced = true;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                bg_log_info("assigned %d partitions of \"%s\"", parts->cnt, s->cs_topics.kt_commands);
                drop_all_partitions(s);
                if (assign_partitions(s, parts) != 0) {
                        bg_log_error("cannot rebuild account state from \"%s\": stopping",
                                     s->cs_topics.kt_events);
                        s->cs_fatal = true;
                        drop_all_partitions(s);
                        rd_kafka_assign(rk, NULL);
                        return;
                }
                rd_kafka_assign(rk, parts);
        } else {
                bg_log_info("revoked %d partitions of \"%s\"", parts->cnt, s->cs_topics.kt_commands);
                drop_all_partitions(s);
                rd_kafka_assign(rk, NULL);
        }
}

/* Adds the time since the last lap to @stage of the current batch. */
static void stage_lap(cmd_svc_t *s, cmd_stage_t stage) {
        double now = bg_time_mono_s();

        s->cs_stage[stage] += now - s->cs_lap;
        s->cs_lap = now;
}

/* ------------------------------------------------------------------ producing */

/* Appends @len bytes to the arena; the offset, or SIZE_MAX when out of memory. */
static size_t arena_put(cmd_svc_t *s, const void *p, size_t len) {
        size_t off = s->cs_arena_len;

        if (s->cs_arena_cap - s->cs_arena_len < len) {
                size_t cap = s->cs_arena_cap ? s->cs_arena_cap : 1 << 16;
                uint8_t *a;

                while (cap - s->cs_arena_len < len)
                        cap *= 2;
                if ((a = realloc(s->cs_arena, cap)) == NULL)
                        return SIZE_MAX;
                s->cs_arena = a;
                s->cs_arena_cap = cap;
        }
        if (len > 0)
                memcpy(s->cs_arena + off, p, len);
        s->cs_arena_len += len;
        return off;
}

/* Keeps one record of the batch being decided (copies @key and @value, takes ownership of
 * @hdrs); produce_batch sends it once the transaction has begun. */
static out_status_t produce(cmd_svc_t *s, const char *topic, int32_t partition, const void *key,
                            size_t key_len, const void *value, size_t value_len,
                            rd_kafka_headers_t *hdrs) {
        cmd_out_t *o;

        if (s->cs_nout == s->cs_out_cap) {
                size_t cap = s->cs_out_cap ? s->cs_out_cap * 2 : 1024;
                cmd_out_t *a = realloc(s->cs_out, cap * sizeof(*a));

                if (a == NULL)
                        goto err_nomem;
                s->cs_out = a;
                s->cs_out_cap = cap;
        }
        o = &s->cs_out[s->cs_nout];
        o->co_topic = topic;
        o->co_partition = partition;
        o->co_has_key = key != NULL;
        o->co_key_len = key ? key_len : 0;
        o->co_value_len = value_len;
        if ((o->co_key_off = arena_put(s, key, o->co_key_len)) == SIZE_MAX ||
            (o->co_value_off = arena_put(s, value, value_len)) == SIZE_MAX)
                goto err_nomem;
        o->co_hdrs = hdrs;
        s->cs_nout++;
        return OUT_OK;

err_nomem:
        rd_kafka_headers_destroy(hdrs);
        bg_log_error("cannot keep a record for \"%s\": out of memory", topic);
        return OUT_ABORT;
}

/* Forgets the decided batch's records. */
static void discard_out(cmd_svc_t *s) {
        for (size_t i = 0; i < s->cs_nout; i++)
                if (s->cs_out[i].co_hdrs != NULL)
                        rd_kafka_headers_destroy(s->cs_out[i].co_hdrs);
        s->cs_nout = 0;
        s->cs_arena_len = 0;
}

/* Produces the decided batch's records in the open transaction, waiting for room in the
 * queue. Errors here abort the transaction. */
static out_status_t produce_batch(cmd_svc_t *s, rd_kafka_t *producer) {
        for (size_t i = 0; i < s->cs_nout; i++) {
                cmd_out_t *o = &s->cs_out[i];
                rd_kafka_resp_err_t err;

                for (;;) {
                        err = rd_kafka_producev(
                                producer, RD_KAFKA_V_TOPIC(o->co_topic),
                                RD_KAFKA_V_PARTITION(o->co_partition),
                                RD_KAFKA_V_KEY(o->co_has_key ? s->cs_arena + o->co_key_off : NULL,
                                               o->co_key_len),
                                RD_KAFKA_V_VALUE(s->cs_arena + o->co_value_off, o->co_value_len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(o->co_hdrs), RD_KAFKA_V_END);
                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                break;
                        rd_kafka_poll(producer, 10);
                }
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        bg_log_error("cannot produce to \"%s\": %s", o->co_topic,
                                     rd_kafka_err2str(err));
                        return err == RD_KAFKA_RESP_ERR__FATAL ? OUT_FATAL : OUT_ABORT;
                }
                o->co_hdrs = NULL;      /* the producer owns them now */
        }
        return OUT_OK;
}

static out_status_t dead_letter(cmd_svc_t *s, const rd_kafka_message_t *m, const char *reason) {
        rd_kafka_headers_t *h;

        stage_lap(s, STAGE_DECIDE);
        h = kc_dlq_headers(rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                           "billing-commands", reason);
        bg_log_warn("dead-lettering \"%s\" [%d] offset %" PRId64 ": %s",
                    rd_kafka_topic_name(m->rkt), m->partition, m->offset, reason);
        bg_counter_add(s->m_dead_lettered, 1);
        stage_lap(s, STAGE_ENCODE);
        return produce(s, s->cs_topics.kt_commands_dlq, RD_KAFKA_PARTITION_UA, m->key, m->key_len,
                       m->payload, m->len, h);
}

static out_status_t emit_result(cmd_svc_t *s, const bg_command_result_t *res) {
        char key[BG_UUID_STR_LEN + 1], errstr[256];
        rd_kafka_headers_t *hdrs;
        const void *buf;
        size_t len;
        out_status_t os;

        bg_uuid_format(&res->command_id, key);
        if (cmd_codec_encode_result(s->cs_codec, res, &buf, &len, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot encode result of command %s: %s", key, errstr);
                return OUT_FATAL;
        }
        bg_counter_add(s->m_outcome[res->outcome], 1);
        hdrs = kc_ce_headers(key, "billing.CommandResult", "/billing/commands", bg_time_now_ms());
        stage_lap(s, STAGE_ENCODE);
        os = produce(s, s->cs_topics.kt_results, RD_KAFKA_PARTITION_UA, key, BG_UUID_STR_LEN,
                     buf, len, hdrs);
        stage_lap(s, STAGE_PRODUCE);
        return os;
}

static out_status_t reject(cmd_svc_t *s, const bg_uuid_t *command_id, const bg_uuid_t *account_id,
                           bg_reject_code_t code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static out_status_t reject(cmd_svc_t *s, const bg_uuid_t *command_id, const bg_uuid_t *account_id,
                           bg_reject_code_t code, const char *fmt, ...) {
        bg_command_result_t res;
        va_list ap;

        stage_lap(s, STAGE_DECIDE);
        memset(&res, 0, sizeof(res));
        res.command_id = *command_id;
        res.account_id = *account_id;
        res.outcome = BG_OUTCOME_REJECTED;
        res.rejection.code = code;
        va_start(ap, fmt);
        vsnprintf(res.rejection.message, sizeof(res.rejection.message), fmt, ap);
        va_end(ap);
        return emit_result(s, &res);
}

static void new_event_id(void *opaque, bg_uuid_t *out) {
        (void)opaque;
        bg_uuid_generate(out);
}

/* Chains, encodes and produces the decided events, folding each into @st. */
static out_status_t append_events(cmd_svc_t *s, acct_state_t *st, int32_t partition) {
        char key[BG_UUID_STR_LEN + 1], id[BG_UUID_STR_LEN + 1], type[64], errstr[512];

        for (size_t i = 0; i < s->cs_decision.n_events; i++) {
                bg_event_t *ev = &s->cs_decision.events[i];
                rd_kafka_headers_t *hdrs;
                const void *buf;
                size_t len;
                out_status_t os;

                stage_lap(s, STAGE_DECIDE);
                memcpy(ev->prev_hash, acct_last_hash(st), BG_HASH_SIZE);
                memset(ev->hash, 0, BG_HASH_SIZE);
                if (cmd_codec_encode_event(s->cs_codec, ev, true, &buf, &len, errstr,
                                           sizeof(errstr)) != 0)
                        goto err_encode;
                bg_hash_event(ev->prev_hash, buf, len, ev->hash);
                if (cmd_codec_encode_event(s->cs_codec, ev, false, &buf, &len, errstr,
                                           sizeof(errstr)) != 0)
                        goto err_encode;
                bg_uuid_format(&ev->account_id, key);
                bg_uuid_format(&ev->event_id, id);
                snprintf(type, sizeof(type), "billing.%s", bg_event_type_name(ev->type));
                hdrs = kc_ce_headers(id, type, "/billing/commands", ev->occurred_at);
                stage_lap(s, STAGE_ENCODE);
                os = produce(s, s->cs_topics.kt_events, partition, key, BG_UUID_STR_LEN, buf, len,
                             hdrs);
                stage_lap(s, STAGE_PRODUCE);
                if (os != OUT_OK)
                        return os;
                if (acct_evolve(st, ev, errstr, sizeof(errstr)) != ACCT_OK) {
                        /* decide produced an event evolve refuses: a bug, never a guess. */
                        bg_log_error("decided event seq %" PRId64 " of account %s does not fold: %s",
                                     ev->seq, key, errstr);
                        return OUT_FATAL;
                }
                bg_counter_add(s->m_events, 1);
        }
        return OUT_OK;

err_encode:
        bg_log_error("cannot encode event: %s", errstr);
        return OUT_FATAL;
}

/* Java's default partitioner (murmur2 of the key) is the contract for billing.commands:
 * an account's commands and events must land in one partition number. */
static int32_t expected_partition(const bg_uuid_t *account, int nparts) {
        char key[BG_UUID_STR_LEN + 1];

        bg_uuid_format(account, key);
        return rd_kafka_msg_partitioner_murmur2(NULL, key, BG_UUID_STR_LEN, nparts, NULL, NULL);
}

static out_status_t handle_command(cmd_svc_t *s, const rd_kafka_message_t *m) {
        cmd_partition_t *cp = s->cs_parts[m->partition];
        bg_command_t *cmd = s->cs_cmd;
        acct_state_t *st;
        acct_ctx_t ctx;
        bg_uuid_t command_id, account_id;
        char errstr[512], acct[BG_UUID_STR_LEN + 1];
        int32_t want;

        if (m->len > s->cs_conf->cc_max_message_bytes) {
                snprintf(errstr, sizeof(errstr), "message of %zu bytes exceeds the %zu-byte cap",
                         m->len, s->cs_conf->cc_max_message_bytes);
                return dead_letter(s, m, errstr);
        }
        if (cmd_codec_decode_command(s->cs_codec, m->payload, m->len, cmd, errstr,
                                     sizeof(errstr)) != 0) {
                /* Answer the issuer when the ids can be read, so that it does not wait. */
                if (cmd_codec_peek_command_ids(s->cs_codec, m->payload, m->len, &command_id,
                                               &account_id) == 0)
                        return reject(s, &command_id, &account_id, BG_REJECT_INVALID_ARGUMENT,
                                      "cannot decode command: %s", errstr);
                return dead_letter(s, m, errstr);
        }
        want = expected_partition(&cmd->account_id, s->cs_nparts);
        if (want != m->partition) {
                bg_uuid_format(&cmd->account_id, acct);
                return reject(s, &cmd->command_id, &cmd->account_id, BG_REJECT_INVALID_ARGUMENT,
                              "command for account %s arrived on partition %d, not %d: publish "
                              "keyed by account_id with the murmur2 partitioner",
                              acct, (int)m->partition, (int)want);
        }

        st = account_state(cp, &cmd->account_id, false);
        memset(&ctx, 0, sizeof(ctx));
        ctx.now_ms = bg_time_now_ms();
        ctx.new_event_id = new_event_id;
        ctx.service_principals = s->cs_conf->cc_principals;
        ctx.n_service_principals = s->cs_conf->cc_n_principals;
        if (acct_decide(st ? st : s->cs_empty, cmd, &ctx, &s->cs_decision) != ACCT_OK) {
                bg_log_error("cannot decide command: out of memory");
                return OUT_ABORT;
        }
        if (s->cs_decision.n_events > 0) {
                /* Only accounts that get events take memory: garbage ids cost nothing. */
                st = account_state(cp, &cmd->account_id, true);
                if (st == NULL)
                        return OUT_ABORT;
                out_status_t os = append_events(s, st, m->partition);
                if (os != OUT_OK)
                        return os;
        }
        stage_lap(s, STAGE_DECIDE);
        return emit_result(s, &s->cs_decision.result);
}

/* ------------------------------------------------------------------ transactions */

/* Returns OUT_OK, OUT_ABORT (abort and rewind) or OUT_FATAL, after logging @what. */
static out_status_t classify(rd_kafka_error_t *error, const char *what) {
        out_status_t os;

        if (error == NULL)
                return OUT_OK;
        if (rd_kafka_error_is_fatal(error))
                os = OUT_FATAL;
        else
                os = OUT_ABORT;         /* txn_requires_abort, or retriable: redo the batch */
        bg_log_error("%s failed (%s): %s", what,
                     os == OUT_FATAL ? "fatal" :
                     rd_kafka_error_txn_requires_abort(error) ? "abortable" : "retriable",
                     rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return os;
}

/* Seeks every assigned partition back to its committed offset and rebuilds the state: the
 * aborted batch's events never happened. */
static int rewind_to_committed(cmd_svc_t *s) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        rd_kafka_resp_err_t err;

        err = rd_kafka_assignment(s->cs_consumer, &parts);
        if (err)
                goto err_out;
        err = rd_kafka_committed(s->cs_consumer, parts, KAFKA_TIMEOUT_MS);
        if (err)
                goto err_out;
        for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (tp->offset < 0)
                        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        drop_all_partitions(s);
        if (assign_partitions(s, parts) != 0) {
                rd_kafka_topic_partition_list_destroy(parts);
                return -1;
        }
        {
                rd_kafka_error_t *e = rd_kafka_seek_partitions(s->cs_consumer, parts, KAFKA_TIMEOUT_MS);
                if (e != NULL) {
                        bg_log_error("cannot seek back to committed offsets: %s",
                                     rd_kafka_error_string(e));
                        rd_kafka_error_destroy(e);
                        rd_kafka_topic_partition_list_destroy(parts);
                        return -1;
                }
        }
        rd_kafka_topic_partition_list_destroy(parts);
        return 0;

err_out:
        bg_log_error("cannot rewind to committed offsets: %s", rd_kafka_err2str(err));
        if (parts)
                rd_kafka_topic_partition_list_destroy(parts);
        return -1;
}

/* Forgets the gathered (or decided) batch: its commands, offsets and records. */
static void discard_batch(cmd_svc_t *s) {
        for (size_t i = 0; i < s->cs_nbatch; i++)
                rd_kafka_message_destroy(s->cs_batch[i]);
        s->cs_nbatch = 0;
        if (s->cs_offsets != NULL && s->cs_offsets->cnt > 0) {
                rd_kafka_topic_partition_list_destroy(s->cs_offsets);
                s->cs_offsets = rd_kafka_topic_partition_list_new(8);
        }
        discard_out(s);
        memset(s->cs_stage, 0, sizeof(s->cs_stage));
}

/* Decides one gathered command against its account's state (which then holds its events)
 * and keeps its records and offset; nothing is sent yet. OUT_ABORT or OUT_FATAL leave the
 * states with part of the batch in them: the caller rewinds. */
static out_status_t decide_one(cmd_svc_t *s, const rd_kafka_message_t *m) {
        rd_kafka_topic_partition_t *tp;
        out_status_t os;

        if (s->cs_parts[m->partition] == NULL) {
                bg_log_error("message from unassigned partition %d", (int)m->partition);
                return OUT_ABORT;
        }
        s->cs_lap = bg_time_mono_s();
        os = handle_command(s, m);
        tp = rd_kafka_topic_partition_list_find(s->cs_offsets, rd_kafka_topic_name(m->rkt),
                                                m->partition);
        if (tp == NULL)
                tp = rd_kafka_topic_partition_list_add(s->cs_offsets, rd_kafka_topic_name(m->rkt),
                                                       m->partition);
        tp->offset = m->offset + 1;
        stage_lap(s, STAGE_DECIDE);
        return os;
}

/* Waits until the broker has acknowledged (or refused) every record of @sl's transaction;
 * the loop produces the next transaction's records, on another producer, only then, or
 * they could land in a partition before these. A refused record fails the commit. */
static out_status_t deliver(cmd_svc_t *s, cmd_slot_t *sl) {
        double t = bg_time_mono_s();
        rd_kafka_resp_err_t err = rd_kafka_flush(sl->sl_producer, KAFKA_TIMEOUT_MS);

        sl->sl_stage[STAGE_DELIVER] = bg_time_mono_s() - t;
        pthread_mutex_lock(&s->cs_mtx);
        sl->sl_state = SLOT_DELIVERED;
        pthread_cond_broadcast(&s->cs_cond);
        pthread_mutex_unlock(&s->cs_mtx);
        rd_kafka_queue_yield(s->cs_consumer_q);  /* wake gather_batch's poll */
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                return OUT_OK;
        bg_log_error("records of %s not delivered: %s", sl->sl_txn_id, rd_kafka_err2str(err));
        return OUT_ABORT;
}

/* Fault injection for the pipeline test: the commit of @sl fails, as an abortable error
 * would, once the transaction after it is queued (at most 10 s later), so that the
 * committer has one to skip and the loop two to abort. */
static out_status_t fail_commit(cmd_svc_t *s, cmd_slot_t *sl, int pos) {
        cmd_slot_t *after = &s->cs_slots[(pos + 1) % s->cs_nslots];
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        pthread_mutex_lock(&s->cs_mtx);
        while (after != sl && after->sl_state != SLOT_QUEUED &&
               pthread_cond_timedwait(&s->cs_cond, &s->cs_mtx, &until) == 0)
                ;
        pthread_mutex_unlock(&s->cs_mtx);
        bg_log_warn("fault injection: failing the commit of transaction %d (%s)",
                    s->cs_txn_count, sl->sl_txn_id);
        return OUT_ABORT;
}

/* The committer thread's part of a transaction: the delivery of its records and the
 * commit (its offsets were sent and its records produced by start_transaction). */
static out_status_t commit_slot(cmd_svc_t *s, cmd_slot_t *sl, int pos) {
        double t;
        out_status_t os;

        if ((os = deliver(s, sl)) != OUT_OK)
                return os;
        t = bg_time_mono_s();
        s->cs_txn_count++;
        if (s->cs_txn_count == s->cs_conf->cc_fault_fail_commit)
                return fail_commit(s, sl, pos);
        if (s->cs_txn_count == s->cs_conf->cc_fault_kill_before_commit) {
                /* Fault injection for the crash tests: everything of this transaction is
                 * on the broker (delivered above), nothing is committed. */
                bg_log_warn("fault injection: killing myself before commit of transaction %d",
                            s->cs_txn_count);
                raise(SIGKILL);
        }
        os = classify(rd_kafka_commit_transaction(sl->sl_producer, -1), "commit_transaction");
        sl->sl_stage[STAGE_COMMIT] = bg_time_mono_s() - t;
        return os;
}

/* @locality committer thread: commits the queued slots in the order the loop queued them
 * (the ring order). After a failure it skips the rest, which the loop then aborts. */
static void *committer_main(void *opaque) {
        cmd_svc_t *s = opaque;
        int pos = 0;

        pthread_mutex_lock(&s->cs_mtx);
        for (;;) {
                cmd_slot_t *sl = &s->cs_slots[pos];
                out_status_t os = OUT_ABORT;
                bool skip;

                while (sl->sl_state != SLOT_QUEUED && !s->cs_quit)
                        pthread_cond_wait(&s->cs_cond, &s->cs_mtx);
                if (sl->sl_state != SLOT_QUEUED)
                        break;
                skip = s->cs_failed;
                pthread_mutex_unlock(&s->cs_mtx);
                if (!skip)
                        os = commit_slot(s, sl, pos);
                pthread_mutex_lock(&s->cs_mtx);
                sl->sl_status = os;
                sl->sl_state = SLOT_DONE;
                if (os != OUT_OK)
                        s->cs_failed = true;
                pthread_cond_broadcast(&s->cs_cond);
                rd_kafka_queue_yield(s->cs_consumer_q);  /* wake gather_batch's poll */
                pos = (pos + 1) % s->cs_nslots;
        }
        pthread_mutex_unlock(&s->cs_mtx);
        return NULL;
}

/* Waits until the committer is done with @sl's queued transaction; its status (OUT_OK
 * for a free slot). */
static out_status_t slot_wait(cmd_svc_t *s, cmd_slot_t *sl) {
        out_status_t os;

        pthread_mutex_lock(&s->cs_mtx);
        while (sl->sl_state == SLOT_QUEUED || sl->sl_state == SLOT_DELIVERED)
                pthread_cond_wait(&s->cs_cond, &s->cs_mtx);
        os = sl->sl_state == SLOT_DONE ? sl->sl_status : OUT_OK;
        pthread_mutex_unlock(&s->cs_mtx);
        return os;
}

/* True when the next transaction could go all the way to the committer without waiting:
 * its slot's previous transaction is done and the records of the transaction queued last
 * are delivered. Until then the batch being gathered keeps growing. */
static bool pipeline_ready(cmd_svc_t *s) {
        cmd_slot_t *next = &s->cs_slots[s->cs_next];
        cmd_slot_t *prev = &s->cs_slots[(s->cs_next + s->cs_nslots - 1) % s->cs_nslots];
        bool ready;

        pthread_mutex_lock(&s->cs_mtx);
        ready = next->sl_state != SLOT_QUEUED && next->sl_state != SLOT_DELIVERED &&
                prev->sl_state != SLOT_QUEUED;
        pthread_mutex_unlock(&s->cs_mtx);
        return ready;
}

/* Waits until the records of the transaction queued last, if it is still open, are on
 * the broker. */
static void previous_delivered(cmd_svc_t *s) {
        cmd_slot_t *prev = &s->cs_slots[(s->cs_next + s->cs_nslots - 1) % s->cs_nslots];

        if (!prev->sl_open)
                return;
        pthread_mutex_lock(&s->cs_mtx);
        while (prev->sl_state == SLOT_QUEUED)
                pthread_cond_wait(&s->cs_cond, &s->cs_mtx);
        pthread_mutex_unlock(&s->cs_mtx);
}

/* Forgets @sl's commands; the slot is free again. */
static void slot_release(cmd_svc_t *s, cmd_slot_t *sl) {
        for (size_t i = 0; i < sl->sl_nmsgs; i++)
                rd_kafka_message_destroy(sl->sl_msgs[i]);
        sl->sl_nmsgs = 0;
        sl->sl_open = false;
        pthread_mutex_lock(&s->cs_mtx);
        sl->sl_state = SLOT_FREE;
        pthread_mutex_unlock(&s->cs_mtx);
}

/* Records the metrics of @sl's committed transaction and frees the slot. */
static void slot_committed(cmd_svc_t *s, cmd_slot_t *sl) {
        int64_t now = bg_time_now_ms();

        bg_histogram_observe(s->m_txn_seconds, bg_time_mono_s() - sl->sl_t0);
        bg_histogram_observe(s->m_batch_size, (double)sl->sl_nmsgs);
        /* From the publisher's timestamp to our commit: what an issuer waits, less the
         * time its consumer takes to see the result. */
        for (size_t i = 0; i < sl->sl_nmsgs; i++) {
                int64_t ts = rd_kafka_message_timestamp(sl->sl_msgs[i], NULL);
                if (ts > 0) {
                        bg_histogram_observe(s->m_command_age, (double)(now - ts) / 1000.0);
                        s->cs_sum_age_ms += now - ts;
                }
        }
        for (int st = 0; st < STAGE__COUNT; st++) {
                bg_histogram_observe(s->m_stage[st], sl->sl_stage[st]);
                s->cs_stage_sum[st] += sl->sl_stage[st];
        }
        s->cs_sum_txns++;
        s->cs_sum_commands += (int64_t)sl->sl_nmsgs;
        slot_release(s, sl);
}

/* Aborts the transaction open on @sl (after a failure) and frees the slot. OUT_ABORT, or
 * OUT_FATAL when the abort failed. */
static out_status_t slot_abort(cmd_svc_t *s, cmd_slot_t *sl) {
        out_status_t os;

        bg_counter_add(s->m_txn_aborted, 1);
        os = classify(rd_kafka_abort_transaction(sl->sl_producer, -1), "abort_transaction");
        if (os == OUT_OK)
                bg_log_warn("aborted a transaction of %zu commands (%s)", sl->sl_nmsgs,
                            sl->sl_txn_id);
        slot_release(s, sl);
        return os == OUT_OK ? OUT_ABORT : OUT_FATAL;
}

/* After a failed commit: waits for every queued transaction (the committer skips those
 * after the failed one), keeps the ones committed before it, aborts the others and, when
 * @rewind, seeks back to the committed offsets and rebuilds the state. OUT_ABORT when that
 * worked (the caller drops what it decided since), else OUT_FATAL. */
static out_status_t settle_failure(cmd_svc_t *s, bool rewind) {
        out_status_t os = OUT_ABORT;

        for (int i = 0; i < s->cs_nslots; i++) {    /* oldest first */
                cmd_slot_t *sl = &s->cs_slots[(s->cs_next + i) % s->cs_nslots];
                out_status_t st;

                if (!sl->sl_open)
                        continue;
                st = slot_wait(s, sl);
                if (st == OUT_OK)
                        slot_committed(s, sl);
                else if (slot_abort(s, sl) == OUT_FATAL || st == OUT_FATAL)
                        os = OUT_FATAL;
        }
        pthread_mutex_lock(&s->cs_mtx);
        s->cs_failed = false;
        pthread_mutex_unlock(&s->cs_mtx);
        if (os == OUT_ABORT && rewind) {
                if (rewind_to_committed(s) != 0)
                        return OUT_FATAL;
                bg_log_warn("resuming from the committed offsets");
        }
        return os;
}

/* Waits for @sl's transaction, if any, and records its outcome. OUT_OK: committed (or
 * none). OUT_ABORT: it, or one before it, failed and every open transaction was aborted
 * (with @rewind, the consumer and the states are back at the committed offsets): whatever
 * was decided since must be dropped. OUT_FATAL: stop. */
static out_status_t settle_slot(cmd_svc_t *s, cmd_slot_t *sl, bool rewind) {
        double t = bg_time_mono_s();
        out_status_t os;

        if (!sl->sl_open)
                return OUT_OK;
        os = slot_wait(s, sl);
        if (s->cs_nbatch > 0)
                s->cs_stage[STAGE_WAIT] += bg_time_mono_s() - t;
        if (os != OUT_OK)
                return settle_failure(s, rewind);
        slot_committed(s, sl);
        return OUT_OK;
}

/* Settles every open transaction, oldest first: none is open after OUT_OK. */
static out_status_t settle_all(cmd_svc_t *s, bool rewind) {
        for (int i = 0; i < s->cs_nslots; i++) {
                out_status_t os = settle_slot(s, &s->cs_slots[(s->cs_next + i) % s->cs_nslots],
                                              rewind);
                if (os != OUT_OK)
                        return os;
        }
        return OUT_OK;
}

/* True when a queued transaction failed and the loop has not settled it yet. */
static bool commit_failed(cmd_svc_t *s) {
        bool failed;

        pthread_mutex_lock(&s->cs_mtx);
        failed = s->cs_failed;
        pthread_mutex_unlock(&s->cs_mtx);
        return failed;
}

/* Adds the decided batch's offsets to @sl's open transaction, with the group metadata as
 * of now (member id, generation): the broker fences a zombie that still commits offsets
 * with an older generation (KIP-447); read once at start it would carry the generation
 * before the first join. A retriable error (the coordinator busy past librdkafka's own
 * retries) is retried here, a few times, before the batch is given up. */
static out_status_t send_offsets(cmd_svc_t *s, cmd_slot_t *sl) {
        rd_kafka_error_t *error;

        rd_kafka_consumer_group_metadata_destroy(s->cs_cgmd);
        s->cs_cgmd = rd_kafka_consumer_group_metadata(s->cs_consumer);
        if (s->cs_cgmd == NULL) {
                bg_log_error("no consumer group metadata");
                return OUT_FATAL;
        }
        for (int attempt = 1;; attempt++) {
                error = rd_kafka_send_offsets_to_transaction(sl->sl_producer, s->cs_offsets,
                                                             s->cs_cgmd, -1);
                if (error == NULL || attempt == SEND_OFFSETS_ATTEMPTS ||
                    !rd_kafka_error_is_retriable(error) || rd_kafka_error_is_fatal(error) ||
                    rd_kafka_error_txn_requires_abort(error))
                        break;
                bg_log_warn("send_offsets_to_transaction: %s; retrying",
                            rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
        return classify(error, "send_offsets_to_transaction");
}

/* Begins the decided batch's transaction on @sl (free), sends its offsets, produces its
 * records once the previous transaction's are delivered, and queues the rest (delivery,
 * commit) for the committer thread. */
static out_status_t start_transaction(cmd_svc_t *s, cmd_slot_t *sl) {
        rd_kafka_message_t **msgs;
        out_status_t os;

        sl->sl_t0 = s->cs_lap = bg_time_mono_s();
        os = classify(rd_kafka_begin_transaction(sl->sl_producer), "begin_transaction");
        stage_lap(s, STAGE_BEGIN);
        /* The offsets first, then the records. Right after the producer's previous commit
         * the coordinator is still writing its markers and answers
         * CONCURRENT_TRANSACTIONS: librdkafka retries AddOffsetsToTxn after
         * retry.backoff.ms but AddPartitionsToTxn (sent by the first produce) after a
         * fixed 20 ms, which was most of a transaction's time. Once the offsets are in, the
         * partitions are added at once. */
        if (os == OUT_OK)
                os = send_offsets(s, sl);
        stage_lap(s, STAGE_OFFSETS);
        if (os == OUT_OK) {
                previous_delivered(s);
                stage_lap(s, STAGE_WAIT);
                if (commit_failed(s))
                        os = OUT_ABORT;   /* this one would be skipped: abort it now */
        }
        if (os == OUT_OK)
                os = produce_batch(s, sl->sl_producer);
        stage_lap(s, STAGE_PRODUCE);
        if (os != OUT_OK)
                return os;

        /* The batch's commands move to the slot; the arrays swap. */
        msgs = sl->sl_msgs;
        sl->sl_msgs = s->cs_batch;
        sl->sl_nmsgs = s->cs_nbatch;
        s->cs_batch = msgs;
        s->cs_nbatch = 0;
        memcpy(sl->sl_stage, s->cs_stage, sizeof(s->cs_stage));
        discard_batch(s);               /* the records were produced: only resets */
        pthread_mutex_lock(&s->cs_mtx);
        sl->sl_state = SLOT_QUEUED;
        pthread_cond_broadcast(&s->cs_cond);
        pthread_mutex_unlock(&s->cs_mtx);
        sl->sl_open = true;
        s->cs_next = (s->cs_next + 1) % s->cs_nslots;
        return OUT_OK;
}

/* start_transaction failed on @sl: aborts its transaction and every other open one, then
 * rewinds. OUT_ABORT, or OUT_FATAL. */
static out_status_t abort_started(cmd_svc_t *s, cmd_slot_t *sl) {
        out_status_t os;

        bg_counter_add(s->m_txn_aborted, 1);
        os = classify(rd_kafka_abort_transaction(sl->sl_producer, -1), "abort_transaction");
        if (os != OUT_OK)
                return OUT_FATAL;
        os = settle_all(s, false);
        if (os == OUT_FATAL || rewind_to_committed(s) != 0)
                return OUT_FATAL;
        bg_log_warn("aborted a transaction of %zu commands; resuming from the committed offsets",
                    s->cs_nbatch);
        return OUT_ABORT;
}

/* One gathered batch, decided (with status @os) while earlier transactions committed:
 * settles the transaction of the slot it takes, then begins, produces and queues this
 * one. Returns OUT_FATAL when the service must stop. */
static out_status_t process_batch(cmd_svc_t *s, out_status_t os) {
        cmd_slot_t *sl = &s->cs_slots[s->cs_next];
        out_status_t prev;

        /* After a failed commit everything open goes; else only the slot's previous
         * transaction has to be done. */
        prev = commit_failed(s) ? settle_all(s, true) : settle_slot(s, sl, true);
        if (prev == OUT_FATAL || os == OUT_FATAL) {
                discard_batch(s);
                return OUT_FATAL;
        }
        if (prev == OUT_ABORT) {
                /* Decided on the failed transaction's state: read again from the
                 * committed offsets, where the settling has put the consumer. */
                discard_batch(s);
                return OUT_OK;
        }
        if (os == OUT_ABORT) {
                /* Nothing of this batch was sent, but the states hold part of it. The
                 * committed offsets are final only once nothing is in flight. */
                bg_counter_add(s->m_txn_aborted, 1);
                discard_batch(s);
                prev = settle_all(s, true);
                if (prev != OUT_OK)
                        return prev == OUT_FATAL ? OUT_FATAL : OUT_OK;
                return rewind_to_committed(s) == 0 ? OUT_OK : OUT_FATAL;
        }
        os = start_transaction(s, sl);
        if (os == OUT_ABORT)
                os = abort_started(s, sl);
        if (os != OUT_OK)
                discard_batch(s);
        return os == OUT_FATAL ? OUT_FATAL : OUT_OK;
}

/* Every 10 s with transactions: how many, and the mean time of each stage per transaction,
 * the numbers to look at first when latency grows. */
static void log_stage_summary(cmd_svc_t *s) {
        int64_t now = bg_time_mono_ms();
        char line[512];
        size_t off = 0;

        if (now - s->cs_sum_since_ms < 10000)
                return;
        if (s->cs_sum_txns > 0) {
                for (int st = 0; st < STAGE__COUNT && off < sizeof(line); st++)
                        off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s %.2f",
                                                st ? ", " : "", stage_names[st],
                                                s->cs_stage_sum[st] * 1000 / (double)s->cs_sum_txns);
                bg_log_info("%" PRId64 " transactions of %.1f commands on average in %.1f s; "
                            "mean ms per transaction: %s; mean command age at commit %.1f ms",
                            s->cs_sum_txns, (double)s->cs_sum_commands / (double)s->cs_sum_txns,
                            (double)(now - s->cs_sum_since_ms) / 1000.0, line,
                            s->cs_sum_commands ? (double)s->cs_sum_age_ms /
                                                 (double)s->cs_sum_commands : 0.0);
        }
        memset(s->cs_stage_sum, 0, sizeof(s->cs_stage_sum));
        s->cs_sum_txns = s->cs_sum_commands = s->cs_sum_age_ms = 0;
        s->cs_sum_since_ms = now;
}

static void update_lag(cmd_svc_t *s) {
        rd_kafka_topic_partition_list_t *parts = NULL;
        int64_t lag = 0;

        if (rd_kafka_assignment(s->cs_consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return;
        rd_kafka_position(s->cs_consumer, parts);
        for (int i = 0; i < parts->cnt; i++) {
                int64_t lo, hi;
                if (parts->elems[i].offset >= 0 &&
                    rd_kafka_get_watermark_offsets(s->cs_consumer, parts->elems[i].topic,
                                                   parts->elems[i].partition, &lo, &hi) == 0 &&
                    hi > parts->elems[i].offset)
                        lag += hi - parts->elems[i].offset;
        }
        bg_gauge_set(s->m_lag, lag);
        rd_kafka_topic_partition_list_destroy(parts);
}

/* Gathers and decides up to batch_max commands: at least batch_ms after the first, and
 * for as long as the pipeline is busy (pipeline_ready; the committer wakes the poll), so
 * that the work of this batch overlaps the commits in flight and batches grow with the
 * load by themselves. A status other than OUT_OK stops the gathering: a
 * command could not be decided (process_batch rewinds). */
static out_status_t gather_batch(cmd_svc_t *s, volatile sig_atomic_t *stop) {
        double deadline = 0;
        out_status_t os = OUT_OK;

        while (!*stop && !s->cs_fatal && s->cs_nbatch < (size_t)s->cs_conf->cc_batch_max) {
                int timeout = 100;
                rd_kafka_message_t *m;
                double t;

                if (s->cs_nbatch > 0 && pipeline_ready(s)) {
                        double left = deadline - bg_time_mono_s();
                        if (left <= 0)
                                break;
                        timeout = (int)(left * 1000) + 1;
                }
                t = bg_time_mono_s();
                m = rd_kafka_consumer_poll(s->cs_consumer, timeout);
                if (s->cs_nbatch > 0)
                        s->cs_stage[STAGE_GATHER] += bg_time_mono_s() - t;
                atomic_store(&s->cs_heartbeat_ms, bg_time_now_ms());
                if (s->cs_rebalanced) {
                        /* Positions restart from the committed offsets: what was gathered
                         * before the rebalance will be read again (by us or another), and
                         * the states were rebuilt from the log without it. */
                        s->cs_rebalanced = false;
                        discard_batch(s);
                        os = OUT_OK;
                }
                if (m == NULL) {
                        if (s->cs_nbatch == 0)
                                return OUT_OK;  /* idle: let the loop look around */
                        continue;
                }
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                bg_log_warn("consumer: %s", rd_kafka_message_errstr(m));
                        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                                s->cs_fatal = true;
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (s->cs_nbatch == 0)
                        deadline = bg_time_mono_s() + s->cs_conf->cc_batch_ms / 1000.0;
                s->cs_batch[s->cs_nbatch++] = m;
                if ((os = decide_one(s, m)) != OUT_OK)
                        break;
        }
        return os;
}

/* ------------------------------------------------------------------ setup */

static bool health(void *opaque, char *why, size_t why_size) {
        cmd_svc_t *s = opaque;
        int64_t age = bg_time_now_ms() - atomic_load(&s->cs_heartbeat_ms);

        if (s->cs_fatal) {
                snprintf(why, why_size, "fatal error, stopping");
                return false;
        }
        if (age > 30000) {
                snprintf(why, why_size, "command loop stalled for %" PRId64 " ms", age);
                return false;
        }
        return true;
}

static int metrics_setup(cmd_svc_t *s, char *errstr, size_t errstr_size) {
        static const char *const outcome_labels[BG_OUTCOME__COUNT] = {
                [BG_OUTCOME_ACCEPTED] = "outcome=\"accepted\"",
                [BG_OUTCOME_REJECTED] = "outcome=\"rejected\"",
                [BG_OUTCOME_DUPLICATE] = "outcome=\"duplicate\"",
        };
        static const double batch_bounds[] = {1, 10, 50, 100, 500, 1000, 2000, 5000};

        s->cs_metrics = bg_metrics_new();
        if (s->cs_metrics == NULL)
                return -1;
        for (int o = 0; o < BG_OUTCOME__COUNT; o++)
                s->m_outcome[o] = bg_metrics_counter(s->cs_metrics, "billing_commands_total",
                                                     "Commands handled, by outcome",
                                                     outcome_labels[o]);
        s->m_dead_lettered = bg_metrics_counter(s->cs_metrics, "billing_commands_total",
                                                "Commands handled, by outcome",
                                                "outcome=\"dead_lettered\"");
        s->m_events = bg_metrics_counter(s->cs_metrics, "billing_events_appended_total",
                                         "Events appended to the log", NULL);
        s->m_txn_aborted = bg_metrics_counter(s->cs_metrics, "billing_transactions_aborted_total",
                                              "Transactions aborted and replayed", NULL);
        s->m_txn_seconds = bg_metrics_histogram(s->cs_metrics, "billing_transaction_seconds",
                                                "Time from begin to commit of a transaction", NULL,
                                                NULL, 0);
        s->m_batch_size = bg_metrics_histogram(s->cs_metrics, "billing_transaction_commands",
                                               "Commands per committed transaction", NULL,
                                               batch_bounds, 8);
        s->m_command_age = bg_metrics_histogram(s->cs_metrics, "billing_command_age_seconds",
                                                "Time from a command's publication to the commit "
                                                "of its transaction", NULL, NULL, 0);
        s->m_lag = bg_metrics_gauge(s->cs_metrics, "billing_consumer_lag",
                                    "Commands not yet consumed on the assigned partitions", NULL);
        s->m_partitions = bg_metrics_gauge(s->cs_metrics, "billing_assigned_partitions",
                                           "Partitions of the commands topic assigned here", NULL);
        for (int st = 0; st < STAGE__COUNT; st++) {
                char label[32];

                snprintf(label, sizeof(label), "stage=\"%s\"", stage_names[st]);
                s->m_stage[st] = bg_metrics_histogram(s->cs_metrics,
                                                      "billing_transaction_stage_seconds",
                                                      "Time of each stage of a committed "
                                                      "transaction", label, NULL, 0);
        }
        s->cs_sum_since_ms = bg_time_mono_ms();
        atomic_store(&s->cs_heartbeat_ms, bg_time_now_ms());
        s->cs_admin = bg_admin_start(s->cs_conf->cc_admin_addr, s->cs_metrics, health, s, errstr,
                                     errstr_size);
        return s->cs_admin ? 0 : -1;
}

static int kafka_setup(cmd_svc_t *s, char *errstr, size_t errstr_size) {
        const cmd_conf_t *c = s->cs_conf;
        const char *reader_props[] = {"group.id", "billing-commands-state-reader",
                                      "isolation.level", "read_committed",
                                      "enable.partition.eof", "true", "enable.auto.commit", "false",
                                      "fetch.max.bytes", "52428800", NULL};
        /* Required settings (exactly-once, the rebalance protocol the loop relies on),
         * then tuning that KAFKA_<PROPERTY> may override. */
        const char *producer_props[] = {"transactional.id", NULL,
                                        "transaction.timeout.ms", "60000", NULL};
        /* retry.backoff.ms: a transaction begun right after the previous commit finds
         * the coordinator still writing that one's markers, a few ms, and its
         * AddOffsetsToTxn (sent first, see start_transaction) is answered
         * CONCURRENT_TRANSACTIONS; librdkafka retries after this backoff, 100 ms by
         * default. At 10,000 commands/s 70 % of the transactions waited so; 1 ms
         * instead of 5 took the median latency from 22-31 ms to 18-22 ms. */
        const char *producer_tuning[] = {"linger.ms", "5", "compression.type", "lz4",
                                         "retry.backoff.ms", "1",
                                         "queue.buffering.max.messages", "1000000", NULL};
        const char *consumer_props[] = {"group.id", c->cc_group, "isolation.level", "read_committed",
                                        "enable.auto.commit", "false",
                                        "enable.auto.offset.store", "false",
                                        "auto.offset.reset", "earliest",
                                        "partition.assignment.strategy", "range", NULL};
        const char *consumer_tuning[] = {"session.timeout.ms", "10000",
                                         "max.poll.interval.ms", "300000", NULL};
        kc_client_opts_t producer_opts = {.kco_defaults = producer_tuning,
                                          .kco_dr_msg_cb = kc_dr_commit_wakeup};
        kc_client_opts_t consumer_opts = {.kco_defaults = consumer_tuning};
        rd_kafka_error_t *error;
        rd_kafka_resp_err_t err;
        rd_kafka_topic_partition_list_t *sub;
        int ne;

        if ((s->cs_reader = kc_client_new(RD_KAFKA_CONSUMER, reader_props, NULL, errstr,
                                          errstr_size)) == NULL)
                return -1;
        s->cs_nparts = kc_topic_partition_count(s->cs_reader, s->cs_topics.kt_commands,
                                                KAFKA_TIMEOUT_MS, errstr, errstr_size);
        ne = kc_topic_partition_count(s->cs_reader, s->cs_topics.kt_events, KAFKA_TIMEOUT_MS,
                                      errstr, errstr_size);
        if (s->cs_nparts < 0 || ne < 0)
                return -1;
        if (s->cs_nparts != ne || s->cs_nparts > MAX_PARTITIONS) {
                snprintf(errstr, errstr_size, "\"%s\" has %d partitions and \"%s\" %d: they must "
                         "be equal (and at most %d)", s->cs_topics.kt_commands, s->cs_nparts,
                         s->cs_topics.kt_events, ne, MAX_PARTITIONS);
                return -1;
        }
        s->cs_nslots = c->cc_producers;
        for (int k = 0; k < s->cs_nslots; k++) {
                cmd_slot_t *sl = &s->cs_slots[k];

                /* Unique per deployment (the group), instance and slot: two deployments
                 * on one cluster must never fence each other. Every id ends in ".t<k>",
                 * so no instance name can make two of them equal. */
                snprintf(sl->sl_txn_id, sizeof(sl->sl_txn_id), "%s-%s.t%c", c->cc_group,
                         c->cc_instance, (char)('0' + k));
                producer_props[1] = sl->sl_txn_id;
                if ((sl->sl_producer = kc_client_new(RD_KAFKA_PRODUCER, producer_props,
                                                     &producer_opts, errstr,
                                                     errstr_size)) == NULL)
                        return -1;
                /* Fences any earlier incarnation of this instance's slot and aborts what
                 * it left open. */
                error = rd_kafka_init_transactions(sl->sl_producer, KAFKA_TIMEOUT_MS);
                if (error != NULL) {
                        snprintf(errstr, errstr_size, "init_transactions of \"%s\": %s",
                                 sl->sl_txn_id, rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        return -1;
                }
        }
        consumer_opts.kco_opaque = s;
        consumer_opts.kco_rebalance_cb = on_rebalance;
        if ((s->cs_consumer = kc_client_new(RD_KAFKA_CONSUMER, consumer_props, &consumer_opts,
                                            errstr, errstr_size)) == NULL)
                return -1;
        rd_kafka_poll_set_consumer(s->cs_consumer);
        s->cs_consumer_q = rd_kafka_queue_get_consumer(s->cs_consumer);
        s->cs_cgmd = rd_kafka_consumer_group_metadata(s->cs_consumer);
        sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, s->cs_topics.kt_commands, RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(s->cs_consumer, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "cannot subscribe to \"%s\": %s",
                         s->cs_topics.kt_commands, rd_kafka_err2str(err));
                return -1;
        }
        bg_log_info("instance \"%s\" (transactional.id %s%s) consuming \"%s\" as group "
                    "\"%s\", %d partitions, librdkafka %s", c->cc_instance,
                    s->cs_slots[0].sl_txn_id, s->cs_nslots > 1 ? " and the next slots" : "",
                    s->cs_topics.kt_commands, c->cc_group, s->cs_nparts, rd_kafka_version_str());
        return 0;
}

static void service_teardown(cmd_svc_t *s) {
        if (s->cs_committer_running) {
                pthread_mutex_lock(&s->cs_mtx);
                s->cs_quit = true;
                pthread_cond_broadcast(&s->cs_cond);
                pthread_mutex_unlock(&s->cs_mtx);
                pthread_join(s->cs_committer, NULL);
        }
        if (s->cs_consumer_q)
                rd_kafka_queue_destroy(s->cs_consumer_q);
        if (s->cs_consumer) {
                rd_kafka_consumer_close(s->cs_consumer);
                rd_kafka_destroy(s->cs_consumer);
        }
        if (s->cs_cgmd)
                rd_kafka_consumer_group_metadata_destroy(s->cs_cgmd);
        for (int k = 0; k < MAX_SLOTS; k++) {
                cmd_slot_t *sl = &s->cs_slots[k];

                for (size_t i = 0; i < sl->sl_nmsgs; i++)
                        rd_kafka_message_destroy(sl->sl_msgs[i]);
                free(sl->sl_msgs);
                if (sl->sl_producer)
                        rd_kafka_destroy(sl->sl_producer);
        }
        if (s->cs_reader) {
                rd_kafka_consumer_close(s->cs_reader);
                rd_kafka_destroy(s->cs_reader);
        }
        discard_batch(s);
        drop_all_partitions(s);
        bg_admin_stop(s->cs_admin);
        bg_metrics_destroy(s->cs_metrics);
        cmd_codec_destroy(s->cs_codec);
        acct_decision_clear(&s->cs_decision);
        acct_state_destroy(s->cs_empty);
        if (s->cs_offsets)
                rd_kafka_topic_partition_list_destroy(s->cs_offsets);
        free(s->cs_out);
        free(s->cs_arena);
        pthread_cond_destroy(&s->cs_cond);
        pthread_mutex_destroy(&s->cs_mtx);
        free(s->cs_cmd);
        free(s->cs_batch);
}

int cmd_service_run(const cmd_conf_t *conf, volatile sig_atomic_t *stop) {
        cmd_svc_t *s = calloc(1, sizeof(*s));
        char errstr[512];
        int64_t last_lag = 0;
        bool nomem = false;
        int rc = 1;

        if (s == NULL)
                return 1;
        s->cs_conf = conf;
        acct_decision_init(&s->cs_decision);
        s->cs_cmd = malloc(sizeof(*s->cs_cmd));
        s->cs_batch = calloc((size_t)conf->cc_batch_max, sizeof(*s->cs_batch));
        for (int k = 0; k < MAX_SLOTS; k++)
                if ((s->cs_slots[k].sl_msgs = calloc((size_t)conf->cc_batch_max,
                                                     sizeof(rd_kafka_message_t *))) == NULL)
                        nomem = true;
        s->cs_offsets = rd_kafka_topic_partition_list_new(8);
        s->cs_empty = acct_state_new();
        pthread_mutex_init(&s->cs_mtx, NULL);
        pthread_cond_init(&s->cs_cond, NULL);
        if (nomem || !s->cs_cmd || !s->cs_batch || !s->cs_empty) {
                bg_log_error("cannot start: out of memory");
                goto out;
        }
        if (kc_topics_load(&s->cs_topics, errstr, sizeof(errstr)) != 0 ||
            metrics_setup(s, errstr, sizeof(errstr)) != 0 ||
            (s->cs_codec = cmd_codec_new(errstr, sizeof(errstr))) == NULL ||
            kafka_setup(s, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                goto out;
        }
        if (pthread_create(&s->cs_committer, NULL, committer_main, s) != 0) {
                bg_log_error("cannot start: no committer thread");
                goto out;
        }
        s->cs_committer_running = true;
        bg_log_info("admin port on 127.0.0.1:%d (/healthz, /metrics)", bg_admin_port(s->cs_admin));

        while (!*stop && !s->cs_fatal) {
                out_status_t os = gather_batch(s, stop);

                if (s->cs_nbatch > 0 && !*stop && !s->cs_fatal) {
                        if (process_batch(s, os) == OUT_FATAL) {
                                s->cs_fatal = true;
                                break;
                        }
                } else {
                        /* Idle, or stopping mid-gather: the gathered commands are read
                         * again after restart from the committed offsets; the commit in
                         * flight, if any, ends now. */
                        discard_batch(s);
                        if (settle_all(s, true) == OUT_FATAL) {
                                s->cs_fatal = true;
                                break;
                        }
                }
                if (bg_time_now_ms() - last_lag > 1000) {
                        update_lag(s);
                        last_lag = bg_time_now_ms();
                }
                log_stage_summary(s);
        }
        if (settle_all(s, false) == OUT_FATAL)  /* SIGTERM: finish the open transactions */
                s->cs_fatal = true;
        rc = s->cs_fatal ? 1 : 0;
        bg_log_info("stopping (%s)", rc ? "fatal error" : "signal");
out:
        service_teardown(s);
        free(s);
        return rc;
}
