// feeds/bitstamp_parser.cc
//
// Bitstamp websocket v2 ("BITSTAMP"; wss://ws.bitstamp.net), spot only.
// Frames:
//
//   {"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000",
//     "price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000",
//     "buy_order_id":..,"sell_order_id":..},"channel":"live_trades_ethusd","event":"trade"}
//                                                           a trade
//   {"event":"bts:subscription_succeeded"|"bts:unsubscription_succeeded"|"bts:heartbeat"|
//     "bts:error"|"bts:request_reconnect",..}               SkipKind::kControl
//   channels order_book_*, detail_order_book_*, diff_order_book_* (event "data")
//                                                           SkipKind::kBook
//   channels live_orders_* (order_created, ...) and any other channel
//                                                           SkipKind::kOtherChannel
//
// bts:request_reconnect (Bitstamp asks clients to move before maintenance)
// is a control frame too: the parser interface has no way yet to ask
// LiveFeed for an early reconnect, and the close that follows triggers one.
//
// Normalization (aggr-server's bitstamp.js):
//  * Market names: the pair from the channel name, as Bitstamp spells it
//    (live_trades_btcusd -> BITSTAMP:btcusd). Spot: qty is base.
//  * Side: `type` 0 is a taker buy, 1 a taker sell; anything else kBadValue.
//  * Price and size: `price` and `amount` (numbers; strings accepted too).
//  * Time: `microtimestamp` (a string of microseconds) -> exchange_ts_ns,
//    exact; aggr-server keeps its milliseconds.
//  * Ids: `id`, numeric, used as it is. Bitstamp numbers trades across all
//    pairs with one counter (the capture's ethusd trades go 477, 484, 485,
//    500..), so a jump inside one market is not a gap: de-duplication only.
//
// Errors: a frame that is not JSON or not an object, or a trade missing a
// field, is counted once by reason (one trade per frame).
#include <cstdint>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kTradesPrefix = "live_trades_";

class BitstampParser final : public ExchangeParser {
 public:
  BitstampParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("BITSTAMP", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // One pass over the root's fields, in whatever order they come (Bitstamp
    // sends data, channel, event for trades and books, event first for its
    // own bts:* events). The data object is read on the way as if it were a
    // trade; what it held only counts once event and channel say it is one.
    std::string_view event, channel, micros;
    enum : unsigned { kId = 1, kAmount = 2, kPrice = 4, kType = 8, kMicros = 16, kAll = 31 };
    unsigned seen = 0;
    bool has_event = false, has_channel = false, has_data = false;
    simdjson::error_code data_error = simdjson::SUCCESS;  // the first bad trade field, reported for trades only
    std::uint64_t id = 0;
    std::int64_t type = -1;
    double amount = 0, price = 0;
    for (auto result : root) {
      ondemand::field f;
      if (auto e = std::move(result).get(f)) return fail(to_parse_error(e));
      const ondemand::raw_json_string key = f.key();
      if (key == "event") {
        if (auto e = f.value().get_string().get(event)) return fail(to_parse_error(e));
        has_event = true;
      } else if (key == "channel") {
        if (auto e = f.value().get_string().get(channel)) return fail(to_parse_error(e));
        has_channel = true;
      } else if (key == "data") {
        ondemand::object data;
        if (auto e = f.value().get_object().get(data)) {
          if (!recoverable(e)) return fail(to_parse_error(e));
          data_error = e;  // not an object: an error only if this is a trade
          continue;
        }
        has_data = true;
        for (auto item : data) {
          ondemand::field d;
          if (auto e = std::move(item).get(d)) return fail(to_parse_error(e));
          const ondemand::raw_json_string name = d.key();
          simdjson::error_code e = simdjson::SUCCESS;
          if (name == "id") {
            e = d.value().get_uint64().get(id);
            seen |= kId;
          } else if (name == "amount") {
            e = number_or_string(d.value(), amount);
            seen |= kAmount;
          } else if (name == "price") {
            e = number_or_string(d.value(), price);
            seen |= kPrice;
          } else if (name == "type") {
            e = d.value().get_int64().get(type);
            seen |= kType;
          } else if (name == "microtimestamp") {
            e = d.value().get_string().get(micros);
            seen |= kMicros;
          }
          if (e) {
            if (!recoverable(e)) return fail(to_parse_error(e));
            if (data_error == simdjson::SUCCESS) data_error = e;
          }
        }
      }
    }
    if (!has_event) return fail(ParseError::kMissingField);
    if (event.starts_with("bts:")) return skip(SkipKind::kControl);
    if (!has_channel) return fail(ParseError::kMissingField);
    if (!channel.starts_with(kTradesPrefix)) {
      if (channel.starts_with("order_book_") || channel.starts_with("detail_order_book_") ||
          channel.starts_with("diff_order_book_"))
        return skip(SkipKind::kBook);
      return skip(SkipKind::kOtherChannel);
    }
    if (event != "trade"sv) return fail(ParseError::kUnknownChannel);
    if (data_error != simdjson::SUCCESS) return fail(to_parse_error(data_error));
    if (!has_data || seen != kAll) return fail(ParseError::kMissingField);

    Trade t;
    if ((type != 0 && type != 1) || !valid_price(price) || !valid_qty(amount) ||
        !micros_to_ns(micros, t.exchange_ts_ns))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market =
        markets_.resolve(channel.substr(kTradesPrefix.size()), PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) return market_missed();
    t.side = type == 0 ? Side::kBuy : Side::kSell;
    t.trade_id = id;
    t.price = price;
    t.qty = amount;
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    t.flags = kTradeNone;
    return emit(t, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

 private:
  // "1641343699596000" (µs since the epoch, 16 digits) -> ns, exact; false
  // for anything that is not all digits or not a time in 2000..2100.
  static bool micros_to_ns(std::string_view s, std::int64_t& ns) noexcept {
    if (s.empty() || s.size() > 17) return false;
    std::int64_t us = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return false;
      us = us * 10 + (c - '0');
    }
    constexpr std::int64_t kMin = 946684800000000;   // 2000-01-01
    constexpr std::int64_t kMax = 4102444800000000;  // 2100-01-01
    if (us < kMin || us > kMax) return false;
    ns = us * 1000;
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitstamp_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                     ParserOptions options) {
  return std::make_unique<BitstampParser>(registry, options);
}

}  // namespace tickflow
