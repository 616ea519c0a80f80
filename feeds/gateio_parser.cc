// feeds/gateio_parser.cc
//
// Gate.io websocket v4, spot ("GATEIO": wss://api.gateio.ws/ws/v4/) and
// USDT-settled perpetuals ("GATEIO_FUTURES": wss://fx-ws.gateio.ws/v4/ws/usdt).
// Both name markets under aggr-server's one exchange id GATEIO. Frames:
//
//   {"time":..,"channel":"spot.trades","event":"update","result":{"id":816995772,
//    "create_time":1619093543,"create_time_ms":"1619093543708.2642","side":"sell",
//    "currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}}   spot trade
//   {"time":..,"channel":"futures.trades","event":"update","result":[{"size":-108,
//    "id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,"price":"96.4",
//    "contract":"BTC_USDT"},..]}                                                      futures trades
//   {"time":..,"channel":"futures.public_liquidates","event":"update","result":[
//    {"price":215.1,"size":-124,"time_ms":1730181111000,"contract":"BTC_USDT"},..]}   liquidations
//   event "subscribe"/"unsubscribe", channels "*.pong"/"*.ping"     SkipKind::kControl
//   channels "*.order_book*", "*.book_ticker", "*.obu"             SkipKind::kBook
//   any other spot.* / futures.* channel (tickers, candlesticks)   SkipKind::kOtherChannel
//   any other channel                                              ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md, aggr-server's gateio.js):
//  * Market names: spot -> GATEIO:<currency_pair>-SPOT (GATEIO:BTC_USDT-SPOT),
//    futures -> GATEIO:<contract> (GATEIO:BTC_USDT), as aggr-server names them.
//    Spot or futures follows the channel (spot.* / futures.*), not the parser
//    name.
//  * Spot: `side` is the taker side, `amount` is base.
//  * Futures: `size` is signed contracts, positive for a taker buy. base =
//    |size| x quanto_multiplier, from the shipped instruments table
//    (feeds/instruments.cc: GATEIO BTC_USDT 0.0001, ETH_USDT 0.01); a
//    contract it does not list is ParseError::kUnknownInstrument, never
//    guessed. Trades flagged `is_internal` (Gate's internal fills, which
//    aggr-server drops) are not emitted; a frame of only those is
//    SkipKind::kFiltered.
//  * Liquidations (futures.public_liquidates): `size` is taken as the signed
//    size of the liquidation ORDER, so negative (a sell) liquidated a long:
//    side = sell, as aggr-server's convention (the side of the liquidation
//    order); positive -> buy. Price is `price`; base as for trades; flagged
//    kTradeLiquidation. They carry no id: trade_id = hash of
//    "contract|time_ms|size|price" (parsed numbers, shortest form), flagged
//    kTradeIdHashed, so the same liquidation received twice hashes the same.
//  * Ids: `id` as is. Spot ids are global across pairs (not consecutive per
//    pair), so gaps are detected by time, not ids.
//  * Times: create_time_ms (spot: a decimal string of ms with a fraction,
//    kept to the ns; futures: an integer) -> exchange_ts_ns; without it,
//    create_time (s). Liquidations: time_ms.
//
// Errors: a frame that is not JSON, not an object, or lacks channel/event/
// result is counted once by reason. Inside a result array each bad trade is
// counted by reason and skipped, the good ones of the frame are kept; a
// structural error inside the array is counted once and ends the frame.
// Outcome: kEvents when at least one trade was emitted, else kError (an
// empty trade array is kMissingField). No allocation per frame.
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// A field's value as the simdjson_result the json_support.h readers take.
inline simdjson::simdjson_result<ondemand::value> as_result(ondemand::value value) noexcept { return value; }

enum class Channel : std::uint8_t { kSpotTrades, kFuturesTrades, kLiquidations, kControl, kBook, kOther, kUnknown };

