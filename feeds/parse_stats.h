// feeds/parse_stats.h
//
// ParseStats: what a parser did with the frames it was given, by outcome.
// Every frame lands in exactly one bucket: it produced events, it was
// skipped on purpose (by kind), or it was rejected (by reason). Nothing is
// dropped silently, and `tickflow replay` prints these per exchange.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tickflow {

// Frames that are recognised and deliberately not turned into events.
enum class SkipKind : std::uint8_t {
  kControl = 0,   // subscription acks, info/welcome, errors from the venue, pings/pongs, heartbeats
  kBook,          // order book snapshots and deltas
  kOtherChannel,  // tickers, klines, statuses: channels that carry no trades or quotes
  kSnapshot,      // trade snapshots sent on subscribe (already-seen history)
  kFiltered,      // trades the rules exclude (Binance USD-M "X" not MARKET/RPI, Coinbase last_match)
  kUnconfigured,  // trades on a market the connection did not subscribe (live feeds' allowlist)
  kCount
};

// Frames (or trades inside them) that could not be used.
enum class ParseError : std::uint8_t {
  kTruncated = 0,      // not valid JSON: cut short, unclosed, empty, bad UTF-8, garbage
  kBadType,            // a field has the wrong JSON type
  kMissingField,       // a required field is absent
  kBadValue,           // right type, impossible value: price or qty <= 0, NaN, out of range
  kUnknownMarket,      // the frame names no market we can attribute (e.g. unmapped channel id)
  kUnknownChannel,     // a well-formed frame on a channel/topic/type this parser does not know
  kUnknownInstrument,  // a derivative whose contract size is unknown: never guessed
  kOversize,           // larger than the configured maximum frame size: skipped, parser not grown
  kOverflow,           // more events in one frame than the caller's buffer holds
  kDecompress,         // a compressed (HTX gzip) frame that does not inflate
  kCount
};

std::string_view to_string(SkipKind kind) noexcept;
std::string_view to_string(ParseError error) noexcept;

// What parse() says about one frame.
enum class ParseOutcome : std::uint8_t { kEvents, kSkipped, kError };

struct ParseStats {
  std::uint64_t frames = 0;  // every frame given to parse()
  std::uint64_t trades = 0;  // events written (one frame may carry many)
  std::uint64_t liquidations = 0;
  std::uint64_t quotes = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(SkipKind::kCount)> skipped{};
  std::array<std::uint64_t, static_cast<std::size_t>(ParseError::kCount)> errors{};

  std::uint64_t& operator[](SkipKind k) noexcept { return skipped[static_cast<std::size_t>(k)]; }
  std::uint64_t& operator[](ParseError e) noexcept { return errors[static_cast<std::size_t>(e)]; }
  std::uint64_t operator[](SkipKind k) const noexcept { return skipped[static_cast<std::size_t>(k)]; }
  std::uint64_t operator[](ParseError e) const noexcept { return errors[static_cast<std::size_t>(e)]; }
  std::uint64_t total_skipped() const noexcept;
  std::uint64_t total_errors() const noexcept;
  ParseStats& operator+=(const ParseStats& other) noexcept;
};

}  // namespace tickflow
