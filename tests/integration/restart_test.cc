// tests/integration/restart_test.cc
//
// Restart safety of `tickflow run` (issue 15), end to end: the real binary,
// a real influxd, a local exchange that keeps trading while tickflow is down
// (PacedWsServer: Binance spot BTCUSDT @trade frames of the 2024-08-08
// capture, re-timed so they trade in real time now; on every connection it
// first re-sends the last `resend_window` of trades, as exchanges do), and
// its REST trade history (binance_history.h on a RestTestServer).
//
// Every stored bar is compared with a reference computed here, independently
// of the pipeline, from the trades the exchange published: 1 s bars bucketed
// on exchange time (floor(T / 1 s)), taker side from Binance's `m` (buyer is
// maker: the taker sold), open/close the earliest/latest exchange time (first
// /last in id order on a tie), v = sum price * qty, q = sum qty, c = counts;
// rollups (1m ... 4h) the left fold of those 1 s bars in time order
// (pipeline/bar_builder.h, pipeline/rollup.h). Counts, OHLC and the
// liquidation fields must be equal exactly; vbuy/vsell/qbuy/qsell within
// 1e-9 relative (a backfilled trade is added in another order than live).
//
// The tests:
//  * Baseline: one run, no restart, every bar equal. Passes without the
//    restart checkpoint: it checks the harness and the reference.
//  * ThreeKillsLoseNothing: SIGKILL at three points, each followed by a
//    restart 3 s later: mid-second (x.500), 200 ms after a minute boundary
//    (1m windows span the restart), and with InfluxDB down for 4 s before
//    the kill (bars in the spool; influxd back before the restart). The
//    first two restarts get the 15 s re-send (duplicates to drop); the
//    spool one a 1 s re-send, so the restart sees an id gap that the REST
//    backfill heals. After a final SIGTERM every 1 s bar and every rollup
//    must equal the reference: same keys, same fields.
//  * LostHistoryIsReportedNeverWrittenPartially: the REST history answers
//    404; one SIGKILL, restart with no re-send. Every stored 1 s bar equals
//    the reference (none partial), every second before the checkpoint and
//    from the first whole second after the restart is stored, and the log
//    names the gap with its exact id range and count and a failed backfill.
//
// The three kills are placed in whatever order ends soonest, since the
// minute boundary comes when it comes (planned_kills()).
#include <gtest/gtest.h>
#include <signal.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "feeds/capture_reader.h"
#include "pipeline/bar.h"
#include "pipeline/timeframe.h"
#include "tests/integration/binance_history.h"
#include "tests/integration/influx_points.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/paced_ws_server.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/tickflow_child.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::InfluxdProcess;
using testing::PacedFrame;
using testing::PacedWsServer;
using testing::PointFields;
using testing::PointKey;
using testing::Points;
using testing::RestReply;
using testing::RestTestServer;
using testing::TempDir;
using testing::Tickflow;
namespace fs = std::filesystem;

const std::string kMarket = "BINANCE:btcusdt";
constexpr std::size_t kSpotTrades = 9757;  // tests/data/README.md

// ------------------------------------------------------------------ the exchange's trades

struct SpotTrade {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;  // Binance "T", re-timed
  double price = 0;
  double qty = 0;
  bool buyer_is_maker = false;  // the taker sold
};

double quoted_number(const std::string& token) {
  if (token.size() < 3 || token.front() != '"' || token.back() != '"')
    throw std::runtime_error("not a quoted number: " + token);
  return std::strtod(token.substr(1, token.size() - 2).c_str(), nullptr);
}

SpotTrade parse_trade(const std::string& frame) {
  SpotTrade t;
  t.id = std::stoull(testing::frame_token(frame, "t"));
  t.time_ms = std::stoll(testing::frame_token(frame, "T"));
  t.price = quoted_number(testing::frame_token(frame, "p"));
  t.qty = quoted_number(testing::frame_token(frame, "q"));
  const std::string m = testing::frame_token(frame, "m");
  if (m != "true" && m != "false") throw std::runtime_error("no \"m\" in " + frame);
  t.buyer_is_maker = m == "true";
  return t;
}

