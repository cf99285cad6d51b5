/*
 * Helpers of the billingctl integration tests (cmocka): run billingctl as a child process
 * and capture its output, copy an events topic record by record into a topic of another
 * prefix (so that a test can drop, duplicate, reorder or rewrite records on the way), and
 * find things in billingctl's JSON output.
 */
#ifndef CLI_FIXTURE_H
#define CLI_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_event.h"
#include "codec.h"
#include "kc_topics.h"

/* Runs "billingctl <args>" (a shell word list, the environment inherited); stdout into
 * *@out (malloc()ed, NUL-terminated; may be NULL), stderr into the test's output. Returns
 * the exit status (-1 when it did not exit normally). */
int clit_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One record of an events topic. */
typedef struct clit_rec_s {
        int32_t cr_partition;
        char cr_key[64];
        size_t cr_key_len;
        uint8_t *cr_value;              /* malloc()ed */
        size_t cr_len;
        bg_uuid_t cr_account;           /* decoded */
        int64_t cr_seq;
        bg_event_type_t cr_type;
} clit_rec_t;

/* Every committed record of @topic (@nparts partitions), partition then offset order. */
size_t clit_read_records(codec_t *codec, const char *topic, int nparts, clit_rec_t **out);
void clit_free_records(clit_rec_t *recs, size_t n);

/* The index of the record of @account with @seq, failing the test when there is none. */
size_t clit_find(const clit_rec_t *recs, size_t n, const bg_uuid_t *account, int64_t seq);

/* Creates the topics of a fresh prefix "<name>-<unique>." with @nparts partitions, writes
 * @recs (each to its cr_partition, in order, not transactional) to its events topic and
 * returns that topic's name in @topic (KC_TOPIC_NAME_SIZE). */
void clit_write_copy(const char *name, int nparts, const clit_rec_t *recs, size_t n,
                     char *topic);

/* The problems of a verify --json output that match @kind, @account and @seq (0: any). */
size_t clit_count_problems(json_t *report, const char *kind, const bg_uuid_t *account,
                           int64_t seq);

#endif /* CLI_FIXTURE_H */
