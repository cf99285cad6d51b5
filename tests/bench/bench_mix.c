#include "bench_mix.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_cmd_harness.h"

void bench_mix_command(bg_command_t *cmd, const bg_uuid_t *base, uint32_t i, uint8_t salt) {
        uint32_t acct = i / MIX, k = i % MIX;
        bg_uuid_t account = *base, g[2];
        bg_command_type_t type;

        account.b[8] = (uint8_t)(salt);
        memcpy(&account.b[12], &acct, 4);
        for (int j = 0; j < 2; j++) {
                g[j] = account;
                g[j].b[0] ^= (uint8_t)(0x10 + j);
        }
        type = k == 0 ? BG_CMD_CREATE_ACCOUNT
               : k <= 2 ? BG_CMD_CREATE_BILLING_GROUP
               : k == 3 ? BG_CMD_SET_PRIMARY_BILLING_GROUP
               : k <= 13 ? BG_CMD_CREATE_PROJECT
               : k <= 17 ? BG_CMD_ASSIGN_PROJECTS
                         : BG_CMD_UPDATE_BILLING_GROUP;
        cmdh_command_init(cmd, type, &account, "user:owner@example.com");
        memcpy(&cmd->command_id.b[12], &i, 4);
        cmd->command_id.b[11] = (uint8_t)salt;
        switch (type) {
        case BG_CMD_CREATE_ACCOUNT:
                snprintf(cmd->payload.create_account.name, BG_NAME_SIZE, "Bench %u", acct);
                snprintf(cmd->payload.create_account.owner, BG_EMAIL_SIZE, "owner@example.com");
                break;
        case BG_CMD_CREATE_BILLING_GROUP:
                cmd->payload.create_billing_group.billing_group_id = g[k - 1];
                snprintf(cmd->payload.create_billing_group.name, BG_NAME_SIZE, "Group %u", k);
                cmd->payload.create_billing_group.profile.present = BG_PROFILE_F_BILLING_CURRENCY;
                cmd->payload.create_billing_group.profile.v.billing_currency = BG_CURRENCY_EUR;
                break;
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                cmd->payload.set_primary_billing_group.billing_group_id = g[0];
                break;
        case BG_CMD_CREATE_PROJECT:
                cmd->payload.create_project.project_id = account;
                cmd->payload.create_project.project_id.b[0] ^= (uint8_t)(0x40 + k);
                snprintf(cmd->payload.create_project.name, BG_PROJECT_NAME_SIZE, "p%u-%u", acct, k);
                cmd->payload.create_project.has_billing_group_id = k % 2 == 1;
                cmd->payload.create_project.billing_group_id = g[1];
                break;
        case BG_CMD_ASSIGN_PROJECTS:
                cmd->payload.assign_projects.billing_group_id = g[k % 2];
                cmd->payload.assign_projects.n_projects = 1;
                /* Projects 4..13 sit in g[1] when odd, g[0] when even: move one across. */
                snprintf(cmd->payload.assign_projects.project_names[0], BG_PROJECT_NAME_SIZE,
                         "p%u-%u", acct, k % 2 == 0 ? k - 9 : k - 11);
                break;
        default:
                cmd->payload.update_billing_group.billing_group_id = g[k - 18];
                cmd->payload.update_billing_group.has_name = true;
                snprintf(cmd->payload.update_billing_group.name, BG_NAME_SIZE, "Renamed %u", k);
                break;
        }
}

long bench_peak_rss_kib(pid_t pid) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        if ((f = fopen(path, "r")) == NULL)
                return -1;
        while (fgets(line, sizeof(line), f) != NULL)
                if (strncmp(line, "VmHWM:", 6) == 0)
                        v = atol(line + 6);
        fclose(f);
        return v;
}

void bench_die(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "%s: ", program_invocation_short_name);
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        exit(1);
}
