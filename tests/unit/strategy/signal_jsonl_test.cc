// tests/unit/strategy/signal_jsonl_test.cc: the JSONL signal file
// (strategy/signal_jsonl.h): one encode_json() line per signal, appended
// across reopen, parent directories created, and the error texts naming
// the path (open failure throws; a failed write is counted and logged).
#include "strategy/signal_jsonl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tickflow {
namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("tickflow-jsonl-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Signal make_signal(int i) {
  Signal s;
  copy_text(s.symbol, i % 2 == 0 ? "BTCUSDT" : "ETHUSDT");
  copy_text(s.base_symbol, i % 2 == 0 ? "BTC" : "ETH");
  s.timestamp_s = 1723161600 + 60 * i;
  s.action = i % 3 == 0 ? SignalAction::kLong : SignalAction::kShort;
  s.signal_id = signal_uuid(s.symbol, s.timestamp_s, s.action);
  s.score = 6.25 + i;
  s.entry_price = 60000.5 + i;
  copy_text(s.reasoning, "line \"" + std::to_string(i) + "\"\nwith a newline");
  return s;
}

std::vector<std::string> read_lines(const std::filesystem::path& path, std::string* raw = nullptr) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw != nullptr) *raw = all;
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(all.substr(start, nl - start));
  return lines;
}

TEST(StrategySignalJsonl, EachLineIsTheSignalsJsonAndParentsAreCreated) {
  const auto path = temp_dir("lines") / "a" / "b" / "signals.jsonl";
  {
    SignalJsonlFile file(path);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(file.write(make_signal(i)));
    EXPECT_EQ(file.lines(), 3u);
    EXPECT_EQ(file.errors(), 0u);
    EXPECT_TRUE(file.last_error().empty());
  }
  std::string raw;
  const auto lines = read_lines(path, &raw);
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lines[static_cast<std::size_t>(i)], to_json(make_signal(i)));
  EXPECT_EQ(raw.back(), '\n');
  // The reasoning's newline is escaped in JSON: one signal, one line.
  EXPECT_NE(lines[0].find("\\u000awith a newline"), std::string::npos);
}

TEST(StrategySignalJsonl, AppendsAcrossReopen) {
  const auto path = temp_dir("reopen") / "signals.jsonl";
  {
    SignalJsonlFile file(path);
    EXPECT_TRUE(file.write(make_signal(0)));
    EXPECT_TRUE(file.write(make_signal(1)));
  }
  {
    SignalJsonlFile file(path);
    EXPECT_TRUE(file.write(make_signal(2)));
    EXPECT_EQ(file.lines(), 1u);  // counts this open's lines
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], to_json(make_signal(0)));
  EXPECT_EQ(lines[1], to_json(make_signal(1)));
  EXPECT_EQ(lines[2], to_json(make_signal(2)));
}

TEST(StrategySignalJsonl, UnopenablePathThrowsNamingIt) {
  // A regular file where a parent directory should be: fails even as root.
  const auto dir = temp_dir("unopenable");
  std::ofstream(dir / "not-a-dir") << "x";
  const auto path = dir / "not-a-dir" / "signals.jsonl";
  try {
    SignalJsonlFile file(path);
    FAIL() << "opened " << path;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("signal JSONL file"), std::string::npos) << e.what();
  }
  // A directory as the file itself.
  try {
    SignalJsonlFile file(dir);
    FAIL() << "opened the directory " << dir;
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open signal JSONL file " + dir.string() + ": Is a directory");
  }
}

TEST(StrategySignalJsonl, AFailedWriteIsCountedAndReportedOnceNamingThePath) {
  // /dev/full opens for append and fails every write with ENOSPC.
  std::vector<std::string> logged;
  SignalJsonlFile file("/dev/full", [&](std::string_view m) { logged.emplace_back(m); });
  EXPECT_FALSE(file.write(make_signal(0)));
  EXPECT_FALSE(file.write(make_signal(1)));
  EXPECT_EQ(file.lines(), 0u);
  EXPECT_EQ(file.errors(), 2u);
  EXPECT_EQ(file.last_error(), "cannot write signal to /dev/full: No space left on device");
  ASSERT_EQ(logged.size(), 1u) << "the same problem is logged once";
  EXPECT_EQ(logged[0], file.last_error());
}

}  // namespace
}  // namespace tickflow
