// feeds/cryptocom_parser.cc
//
// Crypto.com Exchange v1 market websocket ("CRYPTOCOM";
// wss://stream.crypto.com/exchange/v1/market). Markets are named
// CRYPTOCOM:<instrument_name as sent>, as aggr-server does: spot
// CRYPTOCOM:BTC_USDT, perpetuals CRYPTOCOM:BTCUSD-PERP. Frames:
//
//   {"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",
//     "subscription":"trade.BTC_USDT","channel":"trade","data":[{"d":"4611686018455979970",
//     "t":1714567890400,"tn":"1714567890400123456","q":"0.0150","p":"63241.30","s":"BUY",
//     "i":"BTC_USDT","m":"..."},..]}}          live trades (id -1: a push)
//   the same with the id of our subscribe request (id >= 0)
//                                              the reply to the subscription,
//                                              carrying recent trades: history,
//                                              SkipKind::kSnapshot
//   {"id":1,"method":"subscribe","code":0}     ack without data: kControl
//   {"id":N,"method":"public/heartbeat","code":0}
//                                              kControl, and the parser leaves
//                                              {"id":N,"method":"public/respond-heartbeat"}
//                                              as its pending_reply(): the venue
//                                              closes a connection that does not
//                                              answer within 5 s
//   any frame with "code" != 0 (errors), unsubscribe replies
//                                              kControl
//   result.channel "book*"                     kBook
//   any other result.channel (ticker, candlestick, ...)
//                                              kOtherChannel
//   any other method                           ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md, aggr-server's cryptocom.js):
//  * Side: `s` is the taker side.
//  * qty: `q` is in base units for spot and for perpetuals (Crypto.com's
//    derivatives are quoted in base quantity): no contract conversion.
//    "-PERP" instruments are registered as linear with size 1.
//  * trade_id: `d`, a numeric string, its value (a non-numeric `d` is
//    hashed). Every trade is flagged kTradeIdHashed: the ids are unique but
//    not a per-instrument sequence (one counter across all instruments, so
//    a quiet instrument's next id can be millions on, past LiveFeed's
//    implausible-id window), and Crypto.com documents no order for the
//    trades inside one push (its REST history is newest first), where
//    LiveFeed's "id above the last one" de-duplication would drop all but
//    the newest. Flagged, they pass through both; nothing is resent on a
//    reconnect (the subscribe reply's history is skipped as a snapshot).
//    Gaps are detected by time (venues/cryptocom.cc).
//  * exchange_ts_ns: `t` (ms).
//  * Market: result.instrument_name (sent once per frame before data).
//  * A bad trade inside data is counted by reason and skipped; the good ones
//    of the frame are kept.
#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

