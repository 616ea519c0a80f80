// feeds/kraken_parser.cc
//
// Kraken spot websocket v1 ("KRAKEN", wss://ws.kraken.com) and Kraken
// Futures ("KRAKEN_FUTURES", wss://futures.kraken.com/ws/v1). Both name
// their markets under the aggr-server exchange id KRAKEN. One parser class
// per venue; make_kraken_parser() picks by name.
//
// Spot (v1) frames:
//   [channelID,[[price,volume,time,side,orderType,misc],...],"trade","XBT/USD"]
//   [channelID,{"as":..,"bs":..},"book-10","XBT/USD"] and book updates with
//   one or two objects                                   -> kBook
//   ohlc-*, spread, ticker arrays                        -> kOtherChannel
//   other channel names                                  -> kUnknownChannel
//   {"event":"heartbeat"|"systemStatus"|"subscriptionStatus"|"pong"|"error"}
//                                                        -> kControl
//   an object without "event"                            -> kMissingField
// Spot normalization:
//  * Market: KRAKEN:<pair> from the frame's last element, as sent
//    ("KRAKEN:XBT/USD"); spot, volume is base.
//  * side "b"/"s" is the taker side.
//  * time "1618678142.557535" (seconds, a string) -> ns exactly, digit by
//    digit (parse_epoch_seconds_ns, feeds/iso8601.h), never via a double.
//  * Kraken v1 trades carry no id. trade_id = hash_trade_id over
//    "<pair>|<price>|<volume>|<time>|<side>|<orderType>" with the fields'
//    text exactly as received (no quotes), flagged kTradeIdHashed: stable
//    for de-duplication (a REST backfill of the same trade hashes the same
//    text), useless for gap detection.
//  * The channel name and pair come after the trades, and On-Demand reads
//    forward only: a first pass reads them (skipping the trades unread), the
//    document is rewound (no allocation, no re-indexing) and a second pass
//    reads the trades.
//
// Futures frames (objects):
//   {"feed":"trade","product_id":"PI_XBTUSD","uid":..,"side":"sell",
//    "type":"fill"|"liquidation","seq":..,"time":<ms>,"qty":5000,"price":63240}
//   trade_snapshot                                       -> kSnapshot
//   book, book_snapshot                                  -> kBook
//   ticker, ticker_lite                                  -> kOtherChannel
//   heartbeat feed, and every {"event":..} (info, subscribed, alert, error,
//   ...)                                                 -> kControl
//   other feeds                                          -> kUnknownChannel
//   trade types other than fill/liquidation (termination, block,
//   assignment: not market trades)                       -> kFiltered
// Futures normalization:
//  * Market: KRAKEN:<PRODUCT_ID> upper case ("KRAKEN:PI_XBTUSD").
//  * side is the taker side (Kraken Futures docs: "the classification of the
//    taker side"); type "liquidation" sets kTradeLiquidation.
//  * Quantity: PI_ and FI_ are inverse, qty is USD (1 USD contracts), so
//    base = qty / price; PF_ are linear, qty is already base. A registry
//    entry for the market (config) overrides these defaults. Any other
//    prefix is counted kUnknownInstrument, never guessed.
//  * trade_id = seq: a per-product trade sequence number (the
//    trade_snapshot shows consecutive seqs per product), so it is numeric
//    and gap-checkable; `uid` is a UUID and would only de-duplicate.
//  * time is ms since the epoch (ms_to_ns).
//
// Errors: a spot frame carries several trades. A trade with a bad field is
// counted by its reason (count_error) and the frame's other trades are kept;
// the frame is kEvents if any trade was emitted, else kError (no second
// count). A structural error (truncation) stops the frame after one count.
#include <cstring>
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// Structural problems leave the document unusable past this point.
bool is_structural(ParseError error) noexcept { return error == ParseError::kTruncated; }

// The text of a scalar as received: a JSON string without its quotes, or a
// number's token without trailing whitespace. Does not consume the value.
std::string_view scalar_text(ondemand::value& value) noexcept {
  std::string_view token = value.raw_json_token();
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (token.size() >= 2 && token.front() == '"') {
    const auto close = token.find('"', 1);
    token = token.substr(1, close == std::string_view::npos ? token.size() - 1 : close - 1);
  }
  return token;
}

// ---------------------------------------------------------------- spot (v1)

