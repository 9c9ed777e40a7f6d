#!/usr/bin/env bash
# Runs every libFuzzer harness for longer than the test suite does.
# usage: scripts/fuzz.sh [SECONDS_PER_HARNESS]   (default 300)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh"
seconds=${1:-300}
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
  CXX=clang++ meson setup "$dir" -Dfuzzing=true -Dtests=false -Dbench=disabled
fi
meson configure "$dir" -Dfuzz_seconds="$seconds" >/dev/null
meson compile -C "$dir"
meson test -C "$dir" --no-rebuild --suite fuzz --verbose --timeout-multiplier 0 2>&1 |
  grep -E 'stat::number_of_executed_units|OK|FAIL|ERROR'
