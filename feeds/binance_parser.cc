// feeds/binance_parser.cc
//
// Binance spot ("BINANCE"), USD-M and COIN-M futures ("BINANCE_FUTURES";
// cryptofeed's "BINANCE_DELIVERY" is COIN-M under the same aggr-server
// name). The same protocol under other ids: Binance US spot ("BINANCE_US",
// markets BINANCE_US:btcusd) and Aster's USD-M clone ("ASTER", linear only,
// upper-case pairs as aggr-server: ASTER:BTCUSDT). Frames, combined-stream
// or raw:
//
//   {"stream":"btcusdt@trade","data":{...}}      combined stream
//   {"e":"trade",...}                            raw stream
//
//   trade       t id, p/q strings, T trade ms, m buyer-is-maker
//   aggTrade    a aggregate id, otherwise as trade
//   forceOrder  o:{s, S order side, q, p, ap, T}: a liquidation
//   bookTicker  b/B bid, a/A ask (spot has no "e" and no time)
//   depthUpdate, REST depth snapshots ({"lastUpdateId":..}), klines,
//   tickers, mark prices, subscription replies: skipped by kind.
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: m == true means the buyer was the maker, so the taker sold.
//    forceOrder's side is the liquidation order's side (SELL: a long was
//    liquidated).
//  * USD-M trades are kept only when X is absent, "MARKET" or "RPI"; other
//    values are ADL and insurance-fund prints (SkipKind::kFiltered).
//  * Market names are lower case: BINANCE:btcusdt, BINANCE_FUTURES:btcusd_perp.
//    A futures symbol whose part before '_' ends in "usd" is COIN-M
//    (btcusd_perp, btcusd_211231): q is contracts of a fixed USD value from
//    the instruments table, base qty = q * contract_size / p. Other futures
//    symbols are USD-M, whose q is already base.
//  * forceOrder price: the average fill price `ap` when non-zero, else the
//    order price `p` (aggr-server uses `p`; `ap` is what was actually paid).
//    Liquidations carry no id: trade_id is a hash of (symbol, T, side, p, q),
//    flagged kTradeIdHashed, so duplicates still de-duplicate.
//  * Quotes: bookTicker sizes converted to base like trade sizes. Spot
//    bookTicker carries no time (exchange_ts_ns = 0).
//
// Speed: the combined-stream trade path reads "stream" first (it dispatches
// and names the market without touching the payload's "s"), then the
// payload's fields in the order Binance sends them. Futures frames put T
// before t, so T is read where it is for each exchange.
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

enum class Venue : std::uint8_t { kSpot, kFutures };

enum class StreamKind : std::uint8_t { kTrade, kAggTrade, kForceOrder, kBookTicker, kDepth, kOther };

StreamKind kind_of_stream(std::string_view channel) noexcept {
  // channel: what follows '@' in "btcusdt@trade", "btcusdt@depth@100ms"
  if (channel == "trade") return StreamKind::kTrade;
  if (channel == "aggTrade") return StreamKind::kAggTrade;
  if (channel == "bookTicker") return StreamKind::kBookTicker;
  if (channel == "forceOrder") return StreamKind::kForceOrder;
  if (channel.starts_with("depth")) return StreamKind::kDepth;
  return StreamKind::kOther;
}

StreamKind kind_of_event(std::string_view e) noexcept {
  if (e == "trade") return StreamKind::kTrade;
  if (e == "aggTrade") return StreamKind::kAggTrade;
  if (e == "bookTicker") return StreamKind::kBookTicker;
  if (e == "forceOrder") return StreamKind::kForceOrder;
  if (e == "depthUpdate") return StreamKind::kDepth;
  return StreamKind::kOther;
}

bool is_coin_margined(std::string_view pair) noexcept {
  const auto underscore = pair.find('_');
  const std::string_view root = pair.substr(0, underscore);
  auto ends_with_usd = [](std::string_view s) { return s.size() > 3 && (s.ends_with("usd") || s.ends_with("USD")); };
  return ends_with_usd(root);
}

// Byte equality for short strings (stream names, symbols), inlined: a call
// to memcmp costs more than the compare. Compares 8-byte words, the last one
// overlapping the previous, so it reads only bytes [0, n) of each buffer.
inline bool equal_bytes(const char* a, const char* b, std::size_t n) noexcept {
  auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (word(a + i) != word(b + i)) return false;
  // The tail as one word ending at n, overlapping bytes already compared.
  return i == n || word(a + n - 8) == word(b + n - 8);
}

