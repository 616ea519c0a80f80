// FlowStats and FlowSeries against a scalar reference that lives here and
// recomputes every statistic from the whole interval history each time, on
// real Binance captures (tests/data/binance-20240808: BTC spot, USD-M perp,
// COIN-M perp over the same six minutes), plus the SIMD backend against
// the scalar one bit for bit, the time edge cases and amendments.
//
// The 1 s bars are built here from the raw trade frames with the plainest
// code possible (no parser, no BarBuilder), so that a bug there cannot hide
// a bug in the statistics or the other way round.
#include "pipeline/flow_stats.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/market_registry.h"
#include "pipeline/symbol_groups.h"

namespace tickflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Exact sums of squares of 64-bit integers (GCC's extension, hence the keyword).
__extension__ typedef __int128 Int128;

// --- 1 s bars from raw captures ---------------------------------------------

struct RawTrade {
  std::int64_t t_ms;
  double price;
  double qty;  // base units
  bool taker_sell;
};

std::string read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::string text;
  char chunk[1 << 16];
  int n;
  while ((n = gzread(f, chunk, sizeof chunk)) > 0) text.append(chunk, static_cast<std::size_t>(n));
  gzclose(f);
  return text;
}

// The value after `key` ("\"p\":") up to the next ',' or '}', without quotes.
std::string_view field(std::string_view line, std::string_view key) {
  const auto at = line.find(key);
  if (at == std::string_view::npos) return {};
  std::string_view v = line.substr(at + key.size());
  v = v.substr(0, v.find_first_of(",}"));
  if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
  return v;
}
template <typename T>
T number(std::string_view s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// `contract_usd` > 0: inverse contracts, base qty = q * contract_usd / p.
std::vector<RawTrade> read_trades(const std::string& path, double contract_usd) {
  std::vector<RawTrade> trades;
  const std::string text = read_gz(path);
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    if (line.find("@trade\"") == std::string_view::npos) continue;
    const std::string_view x = field(line, "\"X\":");
    if (!x.empty() && x != "MARKET") continue;
    RawTrade t;
    t.t_ms = number<std::int64_t>(field(line, "\"T\":"));
    t.price = number<double>(field(line, "\"p\":"));
    const double q = number<double>(field(line, "\"q\":"));
    t.qty = contract_usd > 0 ? q * contract_usd / t.price : q;
    t.taker_sell = field(line, "\"m\":") == "true";  // buyer is maker: the taker sold
    trades.push_back(t);
  }
  return trades;
}

// Per-second bars of one market, in aggr-server's fields.
std::vector<Bar> one_second_bars(const std::vector<RawTrade>& trades, MarketId market) {
  std::map<std::int64_t, Bar> bars;
  std::map<std::int64_t, std::int64_t> last_t;
  for (const RawTrade& t : trades) {
    const std::int64_t s = t.t_ms / 1000;
    Bar& b = bars[s];
    const double notional = t.price * t.qty;
    if (b.cbuy + b.csell == 0) {
      b.open_time_s = s;
      b.market = market;
      b.timeframe_s = 1;
      b.open = b.high = b.low = t.price;
    }
    b.high = std::max(b.high, t.price);
    b.low = std::min(b.low, t.price);
    if (t.t_ms >= last_t[s]) b.close = t.price;  // the last by exchange time, then arrival
    last_t[s] = std::max(last_t[s], t.t_ms);
    (t.taker_sell ? b.vsell : b.vbuy) += notional;
    (t.taker_sell ? b.qsell : b.qbuy) += t.qty;
    (t.taker_sell ? b.csell : b.cbuy) += 1;
  }
  std::vector<Bar> out;
  for (auto& [s, b] : bars) out.push_back(b);
  return out;
}

struct Captures {
  MarketRegistry registry;
  MarketId spot, usdm, cm, eth_spot, eth_perp;
  std::vector<RawTrade> spot_trades, usdm_trades, cm_trades;
  std::vector<Bar> bars;  // by (second, market id)
  std::int64_t first_s = 0, last_s = 0;
  bool full = false;  // the whole six minutes, not the 4000-line excerpt
  std::string dir;
  bool ok = false;
};

