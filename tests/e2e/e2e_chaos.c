#include "e2e_chaos.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bg_proc.h"
#include "e2e_scen.h"

#define MAX_SVC 8
#define MAX_ENV 32
#define MAX_FAULTS 4096

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t log_t0;

int64_t e2e_real_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_log(const char *fmt, ...) {
        va_list ap;
        int64_t now = e2e_real_ms();

        pthread_mutex_lock(&log_mu);
        if (log_t0 == 0)
                log_t0 = now;
        printf("[e2e +%7.1fs] ", (double)(now - log_t0) / 1000.0);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
        pthread_mutex_unlock(&log_mu);
}

typedef struct svc_s {
        char name[32];
        char path[512];
        char *args[8];
        char *env[MAX_ENV];
        char log[600];
        pid_t pid;
        int starts, kills, exits, clean_exits;
        int64_t started_at;
        int64_t restart_at;             /* when pid == 0 */
        int64_t kill_at;                /* a targeted kill -9 (0: none) */
} svc_t;

typedef enum { OP_PENDING, OP_RUNNING, OP_DONE } op_state_t;

typedef struct stack_op_s {
        const char *what;               /* "kafka" / "postgres" */
        const char *how;                /* NULL / "--kill" */
        double at;                      /* progress that triggers it */
        int64_t delay_ms;               /* then this long */
        int64_t armed_at;               /* when the progress was reached (0: not yet) */
        op_state_t state;
        pid_t pid;
        int64_t started;
} stack_op_t;

struct e2e_chaos_s {
        pthread_t th;
        bool running;
        pthread_mutex_t mu;
        svc_t svc[MAX_SVC];
        int nsvc;
        e2e_rng_t rng;
        char stack[512];
        char clock_path[512];
        char log_dir[400];
        bool stop;
        bool chaos;
        int kill_min, kill_max;
        int64_t next_kill;
        double progress;
        stack_op_t ops[2];
        int64_t clock_offset;
        int64_t clock_written_at;
        int errors;
        char *faults[MAX_FAULTS];
        int nfaults;
};

