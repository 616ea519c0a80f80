#!/usr/bin/env bash
# perf/c2c.sh: false-sharing hunt with `perf c2c` (cache-to-cache): which cache
# lines bounce between cores, at which offsets, touched from which code.
#
# perf c2c samples loads and stores with their data addresses, which needs
# hardware memory-access sampling: Intel PEBS load-latency or AMD IBS. VMs
# rarely expose it (this project's CI VM does not). The script checks first
# and exits 2 with an explanation when the host cannot do it.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: perf/c2c.sh [options] -- COMMAND [ARGS...]
       perf/c2c.sh [options] -p PID [-d SECONDS]
       perf/c2c.sh --check

Records with `perf c2c record` and writes OUTDIR/c2c.txt (`perf c2c report
--stdio`): the "Shared Data Cache Line Table" lists the cache lines with the
most HITM (a load that found the line Modified in another core's cache); the
"Pareto" section shows, per line, the offsets and code addresses involved.
Two threads writing different offsets of the same line = false sharing.

options:
  -o OUTDIR   output directory (default: /tmp/tickflow-perf-c2c-DATE)
  -p PID      record a running process (all its threads) ...
  -d SECONDS  ... for this long (default 10)
  --check     only say whether this host supports perf c2c (exit 0 or 2)
  -h, --help  this text

exit status: 0 ok, 1 usage or perf error, 2 host lacks memory-access sampling
EOF
}

die() {
  echo "perf/c2c.sh: $*" >&2
  exit 1
}

outdir="/tmp/tickflow-perf-c2c-$(date +%Y%m%d-%H%M%S)"
pid=""
seconds=10
check_only=0
while (($#)); do
  case $1 in
    -o) outdir=${2:?-o needs a directory}; shift 2 ;;
    -p) pid=${2:?-p needs a PID}; shift 2 ;;
    -d) seconds=${2:?-d needs seconds}; shift 2 ;;
    --check) check_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
command -v perf >/dev/null ||
  die "perf not found: install it (Debian: apt-get install linux-perf; Ubuntu: apt-get install linux-tools-\$(uname -r))"

# Support check. `perf mem record -e list` lists the memory events and whether
# each is available; without a PMU it prints "memory events not supported".
pmus=$(find /sys/bus/event_source/devices -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null || true)
mem_events=$(perf mem record -e list 2>&1 || true)
if ! grep -q ': available' <<<"$mem_events"; then
  {
    echo "perf/c2c.sh: this host cannot run perf c2c: no hardware memory-access sampling."
    echo "  perf says: $(head -n1 <<<"$mem_events")"
    echo "  PMUs present: ${pmus:-none} (c2c needs 'cpu' with PEBS load-latency, or AMD 'ibs_op')"
    if grep -qi hypervisor /proc/cpuinfo 2>/dev/null; then
      echo "  This is a VM: the hypervisor does not pass the PMU through."
    fi
    echo "  Run it on bare metal (or a VM with PMU passthrough, e.g. KVM -cpu host,pmu=on; most cloud"
    echo "  instances expose no PEBS/IBS). Here, false sharing shows up indirectly: compare"
    echo "  ringbuffers/ benchmarks with and without the alignas(64) padding, or check struct layout with"
    echo "  pahole (apt-get install dwarves) on the build: pahole -C SpscRing build/.../*.o"
  } >&2
  exit 2
fi
echo "perf c2c supported: $(grep ': available' <<<"$mem_events" | tr -s ' ' | paste -sd';')" >&2
((check_only)) && exit 0

if [[ -n $pid ]]; then
  (($# == 0)) || die "give either -p PID or -- COMMAND, not both"
  [[ -d /proc/$pid ]] || die "no process $pid"
else
  (($# > 0)) || { usage >&2; die "nothing to record: give -- COMMAND or -p PID"; }
fi

mkdir -p "$outdir"
data="$outdir/perf.data"
status=0
if [[ -n $pid ]]; then
  echo "recording pid $pid for ${seconds}s ..." >&2
  perf c2c record -o "$data" -p "$pid" -- sleep "$seconds" 2>"$outdir/record.log" || status=$?
else
  perf c2c record -o "$data" -- "$@" 2>"$outdir/record.log" || status=$?
fi
if [[ ! -s $data ]]; then
  cat "$outdir/record.log" >&2
  if grep -qiE 'permission|paranoid|access to performance' "$outdir/record.log"; then
    echo "perf/c2c.sh: not allowed (kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))." >&2
    echo "  Run as root, or: sysctl -w kernel.perf_event_paranoid=1 (memory sampling may need 0 or -1)" >&2
  fi
  die "perf c2c record wrote no samples (see above)"
fi
((status == 0)) || echo "perf/c2c.sh: note: perf c2c record exited with status $status" >&2

# --coalesce tid,iaddr: group per thread and instruction, so the report names
# which pipeline thread (tf-feed-0, tf-agg, ...) touches each hot line.
perf c2c report -i "$data" --stdio --coalesce tid,iaddr >"$outdir/c2c.txt" 2>"$outdir/report.log" ||
  perf c2c report -i "$data" --stdio >"$outdir/c2c.txt" 2>>"$outdir/report.log"
awk '/Shared Data Cache Line Table/ { on = 1 } on && ++n <= 30' "$outdir/c2c.txt"
echo
echo "full report: $outdir/c2c.txt (perf c2c report -i $data for the interactive view)"
