// feeds/venues/mexc.cc
//
// MEXC spot and futures (USDT-margined perpetuals), as aggr-server follows
// them (src/exchanges/mexc/): two endpoints, told apart by the symbol's
// spelling, each under its own [markets] key:
//
//   MEXC          spot, wss://wbs-api.mexc.com/ws. One
//                 {"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"]}
//                 per symbol; deals arrive as protobuf (binary frames, see
//                 feeds/mexc_parser.cc). MEXC allows 30 subscriptions per
//                 connection (max_topics: the runtime splits longer lists)
//                 and about 10 messages a second: one message every 150 ms,
//                 as aggr-server paces it. Keepalive: {"method":"PING"} every
//                 20 s (MEXC drops a connection without data for a minute;
//                 it answers {"id":0,"code":0,"msg":"PONG"}).
//   MEXC_FUTURES  wss://contract.mexc.com/edge. One
//                 {"method":"sub.deal","param":{"symbol":"BTC_USDT"}} per
//                 symbol, paced 150 ms the same way; keepalive
//                 {"method":"ping"} every 15 s (MEXC closes after a minute
//                 without one). 50 topics per connection (aggr-server's
//                 figure; MEXC documents none for the contract socket).
//
// Symbols are upper case on the wire and in market names (MEXC:BTCUSDT,
// MEXC:BTC_USDT): a lower-case config symbol is upper-cased. Channels: spot
// "spot@public.aggre.deals.v3.api.pb@100ms" (topic = channel@SYMBOL; the
// 10ms variant works the same), futures "deal" (method sub.<channel>).
// Liquidations: MEXC publishes no public liquidation stream on either
// socket, so `liquidations` adds nothing. Ids: futures deals carry none
// and spot's are not documented as sequential (hashed by the parser), so a
// reconnect reports a time gap. REST backfill for MEXC is not implemented
// (feeds/backfill.cc): its gaps are reported, not filled.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::chrono::milliseconds kPacing{150};

std::vector<std::string> spot_channels(bool) { return {"spot@public.aggre.deals.v3.api.pb@100ms"}; }
std::vector<std::string> futures_channels(bool) { return {"deal"}; }

void plan_spot(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "wbs-api.mexc.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws" : config.path;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels)
      plan.subscribe.push_back(R"({"method":"SUBSCRIPTION","params":[")" + json_safe(channel) + "@" +
                               upper_ascii(json_safe(symbol)) + R"("]})");
  plan.subscribe_interval = kPacing;
  plan.ping_interval = std::chrono::milliseconds{20'000};
  plan.ping_text = R"({"method":"PING"})";
}

void plan_futures(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "contract.mexc.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/edge" : config.path;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels)
      plan.subscribe.push_back(R"({"method":"sub.)" + json_safe(channel) + R"(","param":{"symbol":")" +
                               upper_ascii(json_safe(symbol)) + R"("}})");
  plan.subscribe_interval = kPacing;
  plan.ping_interval = std::chrono::milliseconds{15'000};
  plan.ping_text = R"({"method":"ping"})";
}

// Spot pairs have no underscore (BTCUSDT); contracts have one (BTC_USDT).
bool is_spot(std::string_view symbol) { return symbol.find('_') == std::string_view::npos; }
bool is_contract(std::string_view symbol) { return !is_spot(symbol); }

std::string upper_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kMexcSpot{.venue = Venue::kMexcSpot,
                              .name = "mexc-spot",
                              .exchange = "MEXC",
                              .parser = "MEXC",
                              .carries = &is_spot,
                              .default_channels = &spot_channels,
                              .plan = &plan_spot,
                              .market_pair = &upper_pair,
                              .gaps = &time_gaps,
                              .max_topics = 30};

const VenueProtocol kMexcFutures{.venue = Venue::kMexcFutures,
                                 .name = "mexc-futures",
                                 .exchange = "MEXC_FUTURES",
                                 .parser = "MEXC_FUTURES",
                                 .carries = &is_contract,
                                 .default_channels = &futures_channels,
                                 .plan = &plan_futures,
                                 .market_pair = &upper_pair,
                                 .gaps = &time_gaps,
                                 .max_topics = 50};

}  // namespace tickflow::venues
