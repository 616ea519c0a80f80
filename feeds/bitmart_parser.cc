// feeds/bitmart_parser.cc
//
// BitMart spot ("BITMART"; wss://ws-manager-compress.bitmart.com/api?protocol=1.1)
// and USDT-margined futures ("BITMART_FUTURES"; wss://openapi-ws-v2.bitmart.com/api?protocol=1.1).
// Both name markets under aggr-server's one id, BITMART: spot pairs keep
// their underscore (BITMART:BTC_USDT), futures symbols have none
// (BITMART:BTCUSDT). Either parser reads either shape; the frame says which.
//
// Compression: market data may arrive as binary raw-deflate (RFC 1951, no
// zlib or gzip header: BitMart's "Data Compression" section). A frame whose
// first byte cannot start JSON text is inflated with
// one z_stream per parser (inflateReset per frame) into a buffer sized once
// to ParserOptions::max_frame_bytes: no allocation per frame.
//   * inflated size above max_frame_bytes      -> ParseError::kOversize
//   * not deflate, corrupt, truncated          -> ParseError::kDecompress
// Text frames (first byte '{', '[' or whitespace, or exactly "pong"/"ping")
// are parsed as they are.
//
// Frames (after inflation):
//   {"data":[{"ms_t":..,"price":"..","s_t":..,"side":"sell","size":"..","symbol":"BTC_USDT"}],
//    "table":"spot/trade"}                                    spot trades ("table" may come last)
//   {"group":"futures/trade:BTCUSDT","data":[{"trade_id":..,"symbol":"BTCUSDT","deal_price":"..",
//    "deal_vol":"..","way":1,"m":true,"created_at":"2023-02-24T07:54:11.124940968Z"}]}  futures trades
//   "pong" (text), {"event":"subscribe"|"error",..}, {"action":"subscribe"|"pong"|..,..}
//   without "data"                                            SkipKind::kControl
//   spot/depth*, futures/depth*, futures/bookticker          SkipKind::kBook
//   any other spot/ or futures/ channel (ticker, kline, ..)  SkipKind::kOtherChannel
//   a table/group outside spot/ and futures/                 ParseError::kUnknownChannel
//
// Normalization (as aggr-server's bitmart.js, ../shared/docs/exchanges.md):
//  * Spot: `side` is the taker side, `size` is base. Time: `ms_t` (ms); a
//    frame without it falls back to `s_t` x 1000 (aggr-server uses s_t, a
//    whole second; ms_t is the same instant to the millisecond).
//  * Spot trades carry no id: trade_id = a hash of symbol, ms, side, size and
//    price (as their JSON tokens) and i (the trade's index in its frame, so
//    that two identical prints in one frame stay two trades), flagged
//    kTradeIdHashed. BitMart sends no trade history on subscribe.
//  * Futures: side = taker side from `m` (buyer is maker -> sell); without
//    `m`, from `way` (1-4: buy, 5-8: sell), as aggr-server. `deal_vol` is
//    contracts: base = deal_vol x contract_size from the instruments table
//    (BTCUSDT: 0.001 BTC); a symbol the table lacks is
//    ParseError::kUnknownInstrument, never guessed. trade_id is BitMart's
//    (number or numeric string). Time: `created_at`, ISO 8601 with up to 9
//    fraction digits, exact in ns. A frame lists its trades newest first;
//    they are emitted oldest first (ids ascending), as LiveFeed's
//    de-duplication expects.
//  * Futures `type` (when present): 1 is a liquidation (kTradeLiquidation,
//    side = the taker side, i.e. the liquidation order's side: sell = a long
//    was liquidated), 8 or absent a plain trade, anything else is not a
//    market trade (SkipKind::kFiltered when a frame holds nothing else), as
//    aggr-server filters them. BitMart publishes no separate liquidation
//    channel.
//
// Errors: as okx_parser.cc. One frame may carry several trades: a bad trade
// is counted by reason and skipped, the good ones kept; a structural error
// part-way is counted once and ends the frame. Outcome kEvents when any
// trade was emitted.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"
#include "feeds/token_hash.h"

namespace tickflow {
namespace {

// raw deflate -> bytes, one z_stream reused for every frame.
class RawInflater {
 public:
  enum class Result : std::uint8_t { kOk, kOversize, kCorrupt };

