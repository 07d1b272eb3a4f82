#!/usr/bin/env bash
# Runs the unit tests (cmocka, TAP output) and the end-to-end tests, and
# ends with one line "N passed, N failed". Usage: scripts/test.sh BUILD_DIR
# ZQ_ONLY=unit|e2e runs one part.
set -uo pipefail

B="${1:-build/asan}"
cd "$(dirname "$0")/.."
passed=0
failed=0
skipped=0
failures=()

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

run_unit() {
    local t out rc p f
    for t in "$B"/tests/test_*; do
        [ -x "$t" ] || continue
        out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
        rc=$?
        p=$(grep -cE '^ok ' <<<"$out")
        f=$(grep -cE '^not ok ' <<<"$out")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            # Crashed, leaked or aborted outside an assertion: count it.
            f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        printf '%-28s %3d passed, %d failed\n' "$(basename "$t")" "$p" "$f"
        if [ "$f" -ne 0 ]; then
            failures+=("$(basename "$t")")
            echo "$out" | grep -vE '^ok ' | tail -40
        fi
    done
}

# Runs one suite whose output ends with "LABEL: N passed, N failed[, N
# skipped]" and adds its counts. A suite that crashes without its summary,
# or exits non-zero with no failure counted, counts as one failure.
run_suite() {
    local label=$1 out rc line p f s
    shift
    out=$(mktemp)
    "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
    rm -f "$out"
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        failures+=("$label (no summary, exit $rc)")
        return
    fi
    p=$(sed -E "s/^$label: ([0-9]+) passed.*/\\1/" <<<"$line")
    f=$(sed -E "s/^$label: [0-9]+ passed, ([0-9]+) failed.*/\\1/" <<<"$line")
    s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("$label (exit $rc)")
    fi
    [ "$f" -ne 0 ] && failures+=("$label")
}

# The S3 file store tests need s3rver (npm): installed first when missing.
run_e2e() {
    scripts/s3-test-deps.sh
    run_suite e2e env ZQ_BIN_DIR="$B" python3 tests/e2e/run.py
}
run_browser() { run_suite browser scripts/browser-test.sh "$B"; }
# The fault suite (tests/faults): Sentinel fail-over, rolling restarts,
# nginx reloads, platform faults and a full disk, under traffic.
run_faults() { run_suite faults env ZQ_BIN_DIR="$B" python3 tests/faults/run.py; }

case "${ZQ_ONLY:-all}" in
    unit) run_unit ;;
    e2e) run_e2e ;;
    browser) run_browser ;;
    faults) run_faults ;;
    *) run_unit; run_e2e; run_browser; run_faults ;;
esac

[ "${#failures[@]}" -gt 0 ] && echo "failing: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