class KrakenSpotParser final : public ExchangeParser {
 public:
  KrakenSpotParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("KRAKEN", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::json_type type;
    if (auto error = doc.type().get(type)) return fail(to_parse_error(error));
    if (type == ondemand::json_type::object) return parse_event(doc);
    if (type != ondemand::json_type::array) return fail(ParseError::kBadType);

    // Pass 1: the last two strings are the channel name and the pair.
    std::string_view channel, pair;
    std::size_t strings = 0;
    {
      ondemand::array array;
      if (auto error = doc.get_array().get(array)) return fail(to_parse_error(error));
      std::size_t index = 0;
      for (auto result : array) {
        ondemand::value value;
        if (auto error = std::move(result).get(value)) return fail(to_parse_error(error));
        if (index++ == 0) continue;  // channelID
        ondemand::json_type element_type;
        if (auto error = value.type().get(element_type)) return fail(to_parse_error(error));
        if (element_type != ondemand::json_type::string) continue;
        std::string_view s;
        if (auto error = value.get_string().get(s)) return fail(to_parse_error(error));
        channel = pair;
        pair = s;
        ++strings;
      }
    }
    if (strings < 2) return fail(ParseError::kMissingField);
    if (channel != "trade") {
      if (channel.starts_with("book")) return skip(SkipKind::kBook);
      if (channel.starts_with("ohlc") || channel == "spread" || channel == "ticker")
        return skip(SkipKind::kOtherChannel);
      return fail(ParseError::kUnknownChannel);
    }
    // Resolve before rewinding: `pair` lives in the string buffer that the
    // second pass reuses.
    const ResolvedMarket* market = markets_.resolve(pair, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) return fail(ParseError::kUnknownMarket);
    const MarketId market_id = market->id;
    char id_text[192];
    std::size_t pair_len = pair.size();
    if (pair_len > 64) return fail(ParseError::kUnknownMarket);  // resolve() refuses these anyway
    std::memcpy(id_text, pair.data(), pair_len);

    // Pass 2: the trades, the array's second element.
    doc.rewind();
    ondemand::array array;
    if (auto error = doc.get_array().get(array)) return fail(to_parse_error(error));
    std::size_t index = 0, emitted = 0, bad = 0;
    bool overflow = false;
    for (auto element : array) {
      if (index++ == 0) continue;  // channelID
      ondemand::array trades;
      if (auto error = element.get_array().get(trades)) return fail(to_parse_error(error));
      for (auto result : trades) {
        ondemand::array fields;
        ParseError error = ParseError::kCount;
        if (auto e = result.get_array().get(fields)) {
          error = to_parse_error(e);
        } else {
          error = parse_trade(fields, market_id, id_text, pair_len, receive_ts_ns, out, emitted);
        }
        if (error == ParseError::kOverflow) {  // counted by emit()
          overflow = true;
          break;
        }
        if (error != ParseError::kCount) {
          count_error(error);
          ++bad;
          if (is_structural(error)) break;
        }
      }
      break;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0 || overflow) return ParseOutcome::kError;
    return skip(SkipKind::kFiltered);  // a trade frame with an empty list
  }

 private:
  ParseOutcome parse_event(ondemand::document& doc) {
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));
    std::string_view event;
    if (auto error = field(root, "event").get_string().get(event)) return fail(to_parse_error(error));
    if (event == "heartbeat" || event == "systemStatus" || event == "subscriptionStatus" || event == "pong" ||
        event == "error")
      return skip(SkipKind::kControl);
    return fail(ParseError::kUnknownChannel);
  }

  // One trade: [price, volume, time, side, orderType, misc, ...]. Returns
  // ParseError::kCount when the trade was emitted, kOverflow when the buffer
  // is full (already counted), else the reason to count.
  ParseError parse_trade(ondemand::array& fields, MarketId market, char* id_text, std::size_t pair_len,
                         std::int64_t receive_ts_ns, EventBuffer& out, std::size_t& emitted) {
    std::string_view text[5];  // price, volume, time, side, orderType as received
    double price = 0, volume = 0;
    std::size_t index = 0;
    for (auto result : fields) {
      if (index == 5) break;  // misc and anything newer are not needed
      ondemand::value value;
      if (auto error = std::move(result).get(value)) return to_parse_error(error);
      simdjson::error_code error = simdjson::SUCCESS;
      switch (index) {
        case 0:
          text[0] = scalar_text(value);
          error = number_or_string(value, price);
          break;
        case 1:
          text[1] = scalar_text(value);
          error = number_or_string(value, volume);
          break;
        default: error = value.get_string().get(text[index]); break;
      }
      if (error) return to_parse_error(error);
      ++index;
    }
    if (index < 5) return ParseError::kMissingField;

    Trade t;
    if (!valid_price(price) || !valid_qty(volume) || !parse_side(text[3], t.side) ||
        !parse_epoch_seconds_ns(text[2], t.exchange_ts_ns) || !plausible_exchange_ns(t.exchange_ts_ns))
      return ParseError::kBadValue;

    // "<pair>|<price>|<volume>|<time>|<side>|<orderType>"
    std::size_t n = pair_len;
    constexpr std::size_t kCapacity = 192;
    for (const std::string_view part : text) {
      if (n + 1 + part.size() > kCapacity) return ParseError::kBadValue;  // no real field is this long
      id_text[n++] = '|';
      std::memcpy(id_text + n, part.data(), part.size());
      n += part.size();
    }
    t.trade_id = hash_trade_id(std::string_view(id_text, n));
    t.flags = kTradeIdHashed;
    t.price = price;
    t.qty = volume;
    t.market = market;
    t.receive_ts_ns = receive_ts_ns;
    if (!emit(t, out)) return ParseError::kOverflow;
    ++emitted;
    return ParseError::kCount;
  }
};

