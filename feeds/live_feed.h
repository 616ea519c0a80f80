// feeds/live_feed.h
//
// LiveFeed: one exchange connection with its subscriptions, on a feed
// thread's IoLoop. It builds the URL and the subscribe messages for the
// venue, keeps the connection alive (pings as the exchange wants them),
// reconnects with capped exponential backoff and full jitter, restores
// every subscription, and runs each frame through the exchange's parser
// into an EventBuffer handed to on_events (the runtime pushes it into the
// feed ring).
//
// Every disconnect is counted by reason and logged through on_log; so is
// every reconnect. A connection silent for longer than stale_after is
// closed (WsCloseReason::kStale) and reconnected. Per market, the receive
// time of the last trade is kept for the health endpoint: those slots are
// atomics, so another thread may read them while the feed runs.
//
// Markets: only the configured symbols become markets. The parser's
// MarketResolver gets an allowlist made from LiveFeedConfig::symbols;
// trades on any other symbol are skipped and counted as unconfigured,
// without allocating and without interning anything in the registry, so a
// hostile feed cannot grow the process or exhaust the market table. A
// trade whose market has no slot (the registry full, or an id beyond
// max_markets) is dropped and counted as market_overflow, never thrown.
//
// Trade ids: after a reconnect the exchange may resend trades already
// delivered. Trades whose numeric id is not above the last id delivered on
// that market are dropped and counted as duplicates (hashed ids, e.g. Bybit
// v5 UUIDs, and liquidations are passed through).
//
// Implausible ids: one bogus id must not silence a market (a single id 9e18
// would make every later real trade look like a duplicate). With
// de-duplication on, a numeric id more than implausible_id_span away from
// the market's high-water mark L, above (id > L + span) or below
// (id < L - span), is counted as implausible_id and dropped: it moves
// nothing (no high-water mark, no gap report, no backfill). A legitimate
// big jump (a long restart on a busy market, an exchange renumbering) is
// adopted once confirm_trades consecutive such trades of the market are
// mutually consistent: each above the previous one and within span of it.
// The confirming trade is delivered and becomes the new high-water mark;
// the trades dropped while confirming are inside the gap that is then
// reported on id venues: [L + 1, id - 1] for a jump forward, [first
// dropped candidate, id - 1] for a jump backward (ids below L were never
// announced as missing). A trade within span of L in between resets the
// confirmation. Without confirmation a bogus id can cost at most the trades
// whose ids fall within span of it, never the market.
//
// Gaps: where a venue numbers trades consecutively per market (Binance
// trade or aggTrade ids, OKX trades-all tradeId, Coinbase trade_id), a
// trade whose id jumps past last + 1 reveals the gap [last + 1, id - 1]:
// inside one connection or across a reconnect, it is the same check. The
// feed puts a FeedStatus kGap before that trade in the events it hands on,
// counts and logs it, and passes a TradeGap to the gap handler (the runtime
// hands it to a BackfillWorker, feeds/backfill.h). Where ids say nothing
// (Bybit's hashed ids; OKX "trades", whose aggregated prints skip ids
// legitimately), the first trade of a market after a reconnect reports a
// time gap instead: ids 0,0 and the exchange times around the outage.
// No gaps are reported for a Binance connection carrying both trade and
// aggTrade of one symbol (two id sequences on one market), nor for
// liquidations.
//
// Events: besides the parsed trades and quotes, on_events receives a
// FeedStatus kConnected after each (re)subscription and kDisconnected (or
// kStale) after each disconnect, for every market of the connection.
//
// Not thread-safe: everything except the const readers of counters and
// freshness runs on the loop's thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/event_buffer.h"
#include "feeds/exchange_parser.h"
#include "feeds/venue_protocol.h"
#include "feeds/websocket_client.h"
#include "pipeline/market_registry.h"

