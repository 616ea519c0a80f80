// feeds/bitfinex_parser.cc
//
// Bitfinex websocket v2 ("BITFINEX"; wss://api-pub.bitfinex.com/ws/2).
// Frames:
//
//   {"event":"info"|"conf"|"error"|"pong"|...}     control: SkipKind::kControl
//   {"event":"subscribed","channel":"trades","chanId":N,"symbol":"tBTCUSD"}
//                                                  learns chanId -> market
//   {"event":"unsubscribed","chanId":N}            forgets chanId
//   [chanId,"hb"]                                  heartbeat: kControl
//   [chanId,[[ID,MTS,AMOUNT,PRICE],...]]           trade snapshot: kSnapshot
//   [chanId,"te",[ID,MTS,AMOUNT,PRICE]]            a trade
//   [chanId,"tu",[ID,MTS,AMOUNT,PRICE]]            the same trade again: kFiltered
//   [chanId,...] on a book channel                 kBook
//   [chanId,...] on ticker/candles/status/funding  kOtherChannel
//   {"event":"subscribed","channel":"status","chanId":N,"key":"liq:global"}
//                                                  learns the liquidation channel
//   [chanId,[["pos",POS_ID,MTS,null,SYMBOL,AMOUNT,BASE_PRICE,null,IS_MATCH,
//     IS_MARKET_SOLD,null,PRICE_ACQUIRED],...]]    liquidations (below)
//
// Trailing array elements (the sequence number and timestamp that the conf
// flags SEQ_ALL / TIMESTAMP append) are ignored.
//
// Normalization (../shared/docs/exchanges.md):
//  * Side: AMOUNT < 0 is a taker sell, AMOUNT > 0 a taker buy; qty = |AMOUNT|
//    (base units). AMOUNT == 0 is ParseError::kBadValue.
//  * trade_id = ID, exchange_ts_ns = MTS * 1e6.
//  * AMOUNT/PRICE longer than 19 characters bypass simdjson 3.0.1's number
//    parser, which gets some of them wrong: see accurate_number().
//  * Market names: the symbol without its leading 't', as Bitfinex spells it
//    (BITFINEX:BTCUSD). Pairs whose symbol holds a ':' separator
//    ("tTESTBTC:TESTUSD", "tBTCF0:USTF0") drop the colon: BITFINEX:TESTBTCTESTUSD
//    (a market name has exactly one ':'). Symbols containing "F0" are
//    perpetuals, whose amounts are already base units: kLinear, contract
//    size 1. Everything else is spot. Funding symbols ('f' prefix) carry
//    funding trades, not spot trades: their channel counts as kOtherChannel.
//  * Channel ids: a fixed-capacity table (kMaxChannels, reserved up front;
//    Bitfinex allows 25-30 channels per connection) filled by "subscribed"
//    replies. Learning a channel resolves its market then, in a control
//    frame, so the per-frame path only scans the table (last hit first) and
//    never allocates. A "subscribed" reply that finds the table full counts as
//    ParseError::kOverflow; frames on a chanId not in the table count as
//    ParseError::kUnknownMarket. An "info" event carrying "version" starts a
//    new connection: the table is cleared (chanIds are per connection).
//  * Snapshots: on a trades channel the payload form [chanId,[[...],...]] is
//    only ever the snapshot sent on subscribe (live trades come as te/tu),
//    so every such frame is kSnapshot.
//  * Liquidations (status channel, key liq:global: every symbol of the
//    exchange on one channel), as aggr-server (bitfinex.js) reads them:
//      - the channel's first payload after "subscribed" is history: kSnapshot;
//      - only entries "pos" whose IS_MATCH, [10] and PRICE_ACQUIRED are all
//        null/0 count: the initial liquidation trigger. The IS_MATCH = 1
//        entry that follows is the same liquidation executing (counting it
//        too would double it);
//      - market: SYMBOL as for trades (tBTCF0:USTF0 -> BITFINEX:BTCF0USTF0);
//        symbols outside the allowlist are skipped (kUnconfigured);
//      - side: AMOUNT is the position, > 0 long, so a long liquidated is a
//        sell (aggr-server's test is `> 1`, a slip: any long is a sell);
//        qty = |AMOUNT| (base units);
//      - price: the last trade price seen on the market's trades channel on
//        this connection (aggr-server's choice: the feed has no fill price
//        for the trigger), else BASE_PRICE (the position's entry price)
//        when no trade has been seen yet;
//      - trade_id = POS_ID (a liquidated position is liquidated once; ids
//        are not per market, and liquidations skip de-duplication anyway);
//        MTS may carry a fraction of a ms (1574697680828.2002): truncated.
//    A frame whose entries are all filtered is kFiltered (kUnconfigured
//    when every kept entry was on an unconfigured market); bad entries are
//    counted by reason and the good ones of the frame kept.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

