/*
 * progress: a one-line progress bar on stderr, redrawn at most a few times a second, and
 * only when stderr is a terminal (so that logs and pipes never see it).
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct progress_s {
        bool pg_on;                     /* stderr is a terminal and progress is wanted */
        bool pg_drawn;                  /* a line is on the screen */
        int64_t pg_start_ms;
        int64_t pg_last_ms;
} progress_t;

/* @want: the caller allows it (no --no-progress); it shows only on a terminal. */
void progress_init(progress_t *pg, bool want);

/* Redraws "<label> [#####.....]  42%  done/total  N events/s" when 200 ms have passed
 * since the last redraw (or @force). @total 0: no bar, counts only. */
void progress_update(progress_t *pg, const char *label, uint64_t done, uint64_t total,
                     uint64_t events, bool force);

/* Erases the line. */
void progress_clear(progress_t *pg);

#endif /* PROGRESS_H */
