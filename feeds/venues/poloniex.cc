// feeds/venues/poloniex.cc
//
// Poloniex v3 public: wss://ws.poloniex.com/ws/public ([markets] POLONIEX:
// "BTC_USDT", spot; markets POLONIEX:<symbol>, feeds/poloniex_parser.cc).
//
// Subscriptions: one message per symbol, as aggr-server sends them:
// {"event":"subscribe","channel":["trades"],"symbols":["BTC_USDT"]},
// answered by {"event":"subscribe","channel":"trades","symbols":[..]}.
// Poloniex documents no per-connection topic limit we rely on (max_topics
// 0); subscriptions are paced at one per 100 ms to stay clear of its
// request rate limit.
//
// Keepalive: {"event":"ping"} every 20 s (Poloniex closes a connection
// that sends nothing for 30 s); it answers {"event":"pong"} (a control
// frame). No server pings.
//
// Liquidations: spot only, none.
//
// Ids: numeric trade ids whose continuity per symbol is not documented: a
// reconnect is reported as a time gap.
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"trades"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.poloniex.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws/public" : config.path;
  for (const auto& channel : channels)
    if (channel != "trades")
      throw std::invalid_argument("Poloniex: channel '" + channel + "' is not followed (only trades)");
  for (const auto& symbol : config.symbols)
    plan.subscribe.push_back(R"({"event":"subscribe","channel":["trades"],"symbols":[")" + json_safe(symbol) + "\"]}");
  plan.subscribe_interval = std::chrono::milliseconds{100};
  plan.ping_interval = std::chrono::milliseconds{20'000};
  plan.ping_text = R"({"event":"ping"})";
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kPoloniex{
    .venue = Venue::kPoloniex,
    .name = "poloniex",
    .exchange = "POLONIEX",
    .parser = "POLONIEX",
    .default_channels = &default_channels,
    .plan = &plan,
    .gaps = &gaps,
};

}  // namespace tickflow::venues
