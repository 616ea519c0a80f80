// feeds/hyperliquid_parser.cc
//
// Hyperliquid ("HYPERLIQUID"; wss://api.hyperliquid.xyz/ws). Frames:
//
//   {"channel":"trades","data":[{"coin":"BTC","side":"B","px":"97012.0","sz":"0.0153","time":1733500000123,
//     "hash":"0x..","tid":1051390461446383,"users":["0x..","0x.."]},..]}       trades
//   {"channel":"subscriptionResponse","data":{"method":"subscribe",
//     "subscription":{"type":"trades","coin":"BTC"}}}                          SkipKind::kControl
//   {"channel":"pong"}, {"channel":"error","data":".."}                        SkipKind::kControl
//   channels l2Book, bbo                                                       SkipKind::kBook
//   any other channel (allMids, candle, activeAssetCtx, ...)                   SkipKind::kOtherChannel
//
// Snapshots: the first "trades" frame of a coin after its subscription is
// acknowledged carries recent trades (history), in the same shape as live
// ones. A subscriptionResponse for trades arms its coin (a fixed table, no
// heap); the next trades frame whose first trade is that coin's is
// SkipKind::kSnapshot and disarms it. A coin that was never acknowledged on
// this parser (a replay that starts mid-stream) has no snapshot to skip.
//
// Normalization (aggr-server's hyperliquid.js):
//  * Market names: HYPERLIQUID:<coin> as Hyperliquid spells it
//    (HYPERLIQUID:BTC, a perpetual). Perpetual sizes are coins: kLinear,
//    contract size 1. Spot coins ("@107", "PURR/USDC") are kSpot.
//  * Side: `side` is the taker side: "B" buy, "A" sell.
//  * Ids: `tid`, a unique number used as it is, but not a sequence: tids
//    are not ordered in time (BTC fills of 2025-12 carry 1.08e15, of 2026-01
//    9.07e14), so they are flagged kTradeIdHashed: LiveFeed neither
//    de-duplicates them by "not above the last id" nor reads gaps in them;
//    a reconnect is reported as a time gap (feeds/venues/hyperliquid.cc),
//    and the snapshot skip keeps history from being delivered again.
//  * Times: `time`, ms -> exchange_ts_ns.
//  * Liquidations: the public trades feed does not mark them (only the
//    liquidated user's own fill stream does), so none are flagged.
//
// Errors: a frame that is not JSON, not an object, or lacks channel/data is
// counted once by reason. Inside "data", each bad trade is counted by
// reason and skipped, and the good ones of the frame are kept; a structural
// error ends the frame keeping what was emitted. Outcome: kEvents when a
// trade was emitted, else kError (a trades frame with no trades is
// kMissingField).
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "feeds/exchange_parser.h"
#include "feeds/json_support.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

using namespace std::string_view_literals;

constexpr bool is_spot_coin(std::string_view coin) noexcept {
  return coin.starts_with('@') || coin.find('/') != std::string_view::npos;
}

// Coins whose subscription was acknowledged and whose snapshot has not
// arrived yet. Fixed capacity: an acknowledgement that finds it full is not
// armed (its snapshot then passes as live trades, which de-duplication by
// tid absorbs on a reconnect).
class PendingSnapshots {
 public:
  void arm(std::string_view coin) noexcept {
    if (coin.empty() || coin.size() > kMaxCoin || find(coin) >= 0) return;
    for (Entry& e : entries_) {
      if (e.size == 0) {
        std::memcpy(e.coin.data(), coin.data(), coin.size());
        e.size = static_cast<std::uint8_t>(coin.size());
        ++armed_;
        return;
      }
    }
  }
  // True (and disarmed) when `coin` was armed.
  bool take(std::string_view coin) noexcept {
    if (armed_ == 0) return false;
    const int i = find(coin);
    if (i < 0) return false;
    entries_[static_cast<std::size_t>(i)].size = 0;
    --armed_;
    return true;
  }

 private:
  static constexpr std::size_t kMaxCoin = 31;
  static constexpr std::size_t kCapacity = 128;
  struct Entry {
    std::array<char, kMaxCoin> coin{};
    std::uint8_t size = 0;
  };
  int find(std::string_view coin) const noexcept {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      if (e.size == coin.size() && e.size != 0 && std::memcmp(e.coin.data(), coin.data(), coin.size()) == 0)
        return static_cast<int>(i);
    }
    return -1;
  }
  std::array<Entry, kCapacity> entries_{};
  std::size_t armed_ = 0;
};

class HyperliquidParser final : public ExchangeParser {
 public:
  HyperliquidParser(MarketRegistry& registry, ParserOptions options)
      : ExchangeParser("HYPERLIQUID", registry, options) {}