const std::vector<std::string>& capture_frames() {
  static const std::vector<std::string> frames = [] {
    CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/binance-20240808-trades/spot_btcusdt.gz");
    CaptureRecord rec;
    std::vector<std::string> out;
    while (reader.next(rec))
      if (!rec.binary) out.emplace_back(rec.frame);
    return out;
  }();
  return frames;
}

// The capture re-timed so that its first trade falls in second `first_s`
// (whole seconds added: the bucketing is unchanged), cut before `end_ms`.
struct Market {
  std::vector<PacedFrame> frames;
  std::vector<SpotTrade> trades;  // frames[i] is trades[i]; id order = time order
};

Market market_from(std::int64_t first_s, std::int64_t end_ms) {
  const std::vector<std::string>& capture = capture_frames();
  if (capture.size() != kSpotTrades) throw std::runtime_error("capture has " + std::to_string(capture.size()));
  const std::int64_t shift_ms = (first_s - testing::trade_time_ms(capture.front()) / 1000) * 1000;
  std::vector<std::string> shifted = testing::shift_frames(capture, shift_ms);
  Market m;
  for (std::string& f : shifted) {
    SpotTrade t = parse_trade(f);
    if (t.time_ms >= end_ms) break;
    m.frames.push_back({t.time_ms, std::move(f)});
    m.trades.push_back(t);
  }
  return m;
}

// ------------------------------------------------------------------ the reference

std::int64_t second_of(const SpotTrade& t) { return t.time_ms / 1000; }  // times are positive

PointFields fields_of(const Bar& b) {
  return {{"open", b.open}, {"high", b.high},   {"low", b.low},   {"close", b.close},
          {"vbuy", b.vbuy}, {"vsell", b.vsell}, {"cbuy", b.cbuy}, {"csell", b.csell},
          {"lbuy", b.lbuy}, {"lsell", b.lsell}, {"qbuy", b.qbuy}, {"qsell", b.qsell}};
}

// Second -> its 1 s bar, trades taken in `trades`' order (arrival = id order).
std::map<std::int64_t, Bar> reference_seconds(const std::vector<SpotTrade>& trades) {
  struct Times {
    std::int64_t open_ms, close_ms;
  };
  std::map<std::int64_t, Bar> bars;
  std::map<std::int64_t, Times> times;
  for (const SpotTrade& t : trades) {
    const std::int64_t s = second_of(t);
    const auto [it, fresh] = bars.try_emplace(s);
    Bar& b = it->second;
    if (fresh) {
      b.open_time_s = s;
      b.open = b.high = b.low = b.close = t.price;
      times[s] = {t.time_ms, t.time_ms};
    } else {
      Times& tt = times[s];
      if (t.time_ms < tt.open_ms) tt.open_ms = t.time_ms, b.open = t.price;      // a tie keeps the first
      if (t.time_ms >= tt.close_ms) tt.close_ms = t.time_ms, b.close = t.price;  // a tie takes the last
      b.high = std::max(b.high, t.price);
      b.low = std::min(b.low, t.price);
    }
    const double notional = t.price * t.qty;
    if (t.buyer_is_maker) {
      b.vsell += notional;
      b.qsell += t.qty;
      b.csell += 1;
    } else {
      b.vbuy += notional;
      b.qbuy += t.qty;
      b.cbuy += 1;
    }
  }
  return bars;
}

