/*
 * billingctl audit verify: replays the events topic from offset 0 through audit.h and,
 * with --compare-read-models, compares the rebuilt state with PostgreSQL
 * (audit_compare.h). See docs/cli.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_compare.h"
#include "bg_env.h"
#include "cli.h"
#include "kc_topics.h"
#include "progress.h"

#define SYNOPSIS                                                                             \
        "[--topic TOPIC] [--compare-read-models [--schema SCHEMA]] [--json] [--no-progress]\n" \
        "       [--max-problems N] [--timeout SECONDS] [--threads N]"
#define KAFKA_TIMEOUT_MS 15000
#define BATCH 1024
#define MAX_PARTITIONS 4096
#define MAX_THREADS 64

typedef struct verify_opts_s {
        const char *vo_topic;
        bool vo_compare;
        const char *vo_schema;
        bool vo_json;
        bool vo_progress;
        long long vo_max_problems;
        long long vo_timeout_s;
        long long vo_threads;           /* 0: one per partition, at most the CPUs */
} verify_opts_t;

typedef struct verify_s verify_t;

/* A worker verifies the partitions p with p % nworkers == its index, from a queue of its
 * own (the partitions' queues forwarded to it), with a codec and a verifier of its own.
 * Accounts live in one partition, so the workers share nothing but the progress
 * counters. */
typedef struct worker_s {
        verify_t *w_v;
        int w_index;
        pthread_t w_thread;
        bool w_started;
        rd_kafka_queue_t *w_q;
        codec_t *w_codec;
        audit_t *w_audit;
        int w_nparts;                   /* partitions assigned to it */
        int w_neof;
        _Atomic uint64_t w_events;      /* records verified, for the progress bar */
        int w_rc;
        char w_errstr[512];
} worker_t;

struct verify_s {
        verify_opts_t v_opts;
        char v_topic[KC_TOPIC_NAME_SIZE];
        codec_registry_t *v_reg;
        rd_kafka_t *v_rk;
        int v_nparts;
        int64_t *v_lo, *v_hi;           /* per partition: watermarks at the start */
        _Atomic int64_t *v_next;        /* per partition: next offset to read */
        worker_t *v_workers;
        int v_nworkers;
        atomic_bool v_stop;
        json_t *v_diffs;                /* --json: the read-model differences */
        uint64_t v_ndiffs_shown;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
        (void)sig;
        interrupted = 1;
}

