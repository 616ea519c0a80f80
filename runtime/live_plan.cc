// runtime/live_plan.cc
#include "runtime/live_plan.h"

#include <algorithm>
#include <map>

#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// aggr-server calls OKX "OKEX"; both keys are accepted.
std::string canonical_exchange(const std::string& exchange) { return exchange == "OKX" ? "OKEX" : exchange; }

std::vector<const VenueProtocol*> endpoints_of(const std::string& exchange) {
  std::vector<const VenueProtocol*> out;
  for (const VenueProtocol& p : venue_protocols())
    if (p.exchange == exchange) out.push_back(&p);
  return out;
}

}  // namespace

const std::vector<std::string>& live_exchange_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const VenueProtocol& p : venue_protocols()) {
      if (p.plan == nullptr || std::find(v.begin(), v.end(), p.exchange) != v.end()) continue;
      v.emplace_back(p.exchange);
      if (p.exchange == "OKEX") v.emplace_back("OKX");
    }
    return v;
  }();
  return names;
}

std::string live_market_name(const std::string& exchange, const std::string& symbol) {
  for (const VenueProtocol* p : endpoints_of(canonical_exchange(exchange))) {
    if (p->carries != nullptr && !p->carries(symbol)) continue;
    MarketRegistry scratch;
    const auto parser = make_parser(p->parser, scratch);
    if (!parser) break;
    return parser->exchange() + ":" + (p->market_pair ? p->market_pair(symbol) : symbol);
  }
  return exchange + ":" + symbol;
}

std::vector<PlannedConnection> plan_live_connections(const PipelineConfig& config, const std::string& exchange) {
  const std::string where = config.source.empty() ? std::string("(defaults)") : config.source.string();
  const auto markets = config.markets.find(exchange);
  if (markets == config.markets.end() || markets->second.empty())
    throw ConfigError(where + ": markets." + exchange + ": no symbols");
  const std::vector<const VenueProtocol*> endpoints = endpoints_of(canonical_exchange(exchange));
  auto refuse = [&](const std::string& why) {
    std::string known;
    for (const auto& name : live_exchange_names()) known += (known.empty() ? "" : ", ") + name;
    throw ConfigError(where + ": markets." + exchange + ": " + why + " (live exchanges: " + known + ")");
  };
  if (endpoints.empty()) refuse("no live connection for " + exchange);

  // Each symbol goes to the first endpoint that carries it.
  std::map<Venue, std::vector<std::string>> by_venue;
  for (const std::string& symbol : markets->second) {
    const auto it = std::find_if(endpoints.begin(), endpoints.end(),
                                 [&](const VenueProtocol* p) { return p->carries == nullptr || p->carries(symbol); });
    if (it == endpoints.end()) refuse("no live endpoint of " + exchange + " carries '" + symbol + "'");
    if ((*it)->plan == nullptr) refuse("no live connection for " + std::string((*it)->name) + " yet");
    by_venue[(*it)->venue].push_back(symbol);
  }

  std::vector<PlannedConnection> out;
  for (auto& [venue, symbols] : by_venue) {
    const VenueProtocol& protocol = venue_protocol(venue);
    LiveFeedConfig feed;
    feed.venue = venue;
    if (auto channels = config.live.channels.find(exchange); channels != config.live.channels.end())
      feed.channels = channels->second;
    feed.liquidations = config.live.liquidations;
    if (auto endpoint = config.live.endpoints.find(exchange); endpoint != config.live.endpoints.end()) {
      feed.host = endpoint->second.host;
      feed.port = endpoint->second.port;
      feed.path = endpoint->second.path;
      feed.ca_file = endpoint->second.ca_file;
      feed.bootstrap_url = endpoint->second.bootstrap_url;
    }
    feed.stale_after = config.live.stale_after;
    feed.connect_timeout = config.live.connect_timeout;
    feed.handshake_timeout = config.live.connect_timeout;
    feed.backoff_initial = config.live.backoff_initial;
    feed.backoff_max = config.live.backoff_max;
    feed.own_tls_records = config.live.own_tls_records;
    // Both id sequences of one Binance symbol on one connection would look
    // like duplicates of each other.
    const auto& ch = feed.channels;
    if (std::find(ch.begin(), ch.end(), "trade") != ch.end() && std::find(ch.begin(), ch.end(), "aggTrade") != ch.end())
      feed.deduplicate = false;
    // The venue's topic limit per connection: as many connections as it takes.
    const std::size_t topics_per_symbol = std::max<std::size_t>(1, channels_for(feed).size());
    std::size_t per_connection = symbols.size();
    if (protocol.max_topics != 0) per_connection = std::max<std::size_t>(1, protocol.max_topics / topics_per_symbol);
    for (std::size_t i = 0; i < symbols.size(); i += per_connection) {
      PlannedConnection c;
      c.exchange = exchange;
      c.feed = feed;
      c.feed.symbols.assign(
          symbols.begin() + static_cast<std::ptrdiff_t>(i),
          symbols.begin() + static_cast<std::ptrdiff_t>(std::min(symbols.size(), i + per_connection)));
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace tickflow