class CryptoComParser final : public ExchangeParser {
 public:
  CryptoComParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("CRYPTOCOM", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));

    // Crypto.com sends id, method, code, result in that order; one pass.
    std::int64_t id = 0;
    bool have_id = false, have_method = false, heartbeat = false, subscribe = false;
    std::int64_t code = 0;
    for (auto result : root) {
      ondemand::field f;
      if (auto error = std::move(result).get(f)) return fail(to_parse_error(error));
      const auto key = f.key();
      if (key == "id") {
        if (auto error = f.value().get_int64().get(id)) return fail(to_parse_error(error));
        have_id = true;
      } else if (key == "method") {
        std::string_view method;
        if (auto error = f.value().get_string().get(method)) return fail(to_parse_error(error));
        have_method = true;
        heartbeat = method == "public/heartbeat";
        subscribe = method == "subscribe";
        if (!heartbeat && !subscribe) {
          if (method == "unsubscribe" || method == "public/respond-heartbeat") return skip(SkipKind::kControl);
          return fail(ParseError::kUnknownChannel);
        }
      } else if (key == "code") {
        if (auto error = f.value().get_int64().get(code)) return fail(to_parse_error(error));
        if (code != 0) return skip(SkipKind::kControl);  // the venue's error reply
      } else if (key == "result") {
        if (!subscribe) continue;
        ondemand::object body;
        if (auto error = f.value().get_object().get(body)) return fail(to_parse_error(error));
        return parse_result(body, have_id && id >= 0, receive_ts_ns, out);
      }
    }
    if (!have_method) return fail(ParseError::kMissingField);
    if (heartbeat) {
      if (!have_id) return fail(ParseError::kMissingField);
      answer_heartbeat(id);
    }
    return skip(SkipKind::kControl);  // heartbeat, or a subscribe ack without data
  }

 private:
  void answer_heartbeat(std::int64_t id) noexcept {
    constexpr std::string_view kHead = R"({"id":)";
    constexpr std::string_view kTail = R"(,"method":"public/respond-heartbeat"})";
    char buf[96];
    char* p = buf;
    p = std::copy(kHead.begin(), kHead.end(), p);
    p = std::to_chars(p, buf + 40, id).ptr;
    p = std::copy(kTail.begin(), kTail.end(), p);
    set_reply({buf, static_cast<std::size_t>(p - buf)});
  }

  ParseOutcome parse_result(ondemand::object& body, bool reply_to_request, std::int64_t receive_ts_ns,
                            EventBuffer& out) {
    std::string_view instrument, channel;
    for (auto result : body) {
      ondemand::field f;
      if (auto error = std::move(result).get(f)) return fail(to_parse_error(error));
      const auto key = f.key();
      if (key == "instrument_name") {
        if (auto error = f.value().get_string().get(instrument)) return fail(to_parse_error(error));
      } else if (key == "channel") {
        if (auto error = f.value().get_string().get(channel)) return fail(to_parse_error(error));
        if (channel.starts_with("book")) return skip(SkipKind::kBook);
        if (channel != "trade") return skip(SkipKind::kOtherChannel);
      } else if (key == "data") {
        if (channel != "trade") return fail(channel.empty() ? ParseError::kMissingField : ParseError::kUnknownChannel);
        if (reply_to_request) return skip(SkipKind::kSnapshot);  // recent trades sent on subscribe
        if (instrument.empty()) return fail(ParseError::kMissingField);
        ondemand::array data;
        if (auto error = f.value().get_array().get(data)) return fail(to_parse_error(error));
        return parse_trades(data, instrument, receive_ts_ns, out);
      }
    }
    if (!channel.empty() && channel != "trade") return skip(SkipKind::kOtherChannel);
    return fail(ParseError::kMissingField);
  }

  ParseOutcome parse_trades(ondemand::array& data, std::string_view instrument, std::int64_t receive_ts_ns,
                            EventBuffer& out) {
    const bool perp = instrument.ends_with("-PERP");
    const ResolvedMarket* market =
        markets_.resolve(instrument, PairCase::kAsIs, perp ? InstrumentKind::kLinear : InstrumentKind::kSpot, 1);
    if (market == nullptr) return market_missed();
    std::size_t emitted = 0, bad = 0;
    for (auto element : data) {
      ondemand::object item;
      if (auto error = element.get_object().get(item)) {
        count_error(to_parse_error(error));
        ++bad;
        if (!recoverable(error)) break;
        continue;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      if (!read_trade(item, *market, trade, error, json_error)) {
        count_error(error);
        ++bad;
        if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
        continue;
      }
      trade.receive_ts_ns = receive_ts_ns;
      if (!emit(trade, out)) {  // kOverflow counted
        ++bad;
        break;
      }
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // an empty data array
  }

  bool read_trade(ondemand::object& item, const ResolvedMarket& market, Trade& trade, ParseError& error,
                  simdjson::error_code& json_error) noexcept {
    std::string_view id, side;
    std::int64_t ms = 0;
    double price = 0, qty = 0;
    enum : unsigned { kD = 1, kT = 2, kQ = 4, kP = 8, kS = 16, kAll = 31 };
    unsigned seen = 0;
    for (auto result : item) {
      ondemand::field f;
      if (auto e = std::move(result).get(f)) return json_failed(e, error, json_error);
      const auto key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "d") {
        e = f.value().get_string().get(id);
        seen |= kD;
      } else if (key == "t") {
        e = f.value().get_int64().get(ms);
        seen |= kT;
      } else if (key == "q") {
        e = number_or_string(f.value(), qty);
        seen |= kQ;
      } else if (key == "p") {
        e = number_or_string(f.value(), price);
        seen |= kP;
      } else if (key == "s") {
        e = f.value().get_string().get(side);
        seen |= kS;
      }
      if (e) return json_failed(e, error, json_error);
    }
    if (seen != kAll) {
      error = ParseError::kMissingField;
      return false;
    }
    if (!parse_side(side, trade.side) || !valid_price(price) || !valid_qty(qty) ||
        !ms_to_ns(ms, trade.exchange_ts_ns) || id.empty()) {
      error = ParseError::kBadValue;
      return false;
    }
    trade.flags = kTradeIdHashed;  // not a sequence: see the banner
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), trade.trade_id);
    if (ec != std::errc{} || end != id.data() + id.size()) trade.trade_id = hash_trade_id(id);
    trade.price = price;
    trade.qty = qty;
    trade.market = market.id;
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_cryptocom_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                      ParserOptions options) {
  return std::make_unique<CryptoComParser>(registry, options);
}

}  // namespace tickflow
