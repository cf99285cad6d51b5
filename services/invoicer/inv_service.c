#include "inv_service.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acct.h"
#include "bg_admin.h"
#include "bg_env.h"
#include "bg_log.h"
#include "bg_metrics.h"
#include "bg_money.h"
#include "bg_uuidmap.h"
#include "codec.h"
#include "inv_batch.h"
#include "inv_dedup.h"
#include "inv_finalize.h"
#include "inv_members.h"
#include "inv_store.h"
#include "inv_time.h"
#include "bg_time.h"
#include "kc_client.h"
#include "kc_headers.h"
#include "kc_conf.h"
#include "kc_topics.h"

#define KAFKA_TIMEOUT_MS   30000
#define CATCH_UP_MS        2000    /* longest wait for billing.events before a batch */
#define MAX_PARTITIONS     1024
#define OUTBOX_BATCH       500
#define PRUNE_EVERY_MS     INT64_C(3600000)

typedef enum {
        FATE_BILLED = 0,
        FATE_LATE,                      /* billed as extra_charge on a later invoice */
        FATE_DUPLICATE,
        FATE_HELD,
        FATE_DEAD_LETTERED,
        FATE__COUNT
} fate_t;

typedef enum { BATCH_OK, BATCH_REPLAY, BATCH_FATAL } batch_t;

/* What one batch changes, as its commit writes it. There are two: the service bills the
 * next batch into one while the committer thread writes the other to PostgreSQL. */
typedef struct inv_work_s {
        inv_batch_t w_batch;
        inv_seen_t *w_seen;             /* billed ids, for usage_seen */
        size_t w_nseen, w_capseen;
        inv_held_t **w_newhold;         /* new holds (owned by the service's s_held) */
        size_t w_nnewhold, w_capnewhold;
        bg_uuid_t *w_unhold;            /* releases of stored holds */
        size_t w_nunhold, w_capunhold;
        int64_t w_usage_next[MAX_PARTITIONS];   /* next usage offsets consumed; -1: none */
        int64_t w_events_next[MAX_PARTITIONS];  /* events folded when it was handed off */
        uint64_t w_fates[FATE__COUNT];
        size_t w_ndlq;                  /* dead letters produced while billing it */
        bool w_kill_before_commit;      /* fault injection */
        int64_t w_held, w_dedup_ids;    /* the gauges once it is committed */
} inv_work_t;

/* The committer thread: one batch at a time, in order. */
typedef struct inv_committer_s {
        pthread_t c_thread;
        bool c_started;
        pthread_mutex_t c_mu;
        pthread_cond_t c_cv;
        inv_work_t *c_job;              /* handed off, not yet done */
        bool c_busy, c_quit;
        batch_t c_result;               /* of the last job */
        double c_seconds;
} inv_committer_t;

typedef struct inv_svc_s {
        const inv_conf_t *s_conf;
        kc_topics_t s_topics;
        inv_clock_t s_clock;
        codec_registry_t *s_reg;
        codec_t *s_codec;
        inv_members_t *s_members;
        inv_dedup_t *s_dedup;           /* billed ids, committed or handed off or in the
                                         * open batch (a failed commit reloads it) */
        inv_totals_t *s_totals;         /* sums of the open invoices, committed */
        inv_store_t *s_store;
        inv_work_t s_work[2];
        inv_work_t *s_cur;              /* the open batch */
        inv_committer_t s_committer;

        rd_kafka_t *s_events;           /* reader of billing.events, every partition */
        rd_kafka_t *s_usage;            /* reader of billing.usage, every partition */
        rd_kafka_queue_t *s_usage_q;    /* its consumer queue, read a batch at a time */
        rd_kafka_t *s_dlq;              /* idempotent producer of dead letters */
        rd_kafka_t *s_txn;              /* transactional producer of billing.invoices */
        rd_kafka_t *s_marker;           /* reads the outbox marker group's offset */
        rd_kafka_consumer_group_metadata_t *s_marker_cgmd;
        char s_marker_group[200];
        int s_nevents, s_nusage;
        int64_t s_events_next[MAX_PARTITIONS];  /* next event offset to fold */
        int64_t s_events_eof[MAX_PARTITIONS];   /* offset of the last end-of-partition */
        int64_t s_usage_next[MAX_PARTITIONS];   /* next usage offset, as committed + batch */
        bool s_project_created;         /* since the last retry of held records */
        bool s_retry_after_commit;      /* ... and the batch in flight has holds to retry */

        /* Held records: committed ones (ih_stored) and those of batches not yet
         * committed. */
        inv_held_t **s_held;
        size_t s_nheld, s_capheld;
        bg_uuidmap_t *s_held_ids;       /* usage id -> inv_held_t * */
        _Atomic int s_dlq_failed;       /* delivery failures (dr callback, any thread) */

        bg_uuidmap_t *s_finalized;      /* group -> int64_t * latest final period begin */

        codec_usage_t *s_u;
        int64_t s_month_begin, s_month_end;  /* month_of's last month, [begin, end) */
        bg_event_t *s_ev;
        rd_kafka_message_t **s_msgs;    /* the gathered batch */
        int64_t s_txn_count;
        int64_t s_publish_count;
        int64_t s_last_finalize_mono, s_last_prune_clock, s_last_lag_mono;
        _Atomic bool s_fatal;           /* also read by the admin thread (health) */

        bg_metrics_t *s_metrics;
        bg_admin_t *s_admin;
        bg_counter_t *m_fate[FATE__COUNT];
        bg_counter_t *m_finalized;
        bg_counter_t *m_published;
        bg_counter_t *m_events;
        bg_counter_t *m_events_rejected;
        bg_counter_t *m_batches;
        bg_counter_t *m_pg_recoveries;
        bg_gauge_t *m_held;
        bg_gauge_t *m_usage_lag;
        bg_gauge_t *m_events_lag;
        bg_gauge_t *m_dedup_ids;
        bg_gauge_t *m_clock;
        bg_histogram_t *m_batch_seconds;
        _Atomic int64_t s_heartbeat_ms;
} inv_svc_t;

static const char *const fate_labels[FATE__COUNT] = {
        [FATE_BILLED] = "fate=\"billed\"",
        [FATE_LATE] = "fate=\"billed_late\"",
        [FATE_DUPLICATE] = "fate=\"duplicate\"",
        [FATE_HELD] = "fate=\"held\"",
        [FATE_DEAD_LETTERED] = "fate=\"dead_lettered\"",
};

/* ------------------------------------------------------------------ Kafka clients */

static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        inv_svc_t *s = opaque;

        (void)rk;
        if (m->err) {
                bg_log_error("cannot deliver a dead letter to \"%s\": %s",
                             rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
                atomic_fetch_add(&s->s_dlq_failed, 1);
        }
}


/* Produces a dead letter: the original key and bytes, the reason in headers. Delivery is
 * awaited before the batch commits (flush_dead_letters). */
static void dead_letter(inv_svc_t *s, const char *topic, const char *source, const void *key,
                        size_t key_len, const void *value, size_t value_len, int32_t partition,
                        int64_t offset, const char *reason) {
        rd_kafka_headers_t *h = kc_dlq_headers(source, partition, offset, "billing-invoicer",
                                               reason);
        rd_kafka_resp_err_t err;

        bg_log_warn("dead-lettering \"%s\" [%d] offset %" PRId64 ": %s", source, (int)partition,
                    offset, reason);
        for (;;) {
                err = rd_kafka_producev(s->s_dlq, RD_KAFKA_V_TOPIC(topic),
                                        RD_KAFKA_V_KEY(key, key_len),
                                        RD_KAFKA_V_VALUE((void *)value, value_len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(s->s_dlq, 10);
        }
        if (err) {
                rd_kafka_headers_destroy(h);
                bg_log_error("cannot produce a dead letter to \"%s\": %s", topic,
                             rd_kafka_err2str(err));
                atomic_fetch_add(&s->s_dlq_failed, 1);
        }
        s->s_cur->w_ndlq++;
}

/* ------------------------------------------------------------------ events */

/* Folds one message of billing.events. A message that does not decode or fold is
 * dead-lettered: the invoicer cannot repair the log, and stopping would stop billing. */
static void fold_event(inv_svc_t *s, const rd_kafka_message_t *m) {
        char errstr[512], reason[600];
        bool created = false;

        s->s_events_next[m->partition] = m->offset + 1;
        if (codec_decode_event(s->s_codec, m->payload, m->len, s->s_ev, errstr,
                               sizeof(errstr)) != CODEC_OK) {
                snprintf(reason, sizeof(reason), "cannot decode event: %s", errstr);
        } else if (inv_members_fold(s->s_members, s->s_ev, &created, errstr,
                                    sizeof(errstr)) != 0) {
                snprintf(reason, sizeof(reason), "event does not fold: %s", errstr);
        } else {
                s->s_project_created |= created;
                bg_counter_add(s->m_events, 1);
                return;
        }
        bg_log_error("event at \"%s\" [%d] offset %" PRId64 ": %s", s->s_topics.kt_events,
                     (int)m->partition, m->offset, reason);
        bg_counter_add(s->m_events_rejected, 1);
        dead_letter(s, s->s_topics.kt_events_dlq, s->s_topics.kt_events, m->key, m->key_len,
                    m->payload, m->len, m->partition, m->offset, reason);
}

static void handle_event_msg(inv_svc_t *s, rd_kafka_message_t *m) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (m->partition >= 0 && m->partition < s->s_nevents)
                        s->s_events_eof[m->partition] = m->offset;
        } else if (m->err) {
                bg_log_warn("reading \"%s\": %s", s->s_topics.kt_events,
                            rd_kafka_message_errstr(m));
                if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                        s->s_fatal = true;
        } else if (m->partition >= 0 && m->partition < s->s_nevents) {
                fold_event(s, m);
        }
        rd_kafka_message_destroy(m);
}

