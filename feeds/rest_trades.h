// feeds/rest_trades.h
//
// parse_rest_trades: one page of a venue's public REST trade history (the
// body of an HTTP 200) -> normalized Trades, for the REST backfill
// (feeds/backfill.h). Formats, newest-first or oldest-first as the venue
// sends them (the caller sorts):
//
//   kBinanceTrades     /api/v3/historicalTrades, /fapi|/dapi/v1/historicalTrades:
//                      [{"id":N,"price":"..","qty":"..","time":ms,"isBuyerMaker":b,..},..]
//   kBinanceAggTrades  /api/v3/aggTrades, /fapi|/dapi/v1/aggTrades:
//                      [{"a":N,"p":"..","q":"..","f":..,"l":..,"T":ms,"m":b,..},..]
//   kBybit             /v5/market/recent-trade:
//                      {"retCode":0,"result":{"list":[{"execId":"..","price":"..","size":"..",
//                       "side":"Buy","time":"ms",..},..]}}
//   kOkx               /api/v5/market/history-trades:
//                      {"code":"0","data":[{"tradeId":"N","px":"..","sz":"..","side":"sell","ts":"ms",..},..]}
//   kCoinbase          /products/<id>/trades:
//                      [{"trade_id":N,"price":"..","size":"..","side":"sell","time":"ISO-8601"},..]
//
// Normalization is the live parser's for the same venue (see each
// <venue>_parser.cc banner): Binance isBuyerMaker/m true = taker sold;
// Bybit and OKX `side` is the taker side; Coinbase `side` is the MAKER side
// (taker = opposite). Quantities go through the market's contract terms
// (ResolvedMarket::to_base): COIN-M contracts and OKX swap ctVal, inverse
// sizes in USD divided by price. Bybit execIds are hashed exactly as the
// live parser hashes `i` (hash_trade_id, kTradeIdHashed), so backfilled and
// live ids compare equal. Every trade carries kTradeBackfill.
//
// Errors are values: a body that is not the expected JSON, an API error
// code inside a 200 (Bybit retCode, OKX code), or any bad trade fails the
// whole page with a reason (a page is re-requested, never half-trusted).
// Cold path: allocates (the body is copied into a padded buffer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/market_resolver.h"
#include "pipeline/events.h"

namespace tickflow {

enum class RestTradesFormat : std::uint8_t { kBinanceTrades, kBinanceAggTrades, kBybit, kOkx, kCoinbase };

struct RestTradesResult {
  bool ok = false;
  std::string error;       // why not ok
  std::size_t trades = 0;  // appended to `out`
};

// Appends the page's trades to `out` (receive_ts_ns stamped on each).
// `market` names the market and its contract terms.
RestTradesResult parse_rest_trades(RestTradesFormat format, std::string_view body, const ResolvedMarket& market,
                                   std::int64_t receive_ts_ns, std::vector<Trade>& out);

}  // namespace tickflow
