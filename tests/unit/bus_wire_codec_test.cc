// tests/unit/bus_wire_codec_test.cc: bus/wire_codec.h, the bus's FlatBuffers
// messages: exact round trips of every field, message ids, and hostile input
// (truncations at every length, flipped bytes, foreign identifiers and
// versions, other body kinds), which must be errors, never crashes.
#include "bus/wire_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/events.h"
#include "strategy/signal.h"

// Counts this binary's plain operator new calls, for the steady-state
// allocation promise (aligned new, which vector<FeedEvent> uses, is not
// replaced and not counted: the codec's own storage never needs it).
namespace {
std::atomic<long> g_allocations{0};
}
// noinline: GCC would otherwise inline free() into library code that it
// knows got the pointer from operator new, and warn (-Wmismatched-new-delete).
#define TICKFLOW_TEST_NOINLINE __attribute__((noinline))
TICKFLOW_TEST_NOINLINE void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
TICKFLOW_TEST_NOINLINE void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
TICKFLOW_TEST_NOINLINE void operator delete(void* p) noexcept { std::free(p); }
TICKFLOW_TEST_NOINLINE void operator delete(void* p, std::size_t) noexcept { std::free(p); }
TICKFLOW_TEST_NOINLINE void operator delete[](void* p) noexcept { std::free(p); }
TICKFLOW_TEST_NOINLINE void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tickflow::bus {
namespace {

constexpr MarketId kEncodedMarket = 7;   // ignored by the encoder
constexpr MarketId kDecodedMarket = 42;  // what the reader maps the name to

Trade trade(std::uint64_t id, double price, double qty, Side side, std::uint8_t flags = kTradeNone) {
  Trade t;
  t.exchange_ts_ns = 1723161254087000000 + static_cast<std::int64_t>(id % 1000) * 1000000;
  t.receive_ts_ns = 1723161254087896568 + static_cast<std::int64_t>(id % 1000) * 1000;
  t.trade_id = id;
  t.price = price;
  t.qty = qty;
  t.market = kEncodedMarket;
  t.side = side;
  t.flags = flags;
  return t;
}

Quote quote() {
  Quote q;
  q.exchange_ts_ns = 1723161254088000000;
  q.receive_ts_ns = 1723161254088123456;
  q.bid_price = 61234.5;
  q.bid_qty = 1.234;
  q.ask_price = 61234.6;
  q.ask_qty = 0.00031;
  q.market = kEncodedMarket;
  return q;
}

FeedStatus status(FeedStatusKind kind, MarketId market = kEncodedMarket) {
  FeedStatus s;
  s.watermark_ns = 1723161254089000000 + static_cast<std::int64_t>(kind);
  s.receive_ts_ns = 1723161254089555555;
  s.gap_first_id = kind == FeedStatusKind::kGap ? 3712345690 : 0;
  s.gap_last_id = kind == FeedStatusKind::kGap ? 3712345699 : 0;
  s.market = market;
  s.connection = 3;
  s.kind = kind;
  s.detail = kind == FeedStatusKind::kBackfilled ? 1 : 0;
  return s;
}

// A frame's worth of events of every kind, interleaved: trades (plain,
// liquidation, backfilled with a hashed id), a quote, every status kind and
// a connection-wide status.
std::vector<FeedEvent> mixed_events() {
  std::vector<FeedEvent> e;
  e.push_back(FeedEvent::of(trade(3712345678, 61234.56, 0.00123, Side::kSell)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kWatermark)));
  e.push_back(FeedEvent::of(quote()));
  e.push_back(FeedEvent::of(trade(3712345679, 61234.57, 0.5, Side::kBuy, kTradeLiquidation)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kConnected)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kDisconnected, kInvalidMarket)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kGap)));
  e.push_back(FeedEvent::of(trade(0x9e3779b97f4a7c15ull, 61230.0, 2.0, Side::kSell, kTradeBackfill | kTradeIdHashed)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kStale)));
  e.push_back(FeedEvent::of(status(FeedStatusKind::kBackfilled)));
  e.push_back(FeedEvent::of(trade(3712345700, 61235.0, 0.001, Side::kSell, kTradeLiquidation | kTradeBackfill)));
  return e;
}

