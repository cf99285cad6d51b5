#!/bin/sh
# Runs every codec fuzz target for SECONDS each (default 30) from a fresh seed corpus.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
# Corpora and crash files go to BUILD_DIR/fuzz-corpus/<target>/ and BUILD_DIR/fuzz-out/.
# Exits non-zero when any target finds a crash.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-30}
status=0
for t in fuzz_decode_command fuzz_decode_event fuzz_decode_usage fuzz_decode_result \
         fuzz_decode_invoice; do
        bin="$build/tests/fuzz/$t"
        [ -x "$bin" ] || bin="$build/fuzz/$t"
        corpus="$build/fuzz-corpus/$t"
        out="$build/fuzz-out/$t"
        mkdir -p "$corpus" "$out"
        FUZZ_WRITE_SEEDS="$corpus" "$bin"
        if ! "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="$out/" -print_final_stats=1 "$corpus" >"$out/log" 2>&1; then
                echo "$t: FAILED (see $out/log)"
                status=1
        fi
        printf '%s: %s runs, %s exec/s, %s crash files\n' "$t" \
                "$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")" \
                "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log")" \
                "$(find "$out" -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' | wc -l)"
done
exit $status
