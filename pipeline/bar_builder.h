// pipeline/bar_builder.h
//
// BarBuilder: trades in, exact 1 s bars per market out, in aggr-server's
// schema (pipeline/bar.h), on the aggregator thread.
//
// What a bar holds:
//  * open/high/low/close from non-liquidation trades; vbuy/vsell = Σ price *
//    qty, cbuy/csell = counts, qbuy/qsell = Σ qty, per taker side;
//    lbuy/lsell = liquidation notional, and liquidations count nowhere else;
//  * it is bucketed on exchange time, second floor(exchange_ts / 1 s). Within
//    a second trades are ordered by exchange time, then arrival: open is the
//    earliest exchange time (first arrival on a tie), close the latest (last
//    arrival on a tie). So a late trade with an older exchange time than the
//    open becomes the new open. Sums are added in arrival order.
//
// When a second closes (and its bar, if it had trades, is emitted):
//  * by watermark: when the market's watermark passes the second's end plus
//    `lateness_ns` (default 250 ms). The watermark is the newest exchange
//    time seen on the market: its own trades, a FeedStatus kWatermark for it,
//    or one for every market of its connection;
//  * by clock, for quiet markets: when the clock given to advance_clock()
//    reaches the second's end + lateness_ns + quiet_close_delay_ns (default
//    2 s). quiet_close_delay_ns is the largest exchange-to-receive delay (and
//    clock skew) tolerated: a trade that arrives later than that behind its
//    exchange time may find its second closed, and amends it. Live, the clock
//    is the wall clock; in replay it is the receive time of the frame being
//    processed, so the output depends only on the input;
//  * by clock, from the connection's observed lag (quiet_close_from_lag,
//    live only): instead of the fixed quiet delay, a market on a connection
//    waits end + lateness_ns + lag + quiet_lag_margin_ns, where lag is the
//    largest (receive time - exchange time) of the connection's watermarks
//    (FeedStatus kWatermark for the connection: its newest exchange time
//    and the receive time of the frame that moved it) over the current and
//    the previous lag window (kLagWindowNs, 2 s of receive time), and never
//    more than quiet_close_delay_ns. The lag is signed: an exchange clock
//    ahead of ours makes it negative, and the close comes earlier on our
//    clock. A trade later than that amends its second (see "Late trades").
//    Markets without a connection, or whose connection sent no watermark
//    yet, keep the fixed delay. Replay and backtest leave it off: their
//    output stays what the event clock and the fixed delay make it;
//  * by flush() at the end of input: every open bar is emitted.
//
// Late trades: a trade for a second already closed amends it. The whole
// corrected bar is emitted again, flagged kBarAmendment (InfluxDB overwrites
// the point of the same timestamp). A late trade for a closed second that had
// no trade creates that bar late; it is flagged kBarAmendment too, since it
// changes what was already published for that second ("no point"). Trades
// more than `amend_horizon_ns` (default 10 min) older than the closed
// frontier are dropped and counted.
//
// Gaps (gap_hold_ns > 0, set when a REST backfill runs). A kGap status
// (the feed found trades missing before the trade that follows it) holds
// the market's open seconds: nothing of it closes, by watermark or clock,
// until the backfill reports the gap done (kBackfilled, after the gap's
// trades in the backfill's channel) or gap_hold_ns passed on the clock.
// The backfilled trades then land in open seconds, so the second the gap
// revealing trade opened, and the seconds before it, are emitted once,
// complete, instead of partial then amended.
//
// Restart (resume()). A market resumed from a checkpoint (runtime/
// restart_checkpoint.h) starts with its frontier where the previous run
// sealed it: trades for those seconds are dropped and counted
// (resumed_drops), never written over the bars that run stored. If its
// first gap cannot be healed (no backfill, or the backfill did not cover
// it), the seconds from the frontier up to and including the gap-revealing
// trade's second are incomplete: they are not written at all (counted in
// incomplete_seconds / incomplete_trades) rather than written partial over
// what the previous run may have stored for them. A bus aggregator's
// restart (resume(..., replayed = true)) starts its frontier below every
// second the previous run could still amend and replays their trades from
// the stream; set_input_tag() / lowest_tag_from() tell it where to
// replay from (runtime/aggregator.h, "Bus ingest").
//
// Counters per market (BarCounters): bars emitted on close, amendments,
// late drops, seconds with data, and gaps: runs of empty seconds between two
// bars, counted as the later bar closes, unless the market's connection was
// reported (re)connected or disconnected at or after the earlier bar's second
// (by the market's watermark when the news came). A late bar filling an
// empty second does not revise the gap count.
//
// Hot path (on_trade): one array of per-market state indexed by MarketId,
// allocated at construction for `max_markets`, and per market a ring of
// one-second slots indexed by second modulo its size, which holds the open
// seconds and the amendable history. The ring is allocated once per market,
// when the market is announced (set_connection, kConnected) or on its first
// trade; after that no trade allocates, looks anything up in a map, or
// branches unpredictably on in-order data. Bars leave through a BarSink
// virtual call, one per emitted bar.
//
// Not thread-safe: one BarBuilder lives on the aggregator thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_sink.h"
#include "pipeline/events.h"
#include "pipeline/timeframe.h"

