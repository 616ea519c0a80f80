// strategy/utc_time.cc
#include "strategy/utc_time.h"

#include <charconv>
#include <chrono>

namespace tickflow {
namespace {

bool parse_digits(std::string_view text, std::int64_t& out) noexcept {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && !text.empty();
}

}  // namespace

void format_iso8601_utc(std::int64_t epoch_s, char* out) noexcept {
  // Days to a proleptic Gregorian date, in 400-year eras (H. Hinnant's
  // civil_from_days): exact for every int64 day count we can meet.
  std::int64_t days = epoch_s >= 0 ? epoch_s / 86400 : (epoch_s - 86399) / 86400;
  std::int64_t secs = epoch_s - days * 86400;
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t year = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
  const auto two = [](char* p, std::int64_t v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  const std::int64_t y = year < 0 ? 0 : year > 9999 ? 9999 : year;
  two(out, y / 100);
  two(out + 2, y % 100);
  out[4] = '-';
  two(out + 5, month);
  out[7] = '-';
  two(out + 8, day);
  out[10] = 'T';
  two(out + 11, secs / 3600);
  out[13] = ':';
  two(out + 14, secs / 60 % 60);
  out[16] = ':';
  two(out + 17, secs % 60);
  out[19] = 'Z';
}

std::string iso8601_utc(std::int64_t epoch_s) {
  char buf[20];
  format_iso8601_utc(epoch_s, buf);
  return std::string(buf, 20);
}

bool parse_iso8601_utc(std::string_view t, std::int64_t& out) noexcept {
  if (t.size() != 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' || t[19] != 'Z')
    return false;
  std::int64_t y, mo, d, h, mi, s;
  if (!parse_digits(t.substr(0, 4), y) || !parse_digits(t.substr(5, 2), mo) || !parse_digits(t.substr(8, 2), d) ||
      !parse_digits(t.substr(11, 2), h) || !parse_digits(t.substr(14, 2), mi) || !parse_digits(t.substr(17, 2), s))
    return false;
  const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(y)},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return false;
  out = std::chrono::sys_days{ymd}.time_since_epoch().count() * 86'400 + h * 3600 + mi * 60 + s;
  return true;
}

}  // namespace tickflow
