// feeds/deribit_parser.cc
//
// Deribit JSON-RPC v2 ("DERIBIT"; markets DERIBIT:<instrument_name>). Frames:
//
//   {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.raw","data":[
//     {"trade_seq":..,"trade_id":"..","timestamp":<ms>,"price":63255.5,"instrument_name":"BTC-PERPETUAL",
//      "direction":"buy","amount":2500,"liquidation":"M",..},..]}}     trades ("trades.*" channels:
//                                                                      .raw, .100ms, trades.<kind>.<ccy>.*)
//   {"jsonrpc":"2.0","id":..,"result":..} / {"error":..}               RPC responses: SkipKind::kControl
//   {"method":"heartbeat","params":{"type":"heartbeat"|"test_request"}} SkipKind::kControl
//   channels "book.*"                                                 SkipKind::kBook
//   any other channel (ticker.*, quote.*, deribit_price_index.*, ...) SkipKind::kOtherChannel
//   any other method                                                  ParseError::kUnknownChannel
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: `direction` is the taker side. A `liquidation` field flags the
//    trade kTradeLiquidation, and the side becomes the liquidation order's
//    side: "T" (the taker was liquidated) and "MT" (both were; the taker's
//    side is kept) keep `direction`; "M" (only the maker was liquidated)
//    takes the opposite of `direction`, the maker's side. A non-string
//    `liquidation` is kBadType.
//  * Units, from the instrument name (unless the registry already knows the
//    market with other terms, in which case those win):
//      - a name with "_USDC" or "_USDT" (BTC_USDC-PERPETUAL, linear USDC
//        options/futures): amount is base. A name with '_' and no '-'
//        (BTC_USDC) is spot: amount is base.
//      - "-PERPETUAL" and dated futures (two parts: BTC-24SEP21): inverse,
//        amount is USD, base = amount / price.
//      - options (four parts ending in -C or -P: BTC-24SEP21-8000-P):
//        amount is base (coins of the underlying). The price stays as
//        Deribit quotes it (in the underlying coin).
//      - anything else: ParseError::kUnknownInstrument, never guessed.
//  * Ids: trade_id is a string. All digits (BTC instruments): used as the
//    number. Otherwise (e.g. "ETH-12345678", "USDC-..."): hash_trade_id of the
//    string, flagged kTradeIdHashed. trade_seq (per-instrument sequence) is
//    not used as the id: it collides across instruments, and the hash of
//    non-numeric ids must stay stable whatever numbering is used. Note that
//    numeric Deribit trade ids are counted per currency, not per
//    instrument, so jumps between one market's ids are normal.
//  * Times: timestamp (ms) -> exchange_ts_ns.
//
// Keepalive: after public/set_heartbeat (the live plan sends it,
// feeds/venues/deribit.cc) Deribit sends {"method":"heartbeat","params":
// {"type":"test_request"}} and closes the connection unless the client then
// calls public/test. The parser leaves that call as its pending reply
// (ExchangeParser::pending_reply(), sent by LiveFeed):
//   {"jsonrpc":"2.0","id":9,"method":"public/test","params":{}}
// Deribit answers it with a result (kControl). Plain "heartbeat" notices
// need no answer.
//
// Errors: a frame that is not JSON, not an object, or lacks params /
// channel / data is counted once by reason. Inside "data", each bad trade is
// counted by reason and skipped, and the good ones of the same frame are
// kept. A structural error inside "data" (truncated, unbalanced) is counted
// once and ends the frame, keeping the trades already emitted. Outcome:
// kEvents when at least one trade was emitted, else kError; a trade frame
// with an empty data array is counted as kMissingField. A full EventBuffer
// is counted once (kOverflow) and ends the frame.
//
// The simdjson parser is the parsing thread's own (thread_json_parser), looked
// up on every frame: a parser built on one thread may parse on another.
#include <algorithm>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// The rule in the banner.
constexpr InstrumentKind instrument_kind(std::string_view name) noexcept {
  const auto dashes = std::count(name.begin(), name.end(), '-');
  if (name.find("_USDC") != std::string_view::npos || name.find("_USDT") != std::string_view::npos)
    return dashes == 0 ? InstrumentKind::kSpot : InstrumentKind::kLinear;
  if (name.find('_') != std::string_view::npos && dashes == 0) return InstrumentKind::kSpot;
  if (name.ends_with("-PERPETUAL") || dashes == 1) return InstrumentKind::kInverse;
  if (dashes == 3 && (name.ends_with("-C") || name.ends_with("-P"))) return InstrumentKind::kLinear;
  return InstrumentKind::kUnknown;
}

