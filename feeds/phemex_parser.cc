// feeds/phemex_parser.cc
//
// Phemex public websocket ("PHEMEX"; markets PHEMEX:<symbol> as Phemex
// spells it: PHEMEX:BTCUSD inverse contract, PHEMEX:sBTCUSDT spot,
// PHEMEX:BTCUSDT USDT perpetual). Frames:
//
//   {"sequence":17650891983,"symbol":"BTCUSD","trades":[[1625342240710279103,"Buy",329915000,40],..],
//    "type":"incremental"}                       trade.subscribe (contracts v1 and spot): scaled integers
//   {"sequence":77702250,"symbol":"BTCUSDT","trades_p":[[1666856076819029800,"Sell","20700.3","0.649"],..],
//    "type":"incremental"}                       trade_p.subscribe (USDT perpetuals): real values as strings
//   "type":"snapshot" on either                  the last trades before subscribing: SkipKind::kSnapshot
//   {"error":null,"id":1,"result":{..}|"pong"}   subscribe acks and server.ping answers: SkipKind::kControl
//   {"book":..}, {"orderbook_p":..}              SkipKind::kBook
//   {"kline":..}, {"tick":..}, ..                SkipKind::kOtherChannel
//
// Normalization (../shared/docs/exchanges.md, aggr-server's phemex.js):
//  * Side: the second element is the taker side ("Buy"/"Sell").
//  * Scales (the Ep/Ev integers of trade.subscribe): spot symbols (a
//    leading lowercase 's') have priceScale 8 and quantities in base
//    scaled by 10^8; contract symbols (BTCUSD, ..) have priceScale 4 and
//    quantities in contracts (feeds/instruments.cc states both).
//  * Units: spot qty = scaled qty / 1e8. Contracts take their terms from the
//    instruments table: inverse (BTCUSD, 1 USD per contract)
//    qty = contracts * size / price; linear (XRPUSD, 5 XRP per contract)
//    qty = contracts * size. A contract the table does not list is
//    ParseError::kUnknownInstrument, never guessed (aggr-server reports
//    such contracts' counts as if they were coins). trades_p quantities
//    are already base.
//  * Ids: Phemex trades carry none. trade_id = hash_trade_id of the
//    element's JSON text between its brackets (1625342240710279103,"Buy",
//    329915000,40) XOR hash_trade_id of the symbol, flagged kTradeIdHashed:
//    stable for the same bytes, so a trade seen twice hashes alike (the
//    raw text is hashed in place: no copy, no number formatting). Two fills
//    of the same order with the same nanosecond, price and size hash alike
//    and one of them would be dropped as a duplicate (none in the capture).
//  * Times: the first element, ns since the epoch.
//  * Liquidations: Phemex publishes no public liquidation stream.
//
// Errors: a frame that is not JSON or not an object, or lacks
// type/symbol/trades, is counted once by reason. Inside the trades array
// each bad trade is counted by reason and skipped, and the good ones of the
// same frame are kept; a structural error ends the frame. Outcome: kEvents
// when at least one trade was emitted, else kError (an empty trade array is
// kMissingField). A full EventBuffer is counted once (kOverflow).
#include <bit>
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

using namespace std::string_view_literals;

constexpr bool valid_ns(std::int64_t ns) noexcept {
  return ns >= 946'684'800'000'000'000 && ns <= 4'102'444'800'000'000'000;
}

// Spot symbols start with a lowercase 's' (sBTCUSDT); contracts do not.
constexpr bool is_spot_symbol(std::string_view symbol) noexcept { return !symbol.empty() && symbol[0] == 's'; }

