// PrometheusText: exact exposition text (families grouped, escaping, summaries
// in seconds), name validation, number formatting.
#include "runtime/prometheus_text.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace tickflow {
namespace {

TEST(PrometheusText, EmptyBuilderWritesNothing) { EXPECT_EQ(PrometheusText{}.str(), ""); }

TEST(PrometheusText, CounterFamilyWithTwoLabelSetsHasOneHeader) {
  PrometheusText p;
  p.counter("tf_trades_total", "Trades parsed.", {{"exchange", "BINANCE"}, {"market", "btcusdt"}}, 12345);
  p.counter("tf_trades_total", "Trades parsed.", {{"exchange", "OKEX"}, {"market", "BTC-USDT"}}, 7);
  EXPECT_EQ(p.str(),
            "# HELP tf_trades_total Trades parsed.\n"
            "# TYPE tf_trades_total counter\n"
            "tf_trades_total{exchange=\"BINANCE\",market=\"btcusdt\"} 12345\n"
            "tf_trades_total{exchange=\"OKEX\",market=\"BTC-USDT\"} 7\n");
}

TEST(PrometheusText, InterleavedFamiliesAreGroupedInFirstSeenOrder) {
  PrometheusText p;
  p.counter("tf_a_total", "A.", {{"x", "1"}}, 1);
  p.gauge("tf_b", "B.", {{"x", "1"}}, 0.5);
  p.counter("tf_a_total", "A.", {{"x", "2"}}, 2);
  p.gauge("tf_b", "B.", {{"x", "2"}}, -0.25);
  p.gauge("tf_up", "Up.", {}, 1);
  EXPECT_EQ(p.str(),
            "# HELP tf_a_total A.\n"
            "# TYPE tf_a_total counter\n"
            "tf_a_total{x=\"1\"} 1\n"
            "tf_a_total{x=\"2\"} 2\n"
            "# HELP tf_b B.\n"
            "# TYPE tf_b gauge\n"
            "tf_b{x=\"1\"} 0.5\n"
            "tf_b{x=\"2\"} -0.25\n"
            "# HELP tf_up Up.\n"
            "# TYPE tf_up gauge\n"
            "tf_up 1\n");
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  PrometheusText p;
  p.gauge("tf_g", "Back\\slash, \"quotes\" and\nnewline.", {{"path", "C:\\dir \"x\"\nnext"}}, 3);
  EXPECT_EQ(p.str(),
            "# HELP tf_g Back\\\\slash, \"quotes\" and\\nnewline.\n"
            "# TYPE tf_g gauge\n"
            "tf_g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 3\n");
}

TEST(PrometheusText, LatencySummaryInSeconds) {
  LatencyHistogram h;
  for (int i = 0; i < 99; ++i) h.record(1000);
  h.record(1'000'000);
  PrometheusText p;
  p.latency_summary("tf_latency_seconds", "Receive to bar.", {{"exchange", "BINANCE"}}, h);
  // 1000 ns falls in the bucket [1000, 1008): its midpoint is 1003 ns. p99.9
  // lands on the 1 ms sample, whose bucket midpoint is clamped to the max.
  EXPECT_EQ(p.str(),
            "# HELP tf_latency_seconds Receive to bar.\n"
            "# TYPE tf_latency_seconds summary\n"
            "tf_latency_seconds{exchange=\"BINANCE\",quantile=\"0.5\"} 1.003e-06\n"
            "tf_latency_seconds{exchange=\"BINANCE\",quantile=\"0.99\"} 1.003e-06\n"
            "tf_latency_seconds{exchange=\"BINANCE\",quantile=\"0.999\"} 0.001\n"
            "tf_latency_seconds{exchange=\"BINANCE\",quantile=\"1\"} 0.001\n"
            "tf_latency_seconds_sum{exchange=\"BINANCE\"} 0.001099\n"
            "tf_latency_seconds_count{exchange=\"BINANCE\"} 100\n");
}

TEST(PrometheusText, EmptySummaryHasNaNQuantilesAndZeroCount) {
  PrometheusText p;
  p.latency_summary("tf_idle_seconds", "Idle.", {}, LatencyHistogram{});
  EXPECT_EQ(p.str(),
            "# HELP tf_idle_seconds Idle.\n"
            "# TYPE tf_idle_seconds summary\n"
            "tf_idle_seconds{quantile=\"0.5\"} NaN\n"
            "tf_idle_seconds{quantile=\"0.99\"} NaN\n"
            "tf_idle_seconds{quantile=\"0.999\"} NaN\n"
            "tf_idle_seconds{quantile=\"1\"} NaN\n"
            "tf_idle_seconds_sum 0\n"
            "tf_idle_seconds_count 0\n");
}

TEST(PrometheusText, InvalidNamesThrow) {
  PrometheusText p;
  EXPECT_THROW(p.counter("", "h", {}, 1), std::invalid_argument);
  EXPECT_THROW(p.counter("1abc", "h", {}, 1), std::invalid_argument);
  EXPECT_THROW(p.gauge("tf-dash", "h", {}, 1), std::invalid_argument);
  EXPECT_THROW(p.gauge("tf_g", "h", {{"bad-label", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(p.gauge("tf_g", "h", {{"a:b", "v"}}, 1), std::invalid_argument);     // colons: metric names only
  EXPECT_THROW(p.gauge("tf_g", "h", {{"__name", "v"}}, 1), std::invalid_argument);  // reserved prefix
  EXPECT_THROW(p.gauge("tf_g", "h", {{"a", "1"}, {"a", "2"}}, 1), std::invalid_argument);
  EXPECT_THROW(p.latency_summary("tf_s", "h", {{"quantile", "x"}}, LatencyHistogram{}), std::invalid_argument);
  EXPECT_EQ(p.str(), "");  // nothing half-written

  EXPECT_NO_THROW(p.gauge("ns:tf_ok_1", "h", {{"_a1", "v"}}, 1));
  EXPECT_THROW(p.counter("ns:tf_ok_1", "h", {}, 1), std::invalid_argument);  // already a gauge
  EXPECT_TRUE(PrometheusText::valid_metric_name(":a_b:c9"));
  EXPECT_FALSE(PrometheusText::valid_metric_name("a b"));
  EXPECT_TRUE(PrometheusText::valid_label_name("_x9"));
  EXPECT_FALSE(PrometheusText::valid_label_name("9x"));
}

TEST(PrometheusText, ValueFormatting) {
  EXPECT_EQ(PrometheusText::format_value(0.0), "0");
  EXPECT_EQ(PrometheusText::format_value(-0.0), "0");
  EXPECT_EQ(PrometheusText::format_value(42.0), "42");
  EXPECT_EQ(PrometheusText::format_value(-3.0), "-3");
  EXPECT_EQ(PrometheusText::format_value(1e6), "1000000");                          // no exponent for integers
  EXPECT_EQ(PrometheusText::format_value(9007199254740991.0), "9007199254740991");  // 2^53 - 1
  EXPECT_EQ(PrometheusText::format_value(1e20), "1e+20");                           // beyond 2^53: shortest round-trip
  EXPECT_EQ(PrometheusText::format_value(0.1), "0.1");
  EXPECT_EQ(PrometheusText::format_value(1.5), "1.5");
  EXPECT_EQ(PrometheusText::format_value(1e-6), "1e-06");
  EXPECT_EQ(PrometheusText::format_value(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(PrometheusText::format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(PrometheusText::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusText::format_value(-std::numeric_limits<double>::infinity()), "-Inf");

  PrometheusText p;
  p.gauge("tf_g", "h", {{"k", "nan"}}, std::numeric_limits<double>::quiet_NaN());
  p.gauge("tf_g", "h", {{"k", "inf"}}, std::numeric_limits<double>::infinity());
  p.gauge("tf_g", "h", {{"k", "frac"}}, 0.125);
  EXPECT_EQ(p.str(),
            "# HELP tf_g h\n"
            "# TYPE tf_g gauge\n"
            "tf_g{k=\"nan\"} NaN\n"
            "tf_g{k=\"inf\"} +Inf\n"
            "tf_g{k=\"frac\"} 0.125\n");
}

TEST(PrometheusText, ContentTypeIsVersion004) {
  EXPECT_STREQ(PrometheusText::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace tickflow
