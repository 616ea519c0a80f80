// feeds/venues/coinbase.cc
//
// Coinbase Exchange: wss://ws-feed.exchange.coinbase.com, one subscribe
// message naming every product per channel ("matches" by default), sent on
// every connection. Keepalive: websocket pings every 30 s (Coinbase has no
// application ping). Spot only: no liquidations. Ids: match trade_ids are
// consecutive per product.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"matches"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws-feed.exchange.coinbase.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/" : config.path;
  plan.parser_name = "COINBASE";
  std::string ids;
  for (const auto& symbol : config.symbols) ids += (ids.empty() ? "\"" : ",\"") + json_safe(symbol) + "\"";
  std::string msg = R"({"type":"subscribe","channels":[)";
  for (std::size_t i = 0; i < channels.size(); ++i)
    msg += (i ? "," : "") + std::string(R"({"name":")") + json_safe(channels[i]) + R"(","product_ids":[)" + ids + "]}";
  plan.subscribe.push_back(msg + "]}");
  plan.ping_interval = std::chrono::milliseconds{30'000};
}

GapDetection id_gaps(const std::vector<std::string>&) { return GapDetection::kIds; }

}  // namespace

const VenueProtocol kCoinbase{.venue = Venue::kCoinbase,
                              .name = "coinbase",
                              .exchange = "COINBASE",
                              .parser = "COINBASE",
                              .default_channels = &default_channels,
                              .plan = &plan,
                              .gaps = &id_gaps};

}  // namespace tickflow::venues