namespace tickflow {

struct BarBuilderConfig {
  std::size_t max_markets = 1024;  // market ids must be below this
  std::int64_t lateness_ns = 250'000'000;
  std::int64_t amend_horizon_ns = 600 * kNanosPerSecond;
  std::int64_t quiet_close_delay_ns = 2 * kNanosPerSecond;
  std::int64_t gap_hold_ns = 0;  // > 0: hold a market's open seconds from kGap to kBackfilled, at most this long
  // Live: quiet markets close after their connection's observed lag (see the banner).
  bool quiet_close_from_lag = false;
  std::int64_t quiet_lag_margin_ns = 20'000'000;
};

struct BarCounters {
  std::uint64_t bars = 0;                // emitted when their second closed (kBarFinal)
  std::uint64_t amendments = 0;          // emitted again (or late) after a late trade (kBarAmendment)
  std::uint64_t late_drops = 0;          // trades older than the amendment horizon, dropped
  std::uint64_t seconds_with_data = 0;   // distinct seconds that got a trade
  std::uint64_t gaps = 0;                // runs of empty seconds between bars while connected
  std::uint64_t gap_seconds = 0;         // the empty seconds in those runs
  std::uint64_t resumed_drops = 0;       // trades for seconds a previous run sealed (resume())
  std::uint64_t gap_holds = 0;           // kGap holds started
  std::uint64_t gap_hold_timeouts = 0;   // holds released by the clock, not by kBackfilled
  std::uint64_t incomplete_seconds = 0;  // seconds with trades not written: unhealed gap after a resume
  std::uint64_t incomplete_trades = 0;   // the trades in them (and late ones for them)

  BarCounters& operator+=(const BarCounters& other) noexcept;
};

class BarBuilder {
 public:
  // Throws std::invalid_argument for a configuration it cannot honour
  // (negative times, no markets, a horizon above one day).
  BarBuilder(const BarBuilderConfig& config, BarSink& sink);
  ~BarBuilder();
  BarBuilder(const BarBuilder&) = delete;
  BarBuilder& operator=(const BarBuilder&) = delete;

  // The hot path. A trade whose market id is >= max_markets is ignored and
  // counted (ignored_trades()).
  void on_trade(const Trade& trade);

  // kWatermark raises the watermark of its market, or of every market of its
  // connection (market == kInvalidMarket). kConnected with a market assigns
  // the market to the connection; kConnected and kDisconnected stop the
  // current run of empty seconds from counting as a gap. Others are ignored.
  void on_status(const FeedStatus& status);

