#!/usr/bin/env bash
# perf/stat.sh: counts (not samples) for a command, or per thread for a running
# process: CPU time, context switches, CPU migrations, page faults, plus
# cycles/instructions/cache and branch misses when the host has hardware
# counters (VMs usually do not: they are detected and left out).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: perf/stat.sh [options] -- COMMAND [ARGS...]
       perf/stat.sh [options] -p PID [-d SECONDS]

Runs `perf stat` with the software events that work everywhere (task-clock,
context-switches, cpu-migrations, page-faults) and the hardware events this
host supports, then prints a summary. With -p, counts each thread of the
process separately (--per-thread) and prints one row per thread, busiest
first.

options:
  -p PID      count a running process ...
  -d SECONDS  ... for this long (default 10)
  --total     with -p: one total instead of per-thread rows
  -r N        with a command: run it N times, report mean and variation
  -o DIR      keep perf's CSV output there (default: a temp dir, path printed)
  -h, --help  this text

examples:
  perf/stat.sh -- ./build/release/runtime/tickflow replay --help
  perf/stat.sh -p "$(pidof tickflow)" -d 30
EOF
}

die() {
  echo "perf/stat.sh: $*" >&2
  exit 1
}

pid=""
seconds=10
per_thread=1
repeat=1
outdir=""
while (($#)); do
  case $1 in
    -p) pid=${2:?-p needs a PID}; shift 2 ;;
    -d) seconds=${2:?-d needs seconds}; shift 2 ;;
    --total) per_thread=0; shift ;;
    -r) repeat=${2:?-r needs a count}; shift 2 ;;
    -o) outdir=${2:?-o needs a directory}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "-r wants a count >= 1, got '$repeat'"
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || die "-d wants seconds, got '$seconds'"
if [[ -n $pid ]]; then
  (($# == 0)) || die "give either -p PID or -- COMMAND, not both"
  [[ -d /proc/$pid ]] || die "no process $pid"
  ((repeat == 1)) || die "-r only applies to a command"
else
  (($# > 0)) || { usage >&2; die "nothing to count: give -- COMMAND or -p PID"; }
fi
command -v perf >/dev/null ||
  die "perf not found: install it (Debian: apt-get install linux-perf; Ubuntu: apt-get install linux-tools-\$(uname -r))"
[[ -n $outdir ]] || outdir=$(mktemp -d /tmp/tickflow-perf-stat.XXXXXX)
mkdir -p "$outdir"

permission_hint() {
  local paranoid
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo '?')
  if grep -qiE 'permission|paranoid|access to performance' "$1"; then
    echo "perf/stat.sh: not allowed to count (kernel.perf_event_paranoid=$paranoid)." >&2
    echo "  Run as root, or allow it: sysctl -w kernel.perf_event_paranoid=1 (counting your own command: 2 is enough)" >&2
  fi
}

# Software events: kernel-side, available on any Linux including VMs.
events="task-clock,context-switches,cpu-migrations,page-faults"
# Hardware events: need a PMU (bare metal, or a VM with PMU passthrough).
# Probe them on `true`; keep those not reported as <not supported>.
hw_candidates="cycles,instructions,branch-misses,cache-misses"
hw=$(perf stat -x, -e "$hw_candidates" -- true 2>&1 >/dev/null |
  awk -F, '$1 !~ /^</ && $3 != "" { printf "%s%s", sep, $3; sep = "," }' || true)
if [[ -n $hw ]]; then
  events="$events,$hw"
  echo "hardware counters: $hw" >&2
else
  echo "hardware counters: none on this host (VM?): software events only" >&2
fi

csv="$outdir/stat.csv"
stat=(perf stat "-x," -o "$csv" -e "$events")
status=0
if [[ -n $pid ]]; then
  mode=total
  ((per_thread)) && { stat+=(--per-thread); mode=per-thread; }
  echo "counting pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?')) for ${seconds}s, $mode ..." >&2
  "${stat[@]}" -p "$pid" -- sleep "$seconds" 2>"$outdir/stat.log" || status=$?
else
  ((repeat > 1)) && stat+=(-r "$repeat")
  "${stat[@]}" -- "$@" 2> >(tee "$outdir/stat.log" >&2) || status=$?
  wait  # for tee
fi
if ! grep -qE ',(task-clock|cpu-clock)' "$csv" 2>/dev/null; then
  cat "$outdir/stat.log" >&2
  permission_hint "$outdir/stat.log"
  die "perf stat produced no counts (see above)"
fi

echo
if [[ -n $pid && $per_thread == 1 ]]; then
  # Rows: thread-tid,value,unit,event,... A thread that never ran in the window
  # reads "<not counted>": shown as 0.
  awk -F, -v secs="$seconds" '
    /^#/ || NF < 4 { next }
    {
      t = $1; v = ($2 ~ /^</) ? 0 : $2; threads[t] = 1; val[t, $4] = v
      if ($4 == "task-clock") cpu[t] = v
      if (($2 !~ /^</) && !($4 in seen)) { seen[$4] = 1; order[++ne] = $4 }
    }
    END {
      printf "%-22s %10s %6s %10s %8s %8s", "thread-tid", "cpu-ms", "cpu%", "ctx-sw/s", "migr/s", "faults"
      hw = ("cycles" in seen) && ("instructions" in seen)
      if (hw) printf " %8s", "IPC"
      printf "\n"
      n = 0
      for (t in threads) names[++n] = t
      # busiest first (insertion sort: thread counts are small)
      for (i = 2; i <= n; i++) { x = names[i]; for (j = i - 1; j >= 1 && cpu[names[j]] + 0 < cpu[x] + 0; j--) names[j + 1] = names[j]; names[j + 1] = x }
      for (i = 1; i <= n; i++) {
        t = names[i]
        printf "%-22s %10.1f %5.1f%% %10.1f %8.1f %8d", t, val[t, "task-clock"], val[t, "task-clock"] / (secs * 10), val[t, "context-switches"] / secs, val[t, "cpu-migrations"] / secs, val[t, "page-faults"]
        if (hw) printf " %8.2f", (val[t, "cycles"] > 0) ? val[t, "instructions"] / val[t, "cycles"] : 0
        printf "\n"
      }
    }' "$csv"
else
  # Rows: value,unit,event,run-time,run%,metric,metric-unit (with -r: a
  # variance column after the event).
  awk -F, '
    /^#/ || NF < 3 { next }
    {
      if ($4 ~ /%$/) { var = $4; rt = 5 } else { var = ""; rt = 4 }
      metric = ($(rt + 2) != "") ? sprintf("%s %s", $(rt + 2), $(rt + 3)) : ""
      printf "%-18s %16s %-5s %8s  %s\n", $3, $1, $2, var, metric
    }' "$csv"
fi
echo
echo "raw CSV: $csv"
((status == 0)) || echo "perf/stat.sh: note: exit status $status (the command's own, or perf's)" >&2
exit "$status"
