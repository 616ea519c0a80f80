// feeds/iso8601.h (internal to feeds/: parsers' .cc files and their tests)
//
// Exchange timestamps that arrive as text, parsed to int64 ns since the Unix
// epoch without allocating, without the C library (no strptime/timegm, no
// locale, no TZ) and without going through a double:
//
//  * parse_iso8601_ns: "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z", UTC only, as Coinbase
//    ("2021-04-17T16:43:37.312313Z", microseconds) and BitMEX
//    ("2021-07-22T22:36:10.014Z", milliseconds) send it. The fraction is
//    taken digit by digit, so microseconds and milliseconds are exact in ns.
//    Calendar fields are checked (month 1-12, day within the month, leap years,
//    hour < 24, minute < 60, second < 60: leap seconds are rejected, as no
//    exchange in scope sends them). Years 1970-2200 (int64 ns ends in 2262).
//  * parse_epoch_seconds_ns: "1618678142.557535" (Kraken spot: seconds since
//    the epoch as a decimal string), digits taken exactly, up to 9 fraction
//    digits, at most 11 integer digits.
//
// Both return false on anything else; callers count that as kBadValue (or
// kBadType for a field that is not a string at all). Range checks (e.g. a
// time between 2000 and 2100) are the caller's, as for ms_to_ns().
#pragma once

#include <cstdint>
#include <string_view>

namespace tickflow {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil). Valid for any year representable here.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr bool is_leap_year(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : kDays[m - 1];
}

namespace iso8601_detail {

// `n` decimal digits at s[pos..pos+n) into `out`; false if any is not a digit.
constexpr bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

// Up to 9 fraction digits starting at s[pos] (pos is just after the '.'),
// scaled to ns. `pos` is advanced past them. False for none or more than 9.
constexpr bool fraction_ns(std::string_view s, std::size_t& pos, std::int64_t& ns) noexcept {
  std::int64_t v = 0;
  std::int64_t scale = 100'000'000;
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (pos - start == 9) return false;
    v += (s[pos] - '0') * scale;
    scale /= 10;
    ++pos;
  }
  if (pos == start) return false;
  ns = v;
  return true;
}

}  // namespace iso8601_detail

constexpr bool parse_iso8601_ns(std::string_view s, std::int64_t& ns) noexcept {
  using iso8601_detail::digits;
  // YYYY-MM-DDTHH:MM:SS is 19 characters, then [.fraction] and 'Z'.
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || !digits(s, 5, 2, month) || !digits(s, 8, 2, day) || !digits(s, 11, 2, hour) ||
      !digits(s, 14, 2, minute) || !digits(s, 17, 2, second))
    return false;
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 59)
    return false;
  std::size_t pos = 19;
  std::int64_t fraction = 0;
  if (s[pos] == '.') {
    ++pos;
    if (!iso8601_detail::fraction_ns(s, pos, fraction)) return false;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return false;
  const std::int64_t days = days_from_civil(year, month, day);
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second;
  ns = seconds * 1'000'000'000 + fraction;
  return true;
}

constexpr bool parse_epoch_seconds_ns(std::string_view s, std::int64_t& ns) noexcept {
  std::size_t pos = 0;
  std::int64_t seconds = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (pos == 11) return false;  // > 11 integer digits: not a time in seconds
    seconds = seconds * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == 0 || seconds > 9'000'000'000) return false;  // past 2255: ns would overflow
  std::int64_t fraction = 0;
  if (pos < s.size()) {
    if (s[pos] != '.') return false;
    ++pos;
    if (!iso8601_detail::fraction_ns(s, pos, fraction) || pos != s.size()) return false;
  }
  ns = seconds * 1'000'000'000 + fraction;
  return true;
}

// Exchange times must fall between 2000-01-01 and 2100-01-01 (as ms_to_ns).
constexpr bool plausible_exchange_ns(std::int64_t ns) noexcept {
  constexpr std::int64_t kMin = 946684800LL * 1'000'000'000;   // 2000-01-01
  constexpr std::int64_t kMax = 4102444800LL * 1'000'000'000;  // 2100-01-01
  return ns >= kMin && ns <= kMax;
}

}  // namespace tickflow