  // The clock moved to `now_ns` (wall clock live, receive time in replay).
  // Cheap when no deadline passed: one compare. A time earlier than one
  // already given changes nothing.
  void advance_clock(std::int64_t now_ns) {
    if (now_ns >= next_sweep_ns_) [[unlikely]]
      sweep(now_ns);
  }
  // The clock at which advance_clock() will next close something (a
  // waiting caller may sleep until then); INT64_MIN: at its next reading.
  std::int64_t next_clock_close_ns() const noexcept { return next_sweep_ns_; }
  // The lag a quiet market of `connection` is closed after (lateness and
  // margin excluded), kNoTime when none was observed (the fixed delay).
  std::int64_t observed_lag_ns(std::uint16_t connection) const noexcept;
  // How long after its second's end a quiet `market` closes on the clock.
  std::int64_t quiet_close_after_ns(MarketId market) const noexcept;

  static constexpr std::int64_t kLagWindowNs = 2 * kNanosPerSecond;

  // End of input: closes every second that has a trade, emitting its bar.
  void flush();

  // Assigns `market` to `connection` (connection-wide watermarks reach it)
  // and allocates its ring now, off the trade path.
  void set_connection(MarketId market, std::uint16_t connection);

  // Before the first event: a previous run sealed every second of `market`
  // before `closed_until_s`, the newest trade id in them was
  // `sealed_trade_id` (0: none, or hashed ids) at exchange time
  // `sealed_exchange_ns` (see the banner, "Restart").
  // `replayed`: the input is replayed from before the frontier (the bus's
  // ack floor, runtime/bus_ingest.h), so the restart opens no gap of its
  // own and the first kGap is an ordinary one.
  void resume(MarketId market, std::int64_t closed_until_s, std::uint64_t sealed_trade_id,
              std::int64_t sealed_exchange_ns, bool replayed = false);

  // Input tags (the bus's stream sequences). Trades after set_input_tag(t)
  // carry t; each second remembers the tag it got its first trade under.
  // Tags must not decrease, so that is the lowest tag of the second's trades.
  void set_input_tag(std::uint64_t tag) noexcept { input_tag_ = tag; }
  // The lowest tag over the seconds of `market` from `from_s` on that hold a
  // trade (open, or closed and still amendable), UINT64_MAX when none: every
  // input before it is in seconds older than `from_s`.
  std::uint64_t lowest_tag_from(MarketId market, std::int64_t from_s) const noexcept;
  // The oldest second R >= from_s, at most the closed frontier, such that
  // every second of `market` from R on has a tag above `tag` (a restart may
  // then replay from above `tag`); `lowest` gets the lowest tag from R on
  // (UINT64_MAX: none). Open seconds are never given up: when one has a
  // tag at or below `tag`, R is the frontier. Once a second, not on the
  // trade path; allocation-free.
  std::int64_t replay_start_above(MarketId market, std::int64_t from_s, std::uint64_t tag,
                                  std::uint64_t& lowest) const noexcept;

  // What the sealed seconds of `market` hold, for a checkpoint: the largest
  // of their last-arrival trade ids (0 if none; see accumulate()) and the
  // newest exchange time (kNoTime if none).
  std::uint64_t sealed_trade_id(MarketId market) const noexcept { return cold_[market].sealed_trade_id; }
  // Where resume() put the frontier (kNoTime: not resumed): the seconds
  // before it were dropped, so a replay cannot start earlier.
  std::int64_t resumed_at_s(MarketId market) const noexcept { return cold_[market].sealed_before_s; }
  // Where an exact replay of `market` starts: the amendment horizon behind
  // its frontier, never before resumed_at_s (kNoTime: no frontier yet).
  std::int64_t replay_start_s(MarketId market) const noexcept {
    const std::int64_t closed = closed_until_s(market);
    return closed == kNoTime ? kNoTime : std::max(closed - horizon_s_, resumed_at_s(market));
  }
  std::int64_t sealed_exchange_ns(MarketId market) const noexcept { return cold_[market].sealed_exchange_ns; }
  // A kGap hold is in force on `market`.
  bool held(MarketId market) const noexcept { return cold_[market].pending_gaps > 0; }