static int parse_opts(int argc, char **argv, verify_opts_t *o) {
        static const struct option longopts[] = {
                {"topic", required_argument, NULL, 't'},
                {"compare-read-models", no_argument, NULL, 'c'},
                {"schema", required_argument, NULL, 's'},
                {"json", no_argument, NULL, 'j'},
                {"no-progress", no_argument, NULL, 'P'},
                {"max-problems", required_argument, NULL, 'm'},
                {"timeout", required_argument, NULL, 'T'},
                {"threads", required_argument, NULL, 'n'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int ch;

        memset(o, 0, sizeof(*o));
        o->vo_progress = true;
        o->vo_max_problems = 1000;
        o->vo_timeout_s = 60;
        o->vo_schema = bg_env_str("BILLING_PG_SCHEMA", "billing");
        optind = 1;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
                switch (ch) {
                case 't':
                        if (*optarg == '\0')
                                return cli_usage_error("audit verify", SYNOPSIS, "empty --topic");
                        o->vo_topic = optarg;
                        break;
                case 'c':
                        o->vo_compare = true;
                        break;
                case 's':
                        o->vo_schema = optarg;
                        break;
                case 'j':
                        o->vo_json = true;
                        break;
                case 'P':
                        o->vo_progress = false;
                        break;
                case 'm':
                        if (!cli_parse_int(optarg, 1, 10000000, &o->vo_max_problems))
                                return cli_usage_error("audit verify", SYNOPSIS,
                                                       "--max-problems: \"%s\" is not a number "
                                                       "in 1..10000000", optarg);
                        break;
                case 'T':
                        if (!cli_parse_int(optarg, 1, 86400, &o->vo_timeout_s))
                                return cli_usage_error("audit verify", SYNOPSIS,
                                                       "--timeout: \"%s\" is not a number of "
                                                       "seconds in 1..86400", optarg);
                        break;
                case 'n':
                        if (!cli_parse_int(optarg, 1, MAX_THREADS, &o->vo_threads))
                                return cli_usage_error("audit verify", SYNOPSIS,
                                                       "--threads: \"%s\" is not a number in "
                                                       "1..%d", optarg, MAX_THREADS);
                        break;
                case 'h':
                        printf("usage: billingctl audit verify %s\n", SYNOPSIS);
                        return -1;
                default:
                        return cli_usage_error("audit verify", SYNOPSIS, "unknown option \"%s\"",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return cli_usage_error("audit verify", SYNOPSIS, "unexpected argument \"%s\"",
                                       argv[optind]);
        return 0;
}

/* ------------------------------------------------------------------ setup */

static int workers_setup(verify_t *v, char *errstr, size_t errstr_size) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int n = (int)v->v_opts.vo_threads;
        char why[512];

        if (n == 0)
                n = (int)(cpus > 0 && cpus < MAX_THREADS ? cpus : MAX_THREADS);
        if (n > v->v_nparts)
                n = v->v_nparts;
        v->v_workers = calloc((size_t)n, sizeof(*v->v_workers));
        if (v->v_workers == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        v->v_nworkers = n;
        for (int i = 0; i < n; i++) {
                worker_t *w = &v->v_workers[i];
                w->w_v = v;
                w->w_index = i;
                w->w_q = rd_kafka_queue_new(v->v_rk);
                w->w_codec = codec_new(v->v_reg, NULL, why, sizeof(why));
                w->w_audit = w->w_codec ? audit_new(w->w_codec, (size_t)v->v_opts.vo_max_problems)
                                        : NULL;
                if (w->w_q == NULL || w->w_audit == NULL) {
                        snprintf(errstr, errstr_size, "cannot set up worker %d: %s", i,
                                 w->w_codec ? "out of memory" : why);
                        return -1;
                }
        }
        for (int p = 0; p < v->v_nparts; p++) {
                worker_t *w = &v->v_workers[p % n];
                rd_kafka_queue_t *pq = rd_kafka_queue_get_partition(v->v_rk, v->v_topic, p);
                if (pq == NULL) {
                        snprintf(errstr, errstr_size, "cannot get the queue of \"%s\" [%d]",
                                 v->v_topic, p);
                        return -1;
                }
                rd_kafka_queue_forward(pq, w->w_q);
                rd_kafka_queue_destroy(pq);
                w->w_nparts++;
        }
        return 0;
}

static int setup(verify_t *v, char *errstr, size_t errstr_size) {
        if (v->v_opts.vo_topic != NULL) {
                snprintf(v->v_topic, sizeof(v->v_topic), "%s", v->v_opts.vo_topic);
        } else {
                kc_topics_t t;
                if (kc_topics_load(&t, errstr, errstr_size) != 0)
                        return -1;
                snprintf(v->v_topic, sizeof(v->v_topic), "%s", t.kt_events);
        }
        {
                char why[512];
                const char *dir = bg_env_str("BILLING_SCHEMAS_DIR", BG_DEFAULT_SCHEMAS_DIR);
                v->v_reg = codec_registry_from_env(dir, why, sizeof(why));
                if (v->v_reg == NULL) {
                        snprintf(errstr, errstr_size, "cannot load the schemas of \"%s\": %s",
                                 dir, why);
                        return -1;
                }
        }
        v->v_rk = cli_consumer_new(NULL, errstr, errstr_size);
        if (v->v_rk == NULL)
                return -1;
        v->v_nparts = kc_topic_partition_count(v->v_rk, v->v_topic, KAFKA_TIMEOUT_MS, errstr,
                                               errstr_size);
        if (v->v_nparts < 0)
                return -1;
        if (v->v_nparts == 0 || v->v_nparts > MAX_PARTITIONS) {
                snprintf(errstr, errstr_size, "\"%s\" has %d partitions (at most %d supported)",
                         v->v_topic, v->v_nparts, MAX_PARTITIONS);
                return -1;
        }
        v->v_lo = calloc((size_t)v->v_nparts, sizeof(int64_t));
        v->v_hi = calloc((size_t)v->v_nparts, sizeof(int64_t));
        v->v_next = calloc((size_t)v->v_nparts, sizeof(*v->v_next));
        if (!v->v_lo || !v->v_hi || !v->v_next) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (int p = 0; p < v->v_nparts; p++) {
                rd_kafka_resp_err_t err = kc_watermarks(v->v_rk, v->v_topic, p, &v->v_lo[p],
                                                        &v->v_hi[p], KAFKA_TIMEOUT_MS);

                if (err) {
                        snprintf(errstr, errstr_size, "cannot read the offsets of \"%s\" [%d]: %s",
                                 v->v_topic, p, rd_kafka_err2str(err));
                        return -1;
                }
                atomic_store(&v->v_next[p], v->v_lo[p]);
        }
        if (workers_setup(v, errstr, errstr_size) != 0)
                return -1;
        return cli_assign_all(v->v_rk, v->v_topic, v->v_nparts, RD_KAFKA_OFFSET_BEGINNING,
                              errstr, errstr_size);
}

static void teardown(verify_t *v) {
        for (int i = 0; i < v->v_nworkers; i++) {
                worker_t *w = &v->v_workers[i];
                if (w->w_started)
                        pthread_join(w->w_thread, NULL);
        }
        if (v->v_rk != NULL) {
                rd_kafka_assign(v->v_rk, NULL);
                for (int i = 0; i < v->v_nworkers; i++)
                        if (v->v_workers[i].w_q != NULL)
                                rd_kafka_queue_destroy(v->v_workers[i].w_q);
                rd_kafka_consumer_close(v->v_rk);
                rd_kafka_destroy(v->v_rk);
        }
        for (int i = 0; i < v->v_nworkers; i++) {
                audit_destroy(v->v_workers[i].w_audit);
                codec_destroy(v->v_workers[i].w_codec);
        }
        free(v->v_workers);
        codec_registry_destroy(v->v_reg);
        free(v->v_lo);
        free(v->v_hi);
        free(v->v_next);
        json_decref(v->v_diffs);
}

/* ------------------------------------------------------------------ replay */

static uint64_t events_so_far(const verify_t *v) {
        uint64_t n = 0;

        for (int i = 0; i < v->v_nworkers; i++)
                n += atomic_load(&v->v_workers[i].w_events);
        return n;
}

static void progress_show(verify_t *v, progress_t *pg, bool force) {
        uint64_t done = 0, total = 0;

        if (!pg->pg_on)
                return;
        for (int p = 0; p < v->v_nparts; p++) {
                int64_t next = atomic_load_explicit(&v->v_next[p], memory_order_relaxed);
                int64_t end = v->v_hi[p] > next ? v->v_hi[p] : next;
                total += (uint64_t)(end - v->v_lo[p]);
                done += (uint64_t)(next - v->v_lo[p]);
        }
        progress_update(pg, "verifying", done, total, events_so_far(v), force);
}

static bool fatal_fetch_error(rd_kafka_resp_err_t err) {
        return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
               err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
               err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
               err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
               err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
}

/* Reads the worker's partitions to their ends (the first partition EOF; read_committed:
 * the last stable offset). */
static void *worker_run(void *arg) {
        worker_t *w = arg;
        verify_t *v = w->w_v;
        rd_kafka_message_t *msgs[BATCH];
        int64_t idle_since = cli_now_ms();
        bool *eof = calloc((size_t)v->v_nparts, sizeof(*eof));

        if (eof == NULL) {
                snprintf(w->w_errstr, sizeof(w->w_errstr), "out of memory");
                w->w_rc = -1;
                atomic_store(&v->v_stop, true);
                return NULL;
        }
        while (w->w_rc == 0 && w->w_neof < w->w_nparts && !atomic_load(&v->v_stop)) {
                ssize_t n = rd_kafka_consume_batch_queue(w->w_q, 100, msgs, BATCH);
                if (n < 0) {
                        snprintf(w->w_errstr, sizeof(w->w_errstr), "cannot read \"%s\": %s",
                                 v->v_topic, rd_kafka_err2str(rd_kafka_last_error()));
                        w->w_rc = -1;
                        break;
                }
                if (n > 0)
                        idle_since = cli_now_ms();
                for (ssize_t i = 0; i < n; i++) {
                        rd_kafka_message_t *m = msgs[i];
                        int32_t p = m->partition;
                        if (w->w_rc != 0 || p < 0 || p >= v->v_nparts) {
                                /* draining after an error, or not ours */
                        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                if (!eof[p]) {
                                        eof[p] = true;
                                        w->w_neof++;
                                        atomic_store(&v->v_next[p], m->offset);
                                }
                        } else if (m->err) {
                                snprintf(w->w_errstr, sizeof(w->w_errstr),
                                         "cannot read \"%s\" [%d]: %s", v->v_topic, p,
                                         rd_kafka_message_errstr(m));
                                if (fatal_fetch_error(m->err))
                                        w->w_rc = -1;
                                else    /* transient: librdkafka retries */
                                        fprintf(stderr, "billingctl: %s (retrying)\n",
                                                w->w_errstr);
                        } else if (!eof[p]) {
                                atomic_store_explicit(&v->v_next[p], m->offset + 1,
                                                      memory_order_relaxed);
                                if (audit_record(w->w_audit, p, m->offset, m->key, m->key_len,
                                                 m->payload, m->len, w->w_errstr,
                                                 sizeof(w->w_errstr)) != 0)
                                        w->w_rc = -1;
                        }
                        rd_kafka_message_destroy(m);
                }
                atomic_store_explicit(&w->w_events, audit_events(w->w_audit),
                                      memory_order_relaxed);
                if (w->w_rc == 0 && cli_now_ms() - idle_since > v->v_opts.vo_timeout_s * 1000) {
                        snprintf(w->w_errstr, sizeof(w->w_errstr),
                                 "nothing read from \"%s\" for %lld s (%d of %d partitions of "
                                 "worker %d read to the end): is Kafka reachable?",
                                 v->v_topic, v->v_opts.vo_timeout_s, w->w_neof, w->w_nparts,
                                 w->w_index);
                        w->w_rc = -1;
                }
        }
        if (w->w_rc != 0)
                atomic_store(&v->v_stop, true);
        free(eof);
        return NULL;
}

/* Starts the workers, shows progress and relays client-level errors until they finish.
 * 0, or -1 with a reason. */
static int replay(verify_t *v, char *errstr, size_t errstr_size) {
        progress_t pg;
        int running;

        progress_init(&pg, v->v_opts.vo_progress);
        for (int i = 0; i < v->v_nworkers; i++) {
                worker_t *w = &v->v_workers[i];
                if (pthread_create(&w->w_thread, NULL, worker_run, w) != 0) {
                        snprintf(errstr, errstr_size, "cannot start a thread");
                        atomic_store(&v->v_stop, true);
                        return -1;
                }
                w->w_started = true;
        }
        do {
                /* Errors that concern no partition (brokers down ...) come here. */
                rd_kafka_message_t *m = rd_kafka_consumer_poll(v->v_rk, 100);
                if (m != NULL) {
                        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                fprintf(stderr, "billingctl: %s\n", rd_kafka_message_errstr(m));
                        rd_kafka_message_destroy(m);
                }
                if (interrupted)
                        atomic_store(&v->v_stop, true);
                progress_show(v, &pg, false);
                running = 0;
                for (int i = 0; i < v->v_nworkers; i++)
                        running += v->v_workers[i].w_neof < v->v_workers[i].w_nparts &&
                                   v->v_workers[i].w_rc == 0 && !atomic_load(&v->v_stop);
        } while (running > 0);
        for (int i = 0; i < v->v_nworkers; i++) {
                pthread_join(v->v_workers[i].w_thread, NULL);
                v->v_workers[i].w_started = false;
        }
        progress_show(v, &pg, true);
        progress_clear(&pg);
        for (int i = 0; i < v->v_nworkers; i++)
                if (v->v_workers[i].w_rc != 0) {
                        snprintf(errstr, errstr_size, "%s", v->v_workers[i].w_errstr);
                        return -1;
                }
        if (interrupted) {
                snprintf(errstr, errstr_size, "interrupted after %" PRIu64 " events: nothing "
                         "verified", events_so_far(v));
                return -1;
        }
        return 0;
}

/* An account must live in one partition: report one found by two workers. */
static void cross_worker_check(verify_t *v) {
        char reason[128];

        for (int i = 0; i < v->v_nworkers; i++) {
                audit_acct_t *aa;
                for (size_t pos = 0; audit_next_account(v->v_workers[i].w_audit, &pos, &aa);) {
                        for (int j = i + 1; j < v->v_nworkers; j++) {
                                audit_acct_t *other = audit_find_account(v->v_workers[j].w_audit,
                                                                         &aa->aa_id);
                                if (other == NULL)
                                        continue;
                                snprintf(reason, sizeof(reason), "events in partitions %" PRId32
                                         " and %" PRId32 " (an account has one partition)",
                                         aa->aa_partition, other->aa_partition);
                                audit_add_problem(v->v_workers[j].w_audit, AUDIT_P_PARTITION,
                                                  &aa->aa_id, 0, other->aa_partition, -1,
                                                  reason);
                        }
                }
        }
}

/* ------------------------------------------------------------------ reporting */

static json_t *problem_json(const audit_problem_t *p) {
        char id[BG_UUID_STR_LEN + 1];
        json_t *o = json_object();

        if (p->ap_has_account)
                bg_uuid_format(&p->ap_account, id);
        json_object_set_new(o, "account", p->ap_has_account ? json_string(id) : json_null());
        json_object_set_new(o, "seq", p->ap_seq > 0 ? json_integer(p->ap_seq) : json_null());
        if (p->ap_seq_last != p->ap_seq)
                json_object_set_new(o, "seq_last", json_integer(p->ap_seq_last));
        json_object_set_new(o, "kind", json_string(audit_pkind_name(p->ap_kind)));
        json_object_set_new(o, "reason", json_string(p->ap_reason));
        json_object_set_new(o, "partition", json_integer(p->ap_partition));
        json_object_set_new(o, "offset", json_integer(p->ap_offset));
        return o;
}

static void on_diff(void *opaque, const audit_diff_t *d) {
        static const char *const kinds[] = {"differs", "missing_row", "extra_row", "not_compared"};
        verify_t *v = opaque;
        char id[BG_UUID_STR_LEN + 1], line[1024];

        if (d->ad_kind != AUDIT_D_NOT_COMPARED &&
            ++v->v_ndiffs_shown > (uint64_t)v->v_opts.vo_max_problems)
                return;
        if (!v->v_opts.vo_json) {
                audit_diff_format(d, line, sizeof(line));
                puts(line);
                return;
        }
        json_t *o = json_object();
        bg_uuid_format(&d->ad_account, id);
        json_object_set_new(o, "kind", json_string(kinds[d->ad_kind]));
        json_object_set_new(o, "table", json_string(d->ad_table));
        json_object_set_new(o, "account", json_string(id));
        if (d->ad_entity != NULL) {
                json_object_set_new(o, "entity", json_string(d->ad_entity));
                json_object_set_new(o, "key", json_string(d->ad_key));
        }
        if (d->ad_kind == AUDIT_D_DIFFERS) {
                json_object_set_new(o, "field", json_string(d->ad_field));
                json_object_set_new(o, "log", json_string(d->ad_log));
                json_object_set_new(o, "read_model", json_string(d->ad_model));
        } else if (d->ad_kind == AUDIT_D_NOT_COMPARED) {
                json_object_set_new(o, "reason", json_string(d->ad_log));
        }
        json_array_append_new(v->v_diffs, o);
}

int cli_audit_verify(int argc, char **argv) {
        verify_t v;
        char errstr[1024], line[2048];
        struct sigaction sa;
        int64_t t0 = 0, t1;
        double secs;
        audit_cmp_stats_t cs;
        const audit_t **audits = NULL;
        uint64_t nprob = 0, events = 0, shown = 0;
        size_t accounts = 0;
        bool compared = false, ok;
        json_t *pa = NULL;
        int rc;

        memset(&v, 0, sizeof(v));
        rc = parse_opts(argc, argv, &v.v_opts);
        if (rc != 0)
                return rc < 0 ? CLI_EXIT_OK : rc;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        if (setup(&v, errstr, sizeof(errstr)) != 0 ||
            ((t0 = cli_now_ms()), replay(&v, errstr, sizeof(errstr))) != 0) {
                teardown(&v);
                return cli_fail("audit verify: %s", errstr);
        }
        t1 = cli_now_ms();
        secs = (double)(t1 - t0) / 1000.0;
        cross_worker_check(&v);

        audits = calloc((size_t)v.v_nworkers, sizeof(*audits));
        pa = json_array();
        if (audits == NULL || pa == NULL) {
                teardown(&v);
                free(audits);
                json_decref(pa);
                return cli_fail("audit verify: out of memory");
        }
        for (int i = 0; i < v.v_nworkers; i++) {
                const audit_t *a = v.v_workers[i].w_audit;
                const audit_problem_t *probs;
                size_t n;
                audits[i] = a;
                events += audit_events(a);
                accounts += audit_account_count(a);
                nprob += audit_problem_count(a);
                probs = audit_problems(a, &n);
                for (size_t k = 0; k < n; k++) {
                        if (probs[k].ap_withdrawn ||
                            shown >= (uint64_t)v.v_opts.vo_max_problems)
                                continue;
                        shown++;
                        if (v.v_opts.vo_json) {
                                json_array_append_new(pa, problem_json(&probs[k]));
                        } else {
                                audit_problem_format(&probs[k], line, sizeof(line));
                                puts(line);
                        }
                }
        }
        if (v.v_opts.vo_json)
                v.v_diffs = json_array();
        if (v.v_opts.vo_compare) {
                const char *conninfo = bg_env_str("BILLING_PG_CONNINFO", "dbname=billing");
                if (audit_compare(audits, (size_t)v.v_nworkers, conninfo, v.v_opts.vo_schema,
                                  on_diff, &v, &cs, errstr, sizeof(errstr)) != 0) {
                        teardown(&v);
                        free(audits);
                        json_decref(pa);
                        return cli_fail("audit verify: cannot compare the read models: %s",
                                        errstr);
                }
                compared = true;
        }

        ok = nprob == 0 && (!compared || cs.acs_differences == 0);
        double rate = secs > 0 ? (double)events / secs : 0;
        if (v.v_opts.vo_json) {
                json_t *o = json_object();
                json_object_set_new(o, "ok", json_boolean(ok));
                json_object_set_new(o, "topic", json_string(v.v_topic));
                json_object_set_new(o, "partitions", json_integer(v.v_nparts));
                json_object_set_new(o, "threads", json_integer(v.v_nworkers));
                json_object_set_new(o, "events", json_integer((json_int_t)events));
                json_object_set_new(o, "accounts", json_integer((json_int_t)accounts));
                json_object_set_new(o, "seconds", json_real(secs));
                json_object_set_new(o, "events_per_second", json_integer((json_int_t)rate));
                json_object_set_new(o, "problem_count", json_integer((json_int_t)nprob));
                json_object_set_new(o, "problems", pa);
                pa = NULL;
                if (compared) {
                        json_t *r = json_object();
                        json_object_set_new(r, "schema", json_string(v.v_opts.vo_schema));
                        json_object_set_new(r, "accounts_compared",
                                            json_integer((json_int_t)cs.acs_accounts_compared));
                        json_object_set_new(r, "accounts_skipped",
                                            json_integer((json_int_t)cs.acs_accounts_skipped));
                        json_object_set_new(r, "rows", json_integer((json_int_t)cs.acs_rows));
                        json_object_set_new(r, "difference_count",
                                            json_integer((json_int_t)cs.acs_differences));
                        json_object_set_new(r, "differences", v.v_diffs);
                        v.v_diffs = NULL;
                        json_object_set_new(o, "read_models", r);
                }
                json_dumpf(o, stdout, JSON_INDENT(2));
                fputc('\n', stdout);
                json_decref(o);
        } else {
                if (nprob > shown)
                        printf("... and %" PRIu64 " more problems (--max-problems)\n",
                               nprob - shown);
                printf("verified %" PRIu64 " events of %zu accounts in %d partitions of \"%s\" "
                       "in %.2f s (%.0f events/s, %d threads): %s\n",
                       events, accounts, v.v_nparts, v.v_topic, secs, rate, v.v_nworkers,
                       nprob == 0 ? "log intact" : "LOG BROKEN");
                if (nprob > 0)
                        printf("%" PRIu64 " problem%s\n", nprob, nprob == 1 ? "" : "s");
                if (compared) {
                        if (cs.acs_differences > (uint64_t)v.v_opts.vo_max_problems)
                                printf("... and %" PRIu64 " more differences (--max-problems)\n",
                                       cs.acs_differences - (uint64_t)v.v_opts.vo_max_problems);
                        printf("compared read models of schema \"%s\": %zu accounts, %" PRIu64
                               " rows, %zu accounts skipped (broken log): %" PRIu64
                               " difference%s\n",
                               v.v_opts.vo_schema, cs.acs_accounts_compared, cs.acs_rows,
                               cs.acs_accounts_skipped, cs.acs_differences,
                               cs.acs_differences == 1 ? "" : "s");
                }
        }
        fflush(stdout);
        json_decref(pa);
        free(audits);
        teardown(&v);
        return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
