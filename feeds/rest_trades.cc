#include "feeds/rest_trades.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "feeds/iso8601.h"
#include "feeds/json_support.h"

namespace tickflow {
namespace {

using F = RestTradesFormat;

enum class IdKind : std::uint8_t {
  kUint,        // a number or a numeric string
  kHash,        // a string hashed as the live parser hashes it (kTradeIdHashed)
  kUintOrHash,  // all digits and fits 64 bits: the number; else hashed (Deribit, Crypto.com, HTX swaps)
  kNone,        // no id: a hash of the trade's fields, as the live parser makes it (MEXC)
};
enum class TimeKind : std::uint8_t {
  kMs,       // ms, number or numeric string
  kNs,       // ns, number or numeric string (KuCoin)
  kIso,      // ISO-8601 UTC
  kMsFrac,   // ms with a decimal fraction (Gate spot), kept to the ns
  kMsTrunc,  // ms with an optional fraction, cut to the ms (Gate futures: the live feed sends whole ms)
  kSeconds,  // whole seconds (Bitstamp `date`)
};
enum class SideKind : std::uint8_t {
  kTakerWord,    // "buy"/"Buy"/"BUY"/"b", the taker's side
  kMakerWord,    // the maker's side (Coinbase): taker = opposite
  kBuyerMaker,   // bool: the buyer was the maker, so the taker sold (Binance, MEXC spot)
  kTypeZeroOne,  // 0 buy, 1 sell (Bitstamp)
  kCodeOneTwo,   // 1 buy, 2 sell (MEXC futures)
  kSignedQty,    // the size's sign: negative = taker sell (Gate futures)
};
enum class QtyKind : std::uint8_t {
  kContracts,  // through the market's contract terms (ResolvedMarket::to_base)
  kBase,       // already base units, whatever the market's terms (BitMEX homeNotional, HTX swap quantity)
};

// How one venue names and encodes a trade's fields (object rows).
struct Spec {
  std::string_view id, price, qty, time, side;
  IdKind id_kind;
  TimeKind time_kind;
  SideKind side_kind;
  QtyKind qty_kind = QtyKind::kContracts;
};

constexpr Spec spec_of(RestTradesFormat format) noexcept {
  using I = IdKind;
  using T = TimeKind;
  using S = SideKind;
  switch (format) {
    case F::kBinanceTrades: return {"id", "price", "qty", "time", "isBuyerMaker", I::kUint, T::kMs, S::kBuyerMaker};
    case F::kBinanceAggTrades: return {"a", "p", "q", "T", "m", I::kUint, T::kMs, S::kBuyerMaker};
    case F::kBybit: return {"execId", "price", "size", "time", "side", I::kHash, T::kMs, S::kTakerWord};
    case F::kOkx: return {"tradeId", "px", "sz", "ts", "side", I::kUint, T::kMs, S::kTakerWord};
    case F::kCoinbase: return {"trade_id", "price", "size", "time", "side", I::kUint, T::kIso, S::kMakerWord};
    case F::kBitget: return {"tradeId", "price", "size", "ts", "side", I::kUint, T::kMs, S::kTakerWord};
    case F::kGateioSpot:
      return {"id", "price", "amount", "create_time_ms", "side", I::kUint, T::kMsFrac, S::kTakerWord};
    case F::kGateioFutures:
      return {"id", "price", "size", "create_time_ms", "size", I::kUint, T::kMsTrunc, S::kSignedQty};
    case F::kKucoinSpot: return {"sequence", "price", "size", "time", "side", I::kUint, T::kNs, S::kTakerWord};
    case F::kKucoinFutures: return {"sequence", "price", "size", "ts", "side", I::kUint, T::kNs, S::kTakerWord};
    case F::kHtx: return {"trade-id", "price", "amount", "ts", "direction", I::kUintOrHash, T::kMs, S::kTakerWord};
    case F::kBitmex:
      return {"trdMatchID", "price", "homeNotional", "timestamp",   "side",
              I::kHash,     T::kIso, S::kTakerWord,  QtyKind::kBase};
    case F::kDeribit:
      return {"trade_id", "price", "amount", "timestamp", "direction", I::kUintOrHash, T::kMs, S::kTakerWord};
    case F::kBitstamp: return {"tid", "price", "amount", "date", "type", I::kUint, T::kSeconds, S::kTypeZeroOne};
    case F::kDydx: return {"id", "price", "size", "createdAt", "side", I::kHash, T::kIso, S::kTakerWord};
    case F::kCryptoCom: return {"d", "p", "q", "t", "s", I::kUintOrHash, T::kMs, S::kTakerWord};
    case F::kHitbtc: return {"id", "price", "qty", "timestamp", "side", I::kUint, T::kIso, S::kTakerWord};
    case F::kPoloniex: return {"id", "price", "quantity", "createTime", "takerSide", I::kUint, T::kMs, S::kTakerWord};
    case F::kMexcSpot: return {"id", "price", "qty", "time", "isBuyerMaker", I::kNone, T::kMs, S::kBuyerMaker};
    case F::kMexcFutures: return {"", "p", "v", "t", "T", I::kNone, T::kMs, S::kCodeOneTwo};
    case F::kKrakenFutures: return {"trade_id", "price", "size", "time", "side", I::kUint, T::kIso, S::kTakerWord};
    case F::kBitfinex:
    case F::kKraken:
    case F::kPhemex: break;  // array rows: read_bitfinex_row / read_kraken_row / read_phemex_row
  }
  return {};
}

std::string describe(std::string_view what, simdjson::error_code error) {
  return std::string(what) + ": " + simdjson::error_message(error);
}

// A scalar's text as received: a string without its quotes, or a number's
// token without trailing whitespace. Does not consume the value.
simdjson::error_code raw_text(ondemand::value value, std::string_view& text) noexcept {
  std::string_view token = value.raw_json_token();
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (token.empty() || token.front() == '{' || token.front() == '[' || token.front() == 'n' || token.front() == 't' ||
      token.front() == 'f')
    return simdjson::INCORRECT_TYPE;
  if (token.front() == '"') {
    if (token.size() < 2 || token.back() != '"') return simdjson::INCORRECT_TYPE;
    token = token.substr(1, token.size() - 2);
  }
  text = token;
  return simdjson::SUCCESS;
}
simdjson::error_code raw_text(simdjson::simdjson_result<ondemand::value> field, std::string_view& text) noexcept {
  ondemand::value value;
  if (auto error = std::move(field).get(value)) return error;
  return raw_text(value, text);
}

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "1619093543708.2642" (ms with a fraction) -> ns, the fraction cut at 6
// digits; `truncate`: the fraction dropped (whole ms).
bool decimal_ms_to_ns(std::string_view text, bool truncate, std::int64_t& ns) noexcept {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::int64_t ms = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), ms);
  if (whole.empty() || ec != std::errc{} || end != whole.data() + whole.size()) return false;
  std::int64_t frac = 0;
  if (dot != std::string_view::npos) {
    const std::string_view digits = text.substr(dot + 1);
    if (digits.empty()) return false;
    std::int64_t scale = 100'000;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      frac += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (!ms_to_ns(ms, ns)) return false;
  if (!truncate) ns += frac;
  return true;
}

bool read_time(ondemand::object& item, std::string_view key, TimeKind kind, std::int64_t& ns, std::string& error) {
  switch (kind) {
    case TimeKind::kMs:
    case TimeKind::kNs:
    case TimeKind::kSeconds: {
      std::uint64_t v = 0;
      if (auto e = uint_or_string(field(item, key), v)) return error = describe(key, e), false;
      if (v > static_cast<std::uint64_t>(INT64_MAX)) return error = "bad time " + std::to_string(v), false;
      const auto s = static_cast<std::int64_t>(v);
      bool ok = false;
      if (kind == TimeKind::kMs) {
        ok = ms_to_ns(s, ns);
      } else if (kind == TimeKind::kNs) {
        ns = s;
        ok = plausible_exchange_ns(ns);
      } else {
        ok = s < 9'000'000'000 && plausible_exchange_ns(ns = s * 1'000'000'000);
      }
      if (!ok) return error = "bad time " + std::to_string(v), false;
      return true;
    }
    case TimeKind::kIso: {
      std::string_view iso;
      if (auto e = field(item, key).get_string().get(iso)) return error = describe(key, e), false;
      if (!parse_iso8601_ns(iso, ns) || !plausible_exchange_ns(ns))
        return error = "bad time " + std::string(iso), false;
      return true;
    }
    case TimeKind::kMsFrac:
    case TimeKind::kMsTrunc: {
      std::string_view text;
      if (auto e = raw_text(field(item, key), text)) return error = describe(key, e), false;
      if (!decimal_ms_to_ns(text, kind == TimeKind::kMsTrunc, ns))
        return error = "bad time " + std::string(text), false;
      return true;
    }
  }
  return false;
}

