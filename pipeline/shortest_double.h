// pipeline/shortest_double.h
//
// write_shortest(out, v): exactly the bytes of std::to_chars(out, end, v),
// the shortest form that parses back to v (fixed or scientific, whichever is
// shorter, fixed on a tie), but faster for the values bars are made of.
//
// Why: encoding a 1 s bar is twelve of these, and GCC 12's shortest-form
// to_chars costs ~40-50 ns each. Prices sit on a tick (0.01), quantities on
// a lot (1e-5 .. 1e-8), counts are integers, and those have a cheap exact
// form: if k = round(v * 100) and k / 100.0 == v (an exact integer divided
// by 100.0 is correctly rounded, so this is the double "k/100" parses to),
// then the digits of k with a point before the last two, trailing zeros
// dropped, are the shortest round-trip form (likewise with 8 decimals). No shorter string can exist: it would end at a
// coarser decimal position, at least 0.01 away, while v's rounding interval is ~|v| * 2^-53 wide (tiny below 1e13).
// Fixed also beats scientific there: a fraction makes scientific one "e+XX" longer, and whole numbers take the fast
// path only while they have no trailing zeros or at most 5 digits ("100000" is printed "1e+05" by to_chars). Everything
// else goes to std::to_chars.
//
// Promise, checked by tests/unit/pipeline/shortest_double_test.cc over
// millions of values: the output is byte-identical to std::to_chars.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>

namespace tickflow {

namespace shortest_detail {

// v as exactly `decimals` decimals (k / 10^decimals, trailing zeros dropped),
// if that is v's shortest form; nullptr otherwise. See the banner for why.
inline char* try_fixed(char* out, double v, int decimals, double scale, std::uint64_t divisor) noexcept {
  const auto k = static_cast<std::int64_t>(std::llround(v * scale));
  if (static_cast<double>(k) / scale != v) return nullptr;
  std::uint64_t units = static_cast<std::uint64_t>(k < 0 ? -k : k);
  std::uint64_t fraction = units % divisor;
  units /= divisor;
  if (fraction == 0) {
    // A whole number: to_chars prefers "1e+05" over "100000", so only whole
    // numbers without trailing zeros, or of at most 5 digits.
    if (units % 10 == 0 && units >= 100000) return nullptr;
    if (k < 0) *out++ = '-';
    return std::to_chars(out, out + 24, units).ptr;
  }
  if (k < 0) *out++ = '-';
  out = std::to_chars(out, out + 24, units).ptr;
  *out++ = '.';
  int digits = decimals;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --digits;
  }
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  return out + digits;
}

}  // namespace shortest_detail

// `out` must have 24 bytes of room (the longest shortest form,
// "-2.2250738585072014e-308"). Returns the end of what was written.
inline char* write_shortest(char* out, double v) noexcept {
  if (v == 0 && !std::signbit(v)) {  // empty liquidation fields: the most common value of all
    *out = '0';
    return out + 1;
  }
  const double magnitude = std::fabs(v);
  // From 0.001 up, a fixed form with a fraction is never longer than the
  // scientific one (at most two zeros after the point). Below 1e13 (2
  // decimals) and 1e7 (8 decimals) v's rounding interval is narrower than
  // the last decimal, so the form is the only one of its length.
  if (magnitude >= 0.001) {
    if (magnitude < 1e13) {
      if (char* end = shortest_detail::try_fixed(out, v, 2, 1e2, 100)) return end;
    }
    if (magnitude < 1e7) {
      if (char* end = shortest_detail::try_fixed(out, v, 8, 1e8, 100'000'000)) return end;
    }
  }
  return std::to_chars(out, out + 24, v).ptr;
}

}  // namespace tickflow
