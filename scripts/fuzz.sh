#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET]
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan+UBSan) and runs
# each for a bounded time (default 5 s a target), starting
# from a corpus seeded with real frames from tests/data. Any crash, leak or
# broken accounting invariant fails the script and leaves the reproducer in
# build/fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j2
out=build/fuzz
mkdir -p "$out/findings"

# seed_corpus DIR FILE...: up to 300 frames per capture, one file each.
seed_corpus() {
  local dir=$1
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  python3 - "$dir" "$@" <<'PY'
import ast, gzip, re, sys
out, files = sys.argv[1], sys.argv[2:]
n = 0
for path in files:
    kept = 0
    for line in (gzip.open if path.endswith(".gz") else open)(path, "rb"):
        line = line.rstrip(b"\n")
        m = re.match(rb"^(\d+)\.?\d*: (.*)$", line) or re.match(rb"^(\d{16,}) (.*)$", line)
        if not m:
            continue
        frame = m.group(2)
        if frame.startswith(b"b'") or frame.startswith(b'b"'):
            try:
                frame = ast.literal_eval(frame.decode("latin-1"))
            except Exception:
                continue
        open("%s/seed%05d" % (out, n), "wb").write(frame)
        n += 1
        kept += 1
        if kept >= 300:
            break
PY
}

declare -A captures=(
  [binance]="tests/data/binance-20240808/spot_btcusdt.gz"
  [binance_futures]="tests/data/binance-20240808/usdm_btcusdt.gz tests/data/binance-20240808/cm_btcusd_perp.gz"
  [bybit]="tests/data/cryptofeed/BYBIT.ws.25.0.gz"
  [okx]="tests/data/cryptofeed/OKX.ws.1.0.gz"
  [coinbase]="tests/data/cryptofeed/COINBASE.ws.28.0.gz"
  [kraken]="tests/data/cryptofeed/KRAKEN.ws.48.0.gz"
  [kraken_futures]="tests/data/cryptofeed/KRAKEN_FUTURES.ws.1.0.gz"
  [bitmex]="tests/data/cryptofeed/BITMEX.ws.1.0.gz"
  [bitfinex]="tests/data/cryptofeed/BITFINEX.ws.11.0.gz tests/data/fixtures/bitfinex.txt"
  [deribit]="tests/data/cryptofeed/DERIBIT.ws.1.0.gz tests/data/fixtures/deribit.txt"
  [huobi]="tests/data/cryptofeed/HUOBI.ws.44.0.gz"
  [kucoin]="tests/data/cryptofeed/KUCOIN.ws.1.0.gz"
  [phemex]="tests/data/cryptofeed/PHEMEX.ws.1.0.gz"
  [poloniex]="tests/data/fixtures/poloniex.txt"
  [dydx]="tests/data/cryptofeed/DYDX.ws.1.0.gz tests/data/fixtures/dydx_v4.txt"
  [hyperliquid]="tests/data/fixtures/hyperliquid.txt"
  [bitstamp]="tests/data/cryptofeed/BITSTAMP.ws.1.0.gz"
  [bitmart]="tests/data/fixtures/bitmart.txt"
  [bitunix]="tests/data/fixtures/bitunix.txt"
  [aster]="tests/data/fixtures/aster.txt"
  [bitget]="tests/data/cryptofeed/BITGET.ws.1.0.gz tests/data/fixtures/bitget_v2.txt"
  [gateio]="tests/data/cryptofeed/GATEIO.ws.1.0.gz tests/data/cryptofeed/GATEIO_FUTURES.ws.1.0.gz tests/data/fixtures/gateio_futures.txt"
  [mexc]="tests/data/fixtures/mexc.txt"
  [mexc_futures]="tests/data/fixtures/mexc_futures.txt"
  [cryptocom]="tests/data/fixtures/cryptocom.txt"
  [hitbtc]="tests/data/fixtures/hitbtc.txt"
)
status=0
for name in "${!captures[@]}" capture_line bus_wire tls_record; do
  corpus="$out/corpus/$name"
  if [[ $name == capture_line ]]; then
    rm -rf "$corpus" && mkdir -p "$corpus"
    printf '1618678132.831468: {"a":1}' >"$corpus/a"
    printf "1618678070.5: b'\\\\x1f\\\\x8b'" >"$corpus/b"
    printf 'wss://x <- 1.5: {}' >"$corpus/c"
    printf '1723161254087896568 {"b":2}' >"$corpus/d"
  elif [[ $name == bus_wire ]]; then
    # Self-seeding (tests/fuzz/bus_wire_fuzzer.cc): byte 0 picks the number
    # of 8-byte event recipes that follow, the rest flips encoded bytes.
    rm -rf "$corpus" && mkdir -p "$corpus"
    printf '\x0b%088d' 0 >"$corpus/a"
    printf '\x03%024d\x10\x01\x20\x80' 7 >"$corpus/b"
  elif [[ $name == tls_record ]]; then
    # Self-seeding (tests/fuzz/tls_record_fuzzer.cc): the input is records,
    # (position, xor) mutations of a real stream, and piece sizes.
    rm -rf "$corpus" && mkdir -p "$corpus"
    printf '\x17\x03\x03\x00\x20%032d' 0 >"$corpus/a"
    printf '\x00\x10\x01\x02\x00\x04' >"$corpus/b"
  else
    files=()
    for f in ${captures[$name]}; do [[ -f $f ]] && files+=("$f"); done
    if ((${#files[@]} == 0)); then
      echo "fuzz: no capture for $name in tests/data" >&2
      status=1
      continue
    fi
    seed_corpus "$corpus" "${files[@]}"
  fi
  echo "fuzz_$name: $(ls "$corpus" | wc -l) seeds, ${seconds} s"
  if ! "$out/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="$out/findings/$name-" -print_final_stats=0 "$corpus" >"$out/$name.log" 2>&1; then
    echo "fuzz_$name FAILED: see $out/$name.log and $out/findings/" >&2
    tail -30 "$out/$name.log" >&2
    status=1
  fi
done
exit $status
