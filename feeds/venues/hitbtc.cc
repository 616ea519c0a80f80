// feeds/venues/hitbtc.cc
//
// HitBTC websocket API v3, public: wss://api.hitbtc.com/api/3/ws/public
// (aggr-server still uses the retired v2 /api/2/ws). One message per
// channel names every symbol:
// {"method":"subscribe","ch":"trades","params":{"symbols":["BTCUSDT"],"limit":0},"id":1}
// ("limit":0: no history on subscribe; any "snapshot" that still arrives
// is counted as such by the parser, never delivered). Ids 1, 2, ... per
// message. Keepalive: websocket pings every 30 s (HitBTC has no
// application ping). Spot only, symbols upper case (HITBTC:BTCUSDT); no
// public liquidation stream. Ids: HitBTC numbers trades across all
// symbols, so a symbol's ids rise but skip: a reconnect reports a time gap.
// HitBTC documents no per-connection symbol limit: max_topics 0.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"trades"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "api.hitbtc.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/api/3/ws/public" : config.path;
  std::string symbols;
  for (const auto& symbol : config.symbols)
    symbols += (symbols.empty() ? "\"" : ",\"") + upper_ascii(json_safe(symbol)) + "\"";
  int id = 0;
  for (const auto& channel : channels)
    plan.subscribe.push_back(R"({"method":"subscribe","ch":")" + json_safe(channel) + R"(","params":{"symbols":[)" +
                             symbols + R"(],"limit":0},"id":)" + std::to_string(++id) + "}");
  plan.ping_interval = std::chrono::milliseconds{30'000};
}

std::string upper_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kHitbtc{.venue = Venue::kHitbtc,
                            .name = "hitbtc",
                            .exchange = "HITBTC",
                            .parser = "HITBTC",
                            .default_channels = &default_channels,
                            .plan = &plan,
                            .market_pair = &upper_pair,
                            .gaps = &time_gaps};

}  // namespace tickflow::venues
