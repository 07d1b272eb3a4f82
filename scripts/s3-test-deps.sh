#!/usr/bin/env bash
# Installs what the S3 file store tests need and only that: Node.js and
# npm (Debian's) when missing, and tests/s3/node_modules (npm ci from the
# committed lock: s3rver, a real S3 server implementation that the tests
# run on 127.0.0.1). scripts/test.sh runs it before the end-to-end tests.
set -uo pipefail
cd "$(dirname "$0")/.."

DIR=tests/s3
say() { printf 's3-test-deps: %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing nodejs npm"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends nodejs npm \
        >/dev/null || { say "could not install nodejs and npm"; exit 1; }
fi
if [ ! -f "$DIR/node_modules/s3rver/bin/s3rver.js" ]; then
    say "installing $DIR/node_modules"
    (cd "$DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2 ||
        { say "npm could not install $DIR's packages"; exit 1; }
fi
