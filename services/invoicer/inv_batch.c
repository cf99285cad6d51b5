#include "inv_batch.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_money.h"
#include "inv_time.h"

/* A hash of @len bytes on top of @h, 8 bytes a step (xor, multiply, fold: the fold
 * brings every byte into the low bits, which pick the bucket). The hashes only place
 * headers and lines in this batch's buckets and are never stored. Byte by byte (FNV-1a)
 * it was most of inv_batch_add's time: ~60 bytes and as many multiplies a record. */
static uint64_t fnv(uint64_t h, const void *data, size_t len) {
        const uint8_t *p = data;
        uint64_t w;

        for (; len >= 8; p += 8, len -= 8) {
                memcpy(&w, p, 8);
                h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
                h ^= h >> 29;
        }
        if (len > 0) {
                w = 0;
                memcpy(&w, p, len);
                h = ((h ^ w) + len) * UINT64_C(0x9e3779b97f4a7c15);
                h ^= h >> 29;
        }
        return h;
}

#define FNV_INIT UINT64_C(0xcbf29ce484222325)

void inv_invoice_number(const bg_uuid_t *group, int64_t period_begin,
                        char buf[CODEC_INVOICE_NUMBER_MAX + 1]) {
        static const char hex[] = "0123456789abcdef";
        int yyyymm;

        /* Called for every usage record: by hand rather than snprintf. The first 16 hex
         * digits of the id are its first 8 bytes ("xxxxxxxx-xxxx-xxxx" without dashes). */
        inv_period_of(period_begin, NULL, NULL, &yyyymm);
        for (int i = 0; i < 8; i++) {
                buf[2 * i] = hex[group->b[i] >> 4];
                buf[2 * i + 1] = hex[group->b[i] & 0x0f];
        }
        buf[16] = '-';
        if (yyyymm < 0 || yyyymm > 999999) {
                snprintf(buf + 17, CODEC_INVOICE_NUMBER_MAX + 1 - 17, "%06d", yyyymm);
                return;
        }
        for (int i = 22; i >= 17; i--, yyyymm /= 10)
                buf[i] = (char)('0' + yyyymm % 10);
        buf[23] = '\0';
}

void inv_utf8_cut(char *s, size_t max) {
        size_t n = strlen(s);

        if (n <= max)
                return;
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                n--;
        s[n] = '\0';
}

void inv_batch_init(inv_batch_t *b) {
        memset(b, 0, sizeof(*b));
}

void inv_batch_reset(inv_batch_t *b) {
        for (size_t i = 0; i < b->ib_nlines; i++) {
                free(b->ib_lines[i].il_tags_json);
                b->ib_lines[i].il_tags_json = NULL;
        }
        b->ib_nlines = 0;
        b->ib_nheaders = 0;
        if (b->ib_hbuckets)
                memset(b->ib_hbuckets, 0xff, (b->ib_hmask + 1) * sizeof(int32_t));
        if (b->ib_lbuckets)
                memset(b->ib_lbuckets, 0xff, (b->ib_lmask + 1) * sizeof(int32_t));
}

void inv_batch_free(inv_batch_t *b) {
        if (b == NULL)
                return;
        inv_batch_reset(b);
        free(b->ib_headers);
        free(b->ib_lines);
        free(b->ib_hbuckets);
        free(b->ib_lbuckets);
        memset(b, 0, sizeof(*b));
}

/* Grows an item array and its buckets so that one more item fits at load <= 1/2. */
static int grow(void **items, size_t *cap, size_t n, size_t item_size, int32_t **buckets,
                size_t *mask) {
        if (n == *cap) {
                size_t c = *cap ? *cap * 2 : 256;
                void *p = realloc(*items, c * item_size);
                if (p == NULL)
                        return -1;
                *items = p;
                *cap = c;
        }
        if (*buckets == NULL || (n + 1) * 2 > *mask + 1) {
                size_t nb = *buckets ? (*mask + 1) * 2 : 1024;
                int32_t *p = realloc(*buckets, nb * sizeof(int32_t));
                if (p == NULL)
                        return -1;
                *buckets = p;
                *mask = nb - 1;
                return 1;               /* rehash needed */
        }
        return 0;
}

static void rehash_headers(inv_batch_t *b) {
        memset(b->ib_hbuckets, 0xff, (b->ib_hmask + 1) * sizeof(int32_t));
        for (size_t i = 0; i < b->ib_nheaders; i++) {
                size_t k = b->ib_headers[i].ih_hash & b->ib_hmask;
                b->ib_headers[i].ih_next = b->ib_hbuckets[k];
                b->ib_hbuckets[k] = (int32_t)i;
        }
}

static void rehash_lines(inv_batch_t *b) {
        memset(b->ib_lbuckets, 0xff, (b->ib_lmask + 1) * sizeof(int32_t));
        for (size_t i = 0; i < b->ib_nlines; i++) {
                size_t k = b->ib_lines[i].il_hash & b->ib_lmask;
                b->ib_lines[i].il_next = b->ib_lbuckets[k];
                b->ib_lbuckets[k] = (int32_t)i;
        }
}

