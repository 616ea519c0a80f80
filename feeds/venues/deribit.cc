// feeds/venues/deribit.cc
//
// Deribit JSON-RPC v2: wss://www.deribit.com/ws/api/v2. Symbols are
// instrument names ("BTC-PERPETUAL", "ETH-PERPETUAL", "BTC_USDC-PERPETUAL").
// Two messages on every connection:
//   {"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}}
//   {"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":["trades.BTC-PERPETUAL.100ms"]}}
// Channel "trades" becomes trades.<instrument>.100ms: the raw channels need
// an authenticated connection since 2022, the 100 ms ones are public and
// carry every trade (batched). aggr-server authenticates for .raw; we do
// not hold credentials for market data.
//
// Keepalive: with set_heartbeat, Deribit sends {"method":"heartbeat",
// "params":{"type":"test_request"}} every 30 s and closes the connection
// unless the client answers with public/test: the parser leaves that call
// as its pending reply and LiveFeed sends it. Websocket pings every 30 s on
// top find a dead TCP path from our side.
//
// Liquidations ride in the trades channel (a `liquidation` field), so
// there is no separate channel. Ids: trade ids are per currency, not per
// instrument: a reconnect reports a time gap, backfilled from
// get_last_trades_by_instrument_and_time (feeds/backfill.cc). Deribit
// documents no per-connection channel
// limit: max_topics 0.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"trades"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "www.deribit.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws/api/v2" : config.path;
  plan.subscribe.push_back(R"({"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}})");
  std::string msg = R"({"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":[)";
  bool first = true;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) {
      msg += first ? "\"" : ",\"";
      first = false;
      msg += json_safe(channel) + "." + json_safe(symbol) + ".100ms\"";
    }
  plan.subscribe.push_back(msg + "]}}");
  plan.ping_interval = std::chrono::milliseconds{30'000};  // websocket pings
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kDeribit{
    .venue = Venue::kDeribit,
    .name = "deribit",
    .exchange = "DERIBIT",
    .parser = "DERIBIT",
    .default_channels = &default_channels,
    .plan = &plan,
    .gaps = &gaps,
};

}  // namespace tickflow::venues
