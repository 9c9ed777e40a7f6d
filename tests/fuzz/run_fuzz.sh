#!/usr/bin/env bash
# Runs one libFuzzer harness on a scratch copy of its seed corpus.
# usage: run_fuzz.sh HARNESS SEED_DIR SECONDS
# On a finding it prints the fuzzer's own report and the input (base64), so a
# CI log alone is enough to reproduce it: base64 -d > crash; HARNESS crash
set -euo pipefail
harness=$(readlink -f "$1") seeds=$(readlink -f "$2") seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/findings"
cp -r "$seeds"/. "$work/corpus"/
cd "$work/findings"
"$harness" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 "$work/corpus" >"$work/log" 2>&1 || true
grep -aE 'stat::number_of_executed_units|ERROR|SUMMARY|Done' "$work/log" || true
# libFuzzer exits non-zero and leaves crash-*, leak-*, timeout-* or oom-* on a finding.
shopt -s nullglob
findings=("$work"/findings/crash-* "$work"/findings/leak-* "$work"/findings/timeout-* \
          "$work"/findings/oom-*)
if [ ${#findings[@]} -gt 0 ]; then
  echo "finding in $(basename "$harness"); the fuzzer's report:" >&2
  grep -avE '^(#[0-9]+|INFO:|MS:|base unit:|\s*$)' "$work/log" | tail -n 60 >&2
  for f in "${findings[@]}"; do
    echo "input $(basename "$f") ($(stat -c %s "$f") bytes), base64:" >&2
    base64 -w 76 "$f" | head -n 200 >&2
  done
  exit 1
fi
"$harness" -error_exitcode=1 -runs=0 "$work/corpus" >/dev/null 2>&1
