// feeds/instruments.h
//
// The shipped instruments table: contract terms for the derivatives in the
// bundled captures and the default config. Live feeds learn these from each
// exchange's instruments endpoint; replays and tests cannot reach one, so
// they use this table. A derivative that is in neither is counted as
// ParseError::kUnknownInstrument by its parser, never guessed.
//
// Only instruments whose size varies per symbol are listed. Where an API
// fixes the unit for a whole category (Binance USD-M, Bybit v5 linear and
// spot quantities in base, Kraken PI_/FI_ sizes in USD, Deribit perpetual
// amounts in USD, BitMEX homeNotional, HTX swap `quantity`), the parser
// applies that rule itself and says so in its banner.
#pragma once

#include <span>
#include <string_view>

#include "pipeline/market_registry.h"

namespace tickflow {

struct InstrumentSpec {
  std::string_view exchange;  // aggr-server exchange id: "BINANCE_FUTURES", "OKEX"
  std::string_view pair;      // as in the market name: "btcusd_perp", "BTC-USDT-SWAP"
  InstrumentKind kind;
  double contract_size;  // base per contract (linear), quote per contract (inverse)
  std::string_view base;
  std::string_view quote;
};

std::span<const InstrumentSpec> shipped_instruments() noexcept;

// nullptr when the table does not list it.
const InstrumentSpec* find_shipped_instrument(std::string_view exchange, std::string_view pair) noexcept;

}  // namespace tickflow
