#include "feeds/live_feed.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "feeds/log_escape.h"
#include "feeds/parser_factory.h"
#include "ringbuffers/single_writer.h"

namespace tickflow {

namespace {

using std::chrono::milliseconds;

void push_event(EventBuffer& out, const FeedEvent& e) {
  if (e.type == FeedEventType::kTrade)
    out.push(e.trade);
  else if (e.type == FeedEventType::kQuote)
    out.push(e.quote);
  else
    out.push(e.status);
}

}  // namespace

std::vector<std::string> channels_for(const LiveFeedConfig& config) {
  if (!config.channels.empty()) return config.channels;
  const VenueProtocol& protocol = venue_protocol(config.venue);
  return protocol.default_channels ? protocol.default_channels(config.liquidations) : std::vector<std::string>{};
}

LiveFeedPlan plan_for(const LiveFeedConfig& config) {
  const VenueProtocol& protocol = venue_protocol(config.venue);
  if (protocol.plan == nullptr)
    throw std::invalid_argument("no live feed for " + std::string(to_string(config.venue)) + " yet");
  if (config.symbols.empty()) throw std::invalid_argument("live feed without symbols");
  const std::vector<std::string> channels = channels_for(config);
  if (protocol.max_topics != 0 &&
      config.symbols.size() * std::max<std::size_t>(1, channels.size()) > protocol.max_topics)
    throw std::invalid_argument(std::string(protocol.name) + ": more than " + std::to_string(protocol.max_topics) +
                                " topics on one connection");
  LiveFeedPlan plan;
  plan.parser_name = std::string(protocol.parser);
  protocol.plan(config, channels, plan);
  if (!config.host.empty()) plan.host = config.host;
  if (config.port != 0) plan.port = config.port;
  if (config.ping_interval.count() > 0) plan.ping_interval = config.ping_interval;
  return plan;
}

LiveFeed::LiveFeed(IoLoop& loop, MarketRegistry& registry, LiveFeedConfig config, EventsHandler on_events,
                   LogHandler on_log)
    : config_(std::move(config)),
      plan_(plan_for(config_)),
      parser_(make_parser(plan_.parser_name, registry, config_.parser_options)),
      on_events_(std::move(on_events)),
      on_log_(std::move(on_log)),
      registry_(registry),
      last_trade_ns_(std::make_unique<std::atomic<std::int64_t>[]>(config_.max_markets)),
      last_trade_id_(config_.max_markets, 0),
      last_exchange_ns_(config_.max_markets, 0),
      last_epoch_(config_.max_markets, 0),
      jump_last_(config_.max_markets, 0),
      jump_first_(config_.max_markets, 0),
      jump_count_(config_.max_markets, 0),
      deduped_(2 * events_.capacity()),
      rng_(config_.jitter_seed != 0 ? config_.jitter_seed : std::random_device{}()) {
  if (!parser_) throw std::invalid_argument("no parser for " + plan_.parser_name);
  // Only the subscribed markets: the allowlist spells each symbol as the
  // parser spells the pair in market names.
  const VenueProtocol& protocol = venue_protocol(config_.venue);
  std::vector<std::string> pairs;
  for (const auto& symbol : config_.symbols)
    pairs.push_back(protocol.market_pair ? protocol.market_pair(symbol) : symbol);
  parser_->markets().set_allowlist(pairs);
  // Which gaps the channels can reveal (see the header's banner).
  const std::vector<std::string> channels = channels_for(config_);
  const GapDetection gaps = protocol.gaps ? protocol.gaps(channels) : GapDetection::kNone;
  id_gaps_ = gaps == GapDetection::kIds;
  time_gaps_ = gaps == GapDetection::kTime;
  aggregate_ids_ = contains(channels, "aggTrade") && !contains(channels, "trade");  // Binance's aggTrade ids
  for (std::size_t i = 0; i < config_.max_markets; ++i) last_trade_ns_[i].store(0, std::memory_order_relaxed);
  WebSocketConfig ws;
  ws.host = plan_.host;
  ws.port = plan_.port;
  ws.target = plan_.target;
  ws.ca_file = config_.ca_file;
  ws.connect_timeout = config_.connect_timeout;
  ws.handshake_timeout = config_.handshake_timeout;
  ws.read_timeout = config_.stale_after;
  ws.ping_interval = plan_.ping_interval;
  ws.ping_text = plan_.ping_text;
  ws.max_message_bytes = config_.max_message_bytes;
  ws.own_tls_records = config_.own_tls_records;
  client_ = std::make_unique<WebSocketClient>(
      loop, std::move(ws),
      WebSocketHandlers{
          .on_open = [this] { on_open(); },
          .on_frame = [this](std::string_view frame, std::int64_t ts) { on_frame(frame, ts); },
          .on_close = [this](WsCloseReason reason, const std::string& detail) { on_close(reason, detail); },
      });
}

LiveFeed::~LiveFeed() {
  stopping_ = true;
  client_.reset();  // no callbacks after this
}

void LiveFeed::start() {
  parser_->prepare_thread();  // start() runs on the loop's thread in the runtime
  stopping_ = false;
  running_ = true;
  counters_.connect_attempts.fetch_add(1, std::memory_order_relaxed);
  open_after(milliseconds{0});
}

void LiveFeed::open_after(milliseconds delay) {
  if (plan_.bootstrap != nullptr) {
    const std::string error = plan_.bootstrap(config_, plan_);
    if (!error.empty()) {
      counters_.bootstrap_failures.fetch_add(1, std::memory_order_relaxed);
      log(std::string(to_string(config_.venue)) + ": bootstrap failed: " + escape_log_text(error, 200));
    }
    WebSocketConfig& ws = client_->mutable_config();
    ws.host = plan_.host;
    ws.port = plan_.port;
    ws.target = plan_.target;
    ws.ping_interval = plan_.ping_interval;
    ws.ping_text = plan_.ping_text;
  }
  client_->open(delay);
}

void LiveFeed::stop() {
  stopping_ = true;
  running_ = false;
  client_->close();
}

bool LiveFeed::connected() const noexcept { return client_->is_open(); }

std::int64_t LiveFeed::last_trade_receive_ns(MarketId market) const noexcept {
  if (market >= config_.max_markets) return 0;
  return last_trade_ns_[market].load(std::memory_order_relaxed);
}

std::chrono::milliseconds LiveFeed::next_backoff(std::uint32_t failures) {
  // Full jitter (uniform in [0, cap]) spreads the reconnects of many
  // clients after a venue-wide outage instead of synchronising them.
  const auto initial = std::max<std::int64_t>(1, config_.backoff_initial.count());
  const auto max = std::max<std::int64_t>(initial, config_.backoff_max.count());
  std::int64_t cap = initial;
  for (std::uint32_t i = 0; i < failures && cap < max; ++i) cap *= 2;
  cap = std::min(cap, max);
  return milliseconds{std::uniform_int_distribution<std::int64_t>(0, cap)(rng_)};
}

void LiveFeed::log(std::string line) {
  if (on_log_) on_log_(line);
}

void LiveFeed::on_open() {
  counters_.connects.fetch_add(1, std::memory_order_relaxed);
  if (ever_connected_) {
    counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
    log(std::string(to_string(config_.venue)) + ": reconnected to " + plan_.host + ":" + std::to_string(plan_.port) +
        " after " + last_disconnect_);
  } else {
    log(std::string(to_string(config_.venue)) + ": connected to " + plan_.host + ":" + std::to_string(plan_.port) +
        plan_.target);
  }
  ever_connected_ = true;
  opened_ = true;
  ++epoch_;
  // Binance subscribes in the URL; the others get their messages again on
  // every connection (a new connection has no subscriptions).
  if (!plan_.subscribe.empty()) {
    client_->send_text_paced(plan_.subscribe, plan_.subscribe_interval);
    counters_.subscribe_messages.fetch_add(plan_.subscribe.size(), std::memory_order_relaxed);
  }
  events_.clear();
  events_.push(FeedStatus{.receive_ts_ns = realtime_ns(),
                          .market = kInvalidMarket,
                          .connection = config_.connection,
                          .kind = FeedStatusKind::kConnected});
  if (on_events_) on_events_(events_);
}

void LiveFeed::on_frame(std::string_view frame, std::int64_t receive_ts_ns) {
  single_writer_add(counters_.frames);
  single_writer_add(counters_.bytes, frame.size());
  if (frame_tap_) frame_tap_(frame, receive_ts_ns);
  events_.clear();
  const ParseOutcome outcome = parser_->parse(frame, receive_ts_ns, events_);
  if (outcome == ParseOutcome::kError) [[unlikely]] {
    // Cold path: name the reason (the counter that moved) and a prefix of
    // the frame. The runtime rate-limits these lines.
    counters_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    const ParseStats& stats = parser_->stats();
    std::string reason = "unknown";
    for (std::size_t e = 0; e < stats.errors.size(); ++e)
      if (stats.errors[e] != errors_seen_.errors[e]) reason = std::string(to_string(static_cast<ParseError>(e)));
    errors_seen_ = stats;
    log(std::string(to_string(config_.venue)) + ": frame rejected (" + reason +
        "): " + escape_log_text(frame, 160));  // network bytes: escaped
  }
  // Trades the allowlist or a full registry refused, counted by the resolver.
  const MarketResolver& markets = parser_->markets();
  if (markets.unconfigured() != unconfigured_seen_) [[unlikely]] {
    single_writer_add(counters_.unconfigured, markets.unconfigured() - unconfigured_seen_);
    unconfigured_seen_ = markets.unconfigured();
  }
  if (markets.full() != full_seen_) [[unlikely]] {
    single_writer_add(counters_.market_overflow, markets.full() - full_seen_);
    full_seen_ = markets.full();
  }
  if (const std::string_view reply = parser_->pending_reply(); !reply.empty()) [[unlikely]] {
    // A server keepalive the venue wants answered (a ping, a heartbeat request).
    client_->send_text(std::string(reply));
    parser_->clear_reply();
    single_writer_add(counters_.replies);
  }
  if (outcome != ParseOutcome::kEvents) return;
  // De-duplication: a trade whose numeric id is not above its market's last
  // delivered id was delivered before (reconnect overlap). Gap detection: a
  // kept trade may reveal missing trades, announced by a kGap event just
  // before it. The frame is handed on as parsed unless a trade is dropped or
  // a gap found; then the output is rebuilt in deduped_ (rare: only around a
  // reconnect or a loss).
  std::uint64_t trades = 0;
  std::size_t dropped = 0;
  bool rebuilt = false;
  auto rebuild_up_to = [&](std::size_t i) {
    if (rebuilt) return;
    rebuilt = true;
    deduped_.clear();
    for (std::size_t j = 0; j < i; ++j) push_event(deduped_, events_[j]);
  };
  std::uint64_t duplicates = 0, implausible_ids = 0, overflow = 0;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const FeedEvent& e = events_[i];
    bool keep = true;
    if (e.type == FeedEventType::kTrade) {
      const Trade& t = e.trade;
      if (t.market >= config_.max_markets) [[unlikely]] {
        // No slot to de-duplicate or time it: the market table is full.
        keep = false;
        ++overflow;
      } else {
        const bool sequenced = (t.flags & (kTradeIdHashed | kTradeLiquidation)) == 0 && t.trade_id != 0;
        std::uint64_t& last = last_trade_id_[t.market];
        bool jumped = false;
        std::uint64_t jump_from = 0;
        if (config_.deduplicate && sequenced) {
          const std::uint64_t span = config_.implausible_id_span;
          const bool far = span != 0 && last != 0 && (t.trade_id > last ? t.trade_id - last : last - t.trade_id) > span;
          if (far) [[unlikely]] {
            jumped = !implausible(t, last, jump_from);
            if (!jumped) {
              keep = false;
              ++implausible_ids;
            }
          } else {
            jump_count_[t.market] = 0;  // back in the window: a pending jump is not confirmed
            if (t.trade_id <= last) {
              keep = false;
              ++duplicates;
            }
          }
        }
        if (keep) {
          if (jumped) [[unlikely]] {
            counters_.jumps_adopted.fetch_add(1, std::memory_order_relaxed);
            const bool id_gap = id_gaps_ && jump_from != 0 && t.trade_id > jump_from;
            if (id_gap || (time_gaps_ && would_gap(t))) {
              rebuild_up_to(i);
              check_gap(t, id_gap ? jump_from : 0, receive_ts_ns, deduped_);
            }
            last = t.trade_id;  // the confirmed sequence, up or down
          } else {
            if (would_gap(t)) [[unlikely]] {
              rebuild_up_to(i);
              check_gap(t, last + 1, receive_ts_ns, deduped_);
            }
            if (sequenced && t.trade_id > last) last = t.trade_id;
          }
          if (!t.is_liquidation()) {
            last_exchange_ns_[t.market] = t.exchange_ts_ns;
            last_epoch_[t.market] = epoch_;
          }
          last_trade_ns_[t.market].store(receive_ts_ns, std::memory_order_relaxed);
        }
      }
      trades += keep ? 1 : 0;
    }
    if (!keep) {
      rebuild_up_to(i);
      ++dropped;
    } else if (rebuilt) {
      push_event(deduped_, e);
    }
  }
  if (implausible_ids != 0) single_writer_add(counters_.implausible_ids, implausible_ids);
  if (overflow != 0) single_writer_add(counters_.market_overflow, overflow);
  if (duplicates != 0) single_writer_add(counters_.duplicates, duplicates);
  single_writer_add(counters_.trades, trades);
  const EventBuffer& out = rebuilt ? deduped_ : events_;
  if (!out.empty() && on_events_) on_events_(out);
}