// trades_1s and every default rollup, keyed as influx_points.h keys them.
Points reference_points(const std::vector<SpotTrade>& trades) {
  Points out;
  const std::map<std::int64_t, Bar> seconds = reference_seconds(trades);
  for (const auto& [s, bar] : seconds) out[{"trades_1s", kMarket, s}] = fields_of(bar);
  for (const Timeframe& tf : default_rollup_timeframes()) {
    std::map<std::int64_t, Bar> windows;
    for (const auto& [s, child] : seconds) {  // time order: the left fold
      const auto [it, fresh] = windows.try_emplace(tf.window_start(s));
      Bar& w = it->second;
      if (fresh) {
        w.open = child.open, w.high = child.high, w.low = child.low;
      } else {
        w.high = std::max(w.high, child.high);
        w.low = std::min(w.low, child.low);
      }
      w.close = child.close;
      w.vbuy += child.vbuy, w.vsell += child.vsell, w.cbuy += child.cbuy, w.csell += child.csell;
      w.qbuy += child.qbuy, w.qsell += child.qsell;
    }
    for (const auto& [start, bar] : windows) out[{"trades_" + std::string(tf.name()), kMarket, start}] = fields_of(bar);
  }
  return out;
}

// ------------------------------------------------------------------ comparing

std::string describe(const PointKey& k) {
  return std::get<0>(k) + " " + std::get<1>(k) + " @" + std::to_string(std::get<2>(k));
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

bool summed_field(const std::string& name) {
  return name == "vbuy" || name == "vsell" || name == "qbuy" || name == "qsell";
}

// Empty when `stored` is `want` (counts, OHLC, l* exact; v*, q* to 1e-9
// relative); else every difference, "cbuy expected 12, stored 7".
std::string bar_difference(const PointFields& want, const PointFields& stored) {
  std::string out;
  for (const auto& [name, w] : want) {
    const auto it = stored.find(name);
    if (it == stored.end()) {
      out += name + " expected " + number(w) + ", not stored; ";
      continue;
    }
    const double g = it->second;
    const bool equal = summed_field(name) ? std::fabs(g - w) <= 1e-9 * std::max(std::fabs(w), std::fabs(g)) : g == w;
    if (!equal) out += name + " expected " + number(w) + ", stored " + number(g) + "; ";
  }
  for (const auto& [name, g] : stored)
    if (want.count(name) == 0) out += name + " stored " + number(g) + ", not expected; ";
  return out;
}

// Collects failures, reports the first few in full and the total.
class Report {
 public:
  explicit Report(std::string what) : what_(std::move(what)) {}
  ~Report() { EXPECT_EQ(count_, 0u) << what_ << ": " << count_ << " differences (first ones reported above)"; }
  void add(const std::string& text) {
    if (count_++ < 12) ADD_FAILURE() << what_ << ": " << text;
  }

 private:
  std::string what_;
  std::size_t count_ = 0;
};

Points only(const Points& points, const std::string& measurement) {
  Points out;
  for (const auto& [key, fields] : points)
    if (std::get<0>(key) == measurement) out.emplace(key, fields);
  return out;
}

// Same keys and the same bars, measurement by measurement: the number of
// bars and the first and last bar time exactly, then each bar.
void expect_same_bars(const Points& expected, const Points& stored, const std::string& what) {
  std::vector<std::string> measurements = {"trades_1s"};
  for (const Timeframe& tf : default_rollup_timeframes()) measurements.push_back("trades_" + std::string(tf.name()));
  for (const std::string& m : measurements) {
    const Points want = only(expected, m), got = only(stored, m);
    ASSERT_FALSE(want.empty()) << m;
    EXPECT_EQ(got.size(), want.size()) << what << ": number of " << m << " bars of " << kMarket;
    if (!got.empty()) {
      EXPECT_EQ(std::get<2>(got.begin()->first), std::get<2>(want.begin()->first)) << what << ": first " << m << " bar";
      EXPECT_EQ(std::get<2>(got.rbegin()->first), std::get<2>(want.rbegin()->first))
          << what << ": last " << m << " bar";
    }
  }
  Report report(what);
  for (const auto& [key, fields] : expected) {
    const auto it = stored.find(key);
    if (it == stored.end()) {
      report.add("missing " + describe(key) + " (expected cbuy " + number(fields.at("cbuy")) + ", csell " +
                 number(fields.at("csell")) + ")");
    } else if (const std::string d = bar_difference(fields, it->second); !d.empty()) {
      report.add(describe(key) + ": " + d);
    }
  }
  for (const auto& [key, fields] : stored)
    if (expected.count(key) == 0) report.add("unexpected stored bar " + describe(key));
}

Points stored_points(const InfluxdProcess& influx) {
  Points out;
  testing::query_points(influx, "aggr_1s", "trades_1s", out);
  for (const Timeframe& tf : default_rollup_timeframes())
    testing::query_points(influx, "aggr_" + std::string(tf.name()), "trades_" + std::string(tf.name()), out);
  return out;
}

// ------------------------------------------------------------------ the checkpoint

// One market's line of the checkpoint file, read by its documented text
// format (runtime/restart_checkpoint.h), independently of the decoder.
struct CheckpointLine {
  bool crc_ok = false;
  bool found = false;
  std::int64_t closed_until_s = 0;  // every 1 s bar before it is sealed
  std::uint64_t trade_id = 0;       // newest trade id of the sealed seconds
  std::int64_t exchange_ns = 0;     // newest exchange time of the sealed seconds
};

std::optional<CheckpointLine> read_checkpoint(const fs::path& file) {
  if (!fs::exists(file)) return std::nullopt;
  const std::string text = testing::read_file(file);
  CheckpointLine c;
  const std::size_t crc_at = text.rfind("crc32 ");
  if (crc_at != std::string::npos && (crc_at == 0 || text[crc_at - 1] == '\n')) {
    const uLong crc = ::crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(crc_at));
    c.crc_ok = std::stoul(text.substr(crc_at + 6, 8), nullptr, 16) == crc;
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string kind, name;
    words >> kind >> name;
    if (kind != "market" || name != kMarket) continue;
    c.found = static_cast<bool>(words >> c.closed_until_s >> c.trade_id >> c.exchange_ns);
  }
  return c;
}

