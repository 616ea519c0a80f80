// feeds/bitunix_parser.cc
//
// Bitunix USDT-margined futures ("BITUNIX"; wss://fapi.bitunix.com/public/).
// Markets BITUNIX:<symbol as sent>, e.g. BITUNIX:BTCUSDT. Frames:
//
//   {"ch":"trade","symbol":"BTCUSDT","ts":1733312207959,"data":[
//     {"t":"2024-12-04T11:36:47.959Z","p":"96230.5","v":"0.012","s":"buy"},..]}   trades
//   {"op":"connect",..}        sent once per connection: kControl, and the
//                              start of a new subscription (below)
//   {"op":"ping","pong":..,..}, {"op":"subscribe",..}, other "op" replies,
//   {"code":..,"msg":..}       kControl
//   channels depth_book*       kBook
//   any other channel          kOtherChannel (ticker, tickers, kline, price)
//
// Normalization (as aggr-server's bitunix.js, ../shared/docs/exchanges.md):
//  * Side: `s` is the taker side. Size: `v` is base (the API's quantities
//    are in the base coin), so the market is linear with unit size.
//  * History: the first trade frame of each symbol after subscribing is a
//    batch of past trades (aggr-server drops it, "ignoreWelcomeMessage"). It
//    is skipped as SkipKind::kSnapshot; the flag is per market and every
//    {"op":"connect"} (a new connection, hence a new subscription) re-arms it.
//  * Ids: Bitunix sends none. trade_id = a hash (feeds/token_hash.h) of the
//    symbol, t, s, i (the trade's index in its frame, so two identical
//    prints in one frame stay two trades) and the v and p tokens, flagged
//    kTradeIdHashed.
//  * Time: `t`, ISO 8601 (exact in ns) or a number of ms.
//  * Liquidations: Bitunix has no public liquidation stream.
//
// Errors: as okx_parser.cc. A bad trade is counted by reason and skipped, the
// good ones of the same frame kept; a structural error part-way is counted
// once and ends the frame.
#include <cstdint>
#include <string_view>
#include <vector>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"
#include "feeds/token_hash.h"

namespace tickflow {
namespace {

class BitunixParser final : public ExchangeParser {
 public:
  BitunixParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("BITUNIX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame == "pong" || frame == "ping") return skip(SkipKind::kControl);
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    std::string_view ch;
    auto e = field(root, "ch").get_string().get(ch);
    if (e == simdjson::NO_SUCH_FIELD) {
      std::string_view op;
      auto op_error = field(root, "op").get_string().get(op);
      if (op_error == simdjson::SUCCESS) {
        if (op == "connect") seen_.assign(seen_.size(), 0);  // new connection: history comes again
        return skip(SkipKind::kControl);
      }
      if (op_error != simdjson::NO_SUCH_FIELD) return fail(to_parse_error(op_error));
      if (field(root, "code").error() == simdjson::SUCCESS) return skip(SkipKind::kControl);
      return fail(ParseError::kMissingField);
    }
    if (e) return fail(to_parse_error(e));
    if (ch != "trade") return skip(ch.starts_with("depth") ? SkipKind::kBook : SkipKind::kOtherChannel);

    std::string_view symbol;
    if (auto symbol_error = field(root, "symbol").get_string().get(symbol)) return fail(to_parse_error(symbol_error));
    const ResolvedMarket* market = markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kLinear, 1);
    if (market == nullptr) return market_missed();
    if (market->id >= seen_.size()) seen_.resize(market->id + 1, 0);  // once per new market
    if (seen_[market->id] == 0) {
      seen_[market->id] = 1;
      return skip(SkipKind::kSnapshot);
    }

    ondemand::array data;
    if (auto data_error = field(root, "data").get_array().get(data)) return fail(to_parse_error(data_error));
    std::size_t events = 0, errors = 0;
    std::int64_t index = 0;
    for (auto element : data) {
      ondemand::object item;
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      if (auto item_error = element.get_object().get(item)) {
        json_error = item_error;
        error = to_parse_error(item_error);
      } else if (read_trade(item, symbol, *market, index++, receive_ts_ns, trade, error, json_error)) {
        if (!emit(trade, out)) {
          ++errors;
          break;
        }
        ++events;
        continue;
      }
      count_error(error);
      ++errors;
      if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
    }
    if (events > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    return fail(ParseError::kMissingField);  // no trades at all
  }

 private:
  bool read_trade(ondemand::object& item, std::string_view symbol, const ResolvedMarket& market, std::int64_t index,
                  std::int64_t receive_ts_ns, Trade& trade, ParseError& error, simdjson::error_code& json_error) {
    double price = 0, volume = 0;
    std::string_view side_word;
    ondemand::value t;
    if (auto e = field(item, "t").get(t)) return json_failed(e, error, json_error);
    // "t": ISO 8601 text, or ms as a number.
    std::string_view time_text;
    std::int64_t ms = 0;
    const std::string_view t_token = t.raw_json_token();
    if (!t_token.empty() && t_token.front() == '"') {
      if (auto e = t.get_string().get(time_text)) return json_failed(e, error, json_error);
      if (!parse_iso8601_ns(time_text, trade.exchange_ts_ns) || !plausible_exchange_ns(trade.exchange_ts_ns)) {
        error = ParseError::kBadValue;
        return false;
      }
    } else {
      if (auto e = t.get_int64().get(ms)) return json_failed(e, error, json_error);
      if (!ms_to_ns(ms, trade.exchange_ts_ns)) {
        error = ParseError::kBadValue;
        return false;
      }
    }
    ondemand::value price_value, volume_value;
    if (auto e = field(item, "p").get(price_value)) return json_failed(e, error, json_error);
    const std::string_view price_text = price_value.raw_json_token();  // for the id: no double formatting
    if (auto e = number_or_string(price_value, price)) return json_failed(e, error, json_error);
    if (auto e = field(item, "v").get(volume_value)) return json_failed(e, error, json_error);
    const std::string_view volume_text = volume_value.raw_json_token();
    if (auto e = number_or_string(volume_value, volume)) return json_failed(e, error, json_error);
    if (auto e = field(item, "s").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (!parse_side(side_word, trade.side) || !valid_price(price) || !valid_qty(volume)) {
      error = ParseError::kBadValue;
      return false;
    }
    if (!to_base_qty(market, volume, price, trade.qty, error)) return false;
    trade.receive_ts_ns = receive_ts_ns;
    if (&market != id_market_) {
      id_market_ = &market;
      id_seed_ = hash_trade_id(symbol);
    }
    trade.trade_id =
        TokenHash(id_seed_)
            .add(static_cast<std::uint64_t>(trade.exchange_ts_ns) * 2 + static_cast<std::uint64_t>(trade.side))
            .add(static_cast<std::uint64_t>(index))
            .add_token(volume_text)
            .add_token(price_text)
            .finish();
    trade.price = price;
    trade.market = market.id;
    trade.flags = kTradeIdHashed;
    return true;
  }

  // Per market id: has its first trade frame (the history batch) been seen
  // on this connection?
  std::vector<std::uint8_t> seen_;
  const ResolvedMarket* id_market_ = nullptr;  // whose symbol hash id_seed_ is
  std::uint64_t id_seed_ = 0;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitunix_parser(std::string_view exchange, MarketRegistry& registry,
                                                    ParserOptions options) {
  if (exchange == "BITUNIX") return std::make_unique<BitunixParser>(registry, options);
  return nullptr;
}

}  // namespace tickflow