static int32_t header_find(const inv_batch_t *b, const char *number, uint64_t h) {
        if (b->ib_hbuckets != NULL)
                for (int32_t i = b->ib_hbuckets[h & b->ib_hmask]; i >= 0;
                     i = b->ib_headers[i].ih_next)
                        if (b->ib_headers[i].ih_hash == h &&
                            strcmp(b->ib_headers[i].ih_number, number) == 0)
                                return i;
        return -1;
}

static int32_t header_new(inv_batch_t *b, const inv_charge_t *c, uint64_t h, int64_t stored) {
        inv_header_t *ih;
        int r;

        r = grow((void **)&b->ib_headers, &b->ib_capheaders, b->ib_nheaders,
                 sizeof(inv_header_t), &b->ib_hbuckets, &b->ib_hmask);
        if (r < 0)
                return -1;
        if (r > 0)
                rehash_headers(b);
        ih = &b->ib_headers[b->ib_nheaders];
        memset(ih, 0, sizeof(*ih));
        snprintf(ih->ih_number, sizeof(ih->ih_number), "%s", c->ic_invoice);
        ih->ih_group = *c->ic_group;
        ih->ih_account = *c->ic_account;
        snprintf(ih->ih_group_name, sizeof(ih->ih_group_name), "%s", c->ic_group_name);
        ih->ih_currency = c->ic_currency;
        ih->ih_period_begin = c->ic_period_begin;
        ih->ih_period_end = c->ic_period_end;
        ih->ih_stored = stored;
        ih->ih_hash = h;
        ih->ih_next = b->ib_hbuckets[h & b->ib_hmask];
        b->ib_hbuckets[h & b->ib_hmask] = (int32_t)b->ib_nheaders;
        return (int32_t)b->ib_nheaders++;
}

static char *tags_json(const codec_usage_t *u) {
        json_t *o = json_object();
        char *s;

        if (o == NULL)
                return NULL;
        for (size_t i = 0; i < u->n_tags; i++)
                json_object_set_new(o, u->tags[i].key, json_string(u->tags[i].value));
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        return s;
}

static void describe(inv_line_t *l, const codec_usage_t *u) {
        char month[16];
        const char *type = codec_line_type_name(u->line_type);

        int n;

        /* A long description is expected to be cut: here to the buffer, then back to
         * whole UTF-8 characters within CODEC_DESCRIPTION_MAX. */
        if (l->il_late_period >= 0) {
                inv_time_month(l->il_late_period, month, sizeof(month));
                n = snprintf(l->il_description, sizeof(l->il_description),
                             "Late usage for %s (%s): %s %s %s", month, type, u->service_type,
                             u->service_plan, u->service_name);
        } else {
                n = snprintf(l->il_description, sizeof(l->il_description), "%s %s %s",
                             u->service_type, u->service_plan, u->service_name);
        }
        if (n < 0)
                l->il_description[0] = '\0';
        inv_utf8_cut(l->il_description, CODEC_DESCRIPTION_MAX);
}

static inv_line_t *line_find(const inv_batch_t *b, int32_t hdr, uint64_t h,
                             const inv_charge_t *c, codec_line_type_t type) {
        if (hdr < 0 || b->ib_lbuckets == NULL)
                return NULL;
        for (int32_t i = b->ib_lbuckets[h & b->ib_lmask]; i >= 0; i = b->ib_lines[i].il_next) {
                inv_line_t *x = &b->ib_lines[i];
                if (x->il_hash == h && x->il_header == hdr && x->il_type == type &&
                    x->il_late_period == c->ic_late_period &&
                    bg_uuid_equal(&x->il_project, c->ic_project) &&
                    strcmp(x->il_service_name, c->ic_usage->service_name) == 0)
                        return x;
        }
        return NULL;
}

/* The line's identity within its invoice: (project, line type, late period, service
 * name); the service name goes last so that no byte of it can make two identities
 * collide. */
static void line_key(const inv_charge_t *c, codec_line_type_t type, char key[INV_LINE_KEY_SIZE]) {
        char late[16] = "-", project[BG_UUID_STR_LEN + 1];

        if (c->ic_late_period >= 0) {
                int yyyymm;
                inv_period_of(c->ic_late_period, NULL, NULL, &yyyymm);
                snprintf(late, sizeof(late), "%06d", yyyymm);
        }
        bg_uuid_format(c->ic_project, project);
        snprintf(key, INV_LINE_KEY_SIZE, "%s/%s/%s/%s", project, codec_line_type_name(type), late,
                 c->ic_usage->service_name);
}

/* Whether @add fits on @now without passing @max (a sum of non-negative parts). */
static bool fits(int64_t now, int64_t add, int64_t max, int64_t *out) {
        return bg_money_add(now, add, out) == BG_MONEY_OK && *out <= max;
}

