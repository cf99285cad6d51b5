/*
 * The command bus of the API: commands are published to billing.commands keyed by their
 * account id with the murmur2 partitioner (the commands service's contract, see
 * expected_partition() in services/commands/cmd_service.c); one thread reads every
 * partition of billing.command-results (read_committed) and hands each result to the
 * request waiting for that command id. Results of commands nobody here waits for (other
 * API instances, platform services) are skipped.
 *
 * The reader is positioned at the high watermark of every results partition before the
 * first command goes out: every result of a command published later lies beyond it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bg_log.h"
#include "codec.h"
#include "bg_time.h"
#include "kc_client.h"
#include "kc_conf.h"
#include "kc_topics.h"

#define KAFKA_TIMEOUT_MS 30000

typedef struct bus_waiter_s {
        bg_uuid_t w_id;
        bool w_done;                            /* w_res holds the result */
        bool w_failed;                          /* not delivered: w_why */
        char w_why[256];
        bg_command_result_t w_res;
        pthread_cond_t w_cv;
        struct bus_waiter_s *w_next;
} bus_waiter_t;

struct api_bus_s {
        kc_topics_t ab_topics;
        codec_registry_t *ab_reg;
        codec_t *ab_enc;                        /* under ab_enc_mu */
        codec_t *ab_dec;                        /* the results thread's */
        pthread_mutex_t ab_enc_mu;
        rd_kafka_t *ab_producer;
        rd_kafka_t *ab_consumer;
        pthread_t ab_thread;
        bool ab_thread_started;
        atomic_bool ab_stop;
        _Atomic int64_t ab_last_poll_ms;
        pthread_mutex_t ab_mu;                  /* guards the waiters */
        bus_waiter_t *ab_waiters;
};

int64_t api_mono_ms(void) {
        return bg_time_mono_ms();
}

int64_t api_now_ms(void) {
        return bg_time_now_ms();
}

/* @locality caller holds ab_mu */
static bus_waiter_t *find_waiter(api_bus_t *bus, const bg_uuid_t *id) {
        for (bus_waiter_t *w = bus->ab_waiters; w != NULL; w = w->w_next)
                if (bg_uuid_equal(&w->w_id, id))
                        return w;
        return NULL;
}

/* @locality caller holds ab_mu */
static void unlink_waiter(api_bus_t *bus, bus_waiter_t *w) {
        for (bus_waiter_t **pp = &bus->ab_waiters; *pp != NULL; pp = &(*pp)->w_next)
                if (*pp == w) {
                        *pp = w->w_next;
                        return;
                }
}

