#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build, and run every test.
#
#   1. release preset: build everything (tickflow, tests, tickflow_bench), run the tests;
#   2. asan preset (AddressSanitizer + UBSan): build the tests, run them again;
#   3. fuzz preset (clang, libFuzzer + ASan/UBSan): each parser family's fuzzer
#      for 5 s from a corpus of real frames (scripts/fuzz.sh, ~60 s in all).
#
# The ThreadSanitizer run of the lock-free code is a separate stage of
# .ci/run (scripts/tsan.sh). Set TICKFLOW_WERROR=ON to make warnings errors
# (CI does). Prints the time each stage took; exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stage() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  echo "<== $name: $((SECONDS - t0)) s"
}

stage "setup" "$root/scripts/setup.sh"
for preset in release asan; do
  stage "configure $preset" cmake --preset "$preset" --log-level=WARNING -DTICKFLOW_WERROR="${TICKFLOW_WERROR:-OFF}"
  stage "build $preset" cmake --build --preset "$preset" -j2
  stage "test $preset" ctest --preset "$preset"
done
stage "fuzz parsers" "$root/scripts/fuzz.sh" 5
echo "all tests passed"
