/*
 * billing-commands: see cmd_service.h. Configuration from the environment (README.md,
 * "Configuration"); JSON logs on stderr; /healthz and /metrics on BILLING_ADMIN_ADDR.
 */
#include <signal.h>
#include <string.h>

#include "bg_log.h"
#include "cmd_service.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

int main(void) {
        struct sigaction sa;
        cmd_conf_t conf;
        char errstr[512];

        bg_log_setup("commands");
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (cmd_conf_load(&conf, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                return 2;
        }
        return cmd_service_run(&conf, &stop_requested);
}
