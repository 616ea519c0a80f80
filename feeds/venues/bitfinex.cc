// feeds/venues/bitfinex.cc
//
// Bitfinex websocket v2: wss://api-pub.bitfinex.com/ws/2. Symbols as
// Bitfinex spells trading pairs, with the 't' prefix: "tBTCUSD",
// "tBTCF0:USTF0" (the parser names them BITFINEX:BTCUSD,
// BITFINEX:BTCF0USTF0). One subscribe message per channel and symbol,
// {"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}; the
// "subscribed" reply maps the chanId the data frames carry.
//
// Liquidations: channel "liq:global" subscribes once per connection to
// {"event":"subscribe","channel":"status","key":"liq:global"}, the
// exchange-wide liquidation feed (aggr-server does the same); the parser
// keeps the configured markets' initial liquidation triggers and counts
// the others as unconfigured. Liquidations happen on the F0 perpetuals
// (tBTCF0:USTF0): a spot-only config gets none.
//
// Limits: Bitfinex allows 25 public channel subscriptions per connection
// (liq:global is one of them); max_topics 25 makes the runtime split longer
// lists (it counts liq:global once per symbol, which errs on the safe
// side). Keepalive: Bitfinex sends [chanId,"hb"] every 15 s per channel;
// we send {"event":"ping","cid":1} every 30 s (answered {"event":"pong"}).
// Ids: trade ids are exchange-wide, not per pair: a reconnect reports a
// time gap, backfilled from /v2/trades/<tSYMBOL>/hist (feeds/backfill.cc,
// which puts a perpetual's colon back: tBTCF0:USTF0).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::string_view kLiquidations = "liq:global";

std::vector<std::string> default_channels(bool liquidations) {
  if (liquidations) return {"trades", std::string(kLiquidations)};
  return {"trades"};
}

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "api-pub.bitfinex.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws/2" : config.path;
  for (const auto& symbol : config.symbols)
    if (!symbol.starts_with('t'))
      throw std::invalid_argument("Bitfinex: '" + symbol + "' is not a trading pair (tBTCUSD, tBTCF0:USTF0)");
  for (const auto& channel : channels) {
    if (channel == kLiquidations) {
      plan.subscribe.push_back(R"({"event":"subscribe","channel":"status","key":"liq:global"})");
      continue;
    }
    for (const auto& symbol : config.symbols)
      plan.subscribe.push_back(R"({"event":"subscribe","channel":")" + json_safe(channel) + R"(","symbol":")" +
                               json_safe(symbol) + "\"}");
  }
  plan.ping_interval = std::chrono::milliseconds{30'000};
  plan.ping_text = R"({"event":"ping","cid":1})";
}

// tBTCUSD -> BTCUSD, tBTCF0:USTF0 -> BTCF0USTF0 (a market name has one ':').
std::string market_pair(const std::string& symbol) {
  std::string pair;
  for (char c : std::string_view(symbol).substr(symbol.starts_with('t') ? 1 : 0))
    if (c != ':') pair += c;
  return pair;
}

// The REST trades endpoint takes the 't' symbol. A colon pair cannot be
// rebuilt from its market name; those are the only ones it gets wrong.
std::string rest_symbol(const std::string& pair) { return "t" + pair; }

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitfinex{
    .venue = Venue::kBitfinex,
    .name = "bitfinex",
    .exchange = "BITFINEX",
    .parser = "BITFINEX",
    .default_channels = &default_channels,
    .plan = &plan,
    .market_pair = &market_pair,
    .rest_symbol = &rest_symbol,
    .gaps = &gaps,
    .max_topics = 25,
};

}  // namespace tickflow::venues
