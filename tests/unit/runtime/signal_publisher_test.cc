// runtime/signal_publisher.h: what /health reads per group (evaluations, the
// last evaluation's wall time, the last signal), and the portfolio limit.
#include "runtime/signal_publisher.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pipeline/wall_clock.h"

namespace tickflow {
namespace {

Decision decision(std::int64_t t, Decision::Action action, double price) {
  Decision d;
  d.time_s = t;
  d.action = action;
  d.price = price;
  d.score.total = 6.5;
  return d;
}

TEST(SignalPublisherGroups, EvaluationsAndTheLastSignalPerGroup) {
  StrategyEngine engine(SqueezeFlowParams{}, 16);
  engine.add_group("BTCUSDT", "BTC");
  engine.add_group("ETHUSDT", "ETH");
  SignalPublisher publisher(engine, nullptr, 1);
  ASSERT_EQ(publisher.groups(), 2u);
  Signal s;
  EXPECT_FALSE(publisher.last_signal(0, s)) << "none yet";
  EXPECT_EQ(publisher.last_evaluation_ns(0), 0);

  const std::int64_t before = realtime_ns();
  publisher.on_evaluation(0, decision(1000, Decision::kNone, 0));
  ASSERT_TRUE(publisher.on_entry(0, decision(1001, Decision::kLong, 60000.5)));
  publisher.on_evaluation(0, decision(1001, Decision::kLong, 60000.5));
  EXPECT_FALSE(publisher.on_entry(1, decision(1001, Decision::kShort, 3000))) << "max_open_positions = 1";
  publisher.on_evaluation(1, decision(1001, Decision::kNone, 0));

  EXPECT_EQ(publisher.evaluations(0), 2u);
  EXPECT_EQ(publisher.evaluations(1), 1u);
  EXPECT_GE(publisher.last_evaluation_ns(0), before);
  EXPECT_LE(publisher.last_evaluation_ns(0), realtime_ns());
  ASSERT_TRUE(publisher.last_signal(0, s));
  EXPECT_EQ(s.timestamp_s, 1001);
  EXPECT_EQ(s.action, SignalAction::kLong);
  EXPECT_STREQ(s.symbol, "BTCUSDT");
  EXPECT_EQ(s.entry_price, 60000.5);
  EXPECT_FALSE(publisher.last_signal(1, s)) << "the refused entry is no signal";

  publisher.on_exit(0, decision(1300, Decision::kClose, 60100));
  ASSERT_TRUE(publisher.last_signal(0, s));
  EXPECT_EQ(s.action, SignalAction::kClose);
  EXPECT_EQ(s.timestamp_s, 1300);
  EXPECT_EQ(publisher.counters().entries.load(), 1u);
  EXPECT_EQ(publisher.counters().exits.load(), 1u);
  EXPECT_EQ(publisher.counters().refused.load(), 1u);
}

}  // namespace
}  // namespace tickflow
