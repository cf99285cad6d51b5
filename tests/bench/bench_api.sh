#!/bin/sh
# Benchmark of the API's read path: each endpoint below with wrk at a fixed concurrency,
# printed beside the rate PostgreSQL itself sustains for the same statements (pgbench,
# extended protocol like the API's PQexecParams, same concurrency):
#   GET /v1/billing-group/{id}                   the group query alone (SQL_GROUP of
#                                                 services/api/api_routes_groups.c), and
#                                                 the token lookup + the group query;
#   GET /v1/billing-group/{id}/projects           (20 projects, estimates from the open invoice)
#   GET /v1/billing-group/{id}/events?limit=50
#   GET /v1/billing-group/{id}/invoice            (12 invoices)
#   GET /v1/billing-group/{id}/invoice/{n}/lines  (41 lines)
# For each of the last four, pgbench runs what one API request runs: the token lookup, the
# group's scope lookup and the endpoint's statements (one connection, where the API uses
# one per schema). The invoices are rows inserted into a schema built from the invoicer's
# own migration (as tests/integration/api does), not made by a running invoicer.
#
#   tests/bench/bench_api.sh [build dir]        (default: ./build; use a build without
#                                                 sanitizers for meaningful numbers)
# Needs the local stack (. $BILLING_STACK_DIR/env.sh), wrk and pgbench (postgresql-15).
# Settings: BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_SECONDS (5, per wrk or
# pgbench run: 11 runs, about a minute with the set-up).
set -eu

BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
C=${BENCH_CONNECTIONS:-16}
T=${BENCH_THREADS:-2}
D=${BENCH_SECONDS:-5}
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
# The last group gets 20 projects (and so events), and every group a year of invoices:
# 11 due and the open estimate, each with two service lines per project of the last group
# and a credit line. The lines benchmark reads the estimate (41 lines).
for n in $(seq -w 1 20); do
        curl -sf -H "Authorization: Bearer $TOKEN" -d "{\"project\": \"bench-$n\", \
\"billing_group_id\": \"$GROUP\"}" "$URL/v1/project" >/dev/null
done
INVOICE="INV-$GROUP-202611"
psql -q -v ON_ERROR_STOP=1 "$BILLING_PG_CONNINFO" >/dev/null <<SQL
INSERT INTO $INV.invoices (invoice_number, billing_group_id, account_id, billing_group_name,
        currency, period_begin, period_end, state, total_vat_zero, total_inc_vat, issue_date,
        due_date, revision)
SELECT 'INV-' || g.billing_group_id || '-' || to_char(m, 'YYYYMM'), g.billing_group_id,
        g.account_id, g.name, 'EUR', m, m + interval '1 month',
        CASE WHEN m = '2026-11-01Z' THEN 'estimate' ELSE 'due' END, 123456789,
        CASE WHEN m = '2026-11-01Z' THEN NULL ELSE 154320000 END,
        CASE WHEN m = '2026-11-01Z' THEN NULL ELSE m + interval '1 month' END,
        CASE WHEN m = '2026-11-01Z' THEN NULL ELSE m + interval '2 months' END,
        CASE WHEN m = '2026-11-01Z' THEN 0 ELSE 1 END
FROM $RM.billing_groups g,
     generate_series(timestamptz '2025-12-01Z', '2026-11-01Z', interval '1 month') m
WHERE g.account_id = '$ACCOUNT';
INSERT INTO $INV.invoice_lines (invoice_number, line_key, line_type, sort_group, description,
        project_id, project_name, service_name, service_type, service_plan, amount,
        line_total, timestamp_begin, timestamp_end, tags)
SELECT i.invoice_number, p.project_id || '/service_charge/-/' || s.svc, 'service_charge', 0,
        s.svc || ' ' || p.name, p.project_id, p.name, s.svc, s.svc, 'business-4', 1234567,
        CASE WHEN i.state = 'due' THEN 1230000 END, i.period_begin, i.period_end,
        '{"env": "prod"}'
FROM $INV.invoices i, $RM.projects p, (VALUES ('kafka'), ('pg')) s(svc)
WHERE p.billing_group_id = '$GROUP';
INSERT INTO $INV.invoice_lines (invoice_number, line_key, line_type, sort_group, description,
        amount, line_total)
SELECT invoice_number, 'credit/WELCOME', 'credit_consumption', 1, 'Credit WELCOME',
        -1000000, CASE WHEN state = 'due' THEN -1000000 END
FROM $INV.invoices;
ANALYZE $INV.invoices; ANALYZE $INV.invoice_lines;
SQL