// Outcome of one row: kept, dropped as the live parser drops it, or bad.
enum class Row : std::uint8_t { kKept, kDropped, kBad };

// One object row of the page -> `t`.
Row read_object_trade(RestTradesFormat format, ondemand::object& item, const ResolvedMarket& market,
                      std::string_view symbol, Trade& t, std::string& error) {
  const Spec k = spec_of(format);
  t.flags = kTradeBackfill;
  // Gate's internal fills are not market trades: the live parser drops them.
  if (format == F::kGateioFutures) {
    bool internal = false;
    auto v = field(item, "is_internal");
    if (v.error() != simdjson::NO_SUCH_FIELD) {
      if (auto e = std::move(v).get_bool().get(internal)) return error = describe("is_internal", e), Row::kBad;
      if (internal) return Row::kDropped;
    }
  }

  // Kraken Futures: fills and liquidations are market trades; termination,
  // block and assignment are not (the live parser filters them too).
  if (format == F::kKrakenFutures) {
    auto v = field(item, "type");
    if (v.error() != simdjson::NO_SUCH_FIELD) {
      std::string_view type;
      if (auto e = std::move(v).get_string().get(type)) return error = describe("type", e), Row::kBad;
      if (type == "liquidation")
        t.flags |= kTradeLiquidation;
      else if (type != "fill")
        return Row::kDropped;
    }
  }

  // Id.
  std::string_view id_text;
  switch (k.id_kind) {
    case IdKind::kUint:
      if (auto e = uint_or_string(field(item, k.id), t.trade_id)) return error = describe(k.id, e), Row::kBad;
      break;
    case IdKind::kHash:
      if (auto e = field(item, k.id).get_string().get(id_text)) return error = describe(k.id, e), Row::kBad;
      if (id_text.empty()) return error = "empty " + std::string(k.id), Row::kBad;
      t.trade_id = hash_trade_id(id_text);
      t.flags |= kTradeIdHashed;
      break;
    case IdKind::kUintOrHash: {
      std::string_view key = k.id;
      auto v = field(item, key);
      if (format == F::kHtx && v.error() == simdjson::NO_SUCH_FIELD) {
        key = "id";  // swaps: no trade-id, `id` is the live parser's id
        v = field(item, key);
      }
      if (auto e = raw_text(std::move(v), id_text)) return error = describe(key, e), Row::kBad;
      if (id_text.empty()) return error = "empty " + std::string(key), Row::kBad;
      const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), t.trade_id);
      if (!all_digits(id_text) || ec != std::errc{} || end != id_text.data() + id_text.size()) {
        t.trade_id = hash_trade_id(id_text);
        t.flags |= kTradeIdHashed;
      }
      break;
    }
    case IdKind::kNone: break;  // after the fields it hashes
  }
  // Crypto.com ids are one counter across instruments, not a sequence: the
  // live parser flags them all (cryptocom_parser.cc), so LiveFeed neither
  // de-duplicates nor gap-checks them by order.
  if (format == F::kCryptoCom) t.flags |= kTradeIdHashed;

  // Price and size, keeping the texts MEXC's id hashes.
  double size = 0;
  std::string_view price_text, size_text;
  if (format == F::kMexcSpot) {
    if (auto e = raw_text(field(item, k.price), price_text)) return error = describe(k.price, e), Row::kBad;
    if (auto e = raw_text(field(item, k.qty), size_text)) return error = describe(k.qty, e), Row::kBad;
  }
  if (auto e = number_or_string(field(item, k.price), t.price)) return error = describe(k.price, e), Row::kBad;
  QtyKind qty_kind = k.qty_kind;
  std::string_view qty_key = k.qty;
  if (format == F::kHtx) {
    // Swaps send base coins in `quantity`; spot (and swaps without it) amount.
    auto q = field(item, "quantity");
    if (q.error() != simdjson::NO_SUCH_FIELD) {
      if (auto e = number_or_string(std::move(q), size)) return error = describe("quantity", e), Row::kBad;
      qty_kind = QtyKind::kBase;
      qty_key = {};
    }
  }
  if (!qty_key.empty())
    if (auto e = number_or_string(field(item, qty_key), size)) return error = describe(qty_key, e), Row::kBad;

  // Time.
  bool timed = false;
  if (format == F::kGateioFutures) {
    // create_time_ms where the venue sends it, else create_time (seconds with a fraction).
    auto v = field(item, "create_time_ms");
    if (v.error() == simdjson::NO_SUCH_FIELD) {
      std::string_view text;
      if (auto e = raw_text(field(item, "create_time"), text)) return error = describe("create_time", e), Row::kBad;
      std::int64_t ns = 0;
      if (!parse_epoch_seconds_ns(text, ns) || !plausible_exchange_ns(ns))
        return error = "bad time " + std::string(text), Row::kBad;
      t.exchange_ts_ns = ns / 1'000'000 * 1'000'000;
      timed = true;
    }
  }
  if (!timed && !read_time(item, k.time, k.time_kind, t.exchange_ts_ns, error)) return Row::kBad;

  // Side.
  std::int64_t code = 0;
  switch (k.side_kind) {
    case SideKind::kTakerWord:
    case SideKind::kMakerWord: {
      std::string_view word;
      if (auto e = field(item, k.side).get_string().get(word)) return error = describe(k.side, e), Row::kBad;
      if (!parse_side(word, t.side)) return error = "bad side " + std::string(word), Row::kBad;
      if (k.side_kind == SideKind::kMakerWord) t.side = opposite(t.side);
      break;
    }
    case SideKind::kBuyerMaker: {
      bool buyer_is_maker = false;
      if (auto e = field(item, k.side).get_bool().get(buyer_is_maker)) return error = describe(k.side, e), Row::kBad;
      t.side = buyer_is_maker ? Side::kSell : Side::kBuy;
      break;
    }
    case SideKind::kTypeZeroOne:
    case SideKind::kCodeOneTwo: {
      if (auto e = int_or_string(field(item, k.side), code)) return error = describe(k.side, e), Row::kBad;
      const std::int64_t buy = k.side_kind == SideKind::kTypeZeroOne ? 0 : 1;
      if (code != buy && code != buy + 1) return error = "bad side " + std::to_string(code), Row::kBad;
      t.side = code == buy ? Side::kBuy : Side::kSell;
      break;
    }
    case SideKind::kSignedQty:
      t.side = size < 0 ? Side::kSell : Side::kBuy;
      size = std::abs(size);
      break;
  }

  // Liquidations, flagged and sided as the live parsers do.
  if (format == F::kDeribit) {
    auto v = field(item, "liquidation");
    if (v.error() != simdjson::NO_SUCH_FIELD) {
      std::string_view who;
      if (auto e = std::move(v).get_string().get(who)) return error = describe("liquidation", e), Row::kBad;
      t.flags |= kTradeLiquidation;
      if (who == "M") t.side = opposite(t.side);  // the maker's order was the forced one
    }
  } else if (format == F::kDydx) {
    auto v = field(item, "type");
    if (v.error() != simdjson::NO_SUCH_FIELD) {
      std::string_view type;
      if (auto e = std::move(v).get_string().get(type)) return error = describe("type", e), Row::kBad;
      if (type == "LIQUIDATED" || type == "DELEVERAGED") t.flags |= kTradeLiquidation;
    }
  }

  if (!valid_price(t.price)) return error = "bad price", Row::kBad;
  if (qty_kind == QtyKind::kBase) {
    if (!valid_qty(size)) return error = "bad quantity", Row::kBad;
    t.qty = size;
  } else {
    ParseError why{};
    if (!valid_qty(size) || !to_base_qty(market, size, t.price, t.qty, why))
      return error = why == ParseError::kUnknownInstrument ? "unknown contract terms" : "bad quantity", Row::kBad;
  }

  // Field hashes, as feeds/mexc_parser.cc makes them for id-less deals.
  if (format == F::kMexcSpot) {
    const std::int64_t ms = t.exchange_ts_ns / 1'000'000;
    t.trade_id = IdKey{}
                     .add(symbol)
                     .add(ms)
                     .add(price_text)
                     .add(size_text)
                     .add(static_cast<std::int64_t>(t.side == Side::kBuy ? 1 : 2))
                     .hash();
    t.flags |= kTradeIdHashed;
  } else if (format == F::kMexcFutures) {
    t.trade_id = IdKey{}.add(symbol).add(t.exchange_ts_ns / 1'000'000).add(t.price).add(size).add(code).hash();
    t.flags |= kTradeIdHashed;
  }
  t.market = market.id;
  return Row::kKept;
}