bool LiveFeed::would_gap(const Trade& t) const noexcept {
  if (t.is_liquidation()) return false;
  if (id_gaps_) {
    if ((t.flags & kTradeIdHashed) != 0 || t.trade_id == 0) return false;
    const std::uint64_t last = last_trade_id_[t.market];
    return last != 0 && t.trade_id - 1 > last;  // t.trade_id > last + 1 without overflow
  }
  // Time gaps: the market's first trade on a new connection, if it had
  // trades on an earlier one.
  return time_gaps_ && last_exchange_ns_[t.market] != 0 && last_epoch_[t.market] != epoch_;
}

bool LiveFeed::implausible(const Trade& t, std::uint64_t last, std::uint64_t& jump_from) noexcept {
  const MarketId m = t.market;
  const std::uint64_t id = t.trade_id;
  if (jump_count_[m] > 0 && id > jump_last_[m] && id - jump_last_[m] <= config_.implausible_id_span) {
    ++jump_count_[m];  // consistent with the pending jump
  } else {
    jump_count_[m] = 1;  // a new candidate sequence starts here
    jump_first_[m] = id;
  }
  jump_last_[m] = id;
  if (jump_count_[m] < std::max<std::uint32_t>(1, config_.confirm_trades)) return true;
  // Confirmed. Forward: everything after the old sequence is missing.
  // Backward: only the candidates dropped while confirming.
  jump_from = id > last ? last + 1 : jump_first_[m];
  jump_count_[m] = 0;
  return false;
}

