// tests/unit/feeds/log_escape_test.cc
//
// escape_log_text(): network bytes quoted in log lines cannot forge a line
// or reach a terminal raw.
#include <gtest/gtest.h>

#include <string>

#include "feeds/log_escape.h"

namespace tickflow {
namespace {

TEST(LogEscape, PrintableAsciiAndBackslashesAreUnchanged) {
  EXPECT_EQ(escape_log_text(R"({"s":"BTCUSDT","x":"a\"b\\"})"), R"({"s":"BTCUSDT","x":"a\"b\\"})");
  EXPECT_EQ(escape_log_text(""), "");
}

TEST(LogEscape, ControlCharactersAreEscaped) {
  EXPECT_EQ(escape_log_text("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(escape_log_text("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(escape_log_text(std::string("nul\0x\x7f", 6)), "nul\\x00x\\x7f");
  // A forged log line stays on one line.
  EXPECT_EQ(escape_log_text("x\n2026-01-01T00:00:00.000Z error [tf-main] forged"),
            "x\\n2026-01-01T00:00:00.000Z error [tf-main] forged");
}

TEST(LogEscape, ValidUtf8IsKeptAndEverythingElseIsHex) {
  EXPECT_EQ(escape_log_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(escape_log_text("\xc2\x9b"
                            "31m"),
            "\\xc2\\x9b31m");  // C1 CSI
  EXPECT_EQ(escape_log_text("a\xe2\x80\xa8"
                            "b"),
            "a\\xe2\\x80\\xa8b");  // U+2028 line separator
  EXPECT_EQ(escape_log_text("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escape_log_text("\x80x"), "\\x80x");                           // stray continuation
  EXPECT_EQ(escape_log_text("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_log_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(escape_log_text("\xe2\x82"), "\\xe2\\x82");                    // truncated
  EXPECT_EQ(escape_log_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(LogEscape, IsIdempotentAndCutsAtMaxBytes) {
  const std::string hostile = "a\n\x1b\xff\\n";
  EXPECT_EQ(escape_log_text(escape_log_text(hostile)), escape_log_text(hostile));
  EXPECT_EQ(escape_log_text("abcdef", 3), "abc...");
  EXPECT_EQ(escape_log_text("abc", 3), "abc");
  EXPECT_EQ(escape_log_text("a\nbc", 2), "a\\n...");
}

}  // namespace
}  // namespace tickflow
