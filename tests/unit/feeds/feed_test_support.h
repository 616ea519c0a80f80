// tests/unit/feeds/feed_test_support.h: what the feeds tests share.
//
//  * parse_frame(): copies a test frame into a PaddedFrame (the padding
//    promise every parser relies on) and parses it.
//  * run_capture(): every frame of a capture file through one parser.
//  * run_reference(): an independent Python reference script's figures,
//    the source of truth for captures whose figures are not published
//    (reference_totals.h compares a capture's totals against them);
//  * Malformed and random_bytes(): malformed-frame cases.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/exchange_parser.h"
#include "feeds/padded_frame.h"

namespace tickflow::test {

inline std::string test_data(std::string_view relative) { return std::string(TICKFLOW_TEST_DATA_DIR "/") += relative; }
inline std::string shared_data(std::string_view relative) {
  return std::string(TICKFLOW_SHARED_DATA_DIR "/") += relative;
}
inline bool file_exists(const std::string& path) {
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

inline ParseOutcome parse_frame(ExchangeParser& parser, std::string_view frame, EventBuffer& out,
                                std::int64_t receive_ts_ns = 1'700'000'000'000'000'000) {
  PaddedFrame padded;
  padded.assign(frame);
  return parser.parse(padded.view(), receive_ts_ns, out);
}

// Trades collected from a capture, plus the capture reader's counts.
struct CaptureRun {
  std::vector<Trade> trades;
  std::vector<Quote> quotes;
  CaptureReader::Counts lines;
};

inline CaptureRun run_capture(ExchangeParser& parser, const std::string& path) {
  CaptureRun run;
  CaptureReader reader(path);
  CaptureRecord record;
  EventBuffer events;
  while (reader.next(record)) {
    events.clear();
    parser.parse(record.frame, record.receive_ts_ns, events);
    for (const FeedEvent& e : events) {
      if (e.type == FeedEventType::kTrade) run.trades.push_back(e.trade);
      if (e.type == FeedEventType::kQuote) run.quotes.push_back(e.quote);
    }
  }
  run.lines = reader.counts();
  return run;
}

// Runs `python3 tests/tools/<script> <args>` and returns the figures it
// prints, one per line as `key value` or `key=value` (keys hold neither).
// Empty when the script cannot run or exits non-zero: callers assert it is
// not, after skipping when python3 itself is absent (python_available()).
inline std::map<std::string, std::string> run_reference(const std::string& script, const std::string& args) {
  std::map<std::string, std::string> figures;
  const std::string command = "python3 '" TICKFLOW_SOURCE_DIR "/tests/tools/" + script + "' " + args + " 2>/dev/null";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return figures;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string_view text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    const auto separator = text.find_first_of(" =");
    if (separator == std::string_view::npos) continue;
    figures.emplace(std::string(text.substr(0, separator)), std::string(text.substr(separator + 1)));
  }
  if (pclose(pipe) != 0) figures.clear();
  return figures;
}

inline bool python_available() { return std::system("python3 -c 'import json, gzip' >/dev/null 2>&1") == 0; }

// A malformed frame and the error it must be counted under.
struct Malformed {
  const char* name;
  std::string text;
  ParseError expected;
};

// `n` bytes of deterministic noise, for "random bytes" malformed frames.
inline std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

}  // namespace tickflow::test
