// feeds/bitmex_parser.cc
//
// BitMEX realtime websocket ("BITMEX", wss://www.bitmex.com/realtime).
// Frames are objects:
//
//   {"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z",
//     "symbol":"XBTUSD","side":"Buy","size":1000,"price":63250.5,"tickDirection":..,
//     "trdMatchID":"39744121-c20e-...","grossValue":..,"homeNotional":0.0158,
//     "foreignNotional":1000},...]}                     -> trades
//   {"table":"liquidation","action":"insert","data":[{"orderID":..,"symbol":..,
//     "side":"Sell","price":..,"leavesQty":..},...]}   -> liquidations
//   action "partial" of trade/liquidation (history sent on subscribe)
//                                                       -> kSnapshot
//   action "update"/"delete" of trade/liquidation (changes to a resting
//   liquidation order, not new prints)                  -> kFiltered
//   orderBookL2, orderBookL2_25, orderBook10            -> kBook
//   quote, quoteBin*, tradeBin*, instrument, funding, settlement, insurance,
//   announcement, chat, connected, publicNotifications  -> kOtherChannel
//   other tables                                        -> kUnknownChannel
//   {"info":..} welcome, {"success":..} subscribe acks, {"error":..} and
//   {"status":..,"error":..} venue errors               -> kControl
//   "pong" (text: the answer to the live feed's "ping")  -> kControl
//
// Normalization (../shared/docs/exchanges.md, aggr-server bitmex.js):
//  * Market: BITMEX:<symbol> as sent ("BITMEX:XBTUSD").
//  * Trades: side is the taker side; qty = homeNotional, which BitMEX gives
//    in base units for every contract type (inverse, linear, quanto), so no
//    contract terms are needed; price as sent. trade_id =
//    hash_trade_id(trdMatchID) (a UUID), flagged kTradeIdHashed. timestamp
//    is ISO-8601 with ms, parsed without allocating (feeds/iso8601.h).
//  * Liquidations: side is the liquidation order's side (Sell: a long was
//    liquidated). They carry no time: exchange_ts_ns = receive time. No id
//    either: trade_id = hash_trade_id(orderID), kTradeIdHashed. leavesQty is
//    in contracts, converted with the market's terms:
//      - inverse (1 quote-currency unit per contract): base = leavesQty / price.
//        Default rule: a symbol starting with "XBT" that is not USDT-settled
//        (XBTUSD, XBTEUR, dated XBTU21/XBTZ21) is inverse with contract size 1.
//        ETHUSD, BCHUSD, XRPUSD, ... are NOT inverse on BitMEX but quanto
//        (settled in XBT, size depends on the XBT price), so "*USD" is not
//        taken as inverse.
//      - linear with a contract size known from the registry (config): base =
//        leavesQty * contract_size (aggr-server: leavesQty /
//        underlyingToPositionMultiplier, the same thing).
//      - anything else (quanto, or linear/USDT contracts with unknown terms):
//        ParseError::kUnknownInstrument, never guessed.
//  * Quotes (table "quote"): bidSize/askSize are contracts, and converting
//    them needs per-symbol terms this parser does not have for most symbols,
//    so quotes are skipped as kOtherChannel rather than emitted with wrong
//    sizes.
//
// Reading: one forward pass over the root object. BitMEX sends table and
// action before data; if data ever came first, the document is rewound and
// data read again once both are known. A data array carries several items:
// an item with a bad field is counted by its reason (count_error) and the
// other items are kept; the frame is kEvents if any was emitted, else kError
// (no second count). A structural error stops the frame after one count. An
// insert with an empty data array is kFiltered.
#include <cstring>
#include <string_view>
#include <utility>

#include "feeds/exchange_parser.h"
#include "feeds/iso8601.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

enum class Table : std::uint8_t { kTrade, kLiquidation, kBook, kOther, kUnknown };

Table classify_table(std::string_view table) noexcept {
  if (table == "trade") return Table::kTrade;
  if (table == "liquidation") return Table::kLiquidation;
  if (table.starts_with("orderBook")) return Table::kBook;
  if (table.starts_with("quote") || table.starts_with("tradeBin") || table == "instrument" || table == "funding" ||
      table == "settlement" || table == "insurance" || table == "announcement" || table == "chat" ||
      table == "connected" || table == "publicNotifications")
    return Table::kOther;
  return Table::kUnknown;
}

// What to do with a frame once table and action are known.
enum class Plan : std::uint8_t { kTrades, kLiquidations, kSkip, kUnknown };

Plan plan_for(Table table, std::string_view action, SkipKind& kind) noexcept {
  switch (table) {
    case Table::kBook: kind = SkipKind::kBook; return Plan::kSkip;
    case Table::kOther: kind = SkipKind::kOtherChannel; return Plan::kSkip;
    case Table::kUnknown: return Plan::kUnknown;
    case Table::kTrade:
    case Table::kLiquidation:
      if (action == "insert") return table == Table::kTrade ? Plan::kTrades : Plan::kLiquidations;
      if (action == "partial") {
        kind = SkipKind::kSnapshot;
        return Plan::kSkip;
      }
      if (action == "update" || action == "delete") {
        kind = SkipKind::kFiltered;
        return Plan::kSkip;
      }
      return Plan::kUnknown;
  }
  return Plan::kUnknown;
}

