// feeds/venues/dydx.cc
//
// dYdX v4: the indexer websocket, wss://indexer.dydx.trade/v4/ws ([markets]
// DYDX: "BTC-USD", perpetual tickers). One subscribe message per market,
// {"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}, as aggr-server
// sends them; the reply ("subscribed") carries recent trades, which the
// parser skips as a snapshot (feeds/dydx_parser.cc).
//
// Limits (indexer documentation): 2 subscribe messages per second per
// connection, so they are paced 500 ms apart; 32 subscriptions per channel
// per connection (max_topics: the runtime splits longer lists).
//
// Keepalive: the indexer sends a websocket ping every 30 s and disconnects
// a client that does not pong within 10 s; the websocket client answers
// pings itself. Our own websocket pings every 30 s keep traffic flowing on
// a quiet market as well.
//
// Liquidations: there is no separate stream; v4_trades marks them itself
// (type LIQUIDATED, DELEVERAGED), so the one channel carries both and
// `liquidations` changes nothing.
//
// Ids: strings, hashed by the parser (not ordered): no id gaps and no
// de-duplication by id; a reconnect is reported as a time gap, which the
// REST backfill fills from /v4/trades/perpetualMarket/<market>
// (feeds/backfill.cc; the same id hash and liquidation flags).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::string_view kTrades = "v4_trades";

std::vector<std::string> default_channels(bool) { return {std::string(kTrades)}; }

std::string market_pair(const std::string& symbol) { return upper_ascii(symbol); }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "indexer.dydx.trade";
  plan.port = 443;
  plan.target = config.path.empty() ? "/v4/ws" : config.path;
  for (const auto& channel : channels)
    if (channel != kTrades)
      throw std::invalid_argument("dYdX: channel '" + channel + "' is not followed (only v4_trades)");
  for (const auto& symbol : config.symbols)
    plan.subscribe.push_back(R"({"type":"subscribe","channel":"v4_trades","id":")" + json_safe(market_pair(symbol)) +
                             "\"}");
  plan.subscribe_interval = std::chrono::milliseconds{500};
  plan.ping_interval = std::chrono::milliseconds{30'000};
  plan.ping_text.clear();  // websocket ping frames
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kDydx{
    .venue = Venue::kDydx,
    .name = "dydx",
    .exchange = "DYDX",
    .parser = "DYDX",
    .default_channels = &default_channels,
    .plan = &plan,
    .market_pair = &market_pair,
    .gaps = &gaps,
    .max_topics = 32,
};

}  // namespace tickflow::venues
