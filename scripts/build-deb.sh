#!/usr/bin/env bash
# Builds the Debian packages from a clean copy of the committed tree
# (git archive, packaging/debian as debian/), runs lintian on them, and leaves
# the .deb files in ${1:-dist/}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n "s/^  version : '\(.*\)',/\1/p" "$root/meson.build")
mkdir "$work/tpmauthn-$version"
git -C "$root" archive HEAD | tar -x -C "$work/tpmauthn-$version"
cp -r "$work/tpmauthn-$version/packaging/debian" "$work/tpmauthn-$version/debian"
(cd "$work/tpmauthn-$version" && dpkg-buildpackage -us -uc -b)
cp "$work"/*.deb "$out"/
echo "== lintian"
lintian --fail-on error,warning --info "$work"/*.changes
echo "built: $(cd "$out" && ls *.deb | tr '\n' ' ')"
