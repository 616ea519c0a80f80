// pipeline/vector_log.h
//
// log_positive(): the natural logarithm, written once for double and for
// std::experimental::simd<double>, for the SIMD flow statistics' log
// returns (realized volatility). glibc's log is scalar: called lane by
// lane it measured at 13% of a whole statistics step (the calls, plus a
// store-to-load forwarding stall reassembling the vector). The scalar form
// exists to be tested against std::log and to pin the reduction down; the
// scalar flow statistics call glibc, which has the lower latency (21 ns
// against 34 ns here, per dependent call) when there is nothing to overlap
// it with.
//
// Method: x = 2^k * m with m in [sqrt(1/2), sqrt(2)), exactly, from the
// bits of x. Then log m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.1716,
// and atanh(s) / s = sum over n of z^n / (2n + 1), z = s^2 < 0.0295: twelve
// terms leave a truncation error below 2e-20 relative. The sum is arranged
// as f - s (f - R), f = m - 1 exact, so that near x = 1 (a log return) the
// result is f plus a small correction and keeps its relative accuracy.
// Finally log x = k * ln2_hi + (k * ln2_lo + log m), where ln2_hi has 21
// significant bits, so k * ln2_hi is exact for every exponent.
//
// Promises:
//  * within 1 ulp of std::log for positive, normal, finite x (tested over
//    a million arguments, tests/unit/pipeline/vector_log_test.cc), and
//    exactly 0 at x = 1;
//  * log_of_reduced<V>() performs the same IEEE operations for every V,
//    and the scalar and vector reductions give the same m and k, so
//    log_positive(double) is lane i of log_positive(simd) bit for bit;
//  * domain: x > 0, normal, finite (the flow statistics pass ratios of two
//    positive prices). Zero, subnormals, infinities and NaN give
//    unspecified (but deterministic) values: callers mask them.
#pragma once

#include <bit>
#include <cstdint>
#include <type_traits>

#include "pipeline/compensated_sum.h"

namespace tickflow {
namespace log_detail {

inline constexpr double kSqrt2 = 0x1.6a09e667f3bcdp+0;
inline constexpr double kLn2Hi = 0x1.62e42p-1;           // 21 bits: k * kLn2Hi is exact
inline constexpr double kLn2Lo = 0x1.fdf473de6af28p-22;  // ln 2 - kLn2Hi, to 2.3e-23
inline constexpr std::uint64_t kMantissa = 0x000f'ffff'ffff'ffffull;
inline constexpr std::uint64_t kOneExponent = 0x3ff0'0000'0000'0000ull;

// log(2^k * m) for m in [1, 2) and k integer-valued; V is double or
// simd<double>. Every product goes through `mul`, rounded_product() for V
// (see compensated_sum.h), so no copy fuses it into an FMA and the bits do
// not depend on where the compiler inlined this. (A parameter, not a call
// by name: the vector overload lives with the SIMD code, and a template
// only sees the names declared before it.)
// Always inlined: a call passes simd arguments through memory, which cost
// as much as the polynomial.
template <class V, class Mul>
[[gnu::always_inline]] inline V log_of_reduced(V m, V k, Mul mul) noexcept {
  // Fold m into [sqrt(1/2), sqrt(2)): halving is exact.
  const auto big = m > V(kSqrt2);
  V half_m = mul(m, V(0.5));
  V k_plus = k + V(1.0);
  if constexpr (std::is_same_v<V, double>) {
    m = big ? half_m : m;
    k = big ? k_plus : k;
  } else {
    where(big, m) = half_m;
    where(big, k) = k_plus;
  }
  const V f = m - V(1.0);  // exact (Sterbenz)
  const V s = f / (f + V(2.0));
  const V z = mul(s, s);
  // 2 atanh(s) = 2s + s R with R = 2 (z/3 + z^2/5 + ... + z^11/23), and
  // 2s = f - s f, so log m = f - s (f - R): f is exact and the rounding of
  // the correction s (f - R), at most ~f^2/2, hardly reaches the result.
  // R / z = sum of c_j z^j, j = 0..10, c_j = 2 / (2j + 3), by Estrin's
  // scheme: four levels of independent pairs instead of a chain of ten
  // multiply-adds (75 ns of latency per log, against 34 now).
  const V z2 = mul(z, z);
  const V z4 = mul(z2, z2);
  const V z8 = mul(z4, z4);
  auto pair = [&](double c0, double c1) { return V(c0) + mul(V(c1), z); };
  const V a0 = pair(2.0 / 3, 2.0 / 5), a1 = pair(2.0 / 7, 2.0 / 9), a2 = pair(2.0 / 11, 2.0 / 13),
          a3 = pair(2.0 / 15, 2.0 / 17), a4 = pair(2.0 / 19, 2.0 / 21);
  const V b0 = a0 + mul(a1, z2), b1 = a2 + mul(a3, z2), b2 = a4 + mul(V(2.0 / 23), z2);
  const V r = mul(z, (b0 + mul(b1, z4)) + mul(b2, z8));
  const V log_m = f - mul(s, f - r);
  return mul(k, V(kLn2Hi)) + (mul(k, V(kLn2Lo)) + log_m);
}

}  // namespace log_detail

inline double log_positive(double x) noexcept {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
  const double k = static_cast<double>(static_cast<std::int64_t>(bits >> 52)) - 1023.0;
  const double m = std::bit_cast<double>((bits & log_detail::kMantissa) | log_detail::kOneExponent);
  return log_detail::log_of_reduced(m, k, [](double a, double b) { return rounded_product(a, b); });
}

}  // namespace tickflow
