// A bus aggregator killed between two checkpoints and restarted from the
// older one (runtime/aggregator.h, "Bus ingest"; runtime/restart_checkpoint.h,
// replay_from_s): the stream is replayed from the checkpoint's ack floor, and
// the bars stored by both runs are, key for key and bit for bit, those of
// one uninterrupted run. Issue 19's SIGKILL tests (tests/integration/
// bus_roles_test.cc) run whole processes over real captures; this one puts
// a late trade exactly where those cannot aim: applied after the last
// checkpoint, for a second that checkpoint had already sealed, inside a
// 1 min window still open at the kill.
//
// The stream is synthetic and deterministic: two markets, one message per
// market and half second (a kBusMark with the message's stream sequence,
// its trades, its watermark), on the event clock (receive times), as
// BusIngest hands messages to the aggregator. Late trades:
//   * before the checkpoint, for a second inside the amendment horizon
//     (the restart rebuilds that second with it);
//   * after the checkpoint, for a second the checkpoint sealed (the case a
//     restart at the sealed frontier loses: the previous run amended the
//     1 s bar, and the open 1 min window would be rebuilt without it);
//   * after the checkpoint, for a second older than the horizon (a late
//     drop in both runs).
// The "kill": once a checkpoint sealing that second is written, the
// checkpoint keeper is told nothing more is settled, so no later
// checkpoint exists, exactly as if the process died before the next one.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "pipeline/bar_sink.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/checkpoint_keeper.h"
#include "runtime/feed_channel.h"
#include "runtime/restart_checkpoint.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09 00:00:00 UTC: every window starts here
constexpr std::int64_t kNs = 1'000'000'000;
constexpr std::int64_t kHorizonS = 30;
constexpr std::int64_t kLateSecond = kT0 + 95;       // sealed by the checkpoint, amended after it
constexpr std::int64_t kEarlyLateSecond = kT0 + 75;  // amended before the checkpoint, inside the horizon
constexpr std::int64_t kTooLateSecond = kT0 + 50;    // older than the horizon after the checkpoint

struct Message {
  std::uint64_t seq = 0;
  std::vector<FeedEvent> events;  // the kBusMark first
  bool after_kill = false;        // fed only after the keeper stopped settling
};

