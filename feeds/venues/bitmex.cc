// feeds/venues/bitmex.cc
//
// BitMEX realtime: wss://ws.bitmex.com/realtime. One subscribe message with
// every topic, {"op":"subscribe","args":["trade:XBTUSD",
// "liquidation:XBTUSD"]}, sent on every connection (aggr-server subscribes
// the same pair of tables per symbol). Topics are <table>:<symbol>; the
// tables the parser reads are "trade" and "liquidation" (the public
// liquidation table: resting liquidation orders, inserted as they appear).
// The "partial" each table sends on subscribe is history, skipped by the
// parser.
//
// Keepalive: BitMEX asks clients to send the text "ping" when nothing has
// arrived for 5 s and answers "pong" (kControl in the parser); a fixed
// 15 s interval keeps an idle connection known-alive without flooding.
//
// Ids: trdMatchID is a UUID (hashed by the parser): a reconnect reports a
// time gap, backfilled from /api/v1/trade (feeds/backfill.cc). BitMEX
// documents no per-connection topic limit for public tables: max_topics 0.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool liquidations) {
  if (liquidations) return {"trade", "liquidation"};
  return {"trade"};
}

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.bitmex.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/realtime" : config.path;
  std::string msg = R"({"op":"subscribe","args":[)";
  bool first = true;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) {
      msg += first ? "\"" : ",\"";
      first = false;
      msg += json_safe(channel) + ":" + json_safe(symbol) + "\"";
    }
  plan.subscribe.push_back(msg + "]}");
  plan.ping_interval = std::chrono::milliseconds{15'000};
  plan.ping_text = "ping";
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitmex{
    .venue = Venue::kBitmex,
    .name = "bitmex",
    .exchange = "BITMEX",
    .parser = "BITMEX",
    .default_channels = &default_channels,
    .plan = &plan,
    .gaps = &gaps,
};

}  // namespace tickflow::venues
