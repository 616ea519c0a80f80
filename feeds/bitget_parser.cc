// feeds/bitget_parser.cc
//
// Bitget public websocket, spot ("BITGET") and USDT-margined perpetuals
// ("BITGET_FUTURES"). Both parsers name markets under aggr-server's one
// exchange id BITGET and read both API generations:
//
//   v2 (live: wss://ws.bitget.com/v2/ws/public, instType SPOT / USDT-FUTURES):
//   {"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},
//    "data":[{"ts":"1695709835822","price":"26293.4","size":"0.0013","side":"buy",
//             "tradeId":"1116461060594286593"},..],"ts":1695709835822}
//   v1 (the bundled capture: wss://ws.bitget.com/spot/v1/stream, instType "sp"/"mc"):
//   {"action":"update","arg":{"instType":"sp","channel":"trade","instId":"HOTUSDT"},
//    "data":[["1649290077777","0.005613","890.8","buy"],..]}
//
//   action "snapshot" on channel "trade"   SkipKind::kSnapshot: the recent
//                                          trades sent on subscribe (history)
//   "pong" (text), {"event":..}            SkipKind::kControl (acks, errors, logins)
//   channels "books*"                      SkipKind::kBook
//   any other channel (ticker, candle*)    SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md, aggr-server's bitget.js):
//  * Market names: spot -> BITGET:<instId>-SPOT (BITGET:BTCUSDT-SPOT),
//    USDT futures -> BITGET:<instId> (BITGET:BTCUSDT), as aggr-server names
//    them, so spot and perp never collide. Which one is decided by the
//    frame's instType (SPOT/sp -> spot; USDT-FUTURES/USDC-FUTURES/mc ->
//    linear perp), not by the parser name, so a mixed capture replays
//    through either. Other instTypes (COIN-FUTURES: unverified units) are
//    ParseError::kUnknownInstrument, never guessed.
//  * Side: `side` is the taker side. Units: `size` is base for spot and for
//    USDT/USDC futures (Bitget quotes mix sizes in the base coin).
//  * Ids: v2 `tradeId` (numeric string; not consecutive per symbol, so gaps
//    are detected by time, not ids). v1 trades carry no id: trade_id = hash
//    of "instId|<the row's text from ts to side>|k" (k = the trade's index
//    in its frame, so two equal prints in one frame stay distinct), flagged
//    kTradeIdHashed.
//  * Times: `ts`, ms as a string or a number -> exchange_ts_ns.
//  * Liquidations: Bitget v2 publishes none on its public websocket (v3
//    UTA's "liquidation" topic, which aggr-server uses, is not read here).
//
// Errors: a frame that is not JSON, not an object, or lacks action/arg/data
// is counted once by reason. Inside "data", each bad trade is counted by
// reason and skipped, the good ones of the frame are kept; a structural
// error inside the array is counted once and ends the frame. Outcome:
// kEvents when at least one trade was emitted, else kError (an empty trade
// array is kMissingField). No allocation per frame.
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// A field's value as the simdjson_result the json_support.h readers take.
inline simdjson::simdjson_result<ondemand::value> as_result(ondemand::value value) noexcept { return value; }

enum class Product : std::uint8_t { kSpot, kLinear, kUnsupported };

Product product_of(std::string_view inst_type) noexcept {
  if (inst_type == "SPOT" || inst_type == "sp" || inst_type == "SP" || inst_type == "spot") return Product::kSpot;
  if (inst_type == "USDT-FUTURES" || inst_type == "USDC-FUTURES" || inst_type == "mc" || inst_type == "MC" ||
      inst_type == "usdt-futures" || inst_type == "usdc-futures")
    return Product::kLinear;
  return Product::kUnsupported;
}