std::vector<FeedEvent> trades(std::size_t n, std::uint64_t first_id = 3712345678) {
  std::vector<FeedEvent> e;
  for (std::size_t i = 0; i < n; ++i)
    e.push_back(FeedEvent::of(trade(first_id + i, 61234.56 + static_cast<double>(i) * 0.01,
                                    0.001 * static_cast<double>(i + 1), i % 3 == 0 ? Side::kBuy : Side::kSell)));
  return e;
}

std::vector<std::uint8_t> encode_events(const std::vector<FeedEvent>& events, std::string_view market = "btcusdt") {
  EventBatchEncoder encoder;
  encoder.start("tokyo-a", "BINANCE", market, 3);
  for (const FeedEvent& e : events) encoder.add(e);
  const auto bytes = encoder.finish();
  return {bytes.begin(), bytes.end()};
}

// `decoded` equals `sent`, field by field, with the reader's market id (or
// kInvalidMarket for a connection-wide status).
void expect_same_event(const FeedEvent& sent, const FeedEvent& decoded, std::size_t i) {
  SCOPED_TRACE("event " + std::to_string(i));
  ASSERT_EQ(decoded.type, sent.type);
  switch (sent.type) {
    case FeedEventType::kTrade:
      EXPECT_EQ(decoded.trade.exchange_ts_ns, sent.trade.exchange_ts_ns);
      EXPECT_EQ(decoded.trade.receive_ts_ns, sent.trade.receive_ts_ns);
      EXPECT_EQ(decoded.trade.trade_id, sent.trade.trade_id);
      EXPECT_EQ(decoded.trade.price, sent.trade.price);
      EXPECT_EQ(decoded.trade.qty, sent.trade.qty);
      EXPECT_EQ(decoded.trade.market, kDecodedMarket);
      EXPECT_EQ(decoded.trade.side, sent.trade.side);
      EXPECT_EQ(decoded.trade.flags, sent.trade.flags);
      break;
    case FeedEventType::kQuote:
      EXPECT_EQ(decoded.quote.exchange_ts_ns, sent.quote.exchange_ts_ns);
      EXPECT_EQ(decoded.quote.receive_ts_ns, sent.quote.receive_ts_ns);
      EXPECT_EQ(decoded.quote.bid_price, sent.quote.bid_price);
      EXPECT_EQ(decoded.quote.bid_qty, sent.quote.bid_qty);
      EXPECT_EQ(decoded.quote.ask_price, sent.quote.ask_price);
      EXPECT_EQ(decoded.quote.ask_qty, sent.quote.ask_qty);
      EXPECT_EQ(decoded.quote.market, kDecodedMarket);
      break;
    case FeedEventType::kStatus:
      EXPECT_EQ(decoded.status.watermark_ns, sent.status.watermark_ns);
      EXPECT_EQ(decoded.status.receive_ts_ns, sent.status.receive_ts_ns);
      EXPECT_EQ(decoded.status.gap_first_id, sent.status.gap_first_id);
      EXPECT_EQ(decoded.status.gap_last_id, sent.status.gap_last_id);
      EXPECT_EQ(decoded.status.market, sent.status.market == kInvalidMarket ? kInvalidMarket : kDecodedMarket);
      EXPECT_EQ(decoded.status.connection, sent.status.connection);
      EXPECT_EQ(decoded.status.kind, sent.status.kind);
      EXPECT_EQ(decoded.status.detail, sent.status.detail);
      break;
  }
}

void expect_round_trip(const std::vector<FeedEvent>& sent, std::span<const std::uint8_t> bytes) {
  EventBatchView view;
  ASSERT_EQ(decode_event_batch(bytes, view), WireError::kNone);
  EXPECT_EQ(view.collector, "tokyo-a");
  EXPECT_EQ(view.exchange, "BINANCE");
  EXPECT_EQ(view.market, "btcusdt");
  EXPECT_EQ(view.connection, 3);
  ASSERT_EQ(view.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) expect_same_event(sent[i], view.event(i, kDecodedMarket), i);
}

