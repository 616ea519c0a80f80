// feeds/bybit_parser.cc
//
// Bybit derivatives ("BYBIT": v5 linear and inverse, and the legacy v2
// topic) and Bybit spot ("BYBIT_SPOT": v5 spot). Frames:
//
//   {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":..,"data":[
//     {"T":<ms>,"s":"BTCUSDT","S":"Buy","v":"0.120","p":"63245.10","i":"<uuid>",..},..]}   v5 trades
//   {"topic":"allLiquidation.BTCUSDT","ts":..,"data":[
//     {"T":<ms>,"s":"BTCUSDT","S":"Buy","v":"0.350","p":"62980.50"},..]}                  v5 liquidations
//   {"topic":"trade.BTCUSDT","data":[{"symbol":"BTCUSDT","price":"1053.90","size":0.14,
//     "trade_time_ms":"1618677785116","side":"Buy","trade_id":"<uuid>",..},..]}          v2 trades
//   {"success":true,..,"op":..} / {"op":"pong",..}    acks, pongs: SkipKind::kControl
//   topics "orderbook.*", "orderBookL2_25.*", ...     SkipKind::kBook
//   any other topic (tickers, klines, ...)            SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: trades carry the taker side (S / side). allLiquidation's S is the
//    side of the liquidated POSITION, so S:"Buy" (a long) becomes a Sell
//    liquidation order, and S:"Sell" a Buy; flagged kTradeLiquidation.
//  * Market names: "BYBIT" -> BYBIT:<symbol> (BYBIT:BTCUSDT, BYBIT:BTCUSD);
//    "BYBIT_SPOT" -> BYBIT:<symbol>-SPOT (BYBIT:BTCUSDT-SPOT).
//  * Units, told apart by the symbol (unless the registry already knows the
//    market with other terms, in which case those win):
//      - spot (BYBIT_SPOT): v is base.
//      - linear: a symbol ending in USDT, USDC or PERP, or any symbol with a
//        '-' (dated USDT/USDC futures: BTCUSDT-27DEC24, BTC-27DEC24):
//        v / size is base.
//      - inverse: a symbol ending in USD (BTCUSD), or USD followed by a
//        futures month code and a two-digit year (BTCUSDM24, BTCUSDH25):
//        v / size is USD, base = v / p.
//      - anything else: ParseError::kUnknownInstrument, never guessed.
//    The v2 capture (realtime_public) holds USDT symbols only, whose size is
//    base; v2 inverse symbols (BTCUSD) have size in USD like v5.
//  * Ids: trade ids are UUIDs: trade_id = hash_trade_id(uuid), flagged
//    kTradeIdHashed (de-duplication only, no gap detection). Liquidations
//    carry no id: trade_id = hash of "symbol|T|S|v|p" (the parsed numbers in
//    shortest round-trip form), flagged kTradeIdHashed, so the same
//    liquidation received twice hashes the same.
//  * Times: T / trade_time_ms (ms, number or string) -> exchange_ts_ns.
//  * Numbers: p / v / price / size as JSON strings or numbers.
//
// Errors: a frame that is not JSON, not an object or lacks "data" is
// counted once by reason. Inside "data", each bad trade (missing field,
// wrong type, impossible value, unknown instrument) is counted by reason and
// skipped; the good trades of the same frame are kept. A structural error
// met inside "data" (truncated, unbalanced) is counted once and ends the
// frame, keeping the trades already emitted. The frame's outcome is kEvents
// when it emitted at least one trade, else kError; a trade frame whose data
// array is empty is counted as kMissingField. A full EventBuffer is counted
// once (kOverflow) and ends the frame.
//
// The simdjson parser is the parsing thread's own (thread_json_parser), looked
// up on every frame: a parser built on one thread may parse on another.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

