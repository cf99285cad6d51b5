/*
 * billing-projector: see pj_service.h and docs/projector.md.
 *
 *   billing-projector                  project billing.events into BILLING_PG_SCHEMA
 *   billing-projector rebuild          replay the whole log into BILLING_REBUILD_SCHEMA
 *   billing-projector rebuild --swap   ... then swap it in for BILLING_PG_SCHEMA
 *
 * Configuration from the environment (docs/projector.md); JSON logs on stderr; /healthz
 * and /metrics on BILLING_ADMIN_ADDR.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bg_log.h"
#include "pj_service.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static int usage(void) {
        fprintf(stderr, "usage: billing-projector [run | rebuild [--swap]]\n");
        return 2;
}

int main(int argc, char **argv) {
        struct sigaction sa;
        pj_conf_t conf;
        pj_mode_t mode = PJ_MODE_RUN;
        char errstr[512];

        if (argc >= 2 && strcmp(argv[1], "rebuild") == 0) {
                mode = PJ_MODE_REBUILD;
                if (argc == 3 && strcmp(argv[2], "--swap") == 0)
                        mode = PJ_MODE_REBUILD_SWAP;
                else if (argc > 2)
                        return usage();
        } else if (argc > 2 || (argc == 2 && strcmp(argv[1], "run") != 0)) {
                return usage();
        }

        bg_log_setup("projector");
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (pj_conf_load(&conf, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                return 2;
        }
        return pj_service_run(&conf, mode, &stop_requested);
}