static void fault(e2e_chaos_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fault(e2e_chaos_t *c, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        int64_t now = e2e_real_ms();

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        e2e_log("FAULT %s", buf);
        if (c->nfaults < MAX_FAULTS) {
                char *s;
                if (asprintf(&s, "+%.1fs %s", (double)(now - log_t0) / 1000.0, buf) >= 0)
                        c->faults[c->nfaults++] = s;
        }
}

e2e_chaos_t *e2e_chaos_new(uint64_t seed, const char *stack, const char *clock_path,
                           const char *log_dir) {
        e2e_chaos_t *c = calloc(1, sizeof(*c));

        if (c == NULL)
                abort();
        pthread_mutex_init(&c->mu, NULL);
        c->rng.s = seed ^ UINT64_C(0xc4a05c4a05);
        snprintf(c->stack, sizeof(c->stack), "%s", stack);
        snprintf(c->clock_path, sizeof(c->clock_path), "%s", clock_path);
        snprintf(c->log_dir, sizeof(c->log_dir), "%s", log_dir);
        /* The broker restart somewhere in the first two thirds of the scenario, the
         * PostgreSQL one in the last two thirds; a few seconds after the point. */
        c->ops[0] = (stack_op_t){.what = "kafka", .how = NULL,
                                 .at = 0.10 + (double)e2e_rng_below(&c->rng, 50) / 100.0,
                                 .delay_ms = (int64_t)e2e_rng_below(&c->rng, 5000)};
        c->ops[1] = (stack_op_t){.what = "postgres", .how = "--kill",
                                 .at = 0.35 + (double)e2e_rng_below(&c->rng, 50) / 100.0,
                                 .delay_ms = (int64_t)e2e_rng_below(&c->rng, 5000)};
        if (log_t0 == 0)
                log_t0 = e2e_real_ms();
        return c;
}

static void spawn(e2e_chaos_t *c, svc_t *s) {
        s->pid = bg_proc_spawn(s->path, s->args, s->env, s->log);
        if (s->pid <= 0) {
                e2e_log("cannot start %s: %s", s->name, strerror(errno));
                c->errors++;
                s->pid = 0;
                s->restart_at = e2e_real_ms() + 1000;
                return;
        }
        s->starts++;
        s->started_at = e2e_real_ms();
        e2e_log("%s started (pid %d, start #%d)", s->name, (int)s->pid, s->starts);
}

void e2e_chaos_add(e2e_chaos_t *c, const char *name, const char *path, char *const args[],
                   char *const env[]) {
        svc_t *s;
        int n = 0;

        pthread_mutex_lock(&c->mu);
        if (c->nsvc == MAX_SVC)
                abort();
        s = &c->svc[c->nsvc++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->path, sizeof(s->path), "%s", path);
        snprintf(s->log, sizeof(s->log), "%s/%s.log", c->log_dir, name);
        for (int i = 0; args && args[i] && i < 7; i++)
                s->args[i] = strdup(args[i]);
        for (int i = 0; env && env[i] && n < MAX_ENV - 1; i++)
                s->env[n++] = strdup(env[i]);
        spawn(c, s);
        pthread_mutex_unlock(&c->mu);
}

static void write_clock(e2e_chaos_t *c, int64_t now) {
        char tmp[600];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", c->clock_path);
        f = fopen(tmp, "w");
        if (f == NULL)
                return;
        fprintf(f, "%lld\n", (long long)(now + c->clock_offset));
        fclose(f);
        if (rename(tmp, c->clock_path) == 0)
                c->clock_written_at = now;
}

static void kill9(e2e_chaos_t *c, svc_t *s, int64_t now, const char *why) {
        int64_t pause = (int64_t)e2e_rng_below(&c->rng, 2000);
        pid_t pid = s->pid;

        (void)bg_proc_stop(pid, SIGKILL, 10000);
        s->kills++;
        s->pid = 0;
        s->restart_at = now + pause;
        fault(c, "kill -9 %s (pid %d, kill #%d, up %.1fs%s), restart in %lld ms", s->name,
              (int)pid, s->kills, (double)(e2e_real_ms() - s->started_at) / 1000.0, why,
              (long long)pause);
}

static svc_t *pick_victim(e2e_chaos_t *c) {
        svc_t *cand[MAX_SVC];
        int n = 0, fewest = 1 << 30;

        /* Mostly the running services killed least so far; sometimes any of them. */
        for (int i = 0; i < c->nsvc; i++)
                if (c->svc[i].pid > 0 && c->svc[i].kills < fewest)
                        fewest = c->svc[i].kills;
        for (int i = 0; i < c->nsvc; i++)
                if (c->svc[i].pid > 0 &&
                    (c->svc[i].kills == fewest || e2e_rng_chance(&c->rng, 30)))
                        cand[n++] = &c->svc[i];
        return n ? cand[e2e_rng_below(&c->rng, (uint64_t)n)] : NULL;
}

static void step(e2e_chaos_t *c) {
        int64_t now = e2e_real_ms();
        int st;

        if (now - c->clock_written_at >= 100)
                write_clock(c, now);

        /* Supervision. */
        for (int i = 0; i < c->nsvc; i++) {
                svc_t *s = &c->svc[i];
                if (s->pid > 0 && !bg_proc_running(s->pid, &st)) {
                        s->exits++;
                        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                                s->clean_exits++;
                        e2e_log("SUPERVISOR %s (pid %d) exited by itself (%s %d) after %.1fs: "
                                "restarting it", s->name, (int)s->pid,
                                WIFSIGNALED(st) ? "signal" : "status",
                                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                                (double)(now - s->started_at) / 1000.0);
                        s->pid = 0;
                        /* A quick death (broker or database still away) waits a second. */
                        s->restart_at = now + (now - s->started_at < 3000 ? 1000 : 100);
                }
                if (s->pid == 0 && now >= s->restart_at)
                        spawn(c, s);
        }

        /* Stack restarts under way. */
        for (int i = 0; i < 2; i++) {
                stack_op_t *op = &c->ops[i];
                if (op->state == OP_RUNNING && !bg_proc_running(op->pid, &st)) {
                        op->state = OP_DONE;
                        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                                c->errors++;
                                e2e_log("deploy/stack restart %s FAILED (status %d)", op->what, st);
                        } else {
                                e2e_log("%s is back after %.1fs", op->what,
                                        (double)(now - op->started) / 1000.0);
                        }
                }
        }
        if (!c->chaos)
                return;

        /* kill -9 at random moments. */
        if (c->next_kill == 0)
                c->next_kill = now + c->kill_min +
                               (int64_t)e2e_rng_below(&c->rng, (uint64_t)(c->kill_max - c->kill_min + 1));
        for (int i = 0; i < c->nsvc; i++) {
                svc_t *s = &c->svc[i];
                if (s->kill_at != 0 && now >= s->kill_at && s->pid > 0) {
                        s->kill_at = 0;
                        kill9(c, s, now, ", targeted");
                }
        }
        if (now >= c->next_kill) {
                svc_t *s = pick_victim(c);
                if (s != NULL)
                        kill9(c, s, now, "");
                c->next_kill = now + c->kill_min +
                               (int64_t)e2e_rng_below(&c->rng, (uint64_t)(c->kill_max - c->kill_min + 1));
        }

        /* The broker and PostgreSQL, once each, one at a time. */
        if (c->ops[0].state == OP_RUNNING || c->ops[1].state == OP_RUNNING)
                return;
        for (int i = 0; i < 2; i++) {
                stack_op_t *op = &c->ops[i];
                char *args[] = {"restart", (char *)op->what, (char *)op->how, NULL};
                char log[600];

                if (op->state != OP_PENDING || c->progress < op->at)
                        continue;
                if (op->armed_at == 0)
                        op->armed_at = now;
                if (now < op->armed_at + op->delay_ms)
                        continue;
                snprintf(log, sizeof(log), "%s/stack-restart-%s.log", c->log_dir, op->what);
                op->pid = bg_proc_spawn(c->stack, args, NULL, log);
                op->started = now;
                op->state = op->pid > 0 ? OP_RUNNING : OP_DONE;
                if (op->pid <= 0)
                        c->errors++;
                fault(c, "restart %s (deploy/stack restart %s%s%s) at progress %.2f", op->what,
                      op->what, op->how ? " " : "", op->how ? op->how : "", c->progress);
                break;
        }
}