void LiveFeed::resume_market(MarketId market, std::uint64_t last_trade_id, std::int64_t last_exchange_ns) {
  // No slot: this feed drops the market's trades anyway (market_overflow).
  if (market >= config_.max_markets) return;
  last_trade_id_[market] = last_trade_id;
  last_exchange_ns_[market] = last_exchange_ns;
  // An earlier connection than any this feed will open (on_open bumps
  // epoch_): the first trade after start() is checked as after a reconnect.
  last_epoch_[market] = epoch_;
  jump_count_[market] = 0;
}

void LiveFeed::check_gap(const Trade& t, std::uint64_t first_missing_id, std::int64_t receive_ts_ns, EventBuffer& out) {
  const MarketInfo& info = registry_.info(t.market);  // this thread's parser added it: its metadata is ours to read
  TradeGap gap;
  gap.venue = config_.venue;
  gap.market = t.market;
  const VenueProtocol& protocol = venue_protocol(config_.venue);
  gap.symbol = protocol.rest_symbol ? protocol.rest_symbol(info.pair) : info.pair;
  if (id_gaps_ && first_missing_id != 0) {
    gap.first_missing_id = first_missing_id;
    gap.last_missing_id = t.trade_id - 1;
  }
  gap.after_exchange_ns = last_exchange_ns_[t.market];
  gap.before_exchange_ns = t.exchange_ts_ns;
  gap.connection = config_.connection;
  gap.aggregate_ids = aggregate_ids_;
  gap.kind = info.kind;
  gap.contract_size = info.contract_size;
  report_gap(std::move(gap), receive_ts_ns, out);
}

