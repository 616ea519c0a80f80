// pipeline/market_id.h
//
// MarketId: the dense integer a market name ("BINANCE_FUTURES:btcusdt") is
// interned to at subscription time, so the hot path indexes arrays instead
// of hashing strings. Ids are assigned 0, 1, 2, ... by MarketRegistry.
#pragma once

#include <cstdint>

namespace tickflow {

using MarketId = std::uint32_t;

inline constexpr MarketId kInvalidMarket = UINT32_MAX;

}  // namespace tickflow
