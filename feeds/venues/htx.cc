// feeds/venues/htx.cc
//
// HTX (Huobi) spot and swaps. Every frame HTX sends is a gzip member in a
// binary message; the parser inflates it (feeds/htx_parser.cc).
//
// Spot ([markets] HUOBI: "btcusdt"), wss://api.huobi.pro/ws; swaps
// ([markets] HUOBI_SWAP: contract codes), coin-margined "BTC-USD" on
// wss://api.hbdm.com/swap-ws and USDT-margined "BTC-USDT" on
// wss://api.hbdm.com/linear-swap-ws. One subscribe message per symbol and
// channel, {"sub":"market.btcusdt.trade.detail","id":"btcusdt"} (channel
// "trade.detail"), as aggr-server sends them.
//
// One connection serves one URL, so HUOBI_SWAP has two endpoints: kHtxSwap
// carries the coin-margined codes (-USD) and kHtxLinearSwap the
// USDT-margined ones; a config may list both kinds, and gets a connection
// for each. A connection handed both kinds anyway is refused
// (std::invalid_argument) rather than half-subscribed.
//
// Keepalive: HTX sends {"ping":N} every 5 s and drops a client that leaves
// two unanswered; the parser leaves {"pong":N} as its pending reply and
// LiveFeed sends it. No client pings: the server's are frequent enough for
// stale_after to find a dead connection.
//
// Liquidations: HTX publishes swap liquidations only on the notification
// endpoints (/swap-notification, /linear-swap-notification, topic
// public.<code>.liquidation_orders, op/ts pings), which need their own
// connection and Venue: not followed yet. Spot has none.
//
// Ids: spot's tradeId is consecutive per symbol (gaps by id); swap ids are
// not (time gaps). Backfill: HTX's REST history holds only the most
// recent trades (feeds/backfill.cc).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

std::vector<std::string> trade_channel(bool) { return {"trade.detail"}; }

void subscribe_each(const std::vector<std::string>& symbols, const std::vector<std::string>& channels,
                    LiveFeedPlan& plan) {
  for (const auto& symbol : symbols)
    for (const auto& channel : channels)
      plan.subscribe.push_back(R"({"sub":"market.)" + json_safe(symbol) + "." + json_safe(channel) + R"(","id":")" +
                               symbol + "\"}");
  plan.ping_interval = std::chrono::milliseconds{0};  // the server pings us
}

void plan_spot(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "api.huobi.pro";
  plan.port = 443;
  plan.target = config.path.empty() ? "/ws" : config.path;
  std::vector<std::string> symbols;
  for (const auto& symbol : config.symbols) symbols.push_back(lower_ascii(symbol));
  subscribe_each(symbols, channels, plan);
}

bool coin_margined(std::string_view code) { return code.ends_with("-USD") || code.ends_with("-usd"); }
bool usdt_margined(std::string_view code) { return !coin_margined(code); }

void plan_swap(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  std::vector<std::string> codes;  // contract codes are upper case: BTC-USDT
  std::size_t coin = 0;
  for (const auto& symbol : config.symbols) {
    codes.push_back(upper_ascii(symbol));
    coin += coin_margined(codes.back()) ? 1 : 0;
  }
  if (coin != 0 && coin != codes.size())
    throw std::invalid_argument(
        "HTX swaps: coin-margined (BTC-USD) and USDT-margined (BTC-USDT) codes are served by different endpoints "
        "(/swap-ws, /linear-swap-ws); list one kind under [markets] HUOBI_SWAP");
  plan.host = "api.hbdm.com";
  plan.port = 443;
  plan.target = !config.path.empty() ? config.path : coin != 0 ? "/swap-ws" : "/linear-swap-ws";
  subscribe_each(codes, channels, plan);
}

std::string spot_pair(const std::string& symbol) { return lower_ascii(symbol); }
std::string swap_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection spot_gaps(const std::vector<std::string>&) { return GapDetection::kIds; }
GapDetection swap_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kHtxSpot{
    .venue = Venue::kHtxSpot,
    .name = "htx-spot",
    .exchange = "HUOBI",
    .parser = "HUOBI",
    .default_channels = &trade_channel,
    .plan = &plan_spot,
    .market_pair = &spot_pair,
    .gaps = &spot_gaps,
};

const VenueProtocol kHtxSwap{
    .venue = Venue::kHtxSwap,
    .name = "htx-swap",
    .exchange = "HUOBI_SWAP",
    .parser = "HUOBI_SWAP",
    .carries = &coin_margined,
    .default_channels = &trade_channel,
    .plan = &plan_swap,
    .market_pair = &swap_pair,
    .gaps = &swap_gaps,
};

const VenueProtocol kHtxLinearSwap{
    .venue = Venue::kHtxLinearSwap,
    .name = "htx-linear-swap",
    .exchange = "HUOBI_SWAP",
    .parser = "HUOBI_SWAP",
    .carries = &usdt_margined,
    .default_channels = &trade_channel,
    .plan = &plan_swap,
    .market_pair = &swap_pair,
    .gaps = &swap_gaps,
};

}  // namespace tickflow::venues
