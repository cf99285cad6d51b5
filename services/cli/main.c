/*
 * billingctl: see cli.h and docs/cli.md.
 *
 *   billingctl audit verify ...          replay and verify billing.events
 *   billingctl invoices tail ...         print final invoices as they are published
 *   billingctl token create ...          create an API bearer token
 *   billingctl billing-group <verb> ...  the `avn billing-group` verbs, over the HTTP API
 *   billingctl account create|set-primary ...
 *   billingctl project create|list ...
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
        "usage: billingctl <command> [options]\n"
        "\n"
        "Audit and streams (Kafka, PostgreSQL):\n"
        "  audit verify       replay the events log from offset 0, check every account's\n"
        "                     seq and hash chain, rebuild the state, compare read models\n"
        "  invoices tail      print final invoices as they are published\n"
        "  token create       create an API bearer token (stored hashed in PostgreSQL)\n"
        "\n"
        "Billing groups (HTTP API: BILLING_API_URL, BILLING_API_TOKEN or --url, --token):\n"
        "  billing-group create|update|list|get|delete|assign-projects|events|\n"
        "                credits-list|credits-claim|invoice-list|invoice-lines\n"
        "  account create|set-primary\n"
        "  project create|list\n"
        "\n"
        "Run \"billingctl <command> --help\" for the options of a command; docs/cli.md has\n"
        "the details. Exit status: 0 ok, 1 problem found or request failed, 2 usage error.\n";

typedef struct verb_s {
        const char *group;
        const char *verb;               /* NULL: the group takes the verb itself */
        int (*fn)(int argc, char **argv);
} verb_t;

static const verb_t verbs[] = {
        {"audit", "verify", cli_audit_verify},
        {"invoices", "tail", cli_invoices_tail},
        {"token", "create", cli_token_create},
        {"billing-group", NULL, cli_billing_group},
        {"account", NULL, cli_account},
        {"project", NULL, cli_project},
};

int main(int argc, char **argv) {
        bool group_known = false;

        signal(SIGPIPE, SIG_IGN);
        if (argc < 2) {
                fputs(USAGE, stderr);
                return CLI_EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "-h") == 0) {
                fputs(USAGE, stdout);
                return CLI_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                const verb_t *v = &verbs[i];
                if (strcmp(argv[1], v->group) != 0)
                        continue;
                group_known = true;
                if (v->verb == NULL)
                        return v->fn(argc - 2, argv + 2);
                if (argc >= 3 && strcmp(argv[2], v->verb) == 0)
                        return v->fn(argc - 2, argv + 2);
        }
        if (group_known)
                fprintf(stderr, "billingctl %s: unknown or missing verb%s%s\n", argv[1],
                        argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
        else
                fprintf(stderr, "billingctl: unknown command \"%s\"\n", argv[1]);
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
}