/* Reads billing.events until every partition is at the end it had when this was
 * called: every event committed before a usage batch is folded before the batch is
 * billed. Gives up after @timeout_ms (-1: never) and returns false then. */
static bool events_catch_up(inv_svc_t *s, int timeout_ms, volatile sig_atomic_t *stop) {
        int64_t target[MAX_PARTITIONS];
        int64_t deadline = bg_time_mono_ms() + timeout_ms, last_log = bg_time_mono_ms();

        /* Asked through the producer: the consumer's connection may be parked in a
         * long-poll fetch (fetch.wait.max.ms) that would delay the answer. One round trip
         * for every partition: this is paid once a batch. */
        if (kc_end_offsets(s->s_dlq, s->s_topics.kt_events, s->s_nevents, target,
                           KAFKA_TIMEOUT_MS) != 0)
                return false;
        for (;;) {
                bool done = true;
                rd_kafka_message_t *m;

                for (int p = 0; p < s->s_nevents && done; p++)
                        if (s->s_events_next[p] < target[p] && s->s_events_eof[p] < target[p])
                                done = false;
                if (done)
                        return true;
                if (*stop || s->s_fatal)
                        return false;
                if (timeout_ms >= 0 && bg_time_mono_ms() > deadline) {
                        for (int p = 0; p < s->s_nevents; p++)
                                if (s->s_events_next[p] < target[p] && s->s_events_eof[p] < target[p])
                                        bg_log_warn("\"%s\" [%d] not read to its end %" PRId64
                                                    " within %d ms (next %" PRId64 ", end seen %"
                                                    PRId64 ")", s->s_topics.kt_events, p,
                                                    target[p], timeout_ms, s->s_events_next[p],
                                                    s->s_events_eof[p]);
                        return false;
                }
                m = rd_kafka_consumer_poll(s->s_events, 50);
                if (m != NULL)
                        handle_event_msg(s, m);
                if (timeout_ms < 0 && bg_time_mono_ms() - last_log > 10000) {
                        bg_log_info("catching up with \"%s\": %zu projects so far",
                                    s->s_topics.kt_events,
                                    inv_members_project_count(s->s_members));
                        last_log = bg_time_mono_ms();
                }
                atomic_store(&s->s_heartbeat_ms, bg_time_now_ms());
        }
}

/* ------------------------------------------------------------------ billing */

static bool is_finalized(inv_svc_t *s, const bg_uuid_t *group, int64_t period_begin) {
        const int64_t *last;

        if (bg_uuidmap_count(s->s_finalized) == 0)     /* no lookup per record while none */
                return false;
        last = bg_uuidmap_get(s->s_finalized, group);
        return last != NULL && period_begin <= *last;
}

static void mark_finalized(void *opaque, const bg_uuid_t *group, int64_t period_begin) {
        inv_svc_t *s = opaque;
        int64_t *last = bg_uuidmap_get(s->s_finalized, group);

        if (last == NULL) {
                last = malloc(sizeof(*last));
                if (last == NULL || !bg_uuidmap_put(s->s_finalized, group, last)) {
                        free(last);
                        s->s_fatal = true;      /* out of memory */
                        return;
                }
                *last = period_begin;
        } else if (period_begin > *last) {
                *last = period_begin;
        }
}

/* A period [@begin, @end) takes no more usage once its grace period is over, or once
 * it is final. */
static bool period_closed(inv_svc_t *s, const bg_uuid_t *group, int64_t begin, int64_t end,
                          int64_t now) {
        return now >= end + s->s_conf->ic_grace_ms || is_finalized(s, group, begin);
}

/* The calendar month of @ms. Records come mostly in time order, so the month of the
 * record before is kept: the calendar arithmetic was 7% of the loop's time per record. */
static void month_of(inv_svc_t *s, int64_t ms, int64_t *begin, int64_t *end) {
        if (ms < s->s_month_begin || ms >= s->s_month_end)
                inv_period_of(ms, &s->s_month_begin, &s->s_month_end, NULL);
        *begin = s->s_month_begin;
        *end = s->s_month_end;
}

/* Checks a decoded record against the rules of docs/invoicer.md ("Validation"). */
static bool validate(inv_svc_t *s, const codec_usage_t *u, int64_t now, char *why, size_t size) {
        const inv_conf_t *c = s->s_conf;

        if (bg_uuid_is_nil(&u->usage_id) || bg_uuid_is_nil(&u->project_id))
                snprintf(why, size, "usage_id and project_id must not be nil");
        else if (u->currency == BG_CURRENCY_UNSET || bg_currency_name(u->currency) == NULL)
                snprintf(why, size, "unknown currency");
        else if (u->line_type == CODEC_LINE_CREDIT_CONSUMPTION || u->line_type == CODEC_LINE_ROUNDING)
                snprintf(why, size, "line type \"%s\" is written by the invoicer only",
                         codec_line_type_name(u->line_type));
        else if (u->quantity < 0)
                snprintf(why, size, "negative quantity");
        else if (u->has_unit_price && u->unit_price < 0)
                snprintf(why, size, "negative unit_price");
        else if (u->has_amount && u->amount < 0)
                snprintf(why, size, "negative amount");
        else if (!u->has_amount && !u->has_unit_price)
                snprintf(why, size, "neither amount nor unit_price (no price list is configured)");
        else if (u->timestamp_begin > u->timestamp_end)
                snprintf(why, size, "timestamp_begin %" PRId64 " is after timestamp_end %" PRId64,
                         u->timestamp_begin, u->timestamp_end);
        else if (u->timestamp_end > now + c->ic_max_future_ms)
                snprintf(why, size, "timestamp_end %" PRId64 " is more than %" PRId64
                         " ms in the future (now %" PRId64 ")", u->timestamp_end,
                         c->ic_max_future_ms, now);
        else if (u->timestamp_begin < now - c->ic_dedup_window_ms)
                snprintf(why, size, "timestamp_begin %" PRId64 " is older than the "
                         "de-duplication window (%" PRId64 " days)", u->timestamp_begin,
                         c->ic_dedup_window_ms / 86400000);
        else
                return true;
        return false;
}

typedef enum { BILL_OK, BILL_LATE, BILL_HOLD, BILL_REJECT, BILL_FATAL } bill_t;

/* Bills @u (valid, not a duplicate) into the open batch, or says why not. */
static bill_t bill(inv_svc_t *s, const codec_usage_t *u, int64_t now, char *why, size_t size) {
        const inv_project_t *proj;
        const acct_group_t *g;
        const acct_state_t *acct;
        bg_uuid_t group;
        int64_t amount, pbegin, pend, target, tend;
        char number[CODEC_INVOICE_NUMBER_MAX + 1], errstr[256];
        inv_charge_t c;

        switch (inv_members_resolve(s->s_members, &u->project_id, u->timestamp_begin, &proj,
                                    &group)) {
        case INV_RESOLVE_UNKNOWN:
                return BILL_HOLD;
        case INV_RESOLVE_DELETED:
                snprintf(why, size, "usage begins at %" PRId64 ", at or after the deletion of "
                         "project \"%s\" at %" PRId64, u->timestamp_begin, proj->ip_name,
                         proj->ip_deleted_at);
                return BILL_REJECT;
        case INV_RESOLVE_OK:
                break;
        }
        g = inv_members_group(s->s_members, &group, &acct);
        if (g == NULL) {
                snprintf(why, size, "billing group of project \"%s\" is unknown", proj->ip_name);
                return BILL_REJECT;
        }
        if (u->currency != g->billing_currency) {
                snprintf(why, size, "currency %s differs from the billing group's %s",
                         bg_currency_name(u->currency),
                         bg_currency_name(g->billing_currency));
                return BILL_REJECT;
        }
        if (u->has_amount) {
                amount = u->amount;
        } else if (bg_money_mul(u->quantity, u->unit_price, BG_MONEY_ROUND_INVOICE, &amount) !=
                   BG_MONEY_OK) {
                snprintf(why, size, "quantity x unit_price overflows");
                return BILL_REJECT;
        }
        month_of(s, u->timestamp_begin, &pbegin, &pend);
        target = pbegin;
        tend = pend;
        if (period_closed(s, &group, pbegin, pend, now)) {
                /* Late: on the next period still open, as an extra_charge naming this one. */
                do {
                        target = tend;
                        tend = inv_period_next(target);
                } while (period_closed(s, &group, target, tend, now));
        }
        inv_invoice_number(&group, target, number);
        memset(&c, 0, sizeof(c));
        c.ic_invoice = number;
        c.ic_group = &group;
        c.ic_account = &proj->ip_account;
        c.ic_group_name = g->name;
        c.ic_currency = g->billing_currency;
        c.ic_period_begin = target;
        c.ic_period_end = tend;
        c.ic_project = &u->project_id;
        c.ic_project_name = proj->ip_name;
        c.ic_late_period = target == pbegin ? -1 : pbegin;
        c.ic_usage = u;
        c.ic_amount = amount;
        switch (inv_batch_add(&s->s_cur->w_batch, s->s_totals, &c, errstr, sizeof(errstr))) {
        case 0:
                break;
        case INV_BATCH_OVER:
                snprintf(why, size, "%s", errstr);
                return BILL_REJECT;
        default:
                snprintf(why, size, "%s", errstr);
                return BILL_FATAL;
        }
        return target == pbegin ? BILL_OK : BILL_LATE;
}

