// feeds/venues/bitstamp.cc
//
// Bitstamp: wss://ws.bitstamp.net ([markets] BITSTAMP: "btcusd", spot).
// One subscribe message per pair,
// {"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}, as
// aggr-server sends them (channel "live_trades": the name is the channel,
// '_', the pair). Bitstamp documents no subscribe rate or per-connection
// limit: unpaced, no max_topics.
//
// Keepalive: {"event":"bts:heartbeat"} every 30 s (Bitstamp answers it with
// a bts:heartbeat event).
//
// Reconnect requests: before maintenance Bitstamp sends
// {"event":"bts:request_reconnect"} and later closes the connection. The
// parser counts it as a control frame; the close that follows makes
// LiveFeed reconnect (a parser-driven early reconnect needs a hook in
// ExchangeParser that does not exist yet).
//
// Liquidations: spot only, none.
//
// Ids: one counter across all pairs, increasing: de-duplication by id
// works, but ids skip within a pair, so a reconnect is reported as a time
// gap, which the REST backfill covers from /api/v2/transactions/<pair>/
// (feeds/backfill.cc: the last hour, whole-second times).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> default_channels(bool) { return {"live_trades"}; }

std::string market_pair(const std::string& symbol) { return lower_ascii(symbol); }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.bitstamp.net";
  plan.port = 443;
  plan.target = config.path.empty() ? "/" : config.path;
  for (const auto& channel : channels)
    if (channel != "live_trades")
      throw std::invalid_argument("Bitstamp: channel '" + channel + "' is not followed (only live_trades)");
  for (const auto& symbol : config.symbols)
    plan.subscribe.push_back(R"({"event":"bts:subscribe","data":{"channel":"live_trades_)" +
                             json_safe(market_pair(symbol)) + "\"}}");
  plan.ping_interval = std::chrono::milliseconds{30'000};
  plan.ping_text = R"({"event":"bts:heartbeat"})";
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitstamp{
    .venue = Venue::kBitstamp,
    .name = "bitstamp",
    .exchange = "BITSTAMP",
    .parser = "BITSTAMP",
    .default_channels = &default_channels,
    .plan = &plan,
    .market_pair = &market_pair,
    .gaps = &gaps,
};

}  // namespace tickflow::venues
