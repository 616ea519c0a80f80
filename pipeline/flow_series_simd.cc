// pipeline/flow_series_simd.cc
//
// The SIMD FlowSeries: every statistic of every group, the groups as the
// lanes of std::experimental::native_simd<double> (4 groups with AVX2, 8
// with AVX-512), stored blocked by vectors of groups (see State below).
// Every window is a ring of rows, a row holding one value per group, so an
// update reads the leaving row and writes the new one as whole vectors: no
// gather, no per-group branch. The window
// lengths are the same for every group and every group is updated at every
// interval, so "is the window full yet" and the row indices are scalars
// shared by all lanes.
//
// Bit-for-bit agreement with flow_series_scalar.cc: the same formulas in
// the same order (adds before subtracts in every sliding sum, the re-sum of
// the mean/std baselines after every stats_window-th commit, oldest row
// first), sqrt and division are correctly rounded in both, and every
// product that feeds a sum goes through rounded_product() so that FP
// contraction cannot fuse it in one copy and not the other. The one
// difference is the log of a price ratio: pipeline/vector_log.h here,
// glibc's std::log there (lane by lane it cost 13% of a step, in calls and
// a store-forwarding stall; in the scalar code glibc's is the faster, and
// the honest baseline). They differ by at most 1 ulp, so realized_vol
// agrees to ~1e-15 relative; every other field, bit for bit.
// GCC 12 warns "may be used uninitialized" about the _mm512_undefined_pd()
// inside its own _mm512_sqrt_pd once stdx::sqrt is inlined (-march=native
// on an AVX-512 host), a false positive that -Werror turns into a failed
// build. The pragma covers only the compiler's headers: a warning is
// judged by the diagnostic state at its location.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <experimental/simd>
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "pipeline/compensated_sum.h"
#include "pipeline/flow_series.h"
#include "pipeline/rolling_window.h"
#include "pipeline/vector_log.h"