void LiveFeed::report_gap(TradeGap gap, std::int64_t receive_ts_ns, EventBuffer& out) {
  // watermark_ns: the exchange time of the trade that revealed the gap
  // (the bar builder holds that second open until the backfill is done).
  out.push(FeedStatus{.watermark_ns = gap.before_exchange_ns,
                      .receive_ts_ns = receive_ts_ns,
                      .gap_first_id = gap.first_missing_id,
                      .gap_last_id = gap.last_missing_id,
                      .market = gap.market,
                      .connection = gap.connection,
                      .kind = FeedStatusKind::kGap});
  counters_.gaps.fetch_add(1, std::memory_order_relaxed);
  std::string line = std::string(to_string(config_.venue)) + ": gap on " + registry_.info(gap.market).name;
  if (gap.is_time_gap()) {
    line += ": reconnected, trades between exchange times " + std::to_string(gap.after_exchange_ns) + " and " +
            std::to_string(gap.before_exchange_ns) + " ns may be missing";
  } else {
    const std::uint64_t missing = gap.last_missing_id - gap.first_missing_id + 1;
    counters_.gap_trades.fetch_add(missing, std::memory_order_relaxed);
    line += ": ids " + std::to_string(gap.first_missing_id) + ".." + std::to_string(gap.last_missing_id) +
            " missing (" + std::to_string(missing) + " trades)";
  }
  log(std::move(line));
  if (gap_handler_) gap_handler_(gap);
}

