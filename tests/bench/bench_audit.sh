#!/bin/sh
# Benchmark of the replay: `billingctl audit verify` over a log of EVENTS valid events.
#
#   tests/bench/bench_audit.sh [build dir] [events] [accounts]
#                                           (defaults ./build, 1000000, 10000)
#
# 1. cli_bench_produce (tests/integration/cli) writes EVENTS events of ACCOUNTS random
#    account stories (made by the domain, hash-chained) to "<unique prefix>.events", 4
#    partitions, in Kafka transactions of 5,000 events like billing-commands;
# 2. billingctl audit verify --no-progress --json replays and checks it from offset 0
#    (threads: one per partition, at most the CPUs); its events/s is the figure, and its
#    peak RSS (getrusage of the child) is reported too.
# Needs the local stack (. $BILLING_STACK_DIR/env.sh) and python3 (for the peak RSS).
# Prints a table and a "BENCH {...}" line for tests/bench/report.
set -eu

BUILD=$(cd "${1:-build}" && pwd)
EVENTS=${2:-1000000}
ACCOUNTS=${3:-10000}
: "${BILLING_KAFKA_BOOTSTRAP:?source the stack env.sh first}"
PREFIX="bench-audit-$$-$(date +%s)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM

echo "== cli_bench_produce $PREFIX $EVENTS $ACCOUNTS 4"
t0=$(date +%s.%N)
"$BUILD/tests/integration/cli/cli_bench_produce" "$PREFIX" "$EVENTS" "$ACCOUNTS" 4
t1=$(date +%s.%N)

echo "== billingctl audit verify --no-progress --json (topic $PREFIX.events)"
rc=0
BILLING_TOPIC_PREFIX="$PREFIX." python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(p.returncode)' "$WORK/audit.json" \
        "$BUILD/services/cli/billingctl" audit verify --no-progress --json \
        >"$WORK/rss" || rc=$?
cat "$WORK/audit.json"
python3 - "$WORK/audit.json" "$(cat "$WORK/rss")" "$rc" "$t0" "$t1" <<'PY'
import json, sys
path, rss, rc, t0, t1 = sys.argv[1:6]
try:
    a = json.load(open(path))
except Exception:
    a = {}
gen = float(t1) - float(t0)
print("%-44s %14s" % ("audit verify", "value"))
print("%-44s %14s" % ("events", a.get("events")))
print("%-44s %14s" % ("accounts", a.get("accounts")))
print("%-44s %14s" % ("threads", a.get("threads")))
print("%-44s %14s" % ("seconds", a.get("seconds")))
print("%-44s %14s" % ("events/s", a.get("events_per_second")))
print("%-44s %14s" % ("problems", a.get("problem_count")))
print("%-44s %14s" % ("billingctl peak RSS (KiB)", rss))
print("BENCH " + json.dumps({
    "bench": "audit", "events": a.get("events"), "accounts": a.get("accounts"),
    "partitions": a.get("partitions"), "threads": a.get("threads"),
    "seconds": a.get("seconds"), "events_per_s": a.get("events_per_second"),
    "ok": a.get("ok") is True and rc == "0", "problem_count": a.get("problem_count"),
    "produce_seconds": round(gen, 2), "rss_peak_kib": int(rss) if rss.isdigit() else -1,
    "topic": a.get("topic")}, separators=(",", ":")))
PY
exit "$rc"