enum class ChannelKind : std::uint8_t { kTrades, kBook, kLiquidations, kOther };

struct Channel {
  std::uint64_t chan_id = 0;
  ChannelKind kind = ChannelKind::kOther;
  const ResolvedMarket* market = nullptr;  // trades channels only; stable (node-based map)
  double last_price = 0;                   // trades: the last trade's price (liquidations borrow it)
  bool history_seen = false;               // liquidations: the first payload (history) has passed
};

// JavaScript truthiness of a liquidation entry's flag fields: null, false,
// 0 and "" are false.
bool truthy(ondemand::value& value) noexcept {
  ondemand::json_type type;
  if (value.type().get(type)) return true;  // unreadable: not a plain trigger
  switch (type) {
    case ondemand::json_type::null: return false;
    case ondemand::json_type::boolean: {
      bool b = true;
      return value.get_bool().get(b) != simdjson::SUCCESS || b;
    }
    case ondemand::json_type::number: {
      double d = 1;
      return value.get_double().get(d) != simdjson::SUCCESS || d != 0;
    }
    case ondemand::json_type::string: {
      std::string_view sv;
      return value.get_string().get(sv) != simdjson::SUCCESS || !sv.empty();
    }
    default: return true;
  }
}

class BitfinexParser final : public ExchangeParser {
 public:
  static constexpr std::size_t kMaxChannels = 256;