// The checkpoint left by a SIGKILL at `kill_ms` must name, for the sealed
// seconds (before closed_until_s), exactly their newest trade id and time,
// and be fresh: sealed at most 4 s behind the kill.
std::optional<CheckpointLine> expect_consistent_checkpoint(const fs::path& file, const Market& m, std::int64_t kill_ms,
                                                           const std::string& when) {
  const auto c = read_checkpoint(file);
  if (!c) {
    ADD_FAILURE() << when << ": no checkpoint file " << file;
    return std::nullopt;
  }
  EXPECT_TRUE(c->crc_ok) << when << ": checkpoint CRC\n" << testing::read_file(file);
  if (!c->found) {
    ADD_FAILURE() << when << ": no market line for " << kMarket << " in\n" << testing::read_file(file);
    return std::nullopt;
  }
  std::uint64_t newest_id = 0;
  std::int64_t newest_ms = 0;
  for (const SpotTrade& t : m.trades)
    if (second_of(t) < c->closed_until_s)
      newest_id = std::max(newest_id, t.id), newest_ms = std::max(newest_ms, t.time_ms);
  EXPECT_EQ(c->trade_id, newest_id) << when << ": checkpoint trade id, closed_until_s " << c->closed_until_s;
  EXPECT_EQ(c->exchange_ns, newest_ms * 1'000'000)
      << when << ": checkpoint exchange time, closed_until_s " << c->closed_until_s;
  EXPECT_LE(c->closed_until_s * 1000, kill_ms) << when << ": sealed a second that had not ended at the kill";
  EXPECT_GE(c->closed_until_s, kill_ms / 1000 - 4) << when << ": checkpoint older than 4 s at the kill";
  return c;
}

// ------------------------------------------------------------------ tickflow runs

fs::path write_config(const fs::path& dir, const PacedWsServer& ws, const std::string& rest_url,
                      const std::string& influx_url) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = true\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << ws.port() << "\nca_file = \"" << ws.ca_file()
    << "\"\nrest_url = \"" << rest_url << "\"\n\n"
    << "[influx]\nenabled = true\nurl = \"" << influx_url << "\"\nbatch_age_ms = 20\nspool_dir = \""
    << (dir / "spool").string() << "\"\n\n"
    << "[shutdown]\ndeadline_ms = 10000\n";
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

