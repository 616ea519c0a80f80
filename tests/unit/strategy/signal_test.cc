// tests/unit/strategy/signal_test.cc: signal ids and JSON (strategy/signal.h).
#include "strategy/signal.h"

#include <gtest/gtest.h>

#include <string>

namespace tickflow {
namespace {

std::string uuid_text(const Uuid& id) {
  char buf[36];
  format_uuid(id, buf);
  return std::string(buf, 36);
}

TEST(StrategySignal, UuidV5MatchesTheRfcExample) {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
  const Uuid dns = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  EXPECT_EQ(uuid_text(uuid_v5(dns, "python.org")), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST(StrategySignal, SignalIdIsNameBasedAndDeterministic) {
  // Python: uuid.uuid5(uuid.NAMESPACE_URL, "squeezeflow/BTCUSDT/1723161600/LONG").
  EXPECT_EQ(uuid_text(signal_uuid("BTCUSDT", 1723161600, SignalAction::kLong)), "1871ffaf-3e23-50e3-89c2-b0b1838087e4");
  EXPECT_NE(signal_uuid("BTCUSDT", 1723161600, SignalAction::kLong),
            signal_uuid("BTCUSDT", 1723161600, SignalAction::kClose));
}

TEST(StrategySignal, Iso8601Utc) {
  char buf[20];
  format_iso8601_utc(1723161600, buf);
  EXPECT_EQ(std::string(buf, 20), "2024-08-09T00:00:00Z");
  format_iso8601_utc(951868799, buf);  // the end of a leap day
  EXPECT_EQ(std::string(buf, 20), "2000-02-29T23:59:59Z");
  format_iso8601_utc(0, buf);
  EXPECT_EQ(std::string(buf, 20), "1970-01-01T00:00:00Z");
}

TEST(StrategySignal, JsonHasTheSpecsFieldsInOrder) {
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
  copy_text(s.reasoning, "P2 15m \"LONG_SETUP\"\n");
  EXPECT_EQ(to_json(s),
            "{\"signal_id\":\"1871ffaf-3e23-50e3-89c2-b0b1838087e4\",\"timestamp\":\"2024-08-09T00:00:00Z\","
            "\"symbol\":\"BTCUSDT\",\"base_symbol\":\"BTC\",\"action\":\"LONG\",\"score\":8.88,\"confidence\":0.9,"
            "\"position_size_factor\":1.5,\"leverage\":5,\"entry_price\":60123.5,\"ttl\":600,"
            "\"reasoning\":\"P2 15m \\\"LONG_SETUP\\\"\\u000a\",\"strategy\":\"SqueezeFlow\",\"spot_cvd\":1200,"
            "\"perp_cvd\":-300.25,\"divergence\":1500.25}");
  char tiny[16];
  EXPECT_EQ(encode_json(s, tiny, sizeof(tiny)), 0u);  // does not fit: nothing claimed
}

TEST(StrategySignal, TextIsTruncatedNotOverrun) {
  Signal s;
  copy_text(s.base_symbol, "AVERYLONGBASEASSETNAME");
  EXPECT_EQ(std::string(s.base_symbol), "AVERYLONGBASEA");
}

}  // namespace
}  // namespace tickflow
