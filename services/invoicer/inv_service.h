/*
 * The invoicer: folds billing.usage into invoices (docs/invoicer.md).
 *
 * Inputs: the whole of billing.events (every partition, from offset 0 at each start:
 * membership history, groups and credits live in memory) and billing.usage (every
 * partition, from the offsets stored in PostgreSQL). One instance per PostgreSQL schema
 * (an advisory lock makes a second one wait).
 *
 * Setup order (stopped in reverse): configuration, clock, metrics + admin port, codec,
 * PostgreSQL (lock, migrations, stored state), Kafka clients (events reader, usage
 * reader, dead-letter producer, transactional invoice producer), outbox recovery, events
 * catch-up, then the loop: fold new events, gather a usage batch, bill it, commit it with
 * the offsets, finalize what is due, publish the outbox.
 */
#ifndef INV_SERVICE_H
#define INV_SERVICE_H

#include <signal.h>

#include "inv_conf.h"

/* Runs until *@stop becomes non-zero (SIGTERM) or a fatal error. Returns the exit code:
 * 0 after a clean stop, 1 on a fatal error. */
int inv_service_run(const inv_conf_t *conf, volatile sig_atomic_t *stop);

#endif /* INV_SERVICE_H */
