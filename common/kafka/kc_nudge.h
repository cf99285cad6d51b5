/*
 * kc_nudge: keeps a consumer's read-ahead fetching while its application is busy.
 *
 * librdkafka 2.0 (Debian 12's) stops fetching a partition once the consumer's read-ahead
 * reaches queued.min.messages or queued.max.messages.kbytes, and decides again only when
 * the partition leader's broker thread wakes up: on network I/O, on an operation queued
 * to it, or after a full second (fetch.queue.backoff.ms, which bounds that wait, came in
 * 2.2, and is still a second by default in 2.12, the version deploy/librdkafka builds).
 * An application that empties the read-ahead in less than that second, and sends
 * nothing else through that client meanwhile, waits for messages until the second is
 * over.
 *
 * A nudger is a thread that every @interval_ms sends one ListOffsets request (a
 * watermark query) for one partition of @topic, round robin, through the consumer @rk.
 * The request is queued to the leader's broker thread, which wakes up and resumes
 * fetching every partition whose read-ahead is below the limits again. It costs one small
 * round trip per interval and nothing on the caller's thread.
 */
#ifndef KC_NUDGE_H
#define KC_NUDGE_H

#include <librdkafka/rdkafka.h>

typedef struct kc_nudge_s kc_nudge_t;

/* Starts the thread; @topic is copied. NULL if it cannot be started. */
kc_nudge_t *kc_nudge_start(rd_kafka_t *rk, const char *topic, int partitions,
                           int interval_ms);

/* Stops and joins the thread (within one query's timeout), frees @n. NULL is ignored. */
void kc_nudge_stop(kc_nudge_t *n);

#endif
