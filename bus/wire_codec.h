// bus/wire_codec.h
//
// The bus's wire format in C++: encode and decode the FlatBuffers messages of
// bus/schema/tickflow_bus.fbs (one Envelope per NATS message, file identifier
// "TFB1", version kWireVersion): batches of feed events (collector ->
// aggregator), batches of closed bars (aggregator -> strategy hosts) and
// signals (strategy -> consumers). bus/README.md, "Wire format", explains the
// version rule and the message ids.
//
// Promises:
//  * decoding never trusts its input: flatbuffers::Verifier checks every
//    offset, vector and string first, then the values the C++ types cannot
//    hold (an unknown Side, FeedStatusKind, SignalAction or event kind, row
//    counts that disagree with the kinds, a signal id that is not 16 bytes,
//    an over-long signal string) are kMalformed. No input crashes, reads out
//    of bounds or throws; errors are values;
//  * a buffer whose file identifier is not "TFB1" or whose version is not
//    kWireVersion is kUnknownVersion (readers count and skip it); a valid
//    message of another body kind is kUnexpectedKind;
//  * any byte alignment of the input is fine: a buffer not 8-byte aligned
//    (libnats hands out payloads at any address) is first copied into the
//    view's own aligned storage, so nothing reads a misaligned scalar;
//  * decode(encode(x)) == x for every field but the market id, which never
//    travels (markets travel by name; the caller maps names to its own ids);
//  * EventBatchEncoder reuses its builder and row storage: once it has seen
//    its largest batch, start/add/finish allocate nothing;
//  * only bus/wire_codec.cc sees FlatBuffers or the generated schema header;
//    this header names neither.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/events.h"
#include "pipeline/market_id.h"
#include "strategy/signal.h"

namespace tickflow::bus {

// Envelope.version this code writes and the only one it reads.
inline constexpr std::uint16_t kWireVersion = 1;
// The FlatBuffers file identifier, bytes 4..7 of every message.
inline constexpr std::string_view kWireFileIdentifier = "TFB1";

enum class WireError : std::uint8_t {
  kNone = 0,
  kMalformed,       // fails verification, or holds values tickflow's types cannot hold
  kUnknownVersion,  // another file identifier or Envelope.version
  kUnexpectedKind,  // a valid message with another body (e.g. bars where events were expected)
};
// "none", "malformed", "unknown version", "unexpected kind".
std::string_view to_string(WireError error) noexcept;

// Builds EventBatch messages, one at a time, from one thread:
//   encoder.start("tokyo-a", "BINANCE", "btcusdt", 0);
//   for (...) encoder.add(event);
//   publish(encoder.finish());
class EventBatchEncoder {
 public:
  EventBatchEncoder();
  ~EventBatchEncoder();
  EventBatchEncoder(EventBatchEncoder&&) noexcept;
  EventBatchEncoder& operator=(EventBatchEncoder&&) noexcept;
  EventBatchEncoder(const EventBatchEncoder&) = delete;
  EventBatchEncoder& operator=(const EventBatchEncoder&) = delete;

  // Begins a batch. `market` is the exchange's spelling ("" for
  // connection-wide statuses); the strings are copied.
  void start(std::string_view collector, std::string_view exchange, std::string_view market, std::uint16_t connection);
  // Appends one event. event.*.market is ignored (names travel, not ids),
  // except that a status with kInvalidMarket is marked as applying to every
  // market of its connection (StatusRow.all_markets). A status of a kind the
  // schema lacks (one past kBackfilled: a process-internal marker) is not
  // added.
  void add(const FeedEvent& event);
  // Events added since start().
  std::size_t size() const noexcept;
  // The finished message; valid until the next start(). Calling it again
  // before start() returns the same bytes.
  std::span<const std::uint8_t> finish();

 private:
  struct State;  // the FlatBufferBuilder and the rows, in wire_codec.cc
  std::unique_ptr<State> state_;
};

// A verified EventBatch. Its string views and rows point into the buffer
// given to decode_event_batch (or, for a misaligned buffer, into the view's
// own copy): keep that buffer alive while using the view. A view is reused
// from message to message without allocating (its copy keeps its capacity).
// event() is fastest called in order, i = 0, 1, 2...: it remembers where it
// stopped in a mixed batch, so one view is for one thread.
struct EventBatchView {
  EventBatchView() = default;
  // Not copyable: the views may point into aligned_copy_ (a move keeps its storage).
  EventBatchView(const EventBatchView&) = delete;
  EventBatchView& operator=(const EventBatchView&) = delete;
  EventBatchView(EventBatchView&&) noexcept = default;
  EventBatchView& operator=(EventBatchView&&) noexcept = default;