constexpr bool is_month_code(char c) noexcept {
  switch (c) {
    case 'F':
    case 'G':
    case 'H':
    case 'J':
    case 'K':
    case 'M':
    case 'N':
    case 'Q':
    case 'U':
    case 'V':
    case 'X':
    case 'Z': return true;
    default: return false;
  }
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The rule in the banner: linear, inverse or unknown, from the symbol.
constexpr InstrumentKind derivative_kind(std::string_view s) noexcept {
  if (s.find('-') != std::string_view::npos) return InstrumentKind::kLinear;
  if (s.ends_with("USDT") || s.ends_with("USDC") || s.ends_with("PERP")) return InstrumentKind::kLinear;
  if (s.ends_with("USD") && s.size() > 3) return InstrumentKind::kInverse;
  const std::size_t n = s.size();
  if (n > 6 && s.substr(n - 6, 3) == "USD" && is_month_code(s[n - 3]) && is_digit(s[n - 2]) && is_digit(s[n - 1]))
    return InstrumentKind::kInverse;
  return InstrumentKind::kUnknown;
}

enum class Topic : std::uint8_t { kTradeV5, kLiquidationV5, kTradeV2, kBook, kOther };

Topic topic_of(std::string_view topic) noexcept {
  if (topic.starts_with("publicTrade.")) return Topic::kTradeV5;
  if (topic.starts_with("allLiquidation.")) return Topic::kLiquidationV5;
  if (topic.starts_with("trade.")) return Topic::kTradeV2;
  if (topic.starts_with("orderbook") || topic.starts_with("orderBook")) return Topic::kBook;
  return Topic::kOther;
}

class BybitParser final : public ExchangeParser {
 public:
  BybitParser(bool spot, MarketRegistry& registry, ParserOptions options)
      : ExchangeParser("BYBIT", registry, options), spot_(spot) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::json_type type;
    if (auto e = doc.type().get(type)) return fail(to_parse_error(e));  // garbage: kTruncated
    if (type != ondemand::json_type::object) return fail(ParseError::kBadType);
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(to_parse_error(e));

    std::string_view topic_name;
    if (auto e = field(root, "topic").get_string().get(topic_name)) {
      if (e != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(e));
      // No topic: acks ({"success":..}), pongs and other op replies ({"op":..}).
      bool control = false;
      for (const char* key : {"success", "op"}) {
        ondemand::value ignored;
        auto found = field(root, key).get(ignored);
        if (found == simdjson::SUCCESS) {
          control = true;
          break;
        }
        if (found != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(found));
      }
      return control ? skip(SkipKind::kControl) : fail(ParseError::kUnknownChannel);
    }

    const Topic topic = topic_of(topic_name);
    if (topic == Topic::kBook) return skip(SkipKind::kBook);
    if (topic == Topic::kOther) return skip(SkipKind::kOtherChannel);

    ondemand::array data;
    if (auto e = field(root, "data").get_array().get(data)) return fail(to_parse_error(e));

    std::size_t emitted = 0;
    std::size_t errors = 0;
    std::size_t unconfigured = 0;
    for (auto element : data) {
      ondemand::object item;
      if (auto e = element.get_object().get(item)) {
        count_error(to_parse_error(e));
        ++errors;
        if (recoverable(e)) continue;
        break;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      const bool ok = topic == Topic::kTradeV2
                          ? read_v2(item, receive_ts_ns, trade, error, json_error)
                          : read_v5(item, topic == Topic::kLiquidationV5, receive_ts_ns, trade, error, json_error);
      if (!ok) {
        if (error == ParseError::kUnknownMarket && markets_.last_miss() == ResolveMiss::kUnconfigured) {
          ++unconfigured;  // not subscribed on this connection: skipped, not an error
          continue;
        }
        count_error(error);
        ++errors;
        if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
        continue;
      }
      if (!emit(trade, out)) {
        ++errors;
        break;
      }
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    if (unconfigured > 0) return skip(SkipKind::kUnconfigured);
    return fail(ParseError::kMissingField);  // an empty data array
  }

 private:
  const ResolvedMarket* resolve(std::string_view symbol, ParseError& error) {
    const ResolvedMarket* market = nullptr;
    if (spot_) {
      // BYBIT:<symbol>-SPOT, keyed (and named) by "<symbol>-SPOT".
      constexpr std::string_view kSuffix = "-SPOT";
      char key[80];
      if (symbol.size() + kSuffix.size() > sizeof key) {
        error = ParseError::kUnknownMarket;
        return nullptr;
      }
      std::memcpy(key, symbol.data(), symbol.size());
      std::memcpy(key + symbol.size(), kSuffix.data(), kSuffix.size());
      market = markets_.resolve({key, symbol.size() + kSuffix.size()}, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    } else {
      const InstrumentKind kind = derivative_kind(symbol);
      market = markets_.resolve(symbol, PairCase::kAsIs, kind, kind == InstrumentKind::kUnknown ? 0 : 1);
    }
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return nullptr;
    }
    return market;
  }

  // v5 publicTrade / allLiquidation element, fields read in Bybit's order.
  bool read_v5(ondemand::object& item, bool liquidation, std::int64_t receive_ts_ns, Trade& trade, ParseError& error,
               simdjson::error_code& json_error) {
    std::int64_t ms = 0;
    std::string_view symbol, side_word, uuid;
    double size = 0, price = 0;
    if (auto e = int_or_string(field(item, "T"), ms)) return json_failed(e, error, json_error);
    if (auto e = field(item, "s").get_string().get(symbol)) return json_failed(e, error, json_error);
    if (auto e = field(item, "S").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "v"), size)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "p"), price)) return json_failed(e, error, json_error);
    if (!liquidation) {
      if (auto e = field(item, "i").get_string().get(uuid)) return json_failed(e, error, json_error);
    }
    Side side = Side::kBuy;
    if (!parse_side(side_word, side) || !valid_price(price) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = resolve(symbol, error);
    if (market == nullptr) return false;
    if (!to_base_qty(*market, size, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    trade.price = price;
    trade.market = market->id;
    if (liquidation) {
      trade.side = opposite(side);  // S is the liquidated position's side
      trade.trade_id = IdKey{}.add(symbol).add(ms).add(side_word).add(size).add(price).hash();
      trade.flags = kTradeLiquidation | kTradeIdHashed;
    } else {
      trade.side = side;
      trade.trade_id = hash_trade_id(uuid);
      trade.flags = kTradeIdHashed;
    }
    return true;
  }

  // v2 trade.* element, fields read in Bybit's order.
  bool read_v2(ondemand::object& item, std::int64_t receive_ts_ns, Trade& trade, ParseError& error,
               simdjson::error_code& json_error) {
    std::string_view symbol, side_word, uuid;
    double price = 0, size = 0;
    std::int64_t ms = 0;
    if (auto e = field(item, "symbol").get_string().get(symbol)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "price"), price)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "size"), size)) return json_failed(e, error, json_error);
    if (auto e = int_or_string(field(item, "trade_time_ms"), ms)) return json_failed(e, error, json_error);
    if (auto e = field(item, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = field(item, "trade_id").get_string().get(uuid)) return json_failed(e, error, json_error);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = resolve(symbol, error);
    if (market == nullptr) return false;
    if (!to_base_qty(*market, size, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    trade.price = price;
    trade.market = market->id;
    trade.trade_id = hash_trade_id(uuid);
    trade.flags = kTradeIdHashed;
    return true;
  }

  bool spot_;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bybit_parser(std::string_view exchange, MarketRegistry& registry,
                                                  ParserOptions options) {
  if (exchange == "BYBIT") return std::make_unique<BybitParser>(false, registry, options);
  if (exchange == "BYBIT_SPOT") return std::make_unique<BybitParser>(true, registry, options);
  return nullptr;
}

}  // namespace tickflow