TEST(WireCodec, EventBatchRoundTripsEveryFieldInOrder) {
  const auto sent = mixed_events();
  const auto bytes = encode_events(sent);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(bytes.data()) + 4, 4), "TFB1");
  expect_round_trip(sent, bytes);
}

TEST(WireCodec, EventBatchRandomAccessMatchesSequential) {
  const auto sent = mixed_events();
  const auto bytes = encode_events(sent);
  EventBatchView view;
  ASSERT_EQ(decode_event_batch(bytes, view), WireError::kNone);
  for (std::size_t k = sent.size(); k-- > 0;) expect_same_event(sent[k], view.event(k, kDecodedMarket), k);
  for (std::size_t k : {5u, 2u, 9u, 9u, 0u, 10u, 3u}) expect_same_event(sent[k], view.event(k, kDecodedMarket), k);
  // Past the end: a default event, no read.
  EXPECT_EQ(view.event(sent.size(), kDecodedMarket).trade.trade_id, 0u);
}

TEST(WireCodec, SingleKindBatchesRoundTrip) {
  for (std::size_t n : {1u, 20u, 1000u}) expect_round_trip(trades(n), encode_events(trades(n)));
  const std::vector<FeedEvent> quotes(3, FeedEvent::of(quote()));
  expect_round_trip(quotes, encode_events(quotes));
  const std::vector<FeedEvent> statuses{FeedEvent::of(status(FeedStatusKind::kConnected, kInvalidMarket))};
  expect_round_trip(statuses, encode_events(statuses));
  expect_round_trip({}, encode_events({}));
}

TEST(WireCodec, ConnectionWideBatchHasEmptyMarket) {
  const std::vector<FeedEvent> sent{FeedEvent::of(status(FeedStatusKind::kDisconnected, kInvalidMarket))};
  const auto bytes = encode_events(sent, "");
  EventBatchView view;
  ASSERT_EQ(decode_event_batch(bytes, view), WireError::kNone);
  EXPECT_EQ(view.market, "");
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view.event(0, kInvalidMarket).status.market, kInvalidMarket);
  EXPECT_EQ(view.event(0, kInvalidMarket).status.kind, FeedStatusKind::kDisconnected);
}

TEST(WireCodec, MisalignedInputDecodesTheSame) {
  const auto sent = mixed_events();
  const auto bytes = encode_events(sent);
  for (std::size_t shift = 1; shift < 8; ++shift) {
    // Exactly the message's bytes at `shift` past an 8-byte boundary.
    const auto storage = std::make_unique<std::uint64_t[]>(bytes.size() / 8 + 2);
    auto* at = reinterpret_cast<std::uint8_t*>(storage.get()) + shift;
    for (std::size_t i = 0; i < bytes.size(); ++i) at[i] = bytes[i];
    expect_round_trip(sent, std::span<const std::uint8_t>(at, bytes.size()));
  }
}

TEST(WireCodec, EncoderIsReusedAndFinishIsIdempotent) {
  EventBatchEncoder encoder;
  const auto first = trades(20);
  encoder.start("tokyo-a", "BINANCE", "btcusdt", 3);
  for (const auto& e : first) encoder.add(e);
  EXPECT_EQ(encoder.size(), 20u);
  const auto a = encoder.finish();
  const auto b = encoder.finish();
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(a.size(), b.size());
  expect_round_trip(first, a);

  const auto second = mixed_events();
  encoder.start("tokyo-a", "BINANCE", "btcusdt", 3);
  EXPECT_EQ(encoder.size(), 0u);
  for (const auto& e : second) encoder.add(e);
  expect_round_trip(second, encoder.finish());
}