bool readable(const std::string& path) {
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

// The whole six minutes when available: tests/data's trade-only copy of the
// full captures, else ../shared/data; else the 4000-line excerpts bundled
// in tests/data/binance-20240808.
void load_captures(Captures& c);
const Captures& captures() {
  static const Captures* c = [] {
    auto* loaded = new Captures;  // never freed: a test-process singleton
    load_captures(*loaded);
    return loaded;
  }();
  return *c;
}

void load_captures(Captures& c) {
  {
    c.spot = c.registry.intern("BINANCE:btcusdt");
    c.usdm = c.registry.intern("BINANCE_FUTURES:btcusdt");
    c.cm = c.registry.intern("BINANCE_FUTURES:btcusd_perp");
    c.eth_spot = c.registry.intern("BINANCE:ethusdt");  // no bars: the ETH group stays empty
    c.eth_perp = c.registry.intern("BINANCE_FUTURES:ethusdt");
    const std::pair<std::string, bool> candidates[] = {{TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/", true},
                                                       {TICKFLOW_SHARED_DATA_DIR "/binance-20240808/", true},
                                                       {TICKFLOW_TEST_DATA_DIR "/binance-20240808/", false}};
    for (const auto& [dir, full] : candidates) {
      if (!readable(dir + "spot_btcusdt.gz") || !readable(dir + "usdm_btcusdt.gz") ||
          !readable(dir + "cm_btcusd_perp.gz"))
        continue;
      c.dir = dir;
      c.full = full;
      break;
    }
    if (c.dir.empty()) return;
    c.spot_trades = read_trades(c.dir + "spot_btcusdt.gz", 0);
    c.usdm_trades = read_trades(c.dir + "usdm_btcusdt.gz", 0);
    c.cm_trades = read_trades(c.dir + "cm_btcusd_perp.gz", 100);
    for (auto [trades, market] :
         {std::pair{&c.spot_trades, c.spot}, std::pair{&c.usdm_trades, c.usdm}, std::pair{&c.cm_trades, c.cm}}) {
      const std::vector<Bar> b = one_second_bars(*trades, market);
      c.bars.insert(c.bars.end(), b.begin(), b.end());
    }
    std::sort(c.bars.begin(), c.bars.end(), [](const Bar& a, const Bar& b) {
      return a.open_time_s != b.open_time_s ? a.open_time_s < b.open_time_s : a.market < b.market;
    });
    c.ok = !c.bars.empty();
    if (c.ok) {
      c.first_s = c.bars.front().open_time_s;
      c.last_s = c.bars.back().open_time_s;
    }
  }
}

// --- the reference: every statistic from the whole history, every time ------

struct RefInterval {
  std::int64_t open = 0;
  double ds = 0, df = 0, volume = 0, qty = 0;
  double price = 0;               // the VW close of the interval's last traded second; 0: none
  double ds_abs = 0, df_abs = 0;  // sum of |bar delta|: the scale of ds and df's rounding
};

// Intervals of `tf` seconds covering [first_s, last_s], for group g.
std::vector<RefInterval> reference_intervals(const std::vector<Bar>& bars, const SymbolGroups& groups, GroupId g,
                                             std::uint32_t tf, std::int64_t first_s, std::int64_t last_s) {
  auto floor_div = [](std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const std::int64_t k0 = floor_div(first_s, tf);
  const std::int64_t k1 = floor_div(last_s, tf);
  std::vector<RefInterval> iv(static_cast<std::size_t>(k1 - k0 + 1));
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i].open = (k0 + static_cast<std::int64_t>(i)) * tf;
  std::map<std::int64_t, std::pair<double, double>> second_close;  // second -> (sum close*V, sum V)
  for (const Bar& b : bars) {
    const GroupMembership m = groups.membership(b.market);
    if (m.group != g) continue;
    RefInterval& r = iv[static_cast<std::size_t>(floor_div(b.open_time_s, tf) - k0)];
    const double delta = b.vbuy - b.vsell;
    if (m.side == MarketClass::kSpot) {
      r.ds += delta;
      r.ds_abs += std::fabs(delta);
    } else {
      r.df += delta;
      r.df_abs += std::fabs(delta);
    }
    r.volume += b.vbuy + b.vsell;
    r.qty += b.qbuy + b.qsell;
    auto& [cv, v] = second_close[b.open_time_s];
    cv += b.close * (b.vbuy + b.vsell);
    v += b.vbuy + b.vsell;
  }
  for (const auto& [s, cv_v] : second_close) {  // ascending seconds: the last one wins
    if (cv_v.second > 0) iv[static_cast<std::size_t>(floor_div(s, tf) - k0)].price = cv_v.first / cv_v.second;
  }
  return iv;
}

struct RefStats {
  double cs, cf, d, close, ema, vwap, vol, surge;
  double cs_scale, cf_scale;
  double mean[4], std[4], z[4], scale[4];  // ds, df, d, |d|; scale: the largest magnitude in the baseline
};

RefStats reference_stats(const std::vector<RefInterval>& iv, std::size_t i, const FlowSeriesConfig& c) {
  auto cvd = [&](std::size_t at, bool spot, double* scale) {
    double s = 0, a = 0;
    for (std::size_t j = 0; j <= at; ++j) {
      const bool in = c.cvd_mode == CvdMode::kRolling ? j + c.cvd_window > at : iv[j].open >= c.cvd_anchor_s;
      if (!in) continue;
      s += spot ? iv[j].ds : iv[j].df;
      a += spot ? iv[j].ds_abs : iv[j].df_abs;
    }
    if (scale != nullptr) *scale = a;
    return s;
  };
  auto series = [&](std::size_t k, std::size_t j, double* mag) {
    double sa, fa;
    const double cs = cvd(j, true, &sa), cf = cvd(j, false, &fa);
    switch (k) {
      case 0: *mag = iv[j].ds_abs; return iv[j].ds;
      case 1: *mag = iv[j].df_abs; return iv[j].df;
      case 2: *mag = sa + fa; return cs - cf;
      default: *mag = sa + fa; return std::fabs(cs - cf);
    }
  };
  RefStats r{};
  r.cs = cvd(i, true, &r.cs_scale);
  r.cf = cvd(i, false, &r.cf_scale);
  r.d = r.cs - r.cf;
  for (std::size_t k = 0; k < 4; ++k) {
    const std::size_t from = i >= c.stats_window ? i - c.stats_window : 0;
    std::vector<double> w;
    r.scale[k] = 0;
    for (std::size_t j = from; j < i; ++j) {
      double mag;
      w.push_back(series(k, j, &mag));
      r.scale[k] = std::max({r.scale[k], mag, std::fabs(w.back())});
    }
    double mag_i;
    const double x = series(k, i, &mag_i);
    r.mean[k] = kNaN;
    r.std[k] = kNaN;
    if (!w.empty()) {
      double s = 0;
      for (double v : w) s += v;
      r.mean[k] = s / static_cast<double>(w.size());
    }
    if (w.size() >= 2) {
      double ss = 0;
      for (double v : w) ss += (v - r.mean[k]) * (v - r.mean[k]);
      r.std[k] = std::sqrt(ss / static_cast<double>(w.size() - 1));
    }
    r.z[k] = (x - r.mean[k]) / r.std[k];
    r.scale[k] = std::max(r.scale[k], mag_i);
  }
  // Prices carry; the EMA runs from the first price.
  std::vector<double> p(i + 1);
  for (std::size_t j = 0; j <= i; ++j) p[j] = iv[j].price > 0 ? iv[j].price : (j > 0 ? p[j - 1] : kNaN);
  r.close = p[i];
  const double alpha = 2.0 / (c.ema_span + 1.0);
  r.ema = kNaN;
  for (std::size_t j = 0; j <= i; ++j) r.ema = std::isnan(r.ema) ? p[j] : r.ema + alpha * (p[j] - r.ema);
  double n = 0, q = 0;
  for (std::size_t j = i + 1 > c.vwap_window ? i + 1 - c.vwap_window : 0; j <= i; ++j) {
    n += iv[j].volume;
    q += iv[j].qty;
  }
  r.vwap = n / q;
  double rr = 0;
  for (std::size_t j = i + 1 > c.vol_window ? i + 1 - c.vol_window : 0; j <= i; ++j) {
    const double ret = j > 0 && p[j - 1] > 0 && p[j] > 0 ? std::log(p[j] / p[j - 1]) : 0.0;
    rr += ret * ret;
  }
  r.vol = std::sqrt(rr);
  auto mean_volume = [&](std::size_t window) {
    const std::size_t from = i + 1 > window ? i + 1 - window : 0;
    double s = 0;
    for (std::size_t j = from; j <= i; ++j) s += iv[j].volume;
    return s / static_cast<double>(i + 1 - from);
  };
  r.surge = mean_volume(c.surge_short) / mean_volume(c.surge_long);
  return r;
}

// |a - b| <= rel * max(|b|, scale); NaN must match NaN and inf must match inf.
::testing::AssertionResult close_to(double a, double b, double scale, double rel = 1e-9) {
  if (std::isnan(b) || std::isinf(b)) {
    if ((std::isnan(a) && std::isnan(b)) || a == b) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << a << " vs " << b;
  }
  if (std::fabs(a - b) <= rel * std::max(std::fabs(b), scale)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b << " (scale " << scale << ", rel err "
                                       << std::fabs(a - b) / std::max(std::fabs(b), scale) << ")";
}

// Every field bit for bit (NaN payloads included; not memcmp, which would
// compare padding), except realized_vol: the SIMD backend's log is
// pipeline/vector_log.h's, the scalar one's glibc's, at most 1 ulp apart.
bool same_bits(const FlowSnapshot& a, const FlowSnapshot& b) {
  auto eq = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  const bool vol_close = eq(a.realized_vol, b.realized_vol) ||
                         std::fabs(a.realized_vol - b.realized_vol) <= 1e-14 * std::fabs(b.realized_vol);
  return a.open_time_s == b.open_time_s && a.timeframe_s == b.timeframe_s && a.provisional == b.provisional &&
         a.bars == b.bars && eq(a.ds, b.ds) && eq(a.df, b.df) && eq(a.cvd_spot, b.cvd_spot) &&
         eq(a.cvd_perp, b.cvd_perp) && eq(a.divergence, b.divergence) && eq(a.volume, b.volume) &&
         eq(a.close, b.close) && eq(a.ds_mean, b.ds_mean) && eq(a.ds_std, b.ds_std) && eq(a.ds_z, b.ds_z) &&
         eq(a.df_mean, b.df_mean) && eq(a.df_std, b.df_std) && eq(a.df_z, b.df_z) && eq(a.d_mean, b.d_mean) &&
         eq(a.d_std, b.d_std) && eq(a.d_z, b.d_z) && eq(a.absd_mean, b.absd_mean) && eq(a.absd_std, b.absd_std) &&
         eq(a.absd_z, b.absd_z) && eq(a.ema, b.ema) && eq(a.vwap, b.vwap) && vol_close &&
         eq(a.volume_surge, b.volume_surge);
}

// --- driving the engine -----------------------------------------------------

struct Closed {
  std::size_t tf;
  std::int64_t open;
  std::vector<FlowSnapshot> snapshots;  // by group
};

// Feeds every bar of second s, then closes it; `skew` > 0 feeds each bar
// `skew` seconds early (bars of later seconds before earlier ones close).
std::vector<Closed> run_engine(FlowStats& stats, const std::vector<Bar>& bars, int skew = 0) {
  std::vector<Closed> closed;
  auto on_close = [&](std::size_t tf, std::int64_t open) {
    Closed c{tf, open, {}};
    for (GroupId g = 0; g < stats.groups().size(); ++g) c.snapshots.push_back(stats.snapshot(g, tf));
    closed.push_back(std::move(c));
  };
  std::size_t next = 0;
  const std::int64_t first = bars.front().open_time_s, last = bars.back().open_time_s;
  for (std::int64_t s = first; s <= last; ++s) {
    while (next < bars.size() && bars[next].open_time_s <= s + skew) stats.add_bar(bars[next++]);
    stats.advance_to(s + 1, on_close);
  }
  stats.flush(on_close);
  return closed;
}

// Every close of every timeframe and group against the reference.
void expect_matches_reference(const Captures& cap, const FlowStatsConfig& config, const std::vector<Closed>& closed,
                              const SymbolGroups& groups) {
  for (std::size_t k = 0; k < config.timeframes_s.size(); ++k) {
    const std::uint32_t tf = config.timeframes_s[k];
    std::vector<const Closed*> mine;
    for (const Closed& c : closed)
      if (c.tf == k) mine.push_back(&c);
    for (GroupId g = 0; g < groups.size(); ++g) {
      const std::vector<RefInterval> iv = reference_intervals(cap.bars, groups, g, tf, cap.first_s, cap.last_s);
      ASSERT_EQ(mine.size(), iv.size()) << "timeframe " << tf;
      for (std::size_t i = 0; i < iv.size(); ++i) {
        const FlowSnapshot& s = mine[i]->snapshots[g];
        const RefStats r = reference_stats(iv, i, config.series);
        SCOPED_TRACE(::testing::Message()
                     << "tf " << tf << " group " << groups.name(g) << " interval " << i << " (" << iv[i].open << ")");
        ASSERT_EQ(s.open_time_s, iv[i].open);
        ASSERT_EQ(mine[i]->open, iv[i].open);
        EXPECT_EQ(s.timeframe_s, tf);
        EXPECT_EQ(s.bars, i + 1);
        EXPECT_FALSE(s.provisional);
        EXPECT_TRUE(close_to(s.ds, iv[i].ds, iv[i].ds_abs)) << "ds";
        EXPECT_TRUE(close_to(s.df, iv[i].df, iv[i].df_abs)) << "df";
        EXPECT_TRUE(close_to(s.volume, iv[i].volume, 0)) << "volume";
        EXPECT_TRUE(close_to(s.cvd_spot, r.cs, r.cs_scale)) << "cvd_spot";
        EXPECT_TRUE(close_to(s.cvd_perp, r.cf, r.cf_scale)) << "cvd_perp";
        EXPECT_TRUE(close_to(s.divergence, r.d, r.cs_scale + r.cf_scale)) << "divergence";
        EXPECT_TRUE(close_to(s.close, r.close, 0)) << "close";
        const double means[4] = {s.ds_mean, s.df_mean, s.d_mean, s.absd_mean};
        const double stds[4] = {s.ds_std, s.df_std, s.d_std, s.absd_std};
        const double zs[4] = {s.ds_z, s.df_z, s.d_z, s.absd_z};
        const char* names[4] = {"ds", "df", "d", "absd"};
        for (int b = 0; b < 4; ++b) {
          EXPECT_TRUE(close_to(means[b], r.mean[b], r.scale[b])) << names[b] << "_mean";
          EXPECT_TRUE(close_to(stds[b], r.std[b], r.scale[b])) << names[b] << "_std";
          // z's rounding scales with the inputs' magnitude over the spread.
          if (r.std[b] > 0 && std::isfinite(r.std[b])) {
            EXPECT_TRUE(close_to(zs[b], r.z[b], std::fabs(r.z[b]) + r.scale[b] / r.std[b])) << names[b] << "_z";
          } else {
            EXPECT_TRUE(close_to(zs[b], r.z[b], 0)) << names[b] << "_z";
          }
        }
        EXPECT_TRUE(close_to(s.ema, r.ema, 0)) << "ema";
        EXPECT_TRUE(close_to(s.vwap, r.vwap, 0)) << "vwap";
        EXPECT_TRUE(close_to(s.realized_vol, r.vol, 1e-6)) << "realized_vol";
        EXPECT_TRUE(close_to(s.volume_surge, r.surge, 0)) << "volume_surge";
        if (::testing::Test::HasFailure()) return;  // one interval's worth of detail is enough
      }
    }
  }
}

FlowStatsConfig small_windows() {
  FlowStatsConfig c;
  c.timeframes_s = {1, 2, 10, 30, 60};
  c.series.cvd_window = 7;
  c.series.stats_window = 4;
  c.series.ema_span = 3;
  c.series.vwap_window = 3;
  c.series.vol_window = 5;
  c.series.surge_short = 2;
  c.series.surge_long = 6;
  return c;
}

// --- real data --------------------------------------------------------------

TEST(FlowStatsCaptures, BarsBuiltHereMatchThePublishedFigures) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok) << "no binance-20240808 captures found";
  if (!cap.full) {
    // tests/data/README.md: the 4000-line excerpts hold 676 / 569 / 98 trades.
    EXPECT_EQ(cap.spot_trades.size(), 676u);
    EXPECT_EQ(cap.usdm_trades.size(), 569u);
    EXPECT_EQ(cap.cm_trades.size(), 98u);
    GTEST_SKIP() << "full captures absent: the excerpts' figures only";
  }
  // ../shared/data/README.md: trade counts, COIN-M sum q = 83241 contracts
  // of 100 USD, and the trade times 1723161255342 .. 1723161601271.
  EXPECT_EQ(cap.spot_trades.size(), 9757u);
  EXPECT_EQ(cap.usdm_trades.size(), 21313u);
  EXPECT_EQ(cap.cm_trades.size(), 2286u);
  double cm_notional = 0;
  for (const Bar& b : cap.bars)
    if (b.market == cap.cm) cm_notional += b.vbuy + b.vsell;
  EXPECT_NEAR(cm_notional, 100.0 * 83241, 1e-12 * 100.0 * 83241);
  EXPECT_EQ(cap.first_s, 1723161255);
  EXPECT_EQ(cap.last_s, 1723161601);
}

TEST(FlowStatsCaptures, EveryIntervalMatchesTheScalarReferenceDefaultWindows) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok);
  FlowStatsConfig config;
  config.timeframes_s = {1, 5, 15, 60, 300};
  const SymbolGroups groups(cap.registry);
  ASSERT_EQ(groups.size(), 2u);
  FlowStats stats(groups, config);
  const std::vector<Closed> closed = run_engine(stats, cap.bars);
  if (cap.full) {
    // 1723161255..1723161601: 347 seconds; 60 s: 1723161240..1723161600, 7
    // intervals; 300 s: 1723161000..1723161600, 3.
    EXPECT_EQ(std::count_if(closed.begin(), closed.end(), [](const Closed& c) { return c.tf == 0; }), 347);
    EXPECT_EQ(std::count_if(closed.begin(), closed.end(), [](const Closed& c) { return c.tf == 3; }), 7);
    EXPECT_EQ(std::count_if(closed.begin(), closed.end(), [](const Closed& c) { return c.tf == 4; }), 3);
  }
  expect_matches_reference(cap, config, closed, groups);
  EXPECT_EQ(stats.counters().bars, cap.bars.size());
  EXPECT_EQ(stats.counters().replaced + stats.counters().late + stats.counters().late_dropped +
                stats.counters().future_dropped + stats.counters().unknown_market + stats.counters().rejected,
            0u);
}

