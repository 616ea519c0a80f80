// feeds/venues/kraken.cc
//
// Kraken spot (websocket v1) and Kraken Futures. Both name their markets
// under aggr-server's KRAKEN (feeds/kraken_parser.cc); the [markets] keys
// are KRAKEN (spot pairs as Kraken's ws v1 spells them: "XBT/USD") and
// KRAKEN_FUTURES (product ids: "PI_XBTUSD", "PF_XBTUSD").
//
// Spot, wss://ws.kraken.com: one subscribe message per channel carrying
// every pair, {"event":"subscribe","pair":["XBT/USD"],"subscription":
// {"name":"trade"}}. Keepalive: {"event":"ping"} every 30 s (answered
// {"event":"pong"}); Kraken also sends {"event":"heartbeat"} about once a
// second while a subscription is quiet, so a silent connection is a dead
// one. No public liquidations on spot. Trades carry no id: the parser
// hashes them, so a reconnect reports a time gap.
//
// Futures, wss://futures.kraken.com/ws/v1: {"event":"subscribe","feed":
// "trade","product_ids":[...]}, plus the heartbeat feed (a frame every 5 s,
// so that a quiet product does not look like a dead connection).
// Liquidations come inside the trade feed (type "liquidation"), so there
// is no separate liquidation channel: they arrive with the trades whatever
// LiveFeedConfig::liquidations says. Keepalive: Kraken Futures closes a
// connection that sends nothing for 60 s; websocket pings every 30 s.
// trade_snapshot (history, on subscribe) is skipped by the parser. Ids:
// `seq` is consecutive per product (a snapshot's last seq + 1 is the next
// live trade's), but liquidations take seq numbers from the same sequence
// and LiveFeed keeps liquidations out of id sequences (live_feed.h), so
// every liquidation would look like a one-trade gap: a reconnect reports a
// time gap instead.
//
// Neither venue documents a per-connection subscription limit for public
// feeds; max_topics stays 0. Gaps are backfilled over REST
// (feeds/backfill.cc): spot Trades?pair=XBTUSD (rest_symbol drops the
// slash), futures /derivatives/api/v3/history?symbol=PI_XBTUSD.
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> trade_channel(bool) { return {"trade"}; }

// ["a","b"] from the symbols, each refused if it would break the JSON.
std::string json_list(const std::vector<std::string>& symbols) {
  std::string list = "[";
  for (std::size_t i = 0; i < symbols.size(); ++i) list += (i ? ",\"" : "\"") + json_safe(symbols[i]) + "\"";
  return list + "]";
}

void plan_spot(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "ws.kraken.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/" : config.path;
  const std::string pairs = json_list(config.symbols);
  for (const auto& channel : channels)
    plan.subscribe.push_back(R"({"event":"subscribe","pair":)" + pairs + R"(,"subscription":{"name":")" +
                             json_safe(channel) + "\"}}");
  plan.ping_interval = milliseconds{30'000};
  plan.ping_text = R"({"event":"ping"})";
}

void plan_futures(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "futures.kraken.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws/v1" : config.path;
  const std::string products = json_list(config.symbols);
  for (const auto& channel : channels)
    plan.subscribe.push_back(R"({"event":"subscribe","feed":")" + json_safe(channel) + R"(","product_ids":)" +
                             products + "}");
  plan.subscribe.push_back(R"({"event":"subscribe","feed":"heartbeat"})");
  plan.ping_interval = milliseconds{30'000};  // websocket pings
}

// The REST Trades endpoint takes the pair without the slash: XBTUSD.
std::string spot_rest_symbol(const std::string& pair) {
  std::string out;
  for (char c : pair)
    if (c != '/') out += c;
  return out;
}

std::string futures_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kKraken{
    .venue = Venue::kKraken,
    .name = "kraken",
    .exchange = "KRAKEN",
    .parser = "KRAKEN",
    .default_channels = &trade_channel,
    .plan = &plan_spot,
    .rest_symbol = &spot_rest_symbol,
    .gaps = &time_gaps,
};

const VenueProtocol kKrakenFutures{
    .venue = Venue::kKrakenFutures,
    .name = "kraken-futures",
    .exchange = "KRAKEN_FUTURES",
    .parser = "KRAKEN_FUTURES",
    .default_channels = &trade_channel,  // liquidations ride in the trade feed
    .plan = &plan_futures,
    .market_pair = &futures_pair,
    .gaps = &time_gaps,
};

}  // namespace tickflow::venues
