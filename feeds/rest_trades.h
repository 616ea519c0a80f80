// feeds/rest_trades.h
//
// parse_rest_trades: one page of a venue's public REST trade history (the
// body of an HTTP 200) -> normalized Trades, for the REST backfill
// (feeds/backfill.h). Formats, newest-first or oldest-first as the venue
// sends them (the caller sorts):
//
//   kBinanceTrades     /api/v3/historicalTrades, /fapi|/dapi/v1/historicalTrades (also Binance US,
//                      Aster): [{"id":N,"price":"..","qty":"..","time":ms,"isBuyerMaker":b,..},..]
//   kBinanceAggTrades  /api/v3/aggTrades, /fapi|/dapi/v1/aggTrades:
//                      [{"a":N,"p":"..","q":"..","f":..,"l":..,"T":ms,"m":b,..},..]
//   kBybit             /v5/market/recent-trade:
//                      {"retCode":0,"result":{"list":[{"execId":"..","price":"..","size":"..",
//                       "side":"Buy","time":"ms",..},..]}}
//   kOkx               /api/v5/market/history-trades:
//                      {"code":"0","data":[{"tradeId":"N","px":"..","sz":"..","side":"sell","ts":"ms",..},..]}
//   kCoinbase          /products/<id>/trades:
//                      [{"trade_id":N,"price":"..","size":"..","side":"sell","time":"ISO-8601"},..]
//   kBitget            /api/v2/spot|mix/market/fills-history:
//                      {"code":"00000","data":[{"tradeId":"N","price":"..","size":"..","side":"Buy","ts":"ms"},..]}
//   kGateioSpot        /api/v4/spot/trades: [{"id":"N","create_time_ms":"ms.frac","side":"sell",
//                       "amount":"..","price":".."},..]
//   kGateioFutures     /api/v4/futures/usdt/trades: [{"id":N,"create_time_ms":ms[.frac],
//                       "size":signed contracts,"price":"..","is_internal":b},..]
//   kKucoinSpot        /api/v1/market/histories: {"code":"200000","data":[{"sequence":"N",
//                       "price":"..","size":"..","side":"buy","time":ns},..]}
//   kKucoinFutures     /api/v1/trade/history: {"code":"200000","data":[{"sequence":N,
//                       "price":"..","size":contracts,"side":"buy","ts":ns},..]}
//   kHtx               /market/history/trade, /swap-ex|/linear-swap-ex/market/history/trade:
//                      {"status":"ok","data":[{"id":..,"data":[{"id":N,"trade-id":N,"ts":ms,
//                       "amount":..,"quantity":..,"price":..,"direction":"buy"},..]},..]}
//   kBitmex            /api/v1/trade: [{"timestamp":"ISO","side":"Buy","price":..,
//                       "homeNotional":..,"trdMatchID":"uuid",..},..]
//   kDeribit           public/get_last_trades_by_instrument_and_time:
//                      {"result":{"trades":[{"trade_id":"N","timestamp":ms,"price":..,"amount":..,
//                       "direction":"buy","liquidation":"M"?},..],"has_more":b}}
//   kBitfinex          /v2/trades/<sym>/hist: [[ID,MTS,AMOUNT,PRICE],..]
//   kBitstamp          /api/v2/transactions/<pair>/: [{"date":"s","tid":"N","price":"..",
//                       "amount":"..","type":"0"},..]
//   kDydx              /v4/trades/perpetualMarket/<ticker>: {"trades":[{"id":"..","side":"BUY",
//                       "size":"..","price":"..","type":"LIMIT","createdAt":"ISO"},..]}
//   kCryptoCom         public/get-trades: {"code":0,"result":{"data":[{"d":"N","t":ms,"q":"..",
//                       "p":"..","s":"BUY"},..]}}
//   kHitbtc            /api/3/public/trades/<sym>: [{"id":N,"price":"..","qty":"..","side":"buy",
//                       "timestamp":"ISO"},..]
//   kPoloniex          /markets/<sym>/trades: [{"id":"N","price":"..","quantity":"..",
//                       "takerSide":"BUY","createTime":ms},..]
//   kMexcSpot          /api/v3/trades: [{"id":null,"price":"..","qty":"..","time":ms,"isBuyerMaker":b},..]
//   kMexcFutures       /api/v1/contract/deals/<sym>: {"success":true,"code":0,"data":[{"p":..,"v":..,
//                       "T":1|2,"t":ms},..]}
//   kKraken            /0/public/Trades: {"error":[],"result":{"<PAIR>":[["price","volume",time,
//                       "b","l","",id],..],"last":"ns"}}
//   kPhemex            /md/trade (contracts, spot: scaled integers) and /md/v2/trade (perps):
//                      {"error":null,"result":{"symbol":"BTCUSD","trades":[[ns,"Buy",priceEp,qty],..]}}
//                      or ..."trades_p":[[ns,"Buy","price","qty"],..]
//   kKrakenFutures     /derivatives/api/v3/history: {"result":"success","history":[{"time":"ISO",
//                       "trade_id":N,"price":..,"size":..,"side":"buy","type":"fill"},..]}
//
// Normalization is the live parser's for the same venue (see each
// <venue>_parser.cc banner): Binance isBuyerMaker/m true = taker sold;
// Bybit and OKX `side` is the taker side; Coinbase `side` is the MAKER side
// (taker = opposite). Quantities go through the market's contract terms
// (ResolvedMarket::to_base): COIN-M contracts and OKX swap ctVal, inverse
// sizes in USD divided by price. Bybit execIds are hashed exactly as the
// live parser hashes `i` (hash_trade_id, kTradeIdHashed), so backfilled and
// live ids compare equal; so do BitMEX trdMatchIDs, dYdX ids, non-numeric
// Deribit ids (Crypto.com's numeric ids are flagged hashed, as live). Where the live id is a hash of the trade's fields
// (MEXC) the same fields are hashed. Kraken spot hashes its REST fields as the live parser hashes its websocket ones,
// but the texts differ (4 vs 6 decimals of time), so those ids do not meet live ones: time gaps need no ids (the
// worker's strict bounds); Kraken Futures' REST trade_id is not the live
// feed's seq either. Kraken Futures keeps fills and liquidations (flagged),
// as live, and drops other types. Gate futures times are cut to the ms, as the live
// feed sends them; internal Gate fills are dropped, as live. Deribit and
// dYdX liquidations are flagged and sided as live. Every trade carries
// kTradeBackfill.
//
// Errors are values: a body that is not the expected JSON, an API error
// code inside a 200 (Bybit retCode, OKX/Bitget/KuCoin/Crypto.com/MEXC code,
// HTX status, Kraken error), or any bad trade fails the
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

enum class RestTradesFormat : std::uint8_t {
  kBinanceTrades,
  kBinanceAggTrades,
  kBybit,
  kOkx,
  kCoinbase,
  kBitget,
  kGateioSpot,
  kGateioFutures,
  kKucoinSpot,
  kKucoinFutures,
  kHtx,
  kBitmex,
  kDeribit,
  kBitfinex,
  kBitstamp,
  kDydx,
  kCryptoCom,
  kHitbtc,
  kPoloniex,
  kMexcSpot,
  kMexcFutures,
  kKraken,
  kKrakenFutures,
  kPhemex,
};

struct RestTradesResult {
  bool ok = false;
  std::string error;       // why not ok
  std::size_t trades = 0;  // appended to `out`
};

// Appends the page's trades to `out` (receive_ts_ns stamped on each).
// `market` names the market and its contract terms; `symbol` is the
// venue's symbol, for the formats whose ids are hashes of fields that
// include it (MEXC).
RestTradesResult parse_rest_trades(RestTradesFormat format, std::string_view body, const ResolvedMarket& market,
                                   std::int64_t receive_ts_ns, std::vector<Trade>& out, std::string_view symbol = {});

}  // namespace tickflow