// Bitfinex: [ID, MTS, AMOUNT, PRICE]; AMOUNT's sign is the taker side.
Row read_bitfinex_row(ondemand::array& row, const ResolvedMarket& market, Trade& t, std::string& error) {
  std::size_t i = 0;
  double amount = 0;
  std::int64_t ms = 0;
  for (auto element : row) {
    ondemand::value v;
    if (auto e = element.get(v)) return error = describe("row", e), Row::kBad;
    simdjson::error_code e = simdjson::SUCCESS;
    switch (i) {
      case 0: e = v.get_uint64().get(t.trade_id); break;
      case 1: e = v.get_int64().get(ms); break;
      case 2: e = number_or_string(v, amount); break;
      case 3: e = number_or_string(v, t.price); break;
      default: break;
    }
    if (e) return error = describe("row field " + std::to_string(i), e), Row::kBad;
    ++i;
  }
  if (i < 4) return error = "short row", Row::kBad;
  if (amount == 0) return error = "zero amount", Row::kBad;
  if (!ms_to_ns(ms, t.exchange_ts_ns)) return error = "bad time " + std::to_string(ms), Row::kBad;
  t.side = amount < 0 ? Side::kSell : Side::kBuy;
  if (!valid_price(t.price)) return error = "bad price", Row::kBad;
  ParseError why{};
  if (!to_base_qty(market, std::abs(amount), t.price, t.qty, why)) return error = "bad quantity", Row::kBad;
  t.flags = kTradeBackfill;
  t.market = market.id;
  return Row::kKept;
}