  BitfinexParser(MarketRegistry& registry, ParserOptions options) : ExchangeParser("BITFINEX", registry, options) {
    channels_.reserve(kMaxChannels);
    pair_.reserve(64);
  }

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto error = thread_json_parser(options_.max_frame_bytes)
                         .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                         .get(doc))
      return fail(to_parse_error(error));
    ondemand::json_type type;
    if (auto error = doc.type().get(type)) return fail(to_parse_error(error));
    if (type == ondemand::json_type::array) {
      ondemand::array array;
      if (auto error = doc.get_array().get(array)) return fail(to_parse_error(error));
      return parse_channel_frame(array, receive_ts_ns, out);
    }
    if (type == ondemand::json_type::object) {
      ondemand::object object;
      if (auto error = doc.get_object().get(object)) return fail(to_parse_error(error));
      return parse_event(object);
    }
    return fail(ParseError::kBadType);
  }

 private:
  Channel* find_channel(std::uint64_t chan_id) noexcept {
    if (last_ < channels_.size() && channels_[last_].chan_id == chan_id) [[likely]]
      return &channels_[last_];
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      if (channels_[i].chan_id == chan_id) {
        last_ = i;
        return &channels_[i];
      }
    }
    return nullptr;
  }

  // [chanId, "hb" | "te" | "tu" | [...], ...]
  ParseOutcome parse_channel_frame(ondemand::array& array, std::int64_t receive_ts_ns, EventBuffer& out) {
    std::size_t index = 0;
    Channel* channel = nullptr;
    bool have_trade = false;
    Trade trade;
    for (auto element : array) {
      ondemand::value value;
      if (auto error = element.get(value)) return fail(to_parse_error(error));
      if (index == 0) {
        std::uint64_t chan_id = 0;
        if (auto error = value.get_uint64().get(chan_id)) return fail(to_parse_error(error));
        channel = find_channel(chan_id);
      } else if (index == 1) {
        ondemand::json_type type;
        if (auto error = value.type().get(type)) return fail(to_parse_error(error));
        if (type == ondemand::json_type::string) {
          std::string_view word;
          if (auto error = value.get_string().get(word)) return fail(to_parse_error(error));
          if (word == "hb") return skip(SkipKind::kControl);  // on any channel, mapped or not
          if (channel == nullptr) return fail(ParseError::kUnknownMarket);
          if (channel->kind == ChannelKind::kBook) return skip(SkipKind::kBook);  // "cs" checksums
          if (channel->kind != ChannelKind::kTrades) return skip(SkipKind::kOtherChannel);
          if (word == "tu") return skip(SkipKind::kFiltered);
          if (word != "te") return fail(ParseError::kUnknownChannel);
        } else if (type == ondemand::json_type::array) {
          if (channel == nullptr) return fail(ParseError::kUnknownMarket);
          if (channel->kind == ChannelKind::kLiquidations) {
            if (!channel->history_seen) {
              channel->history_seen = true;
              return skip(SkipKind::kSnapshot);
            }
            ondemand::array entries;
            if (auto error = value.get_array().get(entries)) return fail(to_parse_error(error));
            return parse_liquidations(entries, receive_ts_ns, out);
          }
          switch (channel->kind) {
            case ChannelKind::kTrades: return skip(SkipKind::kSnapshot);
            case ChannelKind::kBook: return skip(SkipKind::kBook);
            default: return skip(SkipKind::kOtherChannel);
          }
        } else {
          return fail(ParseError::kBadType);
        }
      } else if (index == 2) {  // te: [ID, MTS, AMOUNT, PRICE]
        ondemand::array fields;
        if (auto error = value.get_array().get(fields)) return fail(to_parse_error(error));
        if (auto error = read_trade(fields, trade)) return fail(*error);
        have_trade = true;
      }
      // index > 2: sequence number / timestamp appended by conf flags.
      ++index;
    }
    if (index == 0) return fail(ParseError::kMissingField);
    if (index == 1) {
      if (channel == nullptr) return fail(ParseError::kUnknownMarket);
      return fail(ParseError::kMissingField);
    }
    if (!have_trade) return fail(ParseError::kMissingField);  // "te" without its array
    trade.market = channel->market->id;
    trade.receive_ts_ns = receive_ts_ns;
    channel->last_price = trade.price;
    return emit(trade, out) ? ParseOutcome::kEvents : ParseOutcome::kError;
  }

  // [["pos",POS_ID,MTS,null,SYMBOL,AMOUNT,BASE_PRICE,null,IS_MATCH,IS_MARKET_SOLD,null,PRICE_ACQUIRED],...]
  ParseOutcome parse_liquidations(ondemand::array& entries, std::int64_t receive_ts_ns, EventBuffer& out) {
    std::size_t emitted = 0, bad = 0, unconfigured = 0;
    for (auto element : entries) {
      ondemand::array fields;
      if (auto error = element.get_array().get(fields)) {
        count_error(to_parse_error(error));
        ++bad;
        if (recoverable(error)) continue;
        break;
      }
      Trade trade;
      bool keep = false, structural = false;
      ParseError reason = ParseError::kTruncated;
      if (!read_liquidation(fields, trade, keep, reason, structural)) {
        if (reason == ParseError::kCount) {  // an unconfigured market: skipped, not an error
          ++unconfigured;
          continue;
        }
        count_error(reason);
        ++bad;
        if (structural) break;
        continue;
      }
      if (!keep) continue;
      trade.receive_ts_ns = receive_ts_ns;
      if (!emit(trade, out)) {
        ++bad;
        break;
      }
      ++emitted;
    }
    if (emitted > 0) return ParseOutcome::kEvents;
    if (bad > 0) return ParseOutcome::kError;
    return skip(unconfigured > 0 ? SkipKind::kUnconfigured : SkipKind::kFiltered);
  }

  // One liquidation entry. True with keep = false for entries that are not
  // initial triggers; false with `reason` (kCount: an unconfigured market).
  bool read_liquidation(ondemand::array& fields, Trade& trade, bool& keep, ParseError& reason, bool& structural) {
    std::string_view type, symbol;
    double mts = 0, amount = 0, base_price = 0;
    bool have_symbol = false, flagged = false;
    std::size_t index = 0;
    for (auto element : fields) {
      ondemand::value value;
      if (auto error = element.get(value)) {
        reason = to_parse_error(error);
        structural = true;
        return false;
      }
      simdjson::error_code error = simdjson::SUCCESS;
      switch (index) {
        case 0: error = value.get_string().get(type); break;
        case 1: error = value.get_uint64().get(trade.trade_id); break;
        case 2: error = value.get_double().get(mts); break;
        case 4:
          error = value.get_string().get(symbol);
          have_symbol = true;
          break;
        case 5: error = accurate_number(value, amount); break;
        case 6: error = accurate_number(value, base_price); break;
        case 8:
        case 10:
        case 11: flagged = flagged || truthy(value); break;
        default: break;
      }
      if (error) {
        reason = to_parse_error(error);
        structural = !recoverable(error);
        return false;
      }
      ++index;
    }
    if (index < 7 || !have_symbol) {
      reason = ParseError::kMissingField;
      return false;
    }
    if (type != "pos" || flagged) return true;  // not an initial trigger: keep = false
    reason = ParseError::kBadValue;
    if (!(mts > 0) || mts > 9.2e15 || !ms_to_ns(static_cast<std::int64_t>(mts), trade.exchange_ts_ns)) return false;
    trade.qty = std::fabs(amount);
    if (!valid_qty(trade.qty)) return false;
    if (!symbol.starts_with('t') || symbol.size() > MarketResolver::kMaxSymbol) return false;
    pair_.clear();  // capacity 64, reserved: no allocation
    for (char c : symbol.substr(1)) {
      if (c != ':') pair_.push_back(c);
    }
    const bool perpetual = pair_.find("F0") != std::string::npos;
    const ResolvedMarket* market =
        markets_.resolve(pair_, PairCase::kAsIs, perpetual ? InstrumentKind::kLinear : InstrumentKind::kSpot, 1);
    if (market == nullptr) {
      reason = markets_.last_miss() == ResolveMiss::kUnconfigured ? ParseError::kCount : ParseError::kUnknownMarket;
      return false;
    }
    trade.market = market->id;
    trade.price = base_price;
    for (const Channel& c : channels_) {
      if (c.kind == ChannelKind::kTrades && c.market == market && c.last_price > 0) trade.price = c.last_price;
    }
    if (!valid_price(trade.price)) return false;
    trade.side = amount > 0 ? Side::kSell : Side::kBuy;  // a long position is sold off
    trade.flags = kTradeLiquidation;
    keep = true;
    return true;
  }

  // Fills `trade` (all but market/receive time) or returns the reason it cannot.
  struct MaybeError {
    bool failed = false;
    ParseError error = ParseError::kTruncated;
    explicit operator bool() const noexcept { return failed; }
    ParseError operator*() const noexcept { return error; }
  };
  static MaybeError bad(ParseError e) noexcept { return {true, e}; }

  static MaybeError read_trade(ondemand::array& fields, Trade& trade) noexcept {
    std::size_t index = 0;
    std::int64_t mts = 0;
    double amount = 0;
    for (auto element : fields) {
      ondemand::value value;
      if (auto error = element.get(value)) return bad(to_parse_error(error));
      switch (index) {
        case 0:
          if (auto error = value.get_uint64().get(trade.trade_id)) return bad(to_parse_error(error));
          break;
        case 1:
          if (auto error = value.get_int64().get(mts)) return bad(to_parse_error(error));
          break;
        case 2:
          if (auto error = accurate_number(value, amount)) return bad(to_parse_error(error));
          break;
        case 3:
          if (auto error = accurate_number(value, trade.price)) return bad(to_parse_error(error));
          break;
        default: break;
      }
      ++index;
    }
    if (index < 4) return bad(ParseError::kMissingField);
    if (!ms_to_ns(mts, trade.exchange_ts_ns)) return bad(ParseError::kBadValue);
    trade.qty = std::fabs(amount);
    if (!valid_qty(trade.qty) || !valid_price(trade.price)) return bad(ParseError::kBadValue);
    trade.side = amount < 0 ? Side::kSell : Side::kBuy;
    return {};
  }

  // {"event": ...}: control frames; "subscribed"/"unsubscribed" maintain the
  // channel table. Fields are read in whatever order they come, each once.
  ParseOutcome parse_event(ondemand::object& object) {
    std::string_view event, channel_name, symbol, key_name;
    std::uint64_t chan_id = 0;
    bool have_event = false, have_chan_id = false, have_channel = false, have_symbol = false, have_version = false;
    for (auto field_result : object) {
      ondemand::field field;
      if (auto error = std::move(field_result).get(field)) return fail(to_parse_error(error));
      const auto key = field.key();
      if (key == "event") {
        if (auto error = field.value().get_string().get(event)) return fail(to_parse_error(error));
        have_event = true;
      } else if (key == "channel") {
        if (auto error = field.value().get_string().get(channel_name)) return fail(to_parse_error(error));
        have_channel = true;
      } else if (key == "chanId") {
        if (auto error = field.value().get_uint64().get(chan_id)) return fail(to_parse_error(error));
        have_chan_id = true;
      } else if (key == "symbol") {
        if (auto error = field.value().get_string().get(symbol)) return fail(to_parse_error(error));
        have_symbol = true;
      } else if (key == "key") {
        if (auto error = field.value().get_string().get(key_name)) return fail(to_parse_error(error));
      } else if (key == "version") {
        have_version = true;
      }
      // Other fields (pair, prec, freq, len, msg, code, ...) are skipped.
    }
    if (!have_event) return fail(ParseError::kUnknownChannel);
    if (event == "subscribed") {
      if (!have_chan_id || !have_channel) return fail(ParseError::kMissingField);
      return learn_channel(chan_id, channel_name, have_symbol ? symbol : std::string_view{}, key_name);
    }
    if (event == "unsubscribed") {
      if (!have_chan_id) return fail(ParseError::kMissingField);
      forget_channel(chan_id);
    } else if (event == "info" && have_version) {
      channels_.clear();  // a new connection: channel ids start over
      last_ = 0;
    }
    return skip(SkipKind::kControl);  // info, conf, error, pong, unsubscribed, ...
  }

  void forget_channel(std::uint64_t chan_id) noexcept {
    std::erase_if(channels_, [chan_id](const Channel& c) { return c.chan_id == chan_id; });
    last_ = 0;
  }

  ParseOutcome learn_channel(std::uint64_t chan_id, std::string_view channel_name, std::string_view symbol,
                             std::string_view key) {
    Channel channel;
    channel.chan_id = chan_id;
    if (channel_name == "trades" && symbol.starts_with('t')) {
      channel.kind = ChannelKind::kTrades;
      pair_.clear();
      for (char c : symbol.substr(1)) {
        if (c != ':') pair_.push_back(c);
      }
      const bool perpetual = pair_.find("F0") != std::string::npos;
      channel.market =
          markets_.resolve(pair_, PairCase::kAsIs, perpetual ? InstrumentKind::kLinear : InstrumentKind::kSpot, 1);
      if (channel.market == nullptr) return fail(ParseError::kUnknownMarket);
    } else if (channel_name == "trades" && symbol.starts_with('f')) {
      channel.kind = ChannelKind::kOther;  // funding trades
    } else if (channel_name == "trades") {
      return fail(symbol.empty() ? ParseError::kMissingField : ParseError::kUnknownMarket);
    } else if (channel_name == "book") {
      channel.kind = ChannelKind::kBook;
    } else if (channel_name == "status" && key == "liq:global") {
      channel.kind = ChannelKind::kLiquidations;
    } else {
      channel.kind = ChannelKind::kOther;  // ticker, candles, status
    }
    if (Channel* existing = find_channel(chan_id)) {
      *existing = channel;
      return skip(SkipKind::kControl);
    }
    if (channels_.size() == kMaxChannels) return fail(ParseError::kOverflow);
    channels_.push_back(channel);
    return skip(SkipKind::kControl);
  }

  std::vector<Channel> channels_;  // capacity kMaxChannels, reserved: never reallocates
  std::size_t last_ = 0;           // index of the last channel hit
  std::string pair_;               // scratch for learn_channel (control frames only)
};

}  // namespace

std::unique_ptr<ExchangeParser> make_bitfinex_parser(std::string_view exchange, MarketRegistry& registry,
                                                     ParserOptions options) {
  if (exchange != "BITFINEX") return nullptr;
  return std::make_unique<BitfinexParser>(registry, options);
}

}  // namespace tickflow
