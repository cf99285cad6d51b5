/*
 * Helpers shared by the integration and e2e tests (header-only; include after cmocka.h).
 *
 * These tests run against the real local stack started by deploy/stack; tests/run exports
 * its BILLING_* environment. A missing variable fails the test: it never skips silently.
 */
#ifndef BG_TEST_SUPPORT_H
#define BG_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The value of the environment variable @name; fails the test when it is unset. */
static inline const char *bg_test_env(const char *name) {
        const char *v = getenv(name);
        if (v == NULL || *v == '\0')
                fail_msg("%s is not set: run the integration tests through tests/run, or "
                         "source $BILLING_STACK_DIR/env.sh after deploy/stack start",
                         name);
        return v;
}

/* A name unique to this process and call, for topics, groups and schemas of one test. */
static inline void bg_test_unique_name(char *buf, size_t size, const char *prefix) {
        static unsigned counter;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(buf, size, "%s-%ld-%ld-%u", prefix, (long)getpid(), (long)ts.tv_sec,
                 counter++);
}

#endif /* BG_TEST_SUPPORT_H */