  // Reports. Precondition for those taking a market: market < max_markets.
  const BarBuilderConfig& config() const noexcept { return config_; }
  std::int64_t amend_horizon_s() const noexcept { return horizon_s_; }
  const BarCounters& counters(MarketId market) const noexcept { return cold_[market].counters; }
  BarCounters totals() const noexcept;
  std::uint64_t ignored_trades() const noexcept { return ignored_trades_; }
  // kNoTime before anything was seen.
  std::int64_t watermark_ns(MarketId market) const noexcept { return hot_[market].watermark_ns; }
  // Every second before this one is closed; kNoTime before the first close.
  std::int64_t closed_until_s(MarketId market) const noexcept { return hot_[market].closed_until_s; }

  static constexpr std::int64_t kNoTime = INT64_MIN / 4;  // far below any real time, and safe to subtract from

 private:
  // One second of one market. Two cache lines; counts are integers until
  // the bar is emitted, and per-side values are arrays indexed by Side so
  // the update has no branch on the side.
  struct alignas(64) Slot {
    std::int64_t second = kNoTime;  // which second this slot holds
    std::int64_t open_ts = 0;       // exchange time of `open` / `close`
    std::int64_t close_ts = 0;
    double open = 0, high = 0, low = 0, close = 0;
    double notional[2] = {};  // vbuy, vsell
    double qty[2] = {};       // qbuy, qsell
    double liq[2] = {};       // lbuy, lsell
    std::uint32_t count[2] = {};
    std::uint64_t last_trade_id = 0;  // id of the last non-liquidation arrival: the checkpoint's resume id
    std::uint64_t origin = 0;         // input tag when the second got its first trade (set_input_tag())
  };
  static_assert(sizeof(Slot) == 128, "origin fills the padding: a slot stays two cache lines");

  // What every trade reads or writes: one cache line per market.
  struct alignas(64) MarketHot {
    Slot* slots;            // the ring, or the shared never-matching sentinel before it is allocated
    std::int64_t mask = 0;  // ring size - 1
    std::int64_t closed_until_s = kNoTime;
    std::int64_t watermark_ns = kNoTime;
    std::int64_t next_close_ns = INT64_MIN;  // the watermark that closes the next second
    std::int64_t newest_s = kNoTime;         // newest second that got a trade
  };
  static_assert(sizeof(MarketHot) == 64);

  // What only closes, statuses and reports touch.
  struct MarketCold {
    BarCounters counters;
    std::unique_ptr<Slot[]> ring;
    std::int64_t last_bar_s = kNoTime;     // newest second emitted on close, for gaps
    std::int64_t interrupted_s = kNoTime;  // watermark second of the last connection news
    std::int32_t connection = -1;          // -1: none assigned
    // What the closed seconds hold (the checkpoint's resume point).
    std::uint64_t sealed_trade_id = 0;
    std::int64_t sealed_exchange_ns = kNoTime;
    // Restart and gaps (see the banner).
    std::int64_t sealed_before_s = kNoTime;    // a previous run sealed the seconds before this
    std::int64_t discard_through_s = kNoTime;  // incomplete seconds: never written
    bool resume_pending = false;               // resumed; its first gap (if any) not settled yet
    std::uint32_t pending_gaps = 0;            // kGap holds awaiting kBackfilled
    std::int64_t hold_deadline_ns = 0;         // the clock releases the hold here
    std::int64_t hold_through_s = kNoTime;     // second of the newest gap-revealing trade
  };

  static void reset(Slot& slot, std::int64_t second) noexcept;
  static void accumulate(Slot& slot, const Trade& trade) noexcept;
  Bar make_bar(MarketId market, const Slot& slot, std::uint8_t flags) const noexcept;

  void ensure_ring(MarketId market);
  Slot& open_second(MarketId market, std::int64_t second);
  void late_trade(const Trade& trade, std::int64_t second);
  void raise_watermark(MarketId market, std::int64_t watermark_ns);
  void close_by_watermark(MarketId market);
  void close_to(MarketId market, std::int64_t until_s);
  void emit_final(MarketId market, const Slot& slot);
  void sweep(std::int64_t now_ns);
  void mark_interrupted(const FeedStatus& status);
  void start_hold(const FeedStatus& status);
  void release_hold(MarketId market, bool covered, bool timed_out);
  std::int64_t next_close_for(MarketId market) const noexcept;
  std::int64_t end_plus(std::int64_t second, std::int64_t extra_ns) const noexcept;