/* Delivery reports: only failures matter (a delivered command is answered by its result).
 * @locality the results thread (it polls the producer) */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        api_bus_t *bus = opaque;
        bg_uuid_t *id = m->_private;
        bus_waiter_t *w;

        (void)rk;
        if (id == NULL)
                return;
        if (m->err) {
                pthread_mutex_lock(&bus->ab_mu);
                w = find_waiter(bus, id);
                if (w != NULL && !w->w_done) {
                        w->w_failed = true;
                        snprintf(w->w_why, sizeof(w->w_why), "cannot publish to \"%s\": %s",
                                 bus->ab_topics.kt_commands, rd_kafka_err2str(m->err));
                        pthread_cond_signal(&w->w_cv);
                }
                pthread_mutex_unlock(&bus->ab_mu);
        }
        free(id);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
        (void)opaque;
        bg_log_warn("kafka client \"%s\": %s: %s", rd_kafka_name(rk),
                    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void handle_result(api_bus_t *bus, const rd_kafka_message_t *m) {
        bg_command_result_t res;
        char errstr[512];
        bus_waiter_t *w;

        if (codec_decode_result(bus->ab_dec, m->payload, m->len, &res, errstr,
                                sizeof(errstr)) != CODEC_OK) {
                bg_log_warn("cannot decode result at \"%s\" [%d] offset %" PRId64 ": %s",
                            rd_kafka_topic_name(m->rkt), (int)m->partition, m->offset, errstr);
                return;
        }
        pthread_mutex_lock(&bus->ab_mu);
        w = find_waiter(bus, &res.command_id);
        if (w != NULL) {
                w->w_res = res;
                w->w_done = true;
                pthread_cond_signal(&w->w_cv);
        }
        pthread_mutex_unlock(&bus->ab_mu);
}

static void *results_main(void *opaque) {
        api_bus_t *bus = opaque;

        while (!atomic_load(&bus->ab_stop)) {
                rd_kafka_message_t *m;

                rd_kafka_poll(bus->ab_producer, 0);
                m = rd_kafka_consumer_poll(bus->ab_consumer, 20);
                atomic_store(&bus->ab_last_poll_ms, api_mono_ms());
                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        handle_result(bus, m);
                else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        bg_log_warn("reading \"%s\": %s", bus->ab_topics.kt_results,
                                    rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
        }
        return NULL;
}

/* Producer and consumer share the bus as opaque and report errors to it. */
static rd_kafka_t *bus_client_new(api_bus_t *bus, rd_kafka_type_t type, const char *const *props,
                                  char *errstr, size_t errstr_size) {
        kc_client_opts_t opts = {.kco_opaque = bus, .kco_error_cb = on_error};

        if (type == RD_KAFKA_PRODUCER)
                opts.kco_dr_msg_cb = on_delivery;
        return kc_client_new(type, props, &opts, errstr, errstr_size);
}

/* Assigns every results partition at its current high watermark. */
static int position_at_end(api_bus_t *bus, char *errstr, size_t errstr_size) {
        const char *topic = bus->ab_topics.kt_results;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_resp_err_t err;
        int n;

        n = kc_topic_partition_count(bus->ab_consumer, topic, KAFKA_TIMEOUT_MS, errstr,
                                     errstr_size);
        if (n < 0)
                return -1;
        parts = rd_kafka_topic_partition_list_new(n);
        for (int p = 0; p < n; p++) {
                int64_t lo, hi;

                err = kc_watermarks(bus->ab_consumer, topic, p, &lo, &hi, KAFKA_TIMEOUT_MS);
                if (err) {
                        snprintf(errstr, errstr_size, "cannot read the end of \"%s\" [%d]: %s",
                                 topic, p, rd_kafka_err2str(err));
                        rd_kafka_topic_partition_list_destroy(parts);
                        return -1;
                }
                rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
        }
        err = rd_kafka_assign(bus->ab_consumer, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        if (err) {
                snprintf(errstr, errstr_size, "cannot assign \"%s\": %s", topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        bg_log_info("reading results from \"%s\" (%d partitions) from their end", topic, n);
        return 0;
}

api_bus_t *api_bus_new(const char *schemas_dir, char *errstr, size_t errstr_size) {
        const char *producer_props[] = {"partitioner", "murmur2_random", "linger.ms", "1",
                                        "enable.idempotence", "true",
                                        "message.timeout.ms", "30000", NULL};
        const char *consumer_props[] = {"group.id", "billing-api-results",
                                        "isolation.level", "read_committed",
                                        "fetch.wait.max.ms", "10",
                                        "enable.auto.commit", "false",
                                        "enable.auto.offset.store", "false", NULL};
        api_bus_t *bus = calloc(1, sizeof(*bus));

        if (bus == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&bus->ab_mu, NULL);
        pthread_mutex_init(&bus->ab_enc_mu, NULL);
        atomic_store(&bus->ab_last_poll_ms, api_mono_ms());
        if (kc_topics_load(&bus->ab_topics, errstr, errstr_size) != 0 ||
            (bus->ab_reg = codec_registry_from_env(schemas_dir, errstr, errstr_size)) == NULL ||
            (bus->ab_enc = codec_new(bus->ab_reg, NULL, errstr, errstr_size)) == NULL ||
            (bus->ab_dec = codec_new(bus->ab_reg, NULL, errstr, errstr_size)) == NULL ||
            (bus->ab_producer = bus_client_new(bus, RD_KAFKA_PRODUCER, producer_props, errstr,
                                           errstr_size)) == NULL ||
            (bus->ab_consumer = bus_client_new(bus, RD_KAFKA_CONSUMER, consumer_props, errstr,
                                           errstr_size)) == NULL ||
            position_at_end(bus, errstr, errstr_size) != 0)
                goto out_destroy;
        if (pthread_create(&bus->ab_thread, NULL, results_main, bus) != 0) {
                snprintf(errstr, errstr_size, "cannot start the results thread: %s",
                         strerror(errno));
                goto out_destroy;
        }
        bus->ab_thread_started = true;
        return bus;
out_destroy:
        api_bus_destroy(bus);
        return NULL;
}

void api_bus_destroy(api_bus_t *bus) {
        if (bus == NULL)
                return;
        atomic_store(&bus->ab_stop, true);
        if (bus->ab_thread_started)
                pthread_join(bus->ab_thread, NULL);
        if (bus->ab_producer != NULL) {
                rd_kafka_flush(bus->ab_producer, 5000);
                rd_kafka_destroy(bus->ab_producer);
        }
        if (bus->ab_consumer != NULL) {
                rd_kafka_consumer_close(bus->ab_consumer);
                rd_kafka_destroy(bus->ab_consumer);
        }
        codec_destroy(bus->ab_enc);
        codec_destroy(bus->ab_dec);
        codec_registry_destroy(bus->ab_reg);
        pthread_mutex_destroy(&bus->ab_enc_mu);
        pthread_mutex_destroy(&bus->ab_mu);
        free(bus);
}

int64_t api_bus_idle_ms(const api_bus_t *bus) {
        return api_mono_ms() - atomic_load(&((api_bus_t *)bus)->ab_last_poll_ms);
}

static int publish(api_bus_t *bus, const bg_command_t *cmd, char *errstr, size_t errstr_size) {
        char key[BG_UUID_STR_LEN + 1];
        const uint8_t *buf;
        size_t len;
        bg_uuid_t *opaque = malloc(sizeof(*opaque));
        rd_kafka_resp_err_t err;
        int rc = -1;

        if (opaque == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        *opaque = cmd->command_id;
        bg_uuid_format(&cmd->account_id, key);
        pthread_mutex_lock(&bus->ab_enc_mu);
        if (codec_encode_command(bus->ab_enc, cmd, &buf, &len, errstr, errstr_size) != CODEC_OK)
                goto out_unlock;
        err = rd_kafka_producev(bus->ab_producer, RD_KAFKA_V_TOPIC(bus->ab_topics.kt_commands),
                                RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                RD_KAFKA_V_VALUE((void *)buf, len),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err) {
                snprintf(errstr, errstr_size, "cannot publish to \"%s\": %s",
                         bus->ab_topics.kt_commands, rd_kafka_err2str(err));
                goto out_unlock;
        }
        opaque = NULL;                          /* the delivery report frees it */
        rc = 0;
out_unlock:
        pthread_mutex_unlock(&bus->ab_enc_mu);
        free(opaque);
        return rc;
}

api_bus_status_t api_bus_submit(api_bus_t *bus, const bg_command_t *cmd, int64_t deadline_ms,
                                bg_command_result_t *out, char *errstr, size_t errstr_size) {
        bus_waiter_t w;
        pthread_condattr_t ca;
        struct timespec until;
        api_bus_status_t st;

        memset(&w, 0, sizeof(w));
        w.w_id = cmd->command_id;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w.w_cv, &ca);
        pthread_condattr_destroy(&ca);
        until.tv_sec = (time_t)(deadline_ms / 1000);
        until.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;

        pthread_mutex_lock(&bus->ab_mu);
        if (find_waiter(bus, &w.w_id) != NULL) {
                pthread_mutex_unlock(&bus->ab_mu);
                pthread_cond_destroy(&w.w_cv);
                snprintf(errstr, errstr_size, "a request for this command id is already waiting");
                return API_BUS_ERROR;
        }
        w.w_next = bus->ab_waiters;
        bus->ab_waiters = &w;
        pthread_mutex_unlock(&bus->ab_mu);

        if (publish(bus, cmd, errstr, errstr_size) != 0) {
                st = API_BUS_ERROR;
                pthread_mutex_lock(&bus->ab_mu);
                goto out_unlink;
        }
        pthread_mutex_lock(&bus->ab_mu);
        while (!w.w_done && !w.w_failed)
                if (pthread_cond_timedwait(&w.w_cv, &bus->ab_mu, &until) == ETIMEDOUT)
                        break;
        if (w.w_done) {
                *out = w.w_res;
                st = API_BUS_OK;
        } else if (w.w_failed) {
                snprintf(errstr, errstr_size, "%s", w.w_why);
                st = API_BUS_ERROR;
        } else {
                snprintf(errstr, errstr_size, "no result within the write timeout");
                st = API_BUS_TIMEOUT;
        }
out_unlink:
        unlink_waiter(bus, &w);
        pthread_mutex_unlock(&bus->ab_mu);
        pthread_cond_destroy(&w.w_cv);
        return st;
}
