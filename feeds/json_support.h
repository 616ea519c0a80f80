// feeds/json_support.h (internal to feeds/: parsers' .cc files only)
//
// What every simdjson-based parser shares: the per-thread On-Demand parser,
// the mapping from simdjson errors to ParseError, number fields that arrive
// as JSON strings on some venues and as numbers on others, time units, side
// words, and the 64-bit hash for non-numeric trade ids.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "feeds/market_resolver.h"
#include "feeds/parse_stats.h"
#include "pipeline/events.h"

namespace tickflow {

namespace ondemand = simdjson::ondemand;

// Looks `key` up in `object` wherever it is, in at most one pass over the
// fields. Use it instead of object["key"]: simdjson 3.0.1's unordered lookup,
// when it starts mid-object and misses, wraps around for a second pass that
// it assumes (SIMDJSON_ASSUME, unchecked) sees the structure the first pass
// saw. Malformed input that stage 1 lets through breaks that assumption and
// reaches __builtin_unreachable (undefined behaviour; found by fuzz_okx).
// Here the first search is ordered (forward from the current field, the
// common case when fields are read in the order the venue sends them); only
// on a miss does it rewind and search once from the first field.
[[gnu::always_inline]] inline simdjson::simdjson_result<ondemand::value> field(ondemand::object& object,
                                                                               std::string_view key) noexcept {
  auto found = object.find_field(key);
  if (found.error() != simdjson::NO_SUCH_FIELD) return found;
  if (auto error = object.reset().error()) return error;
  return object.find_field(key);
}

// The calling thread's On-Demand parser, able to take documents of at least
// `max_frame_bytes`. Sized once per thread (the largest size asked for); a
// later call with a smaller size returns it unchanged.
//
// Parsers look it up on every frame, never keep a reference: the runtime
// builds its ExchangeParsers on the main thread and runs them on the feed
// threads, and two feed threads sharing one simdjson parser corrupt each
// other's documents (seen as valid frames rejected as truncated). The
// lookup is a call, a TLS access and a compare (~2 ns, ~1 % of a frame's
// parse); the allocation happens once per thread (LiveFeed::start warms it
// on the feed thread through ExchangeParser::prepare_thread).
ondemand::parser& thread_json_parser(std::size_t max_frame_bytes);

// Errors as values: how a simdjson error is counted.
constexpr ParseError to_parse_error(simdjson::error_code error) noexcept {
  switch (error) {
    case simdjson::INCORRECT_TYPE:
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE: return ParseError::kBadType;
    case simdjson::NO_SUCH_FIELD:
    case simdjson::OUT_OF_BOUNDS:
    case simdjson::INDEX_OUT_OF_BOUNDS: return ParseError::kMissingField;
    default:
      return ParseError::kTruncated;  // TAPE_ERROR, UNCLOSED_STRING, UTF8_ERROR, EMPTY, INCOMPLETE_ARRAY_OR_OBJECT, ...
  }
}

// Why doc.get_object() failed: kBadType for a JSON value of another type
// ([1,2], "pong", 3.14), but garbage that is no JSON value at all ("hello")
// counts as not-JSON (kTruncated).
inline ParseError root_error(ondemand::document& doc, simdjson::error_code error) noexcept {
  ondemand::json_type type;
  if (error == simdjson::INCORRECT_TYPE && doc.type().get(type) != simdjson::SUCCESS) return ParseError::kTruncated;
  return to_parse_error(error);
}

// A number field that some venues send as "63247.5" and others as 63247.5.
//
// Guards against simdjson 3.0.1 mis-parsing long decimals whose integer part
// is 0: "0.95000000000000000000" reads as 0.0277 (simdjson issue #2093,
// fixed upstream after 3.6). HTX swap `quantity` fields carry such numbers.
// A token longer than 19 characters (the only ones that can hold 20+ digits)
// is parsed with std::from_chars instead (libstdc++ 12: exact, no allocation);
// shorter ones, every price and size seen in practice, take simdjson's path.
inline simdjson::error_code number_or_string(ondemand::value value, double& out) noexcept {
  // The raw token tells both the type (a quote or not) and the length,
  // without asking simdjson for the type separately.
  std::string_view token = value.raw_json_token();
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  if (token.empty()) return simdjson::INCORRECT_TYPE;
  const bool is_string = token.front() == '"';
  if (!is_string && token.front() != '-' && (token.front() < '0' || token.front() > '9'))
    return simdjson::INCORRECT_TYPE;
  if (token.size() > 19) [[unlikely]] {
    if (is_string && token.size() >= 2) token = token.substr(1, token.size() - 2);
    if (token.find('\\') == std::string_view::npos) {
      const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
      if (ec != std::errc{} || end != token.data() + token.size()) return simdjson::NUMBER_ERROR;
      return simdjson::SUCCESS;  // the value is left unread: the iterator skips it
    }
  }
  return is_string ? value.get_double_in_string().get(out) : value.get_double().get(out);
}
inline simdjson::error_code number_or_string(simdjson::simdjson_result<ondemand::value> field, double& out) noexcept {
  ondemand::value value;
  if (auto error = std::move(field).get(value)) return error;
  return number_or_string(value, out);
}

// Integer (ids, ms timestamps) as a number or a numeric string.
inline simdjson::error_code uint_or_string(simdjson::simdjson_result<ondemand::value> field,
                                           std::uint64_t& out) noexcept {
  ondemand::value value;
  if (auto error = std::move(field).get(value)) return error;
  ondemand::json_type type;
  if (auto error = value.type().get(type)) return error;
  if (type == ondemand::json_type::string) return value.get_uint64_in_string().get(out);
  if (type == ondemand::json_type::number) return value.get_uint64().get(out);
  return simdjson::INCORRECT_TYPE;
}

// Prices and base quantities must be finite and positive. 1e15 bounds both:
// no real price or size comes near it, and anything above is a corrupt field.
constexpr bool valid_price(double v) noexcept { return v > 0 && v < 1e15; }
constexpr bool valid_qty(double v) noexcept { return v > 0 && v < 1e15; }

// to_base() with the checks every multi-trade parser applies to one trade:
// a contract size that is not known is ParseError::kUnknownInstrument, a
// base quantity out of range is kBadValue.
inline bool to_base_qty(const ResolvedMarket& m, double size, double price, double& qty, ParseError& error) noexcept {
  if (!(m.contract_size > 0) || !m.to_base(size, price, qty)) {
    error = ParseError::kUnknownInstrument;
    return false;
  }
  if (!valid_qty(qty)) {
    error = ParseError::kBadValue;
    return false;
  }
  return true;
}

// Errors after which the document can still be read (the value was not
// consumed, or was read whole): a multi-trade parser counts the bad trade
// and goes on. Anything else ends the frame.
constexpr bool recoverable(simdjson::error_code e) noexcept {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_ERROR || e == simdjson::NUMBER_OUT_OF_RANGE ||
         e == simdjson::NO_SUCH_FIELD;
}

// For per-trade readers that report through out-parameters: records the
// simdjson error and its ParseError, and returns false.
inline bool json_failed(simdjson::error_code e, ParseError& error, simdjson::error_code& json_error) noexcept {
  json_error = e;
  error = to_parse_error(e);
  return false;
}

// Exchange timestamps: ms since epoch -> ns, rejecting values that cannot be
// a time between 2000 and 2100 (a corrupt field, or seconds/us confusion).
constexpr bool ms_to_ns(std::int64_t ms, std::int64_t& ns) noexcept {
  constexpr std::int64_t kMin = 946684800000;   // 2000-01-01
  constexpr std::int64_t kMax = 4102444800000;  // 2100-01-01
  if (ms < kMin || ms > kMax) return false;
  ns = ms * 1'000'000;
  return true;
}

// "buy"/"Buy"/"BUY"/"b" and "sell"/"Sell"/"SELL"/"s", by first letter.
constexpr bool parse_side(std::string_view word, Side& side) noexcept {
  if (word.empty()) return false;
  switch (word[0]) {
    case 'b':
    case 'B': side = Side::kBuy; return true;
    case 's':
    case 'S': side = Side::kSell; return true;
    default: return false;
  }
}
constexpr Side opposite(Side side) noexcept { return side == Side::kBuy ? Side::kSell : Side::kBuy; }

// 64-bit hash of a non-numeric trade id (UUIDs, composite keys): one
// multiply per 8 bytes (little-endian words, the last one zero-padded),
// seeded with the length, then the murmur3 finalizer so that similar ids
// spread over all 64 bits. A byte-at-a-time hash (FNV-1a) is a chain of one
// multiply per byte: ~150 cycles of latency for a 36-byte UUID, which was
// a third of BitMEX's per-frame time. Stable across runs and builds, so
// recorded and replayed ids agree; tests/tools/*_reference.py recompute it.
constexpr std::uint64_t hash_trade_id(std::string_view id) noexcept {
  constexpr std::uint64_t kMul = 0xff51afd7ed558ccdull;
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(id.size()) * kMul);
  for (std::size_t i = 0; i < id.size(); i += 8) {
    std::uint64_t word = 0;
    const std::size_t n = id.size() - i < 8 ? id.size() - i : 8;
    for (std::size_t k = 0; k < n; ++k)
      word |= static_cast<std::uint64_t>(static_cast<unsigned char>(id[i + k])) << (8 * k);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Builds a short "a|b|c" key in a fixed stack buffer (cut at its capacity)
// for hashing id-less events: no heap.
class IdKey {
 public:
  IdKey& add(std::string_view s) noexcept {
    sep();
    const std::size_t n = std::min(s.size(), kCap - size_);
    std::memcpy(buf_ + size_, s.data(), n);
    size_ += n;
    return *this;
  }
  IdKey& add(std::int64_t v) noexcept {
    sep();
    size_ = static_cast<std::size_t>(std::to_chars(buf_ + size_, buf_ + kCap, v).ptr - buf_);
    return *this;
  }
  IdKey& add(double v) noexcept {
    sep();
    size_ = static_cast<std::size_t>(std::to_chars(buf_ + size_, buf_ + kCap, v).ptr - buf_);
    return *this;
  }
  std::uint64_t hash() const noexcept { return hash_trade_id({buf_, size_}); }

 private:
  static constexpr std::size_t kCap = 192;
  void sep() noexcept {
    if (size_ > 0 && size_ < kCap) buf_[size_++] = '|';
  }
  char buf_[kCap];
  std::size_t size_ = 0;
};

// Integer (ms times) as a number or a numeric string; signed, so that a
// negative time is a bad value rather than a type error.
inline simdjson::error_code int_or_string(simdjson::simdjson_result<ondemand::value> field,
                                          std::int64_t& out) noexcept {
  ondemand::value value;
  if (auto error = std::move(field).get(value)) return error;
  ondemand::json_type type;
  if (auto error = value.type().get(type)) return error;
  if (type == ondemand::json_type::string) return value.get_int64_in_string().get(out);
  if (type == ondemand::json_type::number) return value.get_int64().get(out);
  return simdjson::INCORRECT_TYPE;
}

}  // namespace tickflow
