#include "hostile_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "bg_admin_http.h"
#include "bg_proc.h"
#include "kc_conf.h"

int64_t hs_mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hs_sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

void hs_mem(pid_t pid, hs_mem_t *out) {
        char path[64], line[256];
        FILE *f;

        memset(out, 0, sizeof(*out));
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "r");
        if (f == NULL)
                fail_msg("cannot read %s: is pid %d gone?", path, (int)pid);
        while (fgets(line, sizeof(line), f) != NULL) {
                if (strncmp(line, "VmHWM:", 6) == 0)
                        out->hm_hwm_kb = atol(line + 6);
                else if (strncmp(line, "VmRSS:", 6) == 0)
                        out->hm_rss_kb = atol(line + 6);
                else if (strncmp(line, "VmPeak:", 7) == 0)
                        out->hm_peak_kb = atol(line + 7);
        }
        fclose(f);
        assert_true(out->hm_hwm_kb > 0);
}

int hs_free_port(void) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t sl = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;

        assert_true(fd >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
        port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

long long hs_metric(int port, const char *series) {
        return bg_admin_metric(port, series);
}

int hs_http_status(int port, const char *path) {
        return bg_http_get(port, path, NULL, 0);
}

/* TCP ports @pid listens on (IPv4). */
static size_t listen_ports(pid_t pid, int *ports, size_t max) {
        char path[128], link[128], line[512];
        unsigned long inodes[256];
        size_t ninodes = 0, n = 0;
        struct dirent *de;
        DIR *d;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        d = opendir(path);
        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL && ninodes < 256) {
                char fdp[512];
                ssize_t l;

                snprintf(fdp, sizeof(fdp), "%s/%s", path, de->d_name);
                l = readlink(fdp, link, sizeof(link) - 1);
                if (l <= 0)
                        continue;
                link[l] = '\0';
                if (strncmp(link, "socket:[", 8) == 0)
                        inodes[ninodes++] = strtoul(link + 8, NULL, 10);
        }
        closedir(d);
        snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
        f = fopen(path, "r");
        if (f == NULL)
                return 0;
        while (fgets(line, sizeof(line), f) != NULL && n < max) {
                unsigned local_port, state;
                unsigned long inode;
                char local[64], remote[64];

                if (sscanf(line, " %*d: %63s %63s %x %*s %*s %*s %*s %*s %lu", local, remote,
                           &state, &inode) != 4 || state != 0x0A)
                        continue;
                if (sscanf(strchr(local, ':') + 1, "%x", &local_port) != 1)
                        continue;
                for (size_t i = 0; i < ninodes; i++)
                        if (inodes[i] == inode)
                                ports[n++] = (int)local_port;
        }
        fclose(f);
        return n;
}

int hs_healthz(pid_t pid) {
        int ports[16], last = 0;
        size_t n = listen_ports(pid, ports, 16);

        for (size_t i = 0; i < n; i++) {
                int st = hs_http_status(ports[i], "/healthz");
                if (st == 200)
                        return 200;
                if (st != 0)
                        last = st;
        }
        return last;
}

void hs_assert_no_sanitizer_report(const char *log_path) {
        static const char *const needles[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                              "runtime error:", "SUMMARY: UndefinedBehavior",
                                              NULL};
        char line[8192];
        FILE *f = fopen(log_path, "r");

        if (f == NULL)
                fail_msg("cannot open %s", log_path);
        while (fgets(line, sizeof(line), f) != NULL)
                for (const char *const *n = needles; *n; n++)
                        if (strstr(line, *n) != NULL) {
                                fclose(f);
                                fail_msg("sanitizer report in %s: %s", log_path, line);
                        }
        fclose(f);
}

void hs_assert_alive_and_well(pid_t pid, const char *name, const char *log_path,
                              const hs_mem_t *before) {
        hs_mem_t after;
        int st = 0, health = 0;

        if (!bg_proc_running(pid, &st))
                fail_msg("%s (pid %d) is gone: status %d; see %s", name, (int)pid, st, log_path);
        for (int i = 0; i < 50 && (health = hs_healthz(pid)) != 200; i++)
                hs_sleep_ms(100);
        if (health != 200)
                fail_msg("%s (pid %d): /healthz answered %d; see %s", name, (int)pid, health,
                         log_path);
        hs_mem(pid, &after);
        print_message("hostile-rss %s pid %d: VmHWM %ld -> %ld KiB, VmRSS %ld -> %ld KiB, "
                      "VmPeak %ld -> %ld KiB\n", name, (int)pid, before->hm_hwm_kb,
                      after.hm_hwm_kb, before->hm_rss_kb, after.hm_rss_kb, before->hm_peak_kb,
                      after.hm_peak_kb);
        if (after.hm_hwm_kb >= 2 * before->hm_hwm_kb + HS_HWM_SLACK_KB)
                fail_msg("%s: peak RSS %ld KiB, over 2 x %ld KiB + 64 MiB", name,
                         after.hm_hwm_kb, before->hm_hwm_kb);
        if (after.hm_peak_kb >= before->hm_peak_kb + HS_PEAK_SLACK_KB)
                fail_msg("%s: peak virtual size grew by %ld KiB (a huge allocation?)", name,
                         after.hm_peak_kb - before->hm_peak_kb);
        hs_assert_no_sanitizer_report(log_path);
}

void hs_stop_clean(pid_t pid, const char *name, const char *log_path) {
        int st = bg_proc_stop(pid, SIGTERM, 30000);

        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("%s (pid %d) did not exit cleanly on SIGTERM: wait status 0x%x; see %s",
                         name, (int)pid, st, log_path);
        hs_assert_no_sanitizer_report(log_path);
}

