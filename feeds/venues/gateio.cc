// feeds/venues/gateio.cc
//
// Gate.io websocket v4: spot ([markets] GATEIO: "BTC_USDT") on
// wss://api.gateio.ws/ws/v4/ and USDT-settled perpetuals ([markets]
// GATEIO_FUTURES: "BTC_USDT") on wss://fx-ws.gateio.ws/v4/ws/usdt. One
// subscribe message per channel, its payload the symbols (at most
// kSymbolsPerMessage each; Gate documents no per-message or per-connection
// limit), sent on every connection:
//   {"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]}
// Gate's requests carry a "time" field; the server does not require it and
// aggr-server sends none, so a plan (pure, sent on every reconnect) leaves
// it out rather than freezing a stale one.
//
// Keepalive: {"channel":"spot.ping"} / {"channel":"futures.ping"} every 18 s
// (aggr-server's interval), answered with a *.pong the parser skips. No
// server application pings (Gate pings at the websocket level, which the
// client answers itself).
//
// Liquidations: futures.public_liquidates (per contract; Gate pushes at
// most one liquidation order per contract per second), on by default. Spot
// has none.
//
// Markets: spot is GATEIO:<pair>-SPOT, futures GATEIO:<contract>, as
// aggr-server names them (market_pair); REST takes the bare pair. Only
// USDT-settled contracts (..._USDT) are carried: BTC-settled ones live on
// /v4/ws/btc, another endpoint (not followed).
//
// Ids: spot trade ids are global across pairs (not consecutive per pair,
// checked in the capture), futures ids are not documented as consecutive:
// a reconnect reports a time gap.
#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kSymbolsPerMessage = 50;

std::vector<std::string> spot_channels(bool) { return {"spot.trades"}; }
std::vector<std::string> futures_channels(bool liquidations) {
  if (liquidations) return {"futures.trades", "futures.public_liquidates"};
  return {"futures.trades"};
}

void plan_endpoint(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan,
                   const char* host, const char* target, const char* ping) {
  plan.host = host;
  plan.port = 443;
  plan.target = config.path.empty() ? target : config.path;
  for (const auto& channel : channels) {
    json_safe(channel);
    for (std::size_t i = 0; i < config.symbols.size(); i += kSymbolsPerMessage) {
      std::string msg = R"({"channel":")" + channel + R"(","event":"subscribe","payload":[)";
      for (std::size_t j = i; j < std::min(config.symbols.size(), i + kSymbolsPerMessage); ++j)
        msg += (j == i ? "\"" : ",\"") + json_safe(config.symbols[j]) + "\"";
      plan.subscribe.push_back(msg + "]}");
    }
  }
  plan.ping_interval = std::chrono::milliseconds{18'000};
  plan.ping_text = ping;
}

void plan_spot(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_endpoint(c, ch, p, "api.gateio.ws", "/ws/v4/", R"({"channel":"spot.ping"})");
}
void plan_futures(const LiveFeedConfig& c, const std::vector<std::string>& ch, LiveFeedPlan& p) {
  plan_endpoint(c, ch, p, "fx-ws.gateio.ws", "/v4/ws/usdt", R"({"channel":"futures.ping"})");
}

bool usdt_settled(std::string_view symbol) { return symbol.ends_with("_USDT"); }

std::string spot_pair(const std::string& symbol) { return symbol + "-SPOT"; }
std::string spot_rest_symbol(const std::string& pair) {
  return pair.ends_with("-SPOT") ? pair.substr(0, pair.size() - 5) : pair;
}

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kGateioSpot{.venue = Venue::kGateioSpot,
                                .name = "gateio-spot",
                                .exchange = "GATEIO",
                                .parser = "GATEIO",
                                .default_channels = &spot_channels,
                                .plan = &plan_spot,
                                .market_pair = &spot_pair,
                                .rest_symbol = &spot_rest_symbol,
                                .gaps = &time_gaps};

const VenueProtocol kGateioFutures{.venue = Venue::kGateioFutures,
                                   .name = "gateio-futures",
                                   .exchange = "GATEIO_FUTURES",
                                   .parser = "GATEIO_FUTURES",
                                   .carries = &usdt_settled,
                                   .default_channels = &futures_channels,
                                   .plan = &plan_futures,
                                   .gaps = &time_gaps};

}  // namespace tickflow::venues