namespace tickflow {
namespace {

namespace stdx = std::experimental;
using V = stdx::native_simd<double>;
constexpr std::size_t kW = V::size();
static_assert(kFlowLanePadding % kW == 0, "lanes are padded to a multiple of the widest vector");
constexpr std::size_t kAlign = 64;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The vector form of rounded_product() (see compensated_sum.h): the
// product is passed through an empty asm as the native register type.
#if defined(__AVX512F__)
using NativeRegister = __m512d;
#define TICKFLOW_SIMD_REGISTER "+v"
#elif defined(__AVX__)
using NativeRegister = __m256d;
#define TICKFLOW_SIMD_REGISTER "+x"
#else
using NativeRegister = __m128d;
#define TICKFLOW_SIMD_REGISTER "+x"
#endif
static_assert(sizeof(NativeRegister) == sizeof(double) * kW, "native_simd<double> is one register");

[[gnu::always_inline]] inline V rounded_product(V a, V b) noexcept {
  auto raw = static_cast<NativeRegister>(a * b);
  asm("" : TICKFLOW_SIMD_REGISTER(raw));
  return V(raw);
}
#undef TICKFLOW_SIMD_REGISTER

// log_positive() for a vector: the same reduction as the scalar one in
// pipeline/vector_log.h (exponent k and mantissa m from the bits), with
// GCC vector extensions for the integer part.
[[gnu::always_inline]] inline V log_positive(V x) noexcept {
  using Bits = std::int64_t __attribute__((vector_size(sizeof(NativeRegister))));
  using Doubles = double __attribute__((vector_size(sizeof(NativeRegister))));
  const Bits bits = (Bits) static_cast<NativeRegister>(x);
  // The exponent field as a double, exactly: the bits of 2^52 + e, minus 2^52.
  const Doubles exponent = (Doubles)((bits >> 52) | 0x4330'0000'0000'0000ll) - 0x1p52;
  const Doubles mantissa = (Doubles)((bits & static_cast<std::int64_t>(log_detail::kMantissa)) |
                                     static_cast<std::int64_t>(log_detail::kOneExponent));
  return log_detail::log_of_reduced(V(static_cast<NativeRegister>(mantissa)),
                                    V(static_cast<NativeRegister>(exponent)) - V(1023.0),
                                    [](V a, V b) { return rounded_product(a, b); });
}

inline V load(const double* p) noexcept { return V(p, stdx::vector_aligned); }
// FlowIntervalInput arrays belong to the caller: no alignment promised.
inline V load_input(const double* p) noexcept { return V(p, stdx::element_aligned); }
inline void store(V v, double* p) noexcept { v.copy_to(p, stdx::vector_aligned); }

struct AlignedFree {
  void operator()(double* p) const noexcept { std::free(p); }
};
using AlignedBlock = std::unique_ptr<double[], AlignedFree>;

AlignedBlock allocate_zeroed(std::size_t doubles) {
  const std::size_t bytes = (doubles * sizeof(double) + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes == 0 ? kAlign : bytes);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return AlignedBlock(static_cast<double*>(p));
}

// The layout is blocked by vectors of groups ("chunks" of kW lanes):
// everything one chunk's update reads or writes sits in a few contiguous
// blocks at fixed offsets, so the loop needs one base pointer per block,
// not one per field. (Field-major arrays, one per state field and output,
// cost a quarter of the loop's instructions in address arithmetic and
// register spills: 940 instructions per chunk against 710 now, by callgrind.)
//
//   state_   [chunk][State][kW]      sums, compensations, shifts, EMA, price
//   out_     [chunk][Out][kW]        the snapshots
//   long_    [row][chunk][2][kW]     ds, df: rows of the CVD window and baselines
//   short_   [row][chunk][4][kW]     D, volume, qty, r^2: rows of the other windows
enum State : std::size_t {
  kCsSum,
  kCsComp,
  kCfSum,
  kCfComp,
  kStatsBase,  // 4 baselines x 5 StatsFields, in the order of Series
  kEma = kStatsBase + 4 * 5,
  kPrice,
  kVwapNotionalSum,
  kVwapNotionalComp,
  kVwapQtySum,
  kVwapQtyComp,
  kVolSum,
  kVolComp,
  kSurgeShortSum,
  kSurgeShortComp,
  kSurgeLongSum,
  kSurgeLongComp,
  kStateCount
};
enum StatsField : std::size_t { kShift, kS1Sum, kS1Comp, kS2Sum, kS2Comp };
enum Series : std::size_t { kSeriesDs, kSeriesDf, kSeriesD, kSeriesAbsD };

enum Out : std::size_t {
  kOutDs,
  kOutDf,
  kOutCs,
  kOutCf,
  kOutD,
  kOutVolume,
  kOutClose,
  kOutStatsBase,  // 4 series x (mean, std, z)
  kOutEma = kOutStatsBase + 4 * 3,
  kOutVwap,
  kOutVol,
  kOutSurge,
  kOutCount
};

enum LongRing : std::size_t { kLongDs, kLongDf, kLongCount };
enum ShortRing : std::size_t { kShortD, kShortVolume, kShortQty, kShortR2, kShortCount };

// Offsets (in doubles) of a field inside its chunk's block.
constexpr std::size_t at(std::size_t field) noexcept { return field * kW; }

class SimdFlowSeries final : public FlowSeries {
 public:
  SimdFlowSeries(std::size_t groups, std::uint32_t timeframe_s, const FlowSeriesConfig& config)
      : FlowSeries(groups, timeframe_s),
        config_(config),
        chunks_((groups + kFlowLanePadding - 1) / kFlowLanePadding * kFlowLanePadding / kW),
        alpha_(Ema::alpha_for_span(config.ema_span)) {
    config.validate();
    const bool rolling = config.cvd_mode == CvdMode::kRolling;
    long_capacity_ = std::max<std::size_t>(rolling ? config.cvd_window : 0, config.stats_window);
    short_capacity_ = std::max({config.stats_window, config.vwap_window, config.vol_window, config.surge_long});
    state_ = allocate_zeroed(chunks_ * kStateCount * kW);
    out_ = allocate_zeroed(chunks_ * kOutCount * kW);
    long_ = allocate_zeroed(long_capacity_ * chunks_ * kLongCount * kW);
    short_ = allocate_zeroed(short_capacity_ * chunks_ * kShortCount * kW);
    for (std::size_t c = 0; c < chunks_; ++c) {
      std::fill_n(state_.get() + c * kStateCount * kW + at(kEma), kW, kNaN);
      std::fill_n(state_.get() + c * kStateCount * kW + at(kPrice), kW, kNaN);
      std::fill_n(out_.get() + c * kOutCount * kW + at(kOutClose), kW, kNaN);
    }
  }

  void update(const FlowIntervalInput& in, std::int64_t open_time_s, bool commit) noexcept override {
    if (commit) {
      run<true>(in, open_time_s);
    } else {
      run<false>(in, open_time_s);
    }
  }

  FlowSnapshot snapshot(std::size_t g) const noexcept override {
    FlowSnapshot s;
    s.timeframe_s = timeframe_s_;
    s.open_time_s = open_time_s_;
    s.provisional = provisional_;
    s.bars = snapshot_bars_;
    const double* block = out_.get() + (g / kW) * kOutCount * kW + g % kW;
    auto o = [&](std::size_t field) { return block[at(field)]; };
    s.ds = o(kOutDs);
    s.df = o(kOutDf);
    s.cvd_spot = o(kOutCs);
    s.cvd_perp = o(kOutCf);
    s.divergence = o(kOutD);
    s.volume = o(kOutVolume);
    s.close = o(kOutClose);
    double* const fields[4][3] = {{&s.ds_mean, &s.ds_std, &s.ds_z},
                                  {&s.df_mean, &s.df_std, &s.df_z},
                                  {&s.d_mean, &s.d_std, &s.d_z},
                                  {&s.absd_mean, &s.absd_std, &s.absd_z}};
    for (std::size_t series = 0; series < 4; ++series)
      for (std::size_t k = 0; k < 3; ++k) *fields[series][k] = o(kOutStatsBase + series * 3 + k);
    s.ema = o(kOutEma);
    s.vwap = o(kOutVwap);
    s.realized_vol = o(kOutVol);
    s.volume_surge = o(kOutSurge);
    return s;
  }

 private:
  // Row of interval number `index` (0 = the first committed interval).
  double* long_row(std::uint64_t index) noexcept {
    return long_.get() + static_cast<std::size_t>(index % long_capacity_) * chunks_ * kLongCount * kW;
  }
  double* short_row(std::uint64_t index) noexcept {
    return short_.get() + static_cast<std::size_t>(index % short_capacity_) * chunks_ * kShortCount * kW;
  }
  // The row leaving a `window`-interval window when interval `c` enters
  // it, or nullptr while the window is not full.
  const double* long_leaving(std::uint64_t c, std::uint64_t window) noexcept {
    return c >= window ? long_row(c - window) : nullptr;
  }
  const double* short_leaving(std::uint64_t c, std::uint64_t window) noexcept {
    return c >= window ? short_row(c - window) : nullptr;
  }

  // The baseline of one series (mean, std, z of x against the window
  // before x), then, when committing, x enters the window: the same steps
  // as RollingStats. `st` is the chunk's state block, `leaving` the value
  // leaving the window (valid only if has_leaving).
  // What every chunk's baselines share: the window's size before the new
  // interval and its reciprocals (computed once per update, not per chunk).
  struct BaselineCount {
    std::size_t n;
    double inv_n;        // 1 / n
    double inv_n_minus;  // 1 / (n - 1)
  };

  template <bool kCommit>
  [[gnu::always_inline]] static void baseline_step(double* st, double* out, Series series, V x, V leaving,
                                                   bool has_leaving, const BaselineCount& count, bool first) noexcept {
    double* b = st + at(kStatsBase + series * 5);
    double* o = out + at(kOutStatsBase + series * 3);
    const V shift = load(b + at(kShift));
    CompensatedSum<V> s1{load(b + at(kS1Sum)), load(b + at(kS1Comp))};
    CompensatedSum<V> s2{load(b + at(kS2Sum)), load(b + at(kS2Comp))};
    V mean(kNaN), std(kNaN);
    if (count.n > 0) {
      const V v1 = s1.value();
      mean = shift + rounded_product(v1, V(count.inv_n));
      if (count.n >= 2) {
        V var = (s2.value() - rounded_product(rounded_product(v1, v1), V(count.inv_n))) * count.inv_n_minus;
        stdx::where(var < 0.0, var) = 0.0;
        std = stdx::sqrt(var);
      }
    }
    store(mean, o);
    store(std, o + at(1));
    store((x - mean) / std, o + at(2));
    if constexpr (kCommit) {
      const V k = first ? x : shift;
      const V y = x - k;
      s1.add(y);
      s2.add(rounded_product(y, y));
      if (has_leaving) {
        const V yo = leaving - k;
        s1.add(-yo);
        s2.add(-rounded_product(yo, yo));
      }
      store(k, b + at(kShift));
      store(s1.sum, b + at(kS1Sum));
      store(s1.comp, b + at(kS1Comp));
      store(s2.sum, b + at(kS2Sum));
      store(s2.comp, b + at(kS2Comp));
    }
  }

  // A sliding sum held at st[field], st[field + 1]: the new value enters,
  // then the leaving one (if any) is subtracted; stored when committing.
  template <bool kCommit>
  [[gnu::always_inline]] static V slide(double* st, std::size_t field, V x, const double* leaving) noexcept {
    CompensatedSum<V> s{load(st + at(field)), load(st + at(field + 1))};
    s.add(x);
    if (leaving != nullptr) s.add(-load(leaving));
    if constexpr (kCommit) {
      store(s.sum, st + at(field));
      store(s.comp, st + at(field + 1));
    }
    return s.value();
  }

  template <bool kCommit>
  void run(const FlowIntervalInput& in, std::int64_t open_time_s) noexcept {
    const std::uint64_t c = bars_;  // intervals committed before this one
    const bool rolling = config_.cvd_mode == CvdMode::kRolling;
    const bool counts = rolling || open_time_s >= config_.cvd_anchor_s;
    const bool first = c == 0;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c, config_.stats_window));
    const BaselineCount count{n, 1.0 / static_cast<double>(n), 1.0 / (static_cast<double>(n) - 1.0)};
    const double n_long = static_cast<double>(std::min<std::uint64_t>(c + 1, config_.surge_long));
    const double n_short = static_cast<double>(std::min<std::uint64_t>(c + 1, config_.surge_short));
    const double surge_scale = n_long / n_short;

    // Rows leaving each window (read before the new row is written: a
    // window as long as its ring reads and writes the same row).
    const double* const cvd_leaving = rolling ? long_leaving(c, config_.cvd_window) : nullptr;
    const double* const stats_long_leaving = long_leaving(c, config_.stats_window);
    const double* const stats_short_leaving = short_leaving(c, config_.stats_window);
    const double* const vwap_leaving = short_leaving(c, config_.vwap_window);
    const double* const r2_leaving = short_leaving(c, config_.vol_window);
    const double* const surge_short_leaving = short_leaving(c, config_.surge_short);
    const double* const surge_long_leaving = short_leaving(c, config_.surge_long);
    double* const long_head = long_row(c);
    double* const short_head = short_row(c);
    const bool has_stats_leaving = stats_long_leaving != nullptr;
    const V alpha(alpha_);
    auto offset = [](const double* row, std::size_t block) { return row == nullptr ? nullptr : row + block; };

    for (std::size_t chunk = 0; chunk < chunks_; ++chunk) {
      const std::size_t g = chunk * kW;
      double* const st = state_.get() + chunk * kStateCount * kW;
      double* const out = out_.get() + chunk * kOutCount * kW;
      const std::size_t lb = chunk * kLongCount * kW;
      const std::size_t sb = chunk * kShortCount * kW;

      const V ds = load_input(in.ds + g);
      const V df = load_input(in.df + g);
      const V volume = load_input(in.volume + g);
      const V qty = load_input(in.qty + g);

      // CVDs and divergence.
      V cvd_spot, cvd_perp;
      if (rolling) {
        cvd_spot = slide<kCommit>(st, kCsSum, ds, offset(cvd_leaving, lb + at(kLongDs)));
        cvd_perp = slide<kCommit>(st, kCfSum, df, offset(cvd_leaving, lb + at(kLongDf)));
      } else if (counts) {
        cvd_spot = slide<kCommit>(st, kCsSum, ds, nullptr);
        cvd_perp = slide<kCommit>(st, kCfSum, df, nullptr);
      } else {  // before the anchor: held (not "+ 0", which turns a -0 into +0)
        cvd_spot = load(st + at(kCsSum)) + load(st + at(kCsComp));
        cvd_perp = load(st + at(kCfSum)) + load(st + at(kCfComp));
      }
      const V d = cvd_spot - cvd_perp;
      const V absd = stdx::abs(d);

      V old_ds(0.0), old_df(0.0), old_d(0.0);
      if (has_stats_leaving) {
        old_ds = load(stats_long_leaving + lb + at(kLongDs));
        old_df = load(stats_long_leaving + lb + at(kLongDf));
        old_d = load(stats_short_leaving + sb + at(kShortD));
      }
      baseline_step<kCommit>(st, out, kSeriesDs, ds, old_ds, has_stats_leaving, count, first);
      baseline_step<kCommit>(st, out, kSeriesDf, df, old_df, has_stats_leaving, count, first);
      baseline_step<kCommit>(st, out, kSeriesD, d, old_d, has_stats_leaving, count, first);
      baseline_step<kCommit>(st, out, kSeriesAbsD, absd, stdx::abs(old_d), has_stats_leaving, count, first);

      // Price, carried forward; its EMA and log return.
      const V previous = load(st + at(kPrice));
      V price = load_input(in.price + g);
      stdx::where(!(price > 0.0), price) = previous;
      const V ema_old = load(st + at(kEma));
      V ema = ema_old + rounded_product(alpha, price - ema_old);
      stdx::where(stdx::isnan(ema_old), ema) = price;
      V r = log_positive(price / previous);
      stdx::where(!((previous > 0.0) && (price > 0.0)), r) = 0.0;
      const V r2 = rounded_product(r, r);
      V r2_total = slide<kCommit>(st, kVolSum, r2, offset(r2_leaving, sb + at(kShortR2)));
      stdx::where(r2_total < 0.0, r2_total) = 0.0;

      const V notional_sum = slide<kCommit>(st, kVwapNotionalSum, volume, offset(vwap_leaving, sb + at(kShortVolume)));
      const V qty_sum = slide<kCommit>(st, kVwapQtySum, qty, offset(vwap_leaving, sb + at(kShortQty)));
      const V short_sum =
          slide<kCommit>(st, kSurgeShortSum, volume, offset(surge_short_leaving, sb + at(kShortVolume)));
      const V long_sum = slide<kCommit>(st, kSurgeLongSum, volume, offset(surge_long_leaving, sb + at(kShortVolume)));

      store(ds, out + at(kOutDs));
      store(df, out + at(kOutDf));
      store(cvd_spot, out + at(kOutCs));
      store(cvd_perp, out + at(kOutCf));
      store(d, out + at(kOutD));
      store(volume, out + at(kOutVolume));
      store(price, out + at(kOutClose));
      store(ema, out + at(kOutEma));
      store(notional_sum / qty_sum, out + at(kOutVwap));
      store(stdx::sqrt(r2_total), out + at(kOutVol));
      store(short_sum * surge_scale / long_sum, out + at(kOutSurge));

      if constexpr (kCommit) {
        store(price, st + at(kPrice));
        store(ema, st + at(kEma));
        store(ds, long_head + lb + at(kLongDs));
        store(df, long_head + lb + at(kLongDf));
        store(d, short_head + sb + at(kShortD));
        store(volume, short_head + sb + at(kShortVolume));
        store(qty, short_head + sb + at(kShortQty));
        store(r2, short_head + sb + at(kShortR2));
      }
    }

    open_time_s_ = open_time_s;
    provisional_ = !kCommit;
    snapshot_bars_ = c + (kCommit ? 1 : 0);
    if constexpr (kCommit) {
      ++bars_;
      if (bars_ % config_.stats_window == 0) resum_baselines();
    }
  }

