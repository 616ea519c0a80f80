// tests/fuzz/parser_fuzzer.cc: libFuzzer driver for one exchange's parser
// (TICKFLOW_FUZZ_EXCHANGE, set per target by tests/fuzz/CMakeLists.txt).
//
// Each input is one frame. Besides ASan/UBSan findings, it checks the
// parser's accounting promise: every frame lands in exactly one bucket
// (events, skipped, or an error), and events only come with kEvents.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "feeds/parser_factory.h"

using namespace tickflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static PaddedFrame frame;
  static EventBuffer events(256);
  // A fresh registry and parser per input: inputs stay independent, and the
  // registry does not grow with every random symbol the fuzzer invents.
  MarketRegistry registry;
  ParserOptions options;
  options.max_frame_bytes = 1 << 16;
  auto parser = make_parser(TICKFLOW_FUZZ_EXCHANGE, registry, options);
  if (!parser) std::abort();
  frame.assign({reinterpret_cast<const char*>(data), size});
  events.clear();
  const ParseOutcome outcome = parser->parse(frame.view(), 1'700'000'000'000'000'000, events);
  const ParseStats& s = parser->stats();
  if (s.frames != 1) std::abort();
  if (outcome == ParseOutcome::kSkipped && (s.total_skipped() != 1 || !events.empty())) std::abort();
  if (outcome == ParseOutcome::kEvents && events.empty()) std::abort();
  if (outcome == ParseOutcome::kError && s.total_errors() == 0) std::abort();
  for (const FeedEvent& e : events) {
    if (e.type == FeedEventType::kTrade) {
      const Trade& t = e.trade;
      if (!(t.price > 0) || !(t.qty > 0) || t.market >= registry.size()) std::abort();
    }
  }
  return 0;
}
