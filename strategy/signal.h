// strategy/signal.h
//
// Signal: what SqueezeFlow tells live consumers (spec: "Signals"), and its
// JSON form, the one the sinks write (InfluxDB `signals`, a JSONL file, the
// Redis keys a FreqTrade strategy reads).
//
// signal_id is a name-based UUID (version 5: SHA-1 over the RFC 4122 URL
// namespace and the name "squeezeflow/<SYMBOL>/<epoch seconds>/<ACTION>"),
// so a backtest that replays the same data emits byte-identical signals.
// SHA-1 comes from OpenSSL's libcrypto, which feeds/ links already.
//
// Promises:
//  * Signal is trivially copyable and owns no heap memory, so it can cross
//    the aggregator -> writer ring as-is (it is 384 bytes: larger than a bar,
//    still fixed-size);
//  * strings are NUL-terminated and truncated to their arrays;
//  * encode_json() writes one line without a trailing newline, keys in the
//    spec's order, numbers in their shortest round-trip form (std::to_chars),
//    non-finite numbers as null; it never allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "strategy/utc_time.h"

namespace tickflow {

enum class SignalAction : std::uint8_t { kLong, kShort, kClose };

constexpr std::string_view to_string(SignalAction a) noexcept {
  return a == SignalAction::kLong ? "LONG" : a == SignalAction::kShort ? "SHORT" : "CLOSE";
}

using Uuid = std::array<std::uint8_t, 16>;

struct Signal {
  Uuid signal_id{};
  std::int64_t timestamp_s = 0;  // UTC epoch seconds
  SignalAction action = SignalAction::kLong;
  char symbol[23] = {};       // "BTCUSDT"
  char base_symbol[15] = {};  // "BTC"
  double score = 0;
  double confidence = 0;
  double position_size_factor = 0;
  double leverage = 0;
  double entry_price = 0;
  std::int64_t ttl_s = 600;
  double spot_cvd = 0;
  double perp_cvd = 0;
  double divergence = 0;
  char reasoning[248] = {};
};

static_assert(std::is_trivially_copyable_v<Signal>);
static_assert(sizeof(Signal) <= 384, "keep signals at most six cache lines on the writer ring");

// Copies `text` into a fixed array, truncating, always NUL-terminated.
template <std::size_t N>
void copy_text(char (&dst)[N], std::string_view text) noexcept {
  const std::size_t n = text.size() < N - 1 ? text.size() : N - 1;
  for (std::size_t i = 0; i < n; ++i) dst[i] = text[i];
  dst[n] = '\0';
}

// UUIDv5 of `name` in `name_space` (RFC 4122, section 4.3).
Uuid uuid_v5(const Uuid& name_space, std::string_view name) noexcept;
// The RFC 4122 URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
const Uuid& uuid_namespace_url() noexcept;
// The signal's id: uuid_v5(URL, "squeezeflow/<symbol>/<timestamp_s>/<ACTION>").
Uuid signal_uuid(std::string_view symbol, std::int64_t timestamp_s, SignalAction action) noexcept;
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into out[36] (no NUL).
void format_uuid(const Uuid& id, char* out) noexcept;

// The JSON object into out[0, capacity). Returns the length written, or 0
// if it does not fit (kSignalJsonCapacity always fits).
inline constexpr std::size_t kSignalJsonCapacity = 1024;
std::size_t encode_json(const Signal& s, char* out, std::size_t capacity) noexcept;
// Convenience off the hot path (sinks, tests).
std::string to_json(const Signal& s);

}  // namespace tickflow