constexpr bool all_digits(std::string_view s) noexcept {
  // Up to 19 digits always fits a uint64.
  if (s.empty() || s.size() > 19) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::uint64_t digits_value(std::string_view s) noexcept {
  std::uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// The answer to a test_request (the banner's Keepalive).
constexpr std::string_view kTestReply = R"({"jsonrpc":"2.0","id":9,"method":"public/test","params":{}})";

class DeribitParser final : public ExchangeParser {
 public:
  DeribitParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("DERIBIT", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::json_type type;
    if (auto e = doc.type().get(type)) return fail(to_parse_error(e));  // garbage: kTruncated
    if (type != ondemand::json_type::object) return fail(ParseError::kBadType);
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(to_parse_error(e));

    std::string_view method;
    if (auto e = field(root, "method").get_string().get(method)) {
      if (e != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(e));
      // No method: an RPC response (result or error, with an id).
      for (const char* key : {"result", "error"}) {
        ondemand::value ignored;
        auto found = field(root, key).get(ignored);
        if (found == simdjson::SUCCESS) return skip(SkipKind::kControl);
        if (found != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(found));
      }
      return fail(ParseError::kUnknownChannel);
    }
    if (method == "heartbeat") {
      ondemand::object params;
      std::string_view kind;
      if (field(root, "params").get_object().get(params) == simdjson::SUCCESS &&
          field(params, "type").get_string().get(kind) == simdjson::SUCCESS && kind == "test_request")
        set_reply(kTestReply);
      return skip(SkipKind::kControl);
    }
    if (method != "subscription") return fail(ParseError::kUnknownChannel);

    ondemand::object params;
    if (auto e = field(root, "params").get_object().get(params)) return fail(to_parse_error(e));
    std::string_view channel;
    if (auto e = field(params, "channel").get_string().get(channel)) return fail(to_parse_error(e));
    if (channel.starts_with("book.")) return skip(SkipKind::kBook);
    if (!channel.starts_with("trades.")) return skip(SkipKind::kOtherChannel);

    ondemand::array data;
    if (auto e = field(params, "data").get_array().get(data)) return fail(to_parse_error(e));

    std::size_t emitted = 0;
    std::size_t errors = 0;
    for (auto element : data) {
      ondemand::object item;
      if (auto e = element.get_object().get(item)) {
        count_error(to_parse_error(e));
        ++errors;
        if (recoverable(e)) continue;
        break;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      if (!read_trade(item, receive_ts_ns, trade, error, json_error)) {
        count_error(error);
        ++errors;
        if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
        continue;
      }
      if (!emit(trade, out)) {
        ++errors;
        break;
      }
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // an empty data array
  }

 private:
  // One trade, fields read in Deribit's order (trade_seq, trade_id,
  // timestamp, ..., price, ..., instrument_name, ..., direction, amount).
  bool read_trade(ondemand::object& item, std::int64_t receive_ts_ns, Trade& trade, ParseError& error,
                  simdjson::error_code& json_error) {
    std::string_view id, inst, direction;
    std::int64_t ms = 0;
    double price = 0, amount = 0;
    if (auto e = field(item, "trade_id").get_string().get(id)) return json_failed(e, error, json_error);
    if (auto e = field(item, "timestamp").get_int64().get(ms)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "price"), price)) return json_failed(e, error, json_error);
    if (auto e = field(item, "instrument_name").get_string().get(inst)) return json_failed(e, error, json_error);
    if (auto e = field(item, "direction").get_string().get(direction)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "amount"), amount)) return json_failed(e, error, json_error);
    bool liquidation = false;
    std::string_view liquidated;  // "M" maker, "T" taker, "MT" both
    if (auto e = field(item, "liquidation").get_string().get(liquidated)) {
      if (e != simdjson::NO_SUCH_FIELD) return json_failed(e, error, json_error);
    } else {
      liquidation = true;
    }
    if (id.empty() || !parse_side(direction, trade.side) || !valid_price(price) ||
        !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const InstrumentKind kind = instrument_kind(inst);
    const ResolvedMarket* market =
        markets_.resolve(inst, PairCase::kAsIs, kind, kind == InstrumentKind::kUnknown ? 0 : 1);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return false;
    }
    if (!to_base_qty(*market, amount, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    trade.price = price;
    trade.market = market->id;
    trade.flags = liquidation ? kTradeLiquidation : kTradeNone;
    if (liquidation && liquidated == "M") trade.side = opposite(trade.side);  // the maker's order was the forced one
    if (all_digits(id)) {
      trade.trade_id = digits_value(id);
    } else {
      trade.trade_id = hash_trade_id(id);
      trade.flags |= kTradeIdHashed;
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_deribit_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options) {
  if (exchange == "DERIBIT") return std::make_unique<DeribitParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
