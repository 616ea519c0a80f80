// feeds/padded_frame.h
//
// PaddedFrame: a reusable receive buffer whose contents are always followed
// by kFramePadding readable bytes, which is what simdjson's On-Demand parser
// requires to read past the end with SIMD loads. Every frame handed to an
// ExchangeParser must live in one of these (or in any buffer keeping the
// same promise). It grows only when a frame exceeds its capacity, which
// ExchangeParser's max_frame_bytes bounds, so steady state never allocates.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace tickflow {

inline constexpr std::size_t kFramePadding = 64;  // == SIMDJSON_PADDING (checked in exchange_parser.cc)

class PaddedFrame {
 public:
  explicit PaddedFrame(std::size_t capacity = 64 * 1024) { reserve(capacity); }

  // Copies `bytes` in; the padding after it is zeroed.
  void assign(std::string_view bytes) {
    resize(bytes.size());
    std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  // Makes room for `n` bytes (contents unspecified) and sets size() to n.
  char* resize(std::size_t n) {
    if (n > capacity_) reserve(n * 2);
    size_ = n;
    std::memset(data_.get() + n, 0, kFramePadding);
    return data_.get();
  }
  char* data() noexcept { return data_.get(); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  void reserve(std::size_t capacity) {
    auto bigger = std::make_unique<char[]>(capacity + kFramePadding);
    if (data_) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tickflow
