// runtime/live_plan.cc
#include "runtime/live_plan.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace tickflow {
namespace {

const std::vector<std::string> kLiveExchanges = {"BINANCE", "BINANCE_FUTURES", "BYBIT", "BYBIT_SPOT", "OKX",
                                                 "OKEX",    "COINBASE"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Binance COIN-M symbols carry a settlement suffix (btcusd_perp,
// btcusd_240927); USD-M perpetuals do not.
Venue binance_futures_venue(const std::string& symbol) {
  return symbol.find('_') != std::string::npos ? Venue::kBinanceCoinm : Venue::kBinanceUsdm;
}

// Bybit inverse contracts settle in the coin: BTCUSD, ETHUSD (no T/C).
Venue bybit_venue(const std::string& symbol) {
  return ends_with(symbol, "USD") ? Venue::kBybitInverse : Venue::kBybitLinear;
}

}  // namespace

const std::vector<std::string>& live_exchange_names() { return kLiveExchanges; }

std::vector<PlannedConnection> plan_live_connections(const PipelineConfig& config, const std::string& exchange) {
  const std::string where = config.source.empty() ? std::string("(defaults)") : config.source.string();
  const auto markets = config.markets.find(exchange);
  if (markets == config.markets.end() || markets->second.empty())
    throw ConfigError(where + ": markets." + exchange + ": no symbols");
  if (std::find(kLiveExchanges.begin(), kLiveExchanges.end(), exchange) == kLiveExchanges.end()) {
    std::string known;
    for (const auto& name : kLiveExchanges) known += (known.empty() ? "" : ", ") + name;
    throw ConfigError(where + ": markets." + exchange + ": no live connection for " + exchange +
                      " yet (its captures replay; live exchanges: " + known + ")");
  }

  std::map<Venue, std::vector<std::string>> by_venue;
  for (const std::string& symbol : markets->second) {
    Venue venue = Venue::kBinanceSpot;
    if (exchange == "BINANCE")
      venue = Venue::kBinanceSpot;
    else if (exchange == "BINANCE_FUTURES")
      venue = binance_futures_venue(symbol);
    else if (exchange == "BYBIT")
      venue = bybit_venue(symbol);
    else if (exchange == "BYBIT_SPOT")
      venue = Venue::kBybitSpot;
    else if (exchange == "OKX" || exchange == "OKEX")
      venue = Venue::kOkx;
    else if (exchange == "COINBASE")
      venue = Venue::kCoinbase;
    by_venue[venue].push_back(symbol);
  }

  std::vector<PlannedConnection> out;
  for (auto& [venue, symbols] : by_venue) {
    PlannedConnection c;
    c.exchange = exchange;
    c.feed.venue = venue;
    c.feed.symbols = std::move(symbols);
    if (auto channels = config.live.channels.find(exchange); channels != config.live.channels.end())
      c.feed.channels = channels->second;
    if (auto endpoint = config.live.endpoints.find(exchange); endpoint != config.live.endpoints.end()) {
      c.feed.host = endpoint->second.host;
      c.feed.port = endpoint->second.port;
      c.feed.path = endpoint->second.path;
      c.feed.ca_file = endpoint->second.ca_file;
    }
    c.feed.stale_after = config.live.stale_after;
    c.feed.connect_timeout = config.live.connect_timeout;
    c.feed.handshake_timeout = config.live.connect_timeout;
    c.feed.backoff_initial = config.live.backoff_initial;
    c.feed.backoff_max = config.live.backoff_max;
    // Both id sequences of one Binance symbol on one connection would look
    // like duplicates of each other.
    const auto& ch = c.feed.channels;
    if (std::find(ch.begin(), ch.end(), "trade") != ch.end() && std::find(ch.begin(), ch.end(), "aggTrade") != ch.end())
      c.feed.deduplicate = false;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tickflow