static bool batch_seen_add(inv_svc_t *s, const codec_usage_t *u) {
        inv_work_t *w = s->s_cur;

        if (w->w_nseen == w->w_capseen) {
                size_t cap = w->w_capseen ? w->w_capseen * 2 : 1024;
                inv_seen_t *p = realloc(w->w_seen, cap * sizeof(*p));
                if (p == NULL)
                        return false;
                w->w_seen = p;
                w->w_capseen = cap;
        }
        w->w_seen[w->w_nseen].is_id = u->usage_id;
        w->w_seen[w->w_nseen].is_ts = u->timestamp_begin;
        w->w_nseen++;
        /* Straight into the set: the open batch's ids count as billed for the records
         * after them, and a batch that is not committed makes store_setup reload the set
         * from PostgreSQL. One probe of the (large) table per record instead of three. */
        return inv_dedup_add(s->s_dedup, &u->usage_id, u->timestamp_begin);
}

static bool is_duplicate(inv_svc_t *s, const bg_uuid_t *id) {
        return inv_dedup_contains(s->s_dedup, id) ||
               (bg_uuidmap_count(s->s_held_ids) > 0 &&
                bg_uuidmap_get(s->s_held_ids, id) != NULL);
}

static int hold(inv_svc_t *s, const codec_usage_t *u, const rd_kafka_message_t *m, int64_t now) {
        inv_work_t *w = s->s_cur;
        inv_held_t *h = calloc(1, sizeof(*h));

        if (h == NULL || (h->ih_payload = malloc(m->len ? m->len : 1)) == NULL)
                goto nomem;
        memcpy(h->ih_payload, m->payload, m->len);
        h->ih_len = m->len;
        h->ih_id = u->usage_id;
        h->ih_project = u->project_id;
        h->ih_partition = m->partition;
        h->ih_offset = m->offset;
        h->ih_held_at = now;
        if (s->s_nheld == s->s_capheld) {
                size_t cap = s->s_capheld ? s->s_capheld * 2 : 64;
                inv_held_t **p = realloc(s->s_held, cap * sizeof(*p));
                if (p == NULL)
                        goto nomem;
                s->s_held = p;
                s->s_capheld = cap;
        }
        if (w->w_nnewhold == w->w_capnewhold) {
                size_t cap = w->w_capnewhold ? w->w_capnewhold * 2 : 64;
                inv_held_t **q = realloc(w->w_newhold, cap * sizeof(*q));
                if (q == NULL)
                        goto nomem;
                w->w_newhold = q;
                w->w_capnewhold = cap;
        }
        if (!bg_uuidmap_put(s->s_held_ids, &h->ih_id, h))
                goto nomem;
        s->s_held[s->s_nheld++] = h;
        w->w_newhold[w->w_nnewhold++] = h;
        w->w_fates[FATE_HELD]++;
        return 0;
nomem:
        if (h)
                free(h->ih_payload);
        free(h);
        return -1;
}

/* Decodes, validates, de-duplicates and bills one usage message. -1: fatal. */
static int handle_usage(inv_svc_t *s, const rd_kafka_message_t *m, int64_t now) {
        char why[600], errstr[512];
        codec_usage_t *u = s->s_u;
        bill_t r;

        s->s_cur->w_usage_next[m->partition] = m->offset + 1;
        if ((int64_t)m->len > s->s_conf->ic_max_message_bytes) {
                snprintf(why, sizeof(why), "message of %zu bytes exceeds %" PRId64, m->len,
                         s->s_conf->ic_max_message_bytes);
                goto reject;
        }
        if (codec_decode_usage(s->s_codec, m->payload, m->len, u, errstr, sizeof(errstr)) !=
            CODEC_OK) {
                snprintf(why, sizeof(why), "cannot decode usage record: %s", errstr);
                goto reject;
        }
        if (!validate(s, u, now, why, sizeof(why)))
                goto reject;
        if (is_duplicate(s, &u->usage_id)) {
                s->s_cur->w_fates[FATE_DUPLICATE]++;
                return 0;
        }
        switch ((r = bill(s, u, now, why, sizeof(why)))) {
        case BILL_OK:
        case BILL_LATE:
                if (!batch_seen_add(s, u))
                        return -1;
                s->s_cur->w_fates[r == BILL_LATE ? FATE_LATE : FATE_BILLED]++;
                return 0;
        case BILL_HOLD:
                return hold(s, u, m, now);
        case BILL_REJECT:
                goto reject;
        case BILL_FATAL:
        default:
                bg_log_error("cannot bill usage at \"%s\" [%d] offset %" PRId64 ": %s",
                             s->s_topics.kt_usage, (int)m->partition, m->offset, why);
                return -1;
        }
reject:
        s->s_cur->w_fates[FATE_DEAD_LETTERED]++;
        dead_letter(s, s->s_topics.kt_usage_dlq, s->s_topics.kt_usage, m->key, m->key_len,
                    m->payload, m->len, m->partition, m->offset, why);
        return 0;
}

/* Releases held record @i (billed or dead-lettered) from memory; the store deletes it in
 * this batch's transaction. */
static int release_held(inv_svc_t *s, size_t i) {
        inv_held_t *h = s->s_held[i];
        inv_work_t *w = s->s_cur;

        if (w->w_nunhold == w->w_capunhold) {
                size_t cap = w->w_capunhold ? w->w_capunhold * 2 : 64;
                bg_uuid_t *p = realloc(w->w_unhold, cap * sizeof(*p));
                if (p == NULL)
                        return -1;
                w->w_unhold = p;
                w->w_capunhold = cap;
        }
        w->w_unhold[w->w_nunhold++] = h->ih_id;
        bg_uuidmap_remove(s->s_held_ids, &h->ih_id);
        memmove(&s->s_held[i], &s->s_held[i + 1], (s->s_nheld - i - 1) * sizeof(*s->s_held));
        s->s_nheld--;
        free(h->ih_payload);
        free(h);
        return 0;
}

/* Retries the committed held records: billed when the project is known now, dead-lettered
 * when the hold time is over and billing.events was read to its end. */
static int retry_held(inv_svc_t *s, int64_t now, bool events_current) {
        bool retry = s->s_project_created;
        char why[600], errstr[512];
        bill_t r;

        s->s_project_created = false;
        for (size_t i = 0; i < s->s_nheld;) {
                inv_held_t *h = s->s_held[i];
                bool expired = now >= h->ih_held_at + s->s_conf->ic_hold_ms;
                codec_usage_t *u = s->s_u;

                if (!h->ih_stored) {
                        /* Held by the batch in flight: retried once it is committed
                         * (commit_wait), if a project appeared meanwhile. */
                        if (retry)
                                s->s_retry_after_commit = true;
                        i++;
                        continue;
                }
                if (!retry && !(expired && events_current)) {
                        i++;
                        continue;
                }
                if (codec_decode_usage(s->s_codec, h->ih_payload, h->ih_len, u, errstr,
                                       sizeof(errstr)) != CODEC_OK) {
                        snprintf(why, sizeof(why), "cannot decode held usage record: %s", errstr);
                        goto reject;
                }
                switch ((r = bill(s, u, now, why, sizeof(why)))) {
                case BILL_OK:
                case BILL_LATE:
                        /* Validated when it came; its age is not held against it. */
                        if (!batch_seen_add(s, u) || release_held(s, i) != 0)
                                return -1;
                        s->s_cur->w_fates[r == BILL_LATE ? FATE_LATE : FATE_BILLED]++;
                        continue;
                case BILL_HOLD:
                        if (!(expired && events_current)) {
                                i++;
                                continue;
                        }
                        {
                                char id[BG_UUID_STR_LEN + 1];
                                bg_uuid_format(&h->ih_project, id);
                                snprintf(why, sizeof(why), "project %s unknown after holding "
                                         "the record for %" PRId64 " ms", id,
                                         now - h->ih_held_at);
                        }
                        goto reject;
                case BILL_REJECT:
                        goto reject;
                case BILL_FATAL:
                default:
                        return -1;
                }
reject:
                s->s_cur->w_fates[FATE_DEAD_LETTERED]++;
                {
                        char key[BG_UUID_STR_LEN + 1];
                        bg_uuid_format(&h->ih_project, key);
                        dead_letter(s, s->s_topics.kt_usage_dlq, s->s_topics.kt_usage, key,
                                    BG_UUID_STR_LEN, h->ih_payload, h->ih_len, h->ih_partition,
                                    h->ih_offset, why);
                }
                if (release_held(s, i) != 0)
                        return -1;
        }
        return 0;
}

