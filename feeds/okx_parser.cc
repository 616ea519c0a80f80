// feeds/okx_parser.cc
//
// OKX v5 public websocket ("OKX", and aggr-server's "OKEX"; both name
// markets OKEX:<instId>). Frames:
//
//   {"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[
//     {"instId":"BTC-USDT-SWAP","tradeId":"123","px":"63241.3","sz":"15","side":"sell","ts":"1714567890400",
//      "count":"2"},..]}                                              trades (and trades-all)
//   {"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[
//     {"instId":"BTC-USDT-SWAP",..,"details":[{"bkPx":"62950.1","sz":"40","side":"sell","posSide":"long",
//      "ts":".."},..]},..]}                                           liquidations
//   "pong" (text), {"event":"subscribe"|"error"|"login",..}           SkipKind::kControl
//   channels "books*", "bbo-tbt"                                      SkipKind::kBook
//   any other channel (tickers, candles, ...)                         SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: trades' `side` is the taker side. A liquidation's `side` is the
//    liquidation order's side (sell: a long was liquidated); flagged
//    kTradeLiquidation.
//  * Units: an instId of two dash-separated parts (BTC-USDT) is spot, sz is
//    base. Swaps and futures (BTC-USDT-SWAP, BTC-USD-220527) take their
//    terms from the instruments table (or the registry): linear
//    qty = sz * ctVal, inverse qty = sz * ctVal / px. An instrument whose
//    terms are unknown is ParseError::kUnknownInstrument, never guessed.
//    Liquidation `sz` is converted the same way.
//  * Ids: tradeId is a numeric string, used as it is. Liquidations carry no
//    id: trade_id = hash of "instId|ts|side|sz|bkPx" (parsed numbers in
//    shortest round-trip form), flagged kTradeIdHashed.
//  * Times: ts, a string of ms -> exchange_ts_ns.
//
// Errors: a frame that is not JSON, not an object, or lacks arg/data is
// counted once by reason. Inside "data" (and a liquidation's "details"),
// each bad trade is counted by reason and skipped, and the good ones of the
// same frame are kept. A structural error inside the arrays (truncated,
// unbalanced) is counted once and ends the frame, keeping the trades already
// emitted. Outcome: kEvents when at least one trade was emitted, else
// kError; a trade frame with no trades at all is counted as kMissingField. A
// full EventBuffer is counted once (kOverflow) and ends the frame.
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

enum class Channel : std::uint8_t { kTrades, kLiquidations, kBook, kOther };

Channel channel_of(std::string_view channel) noexcept {
  if (channel == "trades" || channel == "trades-all") return Channel::kTrades;
  if (channel == "liquidation-orders") return Channel::kLiquidations;
  if (channel.starts_with("books") || channel.starts_with("bbo")) return Channel::kBook;
  return Channel::kOther;
}

// Spot instIds have two dash-separated parts (BTC-USDT).
constexpr bool is_spot_inst(std::string_view inst) noexcept { return std::count(inst.begin(), inst.end(), '-') == 1; }

class OkxParser final : public ExchangeParser {
 public:
  OkxParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("OKEX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame == "pong" || frame == "ping") return skip(SkipKind::kControl);
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

    // {"event":...}: subscribe acks, errors, logins.
    {
      ondemand::value ignored;
      auto e = field(root, "event").get(ignored);
      if (e == simdjson::SUCCESS) return skip(SkipKind::kControl);
      if (e != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(e));
      // Back to the first field: a lookup that starts mid-object wraps around
      // for a second pass, which simdjson 3.0.1 assumes (without checking)
      // sees the structure the first pass saw. Malformed input breaks that
      // assumption (UB; found by fuzz_okx), a lookup from the start never wraps.
      if (auto reset_error = root.reset().error()) return fail(to_parse_error(reset_error));
    }
    ondemand::object arg;
    if (auto e = field(root, "arg").get_object().get(arg)) return fail(to_parse_error(e));
    std::string_view channel_name;
    if (auto e = field(arg, "channel").get_string().get(channel_name)) return fail(to_parse_error(e));
    const Channel channel = channel_of(channel_name);
    if (channel == Channel::kBook) return skip(SkipKind::kBook);
    if (channel == Channel::kOther) return skip(SkipKind::kOtherChannel);

    ondemand::array data;
    if (auto e = field(root, "data").get_array().get(data)) return fail(to_parse_error(e));

    Tally tally;
    for (auto element : data) {
      ondemand::object item;
      if (auto e = element.get_object().get(item)) {
        if (!tally.json_error(*this, e)) break;
        continue;
      }
      if (channel == Channel::kTrades) {
        Trade trade;
        ParseError error{};
        simdjson::error_code json_error = simdjson::SUCCESS;
        if (!read_trade(item, receive_ts_ns, trade, error, json_error)) {
          if (!tally.trade_error(*this, error, json_error)) break;
          continue;
        }
        if (!tally.emitted(*this, trade, out)) break;
      } else if (!read_liquidations(item, receive_ts_ns, out, tally)) {
        break;
      }
    }
    if (tally.events > 0) return ParseOutcome::kEvents;
    if (tally.errors > 0) return ParseOutcome::kError;
    if (tally.unconfigured > 0) return skip(SkipKind::kUnconfigured);
    return fail(ParseError::kMissingField);  // no trades at all
  }

