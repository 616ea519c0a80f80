// bench/bus_wire_bench.cc: what the bus's wire format (bus/wire_codec.h)
// costs per message on each side, for a 1-trade and a 20-trade batch (one
// exchange frame's trades of one market: the collector's unit).
//
//   BM_WireEncodeEvents/n   collector: EventBatchEncoder start + n add + finish
//                           (a warm, reused builder: no allocation)
//   BM_WireMsgId/n          collector: the batch's Nats-Msg-Id string
//   BM_WireDecodeEvents/n   aggregator: decode_event_batch (verifier included)
//                           + every event rebuilt as a FeedEvent
//   BM_WireCopyEvents/n     the baseline, same run: n FeedEvents copied into
//                           an array, what the in-process ring moves per event
//
// Items are trades; "bytes" is the message size. Trades look like real ones
// (BTCUSDT prices on a 0.01 tick, 1e-5 lots, consecutive ids), cycled over
// 64 different batches so that the branch predictor cannot learn one.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "bus/wire_codec.h"
#include "pipeline/events.h"

namespace tickflow::bench {
namespace {

constexpr std::size_t kBatches = 64;

std::vector<std::vector<FeedEvent>> sample_batches(std::size_t n) {
  std::mt19937_64 rng(19);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::vector<FeedEvent>> batches(kBatches);
  std::uint64_t id = 3'712'345'678;
  std::int64_t t = 1'723'161'254'087'000'000;
  for (auto& batch : batches) {
    for (std::size_t i = 0; i < n; ++i) {
      Trade tr;
      tr.exchange_ts_ns = t;
      tr.receive_ts_ns = t + 896'568;
      tr.trade_id = id++;
      tr.price = std::round((61837.63 + unit(rng) * 10) * 100) / 100;
      tr.qty = std::round(unit(rng) * 3 * 1e5) / 1e5 + 1e-5;
      tr.market = 0;
      tr.side = unit(rng) < 0.5 ? Side::kBuy : Side::kSell;
      batch.push_back(FeedEvent::of(tr));
    }
    t += 1'000'000;
  }
  return batches;
}

void BM_WireEncodeEvents(benchmark::State& state) {
  const auto batches = sample_batches(static_cast<std::size_t>(state.range(0)));
  bus::EventBatchEncoder encoder;
  std::size_t k = 0, bytes = 0;
  for (auto _ : state) {
    const auto& batch = batches[k++ % kBatches];
    encoder.start("tokyo-a", "BINANCE", "btcusdt", 0);
    for (const FeedEvent& e : batch) encoder.add(e);
    const auto message = encoder.finish();
    benchmark::DoNotOptimize(message.data());
    bytes = message.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_WireEncodeEvents)->Arg(1)->Arg(20);

void BM_WireMsgId(benchmark::State& state) {
  const auto batches = sample_batches(static_cast<std::size_t>(state.range(0)));
  std::size_t k = 0;
  for (auto _ : state) {
    const auto& batch = batches[k++ % kBatches];
    std::string id = bus::event_batch_msg_id("BINANCE", "btcusdt", batch.data(), batch.size());
    benchmark::DoNotOptimize(id.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_WireMsgId)->Arg(1)->Arg(20);

void BM_WireDecodeEvents(benchmark::State& state) {
  const auto batches = sample_batches(static_cast<std::size_t>(state.range(0)));
  std::vector<std::vector<std::uint8_t>> messages;
  bus::EventBatchEncoder encoder;
  for (const auto& batch : batches) {
    encoder.start("tokyo-a", "BINANCE", "btcusdt", 0);
    for (const FeedEvent& e : batch) encoder.add(e);
    const auto m = encoder.finish();
    messages.emplace_back(m.begin(), m.end());
  }
  bus::EventBatchView view;
  std::size_t k = 0;
  double sum = 0;
  for (auto _ : state) {
    if (bus::decode_event_batch(messages[k++ % kBatches], view) != bus::WireError::kNone) {
      state.SkipWithError("decode failed");
      break;
    }
    for (std::size_t i = 0; i < view.size(); ++i) sum += view.event(i, 3).trade.price;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["bytes"] = static_cast<double>(messages[0].size());
}
BENCHMARK(BM_WireDecodeEvents)->Arg(1)->Arg(20);

void BM_WireCopyEvents(benchmark::State& state) {
  const auto batches = sample_batches(static_cast<std::size_t>(state.range(0)));
  std::vector<FeedEvent> slots(batches[0].size());
  std::size_t k = 0;
  for (auto _ : state) {
    const auto& batch = batches[k++ % kBatches];
    std::memcpy(static_cast<void*>(slots.data()), batch.data(), batch.size() * sizeof(FeedEvent));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_WireCopyEvents)->Arg(1)->Arg(20);

}  // namespace
}  // namespace tickflow::bench
