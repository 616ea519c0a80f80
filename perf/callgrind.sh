#!/usr/bin/env bash
# perf/callgrind.sh FILTER [extra benchmark flags]
# Instruction counts of the benchmarks matching FILTER, under callgrind.
# simdjson picks its kernel at run time, and valgrind's CPU model makes it pick
# differently than natively, so the implementation is forced for comparability.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:?usage: perf/callgrind.sh BENCH_FILTER}
shift
bin="$root/build/release/bench/tickflow_bench"
[[ -x $bin ]] || { cmake --preset release >/dev/null && cmake --build --preset release --target tickflow_bench -j2; }
out=$(mktemp -d)
SIMDJSON_FORCE_IMPLEMENTATION=${SIMDJSON_FORCE_IMPLEMENTATION:-haswell} \
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.01 "$@" >"$out/bench.txt" 2>"$out/valgrind.txt"
grep -E "Collected" "$out/valgrind.txt" || true
callgrind_annotate "$out/callgrind.out" 2>/dev/null | head -30
echo "raw output: $out"
