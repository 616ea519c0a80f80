// bench/live_ingest_frames.h
//
// LiveFrames: the @trade frames of the four Binance 2024-08-08 BTC/ETH spot
// and USD-M captures, as templates that live_ingest renders into websocket
// byte streams (one per venue connection), repeated and re-timed.
//
// Promises:
// - Frames keep the capture's order per connection (receive time) and their
//   text, except three numbers: "E" and "T" (exchange times, ms) move by the
//   caller's shift plus `repeat * period_ms`, and "t" (trade id) moves by
//   `repeat * id_span` of its capture, so that every repeat continues its
//   market's id sequence without a gap or an overlap (LiveFeed's de-dup keeps
//   ids that increase per market) and its times never go backwards.
// - period_ms is a whole number of seconds longer than the captures' trade
//   time span, so bucketing into 1 s bars is the same in every repeat when
//   the shift is whole seconds too.
// - Rendered streams are server websocket frames (FIN + text, unmasked, no
//   extension), back to back; frame_end[i] is where frame i ends and
//   due_ns[i] its send time relative to the start at 1x pace.
//
// Threads: load once, then render from any thread (const).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tickflow::bench {

struct TradeFrame {
  std::string text;              // the combined-stream JSON, as captured
  std::int64_t capture_ns = 0;   // captured receive time
  std::int64_t trade_ms = 0;     // its "T"
  std::uint32_t connection = 0;  // index into LiveFrames::venues
  std::uint32_t capture = 0;     // index into LiveFrames::id_span
  // Where the three numbers sit in `text` (offset, length); the id's value.
  std::uint32_t e_at = 0, t_at = 0, id_at = 0, id_len = 0;
  std::uint64_t id = 0;
};

struct LiveFrames {
  std::vector<std::string> venues;         // "BINANCE", "BINANCE_FUTURES"
  std::vector<std::string> capture_files;  // the files read (for the report)
  std::vector<std::uint64_t> id_span;      // per capture: max id - min id + 1
  std::vector<TradeFrame> frames;          // all connections, by capture time
  std::int64_t first_capture_ns = 0;
  std::int64_t first_trade_ms = 0, last_trade_ms = 0;
  std::int64_t period_ms = 0;  // whole seconds > the trade time span
  // min over frames of (capture offset in ms - T): the pace-mode shift that
  // puts the least-lagged trade 1 ms before its send time is
  // start_ms + min_lead_ms - 1.
  std::int64_t min_lead_ms = 0;
  std::size_t frames_of(std::uint32_t connection) const;
};

// Reads spot_btcusdt, spot_ethusdt (BINANCE), usdm_btcusdt, usdm_ethusdt
// (BINANCE_FUTURES) from `dir` (.gz, "<recv_ns> <frame>" lines); throws if
// one is missing.
LiveFrames load_live_frames(const std::string& dir);

struct RenderedStream {
  std::string bytes;  // websocket frames back to back
  std::vector<std::uint64_t> frame_end;
  std::vector<std::int64_t> due_ns;  // 1x pace, from the start
};

// Connection `connection`'s frames, `repeats` times, exchange times moved by
// shift_ms (+ r * period_ms), ids by r * id_span.
RenderedStream render_stream(const LiveFrames& frames, std::uint32_t connection, int repeats, std::int64_t shift_ms);

}  // namespace tickflow::bench
