#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz (clang, -fsanitize=fuzzer with
# AddressSanitizer and UndefinedBehaviorSanitizer) against the library
# sources, then runs each for FUZZ_SECONDS from a scratch copy of its seed
# corpus (tests/fuzz/corpus/<name>/ is never written to).
#
# Usage: scripts/fuzz.sh [name...]      (default: every tests/fuzz/fuzz_*.c)
#   FUZZ_SECONDS=30     how long each target runs
#   FUZZ_BUILD_ONLY=1   build, do not run
#   FUZZ_JOBS=2         parallel compiles
#   FUZZ_CC=clang       the compiler (must support -fsanitize=fuzzer)
#
# Prints "fuzz <name>: ok (N execs)" or "fuzz <name>: CRASH <artifact>" per
# target and "fuzz: N passed, N failed"; exits 1 when any target failed.
# Artifacts stay in build/fuzz/artifacts/<name>/; replay one with
#   build/fuzz/bin/fuzz_<name> build/fuzz/artifacts/<name>/crash-...
set -euo pipefail

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$SELF")/.."
ROOT=$(pwd)
OUT=build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-2}
CC=${FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz: $CC not found (scripts/deps.sh fuzz installs clang)" >&2
    exit 2
fi

PKGS="fcgi hiredis jansson libcurl libcrypto inih"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)
VERSION=$(cat VERSION 2>/dev/null || echo 0.0.0)

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
BASE="-std=c11 -D_GNU_SOURCE -pthread -g -O1 $SAN -Iinclude -I. $PKG_CFLAGS \
-DZQ_VERSION=\"$VERSION\" -DZQ_GIT_REV=\"fuzz\""
WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-missing-field-initializers"
# Library code gets the coverage instrumentation without libFuzzer's main;
# its warnings are the main build's business (gcc, -Werror), not this one's.
LIB_CFLAGS="$BASE $WARN -Wno-format-zero-length -fsanitize=fuzzer-no-link"
FUZZ_CFLAGS="$BASE $WARN -Werror -Wno-unused-parameter -fsanitize=fuzzer -DZQ_FUZZ_ROOT=\"$ROOT\""

# Every library source but the programs' main files.
SRC=$(ls lib/*/*.c fcgi/*.c | grep -v -e '^fcgi/main\.c$')

mkdir -p "$OUT/obj" "$OUT/bin" "$OUT/artifacts" "$OUT/run"

# An object is rebuilt when its source, any header or this script is newer.
newest_dep=$({ find include lib fcgi bot -name '*.h' -printf '%T@\n'; stat -c %Y "$SELF"; } |
    cut -d. -f1 | sort -n | tail -1)
stale=""
for s in $SRC; do
    o="$OUT/obj/${s%.c}.o"
    if [ ! -f "$o" ] || [ "$(stat -c %Y "$s")" -gt "$(stat -c %Y "$o")" ] ||
        [ "$newest_dep" -gt "$(stat -c %Y "$o")" ]; then
        stale="$stale $s"
    fi
done
if [ -n "$stale" ]; then
    echo "fuzz: compiling$(echo $stale | wc -w | sed 's/^/ /') library sources with $CC" >&2
    export OUT LIB_CFLAGS CC
    # shellcheck disable=SC2086
    printf '%s\n' $stale | xargs -P "$JOBS" -I{} sh -c \
        'o="$OUT/obj/$(dirname {})/$(basename {} .c).o"; mkdir -p "$(dirname "$o")";
         $CC $LIB_CFLAGS -c {} -o "$o" || { rm -f "$o"; exit 1; }'
fi
LIBA="$OUT/libzq-fuzz.a"
OBJS=$(for s in $SRC; do echo "$OUT/obj/${s%.c}.o"; done)
if [ -n "$stale" ] || [ ! -f "$LIBA" ]; then
    rm -f "$LIBA"
    # shellcheck disable=SC2086
    ar rcs "$LIBA" $OBJS
fi

# The targets.
if [ $# -gt 0 ]; then
    names="$*"
else
    names=$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')
fi
for n in $names; do
    src=tests/fuzz/fuzz_$n.c
    bin=$OUT/bin/fuzz_$n
    if [ ! -f "$src" ]; then
        echo "fuzz: no target $src" >&2
        exit 2
    fi
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ tests/fuzz/fuzz_common.h -nt "$bin" ] ||
        [ "$LIBA" -nt "$bin" ]; then
        # shellcheck disable=SC2086
        $CC $FUZZ_CFLAGS -o "$bin" "$src" "$LIBA" $PKG_LIBS -lm
    fi
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# The longest input each target is given: what its parser accepts plus a
# little, so that the size bounds are crossed but time is not wasted.
max_len_of() {
    case "$1" in
        urlencoded | cookies | buf | netguard) echo 4096 ;;
        json_body | validate | dingtalk | telegram | generic | classify | admin) echo 8192 ;;
        sms) echo 8192 ;;
        xml | wecom | chatcrypt | feishu) echo 16384 ;;
        schema | calendar | config | template) echo 16384 ;;
        channel) echo 32768 ;;
        *) echo 4096 ;;
    esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0
failed=0
for n in $names; do
    work=$OUT/run/$n
    arts=$OUT/artifacts/$n
    rm -rf "$work"
    mkdir -p "$work/corpus" "$arts"
    if [ -d "tests/fuzz/corpus/$n" ]; then
        cp -R "tests/fuzz/corpus/$n/." "$work/corpus/"
    fi
    dict=()
    [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
    before=$(ls "$arts" | wc -l)
    set +e
    TMPDIR="$work" "$OUT/bin/fuzz_$n" -max_total_time="$SECONDS_EACH" -max_len="$(max_len_of "$n")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" \
        "${dict[@]}" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$work/log" | tail -1 || true)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    if [ "$rc" -eq 0 ] && [ "$(ls "$arts" | wc -l)" -eq "$before" ]; then
        passed=$((passed + 1))
        echo "fuzz $n: ok (${execs:-0} execs)"
        echo "  $n: ${speed:-0} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $(ls "$work/corpus" | wc -l) inputs"
    else
        failed=$((failed + 1))
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | tail -1)
        [ -z "$art" ] && art=$(ls -t "$arts"/* 2>/dev/null | head -1 || true)
        echo "fuzz $n: CRASH ${art:-"(no artifact, exit $rc; see $work/log)"}"
        grep -E 'ERROR: |SUMMARY: |check failed|runtime error' "$work/log" | head -5 | sed 's/^/  /'
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