/* ------------------------------------------------------------------ PostgreSQL state */

static void drop_held(inv_svc_t *s) {
        for (size_t i = 0; i < s->s_nheld; i++) {
                free(s->s_held[i]->ih_payload);
                free(s->s_held[i]);
        }
        s->s_nheld = 0;
        for (int k = 0; k < 2; k++) {
                s->s_work[k].w_nnewhold = 0;
                s->s_work[k].w_nunhold = 0;
        }
        while (bg_uuidmap_count(s->s_held_ids) > 0) {
                size_t pos = 0;
                bg_uuid_t k;
                if (!bg_uuidmap_next(s->s_held_ids, &pos, &k, NULL))
                        break;
                bg_uuidmap_remove(s->s_held_ids, &k);
        }
}

static void work_reset(inv_work_t *w) {
        inv_batch_reset(&w->w_batch);
        w->w_nseen = 0;
        w->w_nnewhold = 0;
        w->w_nunhold = 0;
        w->w_ndlq = 0;
        w->w_kill_before_commit = false;
        memset(w->w_fates, 0, sizeof(w->w_fates));
        for (int p = 0; p < MAX_PARTITIONS; p++)
                w->w_usage_next[p] = -1;
}

static void work_free(inv_work_t *w) {
        inv_batch_free(&w->w_batch);
        free(w->w_seen);
        free(w->w_newhold);
        free(w->w_unhold);
        memset(w, 0, sizeof(*w));
}

/* Empties the open batch. */
static void reset_batch(inv_svc_t *s) {
        work_reset(s->s_cur);
}

