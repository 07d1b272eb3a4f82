#!/usr/bin/env bash
# Browser tests of the mobile pages (nginx/html) in headless Chromium.
#
#   scripts/browser-test.sh [BUILD_DIR]      (default: $ZQ_BIN_DIR or build/asan)
#
# Installs what is missing and only that: the stack's packages (via
# scripts/deps.sh), the zhuqi binaries of BUILD_DIR, Debian's chromium and a
# CJK font (so screenshots show Chinese), Node.js and npm, and
# tests/browser/node_modules (npm ci from the committed lock: playwright-core
# only, which never downloads a browser). Then runs tests/browser/run.js,
# which starts a private stack (tests/browser/stack.py) on loopback ports.
# Screenshots: tests/browser/out/. Ends with "browser: N passed, N failed";
# exits non-zero when anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."

B="${1:-${ZQ_BIN_DIR:-build/asan}}"
DIR=tests/browser
CHROMIUM=${ZQ_CHROMIUM:-/usr/bin/chromium}

say() { printf 'browser-test: %s\n' "$*" >&2; }
fail() {
    say "$*"
    echo "browser: 0 passed, 1 failed"
    exit 1
}

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_updated=0
apt_install() {
    local missing="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    say "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" = 0 ]; then
        $SUDO apt-get update -qq || return 1
        apt_updated=1
    fi
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# The stack: Redis, nginx, python3 and the build tools (deps.sh is
# idempotent and quick when all is there).
scripts/deps.sh run || fail "scripts/deps.sh run failed"
if [ ! -x "$B/zhuqi-fcgi" ]; then
    case $(basename "$B") in
        asan | release) make --no-print-directory BUILD="$(basename "$B")" all >&2 ||
            fail "build of $B failed" ;;
        *) fail "$B/zhuqi-fcgi is missing (build it first)" ;;
    esac
fi

# The browser, and a font with Chinese glyphs.
if [ ! -x "$CHROMIUM" ]; then
    [ "$CHROMIUM" = /usr/bin/chromium ] || fail "$CHROMIUM not found"
    apt_install chromium || fail "could not install chromium"
fi
if ! fc-list :lang=zh family 2>/dev/null | grep -q .; then
    apt_install fonts-wqy-microhei || say "no CJK font: screenshots will show boxes"
fi

# Node.js (the machine's when it has one) and the test's own packages.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm || fail "could not install nodejs and npm"
fi
if [ ! -d "$DIR/node_modules/playwright-core" ]; then
    say "installing tests/browser/node_modules"
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    if [ -f "$DIR/package-lock.json" ]; then
        (cd "$DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
    else
        (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error) >&2
    fi || fail "npm could not install tests/browser's packages"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
ZQ_BIN_DIR="$B" ZQ_CHROMIUM="$CHROMIUM" node "$DIR/run.js" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if ! grep -qE '^browser: [0-9]+ passed, [0-9]+ failed$' "$out"; then
    echo "browser: 0 passed, 1 failed"
    [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
