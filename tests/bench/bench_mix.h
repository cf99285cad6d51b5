/*
 * bench_mix: what the benchmarks share: what they send, how they measure a child service,
 * how they give up. (Their clocks are common/util's bg_time.)
 */
#ifndef BENCH_MIX_H
#define BENCH_MIX_H

#include <stdint.h>
#include <sys/types.h>

#include "bg_command.h"

/* The mix, per account (20 commands): CreateAccount, two CreateBillingGroup,
 * SetPrimaryBillingGroup, ten CreateProject (alternating groups), four AssignProjects
 * (one project each, to the other group) and two UpdateBillingGroup renames. Projects
 * move and get created far more often than accounts and groups on a real platform. */
#define MIX 20

/* Command @i of the mix for the accounts derived from @base and @salt (see bench_mix.c).
 * The command id carries @i in its last 4 bytes and @salt in byte 11, so results map back
 * without a table; group and project ids derive from the account's, so later commands of
 * an account can name them. */
void bench_mix_command(bg_command_t *cmd, const bg_uuid_t *base, uint32_t i, uint8_t salt);

/* Prints "<program>: <message>" to stderr and exits 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Peak resident set (VmHWM, KiB) of the live process @pid, or -1. */
long bench_peak_rss_kib(pid_t pid);

#endif /* BENCH_MIX_H */