Channel channel_of(std::string_view channel) noexcept {
  if (channel == "spot.trades") return Channel::kSpotTrades;
  if (channel == "futures.trades") return Channel::kFuturesTrades;
  if (channel == "futures.public_liquidates") return Channel::kLiquidations;
  if (!channel.starts_with("spot.") && !channel.starts_with("futures.")) return Channel::kUnknown;
  if (channel.ends_with(".pong") || channel.ends_with(".ping")) return Channel::kControl;
  if (channel.find("order_book") != std::string_view::npos || channel.ends_with(".book_ticker") ||
      channel.ends_with(".obu"))
    return Channel::kBook;
  return Channel::kOther;
}

// A JSON token (number or string) of ms, possibly with a fraction
// ("1619093543708.2642") -> ns, exactly (the fraction cut at 6 digits).
bool decimal_ms_to_ns(std::string_view token, std::int64_t& ns) noexcept {
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
  const std::size_t dot = token.find('.');
  const std::string_view whole = token.substr(0, dot);
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), ms);
  if (ec != std::errc{} || end != whole.data() + whole.size() || whole.empty()) return false;
  std::int64_t frac = 0;
  if (dot != std::string_view::npos) {
    const std::string_view digits = token.substr(dot + 1);
    if (digits.empty()) return false;
    std::int64_t scale = 100'000;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      frac += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (!ms_to_ns(ms, ns)) return false;
  ns += frac;
  return true;
}

class GateioParser final : public ExchangeParser {
 public:
  GateioParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("GATEIO", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // Gate sends time, (time_ms,) channel, event, result: one forward pass.
    std::string_view channel_name, event;
    bool have_channel = false, have_event = false, result_first = false;
    for (auto field_result : root) {
      ondemand::field f;
      if (auto e = std::move(field_result).get(f)) return fail(to_parse_error(e));
      const auto key = f.key();
      if (key == "channel") {
        if (auto e = f.value().get_string().get(channel_name)) return fail(to_parse_error(e));
        have_channel = true;
      } else if (key == "event") {
        if (auto e = f.value().get_string().get(event)) return fail(to_parse_error(e));
        have_event = true;
      } else if (key == "result") {
        if (!have_channel || !have_event) {
          result_first = true;  // read again below, once channel and event are known
          continue;
        }
        const ParseOutcome early = classify(channel_name, event);
        if (early != ParseOutcome::kEvents) return early;
        ondemand::value result = f.value();
        return read_result(channel_of(channel_name), result, receive_ts_ns, out);
      }
    }
    if (!have_channel) return fail(ParseError::kMissingField);
    if (!have_event) {
      // A pong may come without an event; anything else needs one.
      if (channel_of(channel_name) == Channel::kControl) return skip(SkipKind::kControl);
      return fail(ParseError::kMissingField);
    }
    const ParseOutcome early = classify(channel_name, event);
    if (early != ParseOutcome::kEvents) return early;
    if (!result_first) return fail(ParseError::kMissingField);
    if (auto e = root.reset().error()) return fail(to_parse_error(e));
    ondemand::value result;
    if (auto e = field(root, "result").get(result)) return fail(to_parse_error(e));
    return read_result(channel_of(channel_name), result, receive_ts_ns, out);
  }

 private:
  // kEvents: a data frame of a trade channel, read on. Anything else: the
  // frame's skip or error.
  ParseOutcome classify(std::string_view channel_name, std::string_view event) noexcept {
    const Channel channel = channel_of(channel_name);
    if (channel == Channel::kUnknown) return fail(ParseError::kUnknownChannel);
    // Subscribe / unsubscribe acks (and their errors) on any channel, pongs.
    if (event != "update" && event != "all") return skip(SkipKind::kControl);
    switch (channel) {
      case Channel::kControl: return skip(SkipKind::kControl);
      case Channel::kBook: return skip(SkipKind::kBook);
      case Channel::kOther: return skip(SkipKind::kOtherChannel);
      default: return ParseOutcome::kEvents;
    }
  }

  struct Tally {
    std::size_t emitted = 0, errors = 0, unconfigured = 0, filtered = 0;
  };

