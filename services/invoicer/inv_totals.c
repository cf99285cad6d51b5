#include "inv_totals.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_money.h"
#include "bg_uuidmap.h"
#include "codec.h"

typedef struct entry_s {
        char e_number[CODEC_INVOICE_NUMBER_MAX + 1];    /* to forget an invoice's lines */
        inv_sum_t e_sum;
} entry_t;

struct inv_totals_s {
        bg_uuidmap_t *t_map;            /* digest -> entry_t (owned) */
        EVP_MD *t_sha256;               /* fetched once: EVP_sha256() fetches at each init */
        EVP_MD_CTX *t_md;
};

inv_totals_t *inv_totals_new(void) {
        inv_totals_t *t = calloc(1, sizeof(*t));

        if (t == NULL || (t->t_map = bg_uuidmap_new()) == NULL ||
            (t->t_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
            (t->t_md = EVP_MD_CTX_new()) == NULL) {
                inv_totals_destroy(t);
                return NULL;
        }
        return t;
}

void inv_totals_clear(inv_totals_t *t) {
        size_t pos = 0;
        bg_uuid_t k;
        void *v;

        while (bg_uuidmap_next(t->t_map, &pos, &k, &v))
                free(v);
        bg_uuidmap_destroy(t->t_map);
        t->t_map = bg_uuidmap_new();
}

void inv_totals_destroy(inv_totals_t *t) {
        if (t == NULL)
                return;
        if (t->t_map != NULL)
                inv_totals_clear(t);
        bg_uuidmap_destroy(t->t_map);
        EVP_MD_CTX_free(t->t_md);
        EVP_MD_free(t->t_sha256);
        free(t);
}

size_t inv_totals_count(const inv_totals_t *t) {
        return t->t_map ? bg_uuidmap_count(t->t_map) : 0;
}

/* 'I' + number for an invoice, 'L' + number + NUL + key for a line. */
static bool digest(inv_totals_t *t, const char *number, const char *key, bg_uuid_t *out) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char kind = key ? 'L' : 'I';

        if (EVP_DigestInit_ex(t->t_md, t->t_sha256, NULL) != 1 ||
            EVP_DigestUpdate(t->t_md, &kind, 1) != 1 ||
            EVP_DigestUpdate(t->t_md, number, strlen(number) + 1) != 1 ||
            (key && EVP_DigestUpdate(t->t_md, key, strlen(key)) != 1) ||
            EVP_DigestFinal_ex(t->t_md, md, &len) != 1 || len < sizeof(out->b))
                return false;
        memcpy(out->b, md, sizeof(out->b));
        return true;
}

static const entry_t *find(const inv_totals_t *t, const char *number, const char *key) {
        bg_uuid_t k;

        if (t == NULL || t->t_map == NULL || !digest((inv_totals_t *)t, number, key, &k))
                return NULL;
        return bg_uuidmap_get(t->t_map, &k);
}

inv_sum_t inv_totals_line(const inv_totals_t *t, const char *number, const char *key) {
        const entry_t *e = find(t, number, key);
        inv_sum_t zero = {0, 0};

        return e ? e->e_sum : zero;
}

int64_t inv_totals_invoice(const inv_totals_t *t, const char *number) {
        const entry_t *e = find(t, number, NULL);

        return e ? e->e_sum.is_amount : 0;
}

static bool add(inv_totals_t *t, const char *number, const char *key, inv_sum_t a) {
        inv_sum_t sum;
        bg_uuid_t k;
        entry_t *e;

        if (t->t_map == NULL || !digest(t, number, key, &k))
                return false;
        e = bg_uuidmap_get(t->t_map, &k);
        sum = e ? e->e_sum : (inv_sum_t){0, 0};
        if (bg_money_add(sum.is_quantity, a.is_quantity, &sum.is_quantity) != BG_MONEY_OK ||
            bg_money_add(sum.is_amount, a.is_amount, &sum.is_amount) != BG_MONEY_OK)
                return false;
        if (e == NULL) {
                if ((e = calloc(1, sizeof(*e))) == NULL)
                        return false;
                snprintf(e->e_number, sizeof(e->e_number), "%s", number);
                if (!bg_uuidmap_put(t->t_map, &k, e)) {
                        free(e);
                        return false;
                }
        }
        e->e_sum = sum;
        return true;
}

bool inv_totals_add_line(inv_totals_t *t, const char *number, const char *key, inv_sum_t a) {
        return add(t, number, key, a);
}

bool inv_totals_add_invoice(inv_totals_t *t, const char *number, int64_t amount) {
        return add(t, number, NULL, (inv_sum_t){0, amount});
}

static int number_cmp(const void *a, const void *b) {
        return strcmp(a, b);
}

void inv_totals_forget(inv_totals_t *t, char (*numbers)[CODEC_INVOICE_NUMBER_MAX + 1],
                       size_t n) {
        size_t pos = 0, ngone = 0, cap = 0;
        bg_uuid_t k, *gone = NULL;
        void *v;

        if (t->t_map == NULL || n == 0)
                return;
        /* One sweep of the map whatever the number of invoices (a month's end finalizes
         * them all at once): each entry's number is looked up in the sorted list. */
        qsort(numbers, n, sizeof(*numbers), number_cmp);
        while (bg_uuidmap_next(t->t_map, &pos, &k, &v)) {
                if (bsearch(((entry_t *)v)->e_number, numbers, n, sizeof(*numbers),
                            number_cmp) == NULL)
                        continue;
                if (ngone == cap) {
                        size_t c = cap ? cap * 2 : 64;
                        bg_uuid_t *p = realloc(gone, c * sizeof(*p));
                        if (p == NULL)
                                break;  /* what is not dropped stays: only memory */
                        gone = p;
                        cap = c;
                }
                gone[ngone++] = k;
        }
        for (size_t i = 0; i < ngone; i++)
                free(bg_uuidmap_remove(t->t_map, &gone[i]));
        free(gone);
}
