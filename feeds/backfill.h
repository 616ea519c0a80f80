// feeds/backfill.h
//
// BackfillWorker: fetches the trades a live feed missed (a TradeGap from
// LiveFeed's gap handler, feeds/live_feed.h) from the venue's public REST
// trade history, and hands them on as Trades flagged kTradeBackfill.
//
// Architecture: the worker is its own thread ("tf-backfill") and its own
// producer: the runtime gives its on_events a ring of its own into the
// aggregator, never a feed's ring. Everything here is cold path: blocking
// HTTP (libcurl, one easy handle reused so connections are kept alive),
// allocation, logging.
//
// Promises:
//  * Only trades strictly inside the gap are delivered. An id gap delivers
//    ids in [first_missing_id, last_missing_id], each at most once; a time
//    gap (hashed ids, e.g. Bybit) delivers trades whose exchange time is
//    strictly between after_exchange_ns and before_exchange_ns. The strict
//    bounds are the de-duplication for time gaps: a trade sharing the
//    millisecond of the last trade before, or the first trade after, the
//    outage is not backfilled (it may have been delivered live; losing it
//    is preferred to counting it twice). Everything else the venue returns
//    is counted in trades_outside_range.
//  * Trades are normalized exactly as the venue's live parser does (side
//    semantics, contract sizes; see feeds/rest_trades.h), with receive_ts_ns
//    = the realtime clock when the page arrived, sorted by exchange time
//    then id, in batches of at most EventBuffer::kDefaultCapacity.
//  * HTTP 429/418/5xx and transport errors are retried with exponential
//    backoff up to max_attempts; then the gap is given up (failed_requests,
//    reason logged). Other HTTP errors fail at once. A malformed body is
//    counted (malformed_responses and failed_requests), logged, never
//    thrown. TLS peer and host verification are always on.
//  * Paging stops when the gap is covered, the venue has nothing older or
//    newer, or max_pages pages were read (then what was found is delivered,
//    counted in partial, and logged).
//  * After each gap, healed or not, one FeedStatus kBackfilled for its
//    market (detail 1: covered) follows its trades through on_events: the
//    aggregator holds the market's open seconds until then.
//
// Venues and paging (endpoints and limits: api_for in backfill.cc):
//  * by id, for id gaps: Binance spot/USD-M/COIN-M, Binance US and Aster
//    (historicalTrades for the live `trade` stream, aggTrades for
//    `aggTrade`, paged by fromId); OKX (history-trades, type=1 paged by
//    tradeId for id gaps, type=2 by time for time gaps); Coinbase
//    (/products/<id>/trades, paged by the `after` cursor: older than a
//    trade_id).
//  * by time window, for time gaps, newest first (the next page ends at the
//    oldest time seen): Bitget spot/futures (fills-history, ms), Gate.io
//    spot/futures (from/to in s), dYdX v4 (createdBeforeOrAt, ISO),
//    Crypto.com (get-trades, start_ts/end_ts), Kraken Futures (v3 history,
//    100 before lastTime); oldest first (the next page
//    starts at the newest time seen): BitMEX (startTime/endTime ISO), Deribit
//    (get_last_trades_by_instrument_and_time), Bitfinex (hist, sort=1),
//    HitBTC (by=timestamp), Kraken spot (since, ns). The window's upper
//    bound is written one unit past the gap (a venue's exclusive end still
//    returns it); overlaps between pages are de-duplicated by id; when one
//    unit of the URL's time fills whole pages, paging stops (partial).
//  * the last N trades, no paging: Bybit (1000, spot 60), KuCoin spot and
//    futures (100), HTX spot and swaps (2000; spot ids are consecutive:
//    id gaps too), MEXC spot (1000) and futures (100), Poloniex (1000),
//    Phemex (/md/trade, /md/v2/trade for USDT perps), Bitstamp (the last
//    hour). A longer outage is backfilled only as far
//    back as that window reaches, logged as partial.
//  Bitstamp's REST times are whole seconds (live: microseconds): a trade is
//  inside a time gap only if its whole second is, so none is counted twice.
//  Binance-family and Coinbase time gaps, and id gaps on time-paged venues,
//  are not supported: failed, logged. Hyperliquid (no public trade history
//  by time), BitMart and Bitunix have no backfill:
//  "no REST backfill for this venue".
//
// Threads: request() and counters() from any thread; start()/stop() from
// the owning thread; on_events and on_log run on the worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "feeds/event_buffer.h"
#include "feeds/live_feed.h"
#include "pipeline/market_registry.h"

namespace tickflow {

struct BackfillConfig {
  // Scheme + host (+ port), no trailing slash: "http://127.0.0.1:8080".
  // Absent: the venue's public API (https://api.binance.com, ...).
  std::map<Venue, std::string> base_url;
  std::string ca_file;                        // empty: the system's trust store
  std::chrono::milliseconds timeout{10'000};  // a whole request
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_pages = 20;  // per gap
  std::size_t queue_capacity = 256;
  int max_attempts = 3;                                // per page
  std::chrono::milliseconds retry_backoff{500};        // before the 2nd attempt; doubles after each
  std::size_t max_body_bytes = std::size_t{32} << 20;  // a larger response is a failed request
  std::string binance_api_key;  // optional X-MBX-APIKEY (futures historicalTrades may ask for one)
};

struct BackfillCounters {
  std::atomic<std::uint64_t> requests{0};          // gaps accepted by request()
  std::atomic<std::uint64_t> completed{0};         // gaps fetched and delivered (including partial ones)
  std::atomic<std::uint64_t> partial{0};           // completed without covering the whole gap
  std::atomic<std::uint64_t> failed_requests{0};   // gaps given up
  std::atomic<std::uint64_t> dropped_requests{0};  // queue full, or still queued at stop()
  std::atomic<std::uint64_t> http_requests{0};     // attempts, retries included
  std::atomic<std::uint64_t> malformed_responses{0};
  std::atomic<std::uint64_t> pages{0};  // well-formed pages parsed
  std::atomic<std::uint64_t> trades_delivered{0};
  std::atomic<std::uint64_t> trades_outside_range{0};  // returned by the venue, filtered out
};

class BackfillWorker {
 public:
  using EventsHandler = std::function<void(const EventBuffer&)>;
  using LogHandler = std::function<void(std::string_view line)>;

  BackfillWorker(MarketRegistry& registry, BackfillConfig config, EventsHandler on_events, LogHandler on_log = {});
  ~BackfillWorker();  // stop()
  BackfillWorker(const BackfillWorker&) = delete;
  BackfillWorker& operator=(const BackfillWorker&) = delete;

  void start();
  // Joins the thread. A gap in flight is abandoned between pages (failed);
  // queued ones are dropped and counted.
  void stop();

  // Queues a gap (copied). Any thread. False, counted in dropped_requests,
  // when the queue is full or the worker was stopped.
  bool request(const TradeGap& gap);

  const BackfillCounters& counters() const noexcept { return counters_; }
  // Gaps queued or in flight. Any thread.
  std::size_t pending() const;

 private:
  struct Http;
  void run();
  // True when the venue's history covered the whole gap.
  bool process(Http& http, const TradeGap& gap);
  void log(std::string line);

  MarketRegistry& registry_;
  BackfillConfig config_;
  EventsHandler on_events_;
  LogHandler on_log_;
  BackfillCounters counters_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<TradeGap> queue_;  // guarded by mutex_
  bool in_flight_ = false;      // guarded by mutex_
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;  // guarded by mutex_: request() refuses after stop()
  std::thread thread_;
};

}  // namespace tickflow