TEST(FlowStatsCaptures, EveryIntervalMatchesTheScalarReferenceSmallWindowsWrapAround) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok);
  const FlowStatsConfig config = small_windows();
  const SymbolGroups groups(cap.registry);
  for (FlowBackend backend : {FlowBackend::kSimd, FlowBackend::kScalar}) {
    FlowStatsConfig c = config;
    c.backend = backend;
    FlowStats stats(groups, c);
    expect_matches_reference(cap, c, run_engine(stats, cap.bars), groups);
  }
}

TEST(FlowStatsCaptures, AnchoredCvdIsTheSumOfSignedNotionalSinceTheAnchor) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok);
  FlowStatsConfig config = small_windows();
  config.series.cvd_mode = CvdMode::kAnchored;
  config.series.cvd_anchor_s = (cap.first_s + cap.last_s) / 2;  // mid-stream: earlier intervals do not count
  const SymbolGroups groups(cap.registry);
  FlowStats stats(groups, config);
  const std::vector<Closed> closed = run_engine(stats, cap.bars);
  expect_matches_reference(cap, config, closed, groups);

  // From the trades themselves, not the bars: spot and perp signed notional
  // since the anchor, against the last 1 s close.
  double spot = 0, perp = 0, scale = 0;
  for (auto [trades, is_spot] :
       {std::pair{&cap.spot_trades, true}, std::pair{&cap.usdm_trades, false}, std::pair{&cap.cm_trades, false}}) {
    for (const RawTrade& t : *trades) {
      if (t.t_ms / 1000 < config.series.cvd_anchor_s) continue;
      const double signed_notional = (t.taker_sell ? -1 : 1) * t.price * t.qty;
      (is_spot ? spot : perp) += signed_notional;
      scale += std::fabs(signed_notional);
    }
  }
  const FlowSnapshot last = stats.snapshot(0, 0);
  EXPECT_EQ(last.open_time_s, cap.last_s);
  EXPECT_TRUE(close_to(last.cvd_spot, spot, scale, 1e-12));
  EXPECT_TRUE(close_to(last.cvd_perp, perp, scale, 1e-12));
  EXPECT_TRUE(close_to(last.divergence, spot - perp, scale, 1e-12));
  EXPECT_NE(last.cvd_spot, 0.0);
}