TEST(WireCodec, SteadyStateAllocatesNothing) {
  EventBatchEncoder encoder;
  const auto events = mixed_events();
  const auto batch = trades(20);
  auto encode = [&](const std::vector<FeedEvent>& in) {
    encoder.start("tokyo-a", "BINANCE", "btcusdt", 3);
    for (const auto& e : in) encoder.add(e);
    return encoder.finish();
  };
  EventBatchView view;
  // Warm up: the largest batch once.
  std::vector<std::uint8_t> warm;
  {
    const auto bytes = encode(batch);
    warm.assign(bytes.begin(), bytes.end());
    ASSERT_EQ(decode_event_batch(warm, view), WireError::kNone);
  }
  encode(events);

  const long before = g_allocations.load();
  std::uint64_t sum = 0;
  for (int round = 0; round < 1000; ++round) {
    const auto bytes = encode(round % 2 == 0 ? batch : events);
    if (decode_event_batch(bytes, view) != WireError::kNone) ADD_FAILURE() << "round " << round;
    for (std::size_t i = 0; i < view.size(); ++i) sum += view.event(i, kDecodedMarket).trade.trade_id;
  }
  EXPECT_EQ(g_allocations.load() - before, 0) << "start/add/finish/decode allocated in steady state";
  EXPECT_NE(sum, 0u);
}

TEST(WireCodec, StatusKindsPastTheSchemaAreNotEncoded) {
  FeedStatus internal = status(FeedStatusKind::kWatermark);
  internal.kind = static_cast<FeedStatusKind>(6);  // a process-internal marker
  std::vector<FeedEvent> in = trades(2);
  in.insert(in.begin() + 1, FeedEvent::of(internal));
  EventBatchEncoder encoder;
  encoder.start("tokyo-a", "BINANCE", "btcusdt", 3);
  for (const auto& e : in) encoder.add(e);
  EXPECT_EQ(encoder.size(), 2u);
  expect_round_trip(trades(2), encoder.finish());
}

// ---- bars --------------------------------------------------------------------

std::vector<Bar> real_looking_bars() {
  std::vector<Bar> bars;
  const std::uint8_t flags[] = {kBarFinal, kBarAmendment, kBarProvisional, kBarAmendment | kBarProvisional};
  for (int i = 0; i < 4; ++i) {
    Bar b;
    b.open_time_s = 1723161240 + 60 * i;
    b.market = kEncodedMarket;
    b.timeframe_s = 60;
    b.flags = flags[i];
    b.open = 61234.56 + i;
    b.high = 61299.99 + i;
    b.low = 61200.01 + i;
    b.close = 61250.5 + i;
    b.vbuy = 1234567.891 * (i + 1);
    b.vsell = 987654.321 * (i + 1);
    b.cbuy = 152 + i;
    b.csell = 97 + i;
    b.lbuy = 12345.6;
    b.lsell = 6543.21;
    b.qbuy = 20.16 + i;
    b.qsell = 16.13 + i;
    bars.push_back(b);
  }
  Bar liquidations_only;  // no OHLC: every trade was a liquidation
  liquidations_only.open_time_s = 1723161480;
  liquidations_only.timeframe_s = 60;
  liquidations_only.lsell = 99999.5;
  bars.push_back(liquidations_only);
  return bars;
}

TEST(WireCodec, BarsRoundTripEveryField) {
  const auto bars = real_looking_bars();
  std::vector<std::uint8_t> out;
  const auto bytes = encode_bars("BINANCE:btcusdt", 60, 1723161540, bars, out);
  EXPECT_EQ(bytes.data(), out.data());
  BarBatchView view;
  ASSERT_EQ(decode_bars(bytes, view), WireError::kNone);
  EXPECT_EQ(view.market, "BINANCE:btcusdt");
  EXPECT_EQ(view.timeframe_s, 60u);
  EXPECT_EQ(view.closed_until_s, 1723161540);
  ASSERT_EQ(view.size(), bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    SCOPED_TRACE("bar " + std::to_string(i));
    const Bar& s = bars[i];
    const Bar d = view.bar(i, kDecodedMarket);
    EXPECT_EQ(d.open_time_s, s.open_time_s);
    EXPECT_EQ(d.market, kDecodedMarket);
    EXPECT_EQ(d.timeframe_s, s.timeframe_s);
    EXPECT_EQ(d.flags, s.flags);
    EXPECT_EQ(d.open, s.open);
    EXPECT_EQ(d.high, s.high);
    EXPECT_EQ(d.low, s.low);
    EXPECT_EQ(d.close, s.close);
    EXPECT_EQ(d.vbuy, s.vbuy);
    EXPECT_EQ(d.vsell, s.vsell);
    EXPECT_EQ(d.cbuy, s.cbuy);
    EXPECT_EQ(d.csell, s.csell);
    EXPECT_EQ(d.lbuy, s.lbuy);
    EXPECT_EQ(d.lsell, s.lsell);
    EXPECT_EQ(d.qbuy, s.qbuy);
    EXPECT_EQ(d.qsell, s.qsell);
    EXPECT_EQ(d.is_amendment(), s.is_amendment());
    EXPECT_EQ(d.is_provisional(), s.is_provisional());
    EXPECT_EQ(d.has_ohlc(), s.has_ohlc());
  }
  // No bars: an empty batch, still valid (a watermark of closed_until_s).
  ASSERT_EQ(decode_bars(encode_bars("BINANCE:btcusdt", 1, 1723161541, {}, out), view), WireError::kNone);
  EXPECT_EQ(view.size(), 0u);
  EXPECT_EQ(view.closed_until_s, 1723161541);
}

