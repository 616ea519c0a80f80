// pipeline/timeframe.h
//
// Timeframe: the length of a bar's window in whole seconds, with the name
// InfluxDB measurements and retention policies use ("1s" -> trades_1s,
// "4h" -> trades_4h). Windows are aligned to UTC epoch boundaries: a 5m bar
// covers [k * 300, (k + 1) * 300) epoch seconds for some integer k, so every
// process that rolls up the same 1 s bars lands on the same windows.
//
// Promises:
//  * seconds() is in [1, kMaxSeconds]; name() is canonical, the largest unit
//    that divides the length ("60s" and "1m" are one timeframe, named "1m"),
//    so a measurement name never depends on how the user spelled it;
//  * window_start() floors towards negative infinity, so alignment holds for
//    times before 1970 too (tests use them; feeds never send them);
//  * parsing throws std::invalid_argument with a message that quotes the bad
//    text: parsing happens at configuration time, never on a hot path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow {

// floor(a / b) for b > 0, also for negative a (C++ division truncates).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  // One conditional subtract instead of a second division for the remainder.
  return (a >= 0 ? a : a - (b - 1)) / b;
}

inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

class Timeframe {
 public:
  static constexpr std::uint32_t kMaxSeconds = 7 * 86'400;  // one week

  Timeframe() noexcept : Timeframe(1, "1s") {}

  // Throws std::invalid_argument when seconds is 0 or above kMaxSeconds.
  static Timeframe from_seconds(std::uint32_t seconds);

  std::uint32_t seconds() const noexcept { return seconds_; }
  std::string_view name() const noexcept { return {name_, name_size_}; }

  // The start of the window holding `epoch_s`, in epoch seconds.
  std::int64_t window_start(std::int64_t epoch_s) const noexcept {
    return floor_div(epoch_s, seconds_) * static_cast<std::int64_t>(seconds_);
  }

  friend bool operator==(const Timeframe& a, const Timeframe& b) noexcept { return a.seconds_ == b.seconds_; }

 private:
  Timeframe(std::uint32_t seconds, std::string_view name) noexcept;

  std::uint32_t seconds_;
  std::uint8_t name_size_;
  char name_[11];  // "604800s" at most, since names use the largest exact unit
};

// "1s", "90s", "1m", "15m", "4h", "1d": a positive integer and one unit
// (s, m, h, d). Throws std::invalid_argument naming `text` otherwise.
Timeframe parse_timeframe(std::string_view text);

// A comma-separated list, "1m,5m,1h". Empty items, duplicates (also "60s"
// next to "1m") and bad items throw std::invalid_argument naming the item.
// The order given is kept.
std::vector<Timeframe> parse_timeframe_list(std::string_view text);

// 1m, 5m, 15m, 30m, 1h, 4h: aggr-server's retention policies above 1s.
const std::vector<Timeframe>& default_rollup_timeframes();

// "1m,5m,15m,30m,1h,4h" for a list (help texts, summaries).
std::string to_string(const std::vector<Timeframe>& timeframes);

// The retention policy bars of this timeframe are written to, aggr-server's
// naming: 1 -> "aggr_1s", 60 -> "aggr_1m". Throws std::invalid_argument as
// Timeframe::from_seconds() does.
std::string retention_policy_name(std::uint32_t timeframe_s);

}  // namespace tickflow