TEST(FlowStatsCaptures, SimdAndScalarBackendsAgreeBitForBitIncludingPreviews) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok);
  for (FlowStatsConfig config : {FlowStatsConfig{}, small_windows()}) {
    config.timeframes_s = {1, 3, 10, 60, 300};
    const SymbolGroups groups(cap.registry);
    FlowStatsConfig sc = config;
    sc.backend = FlowBackend::kScalar;
    FlowStats simd(groups, config), scalar(groups, sc);
    std::size_t next = 0, compared = 0;
    auto same = [&](const char* when) {
      for (std::size_t k = 0; k < config.timeframes_s.size(); ++k)
        for (GroupId g = 0; g < groups.size(); ++g) {
          const FlowSnapshot a = simd.snapshot(g, k), b = scalar.snapshot(g, k);
          ASSERT_TRUE(same_bits(a, b)) << when << ": tf index " << k << " group " << g;
          ++compared;
        }
    };
    for (std::int64_t s = cap.first_s; s <= cap.last_s; ++s) {
      while (next < cap.bars.size() && cap.bars[next].open_time_s <= s) {
        simd.add_bar(cap.bars[next]);
        scalar.add_bar(cap.bars[next++]);
      }
      simd.advance_to(s + 1);
      scalar.advance_to(s + 1);
      same("close");
      simd.preview();
      scalar.preview();
      same("preview");
    }
    EXPECT_EQ(compared, 2 * 5 * groups.size() * static_cast<std::size_t>(cap.last_s - cap.first_s + 1));
  }
}