Trade trade(MarketId market, std::int64_t exchange_ns, std::int64_t receive_ns, std::uint64_t id) {
  Trade t;
  t.market = market;
  t.exchange_ts_ns = exchange_ns;
  t.receive_ts_ns = receive_ns;
  t.trade_id = id;
  // Prices and sizes that do not add up exactly in floating point: a
  // different fold order would show in the last bit.
  t.price = 60'000.0 + static_cast<double>((id * 7919) % 1000) * 0.1 + 0.01 * static_cast<double>(market);
  t.qty = 0.001 * static_cast<double>(1 + (id * 104'729) % 997) + 1e-9;
  t.side = id % 3 == 0 ? Side::kSell : Side::kBuy;
  return t;
}

FeedEvent mark(std::uint64_t seq, std::int64_t receive_ns) {
  FeedStatus s;
  s.kind = FeedStatusKind::kBusMark;
  s.gap_first_id = seq;
  s.receive_ts_ns = receive_ns;
  return FeedEvent::of(s);
}

FeedEvent watermark(MarketId market, std::int64_t watermark_ns, std::int64_t receive_ns) {
  FeedStatus s;
  s.kind = FeedStatusKind::kWatermark;
  s.market = market;
  s.watermark_ns = watermark_ns;
  s.receive_ts_ns = receive_ns;
  return FeedEvent::of(s);
}

// Every half second of [kT0, kT0 + 130): one message per market with three
// trades (the perp goes quiet for [kT0 + 80, kT0 + 90)), and the late
// trades of the banner. Messages from receive time kT0 + 99.5 on are fed
// after the kill.
std::vector<Message> make_stream(MarketId spot, MarketId perp) {
  std::vector<Message> out;
  std::uint64_t seq = 100;  // a stream whose earlier messages were acked long ago
  std::uint64_t id = 1'000'000;
  for (std::int64_t half = 0; half < 2 * 130; ++half) {
    const std::int64_t start_ns = kT0 * kNs + half * (kNs / 2);
    for (const MarketId market : {spot, perp}) {
      const std::int64_t second = start_ns / kNs;
      if (market == perp && second >= kT0 + 80 && second < kT0 + 90) continue;
      Message m;
      m.seq = ++seq;
      const std::int64_t receive_ns = start_ns + kNs / 2 - 1'000'000;  // the message ends its half second
      m.after_kill = receive_ns >= (kT0 + 99) * kNs + kNs / 2;
      m.events.push_back(mark(m.seq, receive_ns));
      for (int k = 0; k < 3; ++k)
        m.events.push_back(FeedEvent::of(trade(market, start_ns + k * 100'000'000, receive_ns, ++id)));
      // The late trades, each in the message of its own market at its time.
      if (market == spot && half == 2 * 88)
        m.events.push_back(FeedEvent::of(trade(spot, kEarlyLateSecond * kNs + 300'000'000, receive_ns, ++id)));
      if (market == spot && half == 2 * 99 + 1)
        m.events.push_back(FeedEvent::of(trade(spot, kLateSecond * kNs + 700'000'000, receive_ns, ++id)));
      if (market == perp && half == 2 * 100)
        m.events.push_back(FeedEvent::of(trade(perp, kTooLateSecond * kNs + 100'000'000, receive_ns, ++id)));
      m.events.push_back(watermark(market, start_ns + 200'000'000, receive_ns));
      out.push_back(std::move(m));
    }
  }
  return out;
}

// What InfluxDB would hold: every bar handed on, by key, the last version.
class Store final : public BarSink {
 public:
  void on_bar(const Bar& bar) override {
    std::lock_guard lock(mutex_);
    bars_[{bar.market, bar.timeframe_s, bar.open_time_s}] = bar;
    ++handed_;
  }
  std::uint64_t handed() const {
    std::lock_guard lock(mutex_);
    return handed_;
  }
  std::map<std::tuple<MarketId, std::uint32_t, std::int64_t>, Bar> bars() const {
    std::lock_guard lock(mutex_);
    return bars_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<MarketId, std::uint32_t, std::int64_t>, Bar> bars_;
  std::uint64_t handed_ = 0;
};

AggregatorOptions bus_options() {
  AggregatorOptions o;
  o.max_markets = 8;
  o.wall_clock = false;  // the messages' receive times are the clock
  o.measure_latency = false;
  o.flow_stats = false;
  o.amend_horizon_ns = kHorizonS * kNs;
  o.wait.kind = WaitKind::kBusySpin;
  return o;
}

enum class Part { kAll, kBeforeKill, kAfterKill };

// Feeds the messages of `part` with seq > from_seq into `channel` (its
// aggregator runs on its own thread until the channel is closed).
void feed(FeedChannel& channel, const std::vector<Message>& messages, std::uint64_t from_seq, Part part) {
  for (const Message& m : messages) {
    if (m.seq <= from_seq || (part == Part::kBeforeKill && m.after_kill) || (part == Part::kAfterKill && !m.after_kill))
      continue;
    ASSERT_EQ(channel.publish(m.events.data(), m.events.size()), m.events.size());
  }
}

void expect_same_bars(const std::map<std::tuple<MarketId, std::uint32_t, std::int64_t>, Bar>& expected,
                      const std::map<std::tuple<MarketId, std::uint32_t, std::int64_t>, Bar>& actual) {
  EXPECT_EQ(expected.size(), actual.size()) << "bar keys";
  std::size_t mismatches = 0;
  for (const auto& [key, bar] : expected) {
    const auto it = actual.find(key);
    const auto& [market, tf, open] = key;
    if (it == actual.end()) {
      if (++mismatches <= 5) ADD_FAILURE() << "missing bar: market " << market << " tf " << tf << " at " << open;
      continue;
    }
    const Bar& got = it->second;
    bool same = true;
    for (auto field : {&Bar::open, &Bar::high, &Bar::low, &Bar::close, &Bar::vbuy, &Bar::vsell, &Bar::cbuy, &Bar::csell,
                       &Bar::lbuy, &Bar::lsell, &Bar::qbuy, &Bar::qsell})
      same = same && std::memcmp(&(got.*field), &(bar.*field), sizeof(double)) == 0;
    if (!same && ++mismatches <= 5)
      ADD_FAILURE() << "bar differs: market " << market << " tf " << tf << " at " << open - kT0
                    << " s: " << got.cbuy + got.csell << " trades, notional " << got.vbuy + got.vsell
                    << "; uninterrupted " << bar.cbuy + bar.csell << ", " << bar.vbuy + bar.vsell;
  }
  EXPECT_EQ(mismatches, 0u);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/tickflow-bus-replay-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct Outcome {
  RestartCheckpoint checkpoint;
  std::uint64_t replay_shortened = 0;  // the first run's
  BarCounters restart_spot, restart_perp;
};

// The banner's three runs with `options`: uninterrupted, killed, restarted.
// Returns what the kill left and the restart did; the stored bars are
// compared with the uninterrupted run's here.
void kill_and_restart(const AggregatorOptions& options, Outcome& out) {
  MarketRegistry registry;
  const MarketId spot = registry.intern("BINANCE:btcusdt");
  const MarketId perp = registry.intern("BINANCE_FUTURES:btcusdt");
  const std::vector<Message> stream = make_stream(spot, perp);

  // The uninterrupted run.
  Store uninterrupted;
  {
    Aggregator aggregator(options, registry, {}, uninterrupted);
    FeedChannel channel("tf-bus-in", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
    aggregator.set_inputs({&channel});
    std::thread thread([&] { aggregator.run(); });
    feed(channel, stream, 0, Part::kAll);
    channel.close();
    thread.join();
    ASSERT_TRUE(aggregator.error().empty()) << aggregator.error();
    const BarCounters& c = aggregator.bar_builder().counters(spot);
    EXPECT_EQ(c.amendments, 2u) << "both late spot trades amend their sealed seconds";
    EXPECT_EQ(aggregator.bar_builder().counters(perp).late_drops, 1u) << "the one older than the horizon";
  }

  // The first run: checkpoints while it is settled; then nothing more is
  // settled (the kill comes before the next checkpoint), and the late
  // trade and a few more messages are applied and handed on.
  const TempDir dir;
  const std::filesystem::path file = dir.path / "checkpoint";
  Store stored;
  std::atomic<bool> settling{true};
  std::mutex written_mutex;
  std::string checkpoint_text;
  std::uint64_t checkpoint_floor = 0;
  {
    Aggregator aggregator(options, registry, {}, stored);
    CheckpointKeeper keeper(file, 8, registry, [&] { return settling.load() ? UINT64_MAX : 0; }, {});
    keeper.set_on_written([&](std::uint64_t floor) {
      std::lock_guard lock(written_mutex);
      std::ifstream in(file);
      std::ostringstream text;
      text << in.rdbuf();
      checkpoint_text = text.str();
      checkpoint_floor = floor;
    });
    keeper.start();
    aggregator.set_checkpoint_keeper(&keeper, [&stored] { return stored.handed(); });
    FeedChannel channel("tf-bus-in", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
    aggregator.set_inputs({&channel});
    std::thread thread([&] { aggregator.run(); });
    feed(channel, stream, 0, Part::kBeforeKill);
    // A checkpoint that seals the late trade's second, and no offer left
    // unwritten: the aggregator took every message before the kill.
    const auto sealed_late_second = [&] {
      std::lock_guard lock(written_mutex);
      if (checkpoint_text.empty()) return false;
      for (const MarketCheckpoint& m : decode_checkpoint(checkpoint_text, file.string()).markets)
        if (m.name == "BINANCE:btcusdt") return m.point.closed_until_s > kLateSecond + 1;
      return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!sealed_late_second() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(sealed_late_second()) << "no checkpoint sealing " << kLateSecond + 1 << ":\n" << checkpoint_text;
    settling = false;
    feed(channel, stream, 0, Part::kAfterKill);
    channel.close();
    thread.join();
    keeper.stop();
    ASSERT_TRUE(aggregator.error().empty()) << aggregator.error();
    out.replay_shortened = aggregator.counters().replay_shortened.load();
  }
  std::printf("kill checkpoint (ack floor %llu):\n%s", static_cast<unsigned long long>(checkpoint_floor),
              checkpoint_text.c_str());
  // The late trade was applied after that checkpoint: its message is above
  // the floor, and the 1 s amendment went to the store before the kill.
  std::uint64_t late_seq = 0;
  for (const Message& m : stream)
    for (const FeedEvent& e : m.events)
      if (e.type == FeedEventType::kTrade && e.trade.exchange_ts_ns / kNs == kLateSecond &&
          e.trade.receive_ts_ns / kNs > kLateSecond + 1)
        late_seq = m.seq;
  ASSERT_NE(late_seq, 0u);
  EXPECT_LT(checkpoint_floor, late_seq);
  const RestartCheckpoint checkpoint = decode_checkpoint(checkpoint_text, file.string());
  ASSERT_EQ(checkpoint.markets.size(), 2u);
  for (const MarketCheckpoint& m : checkpoint.markets) EXPECT_GT(m.point.closed_until_s, kLateSecond) << m.name;
  out.checkpoint = checkpoint;

  // The restart: resumed from that checkpoint, the stream replayed from
  // its ack floor to the end.
  {
    Aggregator aggregator(options, registry, {}, stored);
    for (const MarketCheckpoint& m : checkpoint.markets) aggregator.resume(*registry.find(m.name), m.point);
    FeedChannel channel("tf-bus-in", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
    aggregator.set_inputs({&channel});
    std::thread thread([&] { aggregator.run(); });
    feed(channel, stream, checkpoint_floor, Part::kAll);
    channel.close();
    thread.join();
    ASSERT_TRUE(aggregator.error().empty()) << aggregator.error();
    out.restart_spot = aggregator.bar_builder().counters(spot);
    out.restart_perp = aggregator.bar_builder().counters(perp);
  }
  expect_same_bars(uninterrupted.bars(), stored.bars());
}

TEST(AggregatorBusReplay, KilledAfterALateTradeTheRestartStoresTheUninterruptedBars) {
  Outcome out;
  kill_and_restart(bus_options(), out);
  // The whole horizon is replayed.
  for (const MarketCheckpoint& m : out.checkpoint.markets)
    EXPECT_EQ(m.point.replay_from_s, m.point.closed_until_s - kHorizonS) << m.name;
  EXPECT_EQ(out.replay_shortened, 0u);
  // Both late spot trades amended their rebuilt seconds again; the perp
  // trade older than the horizon was dropped as the previous run's (its
  // second is below the replay).
  EXPECT_EQ(out.restart_spot.amendments, 2u);
  EXPECT_EQ(out.restart_spot.resumed_drops, 0u);
  EXPECT_EQ(out.restart_perp.resumed_drops, 1u);
}

// A replay budget of 40 messages (10 s of this stream; max_ack_pending / 2
// live) keeps fewer messages unacknowledged: the replay starts later than
// the horizon (counted), and a late trade inside what is replayed is still
// exact. (The early late trade's second is below the shorter replay: its
// bar was settled before the checkpoint and is not rebuilt.)
TEST(AggregatorBusReplay, AReplayBudgetShortensTheReplayAndStaysExactInsideIt) {
  AggregatorOptions options = bus_options();
  options.bus_replay_budget = 40;
  Outcome out;
  kill_and_restart(options, out);
  EXPECT_GT(out.replay_shortened, 0u);
  for (const MarketCheckpoint& m : out.checkpoint.markets) {
    EXPECT_GT(m.point.replay_from_s, m.point.closed_until_s - kHorizonS) << m.name;
    EXPECT_LE(m.point.replay_from_s, kLateSecond) << m.name;
  }
  EXPECT_EQ(out.restart_spot.amendments, 1u);
}

}  // namespace
}  // namespace tickflow