  ParseOutcome read_result(Channel channel, ondemand::value& result, std::int64_t receive_ts_ns, EventBuffer& out) {
    Tally tally;
    ondemand::json_type type;
    if (auto e = result.type().get(type)) return fail(to_parse_error(e));
    if (type == ondemand::json_type::object) {
      ondemand::object item;
      if (auto e = result.get_object().get(item)) return fail(to_parse_error(e));
      one(channel, item, receive_ts_ns, out, tally);
    } else if (type == ondemand::json_type::array) {
      ondemand::array items;
      if (auto e = result.get_array().get(items)) return fail(to_parse_error(e));
      for (auto element : items) {
        ondemand::object item;
        if (auto e = element.get_object().get(item)) {
          count_error(to_parse_error(e));
          ++tally.errors;
          if (!recoverable(e)) break;
          continue;
        }
        if (!one(channel, item, receive_ts_ns, out, tally)) break;
      }
    } else {
      return fail(ParseError::kBadType);
    }
    if (tally.emitted > 0) return ParseOutcome::kEvents;
    if (tally.errors > 0) return ParseOutcome::kError;
    if (tally.unconfigured > 0) return skip(SkipKind::kUnconfigured);
    if (tally.filtered > 0) return skip(SkipKind::kFiltered);
    return fail(ParseError::kMissingField);  // an empty result
  }

  // One trade or liquidation object. False when the frame must end.
  bool one(Channel channel, ondemand::object& item, std::int64_t receive_ts_ns, EventBuffer& out, Tally& tally) {
    Trade trade;
    ParseError error = ParseError::kMissingField;
    simdjson::error_code json_error = simdjson::SUCCESS;
    bool internal = false;
    bool ok = false;
    switch (channel) {
      case Channel::kSpotTrades: ok = read_spot(item, trade, error, json_error); break;
      case Channel::kFuturesTrades: ok = read_futures(item, false, trade, error, json_error, internal); break;
      default: ok = read_futures(item, true, trade, error, json_error, internal); break;
    }
    if (!ok) {
      if (error == ParseError::kUnknownMarket && markets_.last_miss() == ResolveMiss::kUnconfigured) {
        ++tally.unconfigured;
        return true;
      }
      count_error(error);
      ++tally.errors;
      return json_error == simdjson::SUCCESS || recoverable(json_error);
    }
    if (internal) {
      ++tally.filtered;
      return true;
    }
    trade.receive_ts_ns = receive_ts_ns;
    if (!emit(trade, out)) {
      ++tally.errors;
      return false;
    }
    ++tally.emitted;
    return true;
  }

  const ResolvedMarket* resolve_spot(std::string_view pair, ParseError& error) {
    constexpr std::string_view kSuffix = "-SPOT";
    char key[80];
    if (pair.size() + kSuffix.size() > sizeof key) {
      error = ParseError::kUnknownMarket;
      return nullptr;
    }
    std::memcpy(key, pair.data(), pair.size());
    std::memcpy(key + pair.size(), kSuffix.data(), kSuffix.size());
    const ResolvedMarket* market =
        markets_.resolve({key, pair.size() + kSuffix.size()}, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) error = ParseError::kUnknownMarket;
    return market;
  }

