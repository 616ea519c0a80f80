// feeds/venues/hyperliquid.cc
//
// Hyperliquid: wss://api.hyperliquid.xyz/ws ([markets] HYPERLIQUID: coins,
// "BTC" for the BTC perpetual; spot pairs as Hyperliquid names them, "@107").
// One subscribe message per coin,
// {"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}, as
// aggr-server sends them. The server acknowledges each with a
// subscriptionResponse and then sends recent trades, which the parser skips
// as a snapshot (feeds/hyperliquid_parser.cc).
//
// Limits (Hyperliquid documentation): 1000 subscriptions and 2000 messages
// sent per minute per IP: subscriptions are paced 50 ms apart (20/s) and a
// connection takes at most 1000 topics.
//
// Keepalive: the server closes a connection that sent nothing for 60 s;
// the client sends {"method":"ping"} every 30 s (answered {"channel":"pong"}).
//
// Liquidations: the public trades feed does not mark them (only a user's
// own fills do); there is no public liquidation stream, so `liquidations`
// subscribes nothing more.
//
// Ids: tids are unique but not ordered (feeds/hyperliquid_parser.cc): no id
// gaps; a reconnect is reported as a time gap. No REST backfill yet.
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"trades"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "api.hyperliquid.xyz";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws" : config.path;
  for (const auto& channel : channels)
    if (channel != "trades")
      throw std::invalid_argument("Hyperliquid: channel '" + channel + "' is not followed (only trades)");
  for (const auto& coin : config.symbols)
    plan.subscribe.push_back(R"({"method":"subscribe","subscription":{"type":"trades","coin":")" + json_safe(coin) +
                             "\"}}");
  plan.subscribe_interval = std::chrono::milliseconds{50};
  plan.ping_interval = std::chrono::milliseconds{30'000};
  plan.ping_text = R"({"method":"ping"})";
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kHyperliquid{
    .venue = Venue::kHyperliquid,
    .name = "hyperliquid",
    .exchange = "HYPERLIQUID",
    .parser = "HYPERLIQUID",
    .default_channels = &default_channels,
    .plan = &plan,
    .gaps = &gaps,
    .max_topics = 1000,
};

}  // namespace tickflow::venues