namespace tickflow {

// Venue and the per-venue protocol descriptors: feeds/venue_protocol.h.

// Trades a live feed missed on one market, for a REST backfill
// (feeds/backfill.h). Made on the feed thread and copied by value into the
// worker's queue, so it owns everything it names.
struct TradeGap {
  Venue venue = Venue::kBinanceSpot;
  MarketId market = kInvalidMarket;
  std::string symbol{};  // as the venue spells it in REST: "BTCUSDT", "BTC-USDT-SWAP", "BTC-USD"
  // Inclusive range of missing ids; both 0 for a time gap (hashed ids).
  std::uint64_t first_missing_id = 0;
  std::uint64_t last_missing_id = 0;
  std::int64_t after_exchange_ns = 0;   // exchange time of the last trade before the gap
  std::int64_t before_exchange_ns = 0;  // exchange time of the trade after it
  std::uint16_t connection = 0;
  // Binance: the live ids are aggTrade ids ("a"), not trade ids ("t"): the
  // backfill must page the same sequence.
  bool aggregate_ids = false;
  // The market's contract terms, copied on the feed thread (the registry's
  // metadata belongs to the thread that added it). kUnknown: the worker
  // reads the registry itself.
  InstrumentKind kind = InstrumentKind::kUnknown;
  double contract_size = 0;

  bool is_time_gap() const noexcept { return first_missing_id == 0 && last_missing_id == 0; }
};

struct LiveFeedConfig {
  Venue venue = Venue::kBinanceSpot;
  // Symbols as the venue spells them in subscriptions: "btcusdt" (Binance),
  // "BTCUSDT" (Bybit), "BTC-USDT-SWAP" (OKX), "BTC-USD" (Coinbase).
  std::vector<std::string> symbols;
  // Binance stream kinds per symbol ("trade", "aggTrade", "bookTicker",
  // "forceOrder"); Bybit topics ("publicTrade", "allLiquidation"); OKX
  // channels ("trades", "liquidation-orders"). Empty: the venue's defaults
  // (VenueProtocol::default_channels): trades, plus liquidations where the
  // venue publishes them and `liquidations` is on.
  std::vector<std::string> channels;
  bool liquidations = true;
  // A venue whose endpoint comes from a REST call before each connection
  // (KuCoin's token): that call's URL. Empty: the venue's own.
  std::string bootstrap_url;

