#include "runtime/progress_bar.h"

#include <algorithm>
#include <cmath>

namespace tickflow {

std::string ProgressBar::format_count(double value) {
  char text[32];
  if (!(value >= 0) || !std::isfinite(value)) return "?";
  if (value < 999.5) {
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  static constexpr const char* kSuffixes[] = {"k", "M", "G", "T"};
  double scaled = value;
  for (const char* suffix : kSuffixes) {
    scaled /= 1000;
    // Three significant digits; 999.7k would print as "1000k": use the next
    // suffix instead.
    if (scaled < 999.5 || suffix == kSuffixes[3]) {
      const char* format = scaled < 9.995 ? "%.2f%s" : scaled < 99.95 ? "%.1f%s" : "%.0f%s";
      std::snprintf(text, sizeof text, format, scaled, suffix);
      return text;
    }
  }
  return "?";  // unreachable
}

std::string ProgressBar::format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds) || seconds > 360'000'000) return "?";
  const auto total = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (total < 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  return text;
}

std::string ProgressBar::render(const ProgressSample& sample, int width) {
  std::string line;
  if (sample.total_bytes > 0) {
    const double fraction =
        std::min(1.0, static_cast<double>(sample.done_bytes) / static_cast<double>(sample.total_bytes));
    const int filled = std::clamp(static_cast<int>(fraction * width), 0, width);
    line += '[';
    line.append(static_cast<std::size_t>(filled), '#');
    line.append(static_cast<std::size_t>(width - filled), '-');
    line += ']';
    char percent[16];
    std::snprintf(percent, sizeof percent, " %5.1f%%  ", fraction * 100);
    line += percent;
  }
  line += format_count(static_cast<double>(sample.frames)) + " " + sample.unit + "  ";
  line += format_count(sample.frames_per_s) + "/s  ";
  line += "elapsed " + format_duration(sample.elapsed_s);
  if (sample.total_bytes > 0) {
    // Bytes so far took elapsed_s: the rest goes at the same pace.
    line += "  ETA ";
    if (sample.done_bytes >= sample.total_bytes)
      line += format_duration(0);
    else if (sample.done_bytes == 0 || !(sample.elapsed_s > 0))
      line += "?";
    else
      line += format_duration(sample.elapsed_s * static_cast<double>(sample.total_bytes - sample.done_bytes) /
                              static_cast<double>(sample.done_bytes));
  }
  return line;
}

void ProgressBar::draw(const ProgressSample& sample) {
  std::string line = '\r' + render(sample, width_);
  const std::size_t length = line.size() - 1;
  // Blank out the tail of a longer previous line (e.g. an ETA that shrank).
  if (length < last_length_) line.append(last_length_ - length, ' ');
  last_length_ = length;
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::update(const ProgressSample& sample, std::chrono::steady_clock::time_point now) {
  if (!due(now)) return;
  last_ = now;
  draw(sample);
}

void ProgressBar::finish(const ProgressSample& sample) {
  if (!drawn_) return;
  draw(sample);
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
  last_length_ = 0;
}

}  // namespace tickflow
