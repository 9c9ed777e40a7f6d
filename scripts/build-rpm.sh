#!/usr/bin/env bash
# Builds the RPMs with rpmbuild -bb from a git-archive tarball of HEAD, in a
# temporary _topdir; copies them to ${1:-dist/}. On Debian the build
# dependencies are checked by install-deps, not by rpm's database (--nodeps).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
version=$(sed -n 's/^Version: *//p' "$root/packaging/rpm/tpmauthn.spec")
mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
git -C "$root" archive --prefix="tpmauthn-$version/" -o "$top/SOURCES/tpmauthn-$version.tar.gz" HEAD
cp "$root/packaging/rpm/tpmauthn.spec" "$top/SPECS/"
nodeps=
[ -f /etc/debian_version ] && nodeps=--nodeps
rpmbuild -bb $nodeps --define "_topdir $top" "$top/SPECS/tpmauthn.spec"
find "$top/RPMS" -name '*.rpm' -exec cp {} "$out"/ \;
echo "built: $(cd "$out" && ls *.rpm | tr '\n' ' ')"
