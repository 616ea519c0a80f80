#include "feeds/instruments.h"

#include <array>

namespace tickflow {
namespace {

using K = InstrumentKind;

// Sources: Binance dapi/v1/exchangeInfo `contractSize`; OKX public/instruments
// `ctVal`. Dated contracts are those in the bundled cryptofeed captures.
constexpr std::array kInstruments{
    // Binance COIN-M: q is contracts of a fixed USD value.
    InstrumentSpec{"BINANCE_FUTURES", "btcusd_perp", K::kInverse, 100, "BTC", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "btcusd_211231", K::kInverse, 100, "BTC", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "ethusd_perp", K::kInverse, 10, "ETH", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "ethusd_210924", K::kInverse, 10, "ETH", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "bchusd_perp", K::kInverse, 10, "BCH", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "eosusd_perp", K::kInverse, 10, "EOS", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "etcusd_perp", K::kInverse, 10, "ETC", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "linkusd_perp", K::kInverse, 10, "LINK", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "xrpusd_perp", K::kInverse, 10, "XRP", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "trxusd_perp", K::kInverse, 10, "TRX", "USD"},
    InstrumentSpec{"BINANCE_FUTURES", "solusd_perp", K::kInverse, 10, "SOL", "USD"},
    // OKX swaps and futures: sz is contracts of ctVal.
    InstrumentSpec{"OKEX", "BTC-USDT-SWAP", K::kLinear, 0.01, "BTC", "USDT"},
    InstrumentSpec{"OKEX", "ETH-USDT-SWAP", K::kLinear, 0.1, "ETH", "USDT"},
    InstrumentSpec{"OKEX", "SOL-USDT-SWAP", K::kLinear, 1, "SOL", "USDT"},
    InstrumentSpec{"OKEX", "BTC-USD-SWAP", K::kInverse, 100, "BTC", "USD"},
    InstrumentSpec{"OKEX", "ETH-USD-SWAP", K::kInverse, 10, "ETH", "USD"},
    InstrumentSpec{"OKEX", "UNI-USD-SWAP", K::kInverse, 10, "UNI", "USD"},
    InstrumentSpec{"OKEX", "BTC-USD-220527", K::kInverse, 100, "BTC", "USD"},
    // BitMart USDT-margined futures: deal_vol is contracts of contract_size
    // (api-cloud-v2.bitmart.com/contract/public/details).
    InstrumentSpec{"BITMART", "BTCUSDT", K::kLinear, 0.001, "BTC", "USDT"},
    // MEXC futures (MEXC:BTC_USDT): push.deal `v` is contracts of contract/detail `contractSize` (base).
    InstrumentSpec{"MEXC", "BTC_USDT", K::kLinear, 0.0001, "BTC", "USDT"},
    InstrumentSpec{"MEXC", "ETH_USDT", K::kLinear, 0.01, "ETH", "USDT"},
    // KuCoin futures (api-futures.kucoin.com/api/v1/contracts/active
    // `multiplier`): linear ..USDTM size is contracts of `multiplier` base;
    // inverse ..USDM (multiplier -1) is 1 USD per contract.
    InstrumentSpec{"KUCOIN", "XBTUSDTM", K::kLinear, 0.001, "BTC", "USDT"},
    InstrumentSpec{"KUCOIN", "ETHUSDTM", K::kLinear, 0.01, "ETH", "USDT"},
    InstrumentSpec{"KUCOIN", "XBTUSDM", K::kInverse, 1, "BTC", "USD"},
    // Phemex contracts (api.phemex.com/public/products `contractSize`). Price
    // scales of trade.subscribe (feeds/phemex_parser.cc): contracts priceEp =
    // price * 10^4 (priceScale 4), quantities in contracts; spot (sBTCUSDT)
    // priceEp = price * 10^8 and base quantity * 10^8; trade_p (BTCUSDT) real.
    InstrumentSpec{"PHEMEX", "BTCUSD", K::kInverse, 1, "BTC", "USD"},
    InstrumentSpec{"PHEMEX", "XRPUSD", K::kLinear, 5, "XRP", "USD"},
    // Gate.io USDT perpetuals: size is contracts of quanto_multiplier base
    // (api/v4/futures/usdt/contracts).
    InstrumentSpec{"GATEIO", "BTC_USDT", K::kLinear, 0.0001, "BTC", "USDT"},
    InstrumentSpec{"GATEIO", "ETH_USDT", K::kLinear, 0.01, "ETH", "USDT"},
};

}  // namespace

std::span<const InstrumentSpec> shipped_instruments() noexcept { return kInstruments; }

const InstrumentSpec* find_shipped_instrument(std::string_view exchange, std::string_view pair) noexcept {
  for (const auto& spec : kInstruments) {
    if (spec.exchange == exchange && spec.pair == pair) return &spec;
  }
  return nullptr;
}

}  // namespace tickflow
