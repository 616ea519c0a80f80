// feeds/venues/aster.cc
//
// Aster perpetuals ([markets] ASTER: "btcusdt" or "BTCUSDT"; markets
// ASTER:BTCUSDT, upper case as aggr-server): a Binance USD-M clone at
// wss://fstream.asterdex.com, read by the Binance parser under the id ASTER
// (USDT-margined only: quantities are base).
//
// Streams go in the URL (/stream?streams=btcusdt@aggTrade/btcusdt@forceOrder):
// nothing is sent after the handshake, so Aster's limit of about 5 messages
// per second (aggr-server sleeps 250 ms per connection after each SUBSCRIBE)
// never applies. At most 1024 streams per connection, as Binance. Trades come
// from <symbol>@aggTrade, the stream aggr-server follows.
//
// Liquidations: <symbol>@forceOrder per configured symbol (as Binance
// USD-M), on by default; the parser flags them (side = the liquidation
// order's side, price = its average fill price).
//
// Keepalive: websocket pings every 30 s (Aster, like Binance, also pings).
// Ids: aggTrade ids are consecutive per symbol (gaps by id, backfilled from
// fapi.asterdex.com /fapi/v1/aggTrades, feeds/backfill.cc).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kMaxStreams = 1024;

std::vector<std::string> default_channels(bool liquidations) {
  if (liquidations) return {"aggTrade", "forceOrder"};
  return {"aggTrade"};
}

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "fstream.asterdex.com";
  plan.port = 443;
  plan.parser_name = "ASTER";
  if (config.symbols.size() * channels.size() > kMaxStreams)
    throw std::invalid_argument("more than 1024 Aster streams on one connection");
  std::string target = (config.path.empty() ? std::string("/stream") : config.path) + "?streams=";
  bool first = true;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) {
      target += first ? "" : "/";
      first = false;
      target += lower_ascii(json_safe(symbol)) + "@" + json_safe(channel);
    }
  if (first) throw std::invalid_argument("Aster: nothing to subscribe");
  plan.target = std::move(target);
  plan.ping_interval = std::chrono::milliseconds{30'000};
}

std::string market_pair(const std::string& symbol) { return upper_ascii(symbol); }
std::string rest_symbol(const std::string& pair) { return upper_ascii(pair); }

GapDetection gaps(const std::vector<std::string>& channels) {
  const bool trade = contains(channels, "trade");
  const bool agg = channels.empty() || contains(channels, "aggTrade");
  return trade != agg ? GapDetection::kIds : GapDetection::kNone;
}

}  // namespace

const VenueProtocol kAster{.venue = Venue::kAster,
                           .name = "aster",
                           .exchange = "ASTER",
                           .parser = "ASTER",
                           .default_channels = &default_channels,
                           .plan = &plan,
                           .market_pair = &market_pair,
                           .rest_symbol = &rest_symbol,
                           .gaps = &gaps,
                           .max_topics = kMaxStreams};

}  // namespace tickflow::venues
