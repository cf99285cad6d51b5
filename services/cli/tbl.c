#include "tbl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tbl_s {
        size_t t_ncols;
        char **t_cells;                 /* header row first, row-major */
        size_t t_ncells, t_capcells;
        bool t_oom;
};

/* A copy of @s with control characters replaced by '?'. */
static char *clean_dup(const char *s) {
        char *d = strdup(s ? s : "");

        for (char *p = d; p != NULL && *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        return d;
}

/* Characters (UTF-8 code points) in @s. */
static size_t width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

static void push(tbl_t *t, char *cell) {
        if (cell == NULL) {
                t->t_oom = true;
                return;
        }
        if (t->t_ncells == t->t_capcells) {
                size_t ncap = t->t_capcells ? t->t_capcells * 2 : 64;
                char **nc = realloc(t->t_cells, ncap * sizeof(*nc));
                if (nc == NULL) {
                        free(cell);
                        t->t_oom = true;
                        return;
                }
                t->t_cells = nc;
                t->t_capcells = ncap;
        }
        t->t_cells[t->t_ncells++] = cell;
}

tbl_t *tbl_new(size_t n, const char *const *headers) {
        tbl_t *t = calloc(1, sizeof(*t));

        if (t == NULL)
                return NULL;
        t->t_ncols = n;
        for (size_t i = 0; i < n; i++) {
                char *h = clean_dup(headers[i]);
                for (char *p = h; p != NULL && *p; p++)
                        *p = (char)toupper((unsigned char)*p);
                push(t, h);
        }
        if (t->t_oom) {
                tbl_destroy(t);
                return NULL;
        }
        return t;
}

void tbl_destroy(tbl_t *t) {
        if (t == NULL)
                return;
        for (size_t i = 0; i < t->t_ncells; i++)
                free(t->t_cells[i]);
        free(t->t_cells);
        free(t);
}

void tbl_cell(tbl_t *t, const char *s) {
        push(t, clean_dup(s));
}

void tbl_cellf(tbl_t *t, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        tbl_cell(t, buf);
}

size_t tbl_rows(const tbl_t *t) {
        return t->t_ncells / t->t_ncols - 1;
}

static void pad(FILE *out, size_t n) {
        while (n-- > 0)
                fputc(' ', out);
}

int tbl_print(const tbl_t *t, FILE *out) {
        size_t rows = t->t_ncells / t->t_ncols, *w;

        if (t->t_oom)
                return -1;
        w = calloc(t->t_ncols, sizeof(*w));
        if (w == NULL)
                return -1;
        for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < t->t_ncols; c++) {
                        size_t cw = width(t->t_cells[r * t->t_ncols + c]);
                        if (cw > w[c])
                                w[c] = cw;
                }
        for (size_t r = 0; r < rows; r++) {
                size_t pending = 0;     /* padding not written yet: none at line ends */
                for (size_t c = 0; c < t->t_ncols; c++) {
                        const char *s = t->t_cells[r * t->t_ncols + c];
                        if (*s != '\0') {
                                pad(out, pending);
                                fputs(s, out);
                                pending = 0;
                        }
                        pending += w[c] - width(s) + 2;
                }
                fputc('\n', out);
                if (r == 0) {
                        for (size_t c = 0; c < t->t_ncols; c++) {
                                if (c > 0)
                                        pad(out, 2);
                                for (size_t i = 0; i < w[c]; i++)
                                        fputc('=', out);
                        }
                        fputc('\n', out);
                }
        }
        free(w);
        return 0;
}
