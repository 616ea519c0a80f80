#include "feeds/backfill.h"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "feeds/rest_trades.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

// How a venue's history is walked through a gap.
enum class Paging : std::uint8_t {
  kFromId,    // ascending from an id (Binance family: fromId)
  kBeforeId,  // descending, older than a cursor id (OKX type=1, Coinbase `after`); OKX time gaps by ms
  kTimeDesc,  // a time window [lo, hi], newest first: the next page ends at the oldest time seen
  kTimeAsc,   // a time window, oldest first: the next page starts at the newest time seen
  kRecent,    // the last N trades, no paging (Bybit, KuCoin, HTX, MEXC, Poloniex, Bitstamp)
};

// How the window's bounds are written in the URL.
enum class TimeParam : std::uint8_t { kMs, kSeconds, kNs, kIso };

// How one venue serves its trade history.
struct VenueApi {
  std::string_view base;  // default base URL
  std::string_view path;  // up to the query
  RestTradesFormat format;
  std::size_t limit;  // trades per page the venue allows
  Paging paging = Paging::kRecent;
  TimeParam time_param = TimeParam::kMs;
  // The window has a lower bound in the URL (a short page then means the
  // window is exhausted, not the venue's history).
  bool lower_bound = true;
  // Granularity of the times the venue returns, when coarser than the live
  // feed's (Bitstamp REST: seconds; live: microseconds). A trade is inside a
  // time gap only if its whole granule is.
  std::int64_t time_granule_ns = 1;
};

bool binance_family(Venue v) noexcept {
  return v == Venue::kBinanceSpot || v == Venue::kBinanceUsdm || v == Venue::kBinanceCoinm || v == Venue::kBinanceUs ||
         v == Venue::kAster;
}