TEST(FlowStatsCaptures, ArrivalOrderWithinThePendingWindowDoesNotMatter) {
  const Captures& cap = captures();
  ASSERT_TRUE(cap.ok);
  const FlowStatsConfig config = small_windows();
  const SymbolGroups groups(cap.registry);
  FlowStats in_order(groups, config), early(groups, config);
  // Bars of the next 5 seconds arrive before each second closes, and the
  // markets of each second arrive in reverse.
  std::vector<Bar> reversed = cap.bars;
  std::stable_sort(reversed.begin(), reversed.end(), [](const Bar& a, const Bar& b) {
    return a.open_time_s != b.open_time_s ? a.open_time_s < b.open_time_s : a.market > b.market;
  });
  const auto a = run_engine(in_order, cap.bars);
  const auto b = run_engine(early, reversed, 5);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    for (GroupId g = 0; g < groups.size(); ++g) {
      const FlowSnapshot &x = a[i].snapshots[g], &y = b[i].snapshots[g];
      ASSERT_EQ(x.open_time_s, y.open_time_s);
      // Deltas are sums of at most two bars per second (spot: one market;
      // perp: two), and a + b == b + a exactly: everything built on them
      // agrees bit for bit. Volume and price sum three bars, whose order
      // changes the rounding.
      EXPECT_EQ(y.ds, x.ds);
      EXPECT_EQ(y.df, x.df);
      EXPECT_EQ(y.divergence, x.divergence);
      EXPECT_TRUE(std::memcmp(&y.d_z, &x.d_z, sizeof x.d_z) == 0) << y.d_z << " vs " << x.d_z;
      EXPECT_TRUE(close_to(y.volume, x.volume, 0, 1e-15));
      EXPECT_TRUE(close_to(y.vwap, x.vwap, 0, 1e-12));
      EXPECT_TRUE(close_to(y.close, x.close, 0, 1e-12));
    }
  EXPECT_EQ(early.counters().future_dropped, 0u);
}

// --- time, empty intervals, amendments ----------------------------------------

struct Fixture {
  MarketRegistry registry;
  MarketId btc_spot = registry.intern("BINANCE:btcusdt");
  MarketId btc_perp = registry.intern("BINANCE_FUTURES:btcusdt");
  MarketId eth_spot = registry.intern("BINANCE:ethusdt");
  MarketId nobody = registry.intern("WEIRD:x");  // no base asset: in no group
  SymbolGroups groups{registry};

  static Bar bar(MarketId m, std::int64_t s, double vbuy, double vsell, double close = 100.0) {
    Bar b;
    b.market = m;
    b.open_time_s = s;
    b.vbuy = vbuy;
    b.vsell = vsell;
    b.qbuy = vbuy / close;
    b.qsell = vsell / close;
    b.cbuy = vbuy > 0;
    b.csell = vsell > 0;
    b.open = b.high = b.low = b.close = close;
    return b;
  }
  FlowStatsConfig config(std::vector<std::uint32_t> tfs) const {
    FlowStatsConfig c;
    c.timeframes_s = std::move(tfs);
    c.series.stats_window = 3;
    c.pending_seconds = 4;
    c.amendment_memory_s = 8;
    return c;
  }
};

TEST(FlowStats, EmptyIntervalsHaveZeroDeltaAndCarryThePrice) {
  Fixture f;
  ASSERT_EQ(f.groups.size(), 2u);  // BTC, ETH; WEIRD:x has no base
  FlowStats stats(f.groups, f.config({1, 5}));
  std::vector<std::pair<std::size_t, std::int64_t>> closes;
  auto on_close = [&](std::size_t tf, std::int64_t t) { closes.emplace_back(tf, t); };
  stats.add_bar(Fixture::bar(f.btc_spot, 1000, 50, 20, 101.0));
  stats.add_bar(Fixture::bar(f.btc_perp, 1000, 10, 40, 99.0));
  stats.advance_to(1004, on_close);
  const GroupId btc = *f.groups.find("BTC"), eth = *f.groups.find("ETH");
  FlowSnapshot s = stats.snapshot(btc, 0);
  EXPECT_EQ(s.open_time_s, 1003);
  EXPECT_EQ(s.ds, 0.0);
  EXPECT_EQ(s.df, 0.0);
  EXPECT_EQ(s.volume, 0.0);
  EXPECT_EQ(s.cvd_spot, 30.0) << "the rolling CVD still holds second 1000";
  EXPECT_EQ(s.cvd_perp, -30.0);
  EXPECT_EQ(s.divergence, 60.0);
  EXPECT_EQ(s.close, (101.0 * 70 + 99.0 * 50) / 120) << "volume-weighted close of second 1000, carried";
  EXPECT_EQ(s.realized_vol, 0.0);
  EXPECT_EQ(s.bars, 4u);
  const FlowSnapshot e = stats.snapshot(eth, 0);
  EXPECT_EQ(e.ds, 0.0);
  EXPECT_EQ(e.cvd_spot, 0.0);
  EXPECT_EQ(e.d_std, 0.0) << "a window of exact zeros has exactly zero spread";
  EXPECT_TRUE(std::isnan(e.d_z)) << "0 / 0";
  EXPECT_TRUE(std::isnan(e.close));
  EXPECT_TRUE(std::isnan(e.ema));
  EXPECT_TRUE(std::isnan(e.vwap)) << "no volume";
  ASSERT_EQ(closes.size(), 4u);  // 1 s: 1000..1003; 5 s: [1000, 1005) has not ended
  EXPECT_EQ(closes.back(), (std::pair<std::size_t, std::int64_t>{0, 1003}));

  stats.advance_to(1005, on_close);  // second 1004 closes, and with it [1000, 1005)
  ASSERT_EQ(closes.size(), 6u);
  EXPECT_EQ(closes[4], (std::pair<std::size_t, std::int64_t>{0, 1004}));
  EXPECT_EQ(closes[5], (std::pair<std::size_t, std::int64_t>{1, 1000})) << "shorter timeframes first";
  s = stats.snapshot(btc, 1);
  EXPECT_EQ(s.ds, 30.0);
  EXPECT_EQ(s.df, -30.0);
  EXPECT_EQ(s.volume, 120.0);
}

