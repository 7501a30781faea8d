#!/usr/bin/env bash
# The hostile-input suites at sizes beyond CI's (docs/hostile.md):
#
#   bench/hostile.sh [BUILD_DIR]      default build-rel
#
#   - sizes_test's big log at 1 GiB (CI: 256 MiB), printing the reading command's peak RSS;
#   - soak_test with 20,000 builds a builder (CI: 1,500);
#   - each fuzz target (fuzz/fuzz_*.cc) for 10 minutes, if build-fuzz exists (CI: 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-rel}
export BUILDHIST_BIN=$PWD/$build/src/cli/buildhist
BUILDHIST_SIZES_LOG_MB=1024 "$build/tests/sizes_test" --test-case='a log of hundreds*' --success=false
BUILDHIST_SOAK_BUILDS=20000 "$build/tests/soak_test"
if [[ -d build-fuzz ]]; then
  for source in fuzz/fuzz_*.cc; do
    target=$(basename "$source" .cc)
    target=${target#fuzz_}
    fuzz/run_fuzzer.sh "build-fuzz/fuzz/fuzz_$target" "fuzz/corpus/$target" \
      "build-fuzz/fuzz/found/$target" 600
  done
fi
