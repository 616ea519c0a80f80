// feeds/poloniex_parser.cc
//
// Poloniex v3 public websocket ("POLONIEX", spot; markets POLONIEX:BTC_USDT
// as Poloniex spells symbols). Frames (from the v3 API docs; no capture):
//
//   {"channel":"trades","data":[{"symbol":"BTC_USDT","amount":"70","takerSide":"buy","quantity":"4",
//     "createTime":1648059516810,"price":"104","id":1648059516810,"ts":1648059516832},..]}   trades
//   {"event":"subscribe"|"unsubscribe"|"pong"|"error",..}        SkipKind::kControl
//   channels "book", "book_lv2"                                  SkipKind::kBook
//   any other channel (ticker, candles_*, ..)                    SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md, aggr-server's poloniex.js):
//  * Side: `takerSide` is the taker side.
//  * Units: `quantity` is the base amount. aggr-server divides `amount`
//    (quote) by `price`, the same figure up to rounding; the exchange's own
//    base figure is used here.
//  * Ids: `id` (a number, or a numeric string in REST) is the trade id. Its
//    continuity per symbol is not documented, so the venue reports kTime
//    gaps, not id gaps.
//  * Times: `createTime`, ms since the epoch (the trade's time; `ts` is the
//    push time).
//  * Liquidations: Poloniex spot has none.
//
// Errors: a frame that is not JSON or not an object, or lacks channel/data,
// is counted once by reason. Inside "data" each bad trade is counted by
// reason and skipped, and the good ones of the same frame are kept; a
// structural error ends the frame. Outcome: kEvents when at least one trade
// was emitted, else kError (an empty data array is kMissingField).
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

class PoloniexParser final : public ExchangeParser {
 public:
  PoloniexParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("POLONIEX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    std::string_view channel;
    {
      auto e = field(root, "channel").get_string().get(channel);
      if (e == simdjson::NO_SUCH_FIELD) {
        // {"event":...}: acks, pongs, errors.
        ondemand::value ignored;
        auto event_error = field(root, "event").get(ignored);
        if (event_error == simdjson::SUCCESS) return skip(SkipKind::kControl);
        return fail(to_parse_error(event_error));
      }
      if (e) return fail(to_parse_error(e));
    }
    if (channel != "trades") {
      // A subscribe ack also names its channel: {"event":"subscribe","channel":"trades",..}.
      ondemand::value ignored;
      if (field(root, "event").get(ignored) == simdjson::SUCCESS) return skip(SkipKind::kControl);
      return skip(channel.starts_with("book") ? SkipKind::kBook : SkipKind::kOtherChannel);
    }
    ondemand::array data;
    {
      auto e = field(root, "data").get_array().get(data);
      if (e == simdjson::NO_SUCH_FIELD) {
        ondemand::value ignored;
        if (field(root, "event").get(ignored) == simdjson::SUCCESS) return skip(SkipKind::kControl);
      }
      if (e) return fail(to_parse_error(e));
    }

    std::size_t events = 0, errors = 0, unconfigured = 0;
    for (auto element : data) {
      ondemand::object item;
      Trade trade;
      ParseError error{};
      simdjson::error_code json = simdjson::SUCCESS;
      if (auto e = element.get_object().get(item)) {
        json_failed(e, error, json);
      } else if (read_trade(item, trade, error, json)) {
        trade.receive_ts_ns = receive_ts_ns;
        if (!emit(trade, out)) {
          ++errors;
          break;
        }
        ++events;
        continue;
      }
      if (error == ParseError::kUnknownMarket && markets_.last_miss() == ResolveMiss::kUnconfigured) {
        ++unconfigured;
        continue;
      }
      count_error(error);
      ++errors;
      if (json != simdjson::SUCCESS && !recoverable(json)) break;
    }
    if (events > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    if (unconfigured > 0) return skip(SkipKind::kUnconfigured);
    return fail(ParseError::kMissingField);
  }

 private:
  bool read_trade(ondemand::object& item, Trade& trade, ParseError& error, simdjson::error_code& json) {
    std::string_view symbol, side_word;
    double price = 0, quantity = 0;
    std::uint64_t id = 0;
    std::int64_t ms = 0;
    if (auto e = field(item, "symbol").get_string().get(symbol)) return json_failed(e, error, json);
    if (auto e = field(item, "takerSide").get_string().get(side_word)) return json_failed(e, error, json);
    if (auto e = number_or_string(field(item, "quantity"), quantity)) return json_failed(e, error, json);
    if (auto e = int_or_string(field(item, "createTime"), ms)) return json_failed(e, error, json);
    if (auto e = number_or_string(field(item, "price"), price)) return json_failed(e, error, json);
    if (auto e = uint_or_string(field(item, "id"), id)) return json_failed(e, error, json);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return false;
    }
    if (!to_base_qty(*market, quantity, price, trade.qty, error)) return false;
    trade.trade_id = id;
    trade.price = price;
    trade.market = market->id;
    trade.flags = kTradeNone;
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_poloniex_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options) {
  if (exchange == "POLONIEX") return std::make_unique<PoloniexParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
