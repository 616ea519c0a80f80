// feeds/venues/bitmart.cc
//
// BitMart spot ([markets] BITMART: "BTC_USDT") and USDT-margined futures
// ([markets] BITMART_FUTURES: "BTCUSDT"). Both name markets under
// aggr-server's BITMART (BITMART:BTC_USDT, BITMART:BTCUSDT); the futures
// parser converts contracts with the instruments table (feeds/instruments.cc).
//
//   spot     wss://ws-manager-compress.bitmart.com/api?protocol=1.1
//            {"op":"subscribe","args":["spot/trade:BTC_USDT",..]}
//   futures  wss://openapi-ws-v2.bitmart.com/api?protocol=1.1
//            {"action":"subscribe","args":["futures/trade:BTCUSDT",..]}
//
// Limits (BitMart "Stay Connected And Limit"): spot takes at most 115
// channels per connection, at most 20 args per subscribe message and 100
// messages (pings included) per 10 s; futures at most 4096 bytes of args per
// message. So: 20 args per message, one message every 150 ms (under 10 per
// second with room for the pings), spot connections split at 115 topics.
// Futures publish no per-connection topic limit (max_topics 0).
//
// Keepalive: the server drops a connection silent for 20 s. Client pings
// every 15 s, as aggr-server: spot the text "ping" (websocket ping frames are
// not supported there), futures {"action":"ping"}; both answer "pong" (a
// kControl frame for the parser). No server pings to answer.
//
// Liquidations: BitMart has no public liquidation channel. The futures trade
// channel marks liquidation fills (type 1), which the parser flags, so
// futures liquidations arrive with the trades; spot has none.
//
// Ids: spot trades carry none (hashed), futures trade_ids are not
// consecutive per symbol: a reconnect reports a time gap. No REST backfill
// for BitMart yet (feeds/backfill.cc).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kArgsPerMessage = 20;
constexpr std::size_t kMaxArgBytes = 4096;   // futures: args of one message
constexpr std::size_t kSpotMaxTopics = 115;  // spot: channels per connection
constexpr std::chrono::milliseconds kPace{150};
constexpr std::chrono::milliseconds kPing{15'000};

std::vector<std::string> trade_channel(bool) { return {"trade"}; }

// One subscribe message per kArgsPerMessage topics (and kMaxArgBytes).
void subscribe_all(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan,
                   std::string_view verb_key, std::string_view family) {
  std::vector<std::string> args;
  for (const auto& channel : channels)
    for (const auto& symbol : config.symbols)
      args.push_back("\"" + std::string(family) + "/" + json_safe(channel) + ":" + upper_ascii(json_safe(symbol)) +
                     "\"");
  if (args.empty()) throw std::invalid_argument("BitMart: nothing to subscribe");
  std::string msg;
  std::size_t count = 0, bytes = 0;
  auto flush = [&] {
    if (count == 0) return;
    plan.subscribe.push_back(msg + "]}");
    count = bytes = 0;
  };
  for (const auto& arg : args) {
    if (count == kArgsPerMessage || (count > 0 && bytes + arg.size() + 1 > kMaxArgBytes)) flush();
    if (count == 0) msg = "{\"" + std::string(verb_key) + "\":\"subscribe\",\"args\":[";
    msg += (count == 0 ? "" : ",") + arg;
    bytes += arg.size() + 1;
    ++count;
  }
  flush();
  plan.subscribe_interval = kPace;
  plan.ping_interval = kPing;
}

void plan_spot(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws-manager-compress.bitmart.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/api?protocol=1.1" : config.path;
  plan.parser_name = "BITMART";
  if (config.symbols.size() * channels.size() > kSpotMaxTopics)
    throw std::invalid_argument("more than 115 BitMart spot channels on one connection");
  subscribe_all(config, channels, plan, "op", "spot");
  plan.ping_text = "ping";
}

void plan_futures(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "openapi-ws-v2.bitmart.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/api?protocol=1.1" : config.path;
  plan.parser_name = "BITMART_FUTURES";
  subscribe_all(config, channels, plan, "action", "futures");
  plan.ping_text = R"({"action":"ping"})";
}

// BitMart symbols are upper case as configured (BTC_USDT, BTCUSDT).
std::string market_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitmartSpot{.venue = Venue::kBitmartSpot,
                                 .name = "bitmart-spot",
                                 .exchange = "BITMART",
                                 .parser = "BITMART",
                                 .default_channels = &trade_channel,
                                 .plan = &plan_spot,
                                 .market_pair = &market_pair,
                                 .gaps = &time_gaps,
                                 .max_topics = kSpotMaxTopics};

const VenueProtocol kBitmartFutures{.venue = Venue::kBitmartFutures,
                                    .name = "bitmart-futures",
                                    .exchange = "BITMART_FUTURES",
                                    .parser = "BITMART_FUTURES",
                                    .default_channels = &trade_channel,
                                    .plan = &plan_futures,
                                    .market_pair = &market_pair,
                                    .gaps = &time_gaps};

}  // namespace tickflow::venues
