// The event types' contract: one cache line, trivially copyable, and the
// tagged union round-trips every kind.
#include "pipeline/events.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ringbuffers/spsc_ring.h"

namespace tickflow {
namespace {

TEST(Events, FitOneCacheLineAndCopyAsBytes) {
  EXPECT_LE(sizeof(Trade), 64u);
  EXPECT_LE(sizeof(Quote), 64u);
  EXPECT_LE(sizeof(FeedStatus), 64u);
  EXPECT_EQ(sizeof(FeedEvent), 64u);
  EXPECT_TRUE(std::is_trivially_copyable_v<FeedEvent>);
}

TEST(Events, TaggedUnionRoundTripsThroughARing) {
  SpscRing<FeedEvent> ring(4);
  Trade t;
  t.exchange_ts_ns = 1723161255342000000;
  t.receive_ts_ns = 1723161256600000000;
  t.trade_id = 3735683259;
  t.price = 61837.63;
  t.qty = 0.02;
  t.market = 3;
  t.side = Side::kSell;
  t.flags = kTradeLiquidation;
  Quote q;
  q.bid_price = 100;
  q.ask_price = 101;
  q.market = 4;
  FeedStatus s;
  s.kind = FeedStatusKind::kGap;
  s.gap_first_id = 10;
  s.gap_last_id = 12;
  ASSERT_TRUE(ring.try_push(FeedEvent::of(t)));
  ASSERT_TRUE(ring.try_push(FeedEvent::of(q)));
  ASSERT_TRUE(ring.try_push(FeedEvent::of(s)));

  FeedEvent e;
  ASSERT_TRUE(ring.try_pop(e));
  ASSERT_EQ(e.type, FeedEventType::kTrade);
  EXPECT_EQ(std::memcmp(&e.trade, &t, sizeof t), 0);
  EXPECT_TRUE(e.trade.is_liquidation());
  EXPECT_FALSE(e.trade.is_buy());
  EXPECT_DOUBLE_EQ(e.trade.notional(), 61837.63 * 0.02);
  ASSERT_TRUE(ring.try_pop(e));
  ASSERT_EQ(e.type, FeedEventType::kQuote);
  EXPECT_EQ(e.quote.market, 4u);
  EXPECT_EQ(e.quote.ask_price, 101);
  ASSERT_TRUE(ring.try_pop(e));
  ASSERT_EQ(e.type, FeedEventType::kStatus);
  EXPECT_EQ(e.status.kind, FeedStatusKind::kGap);
  EXPECT_EQ(e.status.gap_last_id, 12u);
}

}  // namespace
}  // namespace tickflow
