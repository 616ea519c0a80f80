// pipeline/events.h
//
// The events that cross the feed -> aggregator rings: Trade, Quote and
// FeedStatus, and FeedEvent, the one-cache-line tagged union the rings carry.
//
// Promises (checked by static_assert below):
//  * every event is trivially copyable, owns no heap memory, and fits one
//    64-byte line, so a ring slot is one memcpy of one line;
//  * times are int64 ns since the Unix epoch (UTC): exchange_ts_ns is the
//    exchange's trade/event time (bars are bucketed on it), receive_ts_ns is
//    when our process received the frame (latency is measured from it);
//  * quantities are in base units (coins) after contract-size and inverse
//    conversion, prices in quote currency per base unit, so notional is
//    always price * qty (see ../shared/docs/exchanges.md).
#pragma once

#include <cstdint>
#include <type_traits>

#include "pipeline/market_id.h"

namespace tickflow {

enum class Side : std::uint8_t {
  kBuy = 0,   // taker bought (for a liquidation: the liquidation order bought, a short was liquidated)
  kSell = 1,  // taker sold   (for a liquidation: a long was liquidated)
};

// Bit flags on a Trade.
enum TradeFlags : std::uint8_t {
  kTradeNone = 0,
  kTradeLiquidation = 1u << 0,  // a forced liquidation; counts only in lbuy/lsell
  kTradeIdHashed = 1u << 1,     // trade_id is a 64-bit hash of a non-numeric id:
                                // good for de-duplication, useless for gap detection
  kTradeBackfill = 1u << 2,     // came from a REST backfill, not the live stream
};

struct Trade {
  std::int64_t exchange_ts_ns = 0;
  std::int64_t receive_ts_ns = 0;
  std::uint64_t trade_id = 0;
  double price = 0;  // quote per base unit
  double qty = 0;    // base units, > 0
  MarketId market = kInvalidMarket;
  Side side = Side::kBuy;
  std::uint8_t flags = kTradeNone;

  bool is_liquidation() const noexcept { return (flags & kTradeLiquidation) != 0; }
  bool is_buy() const noexcept { return side == Side::kBuy; }
  double notional() const noexcept { return price * qty; }
};

// Best bid/ask (e.g. Binance bookTicker). 56 bytes, so that with FeedEvent's
// 8-byte tag it still fits one line; book update ids are not carried.
struct Quote {
  std::int64_t exchange_ts_ns = 0;  // 0 when the feed sends none (Binance spot bookTicker)
  std::int64_t receive_ts_ns = 0;
  double bid_price = 0;
  double bid_qty = 0;  // base units
  double ask_price = 0;
  double ask_qty = 0;  // base units
  MarketId market = kInvalidMarket;
};

enum class FeedStatusKind : std::uint8_t {
  kWatermark = 0,     // exchange time has advanced to watermark_ns on this market/connection
  kConnected = 1,     // (re)subscribed; bars of this market may resume
  kDisconnected = 2,  // connection lost; expect a gap
  kGap = 3,           // trade ids jumped from gap_first_id to gap_last_id (inclusive, missing)
  kStale = 4,         // silent past its threshold
  // The REST backfill of one gap of `market` finished (feeds/backfill.h):
  // its trades are before this in the same channel. detail = 1 when the
  // venue's history covered the whole gap, 0 when it did not (partial,
  // failed, given up). The bar builder holds the market's open seconds
  // from its kGap until this (pipeline/bar_builder.h, "Gaps").
  kBackfilled = 5,
  // Bus ingest only (runtime/bus_ingest.h): the events after this one came
  // in the JetStream message whose stream sequence is gap_first_id. The
  // aggregator keeps it to know how far it may ack; bars never see it.
  kBusMark = 6,
};

// Connection-level news and time progress. A watermark lets the aggregator
// close bars of quiet markets without waiting for their next trade.
struct FeedStatus {
  std::int64_t watermark_ns = 0;  // newest exchange time seen
  std::int64_t receive_ts_ns = 0;
  std::uint64_t gap_first_id = 0;
  std::uint64_t gap_last_id = 0;
  MarketId market = kInvalidMarket;  // kInvalidMarket: applies to every market of `connection`
  std::uint16_t connection = 0;
  FeedStatusKind kind = FeedStatusKind::kWatermark;
  std::uint8_t detail = 0;  // kBackfilled: 1 if the gap was covered (in the padding: the size is unchanged)
};

enum class FeedEventType : std::uint8_t { kTrade = 1, kQuote = 2, kStatus = 3 };

// What a feed -> aggregator ring slot holds: exactly one cache line.
struct alignas(64) FeedEvent {
  FeedEventType type = FeedEventType::kTrade;
  // 7 bytes of padding: the union needs 8-byte alignment.
  union {
    Trade trade;
    Quote quote;
    FeedStatus status;
  };

  FeedEvent() noexcept : trade() {}
  static FeedEvent of(const Trade& t) noexcept {
    FeedEvent e;
    e.type = FeedEventType::kTrade;
    e.trade = t;
    return e;
  }
  static FeedEvent of(const Quote& q) noexcept {
    FeedEvent e;
    e.type = FeedEventType::kQuote;
    e.quote = q;
    return e;
  }
  static FeedEvent of(const FeedStatus& s) noexcept {
    FeedEvent e;
    e.type = FeedEventType::kStatus;
    e.status = s;
    return e;
  }
};

static_assert(std::is_trivially_copyable_v<Trade> && sizeof(Trade) <= 64);
static_assert(std::is_trivially_copyable_v<Quote> && sizeof(Quote) <= 64);
static_assert(std::is_trivially_copyable_v<FeedStatus> && sizeof(FeedStatus) <= 64);
static_assert(std::is_trivially_copyable_v<FeedEvent>);
static_assert(sizeof(FeedEvent) == 64 && alignof(FeedEvent) == 64, "one ring slot = one 64-byte line");
static_assert(sizeof(Trade) == 48, "layout change: check every ring's capacity budget");

}  // namespace tickflow
