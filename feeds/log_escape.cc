#include "feeds/log_escape.h"

namespace tickflow {
namespace {

void hex_byte(std::string& out, unsigned char b) {
  constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

bool continuation(unsigned char b) noexcept { return (b & 0xc0) == 0x80; }

// Length of the valid UTF-8 sequence starting at text[i], 0 if none
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = at(i);
  const std::size_t left = text.size() - i;
  if (b >= 0xc2 && b <= 0xdf) return left >= 2 && continuation(at(i + 1)) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    if (left < 3 || !continuation(at(i + 1)) || !continuation(at(i + 2))) return 0;
    if (b == 0xe0 && at(i + 1) < 0xa0) return 0;  // overlong
    if (b == 0xed && at(i + 1) > 0x9f) return 0;  // surrogate
    return 3;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    if (left < 4 || !continuation(at(i + 1)) || !continuation(at(i + 2)) || !continuation(at(i + 3))) return 0;
    if (b == 0xf0 && at(i + 1) < 0x90) return 0;  // overlong
    if (b == 0xf4 && at(i + 1) > 0x8f) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void append_log_escaped(std::string& out, std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  out.reserve(out.size() + text.size() + (cut ? 3 : 0));
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    if (b == '\n' || b == '\r' || b == '\t') {
      out += b == '\n' ? "\\n" : b == '\r' ? "\\r" : "\\t";
      ++i;
      continue;
    }
    const std::size_t n = b < 0x80 ? 0 : utf8_length(text, i);
    const auto second = n >= 2 ? static_cast<unsigned char>(text[i + 1]) : 0;
    const auto third = n >= 3 ? static_cast<unsigned char>(text[i + 2]) : 0;
    const bool c1 = n == 2 && b == 0xc2 && second <= 0x9f;                                             // U+0080..U+009F
    const bool separator = n == 3 && b == 0xe2 && second == 0x80 && (third == 0xa8 || third == 0xa9);  // U+2028/9
    if (n == 0 || c1 || separator) {
      // A control, or not UTF-8: the bytes in hex (one, or the whole character).
      for (std::size_t k = 0; k < (n == 0 ? 1 : n); ++k) hex_byte(out, static_cast<unsigned char>(text[i + k]));
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(text.data() + i, n);
    i += n;
  }
  if (cut) out += "...";
}

}  // namespace tickflow
