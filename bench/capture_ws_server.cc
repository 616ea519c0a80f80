// bench/capture_ws_server.cc
//
// capture_ws_server: the exchange side of scripts/bus_demo.sh. It serves
// the bundled Binance 2024-08-08 @trade captures
// (tests/data/binance-20240808-trades: spot btcusdt + ethusdt on one
// BINANCE connection, USD-M btcusdt + ethusdt on one BINANCE_FUTURES
// connection) over local TLS websockets (tests/integration/ws_test_server.h,
// one server per venue, self-signed CA for IP:127.0.0.1) to one collector.
//
//   capture_ws_server [--data DIR] [--now-ms T] [--drop-after N] [--resume-overlap K]
//
// It prints shell-readable lines on stdout, then serves:
//   SHIFT_MS=<ms added to every "E" and "T">
//   FRAMES=<frames in all>
//   BINANCE_PORT=<port>, BINANCE_CA_FILE=<the certificate to trust>
//   BINANCE_FUTURES_PORT=<port>, BINANCE_FUTURES_CA_FILE=<...>
//   READY=1
// and, once every frame is written, DONE=1. It exits on SIGTERM or SIGINT
// (or, with --exit-after-done-ms M, M ms after DONE).
//
// Times: every trade moves by SHIFT_MS, a whole number of minutes chosen so
// that the first trade lands in the minute before --now-ms (default: now).
// A live pipeline then takes the trades as recent, and its 1-minute bars
// are the captures' bars moved by SHIFT_MS: the same buckets, the same
// trades. Two servers given the same --now-ms send identical frames (the
// A/B collectors of the demo).
//
// Misbehaviour for the demo's collector B: --drop-after N closes each
// venue's first connection after N frames; the collector reconnects and
// gets the rest, the last K (--resume-overlap) frames again.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "feeds/capture_reader.h"
#include "tests/integration/ws_test_server.h"

namespace {

struct Venue {
  const char* name;
  std::vector<const char*> captures;
};

const std::vector<Venue> kVenues = {
    {"BINANCE", {"spot_btcusdt.gz", "spot_ethusdt.gz"}},
    {"BINANCE_FUTURES", {"usdm_btcusdt.gz", "usdm_ethusdt.gz"}},
};

struct Frame {
  std::int64_t receive_ns = 0;
  std::string text;
};

// Where the digits after `key` sit in a frame.
std::pair<std::size_t, std::size_t> digits_after(const std::string& frame, const char* key) {
  std::size_t at = frame.find(key);
  if (at == std::string::npos) throw std::runtime_error(std::string("no ") + key + " in " + frame);
  at += std::char_traits<char>::length(key);
  std::size_t end = at;
  while (end < frame.size() && frame[end] >= '0' && frame[end] <= '9') ++end;
  if (end == at) throw std::runtime_error(std::string("no number after ") + key + " in " + frame);
  return {at, end - at};
}

std::int64_t trade_ms(const std::string& frame) {
  const auto [at, len] = digits_after(frame, "\"T\":");
  return std::stoll(frame.substr(at, len));
}

// Moves "E" and "T" by shift_ms (13-digit ms stay 13 digits for decades).
void shift(std::string& frame, std::int64_t shift_ms) {
  for (const char* key : {"\"E\":", "\"T\":"}) {
    const auto [at, len] = digits_after(frame, key);
    const std::string moved = std::to_string(std::stoll(frame.substr(at, len)) + shift_ms);
    if (moved.size() != len) throw std::runtime_error("shifting changes the digit count of " + frame);
    frame.replace(at, len, moved);
  }
}

// One venue's captures, merged in receive order (as one connection got them).
std::vector<Frame> load(const std::string& dir, const Venue& venue) {
  std::vector<Frame> frames;
  for (const char* file : venue.captures) {
    tickflow::CaptureReader reader(dir + "/" + file);
    tickflow::CaptureRecord record;
    while (reader.next(record)) frames.push_back({record.receive_ts_ns, std::string(record.frame)});
  }
  std::stable_sort(frames.begin(), frames.end(),
                   [](const Frame& a, const Frame& b) { return a.receive_ns < b.receive_ns; });
  return frames;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serves the bundled Binance captures over local TLS websockets (scripts/bus_demo.sh)"};
  std::string dir = std::string(TICKFLOW_SOURCE_DIR) + "/tests/data/binance-20240808-trades";
  std::int64_t now_ms = 0;
  std::size_t drop_after = 0;
  std::size_t resume_overlap = 100;
  int exit_after_done_ms = -1;
  app.add_option("--data", dir, "the captures' folder");
  app.add_option("--now-ms", now_ms, "the first trade lands in the minute before this (ms since the epoch; 0: now)");
  app.add_option("--drop-after", drop_after, "close each venue's first connection after this many frames (0: never)");
  app.add_option("--resume-overlap", resume_overlap, "frames sent again to a reconnecting client");
  app.add_option("--exit-after-done-ms", exit_after_done_ms,
                 "exit this long after every frame is written (-1: on SIGTERM)");
  CLI11_PARSE(app, argc, argv);

  // SIGTERM / SIGINT are taken synchronously by the main thread; the
  // servers' threads (started below) inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    std::vector<std::vector<Frame>> venues;
    std::int64_t first_ms = INT64_MAX;
    for (const Venue& venue : kVenues) {
      venues.push_back(load(dir, venue));
      for (const Frame& f : venues.back()) first_ms = std::min(first_ms, trade_ms(f.text));
    }
    if (now_ms == 0) now_ms = wall_ms();
    // Whole minutes: the first trade in [now - 60 s, now).
    const std::int64_t shift_ms = ((now_ms - first_ms - 1) / 60'000) * 60'000;

    std::vector<std::unique_ptr<tickflow::testing::WsTestServer>> servers;
    std::vector<std::size_t> sizes;
    std::size_t total = 0;
    for (std::vector<Frame>& venue : venues) {
      std::vector<std::string> texts;
      texts.reserve(venue.size());
      for (Frame& f : venue) {
        shift(f.text, shift_ms);
        texts.push_back(std::move(f.text));
      }
      sizes.push_back(texts.size());
      total += texts.size();
      servers.push_back(std::make_unique<tickflow::testing::WsTestServer>(
          tickflow::testing::WsServerBehavior{.protocol = tickflow::testing::WsProtocol::kBinance,
                                              .frames = std::move(texts),
                                              .drop_after = drop_after,
                                              .resume_overlap = resume_overlap}));
    }
    std::printf("SHIFT_MS=%lld\nFRAMES=%zu\n", static_cast<long long>(shift_ms), total);
    for (std::size_t v = 0; v < kVenues.size(); ++v)
      std::printf("%s_PORT=%u\n%s_CA_FILE=%s\n", kVenues[v].name, servers[v]->port(), kVenues[v].name,
                  servers[v]->ca_file().c_str());
    std::printf("READY=1\n");
    std::fflush(stdout);

    bool done = false;
    auto done_at = std::chrono::steady_clock::now();
    for (;;) {
      const timespec tick{0, 100'000'000};
      if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
      if (!done) {
        done = true;
        for (std::size_t v = 0; v < servers.size(); ++v) done = done && servers[v]->frames_written() >= sizes[v];
        if (done) {
          done_at = std::chrono::steady_clock::now();
          std::printf("DONE=1\n");
          std::fflush(stdout);
        }
      }
      if (done && exit_after_done_ms >= 0 &&
          std::chrono::steady_clock::now() - done_at >= std::chrono::milliseconds(exit_after_done_ms))
        break;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capture_ws_server: %s\n", e.what());
    return 1;
  }
}
