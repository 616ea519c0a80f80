// feeds/htx_parser.cc
//
// HTX (Huobi) spot ("HUOBI"; wss://api.huobi.pro/ws) and swaps
// ("HUOBI_SWAP"; coin-margined wss://api.hbdm.com/swap-ws, USDT-margined
// /linear-swap-ws). Both name markets under the aggr-server id HUOBI.
//
// Every frame HTX sends is a gzip member (binary). It is inflated with zlib
// into a buffer sized once to ParserOptions::max_frame_bytes (one z_stream
// per parser, inflateReset per frame: no allocation per frame). A frame whose
// first byte is '{' is taken as already-inflated JSON (tests, recorders that
// store the inflated text). Inflation is GzipInflater::inflate(), kept apart
// so that a benchmark can time it on its own.
//   * inflated size above max_frame_bytes      -> ParseError::kOversize
//   * not gzip, corrupt, truncated, bad CRC     -> ParseError::kDecompress
//   * empty frame                               -> ParseError::kTruncated
//
// JSON frames:
//   {"ch":"market.btcusdt.trade.detail","ts":..,"tick":{"id":..,"ts":..,
//     "data":[{"id":..,"ts":ms,"tradeId":..,"amount":..,"price":..,"direction":"buy"}]}}
//   {"ch":"market.BTC-USD.trade.detail",...,"data":[{"amount":6,"quantity":2.25,
//     "ts":ms,"id":743774717120000,"price":..,"direction":"buy"}]}     swaps
//   {"ping":N}                         kControl; N is kept for the pong (below)
//   {"id":..,"status":"ok","subbed":..} and other acks/errors (status, subbed,
//   unsubbed, op, err-code, pong)      kControl
//   {"rep":..}                         replies to requests: kOtherChannel
//   market.*.depth.* / mbp / bbo       kBook
//   any other market.* channel         kOtherChannel (kline, detail, ticker, ...)
//   a "ch" not starting "market."      ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: `direction` is the taker side.
//  * Spot: qty = amount (base), market HUOBI:<symbol lower case>, e.g.
//    HUOBI:btcusdt.
//  * Swaps: market HUOBI:<contract code as sent>, e.g. HUOBI:BTC-USD
//    (coin-margined: kInverse) or HUOBI:BTC-USDT (linear). qty = `quantity`
//    (base coins; HTX sends it on swap trades) when present; otherwise
//    amount (contracts) x the contract size from the shipped instruments
//    table (linear: x size; inverse: x size / price), and
//    ParseError::kUnknownInstrument when the table does not list it: a
//    contract size is never guessed.
//  * trade_id: spot's `tradeId` (per-symbol sequential: usable for gap
//    detection). Without `tradeId` (swaps), `id`. Spot's `id` does not fit in
//    64 bits (e.g. 100182534526255757567432481), so it is used only when
//    `tradeId` is absent, read from its raw digits: when it fits in 64 bits
//    it is the id; when it does not, trade_id is hash_trade_id(digits) and
//    the trade is flagged kTradeIdHashed (de-duplication still works).
//  * exchange_ts_ns: the trade's own `ts` (ms).
//  * Numbers longer than 19 characters (HTX swap `quantity` has up to 37
//    digits) bypass simdjson 3.0.1's parser, which gets some of them wrong:
//    see accurate_number().
//  * One frame may carry several trades. A bad trade (wrong type, missing
//    field, impossible value) is counted by reason and skipped; the good ones
//    in the same frame are kept (the frame's outcome is kEvents if any trade
//    was emitted, else kError). A structural JSON error found part-way is
//    counted once; trades already emitted from that frame stay emitted.
//  * Keepalive: the server sends {"ping":N} every 5 s and drops a client
//    that leaves two unanswered. The parser leaves {"pong":N} as its pending
//    reply (ExchangeParser::pending_reply(), sent by LiveFeed), formatted
//    into the fixed reply buffer without allocating; it also keeps N
//    (htx_last_ping(), parser_factory.h).
#include <zlib.h>

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

