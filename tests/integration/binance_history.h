// tests/integration/binance_history.h
//
// binance_history_reply(): Binance spot's trade-history endpoint,
//   GET /api/v3/historicalTrades?symbol=<SYMBOL>&fromId=<N>&limit=<L>
// answered from Binance @trade frames, for a RestTestServer
// (rest_test_server.h) that plays the REST side of a PacedWsServer
// (paced_ws_server.h):
//
//   RestTestServer rest([&](const std::string& target) {
//     return binance_history_reply(server.frames(), "BTCUSDT", target, testing::now_ms());
//   });
//
// Rows: the frames' trades with id >= N that the exchange has already
// published (frame time <= `now_ms`), in id order, at most min(L, 1000)
// (Binance's own cap); fields as Binance sends them (id, price and qty as
// strings, time, isBuyerMaker). Another symbol or path: 400, as Binance
// answers a bad request. Pure function of its arguments: thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/paced_ws_server.h"
#include "tests/integration/rest_test_server.h"

namespace tickflow::testing {

// The raw text of `"key":<value>` in a Binance frame (quotes kept for
// strings); empty when absent. The first occurrence: "data" comes after
// "stream", and the keys looked up here appear only in "data".
inline std::string frame_token(std::string_view frame, std::string_view key) {
  std::string needle = "\"";
  needle.append(key).append("\":");
  const auto at = frame.find(needle);
  if (at == std::string_view::npos) return {};
  const auto start = at + needle.size();
  return std::string(frame.substr(start, frame.find_first_of(",}", start) - start));
}

inline std::uint64_t target_number(const std::string& target, const std::string& key) {
  const auto at = target.find(key + "=");
  if (at == std::string::npos) return 0;
  return std::stoull(target.substr(at + key.size() + 1));
}

inline RestReply binance_history_reply(const std::vector<PacedFrame>& frames, const std::string& symbol,
                                       const std::string& target, std::int64_t now_ms) {
  if (target.rfind("/api/v3/historicalTrades?symbol=" + symbol + "&", 0) != 0) return {400, R"({"code":-1100})"};
  const std::uint64_t from = target_number(target, "fromId");
  const std::size_t limit = std::min<std::size_t>(target_number(target, "limit"), 1000);
  std::string body = "[";
  std::size_t rows = 0;
  for (const PacedFrame& f : frames) {
    if (f.time_ms > now_ms) break;  // not traded yet
    const std::string id = frame_token(f.text, "t");
    if (std::stoull(id) < from) continue;
    if (rows++ == limit) break;
    if (body.size() > 1) body += ',';
    body += "{\"id\":" + id + ",\"price\":" + frame_token(f.text, "p") + ",\"qty\":" + frame_token(f.text, "q") +
            ",\"quoteQty\":\"0\",\"time\":" + frame_token(f.text, "T") +
            ",\"isBuyerMaker\":" + frame_token(f.text, "m") + ",\"isBestMatch\":true}";
  }
  return {200, body + "]"};
}

}  // namespace tickflow::testing
