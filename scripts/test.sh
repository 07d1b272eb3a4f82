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

run_e2e() {
    local out rc line p f s
    out=$(mktemp)
    ZQ_BIN_DIR="$B" python3 tests/e2e/run.py 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    rm -f "$out"
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        failures+=("e2e (no summary, exit $rc)")
        return
    fi
    p=$(sed -E 's/^e2e: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/^e2e: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
    s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("e2e (exit $rc)")
    fi
    [ "$f" -ne 0 ] && failures+=("e2e")
}

run_browser() {
    local out rc line p f
    out=$(mktemp)
    scripts/browser-test.sh "$B" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    rm -f "$out"
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        failures+=("browser (no summary, exit $rc)")
        return
    fi
    p=$(sed -E 's/^browser: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/^browser: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("browser (exit $rc)")
    fi
    [ "$f" -ne 0 ] && failures+=("browser")
}

case "${ZQ_ONLY:-all}" in
    unit) run_unit ;;
    e2e) run_e2e ;;
    browser) run_browser ;;
    *) run_unit; run_e2e; run_browser ;;
esac

[ "${#failures[@]}" -gt 0 ] && echo "failing: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
