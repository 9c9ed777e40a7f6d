#!/usr/bin/env bash
# Runs the suites that switch users (pam, cve, ssh) from a clone under a fresh
# `mktemp -d` directory (mode 0700, like /root), so that no test can rely on
# another user reaching the checkout or the build tree. A test that cannot
# work from there fails; none is skipped. Run as root, after
# scripts/install-deps.sh (scripts/test.sh runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

private=$(mktemp -d)
trap 'rm -rf "$private"' EXIT
chmod 0700 "$private"
git clone -q "$root" "$private/tpmauthn"
cd "$private/tpmauthn"
echo "== clone in $private (mode $(stat -c %a "$private")): build"
meson setup build -Dwerror=true -Dbench=disabled >/dev/null
meson compile -C build
echo "== the user-switching suites from there"
meson test -C build --no-rebuild --print-errorlogs --suite pam --suite cve --suite ssh