  BarBuilderConfig config_;
  BarSink& sink_;
  std::int64_t horizon_s_;        // amend_horizon_ns in whole seconds, rounded up
  std::int64_t ring_size_;        // slots per market: a power of two
  std::int64_t max_open_span_s_;  // open seconds may reach this far past the closed frontier
  std::unique_ptr<MarketHot[]> hot_;
  std::vector<MarketCold> cold_;
  std::vector<MarketId> active_;  // markets with a ring, in order of first sight (the clock sweeps them)
  std::vector<std::vector<MarketId>> connections_;  // connection id -> its markets
  // Observed lag per connection (quiet_close_from_lag): the largest
  // receive - exchange time of its watermarks in the window that started at
  // window_start_ns and in the one before (kNoTime: none).
  struct ConnectionLag {
    std::int64_t window_start_ns = kNoTime;
    std::int64_t current_max_ns = kNoTime;
    std::int64_t previous_max_ns = kNoTime;
    std::int64_t estimate() const noexcept { return std::max(current_max_ns, previous_max_ns); }
  };
  std::vector<ConnectionLag> lags_;  // by connection id
  void observe_lag(std::uint16_t connection, std::int64_t receive_ns, std::int64_t watermark_ns);
  std::int64_t next_sweep_ns_ = INT64_MIN;  // the clock that closes the next second of quiet markets
  std::uint64_t ignored_trades_ = 0;
  std::uint64_t input_tag_ = 0;
  mutable std::vector<std::pair<std::int64_t, std::uint64_t>> tag_scratch_;  // replay_start_above(), ring_size_ long
};

// ---- the hot path, inline ----------------------------------------------------

inline void BarBuilder::accumulate(Slot& slot, const Trade& trade) noexcept {
  const unsigned side = static_cast<unsigned>(trade.side) & 1u;
  const double notional = trade.price * trade.qty;
  if (trade.flags & kTradeLiquidation) [[unlikely]] {
    slot.liq[side] += notional;
    return;
  }
  slot.notional[side] += notional;
  slot.qty[side] += trade.qty;
  slot.count[side] += 1;
  // The checkpoint's resume id: the id of the second's last arrival, one
  // store (a running max cost 5 instructions a trade, the hashed-id test 4
  // more: callgrind, bench/README.md). In order it is the max; a backfilled
  // trade arriving last makes it lower, which only makes a restart fetch
  // and drop a few trades again, never miss one. Hashed ids land here too:
  // nothing reads them (their venues resume by exchange time).
  slot.last_trade_id = trade.trade_id;
  const std::int64_t ts = trade.exchange_ts_ns;
  // Strict `<` keeps the first arrival on a tie, `>=` the last.
  if (ts < slot.open_ts) {
    slot.open_ts = ts;
    slot.open = trade.price;
  }
  if (ts >= slot.close_ts) {
    slot.close_ts = ts;
    slot.close = trade.price;
  }
  slot.high = trade.price > slot.high ? trade.price : slot.high;
  slot.low = trade.price < slot.low ? trade.price : slot.low;
}

inline void BarBuilder::on_trade(const Trade& trade) {
  if (trade.market >= config_.max_markets) [[unlikely]] {
    ++ignored_trades_;
    return;
  }
  MarketHot& m = hot_[trade.market];
  const std::int64_t ts = trade.exchange_ts_ns;
  const std::int64_t second = floor_div(ts, kNanosPerSecond);
  if (second < m.closed_until_s) [[unlikely]] {
    late_trade(trade, second);
    return;
  }
  Slot* slot = &m.slots[second & m.mask];
  if (slot->second != second) [[unlikely]]
    slot = &open_second(trade.market, second);
  accumulate(*slot, trade);
  const std::int64_t watermark = ts > m.watermark_ns ? ts : m.watermark_ns;
  m.watermark_ns = watermark;
  if (watermark >= m.next_close_ns) [[unlikely]]
    close_by_watermark(trade.market);
}

}  // namespace tickflow