// number_or_string() with a guard against simdjson 3.0.1 mis-parsing long
// decimals whose integer part is 0: "0.95000000000000000000" reads as 0.0277
// (simdjson issue #2093, reported on 3.6.2 and fixed after it). HTX swap `quantity` fields carry
// such numbers ("0.9920634920634920634920634920634920635"). Any token longer
// than 19 characters (the only ones that can hold 20+ digits) is parsed with
// std::from_chars (fast_float in libstdc++ 12: exact, no allocation) instead.
simdjson::error_code accurate_number(ondemand::value value, double& out) noexcept {
  ondemand::json_type type;
  if (auto error = value.type().get(type)) return error;
  std::string_view token = value.raw_json_token();
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (type == ondemand::json_type::string && token.size() >= 2) token = token.substr(1, token.size() - 2);
  if (token.size() <= 19 || token.find('\\') != std::string_view::npos) return number_or_string(value, out);
  if (type != ondemand::json_type::number && type != ondemand::json_type::string) return simdjson::INCORRECT_TYPE;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
  if (ec != std::errc{} || end != token.data() + token.size()) return simdjson::NUMBER_ERROR;
  return simdjson::SUCCESS;  // the value is left unread: the iterator skips it
}

// gzip -> bytes, with one z_stream reused for every frame.
class GzipInflater {
 public:
  enum class Result : std::uint8_t { kOk, kOversize, kCorrupt };

  GzipInflater() {
    std::memset(&stream_, 0, sizeof stream_);
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~GzipInflater() { inflateEnd(&stream_); }
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Inflates one gzip member from `in` into `out` (whose capacity bounds the
  // output: a stream inflating to more is kOversize). `out` must have been
  // sized up front; this never grows it.
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
    return Result::kCorrupt;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, or input ended early
  }

 private:
  z_stream stream_;
};

enum class Venue : std::uint8_t { kSpot, kSwap };

// The raw digits of a JSON number (possibly followed by whitespace) -> id.
// False when it is not a plain unsigned integer.
bool id_from_token(std::string_view token, std::uint64_t& id, bool& hashed) noexcept {
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (token.empty() || token.size() > 64) return false;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), id);
  if (ec == std::errc{} && end == token.data() + token.size()) {
    hashed = false;
    return true;
  }
  id = hash_trade_id(token);  // too large for 64 bits
  hashed = true;
  return true;
}

class HtxParser final : public ExchangeParser {
 public:
  HtxParser(Venue venue, MarketRegistry& registry, ParserOptions options)
      : ExchangeParser("HUOBI", registry, options), venue_(venue), inflated_(options.max_frame_bytes) {}