VenueApi api_for(const TradeGap& gap) {
  const bool agg = gap.aggregate_ids;
  using F = RestTradesFormat;
  auto binance = [&](std::string_view base, std::string_view agg_path, std::string_view trades_path,
                     std::size_t trades_limit) {
    return agg ? VenueApi{base, agg_path, F::kBinanceAggTrades, 1000, Paging::kFromId}
               : VenueApi{base, trades_path, F::kBinanceTrades, trades_limit, Paging::kFromId};
  };
  switch (gap.venue) {
    case Venue::kBinanceSpot:
      return binance("https://api.binance.com", "/api/v3/aggTrades", "/api/v3/historicalTrades", 1000);
    case Venue::kBinanceUsdm:
      return binance("https://fapi.binance.com", "/fapi/v1/aggTrades", "/fapi/v1/historicalTrades", 500);
    case Venue::kBinanceCoinm:
      return binance("https://dapi.binance.com", "/dapi/v1/aggTrades", "/dapi/v1/historicalTrades", 500);
    case Venue::kBinanceUs:
      return binance("https://api.binance.us", "/api/v3/aggTrades", "/api/v3/historicalTrades", 1000);
    case Venue::kAster:
      return binance("https://fapi.asterdex.com", "/fapi/v1/aggTrades", "/fapi/v1/historicalTrades", 500);
    case Venue::kBybitSpot: return {"https://api.bybit.com", "/v5/market/recent-trade", F::kBybit, 60};
    case Venue::kBybitLinear:
    case Venue::kBybitInverse: return {"https://api.bybit.com", "/v5/market/recent-trade", F::kBybit, 1000};
    case Venue::kOkx: return {"https://www.okx.com", "/api/v5/market/history-trades", F::kOkx, 100, Paging::kBeforeId};
    case Venue::kCoinbase: return {"https://api.exchange.coinbase.com", "", F::kCoinbase, 1000, Paging::kBeforeId};
    case Venue::kBitgetSpot:
      return {"https://api.bitget.com", "/api/v2/spot/market/fills-history", F::kBitget, 1000, Paging::kTimeDesc};
    case Venue::kBitgetFutures:
      return {"https://api.bitget.com", "/api/v2/mix/market/fills-history", F::kBitget, 1000, Paging::kTimeDesc};
    case Venue::kGateioSpot:
      return {"https://api.gateio.ws", "/api/v4/spot/trades", F::kGateioSpot, 1000,
              Paging::kTimeDesc,       TimeParam::kSeconds};
    case Venue::kGateioFutures:
      return {"https://api.gateio.ws", "/api/v4/futures/usdt/trades", F::kGateioFutures, 1000, Paging::kTimeDesc,
              TimeParam::kSeconds};
    case Venue::kKucoinSpot: return {"https://api.kucoin.com", "/api/v1/market/histories", F::kKucoinSpot, 100};
    case Venue::kKucoinFutures:
      return {"https://api-futures.kucoin.com", "/api/v1/trade/history", F::kKucoinFutures, 100};
    case Venue::kHtxSpot: return {"https://api.huobi.pro", "/market/history/trade", F::kHtx, 2000};
    case Venue::kHtxSwap:
    case Venue::kHtxLinearSwap:
      return {"https://api.hbdm.com",
              gap.symbol.ends_with("-USD") ? "/swap-ex/market/history/trade" : "/linear-swap-ex/market/history/trade",
              F::kHtx, 2000};
    case Venue::kKraken:
      return {"https://api.kraken.com", "/0/public/Trades", F::kKraken, 1000, Paging::kTimeAsc, TimeParam::kNs, false};
    case Venue::kKrakenFutures:
      return {"https://futures.kraken.com",
              "/derivatives/api/v3/history",
              F::kKrakenFutures,
              100,
              Paging::kTimeDesc,
              TimeParam::kIso,
              false};
    case Venue::kBitmex:
      return {"https://www.bitmex.com", "/api/v1/trade", F::kBitmex, 1000, Paging::kTimeAsc, TimeParam::kIso};
    case Venue::kDeribit:
      return {"https://www.deribit.com", "/api/v2/public/get_last_trades_by_instrument_and_time", F::kDeribit, 1000,
              Paging::kTimeAsc};
    case Venue::kBitfinex:
      return {"https://api-pub.bitfinex.com", "/v2/trades/", F::kBitfinex, 10000, Paging::kTimeAsc};
    case Venue::kBitstamp:
      return {"https://www.bitstamp.net",
              "/api/v2/transactions/",
              F::kBitstamp,
              0,
              Paging::kRecent,
              TimeParam::kMs,
              true,
              1'000'000'000};
    case Venue::kDydx:
      return {"https://indexer.dydx.trade",
              "/v4/trades/perpetualMarket/",
              F::kDydx,
              100,
              Paging::kTimeDesc,
              TimeParam::kIso,
              false};
    case Venue::kCryptoCom:
      return {"https://api.crypto.com", "/exchange/v1/public/get-trades", F::kCryptoCom, 150, Paging::kTimeDesc};
    case Venue::kHitbtc:
      return {"https://api.hitbtc.com", "/api/3/public/trades/", F::kHitbtc, 1000, Paging::kTimeAsc, TimeParam::kIso};
    case Venue::kPoloniex: return {"https://api.poloniex.com", "/markets/", F::kPoloniex, 1000};
    case Venue::kPhemex: {
      // Perpetuals settled in USDT (BTCUSDT, trade_p) on v2; contracts (BTCUSD) and spot (sBTCUSDT) on v1.
      const bool perp = !gap.symbol.empty() && gap.symbol[0] != 's' && gap.symbol.ends_with("USDT");
      return {"https://api.phemex.com", perp ? "/md/v2/trade" : "/md/trade", F::kPhemex, 1000};
    }
    case Venue::kMexcSpot: return {"https://api.mexc.com", "/api/v3/trades", F::kMexcSpot, 1000};
    case Venue::kMexcFutures: return {"https://contract.mexc.com", "/api/v1/contract/deals/", F::kMexcFutures, 100};
    default: break;  // Hyperliquid, BitMart, Bitunix: none wired (feeds/README.md)
  }
  return {};
}

std::string iso8601_ms(std::int64_t ms) {
  const std::int64_t days = ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000;
  std::int64_t rest = ms - days * 86'400'000;
  // civil_from_days (Howard Hinnant's algorithm).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  const auto h = rest / 3'600'000;
  rest %= 3'600'000;
  const auto mi = rest / 60'000;
  rest %= 60'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(y), m, d, static_cast<int>(h),
                static_cast<int>(mi), static_cast<int>(rest / 1000), static_cast<int>(rest % 1000));
  return buf;
}

