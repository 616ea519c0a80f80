// feeds/venues/binance_us.cc
//
// Binance US spot ([markets] BINANCE_US: "btcusd"; markets
// BINANCE_US:btcusd, lower case as aggr-server): Binance's spot protocol at
// wss://stream.binance.us:9443, read by the Binance parser under the id
// BINANCE_US. Streams go in the URL (/stream?streams=btcusd@trade/..), so
// nothing is sent after the handshake and Binance US's limit of about 5
// messages per second (why aggr-server, which subscribes by message, sleeps
// 250 ms after each) never applies. At most 1024 streams per connection.
//
// Keepalive: the server pings every 3 minutes (Beast answers control
// pings); we send websocket pings every 30 s to find a dead path early.
//
// Liquidations: none (spot). Ids: "trade" ids are consecutive per symbol
// (gaps by id, backfilled from api.binance.us, feeds/backfill.cc).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kMaxStreams = 1024;

std::vector<std::string> trade_channel(bool) { return {"trade"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "stream.binance.us";
  plan.port = 9443;
  plan.parser_name = "BINANCE_US";
  if (config.symbols.size() * channels.size() > kMaxStreams)
    throw std::invalid_argument("more than 1024 Binance US streams on one connection");
  std::string target = (config.path.empty() ? std::string("/stream") : config.path) + "?streams=";
  bool first = true;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) {
      target += first ? "" : "/";
      first = false;
      target += lower_ascii(json_safe(symbol)) + "@" + json_safe(channel);
    }
  if (first) throw std::invalid_argument("Binance US: nothing to subscribe");
  plan.target = std::move(target);
  plan.ping_interval = std::chrono::milliseconds{30'000};
}

std::string market_pair(const std::string& symbol) { return lower_ascii(symbol); }
std::string rest_symbol(const std::string& pair) { return upper_ascii(pair); }

GapDetection gaps(const std::vector<std::string>& channels) {
  const bool trade = channels.empty() || contains(channels, "trade");
  const bool agg = contains(channels, "aggTrade");
  return trade != agg ? GapDetection::kIds : GapDetection::kNone;
}

}  // namespace

const VenueProtocol kBinanceUs{.venue = Venue::kBinanceUs,
                               .name = "binance-us",
                               .exchange = "BINANCE_US",
                               .parser = "BINANCE_US",
                               .default_channels = &trade_channel,
                               .plan = &plan,
                               .market_pair = &market_pair,
                               .rest_symbol = &rest_symbol,
                               .gaps = &gaps,
                               .max_topics = kMaxStreams};

}  // namespace tickflow::venues
