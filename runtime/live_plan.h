// runtime/live_plan.h
//
// From the config's [markets] (exchange -> symbols, as aggr-server names
// them) to the live connections that follow them: which venue endpoint each
// symbol lives on (feeds/venue_protocol.h: the first endpoint of the
// exchange that carries it; Binance futures: USD-M or COIN-M by the
// symbol; Bybit: linear or inverse), with the [feeds] settings, the
// liquidation default and endpoint overrides applied, split over as many
// connections as the venue's per-connection topic limit needs. One
// LiveFeedConfig per connection; the caller numbers them.
//
// An exchange without a live endpoint (or a symbol no endpoint carries) is
// a ConfigError naming the file and the key, so a config never silently
// follows fewer markets than it lists.
#pragma once

#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "feeds/live_feed.h"

namespace tickflow {

struct PlannedConnection {
  std::string exchange;  // the [markets] key
  LiveFeedConfig feed;
};

// The connections of one exchange. Throws ConfigError.
std::vector<PlannedConnection> plan_live_connections(const PipelineConfig& config, const std::string& exchange);

// Exchanges `tickflow run` can connect to.
const std::vector<std::string>& live_exchange_names();

// The market name the feeds will give `symbol` of `exchange` (a [markets]
// key and symbol): the parser's exchange id and the venue's spelling of the
// pair ("GATEIO", "BTC_USDT" -> "GATEIO:BTC_USDT-SPOT"; "BYBIT_SPOT",
// "BTCUSDT" -> "BYBIT:BTCUSDT-SPOT"). Without a live endpoint for it:
// exchange + ":" + symbol.
std::string live_market_name(const std::string& exchange, const std::string& symbol);

}  // namespace tickflow