// A window bound (ns) as the venue writes it: `end` rounds up one unit, so
// a venue whose upper bound is exclusive still returns the bound's unit.
std::string time_param(TimeParam unit, std::int64_t ns, bool end) {
  switch (unit) {
    case TimeParam::kMs: return std::to_string(ns / kNsPerMs + (end ? 1 : 0));
    case TimeParam::kSeconds: return std::to_string(ns / 1'000'000'000 + (end ? 1 : 0));
    case TimeParam::kNs: return std::to_string(ns + (end ? 1 : 0));
    case TimeParam::kIso: return iso8601_ms(ns / kNsPerMs + (end ? 1 : 0));
  }
  return {};
}

// The URL of one page of a windowed (kTimeDesc/kTimeAsc) or recent venue.
std::string window_url(const TradeGap& gap, const VenueApi& api, const std::string& base, std::int64_t lo_ns,
                       std::int64_t hi_ns) {
  const std::string& s = gap.symbol;
  const std::string limit = std::to_string(api.limit);
  const std::string lo = time_param(api.time_param, lo_ns, false);
  const std::string hi = time_param(api.time_param, hi_ns, true);
  std::string url = base + std::string(api.path);
  switch (gap.venue) {
    case Venue::kBitgetSpot: return url + "?symbol=" + s + "&limit=" + limit + "&startTime=" + lo + "&endTime=" + hi;
    case Venue::kBitgetFutures: {
      const char* product = s.ends_with("USDT")   ? "USDT-FUTURES"
                            : s.ends_with("USDC") ? "USDC-FUTURES"
                                                  : "COIN-FUTURES";
      return url + "?symbol=" + s + "&productType=" + product + "&limit=" + limit + "&startTime=" + lo +
             "&endTime=" + hi;
    }
    case Venue::kGateioSpot: return url + "?currency_pair=" + s + "&limit=" + limit + "&from=" + lo + "&to=" + hi;
    case Venue::kGateioFutures: return url + "?contract=" + s + "&limit=" + limit + "&from=" + lo + "&to=" + hi;
    case Venue::kKucoinSpot:
    case Venue::kKucoinFutures: return url + "?symbol=" + s;
    case Venue::kHtxSpot: return url + "?symbol=" + s + "&size=" + limit;
    case Venue::kHtxSwap:
    case Venue::kHtxLinearSwap: return url + "?contract_code=" + s + "&size=" + limit;
    case Venue::kKraken: return url + "?pair=" + s + "&since=" + lo + "&count=" + limit;
    case Venue::kKrakenFutures: return url + "?symbol=" + s + "&lastTime=" + hi;
    case Venue::kBitmex:
      return url + "?symbol=" + s + "&count=" + limit + "&reverse=false&startTime=" + lo + "&endTime=" + hi;
    case Venue::kDeribit:
      return url + "?instrument_name=" + s + "&start_timestamp=" + lo + "&end_timestamp=" + hi + "&count=" + limit +
             "&sorting=asc";
    case Venue::kBitfinex: {
      // Perpetual pairs lose their colon in market names (BTCF0USTF0, see
      // bitfinex_parser.cc); the REST symbol needs it back: tBTCF0:USTF0.
      std::string sym = s;
      const auto f0 = sym.find("F0");
      if (sym.find(':') == std::string::npos && f0 != std::string::npos && f0 + 2 < sym.size()) sym.insert(f0 + 2, ":");
      return url + sym + "/hist?start=" + lo + "&end=" + hi + "&limit=" + limit + "&sort=1";
    }
    case Venue::kBitstamp: return url + s + "/?time=hour";
    case Venue::kDydx: return url + s + "?limit=" + limit + "&createdBeforeOrAt=" + hi;
    case Venue::kCryptoCom:
      return url + "?instrument_name=" + s + "&count=" + limit + "&start_ts=" + lo + "&end_ts=" + hi;
    case Venue::kHitbtc: return url + s + "?by=timestamp&sort=ASC&limit=" + limit + "&from=" + lo + "&till=" + hi;
    case Venue::kPoloniex: return url + s + "/trades?limit=" + limit;
    case Venue::kPhemex: return url + "?symbol=" + s;
    case Venue::kMexcSpot: return url + "?symbol=" + s + "&limit=" + limit;
    case Venue::kMexcFutures: return url + s + "?limit=" + limit;
    default: break;
  }
  return url;
}

// Symbols come from our own registry, but a URL must not be bent by one.
// ':' appears in Bitfinex pairs (tBTCF0:USTF0).
bool url_safe(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

std::int64_t realtime_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

}  // namespace

// The worker thread's libcurl easy handle: made on that thread, reused for
// every request so keep-alive connections and TLS sessions carry over.
struct BackfillWorker::Http {
  struct Response {
    long status = 0;
    std::string body;
    std::string error;  // transport error, empty if an HTTP status arrived
  };

  explicit Http(const BackfillConfig& config) : config_(config) {
    curl_init_once();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
    if (!config.binance_api_key.empty())
      headers_ = curl_slist_append(headers_, ("X-MBX-APIKEY: " + config.binance_api_key).c_str());
  }
  ~Http() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  void get(const std::string& url, bool binance, Response& r) {
    r = {};
    curl_easy_reset(curl_);  // keeps the connection cache
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!config_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, config_.ca_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "tickflow-backfill/1");  // Coinbase refuses requests without one
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "");
    if (binance && headers_ != nullptr) curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Http::on_body);
    body_ = &r.body;
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    const CURLcode rc = curl_easy_perform(curl_);
    body_ = nullptr;
    if (rc != CURLE_OK) {
      r.error = curl_easy_strerror(rc);
      if (rc == CURLE_WRITE_ERROR) r.error = "body above " + std::to_string(config_.max_body_bytes) + " bytes";
      return;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self_ptr) {
    auto* self = static_cast<Http*>(self_ptr);
    if (self->body_->size() + size * n > self->config_.max_body_bytes) return 0;  // aborts: CURLE_WRITE_ERROR
    self->body_->append(data, size * n);
    return size * n;
  }

  const BackfillConfig& config_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string* body_ = nullptr;
};

