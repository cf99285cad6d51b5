/*
 * Child processes for integration tests: start a service binary with extra environment,
 * its output in a log file, then kill (-9 included) and reap it.
 */
#ifndef BG_PROC_H
#define BG_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts @path with the current environment plus @env ("NAME=value" strings, NULL
 * terminated; may be NULL), stdout and stderr appended to @log_path. Returns the pid, or
 * -1 with errno set. A child still running when the test process exits (a failed
 * assertion skips the test's own cleanup) is killed with SIGKILL then. */
pid_t bg_proc_spawn(const char *path, char *const argv_extra[], char *const env[],
                    const char *log_path);

/* Sends @sig to @pid and waits for it up to @timeout_ms (then SIGKILL). Returns the wait
 * status, or -1 when @pid was not a child. */
int bg_proc_stop(pid_t pid, int sig, int timeout_ms);

/* True while @pid runs (reaps it when it has exited, storing the status in *status). */
bool bg_proc_running(pid_t pid, int *status);

#endif /* BG_PROC_H */
