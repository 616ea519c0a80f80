// tests/unit/strategy/signal_line_test.cc: a signal as one InfluxDB point
// (strategy/signal_line.h): the exact line, escaping, left-out non-finite
// fields, refusal, and no allocation once the buffer has room. This binary
// replaces the global operator new to count allocations.
#include "strategy/signal_line.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>

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

// The signal of signal_test.cc's JSON test, whose id is known from Python.
Signal known_signal() {
  Signal s;
  s.timestamp_s = 1723161600;
  s.action = SignalAction::kLong;
  copy_text(s.symbol, "BTCUSDT");
  copy_text(s.base_symbol, "BTC");
  s.signal_id = signal_uuid(s.symbol, s.timestamp_s, s.action);
  s.score = 8.88;
  s.confidence = 0.9;
  s.position_size_factor = 1.5;
  s.leverage = 5;
  s.entry_price = 60123.5;
  s.ttl_s = 600;
  s.spot_cvd = 1200;
  s.perp_cvd = -300.25;
  s.divergence = 1500.25;
  copy_text(s.reasoning, "P2 15m \"LONG_SETUP\" a\\b, c=d\n");
  return s;
}

TEST(StrategySignalLine, ExactLineForAKnownSignal) {
  std::string out;
  ASSERT_TRUE(append_signal_line(out, known_signal()));
  EXPECT_EQ(out,
            "signals,action=LONG,base_symbol=BTC,strategy=SqueezeFlow,symbol=BTCUSDT "
            "signal_id=\"1871ffaf-3e23-50e3-89c2-b0b1838087e4\",score=8.88,confidence=0.9,position_size_factor=1.5,"
            "leverage=5,entry_price=60123.5,ttl=600i,spot_cvd=1200,perp_cvd=-300.25,divergence=1500.25,"
            "reasoning=\"P2 15m \\\"LONG_SETUP\\\" a\\\\b, c=d \" 1723161600\n");
}

TEST(StrategySignalLine, TagValuesAreEscaped) {
  Signal s = known_signal();
  copy_text(s.symbol, "BTC USD,X=1");
  s.action = SignalAction::kClose;
  copy_text(s.reasoning, "");
  std::string out;
  ASSERT_TRUE(append_signal_line(out, s));
  EXPECT_EQ(out.substr(0, out.find(" signal_id")),
            "signals,action=CLOSE,base_symbol=BTC,strategy=SqueezeFlow,symbol=BTC\\ USD\\,X\\=1");
  EXPECT_NE(out.find(",reasoning=\"\" 1723161600\n"), std::string::npos) << out;
}

TEST(StrategySignalLine, NonFiniteFieldsAndEmptyBaseSymbolAreLeftOut) {
  Signal s = known_signal();
  s.divergence = std::numeric_limits<double>::quiet_NaN();
  s.score = std::numeric_limits<double>::infinity();
  copy_text(s.base_symbol, "");
  std::string out;
  ASSERT_TRUE(append_signal_line(out, s));
  EXPECT_EQ(out.find("divergence="), std::string::npos) << out;
  EXPECT_EQ(out.find("score="), std::string::npos) << out;
  EXPECT_EQ(out.find("base_symbol="), std::string::npos) << out;
  EXPECT_NE(out.find("perp_cvd=-300.25,reasoning="), std::string::npos) << out;
}

TEST(StrategySignalLine, ASignalWithoutSymbolIsRefusedAndLeavesTheBufferAlone) {
  Signal s = known_signal();
  copy_text(s.symbol, "");
  std::string out = "before\n";
  EXPECT_FALSE(append_signal_line(out, s));
  EXPECT_EQ(out, "before\n");
}

TEST(StrategySignalLine, AppendsAfterExistingLinesWithoutAllocating) {
  const Signal s = known_signal();
  std::string out;
  out.reserve(4 * kSignalLineCapacity);
  ASSERT_TRUE(append_signal_line(out, s));
  const std::size_t one = out.size();
  const long before = g_allocations.load();
  ASSERT_TRUE(append_signal_line(out, s));
  ASSERT_TRUE(append_signal_line(out, s));
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(out.size(), 3 * one);
  EXPECT_EQ(out.substr(one, one), out.substr(0, one));
}

}  // namespace
}  // namespace tickflow
