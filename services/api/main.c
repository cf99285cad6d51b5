/*
 * billing-api: the HTTP/JSON API (docs/api.md). Configuration from the environment;
 * JSON logs on stderr; /healthz and /metrics on BILLING_ADMIN_ADDR.
 */
#include <signal.h>
#include <string.h>

#include "api.h"
#include "bg_log.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

int main(void) {
        struct sigaction sa;
        api_conf_t conf;
        char errstr[API_ERRSTR_SIZE];

        bg_log_setup("api");
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (api_conf_load(&conf, errstr, sizeof(errstr)) != 0) {
                bg_log_error("cannot start: %s", errstr);
                return 2;
        }
        return api_service_run(&conf, &stop_requested);
}
