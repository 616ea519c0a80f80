// pipeline/compensated_sum.h
//
// CompensatedSum: a running sum that carries its own rounding error, the
// building block of the rolling windows (pipeline/rolling_window.h) and of
// the flow statistics (pipeline/flow_series.h). A sliding window adds every
// value once and subtracts it again when it leaves; a plain double sum
// keeps the rounding error of both operations forever, and one spike
// (1e7 USD of delta among 1e3-sized bars) wipes out the low digits of
// everything that follows it.
//
// Promises:
//  * add(x) is Knuth's TwoSum: `comp` receives the exact rounding error of
//    each addition, so value() = sum + comp is the exact total up to the
//    rounding of comp itself;
//  * generic over V = double and V = std::experimental::simd<double>: the
//    same IEEE operations in the same order on every lane, so SIMD code and
//    scalar code built on it produce the same bits;
//  * branch-free: TwoSum needs no |a| >= |b| test (Fast2Sum and Neumaier
//    do), so it vectorizes as six adds.
//
// Numerical stability: after N additions (subtractions included) the
// error of value() is at most about eps * |total| + N * eps^2 * sum |x_i|
// (eps = 2^-53). The second term is what makes it fit a sliding window
// that runs for months: at N = 1e9 updates of unit-sized values it is
// still ~1e-14 of one value. A plain sum's error grows as N * eps * max|x|
// instead, and never shrinks after the large values leave.
//
// Requires IEEE evaluation in program order: never compile with
// -ffast-math or -fassociative-math (they delete the error term). Floating
// -point contraction (GCC's default -ffp-contract=fast, even with -std=c++20)
// is harmless inside TwoSum, which has no products, but would fuse a
// product into the add that consumes it, differently in differently
// inlined copies of the same formula. Products that feed a sum therefore go
// through rounded_product(), which hides the product from the optimizer so
// that it is rounded to a double, exactly as written, everywhere.
#pragma once

namespace tickflow {

// a * b rounded to double, never fused into a following add or subtract
// (see the banner). The empty asm costs no instruction: it only makes the
// value opaque, so GCC cannot see that it came from a multiply.
inline double rounded_product(double a, double b) noexcept {
  double p = a * b;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(p));
#endif
  return p;
}

template <class V>
struct CompensatedSum {
  V sum = V(0.0);
  V comp = V(0.0);  // the exact rounding errors of every add so far, summed

  // TwoSum(sum, x): t is the rounded sum; (sum - (t - z)) + (x - z) is its
  // exact error, whatever the magnitudes of sum and x.
  void add(V x) noexcept {
    const V t = sum + x;
    const V z = t - sum;
    comp += (sum - (t - z)) + (x - z);
    sum = t;
  }

  V value() const noexcept { return sum + comp; }
};

}  // namespace tickflow
