#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time from a committed corpus:
#
#   run_fuzzer.sh TARGET CORPUS WORKDIR SECONDS
#
# New interesting inputs go to WORKDIR/corpus, a crashing input to WORKDIR/ (its
# path is in the output: copy it into CORPUS and write a regression test). The
# committed corpus is only read. Exits non-zero on a crash, leak or timeout.
set -euo pipefail
target=$1 corpus=$2 workdir=$3 seconds=$4
mkdir -p "$workdir/corpus"
# Inputs up to 64 KiB: deep nesting and long names need room. A single input that
# takes more than 10 s, or 2 GB, is a finding of its own. A finding exits 1:
# libFuzzer's own default, 77, is what meson counts as a skipped test.
exec "$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$workdir/" "$workdir/corpus" "$corpus"