// ---- signals -----------------------------------------------------------------

Signal full_signal() {
  Signal s;
  copy_text(s.symbol, "ABCDEFGHIJKLMNOPQRSTUV");  // 22: the array's limit
  copy_text(s.base_symbol, "ABCDEFGHIJKLMN");     // 14
  s.timestamp_s = 1723161600;
  s.action = SignalAction::kShort;
  s.signal_id = signal_uuid(s.symbol, s.timestamp_s, s.action);
  s.score = 7.25;
  s.confidence = 0.8125;
  s.position_size_factor = 0.5;
  s.leverage = 3;
  s.entry_price = 61234.56;
  s.ttl_s = 900;
  s.spot_cvd = -1234567.5;
  s.perp_cvd = 2345678.25;
  s.divergence = -0.375;
  std::string reasoning;
  for (int i = 0; reasoning.size() < sizeof(s.reasoning) - 1; ++i) reasoning += static_cast<char>('a' + i % 26);
  copy_text(s.reasoning, reasoning);  // 247
  return s;
}

TEST(WireCodec, SignalRoundTripsEveryFieldWithFullLengthStrings) {
  for (SignalAction action : {SignalAction::kLong, SignalAction::kShort, SignalAction::kClose}) {
    Signal sent = full_signal();
    sent.action = action;
    std::vector<std::uint8_t> out;
    const auto bytes = encode_signal(sent, out);
    Signal got;
    ASSERT_EQ(decode_signal(bytes, got), WireError::kNone);
    EXPECT_EQ(got.signal_id, sent.signal_id);
    EXPECT_EQ(got.timestamp_s, sent.timestamp_s);
    EXPECT_EQ(got.action, sent.action);
    EXPECT_STREQ(got.symbol, sent.symbol);
    EXPECT_EQ(std::strlen(got.symbol), 22u);
    EXPECT_STREQ(got.base_symbol, sent.base_symbol);
    EXPECT_EQ(std::strlen(got.base_symbol), 14u);
    EXPECT_EQ(got.score, sent.score);
    EXPECT_EQ(got.confidence, sent.confidence);
    EXPECT_EQ(got.position_size_factor, sent.position_size_factor);
    EXPECT_EQ(got.leverage, sent.leverage);
    EXPECT_EQ(got.entry_price, sent.entry_price);
    EXPECT_EQ(got.ttl_s, sent.ttl_s);
    EXPECT_EQ(got.spot_cvd, sent.spot_cvd);
    EXPECT_EQ(got.perp_cvd, sent.perp_cvd);
    EXPECT_EQ(got.divergence, sent.divergence);
    EXPECT_STREQ(got.reasoning, sent.reasoning);
    EXPECT_EQ(std::strlen(got.reasoning), 247u);
    EXPECT_EQ(to_json(got), to_json(sent));
  }
}

// ---- message ids ---------------------------------------------------------------