static void *run(void *arg) {
        e2e_chaos_t *c = arg;
        struct timespec pause = {0, 50 * 1000 * 1000};

        for (;;) {
                pthread_mutex_lock(&c->mu);
                if (c->stop) {
                        pthread_mutex_unlock(&c->mu);
                        break;
                }
                step(c);
                pthread_mutex_unlock(&c->mu);
                nanosleep(&pause, NULL);
        }
        return NULL;
}

void e2e_chaos_start(e2e_chaos_t *c) {
        pthread_mutex_lock(&c->mu);
        write_clock(c, e2e_real_ms());
        pthread_mutex_unlock(&c->mu);
        if (pthread_create(&c->th, NULL, run, c) != 0)
                abort();
        c->running = true;
}

void e2e_chaos_set(e2e_chaos_t *c, bool on, int kill_min_ms, int kill_max_ms) {
        pthread_mutex_lock(&c->mu);
        c->chaos = on;
        c->kill_min = kill_min_ms;
        c->kill_max = kill_max_ms > kill_min_ms ? kill_max_ms : kill_min_ms;
        c->next_kill = 0;
        e2e_log("chaos %s", on ? "on" : "off");
        pthread_mutex_unlock(&c->mu);
}

void e2e_chaos_kill_soon(e2e_chaos_t *c, const char *name, int max_delay_ms) {
        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < c->nsvc; i++)
                if (c->chaos && strcmp(c->svc[i].name, name) == 0)
                        c->svc[i].kill_at = e2e_real_ms() +
                                            (int64_t)e2e_rng_below(&c->rng, (uint64_t)max_delay_ms + 1);
        pthread_mutex_unlock(&c->mu);
}