// Kraken spot: ["price","volume",time,"b"|"s","l"|"m","misc",id]. The id
// is the hash of "<pair>|<price>|<volume>|<time>|<side>|<orderType>" as
// kraken_parser.cc builds it, over the REST texts.
Row read_kraken_row(ondemand::array& row, std::string_view pair, const ResolvedMarket& market, Trade& t,
                    std::string& error) {
  std::string_view text[6];
  std::size_t i = 0;
  for (auto element : row) {
    ondemand::value v;
    if (auto e = element.get(v)) return error = describe("row", e), Row::kBad;
    if (i < 6 && i != 5) {
      if (auto e = raw_text(v, text[i])) return error = describe("row field " + std::to_string(i), e), Row::kBad;
    }
    ++i;
  }
  if (i < 5) return error = "short row", Row::kBad;
  double volume = 0;
  const auto parse = [](std::string_view s, double& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
  };
  if (!parse(text[0], t.price) || !valid_price(t.price)) return error = "bad price", Row::kBad;
  if (!parse(text[1], volume) || !valid_qty(volume)) return error = "bad quantity", Row::kBad;
  if (!parse_epoch_seconds_ns(text[2], t.exchange_ts_ns) || !plausible_exchange_ns(t.exchange_ts_ns))
    return error = "bad time " + std::string(text[2]), Row::kBad;
  if (text[3] != "b" && text[3] != "s") return error = "bad side " + std::string(text[3]), Row::kBad;
  t.side = text[3] == "b" ? Side::kBuy : Side::kSell;
  ParseError why{};
  if (!to_base_qty(market, volume, t.price, t.qty, why)) return error = "bad quantity", Row::kBad;
  IdKey key;
  key.add(pair).add(text[0]).add(text[1]).add(text[2]).add(text[3]).add(text[4]);
  t.trade_id = key.hash();
  t.flags = kTradeBackfill | kTradeIdHashed;
  t.market = market.id;
  return Row::kKept;
}

