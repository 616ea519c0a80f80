// feeds/venues/bitget.cc
//
// Bitget v2 public websocket, wss://ws.bitget.com/v2/ws/public: spot
// ([markets] BITGET: "BTCUSDT", instType SPOT) and USDT-margined perpetuals
// ([markets] BITGET_FUTURES: "BTCUSDT", instType USDT-FUTURES), one
// endpoint each. Channel "trade":
//   {"op":"subscribe","args":[{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},..]}
// at most kArgsPerMessage args per message, one message every 150 ms
// (Bitget allows 10 messages a second per connection; aggr-server paces
// its subscriptions the same way), sent on every connection. Bitget
// recommends fewer than 50 channels per connection: max_topics, the
// runtime splits a longer list over several connections.
//
// Keepalive: the text "ping" every 30 s (Bitget closes a connection that
// sends nothing for 2 minutes and answers "pong"). No server pings.
//
// Markets: spot is BITGET:<instId>-SPOT, the perp BITGET:<instId>, as
// aggr-server names them (market_pair); the REST history takes the bare
// symbol (rest_symbol). A subscribe snapshot of recent trades arrives on
// every (re)subscription: the parser skips it as SkipKind::kSnapshot.
//
// Liquidations: the v2 public websocket publishes none (aggr-server reads
// them from the v3 UTA endpoint's "liquidation" topic, which is not
// followed here), so the default channels are "trade" only whatever
// LiveFeedConfig::liquidations says.
//
// Ids: v2 tradeIds are large numbers that are not consecutive per symbol:
// a reconnect reports a time gap.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kArgsPerMessage = 10;

std::vector<std::string> trade_channel(bool) { return {"trade"}; }

void plan_inst_type(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan,
                    const char* inst_type) {
  plan.host = "ws.bitget.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/v2/ws/public" : config.path;
  std::vector<std::string> args;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels)
      args.push_back(std::string(R"({"instType":")") + inst_type + R"(","channel":")" + json_safe(channel) +
                     R"(","instId":")" + json_safe(symbol) + "\"}");
  for (std::size_t i = 0; i < args.size(); i += kArgsPerMessage) {
    std::string msg = R"({"op":"subscribe","args":[)";
    for (std::size_t j = i; j < std::min(args.size(), i + kArgsPerMessage); ++j) msg += (j == i ? "" : ",") + args[j];
    plan.subscribe.push_back(msg + "]}");
  }
  plan.subscribe_interval = std::chrono::milliseconds{150};
  plan.ping_interval = std::chrono::milliseconds{30'000};
  plan.ping_text = "ping";
}

void plan_spot(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_inst_type(c, ch, p, "SPOT");
}
void plan_futures(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_inst_type(c, ch, p, "USDT-FUTURES");
}

std::string spot_pair(const std::string& symbol) { return symbol + "-SPOT"; }
std::string spot_rest_symbol(const std::string& pair) {
  return pair.ends_with("-SPOT") ? pair.substr(0, pair.size() - 5) : pair;
}

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitgetSpot{.venue = Venue::kBitgetSpot,
                                .name = "bitget-spot",
                                .exchange = "BITGET",
                                .parser = "BITGET",
                                .default_channels = &trade_channel,
                                .plan = &plan_spot,
                                .market_pair = &spot_pair,
                                .rest_symbol = &spot_rest_symbol,
                                .gaps = &time_gaps,
                                .max_topics = 50};

const VenueProtocol kBitgetFutures{.venue = Venue::kBitgetFutures,
                                   .name = "bitget-futures",
                                   .exchange = "BITGET_FUTURES",
                                   .parser = "BITGET_FUTURES",
                                   .default_channels = &trade_channel,
                                   .plan = &plan_futures,
                                   .gaps = &time_gaps,
                                   .max_topics = 50};

}  // namespace tickflow::venues
