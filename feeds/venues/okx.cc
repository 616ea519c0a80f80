// feeds/venues/okx.cc
//
// OKX v5 public: wss://ws.okx.com:8443/ws/v5/public. One subscribe message
// with every arg (OKX takes up to 64 KiB per message), sent on every
// connection. Keepalive: the text "ping" every 25 s (OKX closes a
// connection silent for 30 s and answers "pong").
//
// Channels and their keys: "trades" / "trades-all" are keyed by instId
// (BTC-USDT, BTC-USDT-SWAP, BTC-USD-240927). "liquidation-orders" is keyed
// by instType (SWAP, FUTURES, MARGIN): it is market-wide, one arg per
// instType the configured symbols span, and the parser's allowlist keeps
// the configured markets (the others are counted as unconfigured, without
// allocating). Spot has no liquidations; a config of spot symbols only
// subscribes none.
//
// Ids: "trades" aggregates fills into one print per taker order and price,
// so its tradeIds skip legitimately (a reconnect reports a time gap);
// "trades-all" carries every fill, consecutive ids.
#include <algorithm>
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool liquidations) {
  if (liquidations) return {"trades", "liquidation-orders"};
  return {"trades"};
}

// The instType of an instId: BTC-USDT-SWAP -> SWAP; BTC-USD-240927 (a
// delivery date) -> FUTURES; BTC-USDT -> SPOT; options are not followed.
std::string_view inst_type(std::string_view inst) {
  if (inst.ends_with("-SWAP")) return "SWAP";
  const std::size_t dash = inst.rfind('-');
  if (dash != std::string_view::npos && inst.find('-') != dash && inst.size() - dash == 7) return "FUTURES";
  return "SPOT";
}

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.okx.com";
  plan.port = 8443;
  plan.target = config.path.empty() ? "/ws/v5/public" : config.path;
  plan.parser_name = "OKX";
  std::string msg = R"({"op":"subscribe","args":[)";
  bool first = true;
  auto add = [&](const std::string& channel, const char* key, std::string_view value) {
    msg += first ? "" : ",";
    first = false;
    msg += R"({"channel":")" + channel + R"(",")" + key + R"(":")" + std::string(value) + "\"}";
  };
  for (const auto& channel : channels) {
    json_safe(channel);
    if (channel == "liquidation-orders") {
      std::vector<std::string_view> types;  // in the order the symbols name them
      for (const auto& symbol : config.symbols) {
        const std::string_view type = inst_type(json_safe(symbol));
        if (type != "SPOT" && std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
      }
      for (std::string_view type : types) add(channel, "instType", type);
    } else {
      for (const auto& symbol : config.symbols) add(channel, "instId", json_safe(symbol));
    }
  }
  if (first) throw std::invalid_argument("OKX: nothing to subscribe (liquidation-orders alone on spot symbols)");
  plan.subscribe.push_back(msg + "]}");
  plan.ping_interval = std::chrono::milliseconds{25'000};
  plan.ping_text = "ping";
}

GapDetection gaps(const std::vector<std::string>& channels) {
  return contains(channels, "trades-all") && !contains(channels, "trades") ? GapDetection::kIds : GapDetection::kTime;
}

}  // namespace

const VenueProtocol kOkx{.venue = Venue::kOkx,
                         .name = "okx",
                         .exchange = "OKEX",  // aggr-server's name; "OKX" is an alias (runtime/live_plan.cc)
                         .parser = "OKX",
                         .default_channels = &default_channels,
                         .plan = &plan,
                         .gaps = &gaps};

}  // namespace tickflow::venues
