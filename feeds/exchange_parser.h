// feeds/exchange_parser.h
//
// ExchangeParser: one received frame in, normalized Trade/Quote events out,
// written into a caller-provided EventBuffer. One implementation per
// exchange family (binance_parser.cc, bybit_parser.cc, ...), made by
// make_parser() in parser_factory.h. Implementations stay out of headers so
// that only their own .cc files compile simdjson.
//
// Promises the caller keeps:
//  * `frame.data()` is followed by at least kFramePadding readable bytes
//    (PaddedFrame keeps this), so simdjson can read past the end.
//  * One parser is used by one thread at a time.
// Promises the parser keeps:
//  * No heap allocation per frame. The only allocation after construction is
//    the first sight of a market (MarketResolver), once per market.
//  * Every frame lands in exactly one ParseStats bucket; malformed input is
//    counted by reason, never thrown through, never crashes or stalls.
//  * A frame longer than ParserOptions::max_frame_bytes is counted as
//    kOversize and not parsed: it cannot grow the parser.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "feeds/event_buffer.h"
#include "feeds/market_resolver.h"
#include "feeds/padded_frame.h"
#include "feeds/parse_stats.h"
#include "pipeline/market_registry.h"

namespace tickflow {

struct ParserOptions {
  // Frames above this are skipped as kOversize. The per-thread simdjson
  // parser is sized for it once, up front. 4 MiB covers the largest real
  // snapshot frames with room to spare.
  std::size_t max_frame_bytes = std::size_t{4} << 20;
};

class ExchangeParser {
 public:
  // `exchange` is the aggr-server exchange id used in market names.
  ExchangeParser(std::string exchange, MarketRegistry& registry, ParserOptions options);
  virtual ~ExchangeParser() = default;
  ExchangeParser(const ExchangeParser&) = delete;
  ExchangeParser& operator=(const ExchangeParser&) = delete;

  // Appends the frame's events to `out` (it does not clear it).
  ParseOutcome parse(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) {
    ++stats_.frames;
    if (frame.size() > options_.max_frame_bytes) [[unlikely]]
      return fail(ParseError::kOversize);
    return parse_frame(frame, receive_ts_ns, out);
  }

  const ParseStats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = {}; }
  const std::string& exchange() const noexcept { return markets_.exchange(); }
  const ParserOptions& options() const noexcept { return options_; }
  // The market resolver: LiveFeed gives it the connection's allowlist.
  MarketResolver& markets() noexcept { return markets_; }

  // Server keepalive: a frame the venue wants answered (HTX {"ping":N},
  // Crypto.com public/heartbeat, Deribit's test_request) leaves the answer
  // here; LiveFeed sends it as a text message and clears it. Replays ignore
  // it. Empty: nothing to answer. Fixed storage: no allocation.
  std::string_view pending_reply() const noexcept { return {reply_.data(), reply_size_}; }
  void clear_reply() noexcept { reply_size_ = 0; }

  // Sizes the calling thread's simdjson parser for this parser's frames
  // (json_support.h). The constructor does it for the constructing thread;
  // a parser that will run on another thread calls it there first, so that
  // the first frame does not allocate.
  void prepare_thread() const;

 protected:
  // Precondition: frame.size() <= options().max_frame_bytes.
  virtual ParseOutcome parse_frame(std::string_view frame, std::int64_t receive_ts_ns, EventBuffer& out) = 0;

  ParseOutcome skip(SkipKind kind) noexcept {
    ++stats_[kind];
    return ParseOutcome::kSkipped;
  }
  ParseOutcome fail(ParseError error) noexcept {
    ++stats_[error];
    return ParseOutcome::kError;
  }
  // Counts and stores one event. False (counted as kOverflow) when `out` is full.
  [[gnu::always_inline]] bool emit(const Trade& trade, EventBuffer& out) noexcept {
    if (!out.push(trade)) [[unlikely]] {
      ++stats_[ParseError::kOverflow];
      return false;
    }
    ++stats_.trades;
    stats_.liquidations += trade.is_liquidation() ? 1 : 0;
    return true;
  }
  bool emit(const Quote& quote, EventBuffer& out) noexcept {
    if (!out.push(quote)) [[unlikely]] {
      ++stats_[ParseError::kOverflow];
      return false;
    }
    ++stats_.quotes;
    return true;
  }
  // resolve() returned nullptr for a frame's only market: a market outside
  // the allowlist is skipped (kUnconfigured), anything else is an error.
  ParseOutcome market_missed() noexcept {
    return markets_.last_miss() == ResolveMiss::kUnconfigured ? skip(SkipKind::kUnconfigured)
                                                              : fail(ParseError::kUnknownMarket);
  }
  // Keeps `text` as the pending reply (see pending_reply()). False, and
  // nothing kept, when it does not fit kMaxReplyBytes.
  bool set_reply(std::string_view text) noexcept {
    if (text.size() > reply_.size()) return false;
    std::memcpy(reply_.data(), text.data(), text.size());
    reply_size_ = text.size();
    return true;
  }
  static constexpr std::size_t kMaxReplyBytes = 256;

  // Counts one bad trade inside a frame that may carry good ones too; the
  // frame's outcome is decided by the caller.
  void count_error(ParseError error) noexcept { ++stats_[error]; }

  MarketResolver markets_;
  ParserOptions options_;
  ParseStats stats_;

 private:
  std::array<char, kMaxReplyBytes> reply_{};
  std::size_t reply_size_ = 0;
};

}  // namespace tickflow
