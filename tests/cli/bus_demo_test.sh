#!/usr/bin/env bash
# tests/cli/bus_demo_test.sh BUILD_DIR SOURCE_DIR
# scripts/bus_demo.sh against this build (--build-dir: nothing installed or
# built) with a throw-away InfluxDB: it exits 0; the aggregator took all
# 51252 trades of the four captures once (collector B's feeds reconnected
# after its server dropped them, the duplicates were dropped); its 27
# one-minute bars are all equal to the single-host replay's; it leaves no
# process and no temp folder behind. 15-30 s.
set -u
build=$1
src=$2
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failures=$((failures + 1))
  fi
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
before=$(compgen -G "${TMPDIR:-/tmp}/tickflow-bus-demo.*" | wc -l)

"$src/scripts/bus_demo.sh" --build-dir "$build" --temp-influx >"$out" 2>&1
rc=$?
cat "$out"
echo
check "exit status 0 (was $rc)" test "$rc" -eq 0
check "every trade applied once" grep -q "the aggregator applied [0-9]* messages, 51252 trades" "$out"
check "collector B reconnected after its drops" grep -q "collector B published .*, 2 feed reconnects" "$out"
check "duplicates dropped" grep -Eq "trades, [1-9][0-9]* duplicate trades dropped" "$out"
check "27 bars from each side, 51252 trades each" \
  grep -q "27 bars from the bus (51252 trades), 27 from the single host (51252 trades): 27 of 27 equal" "$out"
check "bars reported equal" grep -q "^RESULT: the bus bars EQUAL the single-host bars" "$out"
check "no NO in the table" bash -c "! grep -q ' NO$' '$out'"
check "temp folder removed" test "$(compgen -G "${TMPDIR:-/tmp}/tickflow-bus-demo.*" | wc -l)" -le "$before"
check "no capture server left" bash -c "! pgrep -u $(id -u) -f '$build/bench/[c]apture_ws_server' >/dev/null"
[[ $failures -eq 0 ]] || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
