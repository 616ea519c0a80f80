// feeds/kucoin_parser.cc
//
// KuCoin public websocket, spot ("KUCOIN") and futures ("KUCOIN_FUTURES").
// aggr-server names both KUCOIN:<symbol> (KUCOIN:BTC-USDT spot,
// KUCOIN:XBTUSDTM futures; market_class tells them apart by the trailing M).
// Frames (one trade per frame):
//
//   {"type":"message","topic":"/market/match:BTC-USDT","subject":"trade.l3match","data":{
//     "symbol":"BTC-USDT","sequence":"1612701563869","side":"buy","size":"0.0267","price":"63241.3",
//     "time":"1619378327739050725","tradeId":"6085c097..","takerOrderId":"..","makerOrderId":".."}}  spot
//   {"type":"message","topic":"/contractMarket/execution:XBTUSDTM","subject":"match","data":{
//     "symbol":"XBTUSDTM","sequence":36,"side":"buy","size":12,"price":"63200.5",
//     "ts":1714567890400123456,"tradeId":".."}}                                                   futures
//   {"type":"welcome"|"ack"|"pong"|"error",..}                          SkipKind::kControl
//   topics /market/level2*, /contractMarket/level2*, *depth*             SkipKind::kBook
//   any other topic (ticker, candles, snapshot, instrument)             SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: `side` is the taker side.
//  * Units: spot size is base. Futures size is contracts: linear
//    (..USDTM, ..USDCM) qty = size * multiplier from the instruments table
//    (XBTUSDTM 0.001 BTC), never guessed; inverse (..USDM, KuCoin's
//    multiplier -1: one contract is 1 USD) qty = size / price.
//  * Ids: `sequence`, a number (futures) or a numeric string (spot), is the
//    trade id. It is unique and increasing per symbol but skips (the spot
//    capture: +2, +4, +46 between consecutive trades of one symbol, as the
//    book's sequence moves too), so it serves de-duplication and REST
//    backfill, not id gap detection (the venue reports kTime gaps). The hex
//    `tradeId` is not used.
//  * Times: spot `time` and futures `ts` are ns since the epoch (a string or
//    a number) -> exchange_ts_ns.
//  * Liquidations: KuCoin publishes no public liquidation stream (spot has
//    none; futures liquidations are private), so none are produced.
//
// Errors: a frame that is not JSON, not an object, or lacks type/topic/data
// is counted once by reason; a bad trade field is counted once by reason.
// Nothing allocates per frame (the first sight of a market interns it once).
#include <optional>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

enum class Topic : std::uint8_t { kSpotMatch, kFuturesMatch, kBook, kOther };

Topic topic_of(std::string_view topic) noexcept {
  if (topic.starts_with("/market/match:")) return Topic::kSpotMatch;
  if (topic.starts_with("/contractMarket/execution:")) return Topic::kFuturesMatch;
  if (topic.starts_with("/market/level2") || topic.starts_with("/contractMarket/level2") ||
      topic.find("depth") != std::string_view::npos || topic.starts_with("/spotMarket/level2"))
    return Topic::kBook;
  return Topic::kOther;
}

// ns since the epoch, between 2000 and 2100 (a corrupt field, or ms/us
// confusion, is rejected).
constexpr bool valid_ns(std::int64_t ns) noexcept {
  return ns >= 946'684'800'000'000'000 && ns <= 4'102'444'800'000'000'000;
}

