#!/usr/bin/env bash
# perf/record.sh: a sampled CPU profile (perf record -e cpu-clock) of a command
# or a running process, summarised per thread and per function, plus a
# flamegraph (or the collapsed stacks to draw one).
#
# cpu-clock is a software timer event, so it works on VMs without hardware
# counters (this one); it samples where threads spend CPU time, not cycles.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: perf/record.sh [options] -- COMMAND [ARGS...]
       perf/record.sh [options] -p PID -d SECONDS

Samples CPU time with `perf record -e cpu-clock -g` and writes to OUTDIR:
  perf.data      the raw samples (open with `perf report -i OUTDIR/perf.data`)
  report.txt     per-thread split (--sort comm), top functions by self time,
                 top functions per thread
  callgraph.txt  callers of the hottest functions
  flame.svg      when inferno or FlameGraph (flamegraph.pl) is installed,
  stacks.folded  otherwise: collapsed stacks, one line per unique stack

options:
  -o OUTDIR   output directory (default: /tmp/tickflow-perf-record-DATE)
  -F HZ       sampling frequency (default 999: off the 1000 Hz timer grid)
  -n N        lines in each top-N table (default 25)
  -p PID      profile a running process (all its threads) ...
  -d SECONDS  ... for this long (default 10)
  --dwarf     unwind with DWARF (--call-graph dwarf) instead of frame pointers:
              complete stacks through code built without -fno-omit-frame-pointer,
              at ~100x the data size; default --call-graph fp
  -h, --help  this text

examples:
  perf/record.sh -o /tmp/prof -- ./build/release/runtime/tickflow run --config tuning/laptop-2core.toml
  perf/record.sh -p "$(pidof tickflow)" -d 30 -o /tmp/prof
EOF
}

die() {
  echo "perf/record.sh: $*" >&2
  exit 1
}

outdir="/tmp/tickflow-perf-record-$(date +%Y%m%d-%H%M%S)"
freq=999
top=25
pid=""
seconds=10
callgraph=fp
while (($#)); do
  case $1 in
    -o) outdir=${2:?-o needs a directory}; shift 2 ;;
    -F) freq=${2:?-F needs a frequency}; shift 2 ;;
    -n) top=${2:?-n needs a count}; shift 2 ;;
    -p) pid=${2:?-p needs a PID}; shift 2 ;;
    -d) seconds=${2:?-d needs seconds}; shift 2 ;;
    --dwarf) callgraph=dwarf; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ $freq =~ ^[0-9]+$ ]] || die "-F wants a number, got '$freq'"
