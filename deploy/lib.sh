# Shared settings and helpers for the deploy/ scripts. Sourced, never run.
# shellcheck shell=bash

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
BILLING_CACHE=${BILLING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/billing}
KAFKA_JARS=${KAFKA_JARS:-$BILLING_CACHE/kafka-$KAFKA_VERSION}
APICURIO_VERSION=${APICURIO_VERSION:-2.6.13.Final}
REGISTRY_HOME=${REGISTRY_HOME:-$BILLING_CACHE/apicurio-$APICURIO_VERSION}
# librdkafka is built from source (deploy/librdkafka says why and from where).
RDKAFKA_VERSION=2.12.0
RDKAFKA_NPM_VERSION=3.6.1
RDKAFKA_NPM_SHA512=sha512-sfpTbrT35429cs0RE8Yb9avGX9BiRRvpV7aweQsghKTjtrVZP3jBrKOPItWXAqHb8doyh3SkuGuUVBLgig1SRg==
RDKAFKA_HOME=${RDKAFKA_HOME:-$BILLING_CACHE/librdkafka-$RDKAFKA_VERSION}
STACK_DIR=${BILLING_STACK_DIR:-/tmp/billing-stack}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# listens PID PORT: true when process PID itself listens on 127.0.0.1:PORT. Two stacks
# started at once can pick the same free port; the one that loses the bind must not take
# the winner's answers for its own. Without ss (iproute2) it only checks PID is alive.
listens() {
  kill -0 "$1" 2>/dev/null || return 1
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

# free_port START: the first port from START up that nothing listens on.
free_port() {
  local p=$1
  while port_in_use "$p"; do p=$((p + 1)); done
  echo "$p"
}

# wait_for SECONDS WHAT COMMAND...: retries COMMAND every 0.2 s until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "$what did not answer within ${secs}s"; return 1; }
    sleep 0.2
  done
}
