// bus/subjects.h
//
// The NATS subjects tickflow publishes on, one function per kind:
//
//   tickflow.trades.<EXCHANGE>.<market>        normalized trades (collector)
//   tickflow.liquidations.<EXCHANGE>.<market>  normalized liquidations
//   tickflow.status.<collector>                a collector's feed status (watermarks, gaps)
//   tickflow.bars.<timeframe>.<market>         closed bars (aggregator), e.g. tickflow.bars.1s.BINANCE:btcusdt
//   tickflow.signals.<symbol>                  strategy signals
//
// Promises:
//  * every token is a valid NATS subject token: exchange spellings of
//    markets may hold '.', '*', '>' or spaces (which NATS reserves), so
//    subject_token() percent-escapes those bytes, '%' itself and every byte
//    outside printable ASCII. It is injective, so two markets never share a
//    subject; the market's exact name always travels in the payload too;
//  * no allocation beyond the returned string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tickflow::bus {

inline constexpr std::string_view kSubjectRoot = "tickflow";

// `raw` as one NATS subject token (never empty: "" becomes "%00").
std::string subject_token(std::string_view raw);

std::string trades_subject(std::string_view exchange, std::string_view market);
std::string liquidations_subject(std::string_view exchange, std::string_view market);
std::string status_subject(std::string_view collector);
// `timeframe_s` as aggr-server names it: 1s, 5s, 1m, 5m, 1h, 4h, 1d...
std::string bars_subject(std::uint32_t timeframe_s, std::string_view market);
std::string signals_subject(std::string_view symbol);

}  // namespace tickflow::bus