BackfillWorker::BackfillWorker(MarketRegistry& registry, BackfillConfig config, EventsHandler on_events,
                               LogHandler on_log)
    : registry_(registry), config_(std::move(config)), on_events_(std::move(on_events)), on_log_(std::move(on_log)) {
  config_.max_attempts = std::max(1, config_.max_attempts);
  config_.max_pages = std::max<std::size_t>(1, config_.max_pages);
}

BackfillWorker::~BackfillWorker() { stop(); }

void BackfillWorker::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopped_ = false;
  }
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
}

void BackfillWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    stopping_.store(true);
    counters_.dropped_requests.fetch_add(queue_.size(), std::memory_order_relaxed);
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool BackfillWorker::request(const TradeGap& gap) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || queue_.size() >= config_.queue_capacity) {
      counters_.dropped_requests.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(gap);
    counters_.requests.fetch_add(1, std::memory_order_relaxed);
  }
  wake_.notify_one();
  return true;
}

std::size_t BackfillWorker::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + (in_flight_ ? 1 : 0);
}

void BackfillWorker::log(std::string line) {
  if (on_log_) on_log_(line);
}

void BackfillWorker::run() {
  pthread_setname_np(pthread_self(), "tf-backfill");
  std::unique_ptr<Http> http;
  try {
    http = std::make_unique<Http>(config_);
  } catch (const std::exception& e) {
    log(std::string("backfill: no HTTP client: ") + e.what());
  }
  for (;;) {
    TradeGap gap;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_.load() || !queue_.empty(); });
      if (stopping_.load()) return;
      gap = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;
    }
    bool covered = false;
    if (http) {
      covered = process(*http, gap);
    } else {
      counters_.failed_requests.fetch_add(1, std::memory_order_relaxed);
    }
    // The gap is settled, healed or not: after its trades, in the same
    // channel, so the aggregator releases the market's held seconds with
    // every backfilled trade already in them.
    if (on_events_) {
      EventBuffer done;
      done.push(FeedStatus{.receive_ts_ns = realtime_now_ns(),
                           .gap_first_id = gap.first_missing_id,
                           .gap_last_id = gap.last_missing_id,
                           .market = gap.market,
                           .connection = gap.connection,
                           .kind = FeedStatusKind::kBackfilled,
                           .detail = static_cast<std::uint8_t>(covered ? 1 : 0)});
      on_events_(done);
    }
    std::lock_guard lock(mutex_);
    in_flight_ = false;
  }
}

