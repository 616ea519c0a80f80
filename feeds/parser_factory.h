// feeds/parser_factory.h
//
// make_parser(): the ExchangeParser for an exchange name as users write it
// on the command line, in configs and in cryptofeed capture file names
// ("BINANCE_FUTURES", "OKX", "HUOBI_SWAP"). Names follow cryptofeed where it
// has one; the parser then names markets the aggr-server way
// (BINANCE_DELIVERY -> BINANCE_FUTURES:..., OKX -> OKEX:..., see
// ../shared/docs/exchanges.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/exchange_parser.h"

namespace tickflow {

// nullptr for a name no parser handles; known_exchanges() lists the names.
std::unique_ptr<ExchangeParser> make_parser(std::string_view exchange, MarketRegistry& registry,
                                            ParserOptions options = {});

const std::vector<std::string>& known_exchanges();

// Per-family constructors, one per parser .cc file. `exchange` is one of the
// names that family accepts (see parser_factory.cc).
std::unique_ptr<ExchangeParser> make_binance_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options);
std::unique_ptr<ExchangeParser> make_bybit_parser(std::string_view exchange, MarketRegistry& registry,
                                                  ParserOptions options);
std::unique_ptr<ExchangeParser> make_okx_parser(std::string_view exchange, MarketRegistry& registry,
                                                ParserOptions options);
std::unique_ptr<ExchangeParser> make_deribit_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options);
std::unique_ptr<ExchangeParser> make_bitfinex_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options);
std::unique_ptr<ExchangeParser> make_htx_parser(std::string_view exchange, MarketRegistry& registry,
                                                ParserOptions options);
std::unique_ptr<ExchangeParser> make_coinbase_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options);
std::unique_ptr<ExchangeParser> make_kraken_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);  // KRAKEN, KRAKEN_FUTURES
std::unique_ptr<ExchangeParser> make_bitmex_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);
std::unique_ptr<ExchangeParser> make_bitmart_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options);  // BITMART, BITMART_FUTURES
std::unique_ptr<ExchangeParser> make_bitunix_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options);
std::unique_ptr<ExchangeParser> make_bitget_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);  // BITGET, BITGET_FUTURES
std::unique_ptr<ExchangeParser> make_gateio_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);  // GATEIO, GATEIO_FUTURES
std::unique_ptr<ExchangeParser> make_dydx_parser(std::string_view exchange, MarketRegistry& registry,
                                                 ParserOptions options);
std::unique_ptr<ExchangeParser> make_hyperliquid_parser(std::string_view exchange, MarketRegistry& registry,
                                                        ParserOptions options);
std::unique_ptr<ExchangeParser> make_bitstamp_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options);
std::unique_ptr<ExchangeParser> make_kucoin_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);  // KUCOIN, KUCOIN_FUTURES
std::unique_ptr<ExchangeParser> make_phemex_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);
std::unique_ptr<ExchangeParser> make_poloniex_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options);
std::unique_ptr<ExchangeParser> make_mexc_parser(std::string_view exchange, MarketRegistry& registry,
                                                 ParserOptions options);  // MEXC, MEXC_FUTURES
std::unique_ptr<ExchangeParser> make_cryptocom_parser(std::string_view exchange, MarketRegistry& registry,
                                                      ParserOptions options);
std::unique_ptr<ExchangeParser> make_hitbtc_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options);
// HTX keepalive: the N of the last {"ping":N} an HTX parser saw (0: none yet,
// or not an HTX parser), for the websocket client to answer {"pong":N}.
std::uint64_t htx_last_ping(const ExchangeParser& parser) noexcept;

}  // namespace tickflow
