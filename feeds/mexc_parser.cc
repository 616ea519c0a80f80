// feeds/mexc_parser.cc
//
// MEXC spot ("MEXC"; wss://wbs-api.mexc.com/ws) and MEXC futures
// ("MEXC_FUTURES"; wss://contract.mexc.com/edge). Both name markets under
// aggr-server's single id MEXC: spot pairs have no underscore
// (MEXC:BTCUSDT), contracts have one (MEXC:BTC_USDT), so they never collide.
//
// Spot: deals arrive as protobuf (binary frames) on
// "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT" (schema:
// github mexcdevelop/websocket-proto). The few fields needed are decoded by
// hand (varints and length-delimited fields; no libprotobuf):
//
//   PushDataV3ApiWrapper { 1 channel: string; 3 symbol: string;
//     5 createTime, 6 sendTime: int64; body (oneof): 301 publicDeals,
//     314 publicAggreDeals (the deals), 302 303 312 313 depths,
//     305 311 315 book tickers (kBook), 304 306..310 others (kOtherChannel) }
//   PublicAggreDealsV3Api { 1 deals: repeated item; 2 eventType: string }
//   item { 1 price: string; 2 quantity: string; 3 tradeType: int32 (1 buy,
//     2 sell: the taker side); 4 time: int64 ms; 5 tradeId: string }
//
//   Unknown field numbers are skipped by wire type, as protobuf readers do.
//   A frame that does not decode (a varint past the end, a length past the
//   end, a group or reserved wire type, an empty frame) is
//   ParseError::kTruncated; a wrapper whose body is missing is kMissingField.
//   JSON text frames on the spot socket are control replies:
//   {"id":0,"code":0,"msg":"spot@public.aggre.deals..."} (subscription ack),
//   {"id":0,"code":0,"msg":"PONG"} (the answer to the client's
//   {"method":"PING"}) -> SkipKind::kControl.
//
// Futures (JSON):
//   {"channel":"push.deal","data":[{"p":63200.5,"v":25,"T":1,"O":1,"M":2,
//     "t":1714567890400},..],"symbol":"BTC_USDT","ts":..}
//   `data` is an array today; the older documented form, one object, is
//   taken too. `T` is the taker side (1 buy, 2 sell).
//   "rs.sub.deal", "pong", "rs.error" and any other "rs.*" -> kControl;
//   "push.depth*" -> kBook; any other "push.*" -> kOtherChannel; anything
//   else -> ParseError::kUnknownChannel.
//
// Normalization (../shared/docs/exchanges.md, aggr-server's mexc/*.js):
//  * Spot: quantity is base; MEXC:<symbol as sent> (wrapper field 3, or the
//    channel's last "@" part when absent).
//  * Futures: v is contracts. Linear (BTC_USDT): qty = v x contractSize;
//    inverse (BTC_USD): qty = v x contractSize / p. Contract terms come from
//    the shipped instruments table (feeds/instruments.cc) or not at all:
//    an unlisted contract is ParseError::kUnknownInstrument, never guessed.
//  * Ids: futures deals carry none, and spot's tradeId is not documented as
//    numeric. Spot: trade_id is the tradeId's value when it is a plain
//    unsigned integer, otherwise a hash of it, otherwise (absent) a hash of
//    "symbol|time|price|qty|side" as sent. Futures: a hash of the deal's
//    time, price, volume and side as parsed (deal_id()). Hashed ids are flagged
//    kTradeIdHashed (LiveFeed passes hashed ids through de-duplication:
//    MEXC resends nothing on subscribe, so nothing is counted twice). Gap
//    detection: by time only (venues/mexc.cc).
//  * No public liquidation stream on either venue.
//  * One frame may carry several deals: a bad deal is counted by reason and
//    skipped, the good ones are kept (kEvents if any was emitted).
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// --- protobuf wire format, read-only -----------------------------------------

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// A cursor over one message's bytes. Every read is bounds-checked; a failed
// read leaves ok() false and the cursor at the end.
class PbReader {
 public:
  explicit PbReader(std::string_view bytes) noexcept
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool done() const noexcept { return p_ == end_; }
  bool ok() const noexcept { return ok_; }