// The same content as another collector sees it: other receive times, other
// market ids.
std::vector<FeedEvent> as_seen_by_collector_b(std::vector<FeedEvent> events) {
  for (FeedEvent& e : events) {
    if (e.type == FeedEventType::kTrade) {
      e.trade.receive_ts_ns += 12345;
      e.trade.market = 99;
    } else if (e.type == FeedEventType::kQuote) {
      e.quote.receive_ts_ns += 777;
      e.quote.market = 99;
    } else {
      e.status.receive_ts_ns += 1;
      if (e.status.market != kInvalidMarket) e.status.market = 99;
    }
  }
  return events;
}

TEST(WireCodec, MessageIdsAgreeForTheSameContent) {
  const auto a = trades(3, 100);
  const auto b = as_seen_by_collector_b(a);
  EXPECT_EQ(event_batch_msg_id("BINANCE", "btcusdt", a.data(), a.size()), "BINANCE:btcusdt:100:102:3");
  EXPECT_EQ(event_batch_msg_id("BINANCE", "btcusdt", b.data(), b.size()), "BINANCE:btcusdt:100:102:3");

  const auto mixed = mixed_events();
  const auto mixed_b = as_seen_by_collector_b(mixed);
  const std::string id = event_batch_msg_id("BINANCE", "btcusdt", mixed.data(), mixed.size());
  EXPECT_EQ(id, event_batch_msg_id("BINANCE", "btcusdt", mixed_b.data(), mixed_b.size()));
  EXPECT_EQ(id.rfind("BINANCE:btcusdt:3712345678:3712345700:4:h", 0), 0u) << id;
  EXPECT_EQ(id.size(), std::string_view("BINANCE:btcusdt:3712345678:3712345700:4:h").size() + 16);

  const std::vector<FeedEvent> s{FeedEvent::of(status(FeedStatusKind::kGap))};
  const std::string sid = event_batch_msg_id("BINANCE", "btcusdt", s.data(), s.size());
  EXPECT_EQ(sid.rfind("BINANCE:btcusdt:s:3:1723161254089000003:3:1:h", 0), 0u) << sid;
  const std::vector<FeedEvent> q{FeedEvent::of(quote())};
  const std::string qid = event_batch_msg_id("BINANCE", "btcusdt", q.data(), q.size());
  EXPECT_EQ(qid.rfind("BINANCE:btcusdt:q:1723161254088000000:1:h", 0), 0u) << qid;
  EXPECT_EQ(event_batch_msg_id("BINANCE", "btcusdt", nullptr, 0), "BINANCE:btcusdt:0");
  auto unidentified = trades(2, 0);
  const std::string uid = event_batch_msg_id("KRAKEN", "XBT/USD", unidentified.data(), unidentified.size());
  EXPECT_EQ(uid.rfind("KRAKEN:XBT/USD:0:1:2:h", 0), 0u) << uid;
  const auto unidentified_b = as_seen_by_collector_b(unidentified);
  EXPECT_EQ(uid, event_batch_msg_id("KRAKEN", "XBT/USD", unidentified_b.data(), unidentified_b.size()));
}

TEST(WireCodec, MessageIdsDifferForDifferentContent) {
  std::set<std::string> ids;
  auto add = [&](std::string_view exchange, std::string_view market, const std::vector<FeedEvent>& e) {
    const std::string id = event_batch_msg_id(exchange, market, e.data(), e.size());
    EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
  };
  add("BINANCE", "btcusdt", trades(3, 100));
  add("BINANCE", "btcusdt", trades(4, 100));
  add("BINANCE", "btcusdt", trades(3, 101));
  add("BINANCE", "ethusdt", trades(3, 100));
  add("BYBIT", "btcusdt", trades(3, 100));
  add("BINANCE", "btcusdt", trades(1, 100));

  const auto mixed = mixed_events();
  add("BINANCE", "btcusdt", mixed);
  for (std::size_t i = 0; i < mixed.size(); ++i) {
    auto changed = mixed;
    FeedEvent& e = changed[i];
    if (e.type == FeedEventType::kTrade)
      e.trade.price += 0.01;
    else if (e.type == FeedEventType::kQuote)
      e.quote.ask_qty *= 2;
    else
      e.status.watermark_ns += 1;
    add("BINANCE", "btcusdt", changed);
  }
  auto swapped = mixed;  // same events, another order
  std::swap(swapped[1], swapped[2]);
  add("BINANCE", "btcusdt", swapped);

  // Trades without exchange ids (0): only their content tells them apart.
  auto unidentified = trades(2, 0);
  unidentified[1].trade.trade_id = 0;
  add("KRAKEN", "XBT/USD", unidentified);
  unidentified[0].trade.price += 0.1;
  add("KRAKEN", "XBT/USD", unidentified);
  unidentified[0].trade.flags = kTradeLiquidation;
  add("KRAKEN", "XBT/USD", unidentified);
  unidentified[0].trade.side = Side::kSell;
  add("KRAKEN", "XBT/USD", unidentified);

  std::vector<FeedEvent> s{FeedEvent::of(status(FeedStatusKind::kGap))};
  add("BINANCE", "btcusdt", s);
  s[0].status.gap_last_id += 1;
  add("BINANCE", "btcusdt", s);
  s[0].status.connection = 4;
  add("BINANCE", "btcusdt", s);
}