constexpr bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class KucoinParser final : public ExchangeParser {
 public:
  KucoinParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("KUCOIN", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // Fast path: a frame whose bytes name a match topic is read data first
    // (as the naive code would), then its type and topic are checked before
    // the trade is emitted; a frame that fails the check takes the general
    // path below.
    if (const Topic hint = match_hint(frame); hint != Topic::kOther) {
      if (const auto fast = parse_match(root, hint, receive_ts_ns, out)) return *fast;
      if (auto e = root.reset().error()) return fail(to_parse_error(e));
    }

    // One pass over the top-level fields in the order they come: the
    // capture sends data first, today's feed type/topic first. When data
    // comes before type and topic are known it is skipped and found again
    // after one rewind (it is then the first key).
    std::string_view type, topic_name;
    bool have_type = false, have_topic = false, data_seen = false;
    for (auto member : root) {
      ondemand::field fld;
      if (auto e = std::move(member).get(fld)) return fail(to_parse_error(e));
      const ondemand::raw_json_string key = fld.key();
      if (key == std::string_view("type")) {
        if (auto e = fld.value().get_string().get(type)) return fail(to_parse_error(e));
        if (type != std::string_view("message")) return skip(SkipKind::kControl);  // welcome, ack, pong, error
        have_type = true;
      } else if (key == std::string_view("topic")) {
        if (auto e = fld.value().get_string().get(topic_name)) return fail(to_parse_error(e));
        have_topic = true;
      } else if (key == std::string_view("data")) {
        if (have_type && have_topic)
          return on_data(topic_of(topic_name), simdjson::simdjson_result<ondemand::value>(std::move(fld.value())),
                         receive_ts_ns, out);
        data_seen = true;
      }
    }
    if (!have_type || !have_topic) return fail(ParseError::kMissingField);
    const Topic topic = topic_of(topic_name);
    if (topic == Topic::kBook || topic == Topic::kOther || !data_seen)
      return on_data(topic, simdjson::simdjson_result<ondemand::value>(simdjson::NO_SUCH_FIELD), receive_ts_ns, out);
    if (auto e = root.reset().error()) return fail(to_parse_error(e));
    return on_data(topic, field(root, "data"), receive_ts_ns, out);
  }

 private:
  // Which match topic the raw bytes name, if any (kOther: none).
  static Topic match_hint(std::string_view frame) noexcept {
    if (frame.find("/market/match:") != std::string_view::npos) return Topic::kSpotMatch;
    if (frame.find("/contractMarket/execution:") != std::string_view::npos) return Topic::kFuturesMatch;
    return Topic::kOther;
  }

  // The fast path: data, then type and topic. nullopt when the frame is not
  // the match message the hint suggested (the caller rewinds and takes the
  // general path); an outcome otherwise.
  std::optional<ParseOutcome> parse_match(ondemand::object& root, Topic hint, std::int64_t receive_ts_ns,
                                          EventBuffer& out) {
    // After an error that leaves the document unreadable (truncated,
    // unbalanced) nothing more is read from it: counted here, once.
    ondemand::object data;
    if (auto e = field(root, "data").get_object().get(data)) {
      if (!recoverable(e)) return fail(to_parse_error(e));
      return std::nullopt;
    }
    Trade trade;
    ParseError error{};
    simdjson::error_code json = simdjson::SUCCESS;
    const bool read = read_trade(data, hint == Topic::kFuturesMatch, trade, error, json);
    if (!read && json != simdjson::SUCCESS && !recoverable(json)) return fail(error);
    std::string_view topic, type;
    if (auto e = field(root, "topic").get_string().get(topic)) {
      if (!recoverable(e)) return fail(to_parse_error(e));
      return std::nullopt;
    }
    if (topic_of(topic) != hint) return std::nullopt;
    if (auto e = field(root, "type").get_string().get(type)) {
      if (!recoverable(e)) return fail(to_parse_error(e));
      return std::nullopt;
    }
    if (type != std::string_view("message")) return std::nullopt;
    if (!read) {
      if (error == ParseError::kUnknownMarket) return market_missed();
      return fail(error);
    }
    trade.receive_ts_ns = receive_ts_ns;
    return emit(trade, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  // A "message" frame's data, once its topic is known; `data_value` holds
  // NO_SUCH_FIELD when the frame has none.
  ParseOutcome on_data(Topic topic, simdjson::simdjson_result<ondemand::value> data_value, std::int64_t receive_ts_ns,
                       EventBuffer& out) {
    if (topic == Topic::kBook) return skip(SkipKind::kBook);
    if (topic == Topic::kOther) return skip(SkipKind::kOtherChannel);
    ondemand::object data;
    if (auto e = data_value.get_object().get(data)) return fail(to_parse_error(e));
    Trade trade;
    ParseError error{};
    simdjson::error_code json = simdjson::SUCCESS;
    if (!read_trade(data, topic == Topic::kFuturesMatch, trade, error, json)) {
      if (error == ParseError::kUnknownMarket) return market_missed();
      return fail(error);
    }
    trade.receive_ts_ns = receive_ts_ns;
    return emit(trade, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  bool read_trade(ondemand::object& data, bool futures, Trade& trade, ParseError& error, simdjson::error_code& json) {
    std::string_view symbol, side_word;
    std::uint64_t sequence = 0;
    double price = 0, size = 0;
    std::int64_t ns = 0;
    if (auto e = field(data, "symbol").get_string().get(symbol)) return json_failed(e, error, json);
    if (auto e = uint_or_string(field(data, "sequence"), sequence)) return json_failed(e, error, json);
    if (auto e = field(data, "side").get_string().get(side_word)) return json_failed(e, error, json);
    if (auto e = number_or_string(field(data, "size"), size)) return json_failed(e, error, json);
    if (auto e = number_or_string(field(data, "price"), price)) return json_failed(e, error, json);
    if (auto e = int_or_string(field(data, futures ? "ts" : "time"), ns)) return json_failed(e, error, json);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !valid_ns(ns) || sequence == 0) {
      error = ParseError::kBadValue;
      return false;
    }
    const ResolvedMarket* market = resolve(symbol, futures);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return false;
    }
    if (!to_base_qty(*market, size, price, trade.qty, error)) return false;
    trade.exchange_ts_ns = ns;
    trade.trade_id = sequence;
    trade.price = price;
    trade.market = market->id;
    trade.flags = kTradeNone;
    return true;
  }

  const ResolvedMarket* resolve(std::string_view symbol, bool futures) {
    if (!futures) return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    // Inverse futures (XBTUSDM, ETHUSDM): one contract is 1 USD whatever the
    // symbol. Linear ones (XBTUSDTM) take their multiplier from the table.
    if (ends_with(symbol, "USDM")) return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kInverse, 1);
    return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kUnknown, 0);
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_kucoin_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options) {
  if (exchange == "KUCOIN" || exchange == "KUCOIN_FUTURES") return std::make_unique<KucoinParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