  bool varint(std::uint64_t& v) noexcept {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return broken();
      const unsigned char b = *p_++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return broken();  // more than 10 bytes
  }
  // The next field's number and wire type.
  bool tag(std::uint32_t& number, std::uint32_t& wire) noexcept {
    std::uint64_t key = 0;
    if (!varint(key)) return false;
    number = static_cast<std::uint32_t>(key >> 3);
    wire = static_cast<std::uint32_t>(key & 7);
    return number != 0 || broken();
  }
  bool bytes(std::string_view& out) noexcept {
    std::uint64_t n = 0;
    if (!varint(n)) return false;
    if (n > static_cast<std::uint64_t>(end_ - p_)) return broken();
    out = {reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n)};
    p_ += n;
    return true;
  }
  // Skips a value of `wire` type; groups (3, 4) and 6, 7 are refused.
  bool skip(std::uint32_t wire) noexcept {
    std::uint64_t ignored = 0;
    std::string_view view;
    switch (wire) {
      case kVarint: return varint(ignored);
      case kLen: return bytes(view);
      case kFixed64: return advance(8);
      case kFixed32: return advance(4);
      default: return broken();
    }
  }

 private:
  bool advance(std::size_t n) noexcept {
    if (n > static_cast<std::size_t>(end_ - p_)) return broken();
    p_ += n;
    return true;
  }
  bool broken() noexcept {
    ok_ = false;
    p_ = end_;
    return false;
  }
  const unsigned char* p_;
  const unsigned char* end_;
  bool ok_ = true;
};

