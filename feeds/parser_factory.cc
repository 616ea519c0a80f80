#include "feeds/parser_factory.h"

#include <array>

namespace tickflow {
namespace {

using Maker = std::unique_ptr<ExchangeParser> (*)(std::string_view, MarketRegistry&, ParserOptions);

struct Family {
  std::string_view name;
  Maker make;
};

constexpr std::array kFamilies{
    Family{"BINANCE", &make_binance_parser},           // spot
    Family{"BINANCE_FUTURES", &make_binance_parser},   // USD-M and COIN-M (told apart by symbol)
    Family{"BINANCE_DELIVERY", &make_binance_parser},  // cryptofeed's name for COIN-M
    Family{"BYBIT", &make_bybit_parser},               // v5 linear + inverse (by symbol), legacy v2 trade.*
    Family{"BYBIT_SPOT", &make_bybit_parser},          // v5 spot: BYBIT:<symbol>-SPOT
    Family{"OKX", &make_okx_parser},                   // v5; markets named OKEX:<instId>
    Family{"OKEX", &make_okx_parser},                  // aggr-server's name for OKX
    Family{"DERIBIT", &make_deribit_parser},           // JSON-RPC trades.*
    Family{"BITFINEX", &make_bitfinex_parser},         // ws v2 trades (te), chanId map from "subscribed"
    Family{"HUOBI", &make_htx_parser},                 // HTX spot, gzip frames
    Family{"HUOBI_SWAP", &make_htx_parser},            // HTX coin-/USDT-margined swaps: HUOBI:BTC-USD
    Family{"COINBASE", &make_coinbase_parser},         // Exchange matches: COINBASE:<product_id>
    Family{"KRAKEN", &make_kraken_parser},             // spot ws v1 trade arrays: KRAKEN:XBT/USD
    Family{"KRAKEN_FUTURES", &make_kraken_parser},     // futures ws v1: KRAKEN:PI_XBTUSD
    Family{"BITMEX", &make_bitmex_parser},             // trade + liquidation tables: BITMEX:<symbol>
    Family{"MEXC", &make_mexc_parser},                 // spot, protobuf aggre.deals: MEXC:<symbol>
    Family{"MEXC_FUTURES", &make_mexc_parser},         // contract push.deal: MEXC:<symbol> (BTC_USDT)
    Family{"CRYPTOCOM", &make_cryptocom_parser},       // Exchange v1 trade.*: CRYPTOCOM:<instrument>
    Family{"HITBTC", &make_hitbtc_parser},             // ws v3 trades: HITBTC:<symbol>
    Family{"KUCOIN", &make_kucoin_parser},             // spot /market/match: KUCOIN:BTC-USDT
    Family{"KUCOIN_FUTURES", &make_kucoin_parser},     // /contractMarket/execution: KUCOIN:XBTUSDTM
    Family{"PHEMEX", &make_phemex_parser},             // trade(_p).subscribe: PHEMEX:BTCUSD, sBTCUSDT, BTCUSDT
    Family{"POLONIEX", &make_poloniex_parser},         // v3 trades channel: POLONIEX:BTC_USDT
    Family{"BINANCE_US", &make_binance_parser},        // Binance spot protocol: BINANCE_US:btcusd
    Family{"ASTER", &make_binance_parser},             // Binance USD-M protocol: ASTER:BTCUSDT
    Family{"BITMART", &make_bitmart_parser},           // spot/trade: BITMART:BTC_USDT (raw deflate or text)
    Family{"BITMART_FUTURES", &make_bitmart_parser},   // futures/trade: BITMART:BTCUSDT (contracts x size)
    Family{"BITUNIX", &make_bitunix_parser},           // futures trade channel: BITUNIX:BTCUSDT
    Family{"DYDX", &make_dydx_parser},                 // v4 indexer (and v3 captures) v[34]_trades: DYDX:BTC-USD
    Family{"HYPERLIQUID", &make_hyperliquid_parser},   // trades channel: HYPERLIQUID:<coin>
    Family{"BITSTAMP", &make_bitstamp_parser},         // live_trades_<pair>: BITSTAMP:btcusd
    Family{"BITGET", &make_bitget_parser},             // v1/v2 trade channel: BITGET:<instId>-SPOT
    Family{"BITGET_FUTURES", &make_bitget_parser},     // USDT-M perps: BITGET:<instId>
    Family{"GATEIO", &make_gateio_parser},             // v4 spot.trades: GATEIO:<pair>-SPOT
    Family{"GATEIO_FUTURES", &make_gateio_parser},     // v4 futures.trades + public_liquidates: GATEIO:<contract>
};

}  // namespace

std::unique_ptr<ExchangeParser> make_parser(std::string_view exchange, MarketRegistry& registry,
                                            ParserOptions options) {
  for (const Family& family : kFamilies) {
    if (family.name == exchange) return family.make(exchange, registry, options);
  }
  return nullptr;
}

const std::vector<std::string>& known_exchanges() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Family& family : kFamilies) v.emplace_back(family.name);
    return v;
  }();
  return names;
}

}  // namespace tickflow
