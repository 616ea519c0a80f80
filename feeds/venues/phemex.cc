// feeds/venues/phemex.cc
//
// Phemex: wss://ws.phemex.com ([markets] PHEMEX: "BTCUSD" inverse contract,
// "sBTCUSDT" spot, "BTCUSDT" USDT perpetual; markets PHEMEX:<symbol>,
// feeds/phemex_parser.cc).
//
// Subscriptions: one message per symbol, as aggr-server sends them:
// {"id":N,"method":"trade.subscribe","params":["BTCUSD"]} for spot and the
// v1 contracts (symbols ending in USD), trade_p.subscribe for the others
// (the hedged USDT/USDC perpetuals, real-valued trades_p). On each
// subscription Phemex first sends the last 200 trades as a "snapshot": the
// parser skips it (kSnapshot).
//
// Limits (Phemex's websocket docs): 20 subscriptions per connection
// (max_topics; the runtime splits longer lists) and 20 requests per second:
// paced at one message per 100 ms.
//
// Keepalive: {"id":0,"method":"server.ping","params":[]} every 5 s (Phemex
// drops a connection silent for 30 s and recommends 5 s); it answers
// {"error":null,"id":0,"result":"pong"} (a control frame). No server pings.
//
// Liquidations: Phemex publishes no public liquidation stream.
//
// Ids: Phemex trades carry none; the parser hashes each trade's fields, so
// de-duplication works and a reconnect is reported as a time gap.
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"trade"}; }

// Spot (sBTCUSDT) and the v1 contracts (BTCUSD) use trade.subscribe; the
// USDT/USDC perpetuals (BTCUSDT) trade_p.subscribe.
bool v1_symbol(std::string_view symbol) { return symbol.starts_with('s') || symbol.ends_with("USD"); }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.phemex.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/" : config.path;
  for (const auto& channel : channels)
    if (channel != "trade")
      throw std::invalid_argument("Phemex: channel '" + channel + "' is not followed (only trade)");
  std::size_t id = 1;
  for (const auto& symbol : config.symbols) {
    const char* method = v1_symbol(symbol) ? "trade.subscribe" : "trade_p.subscribe";
    plan.subscribe.push_back(R"({"id":)" + std::to_string(id++) + R"(,"method":")" + method + R"(","params":[")" +
                             json_safe(symbol) + "\"]}");
  }
  plan.subscribe_interval = std::chrono::milliseconds{100};
  plan.ping_interval = std::chrono::milliseconds{5'000};
  plan.ping_text = R"({"id":0,"method":"server.ping","params":[]})";
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kPhemex{
    .venue = Venue::kPhemex,
    .name = "phemex",
    .exchange = "PHEMEX",
    .parser = "PHEMEX",
    .default_channels = &default_channels,
    .plan = &plan,
    .gaps = &gaps,
    .max_topics = 20,
};

}  // namespace tickflow::venues