 protected:
  ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) override {
    ondemand::document doc;
    if (auto e = thread_json_parser(options_.max_frame_bytes)
                     .iterate(frame.data(), frame.size(), frame.size() + kFramePadding)
                     .get(doc))
      return fail(to_parse_error(e));
    ondemand::object root;
    if (auto e = doc.get_object().get(root)) return fail(root_error(doc, e));

    std::string_view channel;
    if (auto e = field(root, "channel").get_string().get(channel)) return fail(to_parse_error(e));
    if (channel != "trades"sv) {
      if (channel == "subscriptionResponse"sv) return acknowledged(root);
      if (channel == "pong"sv || channel == "error"sv) return skip(SkipKind::kControl);
      if (channel == "l2Book"sv || channel == "bbo"sv) return skip(SkipKind::kBook);
      return skip(SkipKind::kOtherChannel);
    }

    ondemand::array data;
    if (auto e = field(root, "data").get_array().get(data)) return fail(to_parse_error(e));
    std::size_t events = 0, errors = 0, unconfigured = 0;
    bool first = true;
    for (auto element : data) {
      ondemand::object item;
      if (auto e = element.get_object().get(item)) {
        count_error(to_parse_error(e));
        ++errors;
        if (!recoverable(e)) break;
        continue;
      }
      Trade trade;
      ParseError error{};
      simdjson::error_code json_error = simdjson::SUCCESS;
      std::string_view coin;
      const bool ok = read_trade(item, receive_ts_ns, trade, coin, error, json_error);
      // A snapshot is one frame of one coin: its first trade names it.
      if (first && !coin.empty() && pending_.take(coin)) return skip(SkipKind::kSnapshot);
      first = false;
      if (!ok) {
        if (error == ParseError::kUnknownMarket && markets_.last_miss() == ResolveMiss::kUnconfigured) {
          ++unconfigured;
          continue;
        }
        count_error(error);
        ++errors;
        if (json_error != simdjson::SUCCESS && !recoverable(json_error)) break;
        continue;
      }
      if (!emit(trade, out)) {
        ++errors;
        break;
      }
      ++events;
    }
    if (events > 0) return ParseOutcome::kEvents;
    if (errors > 0) return ParseOutcome::kError;
    if (unconfigured > 0) return skip(SkipKind::kUnconfigured);
    return fail(ParseError::kMissingField);  // no trades at all
  }

 private:
  // {"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":..}}}:
  // arms the coin's snapshot. Always a control frame; its shape is not checked
  // beyond what arming needs.
  ParseOutcome acknowledged(ondemand::object& root) {
    ondemand::object data, subscription;
    std::string_view method, type, coin;
    if (field(root, "data").get_object().get(data) == simdjson::SUCCESS &&
        field(data, "method").get_string().get(method) == simdjson::SUCCESS && method == "subscribe"sv &&
        field(data, "subscription").get_object().get(subscription) == simdjson::SUCCESS &&
        field(subscription, "type").get_string().get(type) == simdjson::SUCCESS && type == "trades"sv &&
        field(subscription, "coin").get_string().get(coin) == simdjson::SUCCESS)
      pending_.arm(coin);
    return skip(SkipKind::kControl);
  }

  // One trade, fields in Hyperliquid's order (coin first, so a snapshot is
  // known before the rest is read). `coin` is set as soon as it is read.
  bool read_trade(ondemand::object& item, std::int64_t receive_ts_ns, Trade& trade, std::string_view& coin,
                  ParseError& error, simdjson::error_code& json_error) {
    std::string_view side_word;
    double price = 0, size = 0;
    std::int64_t ms = 0;
    std::uint64_t tid = 0;
    if (auto e = field(item, "coin").get_string().get(coin)) return json_failed(e, error, json_error);
    if (auto e = field(item, "side").get_string().get(side_word)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "px"), price)) return json_failed(e, error, json_error);
    if (auto e = number_or_string(field(item, "sz"), size)) return json_failed(e, error, json_error);
    if (auto e = int_or_string(field(item, "time"), ms)) return json_failed(e, error, json_error);
    if (auto e = uint_or_string(field(item, "tid"), tid)) return json_failed(e, error, json_error);
    if (side_word == "B"sv) {
      trade.side = Side::kBuy;
    } else if (side_word == "A"sv) {
      trade.side = Side::kSell;
    } else {
      error = ParseError::kBadValue;
      return false;
    }
    if (!valid_price(price) || !valid_qty(size) || !ms_to_ns(ms, trade.exchange_ts_ns)) {
      error = ParseError::kBadValue;
      return false;
    }
    const bool spot = is_spot_coin(coin);
    const ResolvedMarket* market =
        markets_.resolve(coin, PairCase::kAsIs, spot ? InstrumentKind::kSpot : InstrumentKind::kLinear, 1);
    if (market == nullptr) {
      error = ParseError::kUnknownMarket;
      return false;
    }
    trade.receive_ts_ns = receive_ts_ns;
    trade.trade_id = tid;
    trade.price = price;
    trade.qty = size;
    trade.market = market->id;
    trade.flags = kTradeIdHashed;  // unordered ids (see the banner)
    return true;
  }

  PendingSnapshots pending_;
};

}  // namespace

std::unique_ptr<ExchangeParser> make_hyperliquid_parser(std::string_view /*exchange*/, MarketRegistry& registry,
                                                        ParserOptions options) {
  return std::make_unique<HyperliquidParser>(registry, options);
}

}  // namespace tickflow
