// tests/unit/strategy/allocation_test.cc: after construction, feeding bars
// and evaluating never allocate (strategy/squeezeflow.h's promise). This
// binary replaces the global operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "strategy/squeezeflow.h"
#include "strategy_test_support.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace tickflow {
namespace {

Bar market_bar(std::int64_t t, std::uint32_t tf, double price, double vbuy, double vsell) {
  Bar b;
  b.open_time_s = t;
  b.timeframe_s = tf;
  b.open = b.high = b.low = b.close = price;
  b.vbuy = vbuy;
  b.vsell = vsell;
  b.cbuy = b.csell = 1;
  return b;
}

TEST(StrategyAllocation, FeedingAndEvaluatingNeverAllocate) {
  SqueezeFlow sf{SqueezeFlowParams{}};
  const std::uint32_t tfs[] = {300, 900, 1800, 3600, 14400};
  const long before = g_allocations.load();
  double price = 100;
  // Two days of 5-minute steps: every ring wraps; evaluations every step.
  for (std::int64_t step = 0; step < 576; ++step) {
    const std::int64_t t = test::kT0 + step * 300;
    price += (step % 7) - 3;
    for (std::uint32_t tf : tfs) {
      const std::int64_t open = t - (t - test::kT0) % tf;
      sf.on_bar(market_bar(open, tf, price, 10 + step % 5, 8), MarketClass::kSpot);
      sf.on_bar(market_bar(open, tf, price + 1, 6, 9 + step % 3), MarketClass::kPerp);
    }
    sf.on_closed(t + 300);
    for (std::uint32_t tf : tfs) {  // as StrategyEngine refreshes the open windows
      TimeframeSeries& series = *sf.series(tf);
      series.begin_provisional();
      series.sum_provisional(market_bar(t + 300, tf, price, 3, 1), MarketClass::kSpot);
      series.end_provisional();
    }
    const Decision& d = sf.evaluate(t + 301);
    if (d.action != Decision::kNone) (void)sf.make_signal(d, "BTCUSDT", "BTC");
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(sf.series(300)->size(), 100u);  // full history plus the provisional bar
}

}  // namespace
}  // namespace tickflow
