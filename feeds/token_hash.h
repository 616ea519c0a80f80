// feeds/token_hash.h (internal to feeds/: parsers' .cc files only)
//
// TokenHash: a 64-bit id for trades that carry none (BitMart spot, Bitunix),
// mixed from numbers and from JSON tokens as the venue sent them ("96231.55"
// with its quotes), so that no number is formatted back into text. Tokens
// are taken 8 bytes at a time; the last word is loaded whole and masked to
// the token's bytes, which reads up to 7 bytes past the token's end.
//
// Promise the caller keeps: every token lies in a buffer with readable
// bytes after it (a PaddedFrame, or the frame ExchangeParser::parse() was
// given: kFramePadding follows it). Same input, same id, in every run and
// build (de-duplication across reconnects, replays of recordings). No
// allocation. Not the same function as hash_trade_id() (json_support.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tickflow {

class TokenHash {
 public:
  explicit TokenHash(std::uint64_t seed) noexcept : h_(seed) {}

  TokenHash& add(std::uint64_t word) noexcept {
    h_ = (h_ ^ word) * kMul;
    h_ ^= h_ >> 32;
    return *this;
  }
  // Precondition: at least 7 readable bytes after `token` (see the banner).
  TokenHash& add_token(std::string_view token) noexcept {
    std::size_t n = token.size();
    const char* p = token.data();
    add(n);
    for (; n >= 8; p += 8, n -= 8) add(load(p));
    if (n > 0) add(load(p) & (~std::uint64_t{0} >> (64 - 8 * n)));  // little-endian: the token's n bytes
    return *this;
  }
  // The murmur3 finalizer, so that close inputs spread over all 64 bits.
  std::uint64_t finish() const noexcept {
    std::uint64_t h = h_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
  }

 private:
  static constexpr std::uint64_t kMul = 0xff51afd7ed558ccdull;
  static std::uint64_t load(const char* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  std::uint64_t h_;
};

}  // namespace tickflow
