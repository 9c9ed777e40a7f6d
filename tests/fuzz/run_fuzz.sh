#!/usr/bin/env bash
# Runs one libFuzzer harness on a scratch copy of its seed corpus.
# usage: run_fuzz.sh HARNESS SEED_DIR SECONDS
set -euo pipefail
harness=$(readlink -f "$1") seeds=$(readlink -f "$2") seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
cd "$work"
"$harness" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 \
  "$work" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true
# libFuzzer exits non-zero and leaves crash-* on a finding.
if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
  echo "finding in $(basename "$harness")" >&2
  exit 1
fi
"$harness" -error_exitcode=1 -runs=0 "$work" >/dev/null 2>&1
