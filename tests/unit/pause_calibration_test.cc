// The PAUSE calibration (ringbuffers/pause_calibration.h, cpu_relax.h) and
// the spin budgets derived from it (wait_strategy.h): the arithmetic with
// exact values for the CPUs the project has met, then the one measurement
// this process makes.
#include "ringbuffers/pause_calibration.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {
namespace {

TEST(PauseCalibration, PollIntervalInPausesRoundsToNearest) {
  EXPECT_EQ(pauses_for_ns(23.0, kPollIntervalNs), 8u);   // the Xeon: 184 ns, the original kPausesPerPoll
  EXPECT_EQ(pauses_for_ns(18.2, kPollIntervalNs), 10u);  // this AMD EPYC (family 26): 182 ns
  EXPECT_EQ(pauses_for_ns(40.0, kPollIntervalNs), 5u);   // Skylake client, 140 cycles: 4.625 -> 5
  EXPECT_EQ(pauses_for_ns(3.5, kPollIntervalNs), 53u);   // pre-Skylake Intel, Zen 2: 52.9 -> 53
  EXPECT_EQ(pauses_for_ns(37.0, 185.0), 5u);             // exactly 5
  EXPECT_EQ(pauses_for_ns(20.0, 150.0), 8u);             // 7.5 rounds up
}

TEST(PauseCalibration, PollIntervalIsAtLeastOneAndAtMostTheCap) {
  EXPECT_EQ(pauses_for_ns(18.2, 0.0), 1u);      // poll_ns 0: the tightest poll
  EXPECT_EQ(pauses_for_ns(1000.0, 185.0), 1u);  // 0.185 rounds to 0, clamped to 1
  EXPECT_EQ(pauses_for_ns(0.01, 185.0), kMaxPausesPerPoll);
  EXPECT_EQ(kMaxPausesPerPoll, 4096u);
  // No usable cost: the fallback (the Xeon's 23 ns).
  EXPECT_EQ(pauses_for_ns(0.0, 185.0), 8u);
  EXPECT_EQ(pauses_for_ns(-5.0, 185.0), 8u);
}

TEST(PauseCalibration, CalibrationFromAMeasurement) {
  const PauseCalibration amd = calibration_from(18.2);
  EXPECT_TRUE(amd.measured);
  EXPECT_DOUBLE_EQ(amd.pause_ns, 18.2);
  EXPECT_EQ(amd.pauses_per_poll, 10u);
  EXPECT_DOUBLE_EQ(amd.poll_interval_ns(), 182.0);

  // Absurd measurements fall back to the Xeon's cost and say so.
  for (double absurd : {0.0, -1.0, 1000.5, 1e9}) {
    const PauseCalibration c = calibration_from(absurd);
    EXPECT_FALSE(c.measured) << absurd;
    EXPECT_DOUBLE_EQ(c.pause_ns, kFallbackPauseNs) << absurd;
    EXPECT_EQ(c.pauses_per_poll, 8u) << absurd;
  }
  EXPECT_TRUE(calibration_from(1000.0).measured);  // slow, but possible
  EXPECT_EQ(calibration_from(1000.0).pauses_per_poll, 1u);
}

TEST(PauseCalibration, MeasurementRunsEveryTrialAndKeepsTheFastest) {
  int calls = 0;
  const double ns = measure_pause_ns([&calls] { ++calls; }, /*trials=*/3, /*pauses=*/250);
  EXPECT_EQ(calls, 750);
  EXPECT_GE(ns, 0.0);
  EXPECT_LT(ns, 1000.0);  // 250 increments cannot take 250 us, even preempted in all 3 trials
}

TEST(PauseCalibration, ThisProcessMeasuredOnceAndSanely) {
  const PauseCalibration& c = pause_calibration();
  EXPECT_EQ(&c, &pause_calibration());  // cached, not re-measured
  EXPECT_TRUE(c.measured) << c.pause_ns;
#if defined(__x86_64__)
  // PAUSE is ~3 ns (pre-Skylake Intel, Zen 1-2) to ~45 ns (Skylake+ at low
  // clocks) on every x86 seen; sanitizers do not instrument it.
  EXPECT_GE(c.pause_ns, 1.0);
  EXPECT_LE(c.pause_ns, 200.0);
#endif
  EXPECT_EQ(c.pauses_per_poll, pauses_for_ns(c.pause_ns, kPollIntervalNs));
  EXPECT_EQ(pauses_per_poll(), c.pauses_per_poll);
}

TEST(WaitStrategy, SpinBudgetIsWholePollIntervalsRoundedUp) {
  EXPECT_EQ(kPollIntervalNs, 185u);
  EXPECT_EQ(kDefaultSpinNs, 6000u);
  EXPECT_EQ(spin_polls(kDefaultSpinNs), 33u);  // 32.4 -> 33: the original 256 PAUSEs / 8 = 32 polls
  EXPECT_EQ(spin_polls(0), 0u);
  EXPECT_EQ(spin_polls(1), 1u);
  EXPECT_EQ(spin_polls(185), 1u);
  EXPECT_EQ(spin_polls(186), 2u);
  EXPECT_EQ(spin_polls(UINT32_MAX), 23'216'040u);  // no overflow: (2^32 - 1 + 184) / 185
  EXPECT_EQ(WaitStrategy{}.spin_ns, kDefaultSpinNs);
}

}  // namespace
}  // namespace tickflow