// A raw token without trailing whitespace, quotes kept: phemex_parser.cc
// hashes these bytes.
std::string_view trimmed_token(ondemand::value& v) noexcept {
  std::string_view token = v.raw_json_token();
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  return token;
}

// Phemex: [ns, "Buy"|"Sell", price, qty]. Scaled integers (`real_values`
// false): spot (a leading 's') prices and quantities x 1e8, contracts'
// prices x 1e4 and quantities in contracts; trades_p rows carry real values.
Row read_phemex_row(ondemand::array& row, std::string_view symbol, bool real_values, const ResolvedMarket& market,
                    Trade& t, std::string& error) {
  std::string_view ts_token, side_word, price_token, qty_token;
  double price = 0, qty = 0;
  std::size_t n = 0;
  for (auto element : row) {
    ondemand::value v;
    if (auto e = element.get(v)) return error = describe("row", e), Row::kBad;
    simdjson::error_code e = simdjson::SUCCESS;
    switch (n) {
      case 0:
        ts_token = trimmed_token(v);
        e = v.get_int64().get(t.exchange_ts_ns);
        break;
      case 1: e = v.get_string().get(side_word); break;
      case 2:
        price_token = trimmed_token(v);
        e = real_values ? number_or_string(v, price) : v.get_double().get(price);
        break;
      case 3:
        qty_token = trimmed_token(v);
        e = real_values ? number_or_string(v, qty) : v.get_double().get(qty);
        break;
      default: break;
    }
    if (e) return error = describe("row field " + std::to_string(n), e), Row::kBad;
    ++n;
  }
  if (n < 4) return error = "short row", Row::kBad;
  const bool spot = !real_values && !symbol.empty() && symbol[0] == 's';
  if (!real_values) {
    price /= spot ? 1e8 : 1e4;
    if (spot) qty /= 1e8;
  }
  t.price = price;
  if (!parse_side(side_word, t.side)) return error = "bad side " + std::string(side_word), Row::kBad;
  if (!valid_price(price)) return error = "bad price", Row::kBad;
  if (!plausible_exchange_ns(t.exchange_ts_ns)) return error = "bad time " + std::string(ts_token), Row::kBad;
  ParseError why{};
  if (!valid_qty(qty) || !to_base_qty(market, qty, price, t.qty, why))
    return error = why == ParseError::kUnknownInstrument ? "unknown contract terms" : "bad quantity", Row::kBad;
  t.trade_id = IdKey{}.add(symbol).add(ts_token).add(side_word).add(price_token).add(qty_token).hash();
  t.flags = kTradeBackfill | kTradeIdHashed;
  t.market = market.id;
  return Row::kKept;
}

