// feeds/dydx_parser.cc
//
// dYdX ("DYDX"): the v4 indexer websocket (wss://indexer.dydx.trade/v4/ws,
// live today) and v3 (wss://api.dydx.exchange/v3/ws, shut down; the bundled
// capture). Both speak the same envelope:
//
//   {"type":"channel_data","connection_id":"..","message_id":291,"id":"ETH-USD","channel":"v3_trades",
//    "contents":{"trades":[{"size":"0.1","side":"BUY","price":"4215.6","createdAt":"2021-10-28T18:03:51.833Z"}]}}
//   {"type":"channel_data",..,"id":"BTC-USD","channel":"v4_trades","version":"2.1.0",
//    "contents":{"trades":[{"id":"8ee6d90d-..","side":"SELL","size":"0.002","price":"64102",
//      "type":"LIMIT"|"LIQUIDATED"|"DELEVERAGED","createdAt":"2024-05-01T12:00:00.123Z",
//      "createdAtHeight":"14000000"}]}}                              live trades
//   {"type":"channel_batch_data",..,"channel":"v4_trades","contents":[{"trades":[..]},..]}
//                                                                    live trades, batched
//   {"type":"subscribed",..,"channel":"v[34]_trades","contents":{"trades":[..]}}
//                                                                    SkipKind::kSnapshot (history)
//   subscribed / channel_data on v[34]_orderbook                     SkipKind::kBook
//   ... on any other channel (markets, candles, subaccounts)         SkipKind::kOtherChannel
//   {"type":"connected"|"unsubscribed"|"error"|"pong",..}            SkipKind::kControl
//
// Normalization (aggr-server's dydx.js):
//  * Market names: DYDX:<id> as dYdX spells it (DYDX:BTC-USD). Perpetuals
//    whose size is already base units: kLinear, contract size 1.
//  * Side: `side` is the taker side (BUY -> buy).
//  * Liquidations: v4 `type` LIQUIDATED, and DELEVERAGED (the bankrupt
//    position closed against profitable ones when the liquidation could not
//    fill), and v3's `liquidation: true` are flagged kTradeLiquidation.
//    Their side stays `side`, as aggr-server emits it: a liquidation order
//    is the taker of its fill, so the taker side is the liquidation order's
//    side (SELL: a long was liquidated).
//  * Ids: v4 `id` is a string (not numeric, not sequential): hashed,
//    kTradeIdHashed. v3 trades carry no id: a 64-bit mix of market,
//    createdAt, side, size, price and the index in the frame, flagged the same
//    way (the index keeps two equal fills of one frame apart). Neither shows
//    gaps; a reconnect is reported as a time gap (feeds/venues/dydx.cc).
//  * Times: createdAt, ISO-8601 UTC with milliseconds -> exchange_ts_ns.
//
// Errors: a frame that is not JSON, not an object, or lacks its envelope
// fields is counted once by reason. Inside `trades`, each bad trade is
// counted by reason and skipped, and the good ones of the frame are kept;
// a structural error ends the frame keeping what was emitted. Outcome:
// kEvents when a trade was emitted, else kError (a trades frame with no
// trades is kMissingField).
#include <bit>
#include <cstdint>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

using namespace std::string_view_literals;

enum class Channel : std::uint8_t { kTrades, kBook, kOther };

Channel channel_of(std::string_view channel) noexcept {
  if (channel == "v4_trades"sv || channel == "v3_trades"sv) return Channel::kTrades;
  if (channel == "v4_orderbook"sv || channel == "v3_orderbook"sv) return Channel::kBook;
  return Channel::kOther;
}

// A v3 trade's id: deterministic (the same print always gets the same id,
// across runs and builds), so a re-sent frame de-duplicates; different
// prints collide with probability ~2^-64. splitmix64-style mixing.
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}
std::uint64_t v3_id(MarketId market, std::int64_t ts_ns, Side side, double size, double price,
                    std::size_t index) noexcept {
  std::uint64_t h = mix(0x64796478ull, market);
  h = mix(h, static_cast<std::uint64_t>(ts_ns));
  h = mix(h, side == Side::kBuy ? 1 : 2);
  h = mix(h, std::bit_cast<std::uint64_t>(size));
  h = mix(h, std::bit_cast<std::uint64_t>(price));
  return mix(h, index);
}

