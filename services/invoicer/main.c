/*
 * billing-invoicer: see inv_service.h. Configuration from the environment (inv_conf.c,
 * docs/invoicer.md); JSON logs on stderr; /healthz and /metrics on BILLING_ADMIN_ADDR.
 */
#include <signal.h>
#include <string.h>

#include "bg_log.h"
#include "inv_conf.h"
#include "inv_service.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

int main(void) {
        static inv_conf_t conf;
        struct sigaction sa;
        char errstr[512];

        bg_log_setup("invoicer");
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (inv_conf_load(&conf, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                return 2;
        }
        return inv_service_run(&conf, &stop_requested);
}