TEST(FlowStats, FirstIntervalStartsAtTheFirstSecondAndFlushClosesPartialOnes) {
  Fixture f;
  FlowStats stats(f.groups, f.config({1, 60}));
  std::vector<std::pair<std::size_t, std::int64_t>> closes;
  auto on_close = [&](std::size_t tf, std::int64_t t) { closes.emplace_back(tf, t); };
  stats.add_bar(Fixture::bar(f.btc_spot, 1'000'017, 5, 0));
  stats.add_bar(Fixture::bar(f.btc_spot, 1'000'015, 7, 0));  // earlier, before anything closed: the start moves
  stats.add_bar(Fixture::bar(f.btc_spot, 1'000'018, 1, 0));
  EXPECT_EQ(stats.next_second(), 1'000'015);
  stats.flush(on_close);
  // 1 s: 15, 16, 17, 18; then the partial minute [1'000'000 .. 1'000'060) holding 15..18.
  ASSERT_EQ(closes.size(), 5u);
  EXPECT_EQ(closes.front(), (std::pair<std::size_t, std::int64_t>{0, 1'000'015}));
  EXPECT_EQ(closes.back(), (std::pair<std::size_t, std::int64_t>{1, 999'960}));  // floor(1'000'015 / 60) * 60
  const FlowSnapshot m = stats.snapshot(0, 1);
  EXPECT_EQ(m.ds, 13.0);
  EXPECT_EQ(m.bars, 1u);
  stats.add_bar(Fixture::bar(f.btc_spot, 1'000'019, 1, 0));
  EXPECT_EQ(stats.counters().after_flush, 1u);
}

TEST(FlowStats, AReSentBarReplacesTheEarlierOneWhileItsSecondIsOpen) {
  Fixture f;
  FlowStats stats(f.groups, f.config({1, 10}));
  stats.add_bar(Fixture::bar(f.btc_spot, 2000, 10, 0));
  Bar amended = Fixture::bar(f.btc_spot, 2000, 15, 4);
  amended.flags = kBarAmendment;
  stats.add_bar(amended);
  stats.add_bar(amended);  // the same bar twice: still counted once
  stats.advance_to(2001);
  EXPECT_EQ(stats.snapshot(0, 0).ds, 11.0);
  EXPECT_EQ(stats.snapshot(0, 0).volume, 19.0);
  EXPECT_EQ(stats.counters().replaced, 2u);
}

TEST(FlowStats, ALateBarCorrectsOnlyTheIntervalsStillOpen) {
  Fixture f;
  FlowStats stats(f.groups, f.config({1, 10}));
  stats.add_bar(Fixture::bar(f.btc_spot, 2000, 10, 0));
  stats.add_bar(Fixture::bar(f.btc_perp, 2000, 0, 3));
  stats.advance_to(2003);  // 2000..2002 closed on 1 s; [2000, 2010) still open
  EXPECT_EQ(stats.snapshot(0, 0).open_time_s, 2002);
  const double cvd_before = stats.snapshot(0, 0).cvd_spot;
  EXPECT_EQ(cvd_before, 10.0);

  // Amendment of second 2000 (10 -> 25), and a first bar for closed second 2001.
  stats.add_bar(Fixture::bar(f.btc_spot, 2000, 25, 0));
  stats.add_bar(Fixture::bar(f.btc_perp, 2001, 0, 6));
  EXPECT_EQ(stats.counters().late, 2u);
  EXPECT_EQ(stats.counters().replaced, 1u);
  stats.advance_to(2010);
  EXPECT_EQ(stats.snapshot(0, 0).cvd_spot, 10.0) << "the 1 s intervals closed with 10 and stay so";
  const FlowSnapshot ten = stats.snapshot(0, 1);
  EXPECT_EQ(ten.open_time_s, 2000);
  EXPECT_EQ(ten.ds, 25.0) << "the 10 s interval was open: it takes the correction";
  EXPECT_EQ(ten.df, -9.0);

  // The 10 s interval is closed now too: nothing can take a change of 2000.
  stats.add_bar(Fixture::bar(f.btc_spot, 2000, 30, 0));
  EXPECT_EQ(stats.counters().late_dropped, 1u);
  // Beyond the market's memory (8 s): the slot holds a newer second.
  stats.add_bar(Fixture::bar(f.btc_spot, 2010, 1, 0));
  stats.advance_to(2020);
  stats.add_bar(Fixture::bar(f.btc_spot, 2002, 1, 0));  // slot of 2010: forgotten
  EXPECT_EQ(stats.counters().late_dropped, 2u);
  stats.advance_to(2030);
  EXPECT_EQ(stats.snapshot(0, 1).open_time_s, 2020);
  EXPECT_EQ(stats.snapshot(0, 1).ds, 0.0);
}

TEST(FlowStats, BarsItCannotUseAreCountedNotFolded) {
  Fixture f;
  FlowStats stats(f.groups, f.config({1}));
  stats.add_bar(Fixture::bar(f.btc_spot, 3000, 1, 0));
  stats.add_bar(Fixture::bar(f.btc_spot, 3004, 1, 0));  // pending window of 4: [3000, 3004)
  stats.add_bar(Fixture::bar(f.nobody, 3000, 1, 0));
  stats.add_bar(Fixture::bar(42, 3000, 1, 0));  // never registered
  Bar minute = Fixture::bar(f.btc_spot, 3000, 1, 0);
  minute.timeframe_s = 60;
  stats.add_bar(minute);
  Bar broken = Fixture::bar(f.btc_spot, 3001, 1, 0);
  broken.vbuy = std::numeric_limits<double>::infinity();
  stats.add_bar(broken);
  Bar far = Fixture::bar(f.btc_spot, 3001, 1, 0);
  far.open_time_s = std::int64_t{1} << 50;
  stats.add_bar(far);
  const FlowStatsCounters& c = stats.counters();
  EXPECT_EQ(c.bars, 7u);
  EXPECT_EQ(c.future_dropped, 1u);
  EXPECT_EQ(c.unknown_market, 2u);
  EXPECT_EQ(c.other_timeframe, 1u);
  EXPECT_EQ(c.rejected, 2u);
  stats.advance_to(3005);
  EXPECT_EQ(stats.snapshot(0, 0).cvd_spot, 1.0);
}

TEST(FlowStats, PreviewShowsTheOpenIntervalWithoutFoldingIt) {
  Fixture f;
  FlowStats stats(f.groups, f.config({1, 5}));
  auto spot_buy = [](std::int64_t s) { return 10.0 + static_cast<double>((s * 7) % 13); };
  for (std::int64_t s = 100; s < 104; ++s) stats.add_bar(Fixture::bar(f.btc_spot, s, spot_buy(s), 0));
  stats.advance_to(104);  // [100, 105) has 4 closed seconds
  stats.preview();
  FlowSnapshot p = stats.snapshot(0, 1);
  EXPECT_TRUE(p.provisional);
  EXPECT_EQ(p.open_time_s, 100);
  EXPECT_EQ(p.bars, 0u);
  EXPECT_EQ(p.ds, spot_buy(100) + spot_buy(101) + spot_buy(102) + spot_buy(103));
  stats.preview();  // twice: nothing was folded the first time
  EXPECT_EQ(stats.snapshot(0, 1).ds, p.ds);
  EXPECT_EQ(stats.snapshot(0, 1).cvd_spot, p.ds);
  EXPECT_FALSE(stats.snapshot(0, 0).provisional) << "the 1 s interval never has closed seconds to preview";
  stats.add_bar(Fixture::bar(f.btc_spot, 104, spot_buy(104), 0));
  stats.advance_to(105);
  const FlowSnapshot c = stats.snapshot(0, 1);
  EXPECT_FALSE(c.provisional);
  EXPECT_EQ(c.bars, 1u);
  EXPECT_EQ(c.ds, p.ds + spot_buy(104));
  EXPECT_EQ(c.cvd_spot, c.ds) << "the CVD holds the interval once, not the preview too";
}

// The provisional bar is exactly what committing the same interval gives.
TEST(FlowSeries, PreviewEqualsTheCommitOfTheSameInterval) {
  FlowSeriesConfig config;
  config.stats_window = 3;
  for (FlowBackend backend : {FlowBackend::kSimd, FlowBackend::kScalar}) {
    auto series = make_flow_series(backend, 3, 300, config);
    std::vector<double> ds(8), df(8), volume(8), qty(8), price(8);
    const FlowIntervalInput in{ds.data(), df.data(), volume.data(), qty.data(), price.data()};
    for (std::int64_t t = 0; t < 50; ++t) {
      for (std::size_t g = 0; g < 3; ++g) {
        ds[g] = std::sin(static_cast<double>(t * 3 + g)) * 1e5;
        df[g] = std::cos(static_cast<double>(t * 5 + g)) * 2e5;
        volume[g] = std::fabs(ds[g]) + std::fabs(df[g]);
        qty[g] = volume[g] / 60000;
        price[g] = 60000 + static_cast<double>(t % 7);
      }
      series->update(in, t * 300, /*commit=*/false);
      FlowSnapshot preview[3];
      for (std::size_t g = 0; g < 3; ++g) preview[g] = series->snapshot(g);
      series->update(in, t * 300, /*commit=*/true);
      for (std::size_t g = 0; g < 3; ++g) {
        FlowSnapshot commit = series->snapshot(g);
        EXPECT_TRUE(preview[g].provisional);
        EXPECT_EQ(preview[g].bars + 1, commit.bars);
        commit.provisional = true;
        commit.bars -= 1;
        EXPECT_TRUE(same_bits(preview[g], commit)) << "t " << t << " group " << g;
      }
    }
  }
}

TEST(FlowStats, RefreshAddsGroupsMidStreamAsIfTheyHadBeenEmpty) {
  Fixture f;
  FlowStatsConfig config = f.config({1});
  config.min_group_capacity = 3;
  FlowStats stats(f.groups, config);
  stats.add_bar(Fixture::bar(f.btc_spot, 500, 4, 1));
  stats.advance_to(505);
  const MarketId sol = f.registry.intern("BINANCE:solusdt");
  stats.add_bar(Fixture::bar(sol, 505, 3, 0));
  EXPECT_EQ(stats.counters().unknown_market, 1u) << "not refreshed yet";
  stats.refresh_markets(f.registry);
  ASSERT_EQ(stats.groups().size(), 3u);
  const GroupId sol_group = *stats.groups().find("SOL");
  EXPECT_EQ(sol_group, 2u) << "a new base takes the next id";
  stats.add_bar(Fixture::bar(sol, 505, 3, 0));
  stats.advance_to(506);
  const FlowSnapshot s = stats.snapshot(sol_group, 0);
  EXPECT_EQ(s.ds, 3.0);
  EXPECT_EQ(s.cvd_spot, 3.0);
  EXPECT_EQ(s.ds_mean, 0.0) << "its baseline is the empty intervals before it";
  EXPECT_EQ(s.ds_std, 0.0);
  EXPECT_EQ(s.ds_z, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.bars, 6u);
  f.registry.intern("BINANCE:adausdt");
  EXPECT_THROW(stats.refresh_markets(f.registry), std::length_error) << "capacity 3";
  EXPECT_EQ(stats.groups().size(), 3u) << "unchanged";
}

TEST(FlowStats, ConfigErrorsAreReported) {
  Fixture f;
  FlowStatsConfig c = f.config({1, 60, 60});
  EXPECT_THROW(FlowStats(f.groups, c), std::invalid_argument);
  c = f.config({0});
  EXPECT_THROW(FlowStats(f.groups, c), std::invalid_argument);
  c = f.config({1});
  c.amendment_memory_s = 2;
  EXPECT_THROW(FlowStats(f.groups, c), std::invalid_argument);
  c = f.config({1});
  c.series.stats_window = 1;
  EXPECT_THROW(FlowStats(f.groups, c), std::invalid_argument);
  c = f.config({1});
  c.series.surge_short = 30;
  EXPECT_THROW(FlowStats(f.groups, c), std::invalid_argument);
}

// --- stability over a long series, through the whole engine ------------------

TEST(FlowStats, LongAnchoredSeriesWithALargeOffsetKeepsItsBaselinesExact) {
  // Integer deltas: every CVD is an exact double, so the exact D and its
  // 20-interval spread follow from integer arithmetic. D starts at 1e9 and
  // drifts by ~1e9 more over 300,000 seconds, with unit-sized noise.
  Fixture f;
  FlowStatsConfig config;
  config.timeframes_s = {1};
  config.series.cvd_mode = CvdMode::kAnchored;
  FlowStats stats(f.groups, config);
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<std::int64_t> spot(-1000, 5000), perp(-3000, 1000);
  std::vector<std::int64_t> d;
  std::int64_t cs = 0, cf = 0;
  double worst_std = 0, worst_mean = 0, worst_z = 0;
  constexpr std::int64_t kStart = 1'700'000'000;
  for (std::int64_t i = 0; i < 300'000; ++i) {
    const std::int64_t a = i == 0 ? 1'000'000'000 : spot(rng), b = perp(rng);
    stats.add_bar(Fixture::bar(f.btc_spot, kStart + i, static_cast<double>(std::max<std::int64_t>(a, 0)),
                               static_cast<double>(std::max<std::int64_t>(-a, 0))));
    stats.add_bar(Fixture::bar(f.btc_perp, kStart + i, static_cast<double>(std::max<std::int64_t>(b, 0)),
                               static_cast<double>(std::max<std::int64_t>(-b, 0))));
    stats.advance_to(kStart + i + 1);
    cs += a;
    cf += b;
    if (i % 4999 == 0 && d.size() >= 20) {
      Int128 s = 0, ss = 0;
      for (std::size_t j = d.size() - 20; j < d.size(); ++j) {
        s += d[j];
        ss += static_cast<Int128>(d[j]) * d[j];
      }
      const long double mean = static_cast<long double>(s) / 20;
      const long double var = static_cast<long double>(20 * ss - s * s) / (20.0L * 19.0L);
      const long double z = (static_cast<long double>(cs - cf) - mean) / std::sqrt(var);
      const FlowSnapshot snap = stats.snapshot(0, 0);
      ASSERT_EQ(snap.divergence, static_cast<double>(cs - cf));
      worst_mean = std::max(worst_mean, static_cast<double>(std::fabs(snap.d_mean - mean) / std::fabs(mean)));
      worst_std = std::max(worst_std, static_cast<double>(std::fabs(snap.d_std - std::sqrt(var)) / std::sqrt(var)));
      // z = (D - mean) / std subtracts two ~1e9 numbers: its rounding is
      // relative to |mean| / std (~1e5 here), not to z.
      worst_z = std::max(
          worst_z, static_cast<double>(std::fabs(snap.d_z - z) / (std::fabs(z) + std::fabs(mean) / std::sqrt(var))));
    }
    d.push_back(cs - cf);
  }
  EXPECT_GT(static_cast<double>(d.back()), 1.5e9);
  EXPECT_LE(worst_mean, 1e-15);
  EXPECT_LE(worst_std, 1e-12);
  EXPECT_LE(worst_z, 1e-15);
}

// --- FlowSeries directly: SIMD against scalar on hostile inputs --------------

TEST(FlowSeries, SimdAndScalarAgreeBitForBitOnHostileInputs) {
  for (std::size_t groups : {1u, 5u, 13u, 16u}) {
    for (CvdMode mode : {CvdMode::kRolling, CvdMode::kAnchored}) {
      FlowSeriesConfig c;
      c.cvd_mode = mode;
      c.cvd_anchor_s = 50;
      c.cvd_window = 9;
      c.stats_window = 5;
      c.vwap_window = 4;
      c.vol_window = 6;
      c.surge_short = 3;
      c.surge_long = 7;
      auto simd = make_flow_series(FlowBackend::kSimd, groups, 60, c);
      auto scalar = make_flow_series(FlowBackend::kScalar, groups, 60, c);
      const std::size_t lanes = (groups + kFlowLanePadding - 1) / kFlowLanePadding * kFlowLanePadding;
      std::vector<double> ds(lanes), df(lanes), volume(lanes), qty(lanes), price(lanes);
      const FlowIntervalInput in{ds.data(), df.data(), volume.data(), qty.data(), price.data()};
      std::mt19937_64 rng(groups * 31 + static_cast<int>(mode));
      std::uniform_real_distribution<double> u(0, 1);
      std::size_t compared = 0;
      for (std::int64_t t = 0; t < 600; ++t) {
        for (std::size_t g = 0; g < groups; ++g) {
          const double r = u(rng);
          const double scale = r < 0.02 ? 1e12 : (r < 0.2 ? 0.0 : 1e4);  // spikes and empty intervals
          ds[g] = (u(rng) - 0.4) * scale + (g == 3 ? 1e9 : 0.0);         // one group with a large offset
          df[g] = (u(rng) - 0.6) * scale;
          volume[g] = std::fabs(ds[g]) + std::fabs(df[g]);
          qty[g] = volume[g] / 60000.0;
          const double pr = u(rng);
          price[g] = pr < 0.1 ? 0.0 : (pr < 0.15 ? kNaN : 60000 * (1 + 0.01 * (u(rng) - 0.5)));
        }
        const bool commit = u(rng) < 0.8;
        simd->update(in, t * 60, commit);
        scalar->update(in, t * 60, commit);
        for (std::size_t g = 0; g < groups; ++g) {
          const FlowSnapshot a = simd->snapshot(g), b = scalar->snapshot(g);
          ASSERT_TRUE(same_bits(a, b)) << "groups " << groups << " t " << t << " group " << g;
          ++compared;
        }
      }
      EXPECT_EQ(simd->bars(), scalar->bars());
      EXPECT_EQ(compared, 600 * groups);
    }
  }
}

}  // namespace
}  // namespace tickflow