# The API's statements, verbatim (search_path as the API sets it).
cat >"$WORK/group.sql" <<'SQL'
SELECT g.billing_group_id, g.name, g.account_id, a.name, g.billing_currency, g.payment_method, array_to_json(g.billing_emails)::text, array_to_json(g.billing_contact_emails)::text, coalesce(g.billing_extra_text, ''), coalesce(g.card_id, ''), coalesce(g.company, ''), array_to_json(g.address_lines)::text, coalesce(g.city, ''), coalesce(g.state, ''), coalesce(g.zip_code, ''), coalesce(g.country_code, ''), coalesce(g.vat_id, ''), g.copied_from, (extract(epoch FROM g.created_at) * 1000)::bigint, s.seq FROM billing_groups g JOIN accounts a ON a.account_id = g.account_id LEFT JOIN account_seq s ON s.account_id = g.account_id WHERE g.billing_group_id = :gid AND g.status = 'active' AND (:aid::uuid IS NULL OR g.account_id = :aid::uuid);
SQL
cat >"$WORK/auth.sql" <<'SQL'
SELECT t.account_id, t.user_email, t.role, m.role FROM api_tokens t LEFT JOIN account_members m ON m.account_id = t.account_id AND lower(m.user_email) = lower(t.user_email) WHERE t.token_sha256 = decode(:tsha, 'hex') AND t.revoked_at IS NULL;
SQL
cat "$WORK/auth.sql" "$WORK/group.sql" >"$WORK/request.sql"
cat >"$WORK/scope.sql" <<'SQL'
SELECT account_id FROM billing_groups WHERE billing_group_id = :gid;
SQL
cat "$WORK/auth.sql" "$WORK/scope.sql" - >"$WORK/projects.sql" <<'SQL'
SELECT p.project_id, p.name, (extract(epoch FROM p.created_at) * 1000)::bigint, g.billing_currency FROM projects p JOIN billing_groups g ON g.billing_group_id = p.billing_group_id WHERE p.billing_group_id = :gid AND p.status = 'active' ORDER BY p.name;
SELECT l.project_id, sum(l.amount)::bigint FROM invoice_lines l JOIN invoices i ON i.invoice_number = l.invoice_number WHERE i.billing_group_id = :gid AND i.state = 'estimate' AND l.project_id IS NOT NULL GROUP BY l.project_id;
SQL
cat "$WORK/auth.sql" "$WORK/scope.sql" - >"$WORK/events.sql" <<'SQL'
SELECT log_entry_id, (extract(epoch FROM time) * 1000)::bigint, actor, event_type, event_desc, billing_group_id, project_id, project_name, seq FROM audit_log WHERE account_id = :aid AND (billing_group_id = :gid OR previous_billing_group_id = :gid) ORDER BY seq DESC LIMIT :lim;
SQL
cat "$WORK/auth.sql" "$WORK/scope.sql" - >"$WORK/invoice.sql" <<'SQL'
SELECT invoice_number, billing_group_id, billing_group_name, account_id, currency, (extract(epoch FROM period_begin) * 1000)::bigint, (extract(epoch FROM period_end) * 1000)::bigint, state, total_vat_zero, total_inc_vat, (extract(epoch FROM issue_date) * 1000)::bigint, (extract(epoch FROM due_date) * 1000)::bigint, revision FROM invoices WHERE billing_group_id = :gid ORDER BY period_begin DESC;
SQL
cat "$WORK/auth.sql" "$WORK/scope.sql" - >"$WORK/lines.sql" <<'SQL'
SELECT invoice_number, currency FROM invoices WHERE invoice_number = :inv AND billing_group_id = :gid;
SELECT line_type, description, project_name, service_name, service_type, service_plan, coalesce(line_total, amount), (extract(epoch FROM timestamp_begin) * 1000)::bigint, (extract(epoch FROM timestamp_end) * 1000)::bigint, tags::text FROM invoice_lines WHERE invoice_number = :inv ORDER BY sort_group, line_key;
SQL
TSHA=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
LIMIT=50
# The fixture is there: every endpoint answers 200 with data (never benchmark a 404).
check() {  # check <path> <key that must be in a non-empty answer>
        curl -sf -H "Authorization: Bearer $TOKEN" "$URL$1" >"$WORK/check.json" ||
                { echo "GET $1 failed" >&2; exit 1; }
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))[sys.argv[2]]
sys.exit(0 if d else "GET %s: empty %s" % (sys.argv[3], sys.argv[2]))' \
                "$WORK/check.json" "$2" "$1"
}
check "/v1/billing-group/$GROUP/projects" projects
check "/v1/billing-group/$GROUP/events?limit=$LIMIT" events
check "/v1/billing-group/$GROUP/invoice" invoices
check "/v1/billing-group/$GROUP/invoice/$INVOICE/lines" lines

wrk_run() {  # wrk_run <path>: RPS, P99 and NON2XX of GET <path>
        echo "== wrk -t$T -c$C -d${D}s --latency GET $1"
        wrk -t"$T" -c"$C" -d"${D}s" --latency -H "Authorization: Bearer $TOKEN" \
            "$URL$1" | tee "$WORK/wrk.txt"
        RPS=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
        P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
        NON2XX=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
        [ -z "$NON2XX" ] || NON2XX_ALL=$((NON2XX_ALL + NON2XX))
}
NON2XX_ALL=0
wrk_run "/v1/billing-group/$GROUP"
API_RPS=$RPS API_P99=$P99 API_NON2XX=$NON2XX

