#include "pipeline/timeframe.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace tickflow {

Timeframe::Timeframe(std::uint32_t seconds, std::string_view name) noexcept
    : seconds_(seconds), name_size_(static_cast<std::uint8_t>(std::min(name.size(), sizeof name_))), name_{} {
  std::memcpy(name_, name.data(), name_size_);
}

Timeframe Timeframe::from_seconds(std::uint32_t seconds) {
  if (seconds == 0 || seconds > kMaxSeconds)
    throw std::invalid_argument("bad timeframe of " + std::to_string(seconds) + " s: must be 1 s to 7 d");
  // Canonical name: the largest unit that divides the length exactly.
  std::uint32_t count = seconds;
  char unit = 's';
  if (seconds % 86'400 == 0) {
    count = seconds / 86'400;
    unit = 'd';
  } else if (seconds % 3600 == 0) {
    count = seconds / 3600;
    unit = 'h';
  } else if (seconds % 60 == 0) {
    count = seconds / 60;
    unit = 'm';
  }
  char name[16];
  auto [end, ec] = std::to_chars(name, name + sizeof name - 1, count);
  (void)ec;  // cannot fail: count < 10^7
  *end++ = unit;
  return Timeframe(seconds, std::string_view(name, static_cast<std::size_t>(end - name)));
}

Timeframe parse_timeframe(std::string_view text) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("bad timeframe '" + std::string(text) + "': " + why +
                                 " (expected a count and a unit s, m, h or d, e.g. 1m, 15m, 4h)");
  };
  if (text.size() < 2) throw bad("too short");
  std::uint64_t unit_seconds = 0;
  switch (text.back()) {
    case 's': unit_seconds = 1; break;
    case 'm': unit_seconds = 60; break;
    case 'h': unit_seconds = 3600; break;
    case 'd': unit_seconds = 86'400; break;
    default: throw bad("unknown unit");
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::uint64_t count = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size()) throw bad("the count is not a whole number");
  if (count == 0) throw bad("the count must be positive");
  if (count > Timeframe::kMaxSeconds || count * unit_seconds > Timeframe::kMaxSeconds) throw bad("longer than 7d");
  return Timeframe::from_seconds(static_cast<std::uint32_t>(count * unit_seconds));
}

std::vector<Timeframe> parse_timeframe_list(std::string_view text) {
  std::vector<Timeframe> out;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t comma = text.find(',', begin);
    const std::string_view item = text.substr(begin, comma == std::string_view::npos ? comma : comma - begin);
    if (item.empty()) throw std::invalid_argument("bad timeframe list '" + std::string(text) + "': empty item");
    const Timeframe tf = parse_timeframe(item);
    if (std::find(out.begin(), out.end(), tf) != out.end())
      throw std::invalid_argument("bad timeframe list '" + std::string(text) + "': '" + std::string(item) +
                                  "' repeats " + std::string(tf.name()));
    out.push_back(tf);
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return out;
}

const std::vector<Timeframe>& default_rollup_timeframes() {
  static const std::vector<Timeframe> timeframes = parse_timeframe_list("1m,5m,15m,30m,1h,4h");
  return timeframes;
}

std::string to_string(const std::vector<Timeframe>& timeframes) {
  std::string out;
  for (const Timeframe& tf : timeframes) {
    if (!out.empty()) out += ',';
    out += tf.name();
  }
  return out;
}

std::string retention_policy_name(std::uint32_t timeframe_s) {
  return "aggr_" + std::string(Timeframe::from_seconds(timeframe_s).name());
}

}  // namespace tickflow