// The successive tickflow processes of one test, each with its own stderr
// file and metrics port.
class Runs {
 public:
  Runs(fs::path config, fs::path dir) : config_(std::move(config)), dir_(std::move(dir)) {}

  void start() {
    port_ = testing::free_loopback_port();
    ++count_;
    child_ = std::make_unique<Tickflow>(std::vector<std::string>{"run", "--config", config_.string(), "--unpinned",
                                                                 "--http-port", std::to_string(port_)},
                                        stderr_of(count_));
  }
  // SIGKILL; false (with a failure) when it had already exited.
  bool kill() {
    const bool was_running = child_->running();
    if (!was_running) ADD_FAILURE() << "run " << count_ << " exited before its SIGKILL:\n" << child_->log();
    child_->signal(SIGKILL);
    child_->wait(10s);
    child_.reset();
    return was_running;
  }
  // SIGTERM; the exit status (nullopt: still running after 30 s).
  std::optional<int> stop() {
    child_->signal(SIGTERM);
    const auto status = child_->wait(30s);
    child_.reset();
    return status;
  }
  std::string metrics() const { return testing::http_get(port_, "/metrics").body; }
  fs::path stderr_of(int run) const { return dir_ / ("run" + std::to_string(run) + ".stderr"); }
  std::string log(int run) const { return testing::read_file(stderr_of(run)); }
  std::string all_logs() const {
    std::string out;
    for (int i = 1; i <= count_; ++i) out += "---- run " + std::to_string(i) + "\n" + log(i);
    return out;
  }
  int count() const noexcept { return count_; }

 private:
  fs::path config_, dir_;
  std::unique_ptr<Tickflow> child_;
  int port_ = 0;
  int count_ = 0;
};

void sleep_until_ms(std::int64_t wall_ms) {
  std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::milliseconds(wall_ms)));
}

std::int64_t ceil_to(std::int64_t ms, std::int64_t unit) { return (ms + unit - 1) / unit * unit; }

// ------------------------------------------------------------------ the kill plan

enum class Kill { kMidSecond, kAfterMinute, kSpooled };

const char* to_string(Kill k) {
  return k == Kill::kMidSecond ? "mid-second" : k == Kill::kAfterMinute ? "after a minute boundary" : "spooled";
}

constexpr std::int64_t kFirstKillAfterMs = 7000;  // the first run runs this long at least
constexpr std::int64_t kDownMs = 3000;            // killed -> restarted
constexpr std::int64_t kUpMs = 5000;              // restarted -> the next kill (or its influxd stop)
constexpr std::int64_t kSpoolMs = 4000;           // influxd down before the spooled kill
constexpr std::int64_t kTailMs = 6000;            // the last restart runs this long

struct PlannedKill {
  Kill kind;
  std::int64_t at_ms;  // wall clock
};