  // Endpoint overrides (tests point these at 127.0.0.1); empty/0 keeps the
  // venue's default.
  std::string host;
  std::uint16_t port = 0;
  std::string path;  // Binance: the prefix before "?streams=" ("/stream")
  std::string ca_file;

  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds stale_after{30'000};  // no frame this long: reconnect
  // 0: the venue's keepalive interval (Bybit 20 s, OKX 25 s, others 30 s of
  // websocket pings).
  std::chrono::milliseconds ping_interval{0};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30'000};
  std::uint64_t jitter_seed = 0;  // 0: from std::random_device

  ParserOptions parser_options{};
  std::size_t max_message_bytes = std::size_t{16} << 20;  // above it: disconnect (kMessageTooBig)
  bool own_tls_records = true;                            // WebSocketConfig::own_tls_records
  std::size_t max_markets = 256;                          // freshness slots, indexed by MarketId
  // Drop trades whose id is not above the market's last delivered id.
  // Assumes one id sequence per market on this connection: turn it off when
  // subscribing to both "trade" and "aggTrade" of one Binance symbol.
  bool deduplicate = true;
  std::uint16_t connection = 0;  // stamped on the FeedStatus events this feed emits
  // Implausible ids (see the banner). 1,000,000 ids is 100 s of Binance
  // BTCUSDT at a 10k trades/s burst, more than the longest ordinary outage
  // (30 s of silence before kStale plus a backoff capped at 30 s), so
  // reconnects never need confirming; a longer outage costs confirm_trades
  // - 1 trades, which the reported gap's backfill recovers. 0: no check.
  std::uint64_t implausible_id_span = 1'000'000;
  // Consecutive consistent trades that adopt a jump (>= 1; 1 trusts any jump).
  std::uint32_t confirm_trades = 3;
};

// Where a config connects and what it sends after connecting.
struct LiveFeedPlan {
  std::string host;
  std::uint16_t port = 443;
  std::string target;                  // path + query
  std::vector<std::string> subscribe;  // text messages, in order
  std::chrono::milliseconds ping_interval{0};
  std::string ping_text;    // empty: websocket ping frames
  std::string parser_name;  // for make_parser()
  // Subscribe pacing: the first message at once, each next one this long
  // after the one before (the venue's subscribe rate limit). 0: all at once.
  std::chrono::milliseconds subscribe_interval{0};
  // Called on the feed thread before every connection attempt (before the
  // backoff delay starts): may rewrite host, port, target, ping_interval
  // and ping_text (KuCoin: a token and an endpoint from a REST call).
  // Returns "" or what went wrong; on failure the attempt goes ahead with
  // the previous endpoint, fails, and the backoff retries. It blocks the
  // feed thread for at most the config's connect_timeout.
  std::string (*bootstrap)(const LiveFeedConfig& config, LiveFeedPlan& plan) = nullptr;
};
// Throws std::invalid_argument for a venue without a live feed yet, no
// symbols, or symbols/channels the venue cannot take.
LiveFeedPlan plan_for(const LiveFeedConfig& config);
// The channels a config subscribes: its own, else the venue's defaults.
std::vector<std::string> channels_for(const LiveFeedConfig& config);

struct LiveFeedCounters {
  std::atomic<std::uint64_t> connect_attempts{0};
  std::atomic<std::uint64_t> connects{0};     // handshakes completed (first + reconnects)
  std::atomic<std::uint64_t> reconnects{0};   // handshakes completed after a disconnect
  std::atomic<std::uint64_t> disconnects{0};  // attempts that ended, opened or not, excluding stop()
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(WsCloseReason::kCount)> by_reason{};
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> trades{0};      // delivered through on_events
  std::atomic<std::uint64_t> duplicates{0};  // dropped: id not above the market's last id
  std::atomic<std::uint64_t> subscribe_messages{0};
  std::atomic<std::uint64_t> replies{0};             // server keepalives answered (ExchangeParser::pending_reply)
  std::atomic<std::uint64_t> bootstrap_failures{0};  // LiveFeedPlan::bootstrap calls that failed
  std::atomic<std::uint64_t> parse_errors{0};        // frames the parser rejected (reason logged)
  std::atomic<std::uint64_t> gaps{0};                // id gaps and reconnect time gaps reported
  std::atomic<std::uint64_t> gap_trades{0};          // ids missing in the id gaps
  std::atomic<std::uint64_t> implausible_ids{0};     // dropped: id too far from the market's window (banner)
  std::atomic<std::uint64_t> jumps_adopted{0};       // confirmed jumps that became the new id sequence
  std::atomic<std::uint64_t> unconfigured{0};        // trades on symbols this connection did not subscribe: skipped
  // Trades dropped because the market table is full: the registry refused a
  // new market, or its id is beyond max_markets.
  std::atomic<std::uint64_t> market_overflow{0};