  RawInflater() {
    std::memset(&stream_, 0, sizeof stream_);
    if (inflateInit2(&stream_, -MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~RawInflater() { inflateEnd(&stream_); }
  RawInflater(const RawInflater&) = delete;
  RawInflater& operator=(const RawInflater&) = delete;

  // `out` was sized up front (its capacity bounds the output); never grown.
  Result inflate(std::string_view in, PaddedFrame& out) noexcept {
    if (inflateReset(&stream_) != Z_OK) return Result::kCorrupt;
    const std::size_t limit = out.capacity();
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream_.avail_in = static_cast<uInt>(in.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(limit);
    const int rc = ::inflate(&stream_, Z_FINISH);
    if (rc == Z_STREAM_END) {
      out.resize(limit - stream_.avail_out);  // within capacity: no allocation
      return Result::kOk;
    }
    if ((rc == Z_OK || rc == Z_BUF_ERROR) && stream_.avail_out == 0) return Result::kOversize;
    return Result::kCorrupt;
  }

 private:
  z_stream stream_;
};

enum class Channel : std::uint8_t { kSpotTrade, kFuturesTrade, kBook, kOther, kUnknown };

Channel channel_of(std::string_view name) noexcept {
  // spot: "spot/trade"; futures: "futures/trade:BTCUSDT", "futures/depth20:BTCUSDT@200ms"
  std::string_view topic;
  bool futures = false;
  if (name.starts_with("spot/")) {
    topic = name.substr(5);
  } else if (name.starts_with("futures/")) {
    topic = name.substr(8);
    futures = true;
  } else {
    return Channel::kUnknown;
  }
  topic = topic.substr(0, topic.find(':'));
  if (topic == "trade") return futures ? Channel::kFuturesTrade : Channel::kSpotTrade;
  if (topic.starts_with("depth") || topic == "bookticker") return Channel::kBook;
  return Channel::kOther;
}

// A field's value as the *_or_string() helpers take it.
simdjson::simdjson_result<ondemand::value> value_of(ondemand::field& f) noexcept { return std::move(f.value()); }

class BitmartParser final : public ExchangeParser {
 public:
  BitmartParser(MarketRegistry& registry, ParserOptions options)
      : ExchangeParser("BITMART", registry, options), inflated_(options.max_frame_bytes) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame.empty()) return fail(ParseError::kTruncated);
    if (frame == "pong" || frame == "ping") return skip(SkipKind::kControl);
    std::string_view json = frame;
    const char first = frame[0];
    // Text starts with '{', '[' or whitespace. Deflate never does for these
    // payloads: a final fixed-Huffman block whose first literal is '{' begins
    // with 0xab, a dynamic block with a byte whose low bits are 101, a stored
    // block with 0x00 or 0x01.
    if (first != '{' && first != '[' && first != ' ' && first != '\n' && first != '\r' && first != '\t') {
      switch (inflater_.inflate(frame, inflated_)) {
        case RawInflater::Result::kOk: break;
        case RawInflater::Result::kOversize: return fail(ParseError::kOversize);
        case RawInflater::Result::kCorrupt: return fail(ParseError::kDecompress);
      }
      json = inflated_.view();  // PaddedFrame: padding follows
    }
    if (json == "pong" || json == "ping") return skip(SkipKind::kControl);
    return parse_json(json, receive_ts_ns, out);
  }

 private:
  // What one frame produced; each method returns false when the frame must end.
  struct Tally {
    std::size_t events = 0, errors = 0, unconfigured = 0, filtered = 0;
    bool json_error(BitmartParser& p, simdjson::error_code e) noexcept {
      p.count_error(to_parse_error(e));
      ++errors;
      return recoverable(e);
    }
    bool trade_error(BitmartParser& p, ParseError error, simdjson::error_code json) noexcept {
      if (error == ParseError::kUnknownMarket && p.markets().last_miss() == ResolveMiss::kUnconfigured) {
        ++unconfigured;  // not subscribed on this connection: skipped, not an error
        return true;
      }
      p.count_error(error);
      ++errors;
      return json == simdjson::SUCCESS || recoverable(json);
    }
    bool emitted(BitmartParser& p, const Trade& trade, EventBuffer& out) noexcept {
      if (!p.emit(trade, out)) {
        ++errors;
        return false;
      }
      ++events;
      return true;
    }
  };
  // read_*() results besides "a trade" and "an error".
  enum class Read : std::uint8_t { kTrade, kError, kFiltered };

  ParseOutcome parse_json(std::string_view json, std::int64_t receive_ts_ns, EventBuffer& out) {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(json.data(), json.size(), json.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // The channel: spot's "table", futures' "group". Spot sends "table"
    // after "data": looking it up would skip the whole array first, so a
    // frame ending in the spot trade table (the root's last member) is
    // known by its bytes.
    constexpr std::string_view kSpotTradeTail = R"("table":"spot/trade"})";
    Channel channel = Channel::kSpotTrade;
    simdjson::error_code e = simdjson::SUCCESS;
    if (!json.ends_with(kSpotTradeTail)) {
      // Futures send "group" first; spot control frames have "table" anywhere.
      std::string_view name;
      const bool group_first = json.starts_with(R"({"group":)");
      e = field(root, group_first ? "group" : "table").get_string().get(name);
      if (e == simdjson::NO_SUCH_FIELD) e = field(root, group_first ? "table" : "group").get_string().get(name);
      if (e == simdjson::NO_SUCH_FIELD) {
        // Acks, errors and pongs: {"event":..} (spot), {"action":..} (futures).
        if (field(root, "event").error() == simdjson::SUCCESS || field(root, "action").error() == simdjson::SUCCESS)
          return skip(SkipKind::kControl);
        return fail(ParseError::kMissingField);
      }
      if (e) return fail(to_parse_error(e));
      channel = channel_of(name);
      switch (channel) {
        case Channel::kBook: return skip(SkipKind::kBook);
        case Channel::kOther: return skip(SkipKind::kOtherChannel);
        case Channel::kUnknown: return fail(ParseError::kUnknownChannel);
        default: break;
      }
    }
    // A subscribe ack of a trade channel also names its group, without data.
    ondemand::array data;
    e = field(root, "data").get_array().get(data);
    if (e == simdjson::NO_SUCH_FIELD && field(root, "action").error() == simdjson::SUCCESS)
      return skip(SkipKind::kControl);
    if (e) return fail(to_parse_error(e));

    Tally tally;
    const std::size_t first_event = out.size();
    std::int64_t index = 0;
    for (auto element : data) {
      ondemand::object item;
      if (auto item_error = element.get_object().get(item)) {
        if (!tally.json_error(*this, item_error)) break;
        continue;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      const Read read = channel == Channel::kSpotTrade
                            ? read_spot(item, index++, receive_ts_ns, trade, error, json_error)
                            : read_futures(item, receive_ts_ns, trade, error, json_error);
      if (read == Read::kFiltered) {
        ++tally.filtered;
        continue;
      }
      if (read == Read::kError) {
        if (!tally.trade_error(*this, error, json_error)) break;
        continue;
      }
      if (!tally.emitted(*this, trade, out)) break;
    }
    // Futures frames list their trades newest first. LiveFeed de-duplicates
    // by "id above the last one delivered", so they are handed on oldest
    // first: the frame's trades are reversed when their ids descend.
    if (channel == Channel::kFuturesTrade && out.size() - first_event >= 2) {
      FeedEvent* begin = out.begin() + first_event;
      if (begin->trade.trade_id > (out.end() - 1)->trade.trade_id) std::reverse(begin, out.end());
    }
    if (tally.events > 0) return ParseOutcome::kEvents;
    if (tally.errors > 0) return ParseOutcome::kError;
    if (tally.unconfigured > 0) return skip(SkipKind::kUnconfigured);
    if (tally.filtered > 0) return skip(SkipKind::kFiltered);
    return fail(ParseError::kMissingField);  // no trades at all
  }

  static Read failed(simdjson::error_code e, ParseError& error, simdjson::error_code& json_error) noexcept {
    json_failed(e, error, json_error);
    return Read::kError;
  }
  static Read bad_value(ParseError& error) noexcept {
    error = ParseError::kBadValue;
    return Read::kError;
  }

  // One spot/trade element, its fields read in one pass whatever their order.
  Read read_spot(ondemand::object& item, std::int64_t index, std::int64_t receive_ts_ns, Trade& trade,
                 ParseError& error, simdjson::error_code& json_error) {
    std::string_view symbol, side_word, price_text, size_text;
    double price = 0, size = 0;
    std::int64_t ms = -1, seconds = -1;
    for (auto member : item) {
      ondemand::field f;
      if (auto e = std::move(member).get(f)) return failed(e, error, json_error);
      const ondemand::raw_json_string key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "price") {
        ondemand::value v = f.value();
        price_text = v.raw_json_token();
        e = number_or_string(v, price);
      } else if (key == "size") {
        ondemand::value v = f.value();
        size_text = v.raw_json_token();
        e = number_or_string(v, size);
      } else if (key == "side") {
        e = f.value().get_string().get(side_word);
      } else if (key == "symbol") {
        e = f.value().get_string().get(symbol);
      } else if (key == "ms_t") {
        e = int_or_string(value_of(f), ms);
      } else if (key == "s_t") {
        e = int_or_string(value_of(f), seconds);
      }
      if (e) return failed(e, error, json_error);
    }
    if (symbol.data() == nullptr || price_text.empty() || size_text.empty() || side_word.data() == nullptr ||
        (ms < 0 && seconds < 0))
      return failed(simdjson::NO_SUCH_FIELD, error, json_error);
    if (ms < 0) {
      if (seconds > 4102444800) return bad_value(error);
      ms = seconds * 1000;  // s_t alone: whole seconds
    }
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !valid_qty(size) ||
        !ms_to_ns(ms, trade.exchange_ts_ns))
      return bad_value(error);
    const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return Read::kError;
    }
    if (!to_base_qty(*market, size, price, trade.qty, error)) return Read::kError;
    trade.receive_ts_ns = receive_ts_ns;
    trade.trade_id = spot_id(*market, symbol, ms, trade.side, size_text, price_text, index);
    trade.price = price;
    trade.market = market->id;
    trade.flags = kTradeIdHashed;
    return Read::kTrade;
  }

  // The id of an id-less spot trade (feeds/token_hash.h): the symbol's hash
  // (kept per market), ms, side, index, then the size and price tokens.
  std::uint64_t spot_id(const ResolvedMarket& market, std::string_view symbol, std::int64_t ms, Side side,
                        std::string_view size_text, std::string_view price_text, std::int64_t index) {
    if (&market != id_market_) {
      id_market_ = &market;
      id_seed_ = hash_trade_id(symbol);
    }
    return TokenHash(id_seed_)
        .add(static_cast<std::uint64_t>(ms) * 4 + static_cast<std::uint64_t>(side))
        .add(static_cast<std::uint64_t>(index))
        .add_token(size_text)
        .add_token(price_text)
        .finish();
  }

  // One futures/trade element, its fields read in one pass.
  Read read_futures(ondemand::object& item, std::int64_t receive_ts_ns, Trade& trade, ParseError& error,
                    simdjson::error_code& json_error) {
    std::string_view symbol, created_at;
    std::uint64_t id = 0;
    double price = 0, volume = 0;
    std::int64_t way = 0, type = 0;
    int buyer_is_maker = -1;  // -1: no "m"
    bool have_id = false, have_price = false, have_volume = false;
    for (auto member : item) {
      ondemand::field f;
      if (auto e = std::move(member).get(f)) return failed(e, error, json_error);
      const ondemand::raw_json_string key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "trade_id") {
        e = uint_or_string(value_of(f), id);
        have_id = true;
      } else if (key == "symbol") {
        e = f.value().get_string().get(symbol);
      } else if (key == "deal_price") {
        e = number_or_string(f.value(), price);
        have_price = true;
      } else if (key == "deal_vol") {
        e = number_or_string(f.value(), volume);
        have_volume = true;
      } else if (key == "m") {
        bool m = false;
        e = f.value().get_bool().get(m);
        buyer_is_maker = m ? 1 : 0;
      } else if (key == "way") {
        e = f.value().get_int64().get(way);
      } else if (key == "created_at") {
        e = f.value().get_string().get(created_at);
      } else if (key == "type") {
        e = f.value().get_int64().get(type);
      }
      if (e) return failed(e, error, json_error);
    }
    if (!have_id || !have_price || !have_volume || symbol.data() == nullptr || created_at.data() == nullptr ||
        (buyer_is_maker < 0 && way == 0))
      return failed(simdjson::NO_SUCH_FIELD, error, json_error);
    // "type": 1 liquidation, 8 or absent a trade, others are not market trades.
    if (type != 0 && type != 1 && type != 8) return Read::kFiltered;
    if (buyer_is_maker < 0) {  // no "m": "way" as aggr-server
      if (way < 1 || way > 8) return bad_value(error);
      buyer_is_maker = way > 4 ? 1 : 0;
    }
    if (!valid_price(price) || !parse_iso8601_ns(created_at, trade.exchange_ts_ns) ||
        !plausible_exchange_ns(trade.exchange_ts_ns))
      return bad_value(error);
    const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kUnknown, 0);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return Read::kError;
    }
    if (!to_base_qty(*market, volume, price, trade.qty, error)) return Read::kError;
    trade.receive_ts_ns = receive_ts_ns;
    trade.trade_id = id;
    trade.price = price;
    trade.market = market->id;
    trade.side = buyer_is_maker == 1 ? Side::kSell : Side::kBuy;
    trade.flags = type == 1 ? kTradeLiquidation : kTradeNone;
    return Read::kTrade;
  }

  RawInflater inflater_;
  PaddedFrame inflated_;
  const ResolvedMarket* id_market_ = nullptr;  // spot_id(): whose symbol hash id_seed_ is
  std::uint64_t id_seed_ = 0;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitmart_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options) {
  if (exchange == "BITMART" || exchange == "BITMART_FUTURES") return std::make_unique<BitmartParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
