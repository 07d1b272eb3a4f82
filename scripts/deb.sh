#!/usr/bin/env bash
# Builds the Debian package with dpkg-buildpackage (debhelper; debian/) on a
# clean copy of the tree, so the work tree gets no debian/zhuqi/ or stamps,
# and leaves build/deb/zhuqi_<version>_amd64.deb.
#   DEB_VERSION=V  build version V instead of debian/changelog's (a new
#                  changelog entry is written into the copy only; the tests
#                  use it to build an upgrade)
#   DEB_REUSE=1    keep the copy's objects from the previous build (no
#                  clean): a rebuild that only bumps the version is quick
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=build/deb
SRC=$OUT/zhuqi

changelog_version() { dpkg-parsechangelog -l "$1" -S Version; }

upstream=$(cat VERSION)
shipped=$(changelog_version debian/changelog)
case "$shipped" in
    "$upstream" | "$upstream"[-+~]*) ;;
    *) echo "deb: debian/changelog says $shipped but VERSION says $upstream" >&2; exit 1 ;;
esac

mkdir -p "$OUT"
if [ "${DEB_REUSE:-}" != 1 ] || [ ! -d "$SRC" ]; then
    rm -rf "$SRC"
    mkdir -p "$SRC"
    # The tree as it is (uncommitted edits included), without build output
    # and local state.
    tar -C "$ROOT" --exclude-vcs --exclude=./build --exclude=./var \
        --exclude=./bench/out --exclude=./tests/browser/out \
        --exclude=./tests/browser/node_modules --exclude=__pycache__ -cf - . |
        tar -C "$SRC" -xf -
    reuse=""
else
    # Fresh sources over the old objects; make rebuilds what changed.
    tar -C "$ROOT" --exclude-vcs --exclude=./build --exclude=./var \
        --exclude=./bench/out --exclude=./tests/browser/out \
        --exclude=./tests/browser/node_modules --exclude=__pycache__ -cf - . |
        tar -C "$SRC" -xf -
    reuse="-nc"
fi

version=${DEB_VERSION:-$shipped}
if [ "$version" != "$shipped" ]; then
    {
        printf 'zhuqi (%s) unstable; urgency=medium\n\n' "$version"
        printf '  * Rebuild of %s as %s.\n\n' "$shipped" "$version"
        printf ' -- zhuqi maintainers <zhuqi@localhost>  %s\n\n' "$(date -R)"
        cat debian/changelog
    } >"$SRC/debian/changelog"
fi

(cd "$SRC" && dpkg-buildpackage -b -us -uc $reuse -j"$(nproc)") >"$OUT/build-$version.log" 2>&1 || {
    tail -40 "$OUT/build-$version.log" >&2
    echo "deb: dpkg-buildpackage failed; log: $OUT/build-$version.log" >&2
    exit 1
}
deb="$OUT/zhuqi_${version}_amd64.deb"
[ -f "$deb" ] || { echo "deb: $deb was not made" >&2; exit 1; }
echo "$deb"