// The page's envelope: the API's own error code, then the trade array.
simdjson::error_code envelope_array(RestTradesFormat format, ondemand::object& root, ondemand::array& list,
                                    std::string& error) {
  auto fail = [&](std::string why) {
    error = std::move(why);
    return simdjson::INCORRECT_TYPE;
  };
  auto string_code = [&](std::string_view key, std::string_view ok) -> bool {
    std::string_view code;
    if (auto e = field(root, key).get_string().get(code)) return fail(describe(key, e)), false;
    if (code != ok) return fail(std::string(key) + " " + std::string(code)), false;
    return true;
  };
  auto get_list = [&](ondemand::object& object, std::string_view key) {
    if (auto e = field(object, key).get_array().get(list)) return fail(describe(key, e));
    return simdjson::SUCCESS;
  };
  switch (format) {
    case F::kBybit: {
      std::int64_t code = -1;
      if (auto e = field(root, "retCode").get_int64().get(code)) return fail(describe("retCode", e));
      if (code != 0) return fail("retCode " + std::to_string(code));
      ondemand::object result;
      if (auto e = field(root, "result").get_object().get(result)) return fail(describe("result", e));
      return get_list(result, "list");
    }
    case F::kOkx:
      if (!string_code("code", "0")) return simdjson::INCORRECT_TYPE;
      return get_list(root, "data");
    case F::kBitget:
      if (!string_code("code", "00000")) return simdjson::INCORRECT_TYPE;
      return get_list(root, "data");
    case F::kKucoinSpot:
    case F::kKucoinFutures:
      if (!string_code("code", "200000")) return simdjson::INCORRECT_TYPE;
      return get_list(root, "data");
    case F::kHtx:
      if (!string_code("status", "ok")) return simdjson::INCORRECT_TYPE;
      return get_list(root, "data");
    case F::kDeribit: {
      ondemand::object result;
      if (auto e = field(root, "result").get_object().get(result)) return fail(describe("result", e));
      return get_list(result, "trades");
    }
    case F::kDydx: return get_list(root, "trades");
    case F::kCryptoCom: {
      std::int64_t code = -1;
      if (auto e = field(root, "code").get_int64().get(code)) return fail(describe("code", e));
      if (code != 0) return fail("code " + std::to_string(code));
      ondemand::object result;
      if (auto e = field(root, "result").get_object().get(result)) return fail(describe("result", e));
      return get_list(result, "data");
    }
    case F::kKrakenFutures:
      if (!string_code("result", "success")) return simdjson::INCORRECT_TYPE;
      return get_list(root, "history");
    case F::kMexcFutures: {
      bool success = false;
      if (auto e = field(root, "success").get_bool().get(success)) return fail(describe("success", e));
      if (!success) return fail("success false");
      return get_list(root, "data");
    }
    default: break;
  }
  return fail("no envelope for this format");
}