bool e2e_chaos_kill_pending(e2e_chaos_t *c) {
        bool pending = false;

        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < c->nsvc; i++)
                pending = pending || (c->chaos && c->svc[i].kill_at != 0);
        pthread_mutex_unlock(&c->mu);
        return pending;
}

void e2e_chaos_progress(e2e_chaos_t *c, double progress) {
        pthread_mutex_lock(&c->mu);
        c->progress = progress;
        pthread_mutex_unlock(&c->mu);
}

void e2e_chaos_clock(e2e_chaos_t *c, int64_t offset_ms) {
        pthread_mutex_lock(&c->mu);
        c->clock_offset = offset_ms;
        write_clock(c, e2e_real_ms());
        pthread_mutex_unlock(&c->mu);
}

int64_t e2e_chaos_clock_now(e2e_chaos_t *c) {
        int64_t v;

        pthread_mutex_lock(&c->mu);
        v = e2e_real_ms() + c->clock_offset;
        pthread_mutex_unlock(&c->mu);
        return v;
}

bool e2e_chaos_quota_met(e2e_chaos_t *c, int min_kills) {
        bool met;

        pthread_mutex_lock(&c->mu);
        met = c->ops[0].state == OP_DONE && c->ops[1].state == OP_DONE;
        for (int i = 0; i < c->nsvc; i++)
                met = met && c->svc[i].kills >= min_kills;
        pthread_mutex_unlock(&c->mu);
        return met;
}

bool e2e_chaos_settled(e2e_chaos_t *c) {
        bool ok;

        pthread_mutex_lock(&c->mu);
        ok = c->ops[0].state != OP_RUNNING && c->ops[1].state != OP_RUNNING;
        for (int i = 0; i < c->nsvc; i++)
                ok = ok && c->svc[i].pid > 0;
        pthread_mutex_unlock(&c->mu);
        return ok;
}

int e2e_chaos_unasked_clean_exits(e2e_chaos_t *c) {
        int n = 0;

        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < c->nsvc; i++)
                n += c->svc[i].clean_exits;
        pthread_mutex_unlock(&c->mu);
        return n;
}

int e2e_chaos_errors(e2e_chaos_t *c) {
        int n;

        pthread_mutex_lock(&c->mu);
        n = c->errors;
        pthread_mutex_unlock(&c->mu);
        return n;
}

void e2e_chaos_summary(e2e_chaos_t *c) {
        pthread_mutex_lock(&c->mu);
        e2e_log("faults injected: %d", c->nfaults);
        for (int i = 0; i < c->nfaults; i++)
                e2e_log("  fault %2d: %s", i + 1, c->faults[i]);
        for (int i = 0; i < c->nsvc; i++)
                e2e_log("  %-10s killed %d times, exited by itself %d times, started %d times",
                        c->svc[i].name, c->svc[i].kills, c->svc[i].exits, c->svc[i].starts);
        pthread_mutex_unlock(&c->mu);
}

void e2e_chaos_destroy(e2e_chaos_t *c) {
        if (c == NULL)
                return;
        if (c->running) {
                pthread_mutex_lock(&c->mu);
                c->stop = true;
                pthread_mutex_unlock(&c->mu);
                pthread_join(c->th, NULL);
        }
        for (int i = 0; i < 2; i++)
                if (c->ops[i].state == OP_RUNNING)
                        (void)bg_proc_stop(c->ops[i].pid, SIGTERM, 60000);
        for (int i = 0; i < c->nsvc; i++) {
                svc_t *s = &c->svc[i];
                if (s->pid > 0) {
                        int st = bg_proc_stop(s->pid, SIGTERM, 30000);
                        e2e_log("%s stopped (%s %d)", s->name, WIFSIGNALED(st) ? "signal" : "status",
                                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                }
                for (int k = 0; s->args[k]; k++)
                        free(s->args[k]);
                for (int k = 0; s->env[k]; k++)
                        free(s->env[k]);
        }
        for (int i = 0; i < c->nfaults; i++)
                free(c->faults[i]);
        pthread_mutex_destroy(&c->mu);
        free(c);
}