/* ------------------------------------------------------------------ dead letters */

static void header(rd_kafka_headers_t *h, const char *name, char *buf, size_t size) {
        const void *v;
        size_t len;

        buf[0] = '\0';
        if (h != NULL && rd_kafka_header_get_last(h, name, &v, &len) == 0 && v != NULL)
                snprintf(buf, size, "%.*s", (int)len, (const char *)v);
}

size_t hs_read_dlq(const char *topic, hs_dlq_rec_t **out) {
        const char *props[] = {"group.id", "unused", "isolation.level", "read_committed",
                               "enable.partition.eof", "true", "enable.auto.commit", "false",
                               "fetch.message.max.bytes", "4194304", NULL};
        char errstr[512];
        rd_kafka_conf_t *conf = kc_conf_from_env(errstr, sizeof(errstr));
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        hs_dlq_rec_t *recs = NULL;
        size_t n = 0, cap = 0;
        bool eof = false;
        rd_kafka_t *rk;

        if (conf == NULL)
                fail_msg("%s", errstr);
        for (const char *const *p = props; *p; p += 2)
                if (kc_conf_set(conf, p[0], p[1], errstr, sizeof(errstr)) != 0)
                        fail_msg("%s", errstr);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fail_msg("%s", errstr);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
        assert_int_equal(rd_kafka_assign(rk, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
        for (int polls = 0; polls < 600 && !eof; polls++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rd_kafka_headers_t *h = NULL;
                char num[64];

                if (m == NULL)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        eof = true;
                } else if (!m->err) {
                        hs_dlq_rec_t *r;

                        if (n == cap) {
                                cap = cap ? cap * 2 : 64;
                                recs = realloc(recs, cap * sizeof(*recs));
                                assert_non_null(recs);
                        }
                        r = &recs[n++];
                        memset(r, 0, sizeof(*r));
                        r->hr_value = malloc(m->len ? m->len : 1);
                        assert_non_null(r->hr_value);
                        if (m->len)
                                memcpy(r->hr_value, m->payload, m->len);
                        r->hr_len = m->len;
                        r->hr_has_key = m->key != NULL;
                        rd_kafka_message_headers(m, &h);
                        header(h, "dlq_reason", r->hr_reason, sizeof(r->hr_reason));
                        header(h, "dlq_service", r->hr_service, sizeof(r->hr_service));
                        header(h, "dlq_source_topic", r->hr_source_topic,
                               sizeof(r->hr_source_topic));
                        header(h, "dlq_source_partition", num, sizeof(num));
                        r->hr_source_partition = num[0] ? atoi(num) : -1;
                        header(h, "dlq_source_offset", num, sizeof(num));
                        r->hr_source_offset = num[0] ? atoll(num) : -1;
                } else if (m->err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
                           m->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                        fail_msg("reading %s: %s", topic, rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
        }
        if (!eof)
                fail_msg("did not reach the end of %s", topic);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        *out = recs;
        return n;
}

void hs_dlq_free(hs_dlq_rec_t *recs, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(recs[i].hr_value);
        free(recs);
}

void hs_assert_dlq_headers(const hs_dlq_rec_t *recs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const hs_dlq_rec_t *r = &recs[i];

                if (r->hr_reason[0] == '\0' || r->hr_service[0] == '\0' ||
                    r->hr_source_topic[0] == '\0' || r->hr_source_offset < 0 ||
                    r->hr_source_partition < 0)
                        fail_msg("dead letter %zu lacks headers: reason \"%s\" service \"%s\" "
                                 "topic \"%s\" [%d] offset %lld", i, r->hr_reason, r->hr_service,
                                 r->hr_source_topic, r->hr_source_partition, r->hr_source_offset);
        }
}

long hs_dlq_take(const hs_dlq_rec_t *recs, size_t n, bool *used, const char *service,
                 const void *buf, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (!used[i] && recs[i].hr_len == len &&
                    (service == NULL || strcmp(recs[i].hr_service, service) == 0) &&
                    (len == 0 || memcmp(recs[i].hr_value, buf, len) == 0)) {
                        used[i] = true;
                        return (long)i;
                }
        return -1;
}

/* ------------------------------------------------------------------ schemas */

int32_t hs_register_future_payload(codec_registry_t *reg, const char *subject,
                                   const char *file, const char *record, const char *field,
                                   char **json_out) {
        json_t *schema, *fields, *payload = NULL;
        json_error_t jerr;
        char path[512], errstr[512];
        int32_t id;

        snprintf(path, sizeof(path), "%s/%s", BG_SCHEMAS_DIR, file);
        schema = json_load_file(path, 0, &jerr);
        if (schema == NULL)
                fail_msg("%s: %s", path, jerr.text);
        fields = json_object_get(schema, "fields");
        for (size_t i = 0; i < json_array_size(fields); i++)
                if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                           "payload") == 0)
                        payload = json_object_get(json_array_get(fields, i), "type");
        if (payload == NULL)
                fail_msg("%s has no payload union", path);
        json_array_append_new(payload,
                              json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}]}", "type", "record",
                                        "name", record, "fields", "name", field, "type",
                                        "type", "string", "logicalType", "uuid"));
        *json_out = json_dumps(schema, JSON_COMPACT);
        json_decref(schema);
        if (*json_out == NULL)
                fail_msg("cannot write the schema with %s", record);
        if (codec_registry_register(reg, subject, *json_out, &id, errstr, sizeof(errstr)) !=
            CODEC_OK)
                fail_msg("cannot register %s with %s under \"%s\" (the suite needs the stack's "
                         "schema registry, BILLING_SCHEMA_REGISTRY_URL): %s", file, record,
                         subject, errstr);
        return id;
}
