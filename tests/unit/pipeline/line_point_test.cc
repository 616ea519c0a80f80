// LinePoint: every escaping rule of ../shared/docs/influxdb.md, with the
// expected bytes written by hand, and every refusal.
#include "pipeline/line_point.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tickflow {
namespace {

TEST(LinePoint, WritesTagsSortedAndEveryFieldType) {
  std::string out;
  EXPECT_TRUE(LinePoint(out, "signals")
                  .tag("symbol", "BTC")
                  .tag("exchange", "BINANCE_FUTURES")
                  .field("score", 7.25)
                  .field("size", std::int64_t{-3})
                  .field("long", true)
                  .field("reason", "spot leads")
                  .end(1723161255342));
  EXPECT_EQ(out,
            "signals,exchange=BINANCE_FUTURES,symbol=BTC score=7.25,size=-3i,long=true,reason=\"spot leads\" "
            "1723161255342\n");
}

TEST(LinePoint, EscapesMeasurementCommaAndSpaceOnly) {
  std::string out;
  LinePoint(out, "my measure,ment=x").field("v", 1.0).end(1);
  EXPECT_EQ(out, "my\\ measure\\,ment=x v=1 1\n");  // '=' is not escaped in a measurement
}

TEST(LinePoint, EscapesTagKeysTagValuesAndFieldKeys) {
  std::string out;
  LinePoint(out, "m").tag("a key,x=y", "v al,u=e").field("f k,e=y", 2.5).end(2);
  EXPECT_EQ(out, "m,a\\ key\\,x\\=y=v\\ al\\,u\\=e f\\ k\\,e\\=y=2.5 2\n");
}

TEST(LinePoint, QuotesStringFieldsEscapingQuoteAndBackslash) {
  std::string out;
  LinePoint(out, "m").field("s", "say \"hi\" \\ bye, a=b").end(3);
  EXPECT_EQ(out, "m s=\"say \\\"hi\\\" \\\\ bye, a=b\" 3\n");
}

TEST(LinePoint, FloatsAreShortestRoundTripIntegersTakeI) {
  std::string out;
  LinePoint(out, "m").field("a", 0.1).field("b", 1e300).field("c", 100.0).field("n", std::int64_t{42}).end(4);
  EXPECT_EQ(out, "m a=0.1,b=1e+300,c=100,n=42i 4\n");
  EXPECT_EQ(out.find('u'), std::string::npos);
}

TEST(LinePoint, RefusesNanInfEmptyTagValueAndNoFieldLeavingTheBufferAsItWas) {
  std::string out = "previous 1\n";
  LinePoint nan(out, "m");
  EXPECT_FALSE(nan.field("ok", 1.0).field("bad", std::nan("")).end(5));
  EXPECT_EQ(nan.refused(), "NaN or infinite field");
  EXPECT_EQ(out, "previous 1\n");

  LinePoint inf(out, "m");
  EXPECT_FALSE(inf.field("bad", std::numeric_limits<double>::infinity()).end(5));
  EXPECT_EQ(out, "previous 1\n");

  LinePoint empty_tag(out, "m");
  EXPECT_FALSE(empty_tag.tag("market", "").field("v", 1.0).end(5));
  EXPECT_EQ(empty_tag.refused(), "empty tag key or value");
  EXPECT_EQ(out, "previous 1\n");

  LinePoint no_field(out, "m");
  EXPECT_FALSE(no_field.tag("a", "b").end(5));
  EXPECT_EQ(no_field.refused(), "no field");
  EXPECT_EQ(out, "previous 1\n");
}

TEST(LinePoint, AllocatesNothingOnceTheBufferIsWarm) {
  std::string out;
  out.reserve(4096);
  const auto* data = out.data();
  for (int i = 0; i < 20; ++i)
    LinePoint(out, "signals").tag("symbol", "BTC").field("score", 1.5 * i).end(1723161255000 + i);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.substr(0, 40), "signals,symbol=BTC score=0 1723161255000");
}

}  // namespace
}  // namespace tickflow
