// ProgressBar: the exact text of the replay progress line (bar, percent,
// frames, rate, elapsed, ETA), the compact number and duration formats, and
// the redraw protocol ('\r', padding over a longer line, at most every
// 100 ms, a newline at the end).
#include "runtime/progress_bar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace tickflow {
namespace {

TEST(ProgressBar, RendersTheDocumentedExample) {
  ProgressSample s;
  s.done_bytes = 452;
  s.total_bytes = 1000;
  s.frames = 1'230'000;
  s.elapsed_s = 3.3;
  s.frames_per_s = 812'400;
  // 3.3 s for 45.2 %: the remaining 54.8 % take 4.0 s.
  EXPECT_EQ(ProgressBar::render(s), "[#########-----------]  45.2%  1.23M frames  812k/s  elapsed 0:03  ETA 0:04");
}

TEST(ProgressBar, EmptyAndFull) {
  ProgressSample s;
  s.total_bytes = 1000;
  EXPECT_EQ(ProgressBar::render(s), "[--------------------]   0.0%  0 frames  0/s  elapsed 0:00  ETA ?");
  s.done_bytes = 1000;
  s.frames = 999;
  s.elapsed_s = 61.4;
  s.frames_per_s = 16.27;
  EXPECT_EQ(ProgressBar::render(s), "[####################] 100.0%  999 frames  16/s  elapsed 1:01  ETA 0:00");
}

TEST(ProgressBar, ClampsBytesBeyondTheTotal) {
  // zlib reads ahead of the frames returned; a file may also grow while read.
  ProgressSample s;
  s.done_bytes = 1500;
  s.total_bytes = 1000;
  EXPECT_EQ(ProgressBar::render(s, 4), "[####] 100.0%  0 frames  0/s  elapsed 0:00  ETA 0:00");
}

TEST(ProgressBar, UnknownTotalShowsCountsOnly) {
  ProgressSample s;
  s.done_bytes = 10;
  s.frames = 12'345;
  s.elapsed_s = 7200;
  s.frames_per_s = 1.7;
  EXPECT_EQ(ProgressBar::render(s), "12.3k frames  2/s  elapsed 2:00:00");
}

TEST(ProgressBar, FormatsCountsWithThreeDigits) {
  EXPECT_EQ(ProgressBar::format_count(0), "0");
  EXPECT_EQ(ProgressBar::format_count(999.4), "999");
  EXPECT_EQ(ProgressBar::format_count(999.6), "1.00k");
  EXPECT_EQ(ProgressBar::format_count(1234), "1.23k");
  EXPECT_EQ(ProgressBar::format_count(45'678), "45.7k");
  EXPECT_EQ(ProgressBar::format_count(812'000), "812k");
  EXPECT_EQ(ProgressBar::format_count(999'700), "1.00M");
  EXPECT_EQ(ProgressBar::format_count(2.5e9), "2.50G");
  EXPECT_EQ(ProgressBar::format_count(-1), "?");
}

TEST(ProgressBar, FormatsDurations) {
  EXPECT_EQ(ProgressBar::format_duration(0), "0:00");
  EXPECT_EQ(ProgressBar::format_duration(59.4), "0:59");
  EXPECT_EQ(ProgressBar::format_duration(3599), "59:59");
  EXPECT_EQ(ProgressBar::format_duration(3661), "1:01:01");
  EXPECT_EQ(ProgressBar::format_duration(-1), "?");
}

// What the bar wrote to its stream.
class Captured {
 public:
  Captured() : file_(std::tmpfile()) {}
  ~Captured() { std::fclose(file_); }
  std::FILE* file() const { return file_; }
  std::string text() const {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    for (int c; (c = std::fgetc(file_)) != EOF;) out += static_cast<char>(c);
    return out;
  }

 private:
  std::FILE* file_;
};

TEST(ProgressBar, RedrawsAtMostEvery100MsAndEndsTheLine) {
  Captured out;
  ProgressBar bar(out.file(), 4);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ProgressSample s;
  s.total_bytes = 100;
  s.elapsed_s = 10;
  s.done_bytes = 0;
  bar.update(s, t0);  // the first update draws
  s.done_bytes = 50;
  bar.update(s, t0 + std::chrono::milliseconds(99));  // too soon: skipped
  EXPECT_FALSE(bar.due(t0 + std::chrono::milliseconds(99)));
  EXPECT_TRUE(bar.due(t0 + std::chrono::milliseconds(100)));
  bar.update(s, t0 + std::chrono::milliseconds(100));
  s.done_bytes = 100;
  bar.finish(s);
  const std::string first = "[----]   0.0%  0 frames  0/s  elapsed 0:10  ETA ?";
  const std::string second = "[##--]  50.0%  0 frames  0/s  elapsed 0:10  ETA 0:10";
  // The last line is as long as the one it replaces: no padding.
  const std::string third = "[####] 100.0%  0 frames  0/s  elapsed 0:10  ETA 0:00";
  EXPECT_EQ(out.text(), "\r" + first + "\r" + second + "\r" + third + "\n");
}

TEST(ProgressBar, PadsOverALongerLine) {
  Captured out;
  ProgressBar bar(out.file(), 4);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  ProgressSample s;
  s.total_bytes = 100;
  s.done_bytes = 1;
  s.elapsed_s = 4000;  // ETA 110:00:00
  bar.update(s, t0);
  const std::string longer = ProgressBar::render(s, 4);
  s.done_bytes = 100;
  s.elapsed_s = 5;
  bar.finish(s);
  const std::string shorter = ProgressBar::render(s, 4);
  ASSERT_LT(shorter.size(), longer.size());
  EXPECT_EQ(out.text(), "\r" + longer + "\r" + shorter + std::string(longer.size() - shorter.size(), ' ') + "\n");
}

TEST(ProgressBar, FinishWithoutADrawPrintsNothing) {
  Captured out;
  ProgressBar bar(out.file());
  bar.finish(ProgressSample{});
  EXPECT_EQ(out.text(), "");
}

}  // namespace
}  // namespace tickflow