bool root_is_array(RestTradesFormat format) noexcept {
  switch (format) {
    case F::kBinanceTrades:
    case F::kBinanceAggTrades:
    case F::kCoinbase:
    case F::kGateioSpot:
    case F::kGateioFutures:
    case F::kBitmex:
    case F::kBitfinex:
    case F::kBitstamp:
    case F::kHitbtc:
    case F::kPoloniex:
    case F::kMexcSpot: return true;
    default: return false;
  }
}

}  // namespace

RestTradesResult parse_rest_trades(RestTradesFormat format, std::string_view body, const ResolvedMarket& market,
                                   std::int64_t receive_ts_ns, std::vector<Trade>& out, std::string_view symbol) {
  RestTradesResult result;
  const std::size_t first = out.size();
  auto fail = [&](std::string why) {
    out.resize(first);  // a page is delivered whole or not at all
    result.ok = false;
    result.trades = 0;
    result.error = std::move(why);
    return result;
  };
  const simdjson::padded_string padded(body);
  ondemand::parser& json = thread_json_parser(std::max<std::size_t>(padded.size(), 1));
  ondemand::document doc;
  if (auto e = json.iterate(padded).get(doc)) return fail(describe("body", e));

  std::string why;
  auto keep = [&](Trade& t) {
    t.receive_ts_ns = receive_ts_ns;
    out.push_back(t);
  };
  // One object row; false (with `why`) when bad.
  auto object_row = [&](simdjson::simdjson_result<ondemand::value> element) {
    ondemand::object item;
    if (auto e = std::move(element).get_object().get(item)) return why = describe("trade", e), false;
    Trade t;
    const Row row = read_object_trade(format, item, market, symbol, t, why);
    if (row == Row::kBad) return false;
    if (row == Row::kKept) keep(t);
    return true;
  };

  if (format == F::kKraken) {
    // {"error":[..],"result":{"<PAIR>":[rows],"last":"ns"}}: the pair's key is
    // Kraken's own spelling (XXBTZUSD), so any key but "last" is the list.
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(describe("body", e));
    ondemand::array errors;
    if (auto e = field(root, "error").get_array().get(errors)) return fail(describe("error", e));
    for (auto element : errors) {
      std::string_view text;
      if (element.get_string().get(text) == simdjson::SUCCESS) return fail("error " + std::string(text));
      return fail("error");
    }
    ondemand::object res;
    if (auto e = field(root, "result").get_object().get(res)) return fail(describe("result", e));
    bool found = false;
    for (auto member : res) {
      ondemand::field f;
      if (auto e = std::move(member).get(f)) return fail(describe("result", e));
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) return fail(describe("result key", e));
      if (key == "last") continue;
      ondemand::array rows;
      if (auto e = f.value().get_array().get(rows)) return fail(describe("trades", e));
      found = true;
      for (auto element : rows) {
        ondemand::array row;
        if (auto e = element.get_array().get(row)) return fail(describe("trade", e));
        Trade t;
        if (read_kraken_row(row, symbol, market, t, why) != Row::kKept) return fail(why);
        keep(t);
      }
    }
    if (!found) return fail("result: no trade list");
  } else if (format == F::kPhemex) {
    // {"error":null,"id":0,"result":{"symbol":..,"trades":[..]}} ("trades_p": real values).
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(describe("body", e));
    auto err = field(root, "error");
    if (err.error() != simdjson::NO_SUCH_FIELD) {
      ondemand::value v;
      if (auto e = std::move(err).get(v)) return fail(describe("error", e));
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return fail(describe("error", e));
      if (!is_null) return fail("error " + std::string(trimmed_token(v)));
    }
    ondemand::object res;
    if (auto e = field(root, "result").get_object().get(res)) return fail(describe("result", e));
    bool real_values = false;
    ondemand::array list;
    auto trades = field(res, "trades");
    if (trades.error() == simdjson::NO_SUCH_FIELD) {
      real_values = true;
      trades = field(res, "trades_p");
    }
    if (auto e = std::move(trades).get_array().get(list)) return fail(describe("trades", e));
    for (auto element : list) {
      ondemand::array row;
      if (auto e = element.get_array().get(row)) return fail(describe("trade", e));
      Trade t;
      if (read_phemex_row(row, symbol, real_values, market, t, why) != Row::kKept) return fail(why);
      keep(t);
    }
  } else if (format == F::kBitfinex) {
    ondemand::array list;
    if (auto e = doc.get_array().get(list)) return fail(describe("body", e));
    for (auto element : list) {
      ondemand::array row;
      if (auto e = element.get_array().get(row)) return fail(describe("trade", e));
      Trade t;
      if (read_bitfinex_row(row, market, t, why) != Row::kKept) return fail(why);
      keep(t);
    }
  } else if (root_is_array(format)) {
    ondemand::array list;
    if (auto e = doc.get_array().get(list)) return fail(describe("body", e));
    for (auto element : list)
      if (!object_row(element)) return fail(why);
  } else {
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(describe("body", e));
    ondemand::array list;
    if (envelope_array(format, root, list, why)) return fail(why);
    for (auto element : list) {
      if (format != F::kHtx) {
        if (!object_row(element)) return fail(why);
        continue;
      }
      // HTX: each element is a batch {"id":..,"ts":..,"data":[trades]}.
      ondemand::object batch;
      if (auto e = element.get_object().get(batch)) return fail(describe("batch", e));
      ondemand::array trades;
      if (auto e = field(batch, "data").get_array().get(trades)) return fail(describe("batch data", e));
      for (auto inner : trades)
        if (!object_row(inner)) return fail(why);
    }
  }
  // A structural error inside an array reaches the loops as an element
  // error (it is yielded once, then iteration stops): failed above.
  result.ok = true;
  result.trades = out.size() - first;
  return result;
}

}  // namespace tickflow
