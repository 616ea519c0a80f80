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

    // Gate sends time, (time_ms,) channel, event, result: looked up in that
    // order, one forward pass (another order still parses).
    std::string_view channel_name, event;
    if (auto e = field(root, "channel").get_string().get(channel_name)) return fail(to_parse_error(e));
    const Channel channel = channel_of(channel_name);
    if (auto e = field(root, "event").get_string().get(event)) {
      // A pong may come without an event; anything else needs one.
      if (e == simdjson::NO_SUCH_FIELD && channel == Channel::kControl) return skip(SkipKind::kControl);
      return fail(to_parse_error(e));
    }
    const ParseOutcome early = classify(channel, event);
    if (early != ParseOutcome::kEvents) return early;
    ondemand::value result;
    if (auto e = field(root, "result").get(result)) return fail(to_parse_error(e));
    return read_result(channel, result, receive_ts_ns, out);
  }

 private:
  // kEvents: a data frame of a trade channel, read on. Anything else: the
  // frame's skip or error.
  ParseOutcome classify(Channel channel, std::string_view event) noexcept {
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

  // Fields looked up in Gate's order (id, create_time, create_time_ms, side,
  // currency_pair, amount, price): each lookup goes forward from the last
  // one, so a frame in that order is read in one pass (another order still
  // parses, with a rewind per field out of place).
  bool read_spot(ondemand::object& item, Trade& trade, ParseError& error, simdjson::error_code& json_error) {
    std::string_view pair, side_word, time_token;
    if (auto e = uint_or_string(field(item, "id"), trade.trade_id)) return json_failed(e, error, json_error);
    if (!time_of(item, "create_time_ms", "create_time", time_token, trade.exchange_ts_ns, error, json_error))
      return false;
    if (auto e = field(item, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = field(item, "currency_pair").get_string().get(pair)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "amount"), trade.qty)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "price"), trade.price)) return json_failed(e, error, json_error);
    error = ParseError::kBadValue;
    if (!parse_side(side_word, trade.side) || !valid_price(trade.price) || !valid_qty(trade.qty)) return false;
    const ResolvedMarket* market = resolve_spot(pair, error);
    if (market == nullptr) return false;
    trade.market = market->id;
    trade.flags = kTradeNone;
    return true;
  }

  // The time in ms (`ms_key`, a number or a decimal string) or, without it,
  // in seconds (`s_key`) -> ns. False with error/json_error set.
  static bool time_of(ondemand::object& item, std::string_view ms_key, std::string_view s_key, std::string_view& token,
                      std::int64_t& ns, ParseError& error, simdjson::error_code& json_error) noexcept {
    ondemand::value value;
    auto e = field(item, ms_key).get(value);
    if (e == simdjson::SUCCESS) {
      token = value.raw_json_token();
      if (!decimal_ms_to_ns(token, ns)) {
        error = ParseError::kBadValue;
        return false;
      }
      return true;
    }
    if (e != simdjson::NO_SUCH_FIELD) return json_failed(e, error, json_error);
    std::int64_t seconds = 0;
    if (auto e2 = int_or_string(field(item, s_key), seconds)) return json_failed(e2, error, json_error);
    if (seconds > 4102444800 || !ms_to_ns(seconds * 1000, ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    return true;
  }

  // futures.trades (liquidation = false): size, id, create_time,
  // create_time_ms, price, contract[, is_internal]; futures.public_liquidates:
  // price, size, time_ms, contract. Looked up in that order (see read_spot).
  bool read_futures(ondemand::object& item, bool liquidation, Trade& trade, ParseError& error,
                    simdjson::error_code& json_error, bool& internal) {
    std::string_view contract, time_token;
    double size = 0;
    if (liquidation) {
      if (auto e = number_or_string(field(item, "price"), trade.price)) return json_failed(e, error, json_error);
      if (auto e = number_or_string(field(item, "size"), size)) return json_failed(e, error, json_error);
      if (!time_of(item, "time_ms", "time", time_token, trade.exchange_ts_ns, error, json_error)) return false;
    } else {
      if (auto e = number_or_string(field(item, "size"), size)) return json_failed(e, error, json_error);
      if (auto e = uint_or_string(field(item, "id"), trade.trade_id)) return json_failed(e, error, json_error);
      if (!time_of(item, "create_time_ms", "create_time", time_token, trade.exchange_ts_ns, error, json_error))
        return false;
      if (auto e = number_or_string(field(item, "price"), trade.price)) return json_failed(e, error, json_error);
    }
    if (auto e = field(item, "contract").get_string().get(contract)) return json_failed(e, error, json_error);
    if (!liquidation) {
      // Optional, after "contract" when present: looked up forward only (no
      // rewind, which would rescan the whole object for every trade).
      ondemand::value flag;
      auto e = item.find_field("is_internal").get(flag);
      if (e == simdjson::SUCCESS) {
        if (auto e2 = flag.get_bool().get(internal)) return json_failed(e2, error, json_error);
      } else if (e != simdjson::NO_SUCH_FIELD) {
        return json_failed(e, error, json_error);
      }
    }
    error = ParseError::kBadValue;
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