void LiveFeed::on_close(WsCloseReason reason, const std::string& detail) {
  if (reason == WsCloseReason::kStopped && stopping_) {
    log(std::string(to_string(config_.venue)) + ": stopped");
    return;
  }
  counters_.disconnects.fetch_add(1, std::memory_order_relaxed);
  counters_.by_reason[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  // The detail may quote the server's close reason: network text, escaped.
  last_disconnect_ = std::string(to_string(reason)) + (detail.empty() ? "" : ": " + escape_log_text(detail, 200));
  failures_ = opened_ ? 0 : failures_ + 1;
  opened_ = false;
  events_.clear();
  events_.push(
      FeedStatus{.receive_ts_ns = realtime_ns(),
                 .market = kInvalidMarket,
                 .connection = config_.connection,
                 .kind = reason == WsCloseReason::kStale ? FeedStatusKind::kStale : FeedStatusKind::kDisconnected});
  if (on_events_) on_events_(events_);
  if (stopping_ || !running_) return;
  const auto delay = next_backoff(failures_);
  log(std::string(to_string(config_.venue)) + ": disconnected (" + last_disconnect_ + "), reconnecting in " +
      std::to_string(delay.count()) + " ms");
  counters_.connect_attempts.fetch_add(1, std::memory_order_relaxed);
  open_after(delay);
}

}  // namespace tickflow