bool BackfillWorker::process(Http& http, const TradeGap& gap) {
  const std::string what =
      std::string(to_string(gap.venue)) + " " + gap.symbol +
      (gap.is_time_gap()
           ? " times " + std::to_string(gap.after_exchange_ns) + ".." + std::to_string(gap.before_exchange_ns)
           : " ids " + std::to_string(gap.first_missing_id) + ".." + std::to_string(gap.last_missing_id));
  auto give_up = [&](const std::string& why) {
    counters_.failed_requests.fetch_add(1, std::memory_order_relaxed);
    log("backfill: " + what + " failed: " + why);
    return false;
  };

  // Contract terms: the feed copied them; else the registry's (set from
  // config before the feeds started, or the worker could race their writer).
  ResolvedMarket market{gap.market, gap.kind, gap.contract_size};
  if (market.kind == InstrumentKind::kUnknown && gap.market < registry_.size()) {
    const MarketInfo& info = registry_.info(gap.market);
    market.kind = info.kind;
    market.contract_size = info.contract_size;
  }
  if (gap.market == kInvalidMarket || !url_safe(gap.symbol)) return give_up("no market or bad symbol");
  if (!gap.is_time_gap() && gap.first_missing_id > gap.last_missing_id) return give_up("empty id range");

  const VenueApi api = api_for(gap);
  if (api.base.empty()) return give_up("no REST backfill for this venue");
  const bool binance = binance_family(gap.venue);
  const bool bybit =
      gap.venue == Venue::kBybitSpot || gap.venue == Venue::kBybitLinear || gap.venue == Venue::kBybitInverse;
  const bool windowed = api.paging == Paging::kTimeDesc || api.paging == Paging::kTimeAsc;
  if (gap.is_time_gap() && (binance || gap.venue == Venue::kCoinbase))
    return give_up("time gaps are not supported for this venue");
  if (!gap.is_time_gap() && bybit) return give_up("Bybit ids are hashed: only time gaps");
  if (!gap.is_time_gap() && windowed) return give_up("this venue's history is paged by time: only time gaps");
  const auto base_it = config_.base_url.find(gap.venue);
  const std::string base = base_it != config_.base_url.end() ? base_it->second : std::string(api.base);

  const std::int64_t after_ms = gap.after_exchange_ns / kNsPerMs;
  // Ascending (Binance: fromId) or descending (OKX, Coinbase: older than
  // the cursor) through the gap.
  std::uint64_t cursor = 0;
  if (binance)
    cursor = gap.first_missing_id;
  else if (gap.venue == Venue::kOkx)
    cursor =
        gap.is_time_gap() ? static_cast<std::uint64_t>(gap.before_exchange_ns / kNsPerMs) + 1 : gap.last_missing_id + 1;
  else if (gap.venue == Venue::kCoinbase)
    cursor = gap.last_missing_id + 1;
  // Windowed venues: the window still to read, [lo, hi] in ns.
  std::int64_t lo_ns = gap.after_exchange_ns;
  std::int64_t hi_ns = gap.before_exchange_ns;

  // A venue whose times are coarser than the live feed's (Bitstamp REST:
  // whole seconds): a trade is inside only if its whole granule is, so one
  // that may share the bound trades' instant is not counted twice.
  const std::int64_t granule = std::max<std::int64_t>(api.time_granule_ns, 1);
  auto inside = [&](const Trade& t) {
    if (gap.is_time_gap())
      return t.exchange_ts_ns > gap.after_exchange_ns && t.exchange_ts_ns + granule <= gap.before_exchange_ns;
    return t.trade_id >= gap.first_missing_id && t.trade_id <= gap.last_missing_id;
  };

  std::vector<Trade> found;
  std::vector<Trade> page;
  std::unordered_set<std::uint64_t> seen;
  bool covered = false;
  Http::Response response;
  for (std::size_t p = 0; p < config_.max_pages && !covered; ++p) {
    std::string url = base + std::string(api.path);
    const std::string limit = std::to_string(api.limit);
    if (binance) {
      url += "?symbol=" + gap.symbol + "&fromId=" + std::to_string(cursor) + "&limit=" + limit;
    } else if (bybit) {
      const char* category = gap.venue == Venue::kBybitSpot     ? "spot"
                             : gap.venue == Venue::kBybitLinear ? "linear"
                                                                : "inverse";
      url += std::string("?category=") + category + "&symbol=" + gap.symbol + "&limit=" + limit;
    } else if (gap.venue == Venue::kOkx) {
      url += "?instId=" + gap.symbol + "&type=" + (gap.is_time_gap() ? "2" : "1") + "&after=" + std::to_string(cursor) +
             "&limit=" + limit;
    } else if (gap.venue == Venue::kCoinbase) {
      url += "/products/" + gap.symbol + "/trades?limit=" + limit + "&after=" + std::to_string(cursor);
    } else {
      url = window_url(gap, api, base, lo_ns, hi_ns);
    }

    // One page, with retries for what a venue means as "later".
    bool got = false;
    auto backoff = config_.retry_backoff;
    std::string last_error;
    for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
      if (stopping_.load()) return give_up("stopped");
      counters_.http_requests.fetch_add(1, std::memory_order_relaxed);
      http.get(
          url,
          gap.venue == Venue::kBinanceSpot || gap.venue == Venue::kBinanceUsdm || gap.venue == Venue::kBinanceCoinm,
          response);
      const long s = response.status;
      if (response.error.empty() && s == 200) {
        got = true;
        break;
      }
      const bool retry = !response.error.empty() || s == 429 || s == 418 || s >= 500;
      last_error =
          !response.error.empty() ? response.error : "HTTP " + std::to_string(s) + " " + response.body.substr(0, 200);
      if (!retry) return give_up(last_error + " (" + url + ")");
      if (attempt < config_.max_attempts) {
        log("backfill: " + what + ": " + last_error + ", retrying in " + std::to_string(backoff.count()) + " ms");
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, backoff, [&] { return stopping_.load(); });
        backoff *= 2;
      }
    }
    if (!got) return give_up(last_error + " after " + std::to_string(config_.max_attempts) + " attempts (" + url + ")");

    page.clear();
    const RestTradesResult parsed =
        parse_rest_trades(api.format, response.body, market, realtime_now_ns(), page, gap.symbol);
    if (!parsed.ok) {
      counters_.malformed_responses.fetch_add(1, std::memory_order_relaxed);
      return give_up("malformed response: " + parsed.error + " (" + url + ")");
    }
    counters_.pages.fetch_add(1, std::memory_order_relaxed);
    if (page.empty()) {
      // Nothing further this way; a bounded window with nothing left in it
      // is the gap read to its end.
      covered = windowed && api.lower_bound;
      break;
    }
    std::uint64_t outside = 0;
    std::uint64_t min_id = UINT64_MAX, max_id = 0;
    std::int64_t min_ts = INT64_MAX, max_ts = INT64_MIN;
    for (const Trade& t : page) {
      min_id = std::min(min_id, t.trade_id);
      max_id = std::max(max_id, t.trade_id);
      min_ts = std::min(min_ts, t.exchange_ts_ns);
      max_ts = std::max(max_ts, t.exchange_ts_ns);
      if (inside(t) && seen.insert(t.trade_id).second)
        found.push_back(t);
      else
        ++outside;
    }
    counters_.trades_outside_range.fetch_add(outside, std::memory_order_relaxed);

    // Advance, or stop when the gap is covered or no progress is possible.
    if (api.paging == Paging::kRecent) {
      // One window, no paging: covered only if it reaches back past the gap.
      covered = gap.is_time_gap() ? min_ts <= gap.after_exchange_ns : min_id <= gap.first_missing_id;
      break;
    }
    if (api.paging == Paging::kTimeDesc) {
      // Newest first: every trade in (oldest seen, hi] has been returned; the
      // next page ends at the oldest time seen, inclusive (ids de-duplicate
      // the overlap). A short page read the window to its lower bound.
      covered = min_ts <= gap.after_exchange_ns || (api.lower_bound && page.size() < api.limit);
      // No progress when one unit of the URL's time fills whole pages.
      if (min_ts >= hi_ns || time_param(api.time_param, min_ts, true) == time_param(api.time_param, hi_ns, true)) break;
      hi_ns = min_ts;
      continue;
    }
    if (api.paging == Paging::kTimeAsc) {
      covered = max_ts >= gap.before_exchange_ns || page.size() < api.limit;
      if (max_ts <= lo_ns || time_param(api.time_param, max_ts, false) == time_param(api.time_param, lo_ns, false))
        break;  // one unit of the URL's time fills whole pages: no progress possible
      lo_ns = max_ts;
      continue;
    }
    if (binance) {
      covered = max_id >= gap.last_missing_id;
      if (max_id < cursor) break;
      cursor = max_id + 1;
    } else if (gap.venue == Venue::kOkx && gap.is_time_gap()) {
      covered = min_ts / kNsPerMs <= after_ms;
      // The next page ends at the oldest millisecond seen, inclusive
      // (ids de-duplicate the overlap).
      const std::uint64_t next = static_cast<std::uint64_t>(min_ts / kNsPerMs) + 1;
      if (next >= cursor) break;
      cursor = next;
    } else {
      covered = min_id <= gap.first_missing_id;
      if (min_id >= cursor) break;
      cursor = min_id;
    }
  }

  std::sort(found.begin(), found.end(), [](const Trade& a, const Trade& b) {
    return a.exchange_ts_ns != b.exchange_ts_ns ? a.exchange_ts_ns < b.exchange_ts_ns : a.trade_id < b.trade_id;
  });
  EventBuffer out;
  for (std::size_t i = 0; i < found.size();) {
    out.clear();
    for (; i < found.size() && out.push(found[i]); ++i) {
    }
    if (on_events_) on_events_(out);
  }
  counters_.trades_delivered.fetch_add(found.size(), std::memory_order_relaxed);
  counters_.completed.fetch_add(1, std::memory_order_relaxed);
  if (!covered) counters_.partial.fetch_add(1, std::memory_order_relaxed);
  std::string line = "backfill: " + what + ": " + std::to_string(found.size()) + " trades delivered";
  if (!gap.is_time_gap()) line += " of " + std::to_string(gap.last_missing_id - gap.first_missing_id + 1) + " missing";
  if (!covered) line += " (partial: the venue's history or the page limit ended first)";
  log(std::move(line));
  return covered;
}

}  // namespace tickflow