[[ $top =~ ^[0-9]+$ ]] || die "-n wants a number, got '$top'"
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || die "-d wants seconds, got '$seconds'"
if [[ -n $pid ]]; then
  (($# == 0)) || die "give either -p PID or -- COMMAND, not both"
  [[ -d /proc/$pid ]] || die "no process $pid"
else
  (($# > 0)) || { usage >&2; die "nothing to profile: give -- COMMAND or -p PID"; }
fi
command -v perf >/dev/null ||
  die "perf not found: install it (Debian: apt-get install linux-perf; Ubuntu: apt-get install linux-tools-\$(uname -r))"

mkdir -p "$outdir"
data="$outdir/perf.data"
record=(perf record -e cpu-clock -F "$freq" -g --call-graph "$callgraph" -o "$data")

# perf's own messages go to record.log; the profiled command keeps the terminal.
status=0
if [[ -n $pid ]]; then
  echo "recording pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?')) for ${seconds}s, call graph $callgraph ..." >&2
  "${record[@]}" -p "$pid" -- sleep "$seconds" 2>"$outdir/record.log" || status=$?
else
  "${record[@]}" -- "$@" 2>"$outdir/record.log" || status=$?
fi
if [[ ! -s $data ]]; then
  cat "$outdir/record.log" >&2
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?')
  if grep -qiE 'permission|paranoid|access to performance' "$outdir/record.log"; then
    echo "perf/record.sh: not allowed to sample (kernel.perf_event_paranoid=$paranoid)." >&2
    echo "  Run as root, or allow it: sysctl -w kernel.perf_event_paranoid=1 (own processes: 2 is enough without -p)" >&2
  fi
  die "perf record wrote no samples (see above)"
fi
((status == 0)) || echo "perf/record.sh: note: perf record exited with status $status (the command's own status, or an error above)" >&2
grep -E 'Captured and wrote|Lost|lost' "$outdir/record.log" >&2 || true

report=(perf report -i "$data" --stdio --no-children)
# Strip perf's '#' header and blank lines so the top-N cut counts real rows.
# awk reads to the end (unlike head), so perf never dies of SIGPIPE, which
# pipefail would turn into a failure.
# The trailing "-  -" columns perf adds to symbol sorts are IPC from branch
# records (LBR), which a cpu-clock profile never has: dropped.
table() { awk -v n="$top" '!/^#/ && NF && ++c <= n { sub(/[ \t]+-[ \t]+-[ \t]*$/, ""); print }'; }
first() { awk -v re="$1" '$0 ~ re && !done { sub(/^# /, ""); print; done = 1 }'; }
{
  echo "# perf/record.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)  event cpu-clock  ${freq} Hz  call graph $callgraph"
  echo "# $(perf report -i "$data" --stdio --header-only 2>/dev/null | first '^# cmdline')"
  echo "# $(perf report -i "$data" --stdio -g none --sort comm 2>/dev/null | first '^# Samples')"
  echo
  echo "== CPU time per thread (--sort comm): which pipeline thread is busy =="
  "${report[@]}" -g none --sort comm 2>/dev/null | table
  echo
  echo "== top $top functions by self time (--no-children), all threads =="
  "${report[@]}" -g none --sort dso,symbol 2>/dev/null | table
  echo
  echo "== top $top (thread, function) by self time =="
  "${report[@]}" -g none --sort comm,dso,symbol 2>/dev/null | table
} >"$outdir/report.txt"
# Callers of the hot functions: the "why is this called" view, kept apart as
# it is long. Entries under 2% are left out.
"${report[@]}" -g caller,0.5,callee --percent-limit 2 --sort comm,symbol 2>/dev/null >"$outdir/callgraph.txt" || true

# Flamegraph: inferno (cargo install inferno) or Brendan Gregg's FlameGraph
# scripts when found; else our own collapse of `perf script`.
flame=""
if command -v inferno-collapse-perf >/dev/null && command -v inferno-flamegraph >/dev/null; then
  perf script -i "$data" 2>/dev/null | inferno-collapse-perf >"$outdir/stacks.folded"
  inferno-flamegraph <"$outdir/stacks.folded" >"$outdir/flame.svg" && flame="$outdir/flame.svg"
elif command -v stackcollapse-perf.pl >/dev/null && command -v flamegraph.pl >/dev/null; then
  perf script -i "$data" 2>/dev/null | stackcollapse-perf.pl >"$outdir/stacks.folded"
  flamegraph.pl "$outdir/stacks.folded" >"$outdir/flame.svg" && flame="$outdir/flame.svg"
else
  # perf script -F comm,ip,sym: a line with the thread name, then one
  # tab-indented "ADDR symbol" line per frame, innermost first, then a blank
  # line. Folded format: "thread;outermost;...;innermost COUNT", one sample
  # per line of cpu-clock being one tick of CPU time.
  perf script -i "$data" -F comm,ip,sym 2>/dev/null | awk '
    function flush(  s, i) {
      if (comm != "") { s = comm; for (i = n; i >= 1; i--) s = s ";" st[i]; count[s]++ }
      comm = ""; n = 0
    }
    /^$/ { flush(); next }
    /^\t/ {
      line = $0
      sub(/^[ \t]+[0-9a-f]+[ \t]*/, "", line)
      sub(/\+0x[0-9a-f]+$/, "", line)
      if (line == "") line = "[unknown]"
      gsub(/;/, ":", line)
      st[++n] = line
      next
    }
    { flush(); comm = $0; sub(/[ \t]+$/, "", comm); gsub(/[ ;]/, "_", comm) }
    END { flush(); for (s in count) print s, count[s] }
  ' | sort >"$outdir/stacks.folded"
fi

echo
cat "$outdir/report.txt"
echo
echo "output: $outdir (report.txt, callgraph.txt, perf.data)"
if [[ -n $flame ]]; then
  echo "flamegraph: $flame (open in a browser)"
else
  echo "collapsed stacks: $outdir/stacks.folded; no flamegraph tool found. To render:"
  echo "  git clone https://github.com/brendangregg/FlameGraph && FlameGraph/flamegraph.pl $outdir/stacks.folded > flame.svg"
  echo "  or: cargo install inferno && inferno-flamegraph < $outdir/stacks.folded > flame.svg"
  echo "  or load it at https://www.speedscope.app (accepts the folded format)"
fi