// A decimal in a protobuf string field ("63250.12"); the whole string must
// be the number.
bool decimal(std::string_view s, double& out) noexcept {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

// A plain unsigned integer that fits in 64 bits.
bool plain_uint(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

// --- spot ---------------------------------------------------------------------

class MexcSpotParser final : public ExchangeParser {
 public:
  MexcSpotParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("MEXC", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame.empty()) return fail(ParseError::kTruncated);
    if (frame.front() == '{') return parse_json(frame);
    return parse_protobuf(frame, receive_ts_ns, out);
  }

 private:
  // JSON on the spot socket: subscription replies and PONG, all carrying
  // "msg" (errors too: "Not Subscribed successfully! ..."), or anything else.
  ParseOutcome parse_json(std::string_view frame) {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));
    bool control = false;
    for (auto result : root) {
      ondemand::field field;
      if (auto error = std::move(result).get(field)) return fail(to_parse_error(error));
      const auto key = field.key();
      if (key == "msg" || key == "code") control = true;
    }
    return control ? skip(SkipKind::kControl) : fail(ParseError::kUnknownChannel);
  }

  enum class Body : std::uint8_t { kNone, kDeals, kBook, kOther };

  static Body body_kind(std::uint32_t number) noexcept {
    switch (number) {
      case 301:
      case 314: return Body::kDeals;
      case 302:
      case 303:
      case 305:
      case 311:
      case 312:
      case 313:
      case 315: return Body::kBook;
      default: return number > 300 && number < 400 ? Body::kOther : Body::kNone;
    }
  }

  ParseOutcome parse_protobuf(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) {
    PbReader wrapper(frame);
    std::string_view channel, symbol, deals;
    Body body = Body::kNone;
    while (!wrapper.done()) {
      std::uint32_t number = 0, wire = 0;
      if (!wrapper.tag(number, wire)) return fail(ParseError::kTruncated);
      const Body kind = body_kind(number);
      if (wire == kLen && (number == 1 || number == 3 || kind != Body::kNone)) {
        std::string_view value;
        if (!wrapper.bytes(value)) return fail(ParseError::kTruncated);
        if (number == 1) {
          channel = value;
        } else if (number == 3) {
          symbol = value;
        } else {
          body = kind;
          if (kind == Body::kDeals) deals = value;
        }
      } else if (!wrapper.skip(wire)) {
        return fail(ParseError::kTruncated);
      }
    }
    switch (body) {
      case Body::kBook: return skip(SkipKind::kBook);
      case Body::kOther: return skip(SkipKind::kOtherChannel);
      case Body::kNone: return fail(ParseError::kMissingField);
      case Body::kDeals: break;
    }
    if (symbol.empty()) {
      const auto at = channel.rfind('@');
      if (at != std::string_view::npos) symbol = channel.substr(at + 1);
    }
    if (symbol.empty()) return fail(ParseError::kMissingField);
    const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) return market_missed();

    std::size_t emitted = 0, bad = 0;
    PbReader list(deals);
    while (!list.done()) {
      std::uint32_t number = 0, wire = 0;
      if (!list.tag(number, wire)) return ended(emitted, ParseError::kTruncated);
      if (number != 1 || wire != kLen) {
        if (!list.skip(wire)) return ended(emitted, ParseError::kTruncated);
        continue;
      }
      std::string_view item;
      if (!list.bytes(item)) return ended(emitted, ParseError::kTruncated);
      Trade trade;
      const ParseError error = read_deal(item, symbol, *market, trade);
      if (error != ParseError::kCount) {
        if (error == ParseError::kTruncated) return ended(emitted, error);
        count_error(error);
        ++bad;
        continue;
      }
      trade.receive_ts_ns = receive_ts_ns;
      if (!emit(trade, out)) return emitted > 0 ? ParseOutcome::kEvents : ParseOutcome::kError;
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // a deals body with no deals
  }

  // A structural error part-way: counted once; deals already emitted stay.
  ParseOutcome ended(std::size_t emitted, ParseError error) noexcept {
    count_error(error);
    return emitted > 0 ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  // One deal item. kCount: good; kTruncated: undecodable (ends the frame).
  ParseError read_deal(std::string_view item, std::string_view symbol, const ResolvedMarket& market,
                       Trade& trade) noexcept {
    PbReader r(item);
    std::string_view price, quantity, trade_id;
    std::uint64_t type = 0, time = 0;
    unsigned seen = 0;
    while (!r.done()) {
      std::uint32_t number = 0, wire = 0;
      if (!r.tag(number, wire)) return ParseError::kTruncated;
      bool read = false;
      if (wire == kLen && number >= 1 && number <= 5 && number != 3 && number != 4) {
        std::string_view value;
        if (!r.bytes(value)) return ParseError::kTruncated;
        if (number == 1) price = value;
        if (number == 2) quantity = value;
        if (number == 5) trade_id = value;
        seen |= 1u << number;
        read = true;
      } else if (wire == kVarint && (number == 3 || number == 4)) {
        if (!r.varint(number == 3 ? type : time)) return ParseError::kTruncated;
        seen |= 1u << number;
        read = true;
      } else if (number >= 1 && number <= 5) {
        return ParseError::kBadType;  // a known field with the wrong wire type
      }
      if (!read && !r.skip(wire)) return ParseError::kTruncated;
    }
    constexpr unsigned kNeeded = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
    if ((seen & kNeeded) != kNeeded) return ParseError::kMissingField;
    if (!decimal(price, trade.price) || !decimal(quantity, trade.qty)) return ParseError::kBadType;
    if (type != 1 && type != 2) return ParseError::kBadValue;
    if (time > static_cast<std::uint64_t>(INT64_MAX) ||
        !ms_to_ns(static_cast<std::int64_t>(time), trade.exchange_ts_ns))
      return ParseError::kBadValue;
    if (!valid_price(trade.price) || !valid_qty(trade.qty)) return ParseError::kBadValue;
    trade.side = type == 1 ? Side::kBuy : Side::kSell;
    trade.flags = kTradeNone;
    if (!trade_id.empty() && plain_uint(trade_id, trade.trade_id)) {
      // numeric, used as is
    } else if (!trade_id.empty()) {
      trade.trade_id = hash_trade_id(trade_id);
      trade.flags |= kTradeIdHashed;
    } else {
      trade.trade_id = IdKey{}
                           .add(symbol)
                           .add(static_cast<std::int64_t>(time))
                           .add(price)
                           .add(quantity)
                           .add(static_cast<std::int64_t>(type))
                           .hash();
      trade.flags |= kTradeIdHashed;
    }
    trade.market = market.id;
    return ParseError::kCount;
  }
};

// --- futures ------------------------------------------------------------------

