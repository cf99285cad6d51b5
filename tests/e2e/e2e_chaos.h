/*
 * e2e_chaos: the fault suite's supervisor and chaos driver, one thread.
 *
 * Supervisor: the services run as child processes; one that exits by itself is started
 * again (as systemd would), counted and printed. Chaos (while switched on): kill -9 of a
 * service at random (seeded) moments, each restarted after a random pause; one restart
 * of the Kafka broker and one of PostgreSQL (deploy/stack restart ...) once the scenario
 * has made the progress drawn for each. It also moves the invoicer's file clock:
 * real time plus an offset the test sets. Every fault is printed with its time.
 */
#ifndef E2E_CHAOS_H
#define E2E_CHAOS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct e2e_chaos_s e2e_chaos_t;

/* Prints "[e2e +12.3s] ..." on stdout (serialized, flushed). */
void e2e_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t e2e_real_ms(void);

/* @stack: the deploy/stack script; @clock_path: the invoicer's clock file. */
e2e_chaos_t *e2e_chaos_new(uint64_t seed, const char *stack, const char *clock_path,
                           const char *log_dir);
/* Starts service @name now: @path with @args (NULL-terminated, may be NULL) and @env
 * ("NAME=value", NULL-terminated) added to the environment; logs in <log_dir>/<name>.log. */
void e2e_chaos_add(e2e_chaos_t *c, const char *name, const char *path, char *const args[],
                   char *const env[]);
/* Starts the thread (supervision and the clock; chaos when switched on). */
void e2e_chaos_start(e2e_chaos_t *c);
/* Chaos on or off; kills every @kill_min_ms..@kill_max_ms. */
void e2e_chaos_set(e2e_chaos_t *c, bool on, int kill_min_ms, int kill_max_ms);
/* The scenario's progress, 0..1: the broker and PostgreSQL restarts happen at drawn points. */
void e2e_chaos_progress(e2e_chaos_t *c, double progress);
/* The invoicer's clock becomes real time + @offset_ms (written within 100 ms). */
void e2e_chaos_clock(e2e_chaos_t *c, int64_t offset_ms);
int64_t e2e_chaos_clock_now(e2e_chaos_t *c);
/* While chaos is on: kill -9 service @name within @max_delay_ms (a random moment of a
 * short step, e.g. finalization right after the clock moved). */
void e2e_chaos_kill_soon(e2e_chaos_t *c, const char *name, int max_delay_ms);
/* True while such a kill is still to come. */
bool e2e_chaos_kill_pending(e2e_chaos_t *c);
/* True once every service was killed @min_kills times and both restarts are done. */
bool e2e_chaos_quota_met(e2e_chaos_t *c, int min_kills);
/* True when every service runs and no restart is pending or under way. */
bool e2e_chaos_settled(e2e_chaos_t *c);
/* Services that exited with status 0 without being asked to stop (a clean exit nobody
 * asked for: a supervisor restarting only failures would leave them down). */
int e2e_chaos_unasked_clean_exits(e2e_chaos_t *c);
/* Failures of the chaos itself (a stack restart that failed), 0 if none. */
int e2e_chaos_errors(e2e_chaos_t *c);
/* Prints the faults injected and the restarts per service. */
void e2e_chaos_summary(e2e_chaos_t *c);
/* Stops the thread, then every service with SIGTERM (SIGKILL after 30 s); frees. */
void e2e_chaos_destroy(e2e_chaos_t *c);

#endif /* E2E_CHAOS_H */