  // Fields in any order (one pass); the market is resolved at the end.
  bool read_spot(ondemand::object& item, Trade& trade, ParseError& error, simdjson::error_code& json_error) {
    std::string_view pair, side_word, time_token;
    std::int64_t seconds = 0;
    bool have_id = false, have_price = false, have_amount = false, have_side = false, have_ms = false, have_s = false;
    for (auto field_result : item) {
      ondemand::field f;
      if (auto e = std::move(field_result).get(f)) return json_failed(e, error, json_error);
      const auto key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "id") {
        e = uint_or_string(as_result(f.value()), trade.trade_id);
        have_id = true;
      } else if (key == "create_time_ms") {
        time_token = f.value().raw_json_token();
        have_ms = true;
      } else if (key == "create_time") {
        e = int_or_string(as_result(f.value()), seconds);
        have_s = true;
      } else if (key == "side") {
        e = f.value().get_string().get(side_word);
        have_side = true;
      } else if (key == "currency_pair") {
        e = f.value().get_string().get(pair);
      } else if (key == "amount") {
        e = number_or_string(f.value(), trade.qty);
        have_amount = true;
      } else if (key == "price") {
        e = number_or_string(f.value(), trade.price);
        have_price = true;
      }
      if (e) return json_failed(e, error, json_error);
    }
    if (!have_id || !have_price || !have_amount || !have_side || pair.empty() || (!have_ms && !have_s)) {
      error = ParseError::kMissingField;
      return false;
    }
    error = ParseError::kBadValue;
    if (have_ms ? !decimal_ms_to_ns(time_token, trade.exchange_ts_ns)
                : (seconds > 4102444800 || !ms_to_ns(seconds * 1000, trade.exchange_ts_ns)))
      return false;
    if (!parse_side(side_word, trade.side) || !valid_price(trade.price) || !valid_qty(trade.qty)) return false;
    const ResolvedMarket* market = resolve_spot(pair, error);
    if (market == nullptr) return false;
    trade.market = market->id;
    trade.flags = kTradeNone;
    return true;
  }

  // futures.trades (liquidation = false) and futures.public_liquidates.
  bool read_futures(ondemand::object& item, bool liquidation, Trade& trade, ParseError& error,
                    simdjson::error_code& json_error, bool& internal) {
    std::string_view contract, time_token;
    double size = 0;
    std::int64_t seconds = 0;
    bool have_id = false, have_price = false, have_size = false, have_ms = false, have_s = false;
    for (auto field_result : item) {
      ondemand::field f;
      if (auto e = std::move(field_result).get(f)) return json_failed(e, error, json_error);
      const auto key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "size") {
        e = number_or_string(f.value(), size);
        have_size = true;
      } else if (key == "id" && !liquidation) {
        e = uint_or_string(as_result(f.value()), trade.trade_id);
        have_id = true;
      } else if (key == (liquidation ? "time_ms" : "create_time_ms")) {
        time_token = f.value().raw_json_token();
        have_ms = true;
      } else if (key == (liquidation ? "time" : "create_time")) {
        e = int_or_string(as_result(f.value()), seconds);
        have_s = true;
      } else if (key == "price") {
        e = number_or_string(f.value(), trade.price);
        have_price = true;
      } else if (key == "contract") {
        e = f.value().get_string().get(contract);
      } else if (key == "is_internal") {
        e = f.value().get_bool().get(internal);
      }
      if (e) return json_failed(e, error, json_error);
    }
    if ((!liquidation && !have_id) || !have_price || !have_size || contract.empty() || (!have_ms && !have_s)) {
      error = ParseError::kMissingField;
      return false;
    }
    error = ParseError::kBadValue;
    if (have_ms ? !decimal_ms_to_ns(time_token, trade.exchange_ts_ns)
                : (seconds > 4102444800 || !ms_to_ns(seconds * 1000, trade.exchange_ts_ns)))
      return false;
    if (!valid_price(trade.price) || !(size != 0) || !std::isfinite(size)) return false;
    // Trades: positive = a taker buy. Liquidations: the order's sign
    // (negative = a sell order, a long liquidated).
    trade.side = size > 0 ? Side::kBuy : Side::kSell;
    const ResolvedMarket* market = markets_.resolve(contract, PairCase::kAsIs, InstrumentKind::kLinear, 0);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return false;
    }
    if (!to_base_qty(*market, std::fabs(size), trade.price, trade.qty, error)) return false;
    trade.market = market->id;
    if (liquidation) {
      trade.trade_id = IdKey{}.add(contract).add(trade.exchange_ts_ns / 1'000'000).add(size).add(trade.price).hash();
      trade.flags = kTradeLiquidation | kTradeIdHashed;
    } else {
      trade.flags = kTradeNone;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_gateio_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options) {
  if (exchange == "GATEIO" || exchange == "GATEIO_FUTURES") return std::make_unique<GateioParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
