// strategy/utc_time.h
//
// UTC timestamps as the strategy's outputs and inputs write them:
// "2024-08-09T00:00:00Z" (ISO-8601, seconds, always Z). Signals, the
// backtest report, its equity chart, the CSV bar source, the InfluxDB bar
// source's errors and `tickflow backtest --from/--to` all use these, so one
// instant is spelled one way everywhere.
//
// Promises: no locale, no time zone database, no libc time functions (a
// proleptic Gregorian calendar in integer arithmetic), so output is the
// same on every host; format_iso8601_utc() never allocates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tickflow {

// "2024-08-09T00:00:00Z" into out[20] (no NUL); years 0000..9999.
void format_iso8601_utc(std::int64_t epoch_s, char* out) noexcept;

// The same, as a string.
std::string iso8601_utc(std::int64_t epoch_s);

// "2024-08-09T00:00:00Z" exactly (20 characters, a real date, 00:00:00 to
// 23:59:59) -> epoch seconds. False for anything else.
bool parse_iso8601_utc(std::string_view text, std::int64_t& out) noexcept;

}  // namespace tickflow
