#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 30
#define REDRAW_MS 200

void progress_init(progress_t *pg, bool want) {
        pg->pg_on = want && isatty(STDERR_FILENO);
        pg->pg_drawn = false;
        pg->pg_start_ms = cli_now_ms();
        pg->pg_last_ms = 0;
}

void progress_update(progress_t *pg, const char *label, uint64_t done, uint64_t total,
                     uint64_t events, bool force) {
        char bar[BAR_WIDTH + 1];
        int64_t now;
        double secs, pct;
        int fill;

        if (!pg->pg_on)
                return;
        now = cli_now_ms();
        if (!force && now - pg->pg_last_ms < REDRAW_MS)
                return;
        pg->pg_last_ms = now;
        secs = (double)(now - pg->pg_start_ms) / 1000.0;
        if (done > total)
                done = total;
        pct = total > 0 ? 100.0 * (double)done / (double)total : 100.0;
        fill = (int)(pct * BAR_WIDTH / 100.0);
        for (int i = 0; i < BAR_WIDTH; i++)
                bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %5.1f%%  %" PRIu64 "/%" PRIu64 " offsets  %.0f events/s",
                label, bar, pct, done, total, secs > 0 ? (double)events / secs : 0.0);
        fflush(stderr);
        pg->pg_drawn = true;
}

void progress_clear(progress_t *pg) {
        if (pg->pg_on && pg->pg_drawn) {
                fputs("\r\033[K", stderr);
                fflush(stderr);
                pg->pg_drawn = false;
        }
}
