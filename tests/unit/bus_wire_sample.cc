// tests/unit/bus_wire_sample.cc: writes one message of each body kind, with
// fixed content, for tests/unit/bus_wire_decode.py, which decodes them with
// Python's stock flatbuffers module and flatc's generated code and checks
// every value against its own copy of the numbers below.
//
// Usage: bus_wire_sample DIR  (writes DIR/events.tfb, DIR/bars.tfb, DIR/signal.tfb)
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "bus/wire_codec.h"

namespace {

using namespace tickflow;

bool write(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

Trade trade(std::int64_t ex, std::int64_t rx, std::uint64_t id, double price, double qty, Side side,
            std::uint8_t flags) {
  Trade t;
  t.exchange_ts_ns = ex;
  t.receive_ts_ns = rx;
  t.trade_id = id;
  t.price = price;
  t.qty = qty;
  t.market = 5;
  t.side = side;
  t.flags = flags;
  return t;
}

FeedStatus status(FeedStatusKind kind, std::int64_t watermark, std::uint64_t gap_first, std::uint64_t gap_last,
                  std::uint8_t detail, MarketId market) {
  FeedStatus s;
  s.watermark_ns = watermark;
  s.receive_ts_ns = 1723161254089555555;
  s.gap_first_id = gap_first;
  s.gap_last_id = gap_last;
  s.market = market;
  s.connection = 3;
  s.kind = kind;
  s.detail = detail;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];

  bus::EventBatchEncoder encoder;
  encoder.start("tokyo-a", "BINANCE", "btcusdt", 3);
  encoder.add(FeedEvent::of(
      trade(1723161254087000000, 1723161254087896568, 3712345678, 61234.56, 0.00123, Side::kSell, kTradeNone)));
  encoder.add(FeedEvent::of(status(FeedStatusKind::kWatermark, 1723161254089000000, 0, 0, 0, 5)));
  Quote q;
  q.exchange_ts_ns = 1723161254088000000;
  q.receive_ts_ns = 1723161254088123456;
  q.bid_price = 61234.5;
  q.bid_qty = 1.234;
  q.ask_price = 61234.6;
  q.ask_qty = 0.00031;
  encoder.add(FeedEvent::of(q));
  encoder.add(FeedEvent::of(
      trade(1723161254090000000, 1723161254090000500, 3712345679, 61234.57, 0.5, Side::kBuy, kTradeLiquidation)));
  encoder.add(
      FeedEvent::of(status(FeedStatusKind::kGap, 1723161254091000000, 3712345690, 3712345699, 0, kInvalidMarket)));
  encoder.add(FeedEvent::of(status(FeedStatusKind::kBackfilled, 1723161254092000000, 0, 0, 1, 5)));
  encoder.add(FeedEvent::of(trade(1723161254093000000, 1723161254093000700, 0x9e3779b97f4a7c15ull, 61230.0, 2.0,
                                  Side::kSell, kTradeBackfill | kTradeIdHashed)));
  if (!write(dir + "/events.tfb", encoder.finish())) return 1;

  std::vector<Bar> bars(2);
  bars[0].open_time_s = 1723161420;
  bars[0].timeframe_s = 60;
  bars[0].flags = kBarFinal;
  bars[0].open = 61234.56;
  bars[0].high = 61299.99;
  bars[0].low = 61200.01;
  bars[0].close = 61250.5;
  bars[0].vbuy = 1234567.891;
  bars[0].vsell = 987654.321;
  bars[0].cbuy = 152;
  bars[0].csell = 97;
  bars[0].lbuy = 12345.6;
  bars[0].lsell = 6543.21;
  bars[0].qbuy = 20.16;
  bars[0].qsell = 16.13;
  bars[1].open_time_s = 1723161480;
  bars[1].timeframe_s = 60;
  bars[1].flags = kBarAmendment;
  bars[1].lsell = 99999.5;
  std::vector<std::uint8_t> out;
  if (!write(dir + "/bars.tfb", bus::encode_bars("BINANCE:btcusdt", 60, 1723161540, bars, out))) return 1;

  Signal s;
  copy_text(s.symbol, "BTCUSDT");
  copy_text(s.base_symbol, "BTC");
  s.timestamp_s = 1723161600;
  s.action = SignalAction::kShort;
  s.signal_id = signal_uuid("BTCUSDT", s.timestamp_s, s.action);
  s.score = 7.25;
  s.confidence = 0.8125;
  s.position_size_factor = 0.5;
  s.leverage = 3;
  s.entry_price = 61234.56;
  s.ttl_s = 900;
  s.spot_cvd = -1234567.5;
  s.perp_cvd = 2345678.25;
  s.divergence = -0.375;
  copy_text(s.reasoning, "spot CVD falls while perp CVD rises: short squeeze exhausted");
  if (!write(dir + "/signal.tfb", bus::encode_signal(s, out))) return 1;
  return 0;
}