bool is_inverse_symbol(std::string_view symbol) noexcept {
  return symbol.starts_with("XBT") && !symbol.ends_with("USDT") && symbol.find('_') == std::string_view::npos;
}

class BitmexParser final : public ExchangeParser {
 public:
  BitmexParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("BITMEX", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    if (frame == "pong") return skip(SkipKind::kControl);  // keepalive answer, not JSON
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::object root;
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));

    std::string_view table_name, action;
    bool have_table = false, have_action = false, data_pending = false;
    for (auto result : root) {
      ondemand::field field;
      if (auto error = std::move(result).get(field)) return fail(to_parse_error(error));
      const ondemand::raw_json_string key = field.key();
      if (key == "table") {
        if (auto error = field.value().get_string().get(table_name)) return fail(to_parse_error(error));
        have_table = true;
      } else if (key == "action") {
        if (auto error = field.value().get_string().get(action)) return fail(to_parse_error(error));
        have_action = true;
      } else if (key == "data") {
        if (!have_table || !have_action) {
          data_pending = true;
          continue;
        }
        ondemand::array data;
        if (auto error = field.value().get_array().get(data)) return fail(to_parse_error(error));
        return parse_data(table_name, action, data, receive_ts_ns, out);
      } else if (key == "info" || key == "success" || key == "error" || key == "status") {
        return skip(SkipKind::kControl);
      } else {
        continue;
      }
      // Skip as soon as table (and action, where it matters) say so.
      if (have_table) {
        const Table table = classify_table(table_name);
        if (table == Table::kBook) return skip(SkipKind::kBook);
        if (table == Table::kOther) return skip(SkipKind::kOtherChannel);
        if (table == Table::kUnknown) return fail(ParseError::kUnknownChannel);
        if (have_action) {
          SkipKind kind = SkipKind::kControl;
          const Plan plan = plan_for(table, action, kind);
          if (plan == Plan::kSkip) return skip(kind);
          if (plan == Plan::kUnknown) return fail(ParseError::kUnknownChannel);
        }
      }
    }
    if (!have_table || !have_action || !data_pending) return fail(ParseError::kMissingField);

    // "data" came before table/action: read it again. table_name/action
    // point into the string buffer, which the rewind reuses: keep what
    // they decided first.
    SkipKind unused = SkipKind::kControl;
    const Plan plan = plan_for(classify_table(table_name), action, unused);
    doc.rewind();
    if (auto error = doc.get_object().get(root)) return fail(root_error(doc, error));
    ondemand::array data;
    if (auto error = field(root, "data").get_array().get(data)) return fail(to_parse_error(error));
    return parse_items(plan, data, receive_ts_ns, out);
  }

 private:
  ParseOutcome parse_data(std::string_view table_name, std::string_view action, ondemand::array& data,
                          std::int64_t receive_ts_ns, EventBuffer& out) {
    SkipKind kind = SkipKind::kControl;
    const Plan plan = plan_for(classify_table(table_name), action, kind);
    if (plan == Plan::kSkip) return skip(kind);
    if (plan == Plan::kUnknown) return fail(ParseError::kUnknownChannel);
    return parse_items(plan, data, receive_ts_ns, out);
  }

  ParseOutcome parse_items(Plan plan, ondemand::array& data, std::int64_t receive_ts_ns, EventBuffer& out) {
    std::size_t emitted = 0, bad = 0;
    bool overflow = false;
    for (auto result : data) {
      ondemand::object item;
      ParseError error = ParseError::kCount;
      if (auto e = result.get_object().get(item)) {
        error = to_parse_error(e);
      } else {
        error =
            plan == Plan::kTrades ? parse_trade(item, receive_ts_ns, out) : parse_liquidation(item, receive_ts_ns, out);
      }
      if (error == ParseError::kCount) {
        ++emitted;
        continue;
      }
      if (error == ParseError::kOverflow) {  // counted by emit()
        overflow = true;
        break;
      }
      count_error(error);
      ++bad;
      if (error == ParseError::kTruncated) break;  // the rest of the frame is unreadable
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0 || overflow) return ParseOutcome::kError;
    return skip(SkipKind::kFiltered);
  }

  // Returns ParseError::kCount when emitted, kOverflow when the buffer is
  // full (already counted), else the reason to count.
  ParseError parse_trade(ondemand::object& item, std::int64_t receive_ts_ns, EventBuffer& out) {
    // Fields in the order BitMEX sends them (timestamp, symbol, side, size,
    // price, tickDirection, trdMatchID, grossValue, homeNotional, ...), each
    // found with one forward search; field() rewinds only when one is out of order.
    std::string_view time, symbol, side_word, match_id;
    double price = 0, home = 0;
    if (auto error = field(item, "timestamp").get_string().get(time)) return to_parse_error(error);
    if (auto error = field(item, "symbol").get_string().get(symbol)) return to_parse_error(error);
    if (auto error = field(item, "side").get_string().get(side_word)) return to_parse_error(error);
    if (auto error = number_or_string(field(item, "price"), price)) return to_parse_error(error);
    if (auto error = field(item, "trdMatchID").get_string().get(match_id)) return to_parse_error(error);
    if (auto error = number_or_string(field(item, "homeNotional"), home)) return to_parse_error(error);

    Trade t;
    if (!parse_side(side_word, t.side) || !valid_price(price) || !valid_qty(home) || match_id.empty() ||
        !exchange_time(time, t.exchange_ts_ns))
      return ParseError::kBadValue;
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return ParseError::kUnknownMarket;
    t.trade_id = hash_trade_id(match_id);
    t.flags = kTradeIdHashed;
    t.price = price;
    t.qty = home;
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    return emit(t, out) ? ParseError::kCount : ParseError::kOverflow;
  }

  ParseError parse_liquidation(ondemand::object& item, std::int64_t receive_ts_ns, EventBuffer& out) {
    enum : unsigned { kId = 1, kSymbol = 2, kSide = 4, kPrice = 8, kLeaves = 16, kAll = 31 };
    unsigned seen = 0;
    std::string_view order_id, symbol, side_word;
    double price = 0, leaves = 0;
    for (auto result : item) {
      ondemand::field field;
      if (auto error = std::move(result).get(field)) return to_parse_error(error);
      const ondemand::raw_json_string key = field.key();
      simdjson::error_code error = simdjson::SUCCESS;
      if (key == "orderID") {
        error = field.value().get_string().get(order_id);
        seen |= kId;
      } else if (key == "symbol") {
        error = field.value().get_string().get(symbol);
        seen |= kSymbol;
      } else if (key == "side") {
        error = field.value().get_string().get(side_word);
        seen |= kSide;
      } else if (key == "price") {
        error = number_or_string(field.value(), price);
        seen |= kPrice;
      } else if (key == "leavesQty") {
        error = number_or_string(field.value(), leaves);
        seen |= kLeaves;
      }
      if (error) return to_parse_error(error);
    }
    if (seen != kAll) return ParseError::kMissingField;

    Trade t;
    if (!parse_side(side_word, t.side) || !valid_price(price) || !valid_qty(leaves) || order_id.empty())
      return ParseError::kBadValue;
    const ResolvedMarket* market = resolve(symbol);
    if (market == nullptr) return ParseError::kUnknownMarket;
    if (market->kind == InstrumentKind::kInverse && market->contract_size > 0) {
      t.qty = leaves * market->contract_size / price;
    } else if (market->kind == InstrumentKind::kLinear && market->contract_size > 0) {
      t.qty = leaves * market->contract_size;
    } else {
      return ParseError::kUnknownInstrument;
    }
    if (!valid_qty(t.qty)) return ParseError::kBadValue;
    t.exchange_ts_ns = receive_ts_ns;
    t.trade_id = hash_trade_id(order_id);
    t.flags = kTradeLiquidation | kTradeIdHashed;
    t.price = price;
    t.market = market->id;
    t.receive_ts_ns = receive_ts_ns;
    return emit(t, out) ? ParseError::kCount : ParseError::kOverflow;
  }

  const ResolvedMarket* resolve(std::string_view symbol) {
    // Fast path: trades of one symbol arrive together (one frame per symbol).
    if (last_market_ != nullptr && symbol == std::string_view(last_symbol_, last_symbol_size_)) return last_market_;
    const ResolvedMarket* market = is_inverse_symbol(symbol)
                                       ? markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kInverse, 1)
                                       : markets_.resolve(symbol, PairCase::kAsIs, InstrumentKind::kUnknown, 0);
    if (market != nullptr && symbol.size() <= sizeof last_symbol_) {
      std::memcpy(last_symbol_, symbol.data(), symbol.size());
      last_symbol_size_ = symbol.size();
      last_market_ = market;
    }
    return market;
  }

  // The trades of one match share a timestamp, and a frame carries one
  // match: the last timestamp string and its value are kept, so that most
  // trades compare 24 bytes instead of parsing a date.
  bool exchange_time(std::string_view text, std::int64_t& ns) noexcept {
    if (text.size() == last_time_size_ && text.size() <= sizeof last_time_ &&
        std::memcmp(text.data(), last_time_, text.size()) == 0) {
      ns = last_time_ns_;
      return true;
    }
    if (!parse_iso8601_ns(text, ns) || !plausible_exchange_ns(ns)) return false;
    if (text.size() <= sizeof last_time_) {
      std::memcpy(last_time_, text.data(), text.size());
      last_time_size_ = text.size();
      last_time_ns_ = ns;
    }
    return true;
  }

  char last_time_[32] = {};
  std::size_t last_time_size_ = 0;
  std::int64_t last_time_ns_ = 0;
  char last_symbol_[32] = {};
  std::size_t last_symbol_size_ = 0;
  const ResolvedMarket* last_market_ = nullptr;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitmex_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                   ParserOptions options) {
  return std::make_unique<BitmexParser>(registry, options);
}

}  // namespace tickflow
