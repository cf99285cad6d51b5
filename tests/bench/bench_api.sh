#!/bin/sh
# Benchmark of the API's read path: GET /v1/billing-group/{id} with wrk at a fixed
# concurrency, printed beside the rate PostgreSQL itself sustains for the same statements
# (pgbench, extended protocol like the API's PQexecParams, same concurrency):
#   - the group query alone (SQL_GROUP of services/api/api_routes_groups.c);
#   - the token lookup + the group query, which is what one API request runs.
#
#   tests/bench/bench_api.sh [build dir]        (default: ./build; use a build without
#                                                 sanitizers for meaningful numbers)
# Needs the local stack (. $BILLING_STACK_DIR/env.sh), wrk and pgbench (postgresql-15).
# Settings: BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_SECONDS (10).
set -eu

BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
C=${BENCH_CONNECTIONS:-16}
T=${BENCH_THREADS:-2}
D=${BENCH_SECONDS:-10}
: "${BILLING_KAFKA_BOOTSTRAP:?source the stack env.sh first}"
: "${BILLING_PG_CONNINFO:?source the stack env.sh first}"
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

ID="bench_api_$$"
WORK=$(mktemp -d)
export BILLING_TOPIC_PREFIX="$ID." BILLING_PARTITIONS=4 BILLING_USAGE_PARTITIONS=1
export BILLING_SCHEMAS_DIR="$SRC/schemas"
RM="${ID}_rm" INV="${ID}_inv" API="${ID}_api"
SERVICE_TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
SERVICE_SHA=$(printf %s "$SERVICE_TOKEN" | sha256sum | cut -d' ' -f1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
PIDS=""

cleanup() {
        for p in $PIDS; do kill "$p" 2>/dev/null || true; done
        for p in $PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
        psql -q "$BILLING_PG_CONNINFO" -c "DROP SCHEMA IF EXISTS $RM CASCADE" \
             -c "DROP SCHEMA IF EXISTS ${RM}_rb CASCADE" -c "DROP SCHEMA IF EXISTS $INV CASCADE" \
             -c "DROP SCHEMA IF EXISTS $API CASCADE" >/dev/null 2>&1 || true
        rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

json_field() {  # json_field <key> < json: the first string value of <key>
        sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

"$BUILD/services/topics/billing-topics" ensure >"$WORK/topics.log" 2>&1
BILLING_INSTANCE_ID="$ID" BILLING_COMMANDS_GROUP="$ID" BILLING_ADMIN_ADDR=127.0.0.1:0 \
BILLING_SERVICE_PRINCIPALS=service:billing \
        "$BUILD/services/commands/billing-commands" >"$WORK/commands.log" 2>&1 &
PIDS="$PIDS $!"
BILLING_PG_SCHEMA="$RM" BILLING_REBUILD_SCHEMA="${RM}_rb" BILLING_ADMIN_ADDR=127.0.0.1:0 \
        "$BUILD/services/projector/billing-projector" >"$WORK/projector.log" 2>&1 &
PIDS="$PIDS $!"
psql -q "$BILLING_PG_CONNINFO" -c "CREATE SCHEMA $INV" >/dev/null
PGOPTIONS="-c search_path=$INV" psql -q "$BILLING_PG_CONNINFO" \
        -f "$SRC/services/invoicer/migrations/001_invoices.sql" >/dev/null
start_api() {
        BILLING_API_ADDR="127.0.0.1:$PORT" BILLING_ADMIN_ADDR=127.0.0.1:0 BILLING_PG_SCHEMA="$RM" \
        BILLING_INVOICER_SCHEMA="$INV" BILLING_API_SCHEMA="$API" \
        BILLING_API_SERVICE_TOKENS="billing:$SERVICE_SHA" BILLING_API_PG_POOL="$C" \
        BILLING_API_MIGRATIONS_DIR="$SRC/services/api/migrations" BILLING_API_WRITE_TIMEOUT_MS=60000 \
                "$BUILD/services/api/billing-api" >>"$WORK/api.log" 2>&1 &
        API_PID=$!
        PIDS="$PIDS $API_PID"
}
# Right after the topics are created the broker may not have elected their leaders yet,
# and billing-api gives up at start on "Not leader for partition": start it again then.
start_api
i=0 starts=1
until grep -q "api listening" "$WORK/api.log"; do
        i=$((i + 1)); [ $i -lt 600 ] || { cat "$WORK/api.log" >&2; exit 1; }
        if ! kill -0 "$API_PID" 2>/dev/null; then
                [ $starts -lt 5 ] || { cat "$WORK/api.log" >&2; exit 1; }
                echo "billing-api exited at start; starting it again" >&2
                sleep 1
                start_api
                starts=$((starts + 1))
        fi
        sleep 0.1
done

ACCOUNT=$(curl -sf -H "Authorization: Bearer $SERVICE_TOKEN" \
          -d '{"account_name": "Bench", "owner": "owner@bench.example"}' "$URL/v1/account" |
          json_field account_id)
TOKEN=$(curl -sf -H "Authorization: Bearer $SERVICE_TOKEN" \
        -d '{"user_email": "owner@bench.example", "role": "admin"}' \
        "$URL/v1/account/$ACCOUNT/token" | json_field token)
for n in 1 2 3 4 5 6 7 8 9; do      # a few groups, so that the lookup is a real one
        GROUP=$(curl -sf -H "Authorization: Bearer $TOKEN" -d "{\"billing_group_name\": \
\"Group $n\", \"billing_currency\": \"EUR\", \"billing_emails\": [{\"email\": \
\"billing@bench.example\"}], \"company\": \"Bench Oy\", \"address_lines\": [\"Street $n\"]}" \
                "$URL/v1/billing-group" | json_field billing_group_id)
done
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/v1/billing-group/$GROUP" >/dev/null

# The API's statements, verbatim (search_path as the API sets it).
cat >"$WORK/group.sql" <<'SQL'
SELECT g.billing_group_id, g.name, g.account_id, a.name, g.billing_currency, g.payment_method, array_to_json(g.billing_emails)::text, array_to_json(g.billing_contact_emails)::text, coalesce(g.billing_extra_text, ''), coalesce(g.card_id, ''), coalesce(g.company, ''), array_to_json(g.address_lines)::text, coalesce(g.city, ''), coalesce(g.state, ''), coalesce(g.zip_code, ''), coalesce(g.country_code, ''), coalesce(g.vat_id, ''), g.copied_from, (extract(epoch FROM g.created_at) * 1000)::bigint, s.seq FROM billing_groups g JOIN accounts a ON a.account_id = g.account_id LEFT JOIN account_seq s ON s.account_id = g.account_id WHERE g.billing_group_id = :gid AND g.status = 'active' AND (:aid::uuid IS NULL OR g.account_id = :aid::uuid);
SQL
cat >"$WORK/auth.sql" <<'SQL'
SELECT t.account_id, t.user_email, t.role, m.role FROM api_tokens t LEFT JOIN account_members m ON m.account_id = t.account_id AND lower(m.user_email) = lower(t.user_email) WHERE t.token_sha256 = decode(:tsha, 'hex') AND t.revoked_at IS NULL;
SQL
cat "$WORK/auth.sql" "$WORK/group.sql" >"$WORK/request.sql"
TSHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)

echo "== wrk -t$T -c$C -d${D}s --latency GET /v1/billing-group/{id}"
wrk -t"$T" -c"$C" -d"${D}s" --latency -H "Authorization: Bearer $TOKEN" \
    "$URL/v1/billing-group/$GROUP" | tee "$WORK/wrk.txt"
API_RPS=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
API_P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")

pgb() {  # pgb <file>: transactions per second and p99 latency of <file>
        PGOPTIONS="-c search_path=$RM,$API" "$PGBENCH" -n -M extended -f "$1" -c "$C" \
                -j "$T" -T "$D" -r -l --log-prefix="$WORK/pgb" \
                -D gid="$GROUP" -D aid="$ACCOUNT" -D tsha="$TSHA" "$BILLING_PG_CONNINFO" \
                >"$WORK/pgb.txt" 2>&1 || { cat "$WORK/pgb.txt" >&2; exit 1; }
        TPS=$(awk '/^tps/ {print $3; exit}' "$WORK/pgb.txt")
        P99=$(cat "$WORK"/pgb.* 2>/dev/null | awk '{print $3}' | sort -n |
              awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2fms", a[i]/1000}')
        rm -f "$WORK"/pgb.[0-9]*
}
echo "== pgbench -n -M extended -c$C -j$T -T$D (same statements, same concurrency)"
pgb "$WORK/group.sql"; G_TPS=$TPS G_P99=$P99
pgb "$WORK/request.sql"; R_TPS=$TPS R_P99=$P99

echo
printf '%-58s %12s %10s\n' "read path (concurrency $C, ${D}s)" "requests/s" "p99"
printf '%-58s %12s %10s\n' "API GET /v1/billing-group/{id} (wrk)" "$API_RPS" "$API_P99"
printf '%-58s %12s %10s\n' "PostgreSQL: group query alone (pgbench)" "$G_TPS" "$G_P99"
printf '%-58s %12s %10s\n' "PostgreSQL: token lookup + group query (pgbench)" "$R_TPS" "$R_P99"
# For tests/bench/report: one JSON line; the API's peak RSS read while it still runs.
API_RSS=$(awk '/^VmHWM:/ {print $2}' "/proc/$API_PID/status" 2>/dev/null || echo -1)
ms() {  # ms <wrk or pgbench latency, e.g. 1.23ms, 850.00us, 1.02s>: milliseconds
        echo "$1" | awk '/us$/ {printf "%.3f", $1 / 1000; next} /ms$/ {printf "%.3f", $1 + 0; next}
                         /s$/ {printf "%.3f", $1 * 1000; next} {print -1}'
}
echo "BENCH {\"bench\":\"api\",\"connections\":$C,\"seconds\":$D,\"requests_per_s\":${API_RPS:-0},\
\"p99_ms\":$(ms "$API_P99"),\"pgbench_group_tps\":${G_TPS:-0},\"pgbench_group_p99_ms\":$(ms "$G_P99"),\
\"pgbench_request_tps\":${R_TPS:-0},\"pgbench_request_p99_ms\":$(ms "$R_P99"),\
\"non2xx\":${NON2XX:-0},\"rss_peak_kib\":${API_RSS:--1}}"
[ -z "$NON2XX" ] || { echo "wrk saw $NON2XX non-2xx answers" >&2; exit 1; }
