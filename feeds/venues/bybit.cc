// feeds/venues/bybit.cc
//
// Bybit v5 public streams: spot, linear (USDT/USDC perpetuals) and inverse
// (BTCUSD: settled in the coin). Topics go in {"op":"subscribe","args":[..]}
// messages of at most 10 args (spot's limit; the others accept more), sent
// on every connection. Keepalive: {"op":"ping"} every 20 s (Bybit closes a
// connection silent for 10 minutes; its docs ask for 20 s).
//
// Liquidations: allLiquidation.<symbol> on linear and inverse (per symbol,
// so the exchange filters for us); spot has none. Ids: v5 trade ids are
// UUIDs (hashed by the parser), so a reconnect reports a time gap.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kArgsPerMessage = 10;

std::vector<std::string> spot_channels(bool) { return {"publicTrade"}; }
std::vector<std::string> derivative_channels(bool liquidations) {
  if (liquidations) return {"publicTrade", "allLiquidation"};
  return {"publicTrade"};
}

void plan_category(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan,
                   const char* category, const char* parser) {
  plan.host = "stream.bybit.com";
  plan.port = 443;
  plan.target = config.path.empty() ? std::string("/v5/public/") + category : config.path;
  plan.parser_name = parser;
  std::vector<std::string> args;
  for (const auto& symbol : config.symbols)
    for (const auto& channel : channels) args.push_back(json_safe(channel) + "." + json_safe(symbol));
  for (std::size_t i = 0; i < args.size(); i += kArgsPerMessage) {
    std::string msg = R"({"op":"subscribe","args":[)";
    for (std::size_t j = i; j < std::min(args.size(), i + kArgsPerMessage); ++j)
      msg += (j == i ? "\"" : ",\"") + args[j] + "\"";
    plan.subscribe.push_back(msg + "]}");
  }
  plan.ping_interval = std::chrono::milliseconds{20'000};
  plan.ping_text = R"({"op":"ping"})";
}

void plan_spot(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_category(c, ch, p, "spot", "BYBIT_SPOT");
}
void plan_linear(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_category(c, ch, p, "linear", "BYBIT");
}
void plan_inverse(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_category(c, ch, p, "inverse", "BYBIT");
}

// Inverse contracts settle in the coin: BTCUSD, ETHUSD (no T/C).
bool is_inverse(std::string_view symbol) { return symbol.ends_with("USD"); }
bool is_linear(std::string_view symbol) { return !is_inverse(symbol); }

// BYBIT:BTCUSDT-SPOT names spot apart from the linear perpetual.
std::string spot_pair(const std::string& symbol) { return symbol + "-SPOT"; }
std::string spot_rest_symbol(const std::string& pair) {
  return pair.ends_with("-SPOT") ? pair.substr(0, pair.size() - 5) : pair;
}

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBybitSpot{.venue = Venue::kBybitSpot,
                               .name = "bybit-spot",
                               .exchange = "BYBIT_SPOT",
                               .parser = "BYBIT_SPOT",
                               .default_channels = &spot_channels,
                               .plan = &plan_spot,
                               .market_pair = &spot_pair,
                               .rest_symbol = &spot_rest_symbol,
                               .gaps = &time_gaps};
const VenueProtocol kBybitLinear{.venue = Venue::kBybitLinear,
                                 .name = "bybit-linear",
                                 .exchange = "BYBIT",
                                 .parser = "BYBIT",
                                 .carries = &is_linear,
                                 .default_channels = &derivative_channels,
                                 .plan = &plan_linear,
                                 .gaps = &time_gaps};
const VenueProtocol kBybitInverse{.venue = Venue::kBybitInverse,
                                  .name = "bybit-inverse",
                                  .exchange = "BYBIT",
                                  .parser = "BYBIT",
                                  .carries = &is_inverse,
                                  .default_channels = &derivative_channels,
                                  .plan = &plan_inverse,
                                  .gaps = &time_gaps};

}  // namespace tickflow::venues
