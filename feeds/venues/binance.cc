// feeds/venues/binance.cc
//
// Binance spot, USD-M and COIN-M futures. Combined streams in the URL
// (/stream?streams=btcusdt@trade/btcusdt@forceOrder): nothing to send after
// the handshake, so nothing to pace; at most 1024 streams per connection
// (exchanges.md). Binance pings us every 3 minutes (Beast answers control
// pings); we ping every 30 s so that a dead TCP path is found early.
//
// Liquidations: futures subscribe <symbol>@forceOrder per configured symbol
// (not the market-wide !forceOrder@arr): the exchange filters for us. Spot
// has none. Ids: "trade" ids are consecutive per symbol, so are "aggTrade"
// ids; both on one connection make two sequences on one market and no gap
// can be told.
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kMaxStreams = 1024;  // per connection (exchanges.md)

std::vector<std::string> spot_channels(bool) { return {"trade"}; }
std::vector<std::string> futures_channels(bool liquidations) {
  if (liquidations) return {"trade", "forceOrder"};
  return {"trade"};
}

void plan_combined(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan,
                   const char* host, std::uint16_t port, const char* parser) {
  plan.host = host;
  plan.port = port;
  plan.parser_name = parser;
  if (config.symbols.size() * channels.size() > kMaxStreams)
    throw std::invalid_argument("more than 1024 Binance streams on one connection");
  std::string target = (config.path.empty() ? std::string("/stream") : config.path) + "?streams=";
  bool first = true;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) {
      if (!first) target += '/';
      first = false;
      target += lower_ascii(json_safe(symbol)) + "@" + json_safe(channel);
    }
  plan.target = std::move(target);
  plan.ping_interval = std::chrono::milliseconds{30'000};  // websocket pings; Binance also pings us
}

void plan_spot(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_combined(c, ch, p, "stream.binance.com", 9443, "BINANCE");
}
void plan_usdm(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_combined(c, ch, p, "fstream.binance.com", 443, "BINANCE_FUTURES");
}
void plan_coinm(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_combined(c, ch, p, "dstream.binance.com", 443, "BINANCE_FUTURES");
}

// COIN-M symbols carry a settlement suffix (btcusd_perp, btcusd_240927).
bool is_coinm(std::string_view symbol) { return symbol.find('_') != std::string_view::npos; }
bool is_usdm(std::string_view symbol) { return !is_coinm(symbol); }

std::string market_pair(const std::string& symbol) { return lower_ascii(symbol); }
std::string rest_symbol(const std::string& pair) { return upper_ascii(pair); }

GapDetection gaps(const std::vector<std::string>& channels) {
  const bool trade = channels.empty() || contains(channels, "trade");
  const bool agg = contains(channels, "aggTrade");
  return trade != agg ? GapDetection::kIds : GapDetection::kNone;
}

}  // namespace

const VenueProtocol kBinanceSpot{.venue = Venue::kBinanceSpot,
                                 .name = "binance-spot",
                                 .exchange = "BINANCE",
                                 .parser = "BINANCE",
                                 .default_channels = &spot_channels,
                                 .plan = &plan_spot,
                                 .market_pair = &market_pair,
                                 .rest_symbol = &rest_symbol,
                                 .gaps = &gaps,
                                 .max_topics = kMaxStreams};
const VenueProtocol kBinanceUsdm{.venue = Venue::kBinanceUsdm,
                                 .name = "binance-usdm",
                                 .exchange = "BINANCE_FUTURES",
                                 .parser = "BINANCE_FUTURES",
                                 .carries = &is_usdm,
                                 .default_channels = &futures_channels,
                                 .plan = &plan_usdm,
                                 .market_pair = &market_pair,
                                 .rest_symbol = &rest_symbol,
                                 .gaps = &gaps,
                                 .max_topics = kMaxStreams};
const VenueProtocol kBinanceCoinm{.venue = Venue::kBinanceCoinm,
                                  .name = "binance-coinm",
                                  .exchange = "BINANCE_FUTURES",
                                  .parser = "BINANCE_FUTURES",
                                  .carries = &is_coinm,
                                  .default_channels = &futures_channels,
                                  .plan = &plan_coinm,
                                  .market_pair = &market_pair,
                                  .rest_symbol = &rest_symbol,
                                  .gaps = &gaps,
                                  .max_topics = kMaxStreams};

}  // namespace tickflow::venues
