// feeds/venues/cryptocom.cc
//
// Crypto.com Exchange v1 market data: wss://stream.crypto.com/exchange/v1/market
// (aggr-server still names the older /v2/market; v1 is the current API and
// speaks the same trade frames). Subscribe messages
// {"id":N,"method":"subscribe","params":{"channels":["trade.BTC_USDT",..]}}
// carry up to 10 channels each, ids 1, 2, ... per connection, paced 100 ms
// apart: the market-data socket allows about 100 requests a second and
// counts them from the connection's start. Spot (BTC_USDT) and perpetuals
// (BTCUSD-PERP) share the socket and the [markets] key CRYPTOCOM.
//
// Keepalive: the server sends {"id":N,"method":"public/heartbeat"} every
// 30 s and closes a connection that has not answered
// {"id":N,"method":"public/respond-heartbeat"} within 5 s: the parser
// leaves that answer as its pending reply, LiveFeed sends it. No client
// ping beyond websocket pings every 30 s.
//
// The reply to a subscribe request carries recent trades (history: counted
// as snapshots, never delivered). Liquidations: Crypto.com publishes no
// public liquidation stream. Ids: trade ids (`d`) are one counter across
// all instruments (the parser flags them unsequenced: no de-duplication,
// none needed), so a reconnect reports a time gap. 200 channels per connection is our own cap
// (Crypto.com documents none for the market socket); longer lists are split
// by the runtime. Crypto.com asks clients to wait 1 s after connecting
// before the first request; LiveFeedPlan has no such delay yet, so the
// first message goes at once (in practice accepted).
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kChannelsPerMessage = 10;

std::vector<std::string> default_channels(bool) { return {"trade"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "stream.crypto.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/exchange/v1/market" : config.path;
  std::vector<std::string> topics;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) topics.push_back(json_safe(channel) + "." + upper_ascii(json_safe(symbol)));
  for (std::size_t i = 0; i < topics.size(); i += kChannelsPerMessage) {
    std::string msg =
        R"({"id":)" + std::to_string(i / kChannelsPerMessage + 1) + R"(,"method":"subscribe","params":{"channels":[)";
    for (std::size_t j = i; j < std::min(topics.size(), i + kChannelsPerMessage); ++j)
      msg += (j == i ? "\"" : ",\"") + topics[j] + "\"";
    plan.subscribe.push_back(msg + "]}}");
  }
  plan.subscribe_interval = std::chrono::milliseconds{100};
  plan.ping_interval = std::chrono::milliseconds{30'000};  // websocket pings; heartbeats are answered
}

std::string upper_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kCryptoCom{.venue = Venue::kCryptoCom,
                               .name = "cryptocom",
                               .exchange = "CRYPTOCOM",
                               .parser = "CRYPTOCOM",
                               .default_channels = &default_channels,
                               .plan = &plan,
                               .market_pair = &upper_pair,
                               .gaps = &time_gaps,
                               .max_topics = 200};

}  // namespace tickflow::venues