# The API's schemas, as its two pools set them: the read models and api_tokens, then the
# invoicer's (its table names do not overlap those the statements use).
pgb() {  # pgb <file>: transactions per second and p99 latency of <file>
        PGOPTIONS="-c search_path=$RM,$API,$INV" "$PGBENCH" -n -M extended -f "$1" -c "$C" \
                -j "$T" -T "$D" -r -l --log-prefix="$WORK/pgb" \
                -D gid="$GROUP" -D aid="$ACCOUNT" -D tsha="$TSHA" -D inv="$INVOICE" \
                -D lim="$LIMIT" "$BILLING_PG_CONNINFO" \
                >"$WORK/pgb.txt" 2>&1 || { cat "$WORK/pgb.txt" >&2; exit 1; }
        TPS=$(awk '/^tps/ {print $3; exit}' "$WORK/pgb.txt")
        P99=$(cat "$WORK"/pgb.* 2>/dev/null | awk '{print $3}' | sort -n |
              awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2fms", a[i]/1000}')
        rm -f "$WORK"/pgb.[0-9]*
}
echo "== pgbench -n -M extended -c$C -j$T -T$D (same statements, same concurrency)"
pgb "$WORK/group.sql"; G_TPS=$TPS G_P99=$P99
pgb "$WORK/request.sql"; R_TPS=$TPS R_P99=$P99

ms() {  # ms <wrk or pgbench latency, e.g. 1.23ms, 850.00us, 1.02s>: milliseconds
        echo "$1" | awk '/us$/ {printf "%.3f", $1 / 1000; next} /ms$/ {printf "%.3f", $1 + 0; next}
                         /s$/ {printf "%.3f", $1 * 1000; next} {print -1}'
}
# The sub-resources: wrk, then pgbench on what one request runs. ROWS: the table lines
# printed at the end; ENDPOINTS: their part of the BENCH line.
ROWS="$WORK/rows.txt" ENDPOINTS=""
: >"$ROWS"
endpoint() {  # endpoint <name> <path> <label> <sql file>
        wrk_run "$2"
        W_RPS=$RPS W_P99=$P99 W_NON2XX=$NON2XX
        pgb "$4"
        printf '%-58s %12s %10s\n' "API GET $3 (wrk)" "$W_RPS" "$W_P99" >>"$ROWS"
        printf '%-58s %12s %10s\n' "  PostgreSQL: token + scope + its statements (pgbench)" \
               "$TPS" "$P99" >>"$ROWS"
        ENDPOINTS="$ENDPOINTS${ENDPOINTS:+,}\"$1\":{\"path\":\"$3\",\"requests_per_s\":${W_RPS:-0},\
\"p99_ms\":$(ms "$W_P99"),\"pgbench_tps\":${TPS:-0},\"pgbench_p99_ms\":$(ms "$P99"),\
\"non2xx\":${W_NON2XX:-0}}"
}
echo "== the billing group's sub-resources: wrk, then pgbench of the same statements"
endpoint projects "/v1/billing-group/$GROUP/projects" "/v1/billing-group/{id}/projects" \
         "$WORK/projects.sql"
endpoint events "/v1/billing-group/$GROUP/events?limit=$LIMIT" \
         "/v1/billing-group/{id}/events?limit=$LIMIT" "$WORK/events.sql"
endpoint invoice "/v1/billing-group/$GROUP/invoice" "/v1/billing-group/{id}/invoice" \
         "$WORK/invoice.sql"
endpoint lines "/v1/billing-group/$GROUP/invoice/$INVOICE/lines" \
         "/v1/billing-group/{id}/invoice/{n}/lines" "$WORK/lines.sql"

echo
printf '%-58s %12s %10s\n' "read path (concurrency $C, ${D}s)" "requests/s" "p99"
printf '%-58s %12s %10s\n' "API GET /v1/billing-group/{id} (wrk)" "$API_RPS" "$API_P99"
printf '%-58s %12s %10s\n' "PostgreSQL: group query alone (pgbench)" "$G_TPS" "$G_P99"
printf '%-58s %12s %10s\n' "PostgreSQL: token lookup + group query (pgbench)" "$R_TPS" "$R_P99"
cat "$ROWS"
# For tests/bench/report: one JSON line; the API's peak RSS read while it still runs. The
# top-level figures are GET /v1/billing-group/{id}'s, as before; "endpoints" the others.
API_RSS=$(awk '/^VmHWM:/ {print $2}' "/proc/$API_PID/status" 2>/dev/null || echo -1)
echo "BENCH {\"bench\":\"api\",\"connections\":$C,\"seconds\":$D,\"requests_per_s\":${API_RPS:-0},\
\"p99_ms\":$(ms "$API_P99"),\"pgbench_group_tps\":${G_TPS:-0},\"pgbench_group_p99_ms\":$(ms "$G_P99"),\
\"pgbench_request_tps\":${R_TPS:-0},\"pgbench_request_p99_ms\":$(ms "$R_P99"),\
\"non2xx\":${API_NON2XX:-0},\"rss_peak_kib\":${API_RSS:--1},\"endpoints\":{$ENDPOINTS}}"
[ "$NON2XX_ALL" = 0 ] || { echo "wrk saw $NON2XX_ALL non-2xx answers" >&2; exit 1; }