  std::uint64_t last_ping() const noexcept { return last_ping_; }

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame.empty()) return fail(ParseError::kTruncated);
    std::string_view json = frame;  // plain JSON: the caller's padded buffer
    if (frame[0] != '{') {
      switch (inflater_.inflate(frame, inflated_)) {
        case GzipInflater::Result::kOk: break;
        case GzipInflater::Result::kOversize: return fail(ParseError::kOversize);
        case GzipInflater::Result::kCorrupt: return fail(ParseError::kDecompress);
      }
      json = inflated_.view();  // PaddedFrame: padding follows
    }
    return parse_json(json, receive_ts_ns, out);
  }

 private:
  enum class Channel : std::uint8_t { kNone, kTrade, kBook, kOther, kUnknown };

  static Channel classify(std::string_view ch, std::string_view& symbol) noexcept {
    constexpr std::string_view kPrefix = "market.";
    if (!ch.starts_with(kPrefix)) return Channel::kUnknown;
    ch.remove_prefix(kPrefix.size());
    const auto dot = ch.find('.');
    if (dot == std::string_view::npos || dot == 0) return Channel::kUnknown;
    symbol = ch.substr(0, dot);
    const std::string_view topic = ch.substr(dot + 1);
    if (topic == "trade.detail") return Channel::kTrade;
    if (topic.starts_with("depth") || topic.starts_with("mbp") || topic.starts_with("bbo")) return Channel::kBook;
    return Channel::kOther;
  }

  const ResolvedMarket* resolve(std::string_view symbol) {
    if (venue_ == Venue::kSpot) return markets_.resolve(symbol, PairCase::kLower, InstrumentKind::kSpot, 1);
    // Contract sizes come from the shipped table or not at all (0); the kind
    // follows the margin currency.
    const InstrumentKind kind = symbol.ends_with("-USD") ? InstrumentKind::kInverse : InstrumentKind::kLinear;
    return markets_.resolve(symbol, PairCase::kAsIs, kind, 0);
  }

  ParseOutcome parse_json(std::string_view json, std::int64_t receive_ts_ns, EventBuffer& out) {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(json.data(), json.size(), json.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(to_parse_error(error));

    const ResolvedMarket* market = nullptr;
    Channel channel = Channel::kNone;
    bool control = false, reply = false, tick_before_ch = false;
    for (auto field_result : root) {
      ondemand::field field;
      if (auto error = std::move(field_result).get(field)) return fail(to_parse_error(error));
      const auto key = field.key();
      if (key == "ch") {
        std::string_view ch, symbol;
        if (auto error = field.value().get_string().get(ch)) return fail(to_parse_error(error));
        channel = classify(ch, symbol);
        switch (channel) {
          case Channel::kBook: return skip(SkipKind::kBook);
          case Channel::kOther: return skip(SkipKind::kOtherChannel);
          case Channel::kUnknown: return fail(ParseError::kUnknownChannel);
          default: break;
        }
        market = resolve(symbol);
        if (market == nullptr) return fail(ParseError::kUnknownMarket);
      } else if (key == "tick") {
        if (channel != Channel::kTrade) {
          tick_before_ch = true;  // HTX sends "ch" first; handled below
          continue;
        }
        ondemand::object tick;
        if (auto error = field.value().get_object().get(tick)) return fail(to_parse_error(error));
        return parse_tick(tick, *market, receive_ts_ns, out);
      } else if (key == "ping") {
        std::uint64_t ping = 0;
        if (auto error = field.value().get_uint64().get(ping)) return fail(to_parse_error(error));
        last_ping_ = ping;
        char pong[40] = R"({"pong":)";
        constexpr std::size_t kHead = 8;
        const auto [end, ec] = std::to_chars(pong + kHead, pong + sizeof pong - 1, ping);
        if (ec == std::errc{}) {
          *end = '}';
          set_reply(std::string_view(pong, static_cast<std::size_t>(end + 1 - pong)));
        }
        return skip(SkipKind::kControl);
      } else if (key == "status" || key == "subbed" || key == "unsubbed" || key == "op" || key == "err-code" ||
                 key == "pong") {
        control = true;
      } else if (key == "rep") {
        reply = true;
      }
    }
    if (channel == Channel::kTrade) {
      if (!tick_before_ch) return fail(ParseError::kMissingField);
      // "tick" came before "ch": read it again now that the market is known.
      doc.rewind();
      ondemand::object tick;
      if (auto error = doc["tick"].get_object().get(tick)) return fail(to_parse_error(error));
      return parse_tick(tick, *market, receive_ts_ns, out);
    }
    if (control) return skip(SkipKind::kControl);
    if (reply) return skip(SkipKind::kOtherChannel);
    return fail(ParseError::kUnknownChannel);
  }

  // Swap contracts -> base units: only linear or inverse terms with a known
  // contract size convert contracts.
  static bool contracts_to_base(const ResolvedMarket& m, double contracts, double price, double& base) noexcept {
    const bool contract_terms = m.kind == InstrumentKind::kLinear || m.kind == InstrumentKind::kInverse;
    return contract_terms && m.contract_size > 0 && m.to_base(contracts, price, base);
  }

  ParseOutcome parse_tick(ondemand::object& tick, const ResolvedMarket& market, std::int64_t receive_ts_ns,
                          EventBuffer& out) {
    std::size_t emitted = 0, bad = 0;
    for (auto field_result : tick) {
      ondemand::field field;
      if (auto error = std::move(field_result).get(field)) return fail(to_parse_error(error));
      if (field.key() != "data") continue;
      ondemand::array data;
      if (auto error = field.value().get_array().get(data)) return fail(to_parse_error(error));
      for (auto element : data) {
        ondemand::value value;
        if (auto error = element.get(value)) return fail(to_parse_error(error));
        ondemand::object item;
        if (auto error = value.get_object().get(item)) {
          count_error(to_parse_error(error));  // e.g. a number where a trade object belongs
          ++bad;
          continue;
        }
        Trade trade;
        ParseError reason = ParseError::kTruncated;
        bool structural = false;
        if (!read_trade(item, market, trade, reason, structural)) {
          if (structural) return fail(reason);
          count_error(reason);
          ++bad;
          continue;
        }
        trade.receive_ts_ns = receive_ts_ns;
        if (!emit(trade, out)) return emitted > 0 ? ParseOutcome::kEvents : ParseOutcome::kError;  // kOverflow counted
        ++emitted;
      }
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0) return ParseOutcome::kError;  // each bad trade already counted
    return fail(ParseError::kMissingField);    // no "data", or an empty one
  }

  // One trade object. False with `reason` when it cannot be used; `structural`
  // when the document itself is broken (the frame cannot be read further).
  bool read_trade(ondemand::object& item, const ResolvedMarket& market, Trade& trade, ParseError& reason,
                  bool& structural) noexcept {
    std::int64_t ts_ms = 0;
    double amount = 0, quantity = 0;
    std::string_view direction, id_token;
    bool have_ts = false, have_trade_id = false, have_amount = false, have_quantity = false, have_price = false,
         have_direction = false, have_id = false;
    bool failed = false;
    for (auto field_result : item) {
      ondemand::field field;
      if (auto error = std::move(field_result).get(field)) {
        reason = to_parse_error(error);
        structural = true;
        return false;
      }
      if (failed) continue;  // skip the rest of a bad trade
      const auto key = field.key();
      simdjson::error_code error = simdjson::SUCCESS;
      if (key == "ts") {
        error = field.value().get_int64().get(ts_ms);
        have_ts = true;
      } else if (key == "tradeId") {
        error = field.value().get_uint64().get(trade.trade_id);
        have_trade_id = true;
      } else if (key == "id") {
        id_token = field.value().raw_json_token();
        have_id = true;
      } else if (key == "amount") {
        error = accurate_number(field.value(), amount);
        have_amount = true;
      } else if (key == "quantity") {
        error = accurate_number(field.value(), quantity);
        have_quantity = true;
      } else if (key == "price") {
        error = accurate_number(field.value(), trade.price);
        have_price = true;
      } else if (key == "direction") {
        error = field.value().get_string().get(direction);
        have_direction = true;
      }
      if (error) {
        reason = to_parse_error(error);
        failed = true;
      }
    }
    if (failed) return false;
    if (!have_ts || !have_price || !have_direction || (!have_amount && !have_quantity) ||
        (!have_trade_id && !have_id)) {
      reason = ParseError::kMissingField;
      return false;
    }
    if (!have_trade_id) {
      bool hashed = false;
      if (!id_from_token(id_token, trade.trade_id, hashed)) {
        reason = ParseError::kBadType;
        return false;
      }
      if (hashed) trade.flags |= kTradeIdHashed;
    }
    reason = ParseError::kBadValue;
    if (!ms_to_ns(ts_ms, trade.exchange_ts_ns) || !valid_price(trade.price)) return false;
    if (!parse_side(direction, trade.side)) return false;
    if (venue_ == Venue::kSpot) {
      if (!have_amount) {
        reason = ParseError::kMissingField;
        return false;
      }
      trade.qty = amount;
    } else if (have_quantity) {
      trade.qty = quantity;
    } else {
      if (!valid_qty(amount)) return false;
      if (!contracts_to_base(market, amount, trade.price, trade.qty)) {
        reason = ParseError::kUnknownInstrument;
        return false;
      }
    }
    if (!valid_qty(trade.qty)) return false;
    trade.market = market.id;
    return true;
  }

  Venue venue_;
  GzipInflater inflater_;
  PaddedFrame inflated_;  // capacity max_frame_bytes, allocated once
  std::uint64_t last_ping_ = 0;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_htx_parser(std::string_view exchange, MarketRegistry& registry,
                                                ParserOptions options) {
  if (exchange == "HUOBI") return std::make_unique<HtxParser>(Venue::kSpot, registry, options);
  if (exchange == "HUOBI_SWAP") return std::make_unique<HtxParser>(Venue::kSwap, registry, options);
  return nullptr;
}

std::uint64_t htx_last_ping(const ExchangeParser& parser) noexcept {
  const auto* htx = dynamic_cast<const HtxParser*>(&parser);
  return htx != nullptr ? htx->last_ping() : 0;
}

}  // namespace tickflow