class MexcFuturesParser final : public ExchangeParser {
 public:
  MexcFuturesParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("MEXC", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));
    // One pass: MEXC sends "channel" first, then "data", then "symbol". The
    // deals are read into a small stack buffer and converted once the
    // symbol (the contract terms) is known. A frame with more deals than
    // the buffer holds (never seen: pushes are batched every few ms), or
    // with "data" before "channel", reads them in a second pass.
    Pending pending;
    std::string_view symbol;
    bool deal_channel = false, have_channel = false, have_data = false, data_first = false;
    for (auto result : root) {
      ondemand::field f;
      if (auto error = std::move(result).get(f)) return fail(to_parse_error(error));
      const auto key = f.key();
      if (key == "channel") {
        std::string_view channel;
        if (auto error = f.value().get_string().get(channel)) return fail(to_parse_error(error));
        if (channel != "push.deal") {
          if (channel.starts_with("rs.") || channel == "pong") return skip(SkipKind::kControl);
          if (channel.starts_with("push.depth")) return skip(SkipKind::kBook);
          if (channel.starts_with("push.")) return skip(SkipKind::kOtherChannel);
          return fail(ParseError::kUnknownChannel);
        }
        have_channel = deal_channel = true;
      } else if (key == "data") {
        have_data = true;
        if (!have_channel) {
          data_first = true;  // unknown kind yet: read in the second pass
          continue;
        }
        if (auto error = read_data(f.value(), pending)) return fail(to_parse_error(error));
        if (pending.structural) return ParseOutcome::kError;  // counted once, by read_data
      } else if (key == "symbol") {
        if (auto error = f.value().get_string().get(symbol)) return fail(to_parse_error(error));
      }
    }
    if (!deal_channel) return fail(ParseError::kMissingField);
    if (data_first) {
      doc.rewind();
      ondemand::object again;
      ondemand::value data;
      if (auto error = doc.get_object().get(again)) return fail(to_parse_error(error));
      if (auto error = field(again, "data").get(data)) return fail(to_parse_error(error));
      if (auto error = read_data(data, pending)) return fail(to_parse_error(error));
      if (pending.structural) return ParseOutcome::kError;
    }
    if (!have_data || symbol.empty()) return fail(ParseError::kMissingField);
    if (pending.size == 0 && !pending.overflowed)
      return pending.bad > 0 ? ParseOutcome::kError : fail(ParseError::kMissingField);  // no good deal
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return pending.bad > 0 ? ParseOutcome::kError : market_missed();
    bool full = false;
    for (std::size_t i = 0; i < pending.size && !full; ++i)
      full = !convert_and_emit(pending.deals[i], *market, receive_ts_ns, out, pending);
    if (pending.overflowed && !full) {
      doc.rewind();
      ondemand::object again;
      ondemand::array list;
      if (doc.get_object().get(again) == simdjson::SUCCESS &&
          field(again, "data").get_array().get(list) == simdjson::SUCCESS) {
        std::size_t index = 0;
        for (auto element : list) {
          if (index++ < Pending::kCapacity) continue;  // converted above
          ondemand::object item;
          if (auto error = element.get_object().get(item)) {
            count_error(to_parse_error(error));
            ++pending.bad;
            if (!recoverable(error)) break;
            continue;
          }
          Deal deal;
          if (!read_deal(item, deal)) {
            count_error(deal.error);
            ++pending.bad;
            if (deal.structural) break;
            continue;
          }
          if (!convert_and_emit(deal, *market, receive_ts_ns, out, pending)) break;
        }
      }
    }
    if (pending.emitted > 0) return ParseOutcome::kEvents;
    return ParseOutcome::kError;  // every deal counted by reason (or kOverflow)
  }

 private:
  // Trivial on purpose: the 64-deal buffer costs nothing to set up per frame.
  struct Deal {
    double price, contracts;
    std::int64_t taker, ms;
    ParseError error;  // why read_deal() refused it
    bool structural;   // the deal's JSON could not be read to its end
  };
  struct Pending {
    static constexpr std::size_t kCapacity = 64;
    Deal deals[kCapacity];
    std::size_t size = 0, bad = 0, emitted = 0;
    bool overflowed = false;
    bool structural = false;  // the data value could not be read to its end
  };

  const ResolvedMarket* resolve(std::string_view symbol) {
    return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kUnknown, 0);
  }

  // data: an array of deals, or (the older documented form) one deal.
  simdjson::error_code read_data(ondemand::value data, Pending& pending) noexcept {
    ondemand::json_type type;
    if (auto error = data.type().get(type)) return error;
    if (type == ondemand::json_type::object) {
      ondemand::object item;
      if (auto error = data.get_object().get(item)) return error;
      add(item, pending);
      return simdjson::SUCCESS;
    }
    if (type != ondemand::json_type::array) return simdjson::INCORRECT_TYPE;
    ondemand::array list;
    if (auto error = data.get_array().get(list)) return error;
    for (auto element : list) {
      if (pending.size == Pending::kCapacity) {
        pending.overflowed = true;
        return simdjson::SUCCESS;  // the rest is skipped here, read in the second pass
      }
      ondemand::object item;
      if (auto error = element.get_object().get(item)) {
        count_error(to_parse_error(error));
        ++pending.bad;
        if (!recoverable(error)) {
          pending.structural = true;
          return simdjson::SUCCESS;
        }
        continue;
      }
      if (!add(item, pending)) return simdjson::SUCCESS;
    }
    return simdjson::SUCCESS;
  }

  // False: the document cannot be read further.
  bool add(ondemand::object& item, Pending& pending) noexcept {
    Deal& deal = pending.deals[pending.size];
    if (read_deal(item, deal)) {
      ++pending.size;
      return true;
    }
    count_error(deal.error);
    ++pending.bad;
    if (deal.structural) pending.structural = true;
    return !deal.structural;
  }

  // A deal's fields, in the order MEXC sends them (keys sorted: M, O, T, p,
  // t, v); a missing one is looked up from the start once.
  static bool read_deal(ondemand::object& item, Deal& deal) noexcept {
    deal.structural = false;
    auto failed = [&deal](simdjson::error_code e) {
      deal.error = to_parse_error(e);
      deal.structural = !recoverable(e);
      return false;
    };
    if (auto e = field(item, "T").get_int64().get(deal.taker)) return failed(e);
    if (auto e = field(item, "p").get_double().get(deal.price)) return failed(e);
    if (auto e = field(item, "t").get_int64().get(deal.ms)) return failed(e);
    if (auto e = field(item, "v").get_double().get(deal.contracts)) return failed(e);
    if ((deal.taker != 1 && deal.taker != 2) || !valid_price(deal.price) || !valid_qty(deal.contracts)) {
      deal.error = ParseError::kBadValue;
      return false;
    }
    return true;
  }

  // False: the event buffer is full (kOverflow counted).
  bool convert_and_emit(const Deal& deal, const ResolvedMarket& market, std::int64_t receive_ts_ns, EventBuffer& out,
                        Pending& pending) noexcept {
    Trade trade;
    ParseError error{};
    if (!ms_to_ns(deal.ms, trade.exchange_ts_ns)) {
      count_error(ParseError::kBadValue);
      ++pending.bad;
      return true;
    }
    if (!to_base_qty(market, deal.contracts, deal.price, trade.qty, error)) {
      count_error(error);
      ++pending.bad;
      return true;
    }
    trade.side = deal.taker == 1 ? Side::kBuy : Side::kSell;
    trade.price = deal.price;
    trade.market = market.id;
    trade.receive_ts_ns = receive_ts_ns;
    trade.flags = kTradeIdHashed;
    trade.trade_id = deal_id(deal);
    if (!emit(trade, out)) {
      ++pending.bad;
      return false;
    }
    ++pending.emitted;
    return true;
  }

  // No id on the wire: a hash of the deal's values (time, price, volume,
  // side: 4 words through hash_trade_id), stable across runs and builds.
  // De-duplication and gaps are per market, so the market need not be in it.
  static std::uint64_t deal_id(const Deal& deal) noexcept {
    char key[32];
    const std::uint64_t words[4] = {static_cast<std::uint64_t>(deal.ms), std::bit_cast<std::uint64_t>(deal.price),
                                    std::bit_cast<std::uint64_t>(deal.contracts),
                                    static_cast<std::uint64_t>(deal.taker)};
    std::memcpy(key, words, sizeof key);
    return hash_trade_id({key, sizeof key});
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_mexc_parser(std::string_view exchange, MarketRegistry& registry,
                                                 ParserOptions options) {
  if (exchange == "MEXC") return std::make_unique<MexcSpotParser>(registry, options);
  if (exchange == "MEXC_FUTURES") return std::make_unique<MexcFuturesParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
