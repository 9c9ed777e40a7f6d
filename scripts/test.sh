#!/usr/bin/env bash
# Builds tpmauthn with -Werror and runs every test suite: unit and CLI tests
# (gcc build in ./build), the same suites under ASan + UBSan (./build-asan),
# then a short libFuzzer smoke run of each harness (clang build in
# ./build-fuzz). Installs missing Debian packages first.
# Exit status is non-zero if anything failed.
#
#   scripts/test.sh [--no-sanitizers]
#
# --no-sanitizers leaves out the ASan + UBSan build and run (about half the
# time); CI runs it on Debian 12 and leaves it out of the Debian 13 run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sanitizers=1
for arg in "$@"; do
  case "$arg" in
    --no-sanitizers) sanitizers=0 ;;
    *) echo "usage: scripts/test.sh [--no-sanitizers]" >&2; exit 2 ;;
  esac
done

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

asan_build=${TPMAUTHN_ASAN_BUILD_DIR:-build-asan}
if [ "$sanitizers" = 1 ]; then
  echo "== sanitizers (build-asan: ASan + UBSan; unit, CLI, TPM and pam_wrapper suites)"
  if [ ! -f "$asan_build/build.ninja" ]; then
    meson setup "$asan_build" -Db_sanitize=address,undefined -Db_lundef=false -Dbench=disabled \
      -Dcpp_args=-fno-sanitize-recover=undefined
  fi
  meson compile -C "$asan_build"
  # The pam_wrapper tests preload the ASan runtime ahead of pam_wrapper; sudo and
  # sshd cannot load a sanitized module, so the setuid and ssh suites run only in
  # the plain build (suite plain-only: also valgrind, which cannot run ASan
  # binaries, and the 1,000 random SIGKILLs of the crash test).
  # Sanitized binaries start and run several times slower (verify_cli starts
  # tpmauthn 159 times: 5 s plain, about 50 s under ASan on a loaded 2-core
  # machine), hence the timeout multiplier.
  TPMAUTHN_ASAN_RUNTIME=$(g++ -print-file-name=libasan.so) \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$asan_build" --no-rebuild --print-errorlogs --no-suite plain-only --no-suite ssh \
    --timeout-multiplier 4 || status=1
else
  echo "== sanitizers left out (--no-sanitizers)"
fi

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
ran=("$build" "$fuzz_build")
[ "$sanitizers" = 0 ] || ran+=("$asan_build")
python3 - "${ran[@]}" <<'PY'
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