  std::string_view collector, exchange, market;
  std::uint16_t connection = 0;

  std::size_t size() const noexcept { return size_; }
  // Event i (i < size()), rebuilt with its market id set to `market`, except
  // a connection-wide status, which gets kInvalidMarket.
  FeedEvent event(std::size_t i, MarketId market) const noexcept;

 private:
  friend WireError decode_event_batch(std::span<const std::uint8_t> bytes, EventBatchView& out) noexcept;
  std::size_t size_ = 0;
  const std::uint8_t* kinds_ = nullptr;   // size_ bytes, FeedEventType values
  const std::uint8_t* trades_ = nullptr;  // rows, read with memcpy
  const std::uint8_t* quotes_ = nullptr;
  const std::uint8_t* statuses_ = nullptr;
  std::size_t n_trades_ = 0, n_quotes_ = 0, n_statuses_ = 0;
  // Where the last event() stopped in a mixed batch: the next event index
  // and how many trades/quotes/statuses came before it.
  mutable std::size_t cursor_ = 0, cursor_trade_ = 0, cursor_quote_ = 0, cursor_status_ = 0;
  std::vector<std::uint64_t> aligned_copy_;  // a misaligned input, copied
};

// Verifies `bytes` and points `out` at it. On an error `out` is left empty
// (size() == 0).
WireError decode_event_batch(std::span<const std::uint8_t> bytes, EventBatchView& out) noexcept;

// One BarBatch message into `out` (replaced; its capacity is reused). Every
// field of each bar travels but its market id; `market` is tickflow's market
// name ("BINANCE:btcusdt"). Returns a view of `out`.
std::span<const std::uint8_t> encode_bars(std::string_view market, std::uint32_t timeframe_s,
                                          std::int64_t closed_until_s, std::span<const Bar> bars,
                                          std::vector<std::uint8_t>& out);

// A verified BarBatch; the same lifetime rules as EventBatchView.
struct BarBatchView {
  BarBatchView() = default;
  // Not copyable: the views may point into aligned_copy_ (a move keeps its storage).
  BarBatchView(const BarBatchView&) = delete;
  BarBatchView& operator=(const BarBatchView&) = delete;
  BarBatchView(BarBatchView&&) noexcept = default;
  BarBatchView& operator=(BarBatchView&&) noexcept = default;

  std::string_view market;
  std::uint32_t timeframe_s = 0;
  std::int64_t closed_until_s = 0;

  std::size_t size() const noexcept { return size_; }
  // Bar i (i < size()) with its market id set to `market`.
  Bar bar(std::size_t i, MarketId market) const noexcept;

 private:
  friend WireError decode_bars(std::span<const std::uint8_t> bytes, BarBatchView& out) noexcept;
  std::size_t size_ = 0;
  const std::uint8_t* rows_ = nullptr;
  std::vector<std::uint64_t> aligned_copy_;
};

WireError decode_bars(std::span<const std::uint8_t> bytes, BarBatchView& out) noexcept;

// One SignalMessage into `out` (replaced). Returns a view of `out`.
std::span<const std::uint8_t> encode_signal(const Signal& signal, std::vector<std::uint8_t>& out);
// Every field of the Signal; `out` is untouched on an error. A symbol longer
// than 22 bytes, a base symbol longer than 14 or a reasoning longer than 247
// (what Signal's arrays hold) is kMalformed, never silently cut.
WireError decode_signal(std::span<const std::uint8_t> bytes, Signal& out) noexcept;

// The Nats-Msg-Id of one batch, for the JetStream duplicate window: two
// collectors on the same feed that cut the same batch publish the same id,
// so the stream stores it once (A/B arbitration); different content gets a
// different id. Never depends on receive times (each collector has its own).
//  * trades only, each with an exchange id (trade_id != 0):
//                   "EXCH:market:<first trade_id>:<last trade_id>:<n trades>"
//  * trades + other events, or a trade without an id (0): the same, then
//    ":h<16 hex digits>", a 64-bit hash of every event's content but its
//    receive time and market id;
//  * no trades, first a status: "EXCH:market:s:<kind>:<watermark_ns>:<connection>:<n>:h<hash>"
//  * no trades, first a quote:  "EXCH:market:q:<exchange_ts_ns>:<n>:h<hash>"
//  * no events: "EXCH:market:0".
// kind is FeedStatusKind's number. `market` is the exchange's spelling, as in
// the batch.
std::string event_batch_msg_id(std::string_view exchange, std::string_view market, const FeedEvent* events,
                               std::size_t n);

}  // namespace tickflow::bus