 private:
  // What one frame produced; each method returns false when the frame must end.
  struct Tally {
    std::size_t events = 0;
    std::size_t errors = 0;
    std::size_t unconfigured = 0;
    bool json_error(OkxParser& p, simdjson::error_code e) noexcept {
      p.count_error(to_parse_error(e));
      ++errors;
      return recoverable(e);
    }
    bool trade_error(OkxParser& p, ParseError error, simdjson::error_code json) noexcept {
      if (error == ParseError::kUnknownMarket && p.markets().last_miss() == ResolveMiss::kUnconfigured) {
        ++unconfigured;  // not subscribed on this connection: skipped, not an error
        return true;
      }
      p.count_error(error);
      ++errors;
      return json == simdjson::SUCCESS || recoverable(json);
    }
    bool emitted(OkxParser& p, const Trade& trade, EventBuffer& out) noexcept {
      if (!p.emit(trade, out)) {
        ++errors;
        return false;
      }
      ++events;
      return true;
    }
  };

  const ResolvedMarket* resolve(std::string_view inst, ParseError& error) {
    const bool spot = is_spot_inst(inst);
    const ResolvedMarket* market =
        markets_.resolve(inst, PairCase::kAsIs, spot ? InstrumentKind::kSpot : InstrumentKind::kUnknown, spot ? 1 : 0);
    if (market == nullptr) error = ParseError::kUnknownMarket;
    return market;
  }

  // trades element, fields read in OKX's order.
  bool read_trade(ondemand::object& item, std::int64_t receive_ts_ns, Trade& trade, ParseError& error,
                  simdjson::error_code& json_error) {
    std::string_view inst, side_word;
    std::uint64_t id = 0;
    double price = 0, size = 0;
    std::int64_t ms = 0;
    if (auto e = field(item, "instId").get_string().get(inst)) return json_failed(e, error, json_error);
    if (auto e = uint_or_string(field(item, "tradeId"), id)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "px"), price)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "sz"), size)) return json_failed(e, error, json_error);
    if (auto e = field(item, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = int_or_string(field(item, "ts"), ms)) return json_failed(e, error, json_error);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = resolve(inst, error);
    if (market == nullptr) return false;
    if (!to_base_qty(*market, size, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    trade.trade_id = id;
    trade.price = price;
    trade.market = market->id;
    trade.flags = kTradeNone;
    return true;
  }

  // One liquidation-orders data element: instId, then details[]. False when
  // the frame must end.
  bool read_liquidations(ondemand::object& item, std::int64_t receive_ts_ns, EventBuffer& out, Tally& tally) {
    std::string_view inst;
    if (auto e = field(item, "instId").get_string().get(inst)) return tally.json_error(*this, e);
    ondemand::array details;
    if (auto e = field(item, "details").get_array().get(details)) return tally.json_error(*this, e);
    for (auto element : details) {
      ondemand::object detail;
      if (auto e = element.get_object().get(detail)) {
        if (!tally.json_error(*this, e)) return false;
        continue;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      if (!read_liquidation(inst, detail, receive_ts_ns, trade, error, json_error)) {
        if (!tally.trade_error(*this, error, json_error)) return false;
        continue;
      }
      if (!tally.emitted(*this, trade, out)) return false;
    }
    return true;
  }

  bool read_liquidation(std::string_view inst, ondemand::object& detail, std::int64_t receive_ts_ns, Trade& trade,
                        ParseError& error, simdjson::error_code& json_error) {
    double price = 0, size = 0;
    std::string_view side_word;
    std::int64_t ms = 0;
    if (auto e = number_or_string(field(detail, "bkPx"), price)) return json_failed(e, error, json_error);
    if (auto e = field(detail, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(detail, "sz"), size)) return json_failed(e, error, json_error);
    if (auto e = int_or_string(field(detail, "ts"), ms)) return json_failed(e, error, json_error);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = resolve(inst, error);
    if (market == nullptr) return false;
    if (!to_base_qty(*market, size, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    trade.trade_id = IdKey{}.add(inst).add(ms).add(side_word).add(size).add(price).hash();
    trade.price = price;
    trade.market = market->id;
    trade.flags = kTradeLiquidation | kTradeIdHashed;
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_okx_parser(std::string_view exchange, MarketRegistry& registry,
                                                ParserOptions options) {
  if (exchange == "OKX" || exchange == "OKEX") return std::make_unique<OkxParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
