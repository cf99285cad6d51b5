/*
 * Checks shared by the bad-input suite (cmocka): a service is still up and well (same
 * pid, /healthz 200, memory bounded, no sanitizer report in its log), and dead-letter
 * topics read back record by record with their headers.
 */
#ifndef HOSTILE_SUPPORT_H
#define HOSTILE_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

/* Memory figures of a process, from /proc/<pid>/status, in KiB. */
typedef struct hs_mem_s {
        long hm_hwm_kb;         /* VmHWM: peak resident set */
        long hm_rss_kb;         /* VmRSS */
        long hm_peak_kb;        /* VmPeak: peak virtual size (an untouched 1 GiB malloc
                                 * shows here, not in the resident set) */
} hs_mem_t;

void hs_mem(pid_t pid, hs_mem_t *out);

/* The bounds the suite asserts after the hostile corpus, against @before:
 *   VmHWM  < 2 x before + 64 MiB
 *   VmPeak < before + 512 MiB   (a 1 GiB allocation, touched or not, breaks it; ctest
 *   runs the suite with MALLOC_ARENA_MAX=1 so arena reservations do not count) */
#define HS_HWM_SLACK_KB  (64L * 1024)
#define HS_PEAK_SLACK_KB (512L * 1024)

/* Registers in @reg, under @subject (one of the test's own: registering it under the
 * stack's subject would switch every encoder to it), the schema of file @file of schemas/
 * with one more branch in its payload union: a record @record of one uuid field @field.
 * Returns the schema id; *json_out gets its JSON (free it). Fails the test when the
 * registry refuses. */
int32_t hs_register_future_payload(codec_registry_t *reg, const char *subject,
                                   const char *file, const char *record, const char *field,
                                   char **json_out);

/* A free TCP port on 127.0.0.1 (bound then released). */
int hs_free_port(void);

/* GET /healthz on @port: the status, or 0 when nothing answered. */
int hs_http_status(int port, const char *path);

/* The value of the metric line starting with @series (e.g. "x_total{a=\"b\"}") on
 * http://127.0.0.1:@port/metrics, or -1. */
long long hs_metric(int port, const char *series);

/* Status of GET /healthz on the admin port of @pid, found among the TCP ports @pid
 * listens on (/proc/<pid>/fd and /proc/net/tcp): 200 when one of them answers 200, else
 * the last status seen (0: none answered). */
int hs_healthz(pid_t pid);

/* Fails when @log_path has a sanitizer report (AddressSanitizer, LeakSanitizer,
 * UndefinedBehaviorSanitizer "runtime error:"). */
void hs_assert_no_sanitizer_report(const char *log_path);

/* Asserts that @pid (a child) still runs, answers /healthz 200, stayed within the
 * memory bounds against @before, and logged no sanitizer report; prints the figures as
 * "hostile-rss <name> ..." lines. */
void hs_assert_alive_and_well(pid_t pid, const char *name, const char *log_path,
                              const hs_mem_t *before);

/* SIGTERM, then asserts a clean exit (status 0: with ASan and detect_leaks=1 a leak
 * makes it non-zero) and no sanitizer report in the log. */
void hs_stop_clean(pid_t pid, const char *name, const char *log_path);

/* One dead letter. */
typedef struct hs_dlq_rec_s {
        uint8_t *hr_value;
        size_t hr_len;
        bool hr_has_key;
        char hr_reason[1024];
        char hr_service[64];
        char hr_source_topic[256];
        int hr_source_partition;
        long long hr_source_offset;
} hs_dlq_rec_t;

/* Every committed record of the single-partition @topic, to its end. */
size_t hs_read_dlq(const char *topic, hs_dlq_rec_t **out);
void hs_dlq_free(hs_dlq_rec_t *recs, size_t n);

/* Asserts that every record has a non-empty dlq_reason, dlq_service, dlq_source_topic and
 * offset. */
void hs_assert_dlq_headers(const hs_dlq_rec_t *recs, size_t n);

/* The index of the first record of @service whose value equals @buf/@len and that is not
 * marked in @used (then marked), or -1. */
long hs_dlq_take(const hs_dlq_rec_t *recs, size_t n, bool *used, const char *service,
                 const void *buf, size_t len);

/* Monotonic milliseconds; sleeping. */
int64_t hs_mono_ms(void);
void hs_sleep_ms(int ms);

#endif /* HOSTILE_SUPPORT_H */
