/*
 * cli_bench_produce: writes a large, valid events log for measuring `billingctl audit
 * verify` (not a test). Random account stories from pj_gen (decided, chained, encoded
 * and folded by the domain, as billing-commands does) are produced keyed by account to
 * "<prefix>.events" in Kafka transactions of 5000 events, like the commands service.
 *
 *   cli_bench_produce PREFIX EVENTS ACCOUNTS [PARTITIONS]
 *
 * Then: BILLING_TOPIC_PREFIX=PREFIX. billingctl audit verify
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_conf.h"
#include "kc_topics.h"
#include "pj_gen.h"

#define TXN_EVENTS 5000

typedef struct prod_s {
        rd_kafka_t *rk;
        const char *topic;
        int nparts;
        size_t produced, in_txn;
} prod_t;

static void die(const char *what, const char *why) {
        fprintf(stderr, "cli_bench_produce: %s: %s\n", what, why);
        exit(1);
}

static void txn(rd_kafka_error_t *e, const char *what) {
        if (e != NULL)
                die(what, rd_kafka_error_string(e));
}

static void emit(void *opaque, const bg_event_t *ev, const uint8_t *buf, size_t len) {
        prod_t *p = opaque;
        char key[BG_UUID_STR_LEN + 1];
        rd_kafka_resp_err_t err;

        if (p->in_txn == 0)
                txn(rd_kafka_begin_transaction(p->rk), "begin_transaction");
        bg_uuid_format(&ev->account_id, key);
        for (;;) {
                err = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(p->topic),
                                        RD_KAFKA_V_KEY(key, BG_UUID_STR_LEN),
                                        RD_KAFKA_V_VALUE((void *)buf, len),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                rd_kafka_poll(p->rk, 10);
        }
        if (err)
                die("produce", rd_kafka_err2str(err));
        rd_kafka_poll(p->rk, 0);
        p->produced++;
        if (++p->in_txn >= TXN_EVENTS) {
                txn(rd_kafka_commit_transaction(p->rk, 60000), "commit_transaction");
                p->in_txn = 0;
        }
}

int main(int argc, char **argv) {
        char errstr[512], prefix[200], txn_id[256], num[16];
        rd_kafka_conf_t *conf;
        kc_topics_t t;
        prod_t p = {0};
        pjg_t *g;
        pjg_account_t **acc;
        size_t events, naccounts;
        uint64_t r = 88172645463325252ull;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: cli_bench_produce PREFIX EVENTS ACCOUNTS [PARTITIONS]\n");
                return 2;
        }
        events = strtoull(argv[2], NULL, 10);
        naccounts = strtoull(argv[3], NULL, 10);
        if (events == 0 || naccounts == 0)
                die("arguments", "EVENTS and ACCOUNTS must be positive numbers");
        snprintf(prefix, sizeof(prefix), "%s.", argv[1]);
        setenv("BILLING_TOPIC_PREFIX", prefix, 1);
        snprintf(num, sizeof(num), "%s", argc == 5 ? argv[4] : "4");
        setenv("BILLING_PARTITIONS", num, 1);
        if (kc_topics_load(&t, errstr, sizeof(errstr)) != 0)
                die("topics", errstr);
        conf = kc_conf_from_env(errstr, sizeof(errstr));
        snprintf(txn_id, sizeof(txn_id), "%s-bench", argv[1]);
        if (conf == NULL || kc_conf_set(conf, "transactional.id", txn_id, errstr, sizeof(errstr)) ||
            kc_conf_set(conf, "linger.ms", "20", errstr, sizeof(errstr)) ||
            kc_conf_set(conf, "compression.type", "lz4", errstr, sizeof(errstr)) ||
            kc_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr, sizeof(errstr)))
                die("config", errstr);
        p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (p.rk == NULL)
                die("producer", errstr);
        if (kc_topics_ensure(p.rk, &t, 30000, errstr, sizeof(errstr)) != 0)
                die("topics ensure", errstr);
        txn(rd_kafka_init_transactions(p.rk, 30000), "init_transactions");
        p.topic = t.kt_events;
        g = pjg_new(BG_SCHEMAS_DIR, 42, 1767225600000LL, errstr, sizeof(errstr));
        if (g == NULL)
                die("generator", errstr);
        acc = calloc(naccounts, sizeof(*acc));
        for (size_t i = 0; i < naccounts; i++)
                if ((acc[i] = pjg_account_new(g)) == NULL)
                        die("generator", "out of memory");
        while (p.produced < events) {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                pjg_random_step(g, acc[r % naccounts], emit, &p);
        }
        if (p.in_txn > 0)
                txn(rd_kafka_commit_transaction(p.rk, 60000), "commit_transaction");
        rd_kafka_flush(p.rk, 60000);
        printf("%zu events of %zu accounts to \"%s\"\n", p.produced, naccounts, t.kt_events);
        for (size_t i = 0; i < naccounts; i++)
                pjg_account_destroy(acc[i]);
        free(acc);
        pjg_destroy(g);
        rd_kafka_destroy(p.rk);
        return 0;
}