// ------------------------------------------------------------------ futures

class KrakenFuturesParser final : public ExchangeParser {
 public:
  KrakenFuturesParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("KRAKEN", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));

    enum : unsigned {
      kFeed = 1,
      kProduct = 2,
      kSide = 4,
      kType = 8,
      kSeq = 16,
      kTime = 32,
      kQty = 64,
      kPrice = 128,
      kAll = 255
    };
    unsigned seen = 0;
    std::string_view product, side_word, type;
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    double qty = 0, price = 0;
    for (auto result : root) {
      ondemand::field field;
      if (auto error = std::move(result).get(field)) return fail(to_parse_error(error));
      const ondemand::raw_json_string key = field.key();
      simdjson::error_code error = simdjson::SUCCESS;
      if (key == "feed") {
        std::string_view feed;
        if ((error = field.value().get_string().get(feed))) return fail(to_parse_error(error));
        if (feed != "trade") {
          if (feed == "trade_snapshot") return skip(SkipKind::kSnapshot);
          if (feed == "book" || feed == "book_snapshot") return skip(SkipKind::kBook);
          if (feed == "ticker" || feed == "ticker_lite") return skip(SkipKind::kOtherChannel);
          if (feed == "heartbeat") return skip(SkipKind::kControl);
          return fail(ParseError::kUnknownChannel);
        }
        seen |= kFeed;
      } else if (key == "event") {
        return skip(SkipKind::kControl);  // info, subscribed, unsubscribed, alert, error, challenge, ...
      } else if (key == "product_id") {
        error = field.value().get_string().get(product);
        seen |= kProduct;
      } else if (key == "side") {
        error = field.value().get_string().get(side_word);
        seen |= kSide;
      } else if (key == "type") {
        error = field.value().get_string().get(type);
        seen |= kType;
      } else if (key == "seq") {
        error = field.value().get_uint64().get(seq);
        seen |= kSeq;
      } else if (key == "time") {
        error = field.value().get_int64().get(time_ms);
        seen |= kTime;
      } else if (key == "qty") {
        error = number_or_string(field.value(), qty);
        seen |= kQty;
      } else if (key == "price") {
        error = number_or_string(field.value(), price);
        seen |= kPrice;
      }
      if (error) return fail(to_parse_error(error));
    }
    if (seen != kAll) return fail(ParseError::kMissingField);

    Trade t;
    if (type == "liquidation") {
      t.flags = kTradeLiquidation;
    } else if (type != "fill") {
      return skip(SkipKind::kFiltered);
    }
    if (!parse_side(side_word, t.side) || !valid_price(price) || !valid_qty(qty) ||
        !ms_to_ns(time_ms, t.exchange_ts_ns))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market = resolve(product);
    if (market == nullptr) return fail(ParseError::kUnknownMarket);
    if (!market->to_base(qty, price, t.qty) || !valid_qty(t.qty)) return fail(ParseError::kUnknownInstrument);
    t.trade_id = seq;
    t.price = price;
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    return emit(t, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

 private:
  const ResolvedMarket* resolve(std::string_view product) {
    auto has_prefix = [product](const char* p) {
      return product.size() > 3 && (product[0] == p[0] || product[0] == p[0] + ('a' - 'A')) &&
             (product[1] == p[1] || product[1] == p[1] + ('a' - 'A')) && product[2] == '_';
    };
    if (has_prefix("PI") || has_prefix("FI"))
      return markets_.resolve(product, PairCase::kUpper, InstrumentKind::kInverse, 1);
    if (has_prefix("PF")) return markets_.resolve(product, PairCase::kUpper, InstrumentKind::kLinear, 1);
    return markets_.resolve(product, PairCase::kUpper, InstrumentKind::kUnknown, 0);
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_kraken_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options) {
  if (exchange == "KRAKEN_FUTURES") return std::make_unique<KrakenFuturesParser>(registry, options);
  return std::make_unique<KrakenSpotParser>(registry, options);
}

}  // namespace tickflow
