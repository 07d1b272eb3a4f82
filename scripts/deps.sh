#!/usr/bin/env bash
# The one list of Debian packages zhuqi needs, and an idempotent installer.
# Usage: scripts/deps.sh [build|test|run|bench|lint|browser|fuzz|deb|all]
set -euo pipefail

BUILD_PKGS="make gcc pkg-config libfcgi-dev libhiredis-dev libjansson-dev libcurl4-openssl-dev libssl-dev libinih-dev"
RUN_PKGS="redis-server nginx-light python3 openssl"
# php-fpm + php-redis: the PHP peer of the complaint step (bench/peer/),
# measured by `make bench` and checked by tests/e2e/test_bench_peer.py.
PEER_PKGS="php-fpm php-redis"
# wrk: tests/e2e/test_bench_peer.py runs bench/staff_bench.py's list with it.
TEST_PKGS="libcmocka-dev python3 openssl wrk $PEER_PKGS"
BENCH_PKGS="wrk valgrind $PEER_PKGS"
LINT_PKGS="clang-format clang-tidy cppcheck"
# libFuzzer: Debian 12's clang only recommends its runtime (libclang_rt.fuzzer,
# in libclang-rt-14-dev), and recommends are not installed here.
FUZZ_PKGS="clang libclang-rt-14-dev"
BROWSER_PKGS="chromium fonts-wqy-microhei"
# `make deb` (dpkg-buildpackage with debhelper) and its test.
DEB_PKGS="debhelper dpkg-dev adduser"
# Node.js: the machine's own (NodeSource 20, npm included) when present. Never
# list Debian's npm otherwise: it pulls Debian's nodejs 18 over NodeSource's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    BROWSER_PKGS="$BROWSER_PKGS nodejs npm"
fi

want=""
case "${1:-all}" in
    build) want="$BUILD_PKGS" ;;
    run) want="$BUILD_PKGS $RUN_PKGS" ;;
    test) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS $BROWSER_PKGS $DEB_PKGS" ;;
    deb) want="$BUILD_PKGS $DEB_PKGS python3" ;;
    browser) want="$BROWSER_PKGS" ;;
    bench) want="$BUILD_PKGS $RUN_PKGS $BENCH_PKGS" ;;
    lint) want="$BUILD_PKGS $LINT_PKGS" ;;
    fuzz) want="$BUILD_PKGS $FUZZ_PKGS" ;;
    all) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS $BENCH_PKGS $LINT_PKGS $FUZZ_PKGS $BROWSER_PKGS $DEB_PKGS" ;;
    *) echo "usage: $0 [build|test|run|bench|lint|browser|fuzz|deb|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian starts services on install where it can; the project runs its own
# private instances, so keep the system ones from starting.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    made_policy=1
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
# The bench starts its own php-fpm with its own config (bench/peer/); a
# system php*-fpm service (enabled by the package's postinst on a machine
# with systemd) would only take a core and a socket, so stop and disable it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in $(systemctl list-unit-files 'php*-fpm.service' --no-legend 2>/dev/null \
                  | awk '{print $1}'); do
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
fi
exit 0