  std::uint64_t reason(WsCloseReason r) const noexcept {
    return by_reason[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
};

class LiveFeed {
 public:
  using EventsHandler = std::function<void(const EventBuffer&)>;
  using LogHandler = std::function<void(std::string_view line)>;

  // Throws std::invalid_argument when the venue has no parser or no symbols.
  LiveFeed(IoLoop& loop, MarketRegistry& registry, LiveFeedConfig config, EventsHandler on_events,
           LogHandler on_log = {});
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // Called with every raw frame, before it is parsed (tickflow record and
  // `run --record` write them to capture files). Set before start().
  using FrameTap = std::function<void(std::string_view frame, std::int64_t receive_ts_ns)>;
  void set_frame_tap(FrameTap tap) { frame_tap_ = std::move(tap); }

  // Called on the loop's thread with every gap (see the banner), after its
  // kGap event was put into the frame's events and before on_events sees
  // them. Keep it short: it runs between two frames (BackfillWorker::request
  // takes a mutex and copies the gap). Set before start().
  using GapHandler = std::function<void(const TradeGap&)>;
  void set_gap_handler(GapHandler handler) { gap_handler_ = std::move(handler); }

  // Seeds de-duplication and gap detection for a restart: behaves as if the
  // trades of `market` up to `last_trade_id` (exchange time
  // `last_exchange_ns`) had been delivered on an earlier connection. The
  // market's first trade after start() is de-duplicated against that id
  // (re-sent older trades are dropped as duplicates) and reveals the gap to
  // the gap handler exactly as a reconnect does: ids [last_trade_id + 1,
  // id - 1] on id venues, the exchange times (last_exchange_ns, its time) on
  // time-gap venues (Bybit, OKX "trades"). last_trade_id 0 (hashed ids):
  // only the time. A jump beyond implausible_id_span is confirmed first
  // (see the banner), then reported as the same id gap. Call before
  // start(). A market >= max_markets is ignored (its trades are dropped and
  // counted as market_overflow).
  void resume_market(MarketId market, std::uint64_t last_trade_id, std::int64_t last_exchange_ns);

  void start();  // connects now
  void stop();   // closes; no reconnect

  const LiveFeedCounters& counters() const noexcept { return counters_; }
  const ParseStats& parse_stats() const noexcept { return parser_->stats(); }
  const LiveFeedPlan& plan() const noexcept { return plan_; }
  const std::string& last_disconnect() const noexcept { return last_disconnect_; }
  bool connected() const noexcept;

  // Receive time (ns) of the last trade on `market`, 0 if none yet. Any thread.
  std::int64_t last_trade_receive_ns(MarketId market) const noexcept;
  // The backoff before the next attempt (after `failures` consecutive failed
  // attempts): uniform in [0, min(max, initial * 2^failures)].
  std::chrono::milliseconds next_backoff(std::uint32_t failures);

 private:
  void on_open();
  void on_frame(std::string_view frame, std::int64_t receive_ts_ns);
  void on_close(WsCloseReason reason, const std::string& detail);
  void log(std::string line);
  // Checks trade `t` (kept, not a duplicate) against its market's last id and
  // time; on a gap, pushes the kGap event into `out` and reports it.
  // `first_missing_id`: the id gap's start on id venues (0: a time gap).
  void check_gap(const Trade& t, std::uint64_t first_missing_id, std::int64_t receive_ts_ns, EventBuffer& out);
  bool would_gap(const Trade& t) const noexcept;
  // A sequenced trade more than the span away from `last`: true when it is
  // to be dropped (implausible, not yet confirmed); false when it confirms a
  // jump (then `jump_from` is the start of the gap to report, 0 for none).
  bool implausible(const Trade& t, std::uint64_t last, std::uint64_t& jump_from) noexcept;
  void report_gap(TradeGap gap, std::int64_t receive_ts_ns, EventBuffer& out);
  void open_after(std::chrono::milliseconds delay);  // the plan's bootstrap (if any), then client_->open(delay)

  LiveFeedConfig config_;
  LiveFeedPlan plan_;
  std::unique_ptr<ExchangeParser> parser_;
  EventBuffer events_;
  EventsHandler on_events_;
  LogHandler on_log_;
  FrameTap frame_tap_;
  GapHandler gap_handler_;
  MarketRegistry& registry_;
  std::unique_ptr<WebSocketClient> client_;
  LiveFeedCounters counters_;
  std::unique_ptr<std::atomic<std::int64_t>[]> last_trade_ns_;
  std::vector<std::uint64_t> last_trade_id_;  // by MarketId, 0: none
  // Gap detection, by MarketId: exchange time of the last trade delivered,
  // and the connection (epoch_) it came on.
  std::vector<std::int64_t> last_exchange_ns_;
  std::vector<std::uint32_t> last_epoch_;
  // Implausible-id confirmation, by MarketId: the last candidate id of an
  // unconfirmed jump (0: none), the first one, and how many in a row.
  std::vector<std::uint64_t> jump_last_;
  std::vector<std::uint64_t> jump_first_;
  std::vector<std::uint32_t> jump_count_;
  std::uint32_t epoch_ = 0;  // connections opened
  bool id_gaps_ = false;     // this venue/channel set numbers trades consecutively per market
  bool time_gaps_ = false;   // ids say nothing: report reconnect gaps by time
  bool aggregate_ids_ = false;
  // events_ minus duplicates, plus kGap events, when a frame needed either.
  // Twice events_' capacity: every trade of a frame could open a gap.
  EventBuffer deduped_;
  std::mt19937_64 rng_;
  std::uint32_t failures_ = 0;  // consecutive attempts that did not open
  bool opened_ = false;         // the current attempt completed its handshake
  bool ever_connected_ = false;
  bool stopping_ = false;
  bool running_ = false;
  std::string last_disconnect_;
  std::uint64_t unconfigured_seen_ = 0;  // the resolver's counts already added to counters_
  std::uint64_t full_seen_ = 0;
  ParseStats errors_seen_{};  // the parser's error counts at the last rejection: which reason moved
};

}  // namespace tickflow