class BitgetParser final : public ExchangeParser {
 public:
  BitgetParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("BITGET", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame == "pong" || frame == "ping") return skip(SkipKind::kControl);
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // One pass over the top-level keys up to "data": Bitget sends action,
    // arg, data (then ts); "event" marks acks and errors.
    std::string_view action, channel, inst_type, inst;
    bool have_arg = false;
    for (auto field_result : root) {
      ondemand::field f;
      if (auto e = std::move(field_result).get(f)) return fail(to_parse_error(e));
      const auto key = f.key();
      if (key == "event") return skip(SkipKind::kControl);
      if (key == "action") {
        if (auto e = f.value().get_string().get(action)) return fail(to_parse_error(e));
      } else if (key == "arg") {
        ondemand::object arg;
        if (auto e = f.value().get_object().get(arg)) return fail(to_parse_error(e));
        if (auto e = read_arg(arg, channel, inst_type, inst)) return fail(to_parse_error(e));
        have_arg = true;
      } else if (key == "data") {
        if (!have_arg) return fail(ParseError::kMissingField);
        const ParseOutcome early = classify(channel, action);
        if (early != ParseOutcome::kEvents) return early;
        ondemand::array data;
        if (auto e = f.value().get_array().get(data)) return fail(to_parse_error(e));
        return read_trades(data, inst_type, inst, receive_ts_ns, out);
      }
    }
    if (have_arg) {
      const ParseOutcome early = classify(channel, action);
      if (early != ParseOutcome::kEvents) return early;
    }
    return fail(ParseError::kMissingField);
  }

 private:
  static simdjson::error_code read_arg(ondemand::object& arg, std::string_view& channel, std::string_view& inst_type,
                                       std::string_view& inst) noexcept {
    bool have_channel = false;
    for (auto field_result : arg) {
      ondemand::field f;
      if (auto e = std::move(field_result).get(f)) return e;
      const auto key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "channel") {
        e = f.value().get_string().get(channel);
        have_channel = true;
      } else if (key == "instType") {
        e = f.value().get_string().get(inst_type);
      } else if (key == "instId") {
        e = f.value().get_string().get(inst);
      }
      if (e) return e;
    }
    return have_channel ? simdjson::SUCCESS : simdjson::NO_SUCH_FIELD;
  }

  // kEvents: a live trade frame, read on. Anything else: the frame's skip.
  ParseOutcome classify(std::string_view channel, std::string_view action) noexcept {
    if (channel == "trade") {
      if (action == "snapshot") return skip(SkipKind::kSnapshot);
      if (action.empty()) return fail(ParseError::kMissingField);
      return ParseOutcome::kEvents;
    }
    if (channel.starts_with("books")) return skip(SkipKind::kBook);
    return skip(SkipKind::kOtherChannel);
  }

  const ResolvedMarket* resolve(Product product, std::string_view inst, ParseError& error) {
    const ResolvedMarket* market = nullptr;
    if (product == Product::kSpot) {
      constexpr std::string_view kSuffix = "-SPOT";
      char key[80];
      if (inst.size() + kSuffix.size() > sizeof key) {
        error = ParseError::kUnknownMarket;
        return nullptr;
      }
      std::memcpy(key, inst.data(), inst.size());
      std::memcpy(key + inst.size(), kSuffix.data(), kSuffix.size());
      market = markets_.resolve({key, inst.size() + kSuffix.size()}, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    } else {
      market = markets_.resolve(inst, PairCase::kAsIs, InstrumentKind::kLinear, 1);
    }
    if (market == nullptr) error = ParseError::kUnknownMarket;
    return market;
  }

  ParseOutcome read_trades(ondemand::array& data, std::string_view inst_type, std::string_view inst,
                           std::int64_t receive_ts_ns, EventBuffer& out) {
    const Product product = product_of(inst_type);
    if (product == Product::kUnsupported) return fail(ParseError::kUnknownInstrument);
    if (inst.empty()) return fail(ParseError::kMissingField);
    ParseError resolve_error{};
    const ResolvedMarket* market = resolve(product, inst, resolve_error);
    if (market == nullptr) return market_missed();

    std::size_t emitted = 0, errors = 0, index = 0;
    for (auto element : data) {
      ondemand::value value;
      if (auto e = element.get(value)) {
        count_error(to_parse_error(e));
        ++errors;
        break;
      }
      ondemand::json_type type;
      if (auto e = value.type().get(type)) {
        count_error(to_parse_error(e));
        ++errors;
        break;
      }
      Trade trade;
      ParseError error = ParseError::kBadType;
      simdjson::error_code json_error = simdjson::SUCCESS;
      bool ok = false;
      if (type == ondemand::json_type::object) {
        ondemand::object item;
        ok = value.get_object().get(item) == simdjson::SUCCESS && read_v2(item, trade, error, json_error);
      } else if (type == ondemand::json_type::array) {
        ondemand::array item;
        ok = value.get_array().get(item) == simdjson::SUCCESS && read_v1(item, inst, index, trade, error, json_error);
      } else {
        json_error = simdjson::INCORRECT_TYPE;  // a scalar where a trade belongs: skipped whole
      }
      ++index;
      if (!ok) {
        count_error(error);
        ++errors;
        if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
        continue;
      }
      trade.market = market->id;
      trade.receive_ts_ns = receive_ts_ns;
      if (!emit(trade, out)) {
        ++errors;
        break;
      }
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // an empty data array
  }

  // v2 object, looked up in Bitget's order (ts, price, size, side, tradeId):
  // each lookup goes forward from the last one, so a trade in that order is
  // read in one pass (another order still parses, with a rewind per field
  // out of place).
  static bool read_v2(ondemand::object& item, Trade& trade, ParseError& error,
                      simdjson::error_code& json_error) noexcept {
    std::string_view side_word;
    std::int64_t ms = 0;
    if (auto e = int_or_string(field(item, "ts"), ms)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "price"), trade.price)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "size"), trade.qty)) return json_failed(e, error, json_error);
    if (auto e = field(item, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = uint_or_string(field(item, "tradeId"), trade.trade_id)) return json_failed(e, error, json_error);
    return check(trade, side_word, ms, error);
  }

  // v1 array: [ts, price, size, side]. The id hashes the row's text from ts
  // to side as received (contiguous in the frame), the instId and the index.
  static bool read_v1(ondemand::array& item, std::string_view inst, std::size_t index, Trade& trade, ParseError& error,
                      simdjson::error_code& json_error) noexcept {
    std::string_view first, last, side_word;
    std::int64_t ms = 0;
    std::size_t n = 0;
    for (auto element : item) {
      ondemand::value value;
      if (auto e = element.get(value)) return json_failed(e, error, json_error);
      simdjson::error_code e = simdjson::SUCCESS;
      switch (n) {
        case 0:
          first = value.raw_json_token();
          e = int_or_string(as_result(value), ms);
          break;
        case 1: e = number_or_string(value, trade.price); break;
        case 2: e = number_or_string(value, trade.qty); break;
        case 3:
          last = value.raw_json_token();
          e = value.get_string().get(side_word);
          break;
        default: break;
      }
      if (e) return json_failed(e, error, json_error);
      ++n;
    }
    if (n < 4) {
      error = ParseError::kMissingField;
      return false;
    }
    const std::string_view row(first.data(), static_cast<std::size_t>(last.data() + last.size() - first.data()));
    trade.trade_id = IdKey{}.add(inst).add(row).add(static_cast<std::int64_t>(index)).hash();
    trade.flags = kTradeIdHashed;
    return check(trade, side_word, ms, error);
  }

  static bool check(Trade& trade, std::string_view side_word, std::int64_t ms, ParseError& error) noexcept {
    if (!parse_side(side_word, trade.side) || !valid_price(trade.price) || !valid_qty(trade.qty) ||
        !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitget_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options) {
  if (exchange == "BITGET" || exchange == "BITGET_FUTURES") return std::make_unique<BitgetParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
