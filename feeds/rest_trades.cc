#include "feeds/rest_trades.h"

#include <algorithm>

#include "feeds/iso8601.h"
#include "feeds/json_support.h"

namespace tickflow {
namespace {

// One trade's fields as the venue names them.
struct Keys {
  std::string_view id, price, qty, time, side;
};

constexpr Keys keys_of(RestTradesFormat format) noexcept {
  switch (format) {
    case RestTradesFormat::kBinanceTrades: return {"id", "price", "qty", "time", "isBuyerMaker"};
    case RestTradesFormat::kBinanceAggTrades: return {"a", "p", "q", "T", "m"};
    case RestTradesFormat::kBybit: return {"execId", "price", "size", "time", "side"};
    case RestTradesFormat::kOkx: return {"tradeId", "px", "sz", "ts", "side"};
    case RestTradesFormat::kCoinbase: return {"trade_id", "price", "size", "time", "side"};
  }
  return {};
}

std::string describe(std::string_view what, simdjson::error_code error) {
  return std::string(what) + ": " + simdjson::error_message(error);
}

// One element of the page's trade array -> `t`. False with `error` set.
bool read_trade(RestTradesFormat format, ondemand::object& item, const ResolvedMarket& market, Trade& t,
                std::string& error) {
  const Keys k = keys_of(format);
  // Id: Bybit's is a UUID string, hashed as the live parser hashes it.
  if (format == RestTradesFormat::kBybit) {
    std::string_view uuid;
    if (auto e = field(item, k.id).get_string().get(uuid)) return error = describe(k.id, e), false;
    if (uuid.empty()) return error = "empty execId", false;
    t.trade_id = hash_trade_id(uuid);
    t.flags = kTradeIdHashed | kTradeBackfill;
  } else {
    if (auto e = uint_or_string(field(item, k.id), t.trade_id)) return error = describe(k.id, e), false;
    t.flags = kTradeBackfill;
  }
  double size = 0;
  if (auto e = number_or_string(field(item, k.price), t.price)) return error = describe(k.price, e), false;
  if (auto e = number_or_string(field(item, k.qty), size)) return error = describe(k.qty, e), false;
  // Time: ms as a number (Binance) or a string (Bybit, OKX); ISO-8601 (Coinbase).
  if (format == RestTradesFormat::kCoinbase) {
    std::string_view iso;
    if (auto e = field(item, k.time).get_string().get(iso)) return error = describe(k.time, e), false;
    if (!parse_iso8601_ns(iso, t.exchange_ts_ns) || !plausible_exchange_ns(t.exchange_ts_ns))
      return error = "bad time " + std::string(iso), false;
  } else {
    std::uint64_t ms = 0;
    if (auto e = uint_or_string(field(item, k.time), ms)) return error = describe(k.time, e), false;
    if (ms > static_cast<std::uint64_t>(INT64_MAX) || !ms_to_ns(static_cast<std::int64_t>(ms), t.exchange_ts_ns))
      return error = "bad time " + std::to_string(ms), false;
  }
  // Side: Binance says whether the buyer was the maker (then the taker
  // sold); Coinbase names the maker's side; Bybit and OKX the taker's.
  if (format == RestTradesFormat::kBinanceTrades || format == RestTradesFormat::kBinanceAggTrades) {
    bool buyer_is_maker = false;
    if (auto e = field(item, k.side).get_bool().get(buyer_is_maker)) return error = describe(k.side, e), false;
    t.side = buyer_is_maker ? Side::kSell : Side::kBuy;
  } else {
    std::string_view word;
    if (auto e = field(item, k.side).get_string().get(word)) return error = describe(k.side, e), false;
    if (!parse_side(word, t.side)) return error = "bad side " + std::string(word), false;
    if (format == RestTradesFormat::kCoinbase) t.side = opposite(t.side);
  }
  if (!valid_price(t.price)) return error = "bad price", false;
  ParseError why{};
  if (!valid_qty(size) || !to_base_qty(market, size, t.price, t.qty, why))
    return error = why == ParseError::kUnknownInstrument ? "unknown contract terms" : "bad quantity", false;
  t.market = market.id;
  return true;
}

}  // namespace

RestTradesResult parse_rest_trades(RestTradesFormat format, std::string_view body, const ResolvedMarket& market,
                                   std::int64_t receive_ts_ns, std::vector<Trade>& out) {
  RestTradesResult result;
  const std::size_t first = out.size();
  auto fail = [&](std::string why) {
    out.resize(first);  // a page is delivered whole or not at all
    result.ok = false;
    result.trades = 0;
    result.error = std::move(why);
    return result;
  };
  const simdjson::padded_string padded(body);
  ondemand::parser& json = thread_json_parser(std::max<std::size_t>(padded.size(), 1));
  ondemand::document doc;
  if (auto e = json.iterate(padded).get(doc)) return fail(describe("body", e));

  // The trade array: the root (Binance, Coinbase) or inside an envelope that
  // also carries the API's own error code (Bybit, OKX).
  ondemand::array list;
  if (format == RestTradesFormat::kBybit || format == RestTradesFormat::kOkx) {
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(describe("body", e));
    if (format == RestTradesFormat::kBybit) {
      std::int64_t code = -1;
      if (auto e = field(root, "retCode").get_int64().get(code)) return fail(describe("retCode", e));
      if (code != 0) return fail("retCode " + std::to_string(code));
      ondemand::object result_object;
      if (auto e = field(root, "result").get_object().get(result_object)) return fail(describe("result", e));
      if (auto e = field(result_object, "list").get_array().get(list)) return fail(describe("list", e));
    } else {
      std::string_view code;
      if (auto e = field(root, "code").get_string().get(code)) return fail(describe("code", e));
      if (code != "0") return fail("code " + std::string(code));
      if (auto e = field(root, "data").get_array().get(list)) return fail(describe("data", e));
    }
  } else {
    if (auto e = doc.get_array().get(list)) return fail(describe("body", e));
  }

  for (auto element : list) {
    ondemand::object item;
    if (auto e = element.get_object().get(item)) return fail(describe("trade", e));
    Trade t;
    t.receive_ts_ns = receive_ts_ns;
    std::string why;
    if (!read_trade(format, item, market, t, why)) return fail(why);
    out.push_back(t);
  }
  // A structural error inside the array reaches the loop as an element
  // error (it is yielded once, then iteration stops): failed above.
  result.ok = true;
  result.trades = out.size() - first;
  return result;
}

}  // namespace tickflow