// hash_trade_id (json_support.h), the same value, with whole words loaded
// at once instead of byte by byte (~150 instructions less for a 45-byte
// trade element; json_support.h's version could do the same).
inline std::uint64_t hash_words(std::string_view id) noexcept {
  constexpr std::uint64_t kMul = 0xff51afd7ed558ccdull;
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(id.size()) * kMul);
  std::size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, id.data() + i, 8);  // little-endian, as hash_trade_id assembles it
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  if (i < id.size()) {
    std::uint64_t word = 0;
    for (std::size_t k = 0; i + k < id.size(); ++k)
      word |= static_cast<std::uint64_t>(static_cast<unsigned char>(id[i + k])) << (8 * k);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
static_assert(std::endian::native == std::endian::little, "hash_words loads little-endian words");

constexpr double kSpotScale = 1e8;      // spot priceEp and base quantity
constexpr double kContractScale = 1e4;  // contract priceEp

class PhemexParser final : public ExchangeParser {
 public:
  PhemexParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("PHEMEX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    // One pass over the members in the order they come. A trade frame's
    // "type" follows its trades, so the frame's last bytes are checked
    // first: when they read "type":"incremental"} the trades are parsed as
    // they are met; otherwise (a snapshot: up to 200 trades) they are
    // skipped and, once the type is known, found again after one rewind.
    const bool incremental = incremental_tail(frame);
    std::string_view symbol, type;
    bool have_symbol = false, have_type = false, any = false;
    int deferred = 0;  // 1: "trades" seen and skipped, 2: "trades_p"
    for (auto member : root) {
      ondemand::field fld;
      if (auto e = std::move(member).get(fld)) return fail(to_parse_error(e));
      const ondemand::raw_json_string key = fld.key();
      any = true;
      if (key == "symbol"sv) {
        if (auto e = fld.value().get_string().get(symbol)) return fail(to_parse_error(e));
        have_symbol = true;
      } else if (key == "type"sv) {
        if (auto e = fld.value().get_string().get(type)) return fail(to_parse_error(e));
        have_type = true;
      } else if (key == "trades"sv || key == "trades_p"sv) {
        const bool real_values = key == "trades_p"sv;
        if (have_symbol && (incremental || (have_type && type == "incremental"sv))) {
          ondemand::array trades;
          if (auto e = fld.value().get_array().get(trades)) return fail(to_parse_error(e));
          return parse_trades(trades, symbol, real_values, receive_ts_ns, out);
        }
        deferred = real_values ? 2 : 1;
      } else if (key == "sequence"sv || key == "timestamp"sv || key == "depth"sv) {
        // not needed
      } else if (key == "book"sv || key == "orderbook_p"sv || key == "orderbook"sv) {
        return skip(SkipKind::kBook);
      } else if (key == "error"sv || key == "id"sv || key == "result"sv) {
        return skip(SkipKind::kControl);  // subscribe acks, server.ping answers, errors
      } else {
        return skip(SkipKind::kOtherChannel);  // kline, tick, market24h, ...
      }
    }
    if (!any || !have_type || !have_symbol) return fail(ParseError::kMissingField);
    if (deferred == 0) return skip(SkipKind::kOtherChannel);
    if (type == "snapshot"sv) return skip(SkipKind::kSnapshot);
    if (type != "incremental"sv) return fail(ParseError::kBadValue);
    if (auto e = root.reset().error()) return fail(to_parse_error(e));
    ondemand::array trades;
    if (auto e = field(root, deferred == 2 ? "trades_p" : "trades").get_array().get(trades))
      return fail(to_parse_error(e));
    return parse_trades(trades, symbol, deferred == 2, receive_ts_ns, out);
  }

 private:
  // Does the frame end with "type":"incremental"} (trailing whitespace
  // aside)? A hint only: the members are still read as JSON.
  static bool incremental_tail(std::string_view frame) noexcept {
    while (!frame.empty() &&
           (frame.back() == ' ' || frame.back() == '\n' || frame.back() == '\r' || frame.back() == '\t'))
      frame.remove_suffix(1);
    return frame.ends_with(R"("type":"incremental"})"sv);
  }

  ParseOutcome parse_trades(ondemand::array& trades, std::string_view symbol, bool real_values,
                            std::int64_t receive_ts_ns, EventBuffer& out) {
    const ResolvedMarket* market = resolve(symbol, real_values);
    if (market == nullptr) return market_missed();
    const bool spot = !real_values && is_spot_symbol(symbol);
    const double price_scale = real_values ? 1 : spot ? kSpotScale : kContractScale;
    const double qty_scale = spot ? kSpotScale : 1;
    const std::uint64_t symbol_hash = hash_trade_id(symbol);

    std::size_t events = 0, errors = 0;
    for (auto element : trades) {
      Trade trade;
      ParseError error{};
      simdjson::error_code json = simdjson::SUCCESS;
      if (read_trade(element, symbol_hash, *market, real_values, price_scale, qty_scale, trade, error, json)) {
        trade.receive_ts_ns = receive_ts_ns;
        if (!emit(trade, out)) {
          ++errors;
          break;
        }
        ++events;
        continue;
      }
      count_error(error);
      ++errors;
      if (json != simdjson::SUCCESS && !recoverable(json)) break;
    }
    if (events > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // an empty trade array
  }

  const ResolvedMarket* resolve(std::string_view symbol, bool real_values) {
    if (real_values) return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kLinear, 1);
    if (is_spot_symbol(symbol)) return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kSpot, 1);
    return markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kUnknown, 0);
  }

  // One [ts, side, price, qty] element.
  bool read_trade(simdjson::simdjson_result<ondemand::value> element, std::uint64_t symbol_hash,
                  const ResolvedMarket& market, bool real_values, double price_scale, double qty_scale, Trade& trade,
                  ParseError& error, simdjson::error_code& json) {
    ondemand::array fields;
    if (auto e = element.get_array().get(fields)) return json_failed(e, error, json);
    std::int64_t ns = 0;
    std::string_view ts_token, side_word, qty_token;
    double price = 0, qty = 0;
    std::size_t n = 0;
    for (auto value : fields) {
      ondemand::value v;
      if (auto e = std::move(value).get(v)) return json_failed(e, error, json);
      switch (n++) {
        case 0:
          ts_token = v.raw_json_token();
          if (auto e = v.get_int64().get(ns)) return json_failed(e, error, json);
          break;
        case 1:
          if (auto e = v.get_string().get(side_word)) return json_failed(e, error, json);
          break;
        case 2:
          if (auto e = real_values ? number_or_string(v, price) : v.get_double().get(price))
            return json_failed(e, error, json);
          break;
        case 3:
          qty_token = v.raw_json_token();
          if (auto e = real_values ? number_or_string(v, qty) : v.get_double().get(qty))
            return json_failed(e, error, json);
          break;
        default: break;  // later additions are ignored
      }
    }
    if (n < 4) {
      error = ParseError::kMissingField;
      return false;
    }
    price /= price_scale;
    qty /= qty_scale;
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !valid_ns(ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    if (!to_base_qty(market, qty, price, trade.qty, error)) return false;
    trade.exchange_ts_ns = ns;
    trade.price = price;
    trade.market = market.id;
    // The element's text from its first value to the end of its fourth.
    qty_token = trim(qty_token);
    const char* const end = qty_token.data() + qty_token.size();
    trade.trade_id = hash_words({ts_token.data(), static_cast<std::size_t>(end - ts_token.data())}) ^ symbol_hash;
    trade.flags = kTradeIdHashed;
    return true;
  }

  // A raw token may carry trailing whitespace.
  static std::string_view trim(std::string_view token) noexcept {
    while (!token.empty() &&
           (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' || token.back() == '\t'))
      token.remove_suffix(1);
    return token;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_phemex_parser(std::string_view exchange, MarketRegistry& registry,
                                                   ParserOptions options) {
  if (exchange == "PHEMEX") return std::make_unique<PhemexParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