std::uint64_t bits_of(double v) noexcept {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// Binance's protocol under other names: Binance US speaks spot
// (BINANCE_US:btcusd, lower case as aggr-server), Aster speaks USD-M, all
// linear, with aggr-server's upper-case pairs (ASTER:BTCUSDT).
std::string_view exchange_id(std::string_view exchange) noexcept {
  if (exchange == "BINANCE" || exchange == "BINANCE_US" || exchange == "ASTER") return exchange;
  return "BINANCE_FUTURES";
}

class BinanceParser final : public ExchangeParser {
 public:
  BinanceParser(std::string_view exchange, MarketRegistry& registry, ParserOptions options)
      : ExchangeParser(std::string(exchange_id(exchange)), registry, options),
        venue_(exchange == "BINANCE" || exchange == "BINANCE_US" ? Venue::kSpot : Venue::kFutures),
        pair_case_(exchange == "ASTER" ? PairCase::kUpper : PairCase::kLower),
        coin_margined_possible_(exchange != "ASTER") {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(to_parse_error(error));

    // Combined streams (the hot path): "stream" comes first and names both
    // the channel and the market, so the payload's "s" is never read. The
    // stream's raw bytes are compared with the last stream seen; on a match
    // its route (channel kind and market) is reused without unescaping,
    // splitting or looking anything up.
    ondemand::raw_json_string stream_raw;
    auto stream_error = field(root, "stream").get_raw_json_string().get(stream_raw);
    if (stream_error == simdjson::SUCCESS) {
      const char* stream = stream_raw.raw();
      if (!(route_.length > 0 && equal_bytes(stream, route_.stream, route_.length) && stream[route_.length] == '"')) {
        if (!learn_route(stream)) return fail(ParseError::kUnknownChannel);
      }
      if (route_.kind == StreamKind::kDepth) return skip(SkipKind::kBook);
      if (route_.kind == StreamKind::kOther) return skip(SkipKind::kOtherChannel);
      ondemand::object data;
      if (auto error = field(root, "data").get_object().get(data)) return fail(to_parse_error(error));
      return parse_payload(route_.kind, route_.symbol(), data, receive_ts_ns, out);
    }
    if (stream_error != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(stream_error));

    // Raw streams: the event type "e"; spot bookTicker has none but has "u".
    std::string_view e;
    auto e_error = field(root, "e").get_string().get(e);
    if (e_error == simdjson::SUCCESS) {
      const StreamKind kind = kind_of_event(e);
      if (kind == StreamKind::kDepth) return skip(SkipKind::kBook);
      if (kind == StreamKind::kOther) return skip(SkipKind::kOtherChannel);
      return parse_payload(kind, {}, root, receive_ts_ns, out);
    }
    if (e_error != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(e_error));
    if (field(root, "lastUpdateId").error() == simdjson::SUCCESS) return skip(SkipKind::kBook);  // REST depth snapshot
    if (field(root, "u").error() == simdjson::SUCCESS && field(root, "b").error() == simdjson::SUCCESS)
      return parse_payload(StreamKind::kBookTicker, {}, root, receive_ts_ns, out);
    if (field(root, "result").error() == simdjson::SUCCESS || field(root, "code").error() == simdjson::SUCCESS)
      return skip(SkipKind::kControl);  // subscription reply or error
    return fail(ParseError::kUnknownChannel);
  }

 private:
  // The last combined stream seen, e.g. "btcusdt@trade": its raw bytes, the
  // channel kind and where the symbol ends.
  struct Route {
    static constexpr std::size_t kMaxStream = 63;  // memcmp may read this far past a shorter stream: inside the padding
    char stream[kMaxStream + 1] = {};
    std::size_t length = 0;  // 0: no route cached
    std::size_t symbol_length = 0;
    StreamKind kind = StreamKind::kOther;
    const ResolvedMarket* market = nullptr;  // resolved on the route's first trade or quote
    std::string_view symbol() const noexcept { return {stream, symbol_length}; }
  };

  // Reads the stream name starting at `raw` (just after its opening quote)
  // into route_. False if it has no '@' or is too long to cache.
  bool learn_route(const char* raw) noexcept {
    route_.length = 0;
    std::size_t n = 0;
    while (raw[n] != '"') {
      if (raw[n] == '\\' || n == Route::kMaxStream) return false;  // stream names have no escapes
      ++n;
    }
    const std::string_view stream(raw, n);
    const auto at = stream.find('@');
    if (at == std::string_view::npos || at == 0) return false;
    std::memcpy(route_.stream, raw, n);
    route_.market = nullptr;
    route_.symbol_length = at;
    route_.kind = kind_of_stream(stream.substr(at + 1));
    route_.length = n;
    return true;
  }

  // `symbol` is the stream's lower-case symbol, or empty for raw frames
  // (the payload's "s" names the market then).
  ParseOutcome parse_payload(StreamKind kind, std::string_view symbol, ondemand::object& data,
                             std::int64_t receive_ts_ns, EventBuffer& out) {
    switch (kind) {
      case StreamKind::kTrade:
      case StreamKind::kAggTrade: return parse_trade(kind, symbol, data, receive_ts_ns, out);
      case StreamKind::kForceOrder: return parse_force_order(data, receive_ts_ns, out);
      case StreamKind::kBookTicker: return parse_book_ticker(symbol, data, receive_ts_ns, out);
      default: return skip(SkipKind::kOtherChannel);
    }
  }

  [[gnu::always_inline]] const ResolvedMarket* resolve(std::string_view symbol) {
    if (symbol.data() == route_.stream && route_.market != nullptr) [[likely]]
      return route_.market;  // the cached combined stream's own market
    return resolve_slow(symbol);
  }

  [[gnu::noinline]] const ResolvedMarket* resolve_slow(std::string_view symbol) {
    if (symbol.size() == last_symbol_.size() && last_market_ != nullptr &&
        equal_bytes(symbol.data(), last_symbol_.data(), symbol.size()))
      return last_market_;
    // Spot: base quantities. Futures: USD-M is base (linear, 1); COIN-M
    // needs the table, so its default is unknown.
    const ResolvedMarket* market;
    if (venue_ == Venue::kSpot) {
      market = markets_.resolve(symbol, pair_case_, InstrumentKind::kSpot, 1);
    } else if (coin_margined_possible_ && is_coin_margined(symbol)) {
      market = markets_.resolve(symbol, pair_case_, InstrumentKind::kUnknown, 0);
    } else {
      market = markets_.resolve(symbol, pair_case_, InstrumentKind::kLinear, 1);
    }
    if (market != nullptr) {
      if (symbol.data() == route_.stream) route_.market = market;
      last_symbol_.assign(symbol);  // allocates only past the SSO size, once per new market
      last_market_ = market;
    }
    return market;
  }

  ParseOutcome parse_trade(StreamKind kind, std::string_view symbol, ondemand::object& data, std::int64_t receive_ts_ns,
                           EventBuffer& out) {
    if (symbol.empty()) {
      if (auto error = field(data, "s").get_string().get(symbol)) return fail(to_parse_error(error));
    }
    Trade t;
    std::int64_t time_ms = 0;
    double qty = 0;
    bool buyer_is_maker = false;
    // Futures trades send T before s/t; aggTrade sends it after q (e, E, a,
    // s, p, q, f, l, T, m) and has no X.
    const bool futures_trade = venue_ == Venue::kFutures && kind == StreamKind::kTrade;
    const bool time_first = futures_trade;
    if (time_first) {
      if (auto error = field(data, "T").get_int64().get(time_ms)) return fail(to_parse_error(error));
    }
    auto id_field = kind == StreamKind::kTrade ? field(data, "t") : field(data, "a");  // literal keys: no strlen
    if (auto error = id_field.get_uint64().get(t.trade_id)) return fail(to_parse_error(error));
    if (auto error = field(data, "p").get_double_in_string().get(t.price)) return fail(to_parse_error(error));
    if (auto error = field(data, "q").get_double_in_string().get(qty)) return fail(to_parse_error(error));
    if (!time_first) {
      if (auto error = field(data, "T").get_int64().get(time_ms)) return fail(to_parse_error(error));
    }
    if (futures_trade) {
      // "X" sits between q and m when present.
      ondemand::raw_json_string x;
      auto error = field(data, "X").get_raw_json_string().get(x);
      if (error == simdjson::SUCCESS) {
        using namespace std::string_view_literals;  // sized compares: the const char* overload walks byte by byte
        if (!x.unsafe_is_equal("MARKET"sv) && !x.unsafe_is_equal("RPI"sv)) return skip(SkipKind::kFiltered);
      } else if (error != simdjson::NO_SUCH_FIELD) {
        return fail(to_parse_error(error));
      }
    }
    if (auto error = field(data, "m").get_bool().get(buyer_is_maker)) return fail(to_parse_error(error));

    if (!valid_price(t.price) || !valid_qty(qty) || !ms_to_ns(time_ms, t.exchange_ts_ns))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return market_missed();
    if (!market->to_base(qty, t.price, t.qty)) return fail(ParseError::kUnknownInstrument);
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    t.side = buyer_is_maker ? Side::kSell : Side::kBuy;
    return emit(t, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  ParseOutcome parse_force_order(ondemand::object& data, std::int64_t receive_ts_ns, EventBuffer& out) {
    ondemand::object o;
    if (auto error = field(data, "o").get_object().get(o)) return fail(to_parse_error(error));
    std::string_view symbol, side_word;
    double qty = 0, price = 0, average_price = 0;
    std::int64_t time_ms = 0;
    if (auto error = field(o, "s").get_string().get(symbol)) return fail(to_parse_error(error));
    if (auto error = field(o, "S").get_string().get(side_word)) return fail(to_parse_error(error));
    if (auto error = field(o, "q").get_double_in_string().get(qty)) return fail(to_parse_error(error));
    if (auto error = field(o, "p").get_double_in_string().get(price)) return fail(to_parse_error(error));
    if (auto error = field(o, "ap").get_double_in_string().get(average_price)) return fail(to_parse_error(error));
    if (auto error = field(o, "T").get_int64().get(time_ms)) return fail(to_parse_error(error));

    Trade t;
    if (!parse_side(side_word, t.side)) return fail(ParseError::kBadValue);
    t.price = average_price > 0 ? average_price : price;
    if (!valid_price(t.price) || !valid_qty(qty) || !ms_to_ns(time_ms, t.exchange_ts_ns))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return market_missed();
    if (!market->to_base(qty, t.price, t.qty)) return fail(ParseError::kUnknownInstrument);
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    t.flags = kTradeLiquidation | kTradeIdHashed;
    t.trade_id = hash_trade_id(symbol) ^ (static_cast<std::uint64_t>(time_ms) * 0x9e3779b97f4a7c15ull) ^
                 bits_of(price) ^ (bits_of(qty) << 1) ^ static_cast<std::uint64_t>(t.side);
    return emit(t, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  ParseOutcome parse_book_ticker(std::string_view symbol, ondemand::object& data, std::int64_t receive_ts_ns,
                                 EventBuffer& out) {
    if (symbol.empty()) {
      if (auto error = field(data, "s").get_string().get(symbol)) return fail(to_parse_error(error));
    }
    Quote q;
    if (auto error = field(data, "b").get_double_in_string().get(q.bid_price)) return fail(to_parse_error(error));
    if (auto error = field(data, "B").get_double_in_string().get(q.bid_qty)) return fail(to_parse_error(error));
    if (auto error = field(data, "a").get_double_in_string().get(q.ask_price)) return fail(to_parse_error(error));
    if (auto error = field(data, "A").get_double_in_string().get(q.ask_qty)) return fail(to_parse_error(error));
    if (venue_ == Venue::kFutures) {
      std::int64_t time_ms = 0;
      if (auto error = field(data, "T").get_int64().get(time_ms)) return fail(to_parse_error(error));
      if (!ms_to_ns(time_ms, q.exchange_ts_ns)) return fail(ParseError::kBadValue);
    }
    // An empty side of the book is sent as zeros; only negatives and
    // non-finite values are corrupt.
    if (!(q.bid_price >= 0 && q.ask_price >= 0 && q.bid_qty >= 0 && q.ask_qty >= 0 && q.bid_price < 1e15 &&
          q.ask_price < 1e15 && q.bid_qty < 1e15 && q.ask_qty < 1e15))
      return fail(ParseError::kBadValue);
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return market_missed();
    if (market->kind == InstrumentKind::kInverse) {
      if (market->contract_size <= 0) return fail(ParseError::kUnknownInstrument);
      q.bid_qty = q.bid_price > 0 ? q.bid_qty * market->contract_size / q.bid_price : 0;
      q.ask_qty = q.ask_price > 0 ? q.ask_qty * market->contract_size / q.ask_price : 0;
    } else if (market->kind == InstrumentKind::kUnknown) {
      return fail(ParseError::kUnknownInstrument);
    }
    q.market = market->id;
    q.receive_ts_ns = receive_ts_ns;
    return emit(q, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  Venue venue_;
  PairCase pair_case_;
  bool coin_margined_possible_;  // Aster lists USDT-margined contracts only
  Route route_;
  std::string last_symbol_;  // the last market resolved, as the frame spelled it
  const ResolvedMarket* last_market_ = nullptr;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_binance_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options) {
  return std::make_unique<BinanceParser>(exchange, registry, options);
}

}  // namespace tickflow
