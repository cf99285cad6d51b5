/*
 * tbl: aligned text tables as `avn` prints them: a header row of upper-case column names,
 * a row of '=' under each, then the rows; columns two spaces apart, widths in characters
 * (UTF-8 aware), control characters shown as '?' so that a row is always one line.
 */
#ifndef TBL_H
#define TBL_H

#include <stddef.h>
#include <stdio.h>

typedef struct tbl_s tbl_t;

/* A table with the @n column names at @headers (copied). NULL when out of memory. */
tbl_t *tbl_new(size_t n, const char *const *headers);
void tbl_destroy(tbl_t *t);            /* NULL is a no-op */

/* Appends one cell to the current row (NULL: empty); a row is complete after n cells.
 * Out of memory is remembered and reported by tbl_print. */
void tbl_cell(tbl_t *t, const char *s);
void tbl_cellf(tbl_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number of complete rows. */
size_t tbl_rows(const tbl_t *t);

/* Writes the table to @out. -1 when a cell could not be stored (out of memory). */
int tbl_print(const tbl_t *t, FILE *out);

#endif /* TBL_H */