// The first time at or after `earliest_ms` that suits `kind`.
std::int64_t kill_time(Kill kind, std::int64_t earliest_ms) {
  switch (kind) {
    case Kill::kMidSecond: return ceil_to(earliest_ms - 500, 1000) + 500;
    case Kill::kAfterMinute: return ceil_to(earliest_ms - 200, 60'000) + 200;
    case Kill::kSpooled: return earliest_ms + kSpoolMs;  // influxd stops at earliest_ms
  }
  return earliest_ms;
}

// The order of the three kills that ends soonest after `start_ms`.
std::vector<PlannedKill> planned_kills(std::int64_t start_ms) {
  std::array<Kill, 3> order = {Kill::kMidSecond, Kill::kAfterMinute, Kill::kSpooled};
  std::vector<PlannedKill> best;
  do {
    std::vector<PlannedKill> plan;
    std::int64_t earliest = start_ms + kFirstKillAfterMs;
    for (Kill k : order) {
      const std::int64_t at = kill_time(k, earliest);
      plan.push_back({k, at});
      earliest = at + kDownMs + kUpMs;
    }
    if (best.empty() || plan.back().at_ms < best.back().at_ms) best = plan;
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

// ------------------------------------------------------------------ the log

// The feed's line for the ids between the checkpoint's and the first one a
// restart received; nullopt when there are none.
std::optional<std::string> gap_line(std::uint64_t checkpoint_id, std::uint64_t first_received_id) {
  if (first_received_id <= checkpoint_id + 1) return std::nullopt;
  const std::uint64_t from = checkpoint_id + 1, to = first_received_id - 1;
  return "gap on " + kMarket + ": ids " + std::to_string(from) + ".." + std::to_string(to) + " missing (" +
         std::to_string(to - from + 1) + " trades)";
}

bool has_failed_backfill(const std::string& log) {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.find("backfill: ") != std::string::npos && line.find(" failed") != std::string::npos) return true;
  return false;
}

// ------------------------------------------------------------------ the tests

RestReply history_or_404(const PacedWsServer* ws, const std::string& target) {
  if (ws == nullptr) return {404, R"({"code":-1,"msg":"not found"})"};
  return testing::binance_history_reply(ws->frames(), "BTCUSDT", target, testing::now_ms());
}

// The reference itself: every trade once, every second of the span.
void check_reference(const Market& m) {
  ASSERT_GT(m.trades.size(), 100u);
  for (std::size_t i = 1; i < m.trades.size(); ++i) ASSERT_EQ(m.trades[i].id, m.trades[i - 1].id + 1) << i;
  const Points ref = only(reference_points(m.trades), "trades_1s");
  double trades = 0;
  for (const auto& [key, f] : ref) trades += f.at("cbuy") + f.at("csell");
  ASSERT_EQ(trades, static_cast<double>(m.trades.size()));
}

// Without a restart: every bar equal. The harness's own check.
TEST(Restart, BaselineWithoutRestartMatchesReference) {
  InfluxdProcess influx;
  TempDir dir("restart-baseline");
  const std::int64_t now = testing::now_ms();
  const std::int64_t end_ms = ceil_to(now + 9'000, 1000);
  const Market m = market_from(now / 1000 + 1, end_ms);
  check_reference(m);
  PacedWsServer ws({.frames = m.frames});
  RestTestServer rest([&ws](const std::string& target) { return history_or_404(&ws, target); });
  Runs runs(write_config(dir.path, ws, rest.base_url(), influx.url()), dir.path);
  runs.start();
  sleep_until_ms(end_ms + 1000);
  EXPECT_EQ(ws.sent_through(), m.frames.size());
  const auto status = runs.stop();
  ASSERT_EQ(status, std::optional<int>(0)) << runs.all_logs();
  EXPECT_EQ(ws.connections().size(), 1u);
  expect_same_bars(reference_points(m.trades), stored_points(influx), "no restart");
}

TEST(Restart, ThreeKillsLoseNothing) {
  InfluxdProcess influx;
  TempDir dir("restart-kills");
  const std::int64_t now = testing::now_ms();
  const std::vector<PlannedKill> kills = planned_kills(now + 300);
  const std::int64_t end_ms = ceil_to(kills.back().at_ms + kDownMs + kTailMs, 1000);
  const Market m = market_from(now / 1000 + 1, end_ms);
  check_reference(m);
  PacedWsServer ws({.frames = m.frames, .resend_window = 15s});
  RestTestServer rest([&ws](const std::string& target) { return history_or_404(&ws, target); });
  Runs runs(write_config(dir.path, ws, rest.base_url(), influx.url()), dir.path);
  const fs::path checkpoint = dir.path / "checkpoint";  // the default: beside spool_dir
  std::string plan;
  for (const PlannedKill& k : kills) plan += std::string(to_string(k.kind)) + " at " + std::to_string(k.at_ms) + "; ";
  SCOPED_TRACE("start " + std::to_string(now) + ", kills: " + plan + "end " + std::to_string(end_ms));

  std::vector<std::optional<CheckpointLine>> sealed;  // per kill
  runs.start();
  for (const PlannedKill& k : kills) {
    const std::string when = std::string("kill ") + to_string(k.kind) + " at " + std::to_string(k.at_ms);
    if (k.kind == Kill::kSpooled) {
      sleep_until_ms(k.at_ms - kSpoolMs);
      influx.stop();
    }
    sleep_until_ms(k.at_ms);
    if (k.kind == Kill::kSpooled) {  // not the feature: the spool works today
      EXPECT_GT(testing::metric(runs.metrics(), "tickflow_spool_bytes").value_or(0), 0.0) << when;
    }
    ASSERT_TRUE(runs.kill()) << when << "\n" << runs.all_logs();
    sealed.push_back(expect_consistent_checkpoint(checkpoint, m, k.at_ms, when));  // FEATURE
    if (k.kind == Kill::kSpooled) influx.start();
    // The spooled restart sees an id gap (1 s re-sent of ~4 s down), healed
    // by the REST backfill; the others get 15 s of duplicates.
    ws.set_resend_window(k.kind == Kill::kSpooled ? 1s : 15s);
    sleep_until_ms(k.at_ms + kDownMs);
    runs.start();
  }
  sleep_until_ms(end_ms + 1000);
  EXPECT_EQ(ws.sent_through(), m.frames.size());
  const auto status = runs.stop();
  ASSERT_EQ(status, std::optional<int>(0)) << runs.all_logs();
  const std::vector<testing::PacedConnection> connections = ws.connections();
  ASSERT_EQ(connections.size(), 4u);
  // FEATURE: each restart resumed its ids from the checkpoint. After a 15 s
  // re-send the ids run on (the re-sent ones before the checkpoint are
  // duplicates): no gap. After the 1 s re-send, the gap is exactly
  // [checkpoint id + 1, first id re-sent - 1], and the backfill healed it.
  for (std::size_t i = 0; i < kills.size(); ++i) {
    const std::string when = std::string("restart after the ") + to_string(kills[i].kind) + " kill";
    const std::string log = runs.log(static_cast<int>(i) + 2);
    ASSERT_LT(connections[i + 1].first_frame, m.trades.size()) << when;
    const std::optional<std::string> gap =
        sealed[i] ? gap_line(sealed[i]->trade_id, m.trades[connections[i + 1].first_frame].id) : std::nullopt;
    if (kills[i].kind == Kill::kSpooled && gap) {
      EXPECT_NE(log.find(*gap), std::string::npos) << when << ": no '" << *gap << "' in\n" << log;
    } else {
      EXPECT_EQ(log.find("gap on "), std::string::npos) << when << ": a gap where no id is missing:\n" << log;
    }
    EXPECT_FALSE(has_failed_backfill(log)) << when << ":\n" << log;
  }
  // FEATURE: every bar, 1 s and rollups, as if tickflow had never stopped.
  expect_same_bars(reference_points(m.trades), stored_points(influx), "three kills");
  if (::testing::Test::HasFailure()) std::cerr << runs.all_logs();
}

TEST(Restart, LostHistoryIsReportedNeverWrittenPartially) {
  InfluxdProcess influx;
  TempDir dir("restart-lost");
  const std::int64_t now = testing::now_ms();
  const std::int64_t kill_ms = kill_time(Kill::kMidSecond, now + 300 + kFirstKillAfterMs);
  const std::int64_t end_ms = ceil_to(kill_ms + kDownMs + 7000, 1000);
  const Market m = market_from(now / 1000 + 1, end_ms);
  check_reference(m);
  PacedWsServer ws({.frames = m.frames, .resend_window = 15s});
  RestTestServer rest([](const std::string& target) { return history_or_404(nullptr, target); });
  Runs runs(write_config(dir.path, ws, rest.base_url(), influx.url()), dir.path);
  const fs::path checkpoint = dir.path / "checkpoint";

  runs.start();
  sleep_until_ms(kill_ms);
  ASSERT_TRUE(runs.kill()) << runs.all_logs();
  const auto sealed = expect_consistent_checkpoint(checkpoint, m, kill_ms, "kill");  // FEATURE
  ws.set_resend_window(0ms);  // nothing re-sent: the restart sees a gap
  sleep_until_ms(kill_ms + kDownMs);
  runs.start();
  sleep_until_ms(end_ms + 1000);
  EXPECT_EQ(ws.sent_through(), m.frames.size());
  const auto status = runs.stop();
  ASSERT_EQ(status, std::optional<int>(0)) << runs.all_logs();

  const std::vector<testing::PacedConnection> connections = ws.connections();
  ASSERT_EQ(connections.size(), 2u);
  ASSERT_LT(connections[1].first_frame, m.trades.size());
  const SpotTrade& first_live = m.trades[connections[1].first_frame];
  // The first second the restarted feed saw whole, as far as it can know:
  // the one after the first live trade's. Even when that trade opens its
  // second, the missing ids just before it may share its millisecond.
  const std::int64_t first_whole_s = second_of(first_live) + 1;
  const std::int64_t sealed_until_s = sealed ? sealed->closed_until_s : 0;  // without a checkpoint: nothing known
  SCOPED_TRACE("kill " + std::to_string(kill_ms) + ", checkpoint closed_until_s " + std::to_string(sealed_until_s) +
               ", first live id " + std::to_string(first_live.id) + " at " + std::to_string(first_live.time_ms) +
               " ms, first whole second " + std::to_string(first_whole_s));
  ASSERT_GT(first_whole_s, kill_ms / 1000);

  // No stored 1 s bar is partial (FEATURE around the restart); every second
  // sealed before the kill and every one from the first whole second on is
  // stored (FEATURE: the sealed part needs the checkpoint).
  const Points reference = only(reference_points(m.trades), "trades_1s");
  const Points stored = only(stored_points(influx), "trades_1s");
  {
    Report report("lost history, 1 s bars");
    for (const auto& [key, fields] : stored) {
      const auto it = reference.find(key);
      if (it == reference.end())
        report.add("unexpected stored bar " + describe(key));
      else if (const std::string d = bar_difference(it->second, fields); !d.empty())
        report.add("partial or wrong " + describe(key) + ": " + d);
    }
    std::size_t lost = 0;
    for (const auto& [key, fields] : reference) {
      const std::int64_t s = std::get<2>(key);
      const bool must_be_stored = s < sealed_until_s || s >= first_whole_s;
      if (stored.count(key) != 0) continue;
      if (must_be_stored)
        report.add("missing " + describe(key) + " (expected cbuy " + number(fields.at("cbuy")) + ", csell " +
                   number(fields.at("csell")) + ")");
      else
        ++lost;
    }
    std::cerr << "lost history: " << lost << " seconds not stored between " << sealed_until_s << " and "
              << first_whole_s << "\n";
  }
  // The last stored second is the reference's: the feed ran to the end.
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(std::get<2>(stored.rbegin()->first), std::get<2>(reference.rbegin()->first));

  // FEATURE: the loss is reported, with the exact ids the server never
  // re-sent: [checkpoint id + 1, first live id - 1].
  const std::string log = runs.log(2);
  if (sealed) {
    const std::optional<std::string> gap = gap_line(sealed->trade_id, first_live.id);
    ASSERT_TRUE(gap) << "no trade between the checkpoint (id " << sealed->trade_id << ") and the first live one";
    EXPECT_NE(log.find(*gap), std::string::npos) << "no '" << *gap << "' in the restarted run's log:\n" << log;
  }
  EXPECT_TRUE(has_failed_backfill(log)) << "no 'backfill: ... failed' line in the restarted run's log:\n" << log;
  EXPECT_GE(rest.targets().size(), 1u) << "the restart asked the REST history nothing";
}

}  // namespace
}  // namespace tickflow
