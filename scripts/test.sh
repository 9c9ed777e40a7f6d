#!/usr/bin/env bash
# Builds tpmauthn with -Werror and runs every test suite: unit and CLI tests
# (gcc build in ./build), then a short libFuzzer smoke run of each harness
# (clang build in ./build-fuzz). Installs missing Debian packages first.
# Exit status is non-zero if anything failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/install-deps.sh"

build=${TPMAUTHN_BUILD_DIR:-build}
fuzz_build=${TPMAUTHN_FUZZ_BUILD_DIR:-build-fuzz}
status=0

echo "== build ($build, -Werror)"
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" -Dwerror=true -Dtests=true >/dev/null
else
  meson setup "$build" -Dwerror=true -Dtests=true
fi
meson compile -C "$build"

echo "== tests"
meson test -C "$build" --no-rebuild --print-errorlogs || status=1

if command -v clang++ >/dev/null; then
  echo "== fuzz smoke run ($fuzz_build, clang, ASan+UBSan)"
  if [ ! -f "$fuzz_build/build.ninja" ]; then
    CXX=clang++ meson setup "$fuzz_build" -Dfuzzing=true -Dtests=false -Dbench=disabled \
      -Dwerror=true
  fi
  meson compile -C "$fuzz_build"
  meson test -C "$fuzz_build" --no-rebuild --suite fuzz --print-errorlogs || status=1
else
  echo "== fuzz smoke run skipped: clang++ not installed"
fi

# One closing line over every suite that ran.
python3 - "$build" "$fuzz_build" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    for line in open(log):
        result = json.loads(line).get("result")
        if result == "OK":
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
