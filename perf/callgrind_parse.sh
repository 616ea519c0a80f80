#!/usr/bin/env bash
# perf/callgrind_parse.sh [BENCH_FILTER]
# Instructions per frame of the parse benchmarks, under callgrind: only the
# per-frame functions (naive_parse_one, parse_one, and what they call) are
# counted, then divided by their call count. simdjson's kernel is forced to
# haswell: under valgrind it would otherwise pick differently than natively.
#   perf/callgrind_parse.sh 'Naive|Parse_BinanceTrade$'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-'Naive|Parse_BinanceTrade$'}
bin="$root/build/release/bench/tickflow_bench"
[[ -x $bin ]] || { cmake --preset release >/dev/null && cmake --build --preset release --target tickflow_bench -j2; }
out=$(mktemp -d)
"$bin" --benchmark_list_tests --benchmark_filter="$filter" | while read -r bench; do
  # '*parse_one*' matches both naive_parse_one and parse_one (one toggle each).
  SIMDJSON_FORCE_IMPLEMENTATION=${SIMDJSON_FORCE_IMPLEMENTATION:-haswell} \
    valgrind --tool=callgrind --callgrind-out-file="$out/$bench.out" --toggle-collect='*parse_one*' \
    "$bin" --benchmark_filter="^${bench}\$" --benchmark_min_time=0.02 --benchmark_format=csv \
    >"$out/$bench.csv" 2>"$out/$bench.log"
  total=$(callgrind_annotate "$out/$bench.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  # Google Benchmark runs growing trial batches before the reported one, so
  # the call count comes from callgrind's own record, not from the CSV.
  calls=$(python3 "$root/perf/callgrind_calls.py" "$out/$bench.out" "parse_one(")
  echo "$bench: $total instructions / $calls frames = $((total / calls)) per frame"
done
echo "raw output: $out"