// ---- hostile input -----------------------------------------------------------

// The Envelope's `version` field, found the way the FlatBuffers binary format
// documents it (root uoffset -> table; table's soffset -> vtable; vtable
// entry 0 -> the first field's offset in the table), without FlatBuffers.
std::size_t version_offset(const std::vector<std::uint8_t>& b) {
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  };
  auto u16 = [&](std::size_t at) {
    std::uint16_t v;
    std::memcpy(&v, b.data() + at, 2);
    return v;
  };
  const std::size_t table = u32(0);
  const std::size_t vtable = table - static_cast<std::int32_t>(u32(table));
  const std::size_t field = u16(vtable + 4);
  EXPECT_NE(field, 0u) << "version not written";
  return table + field;
}

TEST(WireCodec, UnknownIdentifierOrVersionIsUnknownVersion) {
  auto bytes = encode_events(mixed_events());
  EventBatchView view;
  const std::size_t at = version_offset(bytes);
  EXPECT_EQ(bytes[at], 1);
  EXPECT_EQ(bytes[at + 1], 0);
  for (std::uint16_t version : {0, 2, 0xffff}) {
    auto changed = bytes;
    std::memcpy(changed.data() + at, &version, 2);
    EXPECT_EQ(decode_event_batch(changed, view), WireError::kUnknownVersion) << version;
    EXPECT_EQ(view.size(), 0u);
  }
  auto foreign = bytes;
  std::memcpy(foreign.data() + 4, "TFB2", 4);
  EXPECT_EQ(decode_event_batch(foreign, view), WireError::kUnknownVersion);

  std::vector<std::uint8_t> bar_bytes;
  encode_bars("BINANCE:btcusdt", 1, 1, real_looking_bars(), bar_bytes);
  const std::size_t bar_at = version_offset(bar_bytes);
  bar_bytes[bar_at] = 2;
  BarBatchView bars;
  EXPECT_EQ(decode_bars(bar_bytes, bars), WireError::kUnknownVersion);
  std::vector<std::uint8_t> signal_bytes;
  encode_signal(full_signal(), signal_bytes);
  signal_bytes[version_offset(signal_bytes)] = 2;
  Signal signal;
  EXPECT_EQ(decode_signal(signal_bytes, signal), WireError::kUnknownVersion);
}

TEST(WireCodec, AnotherBodyIsUnexpectedKind) {
  const auto events = encode_events(trades(2));
  std::vector<std::uint8_t> bars_bytes, signal_bytes;
  encode_bars("BINANCE:btcusdt", 1, 1, real_looking_bars(), bars_bytes);
  encode_signal(full_signal(), signal_bytes);
  EventBatchView ev;
  BarBatchView bv;
  Signal sv;
  EXPECT_EQ(decode_event_batch(bars_bytes, ev), WireError::kUnexpectedKind);
  EXPECT_EQ(decode_event_batch(signal_bytes, ev), WireError::kUnexpectedKind);
  EXPECT_EQ(decode_bars(events, bv), WireError::kUnexpectedKind);
  EXPECT_EQ(decode_bars(signal_bytes, bv), WireError::kUnexpectedKind);
  EXPECT_EQ(decode_signal(events, sv), WireError::kUnexpectedKind);
  EXPECT_EQ(decode_signal(bars_bytes, sv), WireError::kUnexpectedKind);
  EXPECT_EQ(to_string(WireError::kUnexpectedKind), "unexpected kind");
  EXPECT_EQ(to_string(WireError::kMalformed), "malformed");
  EXPECT_EQ(to_string(WireError::kUnknownVersion), "unknown version");
  EXPECT_EQ(to_string(WireError::kNone), "none");
}