  // RollingStats::resum() for every baseline: the window re-summed, oldest
  // row first, around its newest value.
  void resum_baselines() noexcept {
    const std::uint64_t newest = bars_ - 1;
    const std::uint64_t w = config_.stats_window;
    for (std::size_t chunk = 0; chunk < chunks_; ++chunk) {
      double* const st = state_.get() + chunk * kStateCount * kW;
      const std::size_t lb = chunk * kLongCount * kW;
      const std::size_t sb = chunk * kShortCount * kW;
      for (Series series : {kSeriesDs, kSeriesDf, kSeriesD, kSeriesAbsD}) {
        auto value = [&](std::uint64_t i) {
          switch (series) {
            case kSeriesDs: return load(long_row(i) + lb + at(kLongDs));
            case kSeriesDf: return load(long_row(i) + lb + at(kLongDf));
            case kSeriesD: return load(short_row(i) + sb + at(kShortD));
            case kSeriesAbsD: break;
          }
          return V(stdx::abs(load(short_row(i) + sb + at(kShortD))));
        };
        const V shift = value(newest);
        CompensatedSum<V> s1, s2;
        for (std::uint64_t i = newest + 1 - w; i <= newest; ++i) {
          const V y = value(i) - shift;
          s1.add(y);
          s2.add(rounded_product(y, y));
        }
        double* b = st + at(kStatsBase + series * 5);
        store(shift, b + at(kShift));
        store(s1.sum, b + at(kS1Sum));
        store(s1.comp, b + at(kS1Comp));
        store(s2.sum, b + at(kS2Sum));
        store(s2.comp, b + at(kS2Comp));
      }
    }
  }

  FlowSeriesConfig config_;
  std::size_t chunks_;  // vectors of kW groups, padded to kFlowLanePadding groups
  double alpha_;
  std::size_t long_capacity_ = 0;   // rows of ds and df: the CVD window and the baselines
  std::size_t short_capacity_ = 0;  // rows of every other window
  AlignedBlock state_;
  AlignedBlock out_;
  AlignedBlock long_;
  AlignedBlock short_;
  std::int64_t open_time_s_ = std::numeric_limits<std::int64_t>::min();
  bool provisional_ = false;
  std::uint64_t snapshot_bars_ = 0;
};

}  // namespace

std::unique_ptr<FlowSeries> make_simd_flow_series(std::size_t groups, std::uint32_t timeframe_s,
                                                  const FlowSeriesConfig& config) {
  return std::make_unique<SimdFlowSeries>(groups, timeframe_s, config);
}

}  // namespace tickflow