int inv_batch_add(inv_batch_t *b, const inv_totals_t *stored, const inv_charge_t *c,
                  char *errstr, size_t errstr_size) {
        const codec_usage_t *u = c->ic_usage;
        codec_line_type_t type = c->ic_late_period >= 0 ? CODEC_LINE_EXTRA_CHARGE :
                                 (u->line_type == CODEC_LINE_UNSET ? CODEC_LINE_SERVICE_CHARGE :
                                                                     u->line_type);
        uint64_t hh = fnv(FNV_INIT, c->ic_invoice, strlen(c->ic_invoice)), h;
        int32_t hdr = header_find(b, c->ic_invoice, hh);
        int64_t inv_stored, inv_sum, sum;
        char key[INV_LINE_KEY_SIZE];
        inv_sum_t line_stored;
        inv_line_t *l;

        h = fnv(hh, c->ic_project->b, 16);
        h = fnv(h, &type, sizeof(type));
        h = fnv(h, &c->ic_late_period, sizeof(c->ic_late_period));
        h = fnv(h, u->service_name, strlen(u->service_name));
        l = line_find(b, hdr, h, c, type);
        if (l == NULL) {
                line_key(c, type, key);
                line_stored = inv_totals_line(stored, c->ic_invoice, key);
        } else {
                line_stored = l->il_stored;
        }
        inv_stored = hdr >= 0 ? b->ib_headers[hdr].ih_stored :
                                inv_totals_invoice(stored, c->ic_invoice);
        inv_sum = hdr >= 0 ? b->ib_headers[hdr].ih_amount : 0;

        /* Everything is checked before anything changes: a record that does not fit leaves
         * the batch as it was. Amounts are not negative (validated), so a line's amount
         * never exceeds its invoice's, which the second check bounds. */
        if (!fits(line_stored.is_quantity, l ? l->il_quantity : 0, INT64_MAX, &sum) ||
            !fits(sum, u->quantity, INT64_MAX, &sum)) {
                snprintf(errstr, errstr_size, "sum overflows: the quantity of line \"%s\" of "
                         "invoice \"%s\" would pass the int64 range",
                         l ? l->il_key : key, c->ic_invoice);
                return INV_BATCH_OVER;
        }
        if (!fits(inv_stored, inv_sum, INV_SUM_MAX, &sum) ||
            !fits(sum, c->ic_amount, INV_SUM_MAX, &sum)) {
                snprintf(errstr, errstr_size, "sum overflows: the amount of invoice \"%s\" "
                         "would pass its limit of %" PRId64 " micros", c->ic_invoice,
                         INV_SUM_MAX);
                return INV_BATCH_OVER;
        }

        if (hdr < 0 && (hdr = header_new(b, c, hh, inv_stored)) < 0)
                goto nomem;
        if (l == NULL) {
                int r = grow((void **)&b->ib_lines, &b->ib_caplines, b->ib_nlines,
                             sizeof(inv_line_t), &b->ib_lbuckets, &b->ib_lmask);
                if (r < 0)
                        goto nomem;
                if (r > 0)
                        rehash_lines(b);
                l = &b->ib_lines[b->ib_nlines];
                memset(l, 0, sizeof(*l));
                l->il_header = hdr;
                l->il_project = *c->ic_project;
                snprintf(l->il_project_name, sizeof(l->il_project_name), "%s",
                         c->ic_project_name);
                l->il_type = type;
                l->il_late_period = c->ic_late_period;
                memcpy(l->il_service_name, u->service_name, sizeof(l->il_service_name));
                memcpy(l->il_service_type, u->service_type, sizeof(l->il_service_type));
                memcpy(l->il_service_plan, u->service_plan, sizeof(l->il_service_plan));
                memcpy(l->il_unit, u->unit, sizeof(l->il_unit));
                memcpy(l->il_key, key, sizeof(l->il_key));
                describe(l, u);
                l->il_ts_begin = u->timestamp_begin;
                l->il_ts_end = u->timestamp_end;
                l->il_stored = line_stored;
                l->il_tags_json = tags_json(u);
                if (l->il_tags_json == NULL)
                        goto nomem;
                l->il_hash = h;
                l->il_next = b->ib_lbuckets[h & b->ib_lmask];
                b->ib_lbuckets[h & b->ib_lmask] = (int32_t)b->ib_nlines++;
        }
        l->il_quantity += u->quantity;          /* checked above */
        l->il_amount += c->ic_amount;
        b->ib_headers[hdr].ih_amount += c->ic_amount;
        if (u->timestamp_begin < l->il_ts_begin)
                l->il_ts_begin = u->timestamp_begin;
        if (u->timestamp_end > l->il_ts_end)
                l->il_ts_end = u->timestamp_end;
        l->il_records++;
        return 0;
nomem:
        snprintf(errstr, errstr_size, "out of memory");
        return INV_BATCH_NOMEM;
}
