// feeds/hitbtc_parser.cc
//
// HitBTC websocket API v3, public endpoint ("HITBTC";
// wss://api.hitbtc.com/api/3/ws/public). Markets are named
// HITBTC:<symbol as sent> ("HITBTC:BTCUSDT"), as aggr-server does. Frames:
//
//   {"ch":"trades","update":{"BTCUSDT":[{"t":1714567890400,"i":2210339531,
//     "p":"63241.30","q":"0.015","s":"buy"},..],"ETHUSDT":[..]}}
//                                          live trades; one frame may carry
//                                          several symbols, each several trades
//   {"ch":"trades","snapshot":{"BTCUSDT":[..]}}
//                                          the recent trades sent on subscribe
//                                          (none with "limit":0): history,
//                                          SkipKind::kSnapshot
//   {"result":{"ch":"trades","subscriptions":["BTCUSDT"]},"id":1},
//   {"error":{"code":..,"message":..},"id":1}, {"result":..} of any kind
//                                          kControl
//   "ch" starting "orderbook"              kBook
//   any other "ch" (ticker/*, candles/*)   kOtherChannel
//   no "ch", "result" or "error"           ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md; aggr-server's hitbtc.js reads
// the v2 API's updateTrades, whose fields are the same values):
//  * Side: `s` is the taker side.
//  * qty: `q` is base (spot).
//  * trade_id: `i`, numeric, used as is. HitBTC numbers trades across all
//    symbols, so ids rise but are not consecutive per symbol: gaps are
//    detected by time (venues/hitbtc.cc).
//  * exchange_ts_ns: `t` (ms). An ISO-8601 string (the v2 API's
//    "timestamp") is not accepted here: kBadType.
//  * A bad trade is counted by reason and skipped; the good ones of the
//    frame are kept. A symbol outside the connection's allowlist counts its
//    trades as unconfigured (the frame is kSkipped if nothing else was kept).
#include <cstdint>
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

class HitbtcParser final : public ExchangeParser {
 public:
  HitbtcParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("HITBTC", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));

    bool trades = false;
    for (auto result : root) {
      ondemand::field f;
      if (auto error = std::move(result).get(f)) return fail(to_parse_error(error));
      const auto key = f.key();
      if (key == "ch") {
        std::string_view ch;
        if (auto error = f.value().get_string().get(ch)) return fail(to_parse_error(error));
        if (ch.starts_with("orderbook")) return skip(SkipKind::kBook);
        if (ch != "trades") return skip(SkipKind::kOtherChannel);
        trades = true;
      } else if (key == "update") {
        if (!trades) return fail(ParseError::kMissingField);  // HitBTC sends "ch" first
        ondemand::object symbols;
        if (auto error = f.value().get_object().get(symbols)) return fail(to_parse_error(error));
        return parse_update(symbols, receive_ts_ns, out);
      } else if (key == "snapshot") {
        if (!trades) return fail(ParseError::kMissingField);
        return skip(SkipKind::kSnapshot);
      } else if (key == "result" || key == "error") {
        return skip(SkipKind::kControl);
      }
    }
    return fail(trades ? ParseError::kMissingField : ParseError::kUnknownChannel);
  }

 private:
  ParseOutcome parse_update(ondemand::object& symbols, std::int64_t receive_ts_ns, EventBuffer& out) {
    std::size_t emitted = 0, bad = 0, unconfigured = 0;
    for (auto result : symbols) {
      ondemand::field f;
      if (auto error = std::move(result).get(f)) {
        count_error(to_parse_error(error));
        return emitted > 0 ? ParseOutcome::kEvents : ParseOutcome::kError;
      }
      std::string_view symbol;
      if (auto error = f.unescaped_key().get(symbol)) {
        count_error(to_parse_error(error));
        return emitted > 0 ? ParseOutcome::kEvents : ParseOutcome::kError;
      }
      const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
      if (market == nullptr) {
        if (markets_.last_miss() == ResolveMiss::kUnconfigured) {
          ++unconfigured;
        } else {
          count_error(ParseError::kUnknownMarket);
          ++bad;
        }
        continue;  // the value is skipped by the iterator
      }
      ondemand::array list;
      if (auto error = f.value().get_array().get(list)) {
        count_error(to_parse_error(error));
        ++bad;
        if (!recoverable(error)) break;
        continue;
      }
      bool stop = false;
      for (auto element : list) {
        ondemand::object item;
        if (auto error = element.get_object().get(item)) {
          count_error(to_parse_error(error));
          ++bad;
          if (!recoverable(error)) {
            stop = true;
            break;
          }
          continue;
        }
        Trade trade;
        ParseError error{};
        simdjson::error_code json_error = simdjson::SUCCESS;
        if (!read_trade(item, *market, trade, error, json_error)) {
          count_error(error);
          ++bad;
          if (json_error != simdjson::SUCCESS && !recoverable(json_error)) {
            stop = true;
            break;
          }
          continue;
        }
        trade.receive_ts_ns = receive_ts_ns;
        if (!emit(trade, out)) {  // kOverflow counted
          ++bad;
          stop = true;
          break;
        }
        ++emitted;
      }
      if (stop) break;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0) return ParseOutcome::kError;
    if (unconfigured > 0) return skip(SkipKind::kUnconfigured);
    return fail(ParseError::kMissingField);  // an update with no trades
  }

  bool read_trade(ondemand::object& item, const ResolvedMarket& market, Trade& trade, ParseError& error,
                  simdjson::error_code& json_error) noexcept {
    std::string_view side;
    std::int64_t ms = 0;
    double price = 0, qty = 0;
    enum : unsigned { kT = 1, kI = 2, kP = 4, kQ = 8, kS = 16, kAll = 31 };
    unsigned seen = 0;
    for (auto result : item) {
      ondemand::field f;
      if (auto e = std::move(result).get(f)) return json_failed(e, error, json_error);
      const auto key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "t") {
        e = f.value().get_int64().get(ms);
        seen |= kT;
      } else if (key == "i") {
        e = f.value().get_uint64().get(trade.trade_id);
        seen |= kI;
      } else if (key == "p") {
        e = number_or_string(f.value(), price);
        seen |= kP;
      } else if (key == "q") {
        e = number_or_string(f.value(), qty);
        seen |= kQ;
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
        !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    trade.price = price;
    trade.qty = qty;
    trade.market = market.id;
    trade.flags = kTradeNone;
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_hitbtc_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                   ParserOptions options) {
  return std::make_unique<HitbtcParser>(registry, options);
}

}  // namespace tickflow
