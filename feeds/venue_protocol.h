// feeds/venue_protocol.h
//
// VenueProtocol: what one live endpoint of an exchange speaks. LiveFeed
// (live_feed.h) is venue-neutral: the connection, keepalive, reconnect with
// backoff, de-duplication, gap detection and the hand-off to the ring are
// the same for every venue. What differs lives here, one descriptor per
// endpoint kind, one file per exchange family in feeds/venues/:
//
//   * which [markets] key it serves and which of that key's symbols it
//     carries (Binance futures: USD-M or COIN-M by the symbol's shape),
//   * the default channels: trades, plus liquidations wherever the venue
//     publishes them (LiveFeedConfig::liquidations, on by default),
//   * the URL and the subscribe messages, with the venue's per-message and
//     per-connection limits and its subscribe pacing,
//   * the keepalive the venue wants (client pings; server pings are
//     answered through ExchangeParser::pending_reply()),
//   * the spelling of a symbol in market names (the allowlist) and in the
//     REST trade history (the backfill), and which gaps its ids reveal,
//   * an optional bootstrap before every connection attempt (KuCoin's
//     websocket token comes from a REST call).
//
// Promises: plan() is pure (config in, plan out) and throws
// std::invalid_argument for symbols or channels the venue cannot take, so a
// bad config fails at start, not at the exchange. Descriptors are constant
// data with static storage; any thread may read them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow {

struct LiveFeedConfig;
struct LiveFeedPlan;

// One live endpoint kind. The order is part of nothing (not persisted); add
// new venues anywhere.
enum class Venue : std::uint8_t {
  kBinanceSpot = 0,  // wss://stream.binance.com:9443/stream?streams=...
  kBinanceUsdm,      // wss://fstream.binance.com/stream?streams=...
  kBinanceCoinm,     // wss://dstream.binance.com/stream?streams=...
  kBybitSpot,        // wss://stream.bybit.com/v5/public/spot
  kBybitLinear,      // .../v5/public/linear
  kBybitInverse,     // .../v5/public/inverse
  kOkx,              // wss://ws.okx.com:8443/ws/v5/public
  kCoinbase,         // wss://ws-feed.exchange.coinbase.com
  kBinanceUs,
  kAster,
  kBitgetSpot,
  kBitgetFutures,
  kGateioSpot,
  kGateioFutures,
  kKucoinSpot,
  kKucoinFutures,
  kHtxSpot,
  kHtxSwap,  // coin-margined swaps (BTC-USD): /swap-ws
  kKraken,
  kKrakenFutures,
  kBitmex,
  kBitfinex,
  kDeribit,
  kDydx,
  kHyperliquid,
  kMexcSpot,
  kMexcFutures,
  kCryptoCom,
  kBitstamp,
  kPhemex,
  kPoloniex,
  kHitbtc,
  kBitmartSpot,
  kBitmartFutures,
  kBitunix,
  kHtxLinearSwap,  // USDT-margined swaps (BTC-USDT): /linear-swap-ws
  kCount
};
std::string_view to_string(Venue venue) noexcept;

// Which missing trades a venue's ids can reveal (live_feed.h, "Gaps").
enum class GapDetection : std::uint8_t {
  kNone,  // ids say nothing and a reconnect is not reported
  kIds,   // consecutive per market: an id past last + 1 opens [last + 1, id - 1]
  kTime,  // hashed or skipping ids: the first trade after a reconnect reports a time gap
};

struct VenueProtocol {
  Venue venue = Venue::kCount;
  std::string_view name;      // "bitget-spot": logs, /health, metrics labels
  std::string_view exchange;  // the [markets] key it serves: "BITGET"
  std::string_view parser;    // make_parser() name (parser_factory.h)
  // Does this endpoint carry `symbol`, as spelled under [markets]? nullptr:
  // every symbol of the exchange. The first endpoint of the exchange (in
  // venue_protocols() order) that carries a symbol gets it.
  bool (*carries)(std::string_view symbol) = nullptr;
  // Channels when the config names none: the trade channel(s), then the
  // liquidation channel(s) when `liquidations` is true and the venue
  // publishes them. nullptr: the plan picks its own.
  std::vector<std::string> (*default_channels)(bool liquidations) = nullptr;
  // Fills host, port, target, subscribe messages, keepalive and pacing for
  // config.symbols x channels (channels already defaulted). The caller then
  // applies config.host/port/ping_interval overrides. Throws
  // std::invalid_argument on what the venue cannot take (too many topics,
  // a quote character in a symbol). nullptr: no live feed yet.
  void (*plan)(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) = nullptr;
  // A subscribed symbol -> the pair the parser writes in market names (the
  // allowlist). nullptr: as subscribed.
  std::string (*market_pair)(const std::string& symbol) = nullptr;
  // A market's pair -> the symbol the venue's REST trade history takes.
  // nullptr: the pair as is.
  std::string (*rest_symbol)(const std::string& pair) = nullptr;
  // Which gaps `channels` can reveal. nullptr: kNone.
  GapDetection (*gaps)(const std::vector<std::string>& channels) = nullptr;
  // Topics (symbol x channel) one connection may carry, the venue's limit;
  // 0: none. The runtime splits a longer list over several connections.
  std::size_t max_topics = 0;
};

// The descriptor of `venue`. Every Venue has one; plan == nullptr means no
// live feed yet (LiveFeed refuses it with the venue's name).
const VenueProtocol& venue_protocol(Venue venue) noexcept;
// Every descriptor, in Venue order.
std::span<const VenueProtocol> venue_protocols() noexcept;

// Helpers for plans (feeds/venues/*.cc).
// Refuses a symbol or channel that would break the JSON we send (a quote or
// backslash); returns it unchanged.
const std::string& json_safe(const std::string& s);
std::string lower_ascii(std::string s);
std::string upper_ascii(std::string s);
bool contains(const std::vector<std::string>& list, std::string_view item);

}  // namespace tickflow