/* Assigns the usage partitions at the stored offsets (the beginning where none). */
static int usage_assign(inv_svc_t *s) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(s->s_nusage);
        rd_kafka_resp_err_t err;

        for (int p = 0; p < s->s_nusage; p++)
                rd_kafka_topic_partition_list_add(parts, s->s_topics.kt_usage, p)->offset =
                        s->s_usage_next[p] >= 0 ? s->s_usage_next[p] : RD_KAFKA_OFFSET_BEGINNING;
        err = rd_kafka_assign(s->s_usage, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                bg_log_error("cannot assign \"%s\": %s", s->s_topics.kt_usage, rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

static batch_t commit_wait(inv_svc_t *s);

/* (Re)opens PostgreSQL and loads everything the invoicer keeps of it: offsets, the
 * de-duplication set, the held records, the final invoices. Used at start and after a
 * failed transaction (then the consumer restarts from the stored offsets). */
static int store_setup(inv_svc_t *s, volatile sig_atomic_t *stop) {
        char errstr[512];
        inv_held_t *held = NULL;
        size_t nheld = 0;
        int64_t now = inv_clock_now(&s->s_clock);
        pgx_err_t err;

        commit_wait(s);                 /* nothing may be writing while we reload */
        drop_held(s);
        inv_dedup_clear(s->s_dedup);
        inv_totals_clear(s->s_totals);
        work_reset(&s->s_work[0]);
        work_reset(&s->s_work[1]);
        reset_batch(s);
        for (;;) {
                err = inv_store_open(s->s_store, stop, errstr, sizeof(errstr));
                if (err == PGX_OK)
                        err = inv_store_offsets(s->s_store, s->s_topics.kt_usage, s->s_nusage,
                                                s->s_usage_next, errstr, sizeof(errstr));
                if (err == PGX_OK)
                        err = inv_store_load_dedup(s->s_store, now - s->s_conf->ic_dedup_window_ms,
                                                   s->s_dedup, errstr, sizeof(errstr));
                if (err == PGX_OK)
                        err = inv_store_load_totals(s->s_store, s->s_totals, errstr,
                                                    sizeof(errstr));
                if (err == PGX_OK)
                        err = inv_store_load_held(s->s_store, &held, &nheld, errstr,
                                                  sizeof(errstr));
                if (err == PGX_OK)
                        err = inv_store_load_finalized(s->s_store, mark_finalized, s, errstr,
                                                       sizeof(errstr));
                if (err == PGX_OK)
                        break;
                if (err != PGX_ERR_CONN || *stop) {
                        bg_log_error("cannot set up PostgreSQL: %s", errstr);
                        return -1;
                }
                bg_log_warn("PostgreSQL: %s; retrying", errstr);
                inv_dedup_clear(s->s_dedup);
                inv_totals_clear(s->s_totals);
                inv_store_close(s->s_store);
        }
        for (size_t i = 0; i < nheld; i++) {
                inv_held_t *h = malloc(sizeof(*h));
                if (h == NULL || s->s_nheld == s->s_capheld) {
                        size_t cap = s->s_capheld ? s->s_capheld * 2 : 64;
                        inv_held_t **p = realloc(s->s_held, cap * sizeof(*p));
                        if (p)
                                s->s_held = p;
                        if (!p || h == NULL) {
                                free(h);
                                for (size_t k = i; k < nheld; k++)
                                        free(held[k].ih_payload);
                                free(held);
                                return -1;
                        }
                        s->s_capheld = cap;
                }
                *h = held[i];
                s->s_held[s->s_nheld++] = h;
                bg_uuidmap_put(s->s_held_ids, &h->ih_id, h);
        }
        free(held);
        s->s_project_created = true;    /* retry the held records once */
        bg_gauge_set(s->m_held, (int64_t)s->s_nheld);
        bg_gauge_set(s->m_dedup_ids, (int64_t)inv_dedup_count(s->s_dedup));
        return usage_assign(s);
}

/* ------------------------------------------------------------------ one batch */

/* Writes @w in one PostgreSQL transaction, after its dead letters are delivered. Runs on
 * the committer thread, which owns the store's connection while a job is out. */
static batch_t commit_work(inv_svc_t *s, inv_work_t *w) {
        inv_commit_t cm;
        char errstr[512];
        pgx_err_t err;

        if (w->w_ndlq > 0 && rd_kafka_flush(s->s_dlq, KAFKA_TIMEOUT_MS) != 0) {
                bg_log_error("dead letters not delivered within %d ms", KAFKA_TIMEOUT_MS);
                atomic_fetch_add(&s->s_dlq_failed, 1);
        }
        if (atomic_exchange(&s->s_dlq_failed, 0) > 0) {
                bg_log_warn("a dead letter was not delivered: replaying the batch");
                return BATCH_REPLAY;
        }
        memset(&cm, 0, sizeof(cm));
        cm.cm_batch = &w->w_batch;
        cm.cm_seen = w->w_seen;
        cm.cm_nseen = w->w_nseen;
        cm.cm_hold = w->w_newhold;
        cm.cm_nhold = w->w_nnewhold;
        cm.cm_unhold = w->w_unhold;
        cm.cm_nunhold = w->w_nunhold;
        cm.cm_usage_topic = s->s_topics.kt_usage;
        cm.cm_usage_next = w->w_usage_next;
        cm.cm_usage_nparts = s->s_nusage;
        cm.cm_events_topic = s->s_topics.kt_events;
        cm.cm_events_next = w->w_events_next;
        cm.cm_events_nparts = s->s_nevents;
        cm.cm_kill_before_commit = w->w_kill_before_commit;
        err = inv_store_commit(s->s_store, &cm, errstr, sizeof(errstr));
        if (err != PGX_OK) {
                bg_log_error("cannot commit a batch of %zu lines: %s", w->w_batch.ib_nlines,
                             errstr);
                return err == PGX_ERR_CONN ? BATCH_REPLAY : BATCH_FATAL;
        }
        /* Counted as soon as it is committed, as a reader of PostgreSQL would see it. */
        for (int f = 0; f < FATE__COUNT; f++)
                bg_counter_add(s->m_fate[f], w->w_fates[f]);
        bg_counter_add(s->m_batches, 1);
        bg_gauge_set(s->m_held, w->w_held);
        bg_gauge_set(s->m_dedup_ids, w->w_dedup_ids);
        return BATCH_OK;
}

static void *committer_main(void *arg) {
        inv_svc_t *s = arg;
        inv_committer_t *c = &s->s_committer;

        pthread_mutex_lock(&c->c_mu);
        for (;;) {
                inv_work_t *w;
                double t0;
                batch_t r;

                while (c->c_job == NULL && !c->c_quit)
                        pthread_cond_wait(&c->c_cv, &c->c_mu);
                if (c->c_job == NULL)
                        break;
                w = c->c_job;
                pthread_mutex_unlock(&c->c_mu);
                t0 = bg_time_mono_s();
                r = commit_work(s, w);
                pthread_mutex_lock(&c->c_mu);
                c->c_result = r;
                c->c_seconds = bg_time_mono_s() - t0;
                c->c_job = NULL;
                pthread_cond_broadcast(&c->c_cv);
        }
        pthread_mutex_unlock(&c->c_mu);
        return NULL;
}

/* Waits for the batch handed off last, if any, and settles it: its holds count as
 * stored (they may be retried now). BATCH_OK when there was none. Its effects on the
 * in-memory state were applied when it was handed off; after BATCH_REPLAY the caller
 * reloads everything from PostgreSQL (store_setup). */
static batch_t commit_wait(inv_svc_t *s) {
        inv_committer_t *c = &s->s_committer;
        inv_work_t *w;
        batch_t r;

        if (!c->c_busy)
                return BATCH_OK;
        pthread_mutex_lock(&c->c_mu);
        while (c->c_job != NULL)
                pthread_cond_wait(&c->c_cv, &c->c_mu);
        r = c->c_result;
        pthread_mutex_unlock(&c->c_mu);
        c->c_busy = false;
        w = s->s_cur == &s->s_work[0] ? &s->s_work[1] : &s->s_work[0];
        if (r != BATCH_OK)
                return r;
        for (size_t i = 0; i < w->w_nnewhold; i++)
                w->w_newhold[i]->ih_stored = true;
        if (s->s_retry_after_commit)
                s->s_project_created = true;
        s->s_retry_after_commit = false;
        bg_histogram_observe(s->m_batch_seconds, c->c_seconds);
        return BATCH_OK;
}

/* What PostgreSQL will hold of the open batch's invoices and lines once it commits. */
static bool totals_advance(inv_svc_t *s) {
        const inv_batch_t *b = &s->s_cur->w_batch;

        for (size_t i = 0; i < b->ib_nheaders; i++)
                if (!inv_totals_add_invoice(s->s_totals, b->ib_headers[i].ih_number,
                                            b->ib_headers[i].ih_amount))
                        goto nomem;
        for (size_t i = 0; i < b->ib_nlines; i++) {
                const inv_line_t *l = &b->ib_lines[i];
                inv_sum_t add = {l->il_quantity, l->il_amount};
                if (!inv_totals_add_line(s->s_totals, b->ib_headers[l->il_header].ih_number,
                                         l->il_key, add))
                        goto nomem;
        }
        return true;
nomem:
        bg_log_error("cannot keep the sums of the open invoices: out of memory");
        return false;
}

/*
 * Hands the open batch to the committer thread and opens the other one, so that the
 * next batch is gathered and billed while this one is written. First waits for the
 * batch before (commits happen one at a time, in order).
 *
 * The batch's effects on the in-memory state (invoice sums, next offsets; its billed
 * ids went into the set as they were billed) are applied now, so that the next batch is judged as if this one were committed. If
 * its commit fails, the next batch is dropped unwritten and everything is reloaded from
 * PostgreSQL (BATCH_REPLAY, store_setup), so nothing optimistic survives a failure.
 */
static batch_t commit_batch(inv_svc_t *s) {
        inv_committer_t *c = &s->s_committer;
        inv_work_t *w = s->s_cur;
        batch_t r = commit_wait(s);

        if (r != BATCH_OK)
                return r;
        if (!totals_advance(s))
                return BATCH_FATAL;
        for (int p = 0; p < s->s_nusage; p++)
                if (w->w_usage_next[p] >= 0)
                        s->s_usage_next[p] = w->w_usage_next[p];
        memcpy(w->w_events_next, s->s_events_next, sizeof(w->w_events_next));
        w->w_held = (int64_t)s->s_nheld;
        w->w_dedup_ids = (int64_t)inv_dedup_count(s->s_dedup);
        s->s_txn_count++;
        w->w_kill_before_commit = s->s_conf->ic_fault_kill_before_commit > 0 &&
                                  s->s_txn_count == s->s_conf->ic_fault_kill_before_commit;
        pthread_mutex_lock(&c->c_mu);
        c->c_job = w;
        c->c_busy = true;
        pthread_cond_broadcast(&c->c_cv);
        pthread_mutex_unlock(&c->c_mu);
        s->s_cur = w == &s->s_work[0] ? &s->s_work[1] : &s->s_work[0];
        return BATCH_OK;
}

/*
 * Billing record i waits for memory three times unless told in advance: for its message
 * (librdkafka's), its bytes, and its usage id's slot of the de-duplication set (a miss
 * in a table of 100 MB). So while record i is billed, the message of i + 3 * AHEAD,
 * the bytes of i + 2 * AHEAD and the slot of i + AHEAD are asked for, each step
 * reading only what the previous one brought in. Hints only: nothing here decides.
 */
#define AHEAD 4

static void prefetch_ahead(inv_svc_t *s, size_t i, size_t n) {
        rd_kafka_message_t *const *msgs = s->s_msgs;
        bg_uuid_t id;

        if (i + 3 * AHEAD < n)
                __builtin_prefetch(msgs[i + 3 * AHEAD]);
        if (i + 2 * AHEAD < n) {
                const rd_kafka_message_t *m = msgs[i + 2 * AHEAD];
                for (size_t off = 0; off < m->len && off < 256; off += 64)
                        __builtin_prefetch((const char *)m->payload + off);
        }
        if (i + AHEAD < n && codec_peek_usage_id(s->s_codec, msgs[i + AHEAD]->payload,
                                                 msgs[i + AHEAD]->len, &id))
                inv_dedup_prefetch(s->s_dedup, &id);
}

/* Gathers a batch of usage messages, brings billing.events up to date, bills the batch
 * (and retries held records), and commits it with the offsets. */
static batch_t run_batch(inv_svc_t *s, volatile sig_atomic_t *stop) {
        int64_t deadline = 0, now, t_start = bg_time_mono_ms(), t_gather, t_events = 0, t_bill;
        size_t n = 0;
        bool events_current;
        batch_t rc = BATCH_OK;

        reset_batch(s);
        /* The first message is waited for (up to 100 ms: then the loop looks at held
         * records and the clock); the rest come a slice at a time (one call and one
         * clock reading per slice, not per message) until the batch is full or
         * BILLING_BATCH_MS after its first message. A slice call waits until its slice is
         * full or the time is up, hence not used for the first message. */
        while (!*stop && !s->s_fatal && n < (size_t)s->s_conf->ic_batch_max) {
                size_t room = (size_t)s->s_conf->ic_batch_max - n, k = n;
                ssize_t got;

                if (n == 0) {
                        s->s_msgs[0] = rd_kafka_consumer_poll(s->s_usage, 100);
                        got = s->s_msgs[0] != NULL;
                } else {
                        int64_t left = deadline - bg_time_mono_ms();
                        if (left <= 0)
                                break;
                        got = rd_kafka_consume_batch_queue(s->s_usage_q, (int)left,
                                                           s->s_msgs + n,
                                                           room < 10000 ? room : 10000);
                }
                atomic_store(&s->s_heartbeat_ms, bg_time_now_ms());
                for (ssize_t i = 0; i < got; i++) {
                        rd_kafka_message_t *m = s->s_msgs[n + (size_t)i];
                        if (m->err || m->partition < 0 || m->partition >= s->s_nusage) {
                                if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                        bg_log_warn("reading \"%s\": %s", s->s_topics.kt_usage,
                                                    rd_kafka_message_errstr(m));
                                if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                                        s->s_fatal = true;
                                rd_kafka_message_destroy(m);
                                continue;
                        }
                        s->s_msgs[k++] = m;
                }
                if (k == 0)
                        break;                  /* idle: look at held records and the clock */
                if (n == 0)
                        deadline = bg_time_mono_ms() + s->s_conf->ic_batch_ms;
                n = k;
        }
        if (*stop || s->s_fatal)
                goto out;
        t_gather = bg_time_mono_ms();
        /* Every event committed before now is folded before the batch is billed; if the
         * log cannot be read to its end now, nothing is judged "unknown" for good. */
        events_current = events_catch_up(s, CATCH_UP_MS, stop);
        t_events = bg_time_mono_ms();
        now = inv_clock_now(&s->s_clock);
        bg_gauge_set(s->m_clock, now);
        if (retry_held(s, now, events_current) != 0) {
                rc = BATCH_FATAL;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                prefetch_ahead(s, i, n);
                if (handle_usage(s, s->s_msgs[i], now) != 0) {
                        rc = BATCH_FATAL;
                        goto out;
                }
        }
        t_bill = bg_time_mono_ms();
        if (n > 0 || s->s_cur->w_nunhold > 0 || s->s_cur->w_nnewhold > 0) {
                size_t nlines = s->s_cur->w_batch.ib_nlines;
                rc = commit_batch(s);
                bg_log_debug("batch of %zu records, %zu lines: gathered in %" PRId64 " ms, "
                             "events caught up in %" PRId64 " ms, billed in %" PRId64 " ms, "
                             "waited %" PRId64 " ms for the previous commit", n, nlines,
                             t_gather - t_start, t_events - t_gather, t_bill - t_events,
                             bg_time_mono_ms() - t_bill);
        } else {
                rc = commit_wait(s);            /* idle: settle the last batch */
        }
out:
        for (size_t i = 0; i < n; i++)
                rd_kafka_message_destroy(s->s_msgs[i]);
        return rc;
}

/* ------------------------------------------------------------------ outbox */

/* Publishes unpublished outbox rows to billing.invoices in one Kafka transaction that
 * also moves the outbox marker (the committed offset of the marker group on partition 0
 * of billing.invoices) to the last row's id + 1; then marks them published. A crash in
 * between is repaired by outbox_recover: the marker says what the broker committed. */
static int publish_outbox(inv_svc_t *s) {
        char errstr[512];
        PGresult *res;
        rd_kafka_error_t *error;
        rd_kafka_topic_partition_list_t *offsets;
        int64_t last = -1;
        int rows;
        pgx_err_t err;

        err = pgx_query(inv_store_conn(s->s_store),
                        "SELECT outbox_id, invoice_number, revision, encode(payload, 'hex') "
                        "FROM invoice_outbox WHERE NOT published ORDER BY outbox_id LIMIT 500",
                        0, NULL, &res, errstr, sizeof(errstr));
        if (err != PGX_OK) {
                bg_log_warn("cannot read the invoice outbox: %s", errstr);
                return err == PGX_ERR_CONN ? 1 : -1;
        }
        rows = PQntuples(res);
        if (rows == 0) {
                PQclear(res);
                return 0;
        }
        error = rd_kafka_begin_transaction(s->s_txn);
        for (int i = 0; i < rows && error == NULL; i++) {
                const char *number = PQgetvalue(res, i, 1), *hex = PQgetvalue(res, i, 3);
                size_t len = strlen(hex) / 2;
                uint8_t *buf = malloc(len ? len : 1);
                rd_kafka_headers_t *h;
                char ce_id[128];
                rd_kafka_resp_err_t perr;

                if (buf == NULL) {
                        error = rd_kafka_error_new(RD_KAFKA_RESP_ERR__FAIL, "out of memory");
                        break;
                }
                for (size_t k = 0; k < len; k++) {
                        unsigned v;
                        sscanf(hex + 2 * k, "%2x", &v);
                        buf[k] = (uint8_t)v;
                }
                (void)inv_parse_i64(PQgetvalue(res, i, 0), &last);
                snprintf(ce_id, sizeof(ce_id), "%s/%s", number, PQgetvalue(res, i, 2));
                h = kc_ce_headers(ce_id, "billing.Invoice", "/billing/invoicer", bg_time_now_ms());
                do {
                        perr = rd_kafka_producev(s->s_txn, RD_KAFKA_V_TOPIC(s->s_topics.kt_invoices),
                                                 RD_KAFKA_V_KEY(number, strlen(number)),
                                                 RD_KAFKA_V_VALUE(buf, len),
                                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                 RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                        if (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(s->s_txn, 10);
                } while (perr == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                free(buf);
                if (perr) {
                        rd_kafka_headers_destroy(h);
                        error = rd_kafka_error_new(perr, "cannot produce invoice \"%s\": %s",
                                                   number, rd_kafka_err2str(perr));
                }
        }
        PQclear(res);
        if (error == NULL) {
                offsets = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(offsets, s->s_topics.kt_invoices, 0)->offset =
                        last + 1;
                error = rd_kafka_send_offsets_to_transaction(s->s_txn, offsets, s->s_marker_cgmd,
                                                             KAFKA_TIMEOUT_MS);
                rd_kafka_topic_partition_list_destroy(offsets);
        }
        if (error == NULL)
                error = rd_kafka_commit_transaction(s->s_txn, KAFKA_TIMEOUT_MS);
        if (error != NULL) {
                bool fatal = rd_kafka_error_is_fatal(error);
                bg_log_error("cannot publish invoices: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                if (fatal)
                        return -1;
                error = rd_kafka_abort_transaction(s->s_txn, KAFKA_TIMEOUT_MS);
                if (error != NULL) {
                        bg_log_error("cannot abort the invoice transaction: %s",
                                     rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        return -1;
                }
                return 1;       /* retried at the next pass */
        }
        s->s_publish_count++;
        if (s->s_conf->ic_fault_kill_after_publish > 0 &&
            s->s_publish_count == s->s_conf->ic_fault_kill_after_publish) {
                bg_log_warn("fault injection: killing myself after publishing, before marking "
                            "the outbox");
                raise(SIGKILL);
        }
        {
                char upto[24];
                const char *params[] = {upto};

                snprintf(upto, sizeof(upto), "%" PRId64, last);
                err = pgx_query(inv_store_conn(s->s_store),
                                "UPDATE invoice_outbox SET published = true "
                                "WHERE outbox_id <= $1 AND NOT published",
                                1, params, &res, errstr, sizeof(errstr));
                if (err != PGX_OK) {
                        /* The broker has them; outbox_recover marks them at the next start. */
                        bg_log_warn("published invoices up to outbox id %s but cannot mark "
                                    "them: %s", upto, errstr);
                        return 1;
                }
                PQclear(res);
        }
        bg_counter_add(s->m_published, (uint64_t)rows);
        bg_log_info("published %d final invoices to \"%s\"", rows, s->s_topics.kt_invoices);
        return rows == OUTBOX_BATCH ? publish_outbox(s) : 0;
}

/* After init_transactions (which aborted whatever an earlier incarnation left open):
 * rows the broker committed but the outbox does not know as published are marked. */
static int outbox_recover(inv_svc_t *s) {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_resp_err_t err;
        int64_t marker;
        char errstr[512], upto[24];
        const char *params[] = {upto};
        PGresult *res;

        rd_kafka_topic_partition_list_add(parts, s->s_topics.kt_invoices, 0);
        err = rd_kafka_committed(s->s_marker, parts, KAFKA_TIMEOUT_MS);
        marker = parts->elems[0].offset;
        if (!err)
                err = parts->elems[0].err;
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                bg_log_error("cannot read the outbox marker of group \"%s\": %s",
                             s->s_marker_group, rd_kafka_err2str(err));
                return -1;
        }
        if (marker < 0)
                return 0;               /* nothing ever published */
        snprintf(upto, sizeof(upto), "%" PRId64, marker);
        if (pgx_query(inv_store_conn(s->s_store),
                      "UPDATE invoice_outbox SET published = true "
                      "WHERE outbox_id < $1 AND NOT published", 1, params, &res, errstr,
                      sizeof(errstr)) != PGX_OK) {
                bg_log_error("cannot recover the invoice outbox: %s", errstr);
                return -1;
        }
        if (atoll(PQcmdTuples(res)) > 0)
                bg_log_info("outbox: %s invoices were published before a restart",
                            PQcmdTuples(res));
        PQclear(res);
        return 0;
}

/* ------------------------------------------------------------------ finalization */

static int finalize_due(inv_svc_t *s) {
        char (*numbers)[CODEC_INVOICE_NUMBER_MAX + 1] = NULL;
        char errstr[512];
        int64_t now = inv_clock_now(&s->s_clock);
        size_t n = 0, nfinal = 0;
        pgx_err_t err;

        err = inv_finalize_due(s->s_store, now - s->s_conf->ic_grace_ms, &numbers, &n, errstr,
                               sizeof(errstr));
        for (size_t i = 0; err == PGX_OK && i < n; i++) {
                bool done = false;
                bg_uuid_t group;
                int64_t period;

                err = inv_finalize_one(s->s_store, numbers[i], s->s_members, s->s_conf,
                                       s->s_codec, now, &done, &group, &period, errstr,
                                       sizeof(errstr));
                if (err == PGX_OK && done) {
                        mark_finalized(s, &group, period);
                        bg_counter_add(s->m_finalized, 1);
                        /* The final ones gather at the front, for one sweep below. */
                        if (nfinal != i)
                                memcpy(numbers[nfinal], numbers[i], sizeof(numbers[i]));
                        nfinal++;
                }
        }
        inv_totals_forget(s->s_totals, numbers, nfinal);
        free(numbers);
        if (err != PGX_OK) {
                bg_log_error("cannot finalize invoices: %s", errstr);
                return err == PGX_ERR_CONN ? 1 : -1;
        }
        return n > 0 ? publish_outbox(s) : 0;
}

/* ------------------------------------------------------------------ setup */

static bool health(void *opaque, char *why, size_t why_size) {
        inv_svc_t *s = opaque;
        int64_t age = bg_time_now_ms() - atomic_load(&s->s_heartbeat_ms);

        if (s->s_fatal) {
                snprintf(why, why_size, "fatal error, stopping");
                return false;
        }
        if (age > 60000) {
                snprintf(why, why_size, "invoicer loop stalled for %" PRId64 " ms", age);
                return false;
        }
        return true;
}

static int metrics_setup(inv_svc_t *s, char *errstr, size_t errstr_size) {
        static const double batch_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
        bg_metrics_t *m = bg_metrics_new();

        if (m == NULL)
                return -1;
        s->s_metrics = m;
        for (int f = 0; f < FATE__COUNT; f++)
                s->m_fate[f] = bg_metrics_counter(m, "billing_invoicer_usage_records_total",
                                                  "Usage records by fate (counted when committed)",
                                                  fate_labels[f]);
        s->m_finalized = bg_metrics_counter(m, "billing_invoicer_invoices_finalized_total",
                                            "Invoices finalized", NULL);
        s->m_published = bg_metrics_counter(m, "billing_invoicer_invoices_published_total",
                                            "Final invoices published to the invoices topic", NULL);
        s->m_events = bg_metrics_counter(m, "billing_invoicer_events_folded_total",
                                         "Events folded into the membership state", NULL);
        s->m_events_rejected = bg_metrics_counter(m, "billing_invoicer_events_rejected_total",
                                                  "Events that did not decode or fold "
                                                  "(dead-lettered)", NULL);
        s->m_batches = bg_metrics_counter(m, "billing_invoicer_batches_total",
                                          "Usage batches committed", NULL);
        s->m_pg_recoveries = bg_metrics_counter(m, "billing_invoicer_replays_total",
                                                "Batches abandoned and replayed from the stored "
                                                "offsets", NULL);
        s->m_held = bg_metrics_gauge(m, "billing_invoicer_held_records",
                                     "Usage records held for an unknown project", NULL);
        s->m_usage_lag = bg_metrics_gauge(m, "billing_invoicer_usage_lag",
                                          "Usage records not yet billed (all partitions)", NULL);
        s->m_events_lag = bg_metrics_gauge(m, "billing_invoicer_events_lag",
                                           "Events not yet folded (all partitions)", NULL);
        s->m_dedup_ids = bg_metrics_gauge(m, "billing_invoicer_dedup_ids",
                                          "Usage ids in the de-duplication window", NULL);
        s->m_clock = bg_metrics_gauge(m, "billing_invoicer_clock_ms",
                                      "The invoicer's clock (BILLING_CLOCK), ms since the epoch",
                                      NULL);
        s->m_batch_seconds = bg_metrics_histogram(m, "billing_invoicer_commit_seconds",
                                                  "Time to commit one usage batch", NULL,
                                                  batch_bounds, 8);
        atomic_store(&s->s_heartbeat_ms, bg_time_now_ms());
        s->s_admin = bg_admin_start(s->s_conf->ic_admin_addr, m, health, s, errstr, errstr_size);
        return s->s_admin ? 0 : -1;
}

static void update_lag(inv_svc_t *s) {
        int64_t lag = 0, elag = 0, lo, hi;

        for (int p = 0; p < s->s_nusage; p++)
                if (rd_kafka_get_watermark_offsets(s->s_usage, s->s_topics.kt_usage, p, &lo,
                                                   &hi) == 0 && hi > 0) {
                        int64_t pos = s->s_usage_next[p] >= 0 ? s->s_usage_next[p] : lo;
                        if (hi > pos)
                                lag += hi - pos;
                }
        for (int p = 0; p < s->s_nevents; p++)
                if (rd_kafka_get_watermark_offsets(s->s_events, s->s_topics.kt_events, p, &lo,
                                                   &hi) == 0 && hi > s->s_events_next[p] &&
                    hi > s->s_events_eof[p])
                        elag += hi - (s->s_events_next[p] > lo ? s->s_events_next[p] : lo);
        bg_gauge_set(s->m_usage_lag, lag);
        bg_gauge_set(s->m_events_lag, elag);
}

static int kafka_setup(inv_svc_t *s, char *errstr, size_t errstr_size) {
        const inv_conf_t *c = s->s_conf;
        char reader_group[200], txn_id[200], prefetch_kb[24], backoff_ms[24];
        kc_client_opts_t dlq_opts = {.kco_opaque = s, .kco_dr_msg_cb = on_dlq_delivery};
        kc_client_opts_t txn_opts = {.kco_dr_msg_cb = kc_dr_commit_wakeup};
        const char *events_props[] = {"group.id", reader_group, "isolation.level", "read_committed",
                                      "enable.partition.eof", "true",
                                      "enable.auto.commit", "false",
                                      "enable.auto.offset.store", "false",
                                      "fetch.max.bytes", "52428800", NULL};
        const char *usage_props[] = {"group.id", reader_group, "isolation.level", "read_committed",
                                     "enable.auto.commit", "false",
                                     "enable.auto.offset.store", "false",
                                     "fetch.max.bytes", "52428800",
                                     "max.partition.fetch.bytes", "8388608",
                                     "queued.min.messages", "10000000",
                                     "queued.max.messages.kbytes", prefetch_kb,
                                     "fetch.queue.backoff.ms", backoff_ms, NULL};
        const char *dlq_props[] = {"enable.idempotence", "true", "linger.ms", "5", NULL};
        const char *txn_props[] = {"transactional.id", txn_id, "partitioner", "murmur2_random",
                                   "transaction.timeout.ms", "60000", NULL};
        const char *marker_props[] = {"group.id", s->s_marker_group,
                                      "isolation.level", "read_committed",
                                      "enable.auto.commit", "false", NULL};
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_error_t *error;
        rd_kafka_resp_err_t err;

        /* librdkafka stops fetching a partition once its read-ahead queue reaches either
         * limit, and looks again after fetch.queue.backoff.ms (a second by default): the
         * invoicer empties the queue sooner than that, so it looks again after
         * BILLING_FETCH_BACKOFF_MS. The message-count limit is set out of reach; the size
         * limit is the one that bounds memory (docs/invoicer.md, "Performance"). */
        snprintf(prefetch_kb, sizeof(prefetch_kb), "%" PRId64, c->ic_prefetch_kb);
        snprintf(backoff_ms, sizeof(backoff_ms), "%" PRId64, c->ic_fetch_backoff_ms);

        snprintf(reader_group, sizeof(reader_group), "%s-reader", c->ic_group);
        snprintf(txn_id, sizeof(txn_id), "%s-%s", c->ic_group, c->ic_instance);
        snprintf(s->s_marker_group, sizeof(s->s_marker_group), "%s-outbox", c->ic_group);
        if ((s->s_events = kc_client_new(RD_KAFKA_CONSUMER, events_props, NULL, errstr,
                                      errstr_size)) == NULL ||
            (s->s_usage = kc_client_new(RD_KAFKA_CONSUMER, usage_props, NULL, errstr,
                                     errstr_size)) == NULL ||
            (s->s_dlq = kc_client_new(RD_KAFKA_PRODUCER, dlq_props, &dlq_opts, errstr,
                                      errstr_size)) == NULL ||
            (s->s_txn = kc_client_new(RD_KAFKA_PRODUCER, txn_props, &txn_opts, errstr,
                                   errstr_size)) == NULL ||
            (s->s_marker = kc_client_new(RD_KAFKA_CONSUMER, marker_props, NULL, errstr,
                                      errstr_size)) == NULL)
                return -1;
        s->s_usage_q = rd_kafka_queue_get_consumer(s->s_usage);
        if (s->s_usage_q == NULL) {
                snprintf(errstr, errstr_size, "no consumer queue for \"%s\"",
                         s->s_topics.kt_usage);
                return -1;
        }
        s->s_nevents = kc_topic_partition_count(s->s_events, s->s_topics.kt_events,
                                                KAFKA_TIMEOUT_MS, errstr, errstr_size);
        s->s_nusage = kc_topic_partition_count(s->s_usage, s->s_topics.kt_usage, KAFKA_TIMEOUT_MS,
                                               errstr, errstr_size);
        if (s->s_nevents < 0 || s->s_nusage < 0)
                return -1;
        if (s->s_nevents > MAX_PARTITIONS || s->s_nusage > MAX_PARTITIONS) {
                snprintf(errstr, errstr_size, "more than %d partitions", MAX_PARTITIONS);
                return -1;
        }
        /* Fences an earlier incarnation and aborts the invoice transaction it left open. */
        error = rd_kafka_init_transactions(s->s_txn, KAFKA_TIMEOUT_MS);
        if (error != NULL) {
                snprintf(errstr, errstr_size, "init_transactions of \"%s\": %s", txn_id,
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return -1;
        }
        s->s_marker_cgmd = rd_kafka_consumer_group_metadata_new(s->s_marker_group);
        parts = rd_kafka_topic_partition_list_new(s->s_nevents);
        for (int p = 0; p < s->s_nevents; p++) {
                rd_kafka_topic_partition_list_add(parts, s->s_topics.kt_events, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
                s->s_events_next[p] = 0;
                s->s_events_eof[p] = -1;
        }
        err = rd_kafka_assign(s->s_events, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                snprintf(errstr, errstr_size, "cannot assign \"%s\": %s", s->s_topics.kt_events,
                         rd_kafka_err2str(err));
                return -1;
        }
        bg_log_info("instance \"%s\" (transactional.id %s): %d partitions of \"%s\", %d of \"%s\"",
                    c->ic_instance, txn_id, s->s_nevents, s->s_topics.kt_events, s->s_nusage,
                    s->s_topics.kt_usage);
        return 0;
}

static int committer_start(inv_svc_t *s) {
        inv_committer_t *c = &s->s_committer;

        if (pthread_mutex_init(&c->c_mu, NULL) != 0)
                return -1;
        if (pthread_cond_init(&c->c_cv, NULL) != 0) {
                pthread_mutex_destroy(&c->c_mu);
                return -1;
        }
        if (pthread_create(&c->c_thread, NULL, committer_main, s) != 0) {
                pthread_cond_destroy(&c->c_cv);
                pthread_mutex_destroy(&c->c_mu);
                return -1;
        }
        c->c_started = true;
        return 0;
}

/* Lets the batch in flight finish (its outcome is settled on the next start from
 * PostgreSQL either way), then ends the thread. */
static void committer_stop(inv_svc_t *s) {
        inv_committer_t *c = &s->s_committer;

        if (!c->c_started)
                return;
        (void)commit_wait(s);
        pthread_mutex_lock(&c->c_mu);
        c->c_quit = true;
        pthread_cond_broadcast(&c->c_cv);
        pthread_mutex_unlock(&c->c_mu);
        pthread_join(c->c_thread, NULL);
        pthread_cond_destroy(&c->c_cv);
        pthread_mutex_destroy(&c->c_mu);
        c->c_started = false;
}

static void service_teardown(inv_svc_t *s) {
        size_t pos = 0;
        void *v;

        committer_stop(s);

        if (s->s_usage_q)
                rd_kafka_queue_destroy(s->s_usage_q);
        if (s->s_usage) {
                rd_kafka_consumer_close(s->s_usage);
                rd_kafka_destroy(s->s_usage);
        }
        if (s->s_events) {
                rd_kafka_consumer_close(s->s_events);
                rd_kafka_destroy(s->s_events);
        }
        if (s->s_marker) {
                rd_kafka_consumer_close(s->s_marker);
                rd_kafka_destroy(s->s_marker);
        }
        if (s->s_marker_cgmd)
                rd_kafka_consumer_group_metadata_destroy(s->s_marker_cgmd);
        if (s->s_txn)
                rd_kafka_destroy(s->s_txn);
        if (s->s_dlq) {
                rd_kafka_flush(s->s_dlq, 10000);
                rd_kafka_destroy(s->s_dlq);
        }
        inv_store_destroy(s->s_store);
        if (s->s_held_ids)
                drop_held(s);
        bg_uuidmap_destroy(s->s_held_ids);
        while (s->s_finalized && bg_uuidmap_next(s->s_finalized, &pos, NULL, &v))
                free(v);
        bg_uuidmap_destroy(s->s_finalized);
        work_free(&s->s_work[0]);
        work_free(&s->s_work[1]);
        inv_dedup_destroy(s->s_dedup);
        inv_totals_destroy(s->s_totals);
        inv_members_destroy(s->s_members);
        codec_destroy(s->s_codec);
        codec_registry_destroy(s->s_reg);
        bg_admin_stop(s->s_admin);
        bg_metrics_destroy(s->s_metrics);
        free(s->s_held);
        free(s->s_msgs);
        free(s->s_u);
        free(s->s_ev);
}

static int codec_setup(inv_svc_t *s, char *errstr, size_t errstr_size) {
        const char *dir = bg_env_str("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR);
        codec_conf_t cc;

        codec_conf_init(&cc);
        cc.max_message_size = CODEC_MAX_MESSAGE_LIMIT / 16;  /* large invoices: 16 MiB */
        s->s_reg = codec_registry_from_env(dir, errstr, errstr_size);
        if (s->s_reg == NULL)
                return -1;
        s->s_codec = codec_new(s->s_reg, &cc, errstr, errstr_size);
        return s->s_codec ? 0 : -1;
}

/* What the loop does with a batch's outcome: carry on (0); start over from what
 * PostgreSQL has after a transaction that is gone or whose outcome is unknown (1); stop
 * (-1, s_fatal set). */
static int recover(inv_svc_t *s, batch_t b, volatile sig_atomic_t *stop) {
        if (b == BATCH_OK)
                return 0;
        if (b == BATCH_REPLAY) {
                bg_counter_add(s->m_pg_recoveries, 1);
                if (store_setup(s, stop) == 0)
                        return 1;
        }
        s->s_fatal = true;
        return -1;
}

int inv_service_run(const inv_conf_t *conf, volatile sig_atomic_t *stop) {
        inv_svc_t *s = calloc(1, sizeof(*s));
        char errstr[512];
        int rc = 1;

        if (s == NULL)
                return 1;
        s->s_conf = conf;
        inv_batch_init(&s->s_work[0].w_batch);
        inv_batch_init(&s->s_work[1].w_batch);
        s->s_cur = &s->s_work[0];
        s->s_u = malloc(sizeof(*s->s_u));
        s->s_ev = malloc(sizeof(*s->s_ev));
        s->s_msgs = calloc((size_t)conf->ic_batch_max, sizeof(*s->s_msgs));
        s->s_members = inv_members_new();
        s->s_dedup = inv_dedup_new((size_t)conf->ic_dedup_capacity);
        s->s_totals = inv_totals_new();
        s->s_held_ids = bg_uuidmap_new();
        s->s_finalized = bg_uuidmap_new();
        s->s_store = inv_store_new(conf->ic_pg_conninfo, conf->ic_pg_schema,
                                   conf->ic_migrations_dir);
        if (!s->s_u || !s->s_ev || !s->s_msgs || !s->s_members || !s->s_dedup ||
            !s->s_totals || !s->s_held_ids || !s->s_finalized || !s->s_store) {
                bg_log_error("cannot start: out of memory");
                goto out;
        }
        if (inv_clock_init(&s->s_clock, conf->ic_clock, errstr, sizeof(errstr)) != 0 ||
            kc_topics_load(&s->s_topics, errstr, sizeof(errstr)) != 0 ||
            metrics_setup(s, errstr, sizeof(errstr)) != 0 ||
            codec_setup(s, errstr, sizeof(errstr)) != 0 ||
            kafka_setup(s, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                goto out;
        }
        if (committer_start(s) != 0) {
                bg_log_error("cannot start the committer thread");
                goto out;
        }
        bg_log_info("admin port on 127.0.0.1:%d (/healthz, /metrics); clock %s; schema \"%s\"",
                    bg_admin_port(s->s_admin), conf->ic_clock, conf->ic_pg_schema);
        if (store_setup(s, stop) != 0 || outbox_recover(s) != 0)
                goto out;
        while (!events_catch_up(s, -1, stop)) {
                /* Without a deadline only a stop request, a fatal error or a failed end
                 * offsets query (a topic just created, the broker restarting) ends the
                 * catch-up: the last is retried, never taken for a stop request. */
                struct timespec pause = {1, 0};

                if (*stop || s->s_fatal)
                        goto stopped;
                bg_log_warn("cannot ask \"%s\" for its end offsets yet: retrying in 1 s",
                            s->s_topics.kt_events);
                nanosleep(&pause, NULL);
        }
        bg_log_info("caught up with \"%s\": %zu projects; %zu usage ids in the window, %zu held",
                    s->s_topics.kt_events, inv_members_project_count(s->s_members),
                    inv_dedup_count(s->s_dedup), s->s_nheld);
        s->s_last_prune_clock = inv_clock_now(&s->s_clock);
        if (publish_outbox(s) < 0)
                goto out;

        while (!*stop && !s->s_fatal) {
                bool finalize, prune;
                int64_t now;
                int r = recover(s, run_batch(s, stop), stop);

                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                /* Decided once: finalizing and pruning use PostgreSQL, so no batch may be
                 * in flight when either runs. */
                now = inv_clock_now(&s->s_clock);
                finalize = bg_time_mono_ms() - s->s_last_finalize_mono >=
                           conf->ic_finalize_every_ms;
                prune = now - s->s_last_prune_clock >= PRUNE_EVERY_MS;
                if ((finalize || prune) && (r = recover(s, commit_wait(s), stop)) != 0) {
                        if (r < 0)
                                break;
                        continue;
                }
                if (finalize) {
                        r = finalize_due(s);
                        s->s_last_finalize_mono = bg_time_mono_ms();
                        if (r < 0) {
                                s->s_fatal = true;
                                break;
                        }
                        if (r > 0 && PQstatus(inv_store_conn(s->s_store)) != CONNECTION_OK &&
                            store_setup(s, stop) != 0) {
                                s->s_fatal = true;
                                break;
                        }
                }
                if (prune) {
                        int64_t cutoff = now - conf->ic_dedup_window_ms;
                        size_t pruned = inv_dedup_prune(s->s_dedup, cutoff);
                        if (inv_store_prune_dedup(s->s_store, cutoff, errstr, sizeof(errstr)) !=
                            PGX_OK)
                                bg_log_warn("cannot prune usage ids: %s", errstr);
                        if (pruned > 0)
                                bg_log_info("forgot %zu usage ids older than the window", pruned);
                        s->s_last_prune_clock = now;
                }
                if (bg_time_mono_ms() - s->s_last_lag_mono >= 1000) {
                        update_lag(s);
                        s->s_last_lag_mono = bg_time_mono_ms();
                }
        }
stopped:
        rc = s->s_fatal ? 1 : 0;
        bg_log_info("stopping (%s)", rc ? "fatal error" : "signal");
out:
        service_teardown(s);
        free(s);
        return rc;
}
