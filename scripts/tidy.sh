#!/usr/bin/env bash
# clang-tidy over the C sources of lib/, fcgi/, bot/ and admin/ with the
# build's own flags and .clang-tidy's checks, two files at a time. Prints
# the findings and "tidy: N file(s) with findings"; exits 1 when any.
# Usage: scripts/tidy.sh [FILE...]   (default: every source)
set -uo pipefail
cd "$(dirname "$0")/.."
PKGS="fcgi hiredis jansson libcurl libcrypto inih"
FLAGS="-std=c11 -D_GNU_SOURCE -Iinclude -I. $(pkg-config --cflags $PKGS) \
-DZQ_VERSION=\"0\" -DZQ_GIT_REV=\"tidy\""
if [ $# -gt 0 ]; then
    files="$*"
else
    files=$(ls lib/*/*.c fcgi/*.c bot/*.c admin/*.c)
fi
out=$(mktemp -d)
export FLAGS out
# shellcheck disable=SC2086
printf '%s\n' $files | xargs -P "${TIDY_JOBS:-2}" -I{} sh -c \
    'clang-tidy -quiet "{}" -- $FLAGS >"$out/$(echo {} | tr / _).log" 2>/dev/null || true'
bad=0
for f in "$out"/*.log; do
    if grep -qE '(warning|error):' "$f"; then
        cat "$f"
        bad=$((bad + 1))
    fi
done
rm -rf "$out"
echo "tidy: $bad file(s) with findings"
[ "$bad" -eq 0 ]
