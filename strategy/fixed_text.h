// strategy/fixed_text.h
//
// FixedText<N>: a string built into an inline array, for the `reasoning`
// every decision carries. Appending never allocates; text beyond N − 1
// bytes is dropped (truncated() says so), the rest stays NUL-terminated.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string_view>

namespace tickflow {

template <std::size_t N>
class FixedText {
 public:
  void clear() noexcept {
    size_ = 0;
    data_[0] = '\0';
    truncated_ = false;
  }
  FixedText& operator<<(std::string_view s) noexcept {
    for (char c : s) {
      if (size_ + 1 >= N) {
        truncated_ = true;
        break;
      }
      data_[size_++] = c;
    }
    data_[size_] = '\0';
    return *this;
  }
  // Fixed notation with `decimals` digits; "nan"/"inf" spelled out.
  FixedText& number(double v, int decimals = 2) noexcept {
    if (std::isnan(v)) return *this << "nan";
    if (std::isinf(v)) return *this << (v > 0 ? "inf" : "-inf");
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed, decimals);
    if (r.ec != std::errc{}) return *this << "?";
    return *this << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
  }
  FixedText& integer(long long v) noexcept {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    return *this << std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
  }

  std::string_view view() const noexcept { return {data_, size_}; }
  const char* c_str() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool truncated() const noexcept { return truncated_; }

 private:
  char data_[N] = {};
  std::size_t size_ = 0;
  bool truncated_ = false;
};

}  // namespace tickflow