// Decodes `bytes` with every decoder and reads everything a valid result
// offers (so that ASan sees every read). Returns the event decoder's result.
WireError decode_everything(std::span<const std::uint8_t> bytes) {
  EventBatchView ev;
  const WireError e = decode_event_batch(bytes, ev);
  std::uint64_t sink = 0;
  if (e == WireError::kNone) {
    sink += ev.collector.size() + ev.exchange.size() + ev.market.size();
    for (std::size_t i = 0; i < ev.size(); ++i) sink += ev.event(i, 1).trade.trade_id;
    for (std::size_t i = ev.size(); i-- > 0;) sink += ev.event(i, 1).trade.trade_id;
  } else {
    EXPECT_EQ(ev.size(), 0u);
  }
  BarBatchView bv;
  if (decode_bars(bytes, bv) == WireError::kNone)
    for (std::size_t i = 0; i < bv.size(); ++i) sink += static_cast<std::uint64_t>(bv.bar(i, 1).open_time_s);
  Signal s;
  if (decode_signal(bytes, s) == WireError::kNone) sink += std::strlen(s.symbol) + std::strlen(s.reasoning);
  volatile std::uint64_t keep = sink;
  (void)keep;
  return e;
}

std::vector<std::vector<std::uint8_t>> sample_messages() {
  std::vector<std::vector<std::uint8_t>> m;
  m.push_back(encode_events(mixed_events()));
  m.push_back(encode_events(trades(20)));
  std::vector<std::uint8_t> out;
  encode_bars("BINANCE:btcusdt", 60, 1723161540, real_looking_bars(), out);
  m.push_back(out);
  encode_signal(full_signal(), out);
  m.push_back(out);
  return m;
}

TEST(WireCodec, TruncationAtEveryLengthIsMalformed) {
  for (const auto& message : sample_messages()) {
    EventBatchView ev;
    BarBatchView bv;
    Signal sv;
    for (std::size_t n = 0; n < message.size(); ++n) {
      // A copy of exactly n bytes, so that ASan catches any read past it.
      const std::vector<std::uint8_t> cut(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(n));
      const std::span<const std::uint8_t> bytes(cut.data(), n);
      EXPECT_EQ(decode_event_batch(bytes, ev), WireError::kMalformed) << n << " of " << message.size();
      EXPECT_EQ(decode_bars(bytes, bv), WireError::kMalformed) << n << " of " << message.size();
      EXPECT_EQ(decode_signal(bytes, sv), WireError::kMalformed) << n << " of " << message.size();
    }
  }
}

TEST(WireCodec, FlippedBytesNeverCrash) {
  std::size_t valid = 0, rejected = 0;
  for (const auto& message : sample_messages()) {
    for (std::size_t at = 0; at < message.size(); ++at) {
      for (std::uint8_t mask : {0x01, 0x10, 0x80, 0xff}) {
        auto changed = message;
        changed[at] ^= mask;
        (decode_everything(changed) == WireError::kNone ? valid : rejected) += 1;
      }
    }
  }
  // Flips in values (prices, ids) still decode; flips in offsets do not.
  EXPECT_GT(valid, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(WireCodec, RandomInputNeverCrashes) {
  std::mt19937_64 rng(19);
  const auto samples = sample_messages();
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::uint8_t> bytes;
    if (round % 2 == 0) {
      bytes.resize(rng() % 512);
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
      if (bytes.size() >= 8) std::memcpy(bytes.data() + 4, "TFB1", 4);
    } else {
      // A real message with a few random bytes overwritten.
      bytes = samples[rng() % samples.size()];
      for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
    }
    decode_everything(bytes);
  }
}

}  // namespace
}  // namespace tickflow::bus
