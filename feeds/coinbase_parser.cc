// feeds/coinbase_parser.cc
//
// Coinbase Exchange websocket ("COINBASE", wss://ws-feed.exchange.coinbase.com,
// formerly ws-feed.pro.coinbase.com). Every frame is an object whose first
// field is "type":
//
//   match        {"type":"match","trade_id":280232,"maker_order_id":..,
//                 "taker_order_id":..,"side":"sell","size":"985",
//                 "price":"0.00001305","product_id":"SKL-BTC",
//                 "sequence":..,"time":"2021-04-17T16:43:37.089723Z"}
//   last_match   same shape, sent once per product on subscribing to
//                "matches": the last trade before the subscription
//                -> SkipKind::kFiltered, never a trade (it was already
//                counted live, or belongs to history).
//   subscriptions, heartbeat, error           -> kControl
//   snapshot, l2update, and the full channel's
//   received/open/done/change/activate         -> kBook
//   ticker, status                             -> kOtherChannel
//   any other type                             -> ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Market: COINBASE:<product_id> as sent ("COINBASE:BTC-USD"), spot, so
//    size is already base.
//  * Side: `side` is the MAKER's side; the taker side is its opposite
//    ("side":"sell" means the taker bought).
//  * trade_id is numeric, used as is (per product, rising: gap-checkable).
//  * time: ISO-8601 UTC with microseconds, parsed to ns exactly by
//    parse_iso8601_ns (feeds/iso8601.h): no allocation, no libc time calls.
//    Outside 2000..2100 is kBadValue.
//  * size/price are JSON strings (numbers also accepted); <= 0, non-finite
//    or >= 1e15 is kBadValue.
//
// Fields are read in one forward pass over the object, in whatever order
// they come; the frame is classified as soon as "type" is read, so the 97%
// of traffic that is l2update is skipped after its first field.
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

enum class TypeClass : std::uint8_t { kMatch, kLastMatch, kSkip, kUnknown };

TypeClass classify(std::string_view type, SkipKind& kind) noexcept {
  if (type == "match") return TypeClass::kMatch;
  if (type == "last_match") return TypeClass::kLastMatch;
  if (type == "l2update" || type == "snapshot" || type == "received" || type == "open" || type == "done" ||
      type == "change" || type == "activate") {
    kind = SkipKind::kBook;
    return TypeClass::kSkip;
  }
  if (type == "ticker" || type == "status") {
    kind = SkipKind::kOtherChannel;
    return TypeClass::kSkip;
  }
  if (type == "subscriptions" || type == "heartbeat" || type == "error") {
    kind = SkipKind::kControl;
    return TypeClass::kSkip;
  }
  return TypeClass::kUnknown;
}

class CoinbaseParser final : public ExchangeParser {
 public:
  CoinbaseParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("COINBASE", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));

    enum : unsigned { kType = 1, kId = 2, kSide = 4, kSize = 8, kPrice = 16, kProduct = 32, kTime = 64, kAll = 127 };
    unsigned seen = 0;
    std::string_view side_word, product, time;
    std::uint64_t trade_id = 0;
    double size = 0, price = 0;
    for (auto result : root) {
      ondemand::field field;
      if (auto error = std::move(result).get(field)) return fail(to_parse_error(error));
      const ondemand::raw_json_string key = field.key();
      simdjson::error_code error = simdjson::SUCCESS;
      if (key == "type") {
        std::string_view type;
        if ((error = field.value().get_string().get(type))) return fail(to_parse_error(error));
        SkipKind kind = SkipKind::kControl;
        switch (classify(type, kind)) {
          case TypeClass::kMatch: break;
          case TypeClass::kLastMatch: return skip(SkipKind::kFiltered);
          case TypeClass::kSkip: return skip(kind);
          case TypeClass::kUnknown: return fail(ParseError::kUnknownChannel);
        }
        seen |= kType;
      } else if (key == "trade_id") {
        error = field.value().get_uint64().get(trade_id);
        seen |= kId;
      } else if (key == "side") {
        error = field.value().get_string().get(side_word);
        seen |= kSide;
      } else if (key == "size") {
        error = number_or_string(field.value(), size);
        seen |= kSize;
      } else if (key == "price") {
        error = number_or_string(field.value(), price);
        seen |= kPrice;
      } else if (key == "product_id") {
        error = field.value().get_string().get(product);
        seen |= kProduct;
      } else if (key == "time") {
        error = field.value().get_string().get(time);
        seen |= kTime;
      }
      if (error) return fail(to_parse_error(error));
    }
    if (seen != kAll) return fail(ParseError::kMissingField);

    Trade t;
    Side maker_side;
    if (!parse_side(side_word, maker_side) || !valid_price(price) || !valid_qty(size) ||
        !parse_iso8601_ns(time, t.exchange_ts_ns) || !plausible_exchange_ns(t.exchange_ts_ns))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market = markets_.resolve(product, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) return market_missed();
    t.side = opposite(maker_side);
    t.trade_id = trade_id;
    t.price = price;
    t.qty = size;
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    return emit(t, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

 private:
};

}  // namespace

std::unique_ptr<ExchangeParser> make_coinbase_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                     ParserOptions options) {
  return std::make_unique<CoinbaseParser>(registry, options);
}

}  // namespace tickflow
