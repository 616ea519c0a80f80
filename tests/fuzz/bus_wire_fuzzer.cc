// tests/fuzz/bus_wire_fuzzer.cc: the bus's wire decoders (bus/wire_codec.h)
// on arbitrary bytes. Random bytes rarely get past FlatBuffers' root offset,
// so each input is used twice:
//  1. as a message, to decode_event_batch, decode_bars and decode_signal;
//  2. as a recipe: its first bytes choose a valid batch of events (kinds,
//     ids, prices), which must round-trip exactly (abort otherwise); its
//     remaining bytes are (position, xor) pairs applied to the encoded
//     message, which is decoded again: near-valid buffers that reach deep
//     into the verifier and the row checks.
// A decoder that succeeds is read in full, so ASan sees every access.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "bus/wire_codec.h"

using namespace tickflow;

namespace {

void read_everything(std::span<const std::uint8_t> bytes) {
  static bus::EventBatchView events;
  static bus::BarBatchView bars;
  std::uint64_t sink = 0;
  if (bus::decode_event_batch(bytes, events) == bus::WireError::kNone) {
    sink += events.collector.size() + events.exchange.size() + events.market.size();
    for (std::size_t i = 0; i < events.size(); ++i) sink += events.event(i, 1).trade.trade_id;
    for (std::size_t i = events.size(); i-- > 0;) sink += events.event(i, 1).status.gap_last_id;
  } else if (events.size() != 0) {
    std::abort();  // an error leaves the view empty
  }
  if (bus::decode_bars(bytes, bars) == bus::WireError::kNone)
    for (std::size_t i = 0; i < bars.size(); ++i) sink += static_cast<std::uint64_t>(bars.bar(i, 1).open_time_s);
  Signal signal;
  if (bus::decode_signal(bytes, signal) == bus::WireError::kNone)
    sink += std::strlen(signal.symbol) + std::strlen(signal.base_symbol) + std::strlen(signal.reasoning);
  volatile std::uint64_t keep = sink;
  (void)keep;
}

FeedEvent event_from(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  switch (p[0] % 3) {
    case 0: {
      Trade t;
      t.exchange_ts_ns = static_cast<std::int64_t>(v >> 2);
      t.receive_ts_ns = t.exchange_ts_ns + 1;  // no overflow: v >> 2 < INT64_MAX
      t.trade_id = v;
      t.price = static_cast<double>(v % 100000) / 100;
      t.qty = static_cast<double>(v % 997) / 1000;
      t.side = (v & 2) ? Side::kSell : Side::kBuy;
      t.flags = static_cast<std::uint8_t>(v >> 8) & 7;
      return FeedEvent::of(t);
    }
    case 1: {
      Quote q;
      q.exchange_ts_ns = static_cast<std::int64_t>(v >> 2);
      q.bid_price = static_cast<double>(v % 1000);
      q.ask_price = q.bid_price + 1;
      return FeedEvent::of(q);
    }
    default: {
      FeedStatus s;
      s.watermark_ns = static_cast<std::int64_t>(v >> 3);
      s.gap_first_id = v;
      s.gap_last_id = v + 9;
      s.kind = static_cast<FeedStatusKind>((v >> 8) % 6);
      s.market = (v & 4) ? kInvalidMarket : 1;
      s.connection = static_cast<std::uint16_t>(v >> 16);
      return FeedEvent::of(s);
    }
  }
}

bool same(const FeedEvent& a, const FeedEvent& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case FeedEventType::kTrade:
      return a.trade.trade_id == b.trade.trade_id && a.trade.exchange_ts_ns == b.trade.exchange_ts_ns &&
             a.trade.price == b.trade.price && a.trade.qty == b.trade.qty && a.trade.side == b.trade.side &&
             a.trade.flags == b.trade.flags;
    case FeedEventType::kQuote:
      return a.quote.exchange_ts_ns == b.quote.exchange_ts_ns && a.quote.bid_price == b.quote.bid_price &&
             a.quote.ask_price == b.quote.ask_price;
    case FeedEventType::kStatus:
      return a.status.watermark_ns == b.status.watermark_ns && a.status.gap_first_id == b.status.gap_first_id &&
             a.status.kind == b.status.kind && a.status.connection == b.status.connection &&
             (a.status.market == kInvalidMarket) == (b.status.market == kInvalidMarket);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read_everything({data, size});
  if (size < 1) return 0;

  static bus::EventBatchEncoder encoder;
  std::vector<FeedEvent> events;
  const std::size_t n = std::min<std::size_t>(data[0] % 16, (size - 1) / 8);
  for (std::size_t i = 0; i < n; ++i) events.push_back(event_from(data + 1 + 8 * i));
  encoder.start("fuzz", "BINANCE", "btcusdt", 1);
  for (const FeedEvent& e : events) encoder.add(e);
  const auto encoded = encoder.finish();
  std::vector<std::uint8_t> message(encoded.begin(), encoded.end());

  static bus::EventBatchView view;
  if (bus::decode_event_batch(message, view) != bus::WireError::kNone || view.size() != n) std::abort();
  for (std::size_t i = 0; i < n; ++i)
    if (!same(view.event(i, 1), events[i])) std::abort();

  const std::uint8_t* rest = data + 1 + 8 * n;
  const std::size_t rest_size = size - 1 - 8 * n;
  for (std::size_t i = 0; i + 1 < rest_size; i += 2) message[rest[i] % message.size()] ^= rest[i + 1];
  read_everything(message);
  return 0;
}