class DydxParser final : public ExchangeParser {
 public:
  DydxParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("DYDX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    std::string_view type;
    if (auto e = field(root, "type").get_string().get(type)) return fail(to_parse_error(e));
    const bool data = type == "channel_data"sv;
    const bool batch = type == "channel_batch_data"sv;
    if (!data && !batch) {
      if (type == "subscribed"sv) {
        std::string_view channel;
        if (auto e = field(root, "channel").get_string().get(channel)) return fail(to_parse_error(e));
        switch (channel_of(channel)) {
          case Channel::kTrades: return skip(SkipKind::kSnapshot);
          case Channel::kBook: return skip(SkipKind::kBook);
          case Channel::kOther: return skip(SkipKind::kOtherChannel);
        }
      }
      if (type == "connected"sv || type == "unsubscribed"sv || type == "error"sv || type == "pong"sv)
        return skip(SkipKind::kControl);
      return fail(ParseError::kUnknownChannel);
    }

    // channel_data sends id before channel; read in that order.
    std::string_view market_id, channel;
    if (auto e = field(root, "id").get_string().get(market_id)) return fail(to_parse_error(e));
    if (auto e = field(root, "channel").get_string().get(channel)) return fail(to_parse_error(e));
    switch (channel_of(channel)) {
      case Channel::kTrades: break;
      case Channel::kBook: return skip(SkipKind::kBook);
      case Channel::kOther: return skip(SkipKind::kOtherChannel);
    }
    const ResolvedMarket* market = markets_.resolve(market_id, PairCase::kAsIs, InstrumentKind::kLinear, 1);
    if (market == nullptr) return market_missed();

    Tally tally;
    if (data) {
      ondemand::object contents;
      if (auto e = field(root, "contents").get_object().get(contents)) return fail(to_parse_error(e));
      read_trades(contents, *market, receive_ts_ns, out, tally);
    } else {
      ondemand::array batches;
      if (auto e = field(root, "contents").get_array().get(batches)) return fail(to_parse_error(e));
      for (auto element : batches) {
        ondemand::object contents;
        if (auto e = element.get_object().get(contents)) {
          if (!tally.json_error(*this, e)) break;
          continue;
        }
        if (!read_trades(contents, *market, receive_ts_ns, out, tally)) break;
      }
    }
    if (tally.events > 0) return ParseOutcome::kEvents;
    if (tally.errors > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // no trades at all
  }

 private:
  // What one frame produced; each method returns false when the frame must end.
  struct Tally {
    std::size_t events = 0;
    std::size_t errors = 0;
    std::size_t index = 0;  // trades seen in the frame (v3 ids)
    bool json_error(DydxParser& p, simdjson::error_code e) noexcept {
      p.count_error(to_parse_error(e));
      ++errors;
      return recoverable(e);
    }
    bool trade_error(DydxParser& p, ParseError error, simdjson::error_code json) noexcept {
      p.count_error(error);
      ++errors;
      return json == simdjson::SUCCESS || recoverable(json);
    }
    bool emitted(DydxParser& p, const Trade& trade, EventBuffer& out) noexcept {
      if (!p.emit(trade, out)) {
        ++errors;
        return false;
      }
      ++events;
      return true;
    }
  };

  // {"trades":[..]}. False when the frame must end.
  bool read_trades(ondemand::object& contents, const ResolvedMarket& market, std::int64_t receive_ts_ns,
                   EventBuffer& out, Tally& tally) {
    ondemand::array trades;
    if (auto e = field(contents, "trades").get_array().get(trades)) return tally.json_error(*this, e);
    for (auto element : trades) {
      ondemand::object item;
      if (auto e = element.get_object().get(item)) {
        if (!tally.json_error(*this, e)) return false;
        continue;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      const bool ok = read_trade(item, market, tally.index++, trade, error, json_error);
      if (!ok) {
        if (!tally.trade_error(*this, error, json_error)) return false;
        continue;
      }
      trade.receive_ts_ns = receive_ts_ns;
      if (!tally.emitted(*this, trade, out)) return false;
    }
    return true;
  }

  // One trade object, v3 or v4, fields in any order.
  bool read_trade(ondemand::object& item, const ResolvedMarket& market, std::size_t index, Trade& trade,
                  ParseError& error, simdjson::error_code& json_error) {
    enum : unsigned { kSide = 1, kSize = 2, kPrice = 4, kTime = 8, kRequired = 15 };
    unsigned seen = 0;
    std::string_view id, side_word, created, type;
    double size = 0, price = 0;
    bool liquidation_flag = false;
    for (auto result : item) {
      ondemand::field f;
      if (auto e = std::move(result).get(f)) return json_failed(e, error, json_error);
      const ondemand::raw_json_string key = f.key();
      simdjson::error_code e = simdjson::SUCCESS;
      if (key == "id") {
        e = f.value().get_string().get(id);
      } else if (key == "side") {
        e = f.value().get_string().get(side_word);
        seen |= kSide;
      } else if (key == "size") {
        e = number_or_string(f.value(), size);
        seen |= kSize;
      } else if (key == "price") {
        e = number_or_string(f.value(), price);
        seen |= kPrice;
      } else if (key == "type") {
        e = f.value().get_string().get(type);
      } else if (key == "createdAt") {
        e = f.value().get_string().get(created);
        seen |= kTime;
      } else if (key == "liquidation") {
        e = f.value().get_bool().get(liquidation_flag);
      }
      if (e) return json_failed(e, error, json_error);
    }
    if (seen != kRequired) {
      error = ParseError::kMissingField;
      return false;
    }
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !valid_qty(size) ||
        !parse_iso8601_ns(created, trade.exchange_ts_ns) || !plausible_exchange_ns(trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    trade.qty = size;  // perpetuals quoted in base units
    trade.price = price;
    trade.market = market.id;
    const bool liquidation = liquidation_flag || type == "LIQUIDATED"sv || type == "DELEVERAGED"sv;
    trade.flags = static_cast<std::uint8_t>(kTradeIdHashed | (liquidation ? kTradeLiquidation : kTradeNone));
    if (!id.empty()) {
      trade.trade_id = hash_trade_id(id);
    } else {
      // v3: no id. A mix of what tells two prints apart: market, time, side,
      // size, price and the position in the frame (arithmetic, no text).
      trade.trade_id = v3_id(market.id, trade.exchange_ts_ns, trade.side, size, price, index);
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<ExchangeParser> make_dydx_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                 ParserOptions options) {
  return std::make_unique<DydxParser>(registry, options);
}

}  // namespace tickflow
