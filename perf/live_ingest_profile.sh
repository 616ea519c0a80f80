#!/usr/bin/env bash
# perf/live_ingest_profile.sh: profiles of `tickflow run` on the live edge,
# over bench/live_ingest runs at maximum speed (bench/README.md, "The live
# edge"):
#
#   perf/live_ingest_profile.sh [-b BUILD_DIR] [-o OUTDIR] [-r REPEAT] [--no-strace] [--no-callgrind] [-- LIVE_INGEST_ARGS]
#
# (e.g. -- --tickflow OTHER/tickflow --config OTHER/tuning/laptop-2core.toml
# --frames-per-write 1 to profile another build, or one TLS record per frame)
#
# 1. perf record -e cpu-clock -g (999 Hz, frame pointers) on every thread of
#    the tickflow process, from the first frame to the last trade in; then
#    perf/live_ingest_breakdown.py per thread (feed, aggregator, writer):
#    OUTDIR/perf.data, OUTDIR/breakdown-<thread>.txt, OUTDIR/perf-run.json
# 2. strace -c -f on every thread over a second run (syscalls per frame;
#    strace slows each syscall, so it changes how much one read returns):
#    OUTDIR/strace.txt, OUTDIR/strace-run.json
# 3. callgrind (--separate-threads) on a --repeat 1 run: instructions per
#    frame of the feed thread, by function: OUTDIR/callgrind.out.*,
#    OUTDIR/callgrind-feed.txt
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
out=/tmp/live-ingest-profile-$(date +%Y%m%d-%H%M%S)
repeat=10
strace=1
callgrind=1
while (($#)); do
  case $1 in
    -b) build=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -r) repeat=$2; shift 2 ;;
    --no-strace) strace=0; shift ;;
    --no-callgrind) callgrind=0; shift ;;
    --) shift; break ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "live_ingest_profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
li=$build/bench/live_ingest
[[ -x $li ]] || { echo "no $li: cmake --build $build --target live_ingest" >&2; exit 2; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))" "$1" "$2"; }

echo "== perf record: $out/perf.data"
"$li" "$@" --no-e2e --repeat "$repeat" \
  --on-start "exec perf record -q -e cpu-clock -F 999 -g -p {pid} -o $out/perf.data" \
  >"$out/perf-run.json" 2>"$out/perf-run.txt"
perf script -i "$out/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$out/perf.script"
for t in tf-feed-0:feed tf-agg:aggregator tf-writer:writer; do
  comm=${t%%:*}
  us=$(field "$out/perf-run.json" "median_${t##*:}_us_per_frame")
  python3 perf/live_ingest_breakdown.py --comm "$comm" --us-per-frame "$us" <"$out/perf.script" >"$out/breakdown-$comm.txt"
done
cat "$out/breakdown-tf-feed-0.txt"

if ((strace)); then
  echo "== strace -c -f: $out/strace.txt"
  "$li" "$@" --no-e2e --repeat "$repeat" --on-start "exec strace -c -f -p {pid} -o $out/strace.txt" \
    >"$out/strace-run.json" 2>"$out/strace-run.txt"
  frames=$(field "$out/strace-run.json" frames)
  python3 - "$out/strace.txt" "$frames" <<'EOF'
import sys
frames = float(sys.argv[2])
print(f"syscalls per frame over {frames:.0f} frames (all threads):")
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 5 and p[0][0].isdigit() and p[3].isdigit():
        name = p[-1]
        print(f"  {name:20s} {int(p[3]) / frames:8.4f}")
EOF
fi

if ((callgrind)); then
  echo "== callgrind (--repeat 1, collected from the first frame to the last trade in): $out/callgrind.out.*"
  "$li" "$@" --no-e2e --repeat 1 --timeout-s 900 \
    --exec-prefix "valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no --callgrind-out-file=$out/callgrind.out.%p" \
    --on-start "callgrind_control -i on {pid} >/dev/null; trap 'callgrind_control -i off {pid} >/dev/null; exit 0' INT; while :; do sleep 0.2; done" \
    >"$out/callgrind-run.json" 2>"$out/callgrind-run.txt" || true
  frames=$(field "$out/callgrind-run.json" frames)
  # The feed thread's file: the one where LiveFeed::on_frame runs.
  for f in "$out"/callgrind.out.*-*; do
    if callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -q 'LiveFeed::on_frame'; then
      echo "feed thread: $f"
      python3 perf/live_ingest_breakdown.py --callgrind "$f" --frames "$frames" | tee "$out/callgrind-feed.txt"
      callgrind_annotate --inclusive=no "$f" 2>/dev/null | head -60 >"$out/callgrind-feed-functions.txt"
    fi
  done
fi
echo "== $out"
