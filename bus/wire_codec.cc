// bus/wire_codec.cc: the FlatBuffers side of bus/wire_codec.h. The only
// file that includes the schema's generated header (built by flatc from
// bus/schema/tickflow_bus.fbs into the build tree, bus/CMakeLists.txt).
#include "bus/wire_codec.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <new>

#include "bus/schema/tickflow_bus_generated.h"

namespace tickflow::bus {
namespace {

static_assert(sizeof(wire::TradeRow) == 48 && sizeof(wire::QuoteRow) == 48 && sizeof(wire::StatusRow) == 40 &&
                  sizeof(wire::BarRow) == 112,
              "a wire struct changed size: structs cannot evolve, that is wire version 2");
static_assert(static_cast<std::uint8_t>(wire::EventKind::Trade) == static_cast<std::uint8_t>(FeedEventType::kTrade) &&
              static_cast<std::uint8_t>(wire::EventKind::Quote) == static_cast<std::uint8_t>(FeedEventType::kQuote) &&
              static_cast<std::uint8_t>(wire::EventKind::Status) == static_cast<std::uint8_t>(FeedEventType::kStatus));
static_assert(static_cast<std::uint8_t>(wire::FeedStatusKind::Backfilled) ==
              static_cast<std::uint8_t>(FeedStatusKind::kBackfilled));
static_assert(static_cast<std::uint8_t>(wire::SignalAction::MAX) == static_cast<std::uint8_t>(SignalAction::kClose));
static_assert(kWireFileIdentifier.size() == flatbuffers::kFileIdentifierLength);

// Envelope, EventBatch and a vector nest three deep; a message holds two
// tables. Tight limits bound the verifier's work on hostile input.
constexpr flatbuffers::uoffset_t kMaxDepth = 8;
constexpr flatbuffers::uoffset_t kMaxTables = 8;

// `bytes` itself when 8-byte aligned (every scalar of a verified buffer is
// then aligned in memory, as the verifier checks offsets relative to the
// start), else a copy in `storage`. Struct rows are still read with memcpy:
// nothing checks their vector's alignment.
std::span<const std::uint8_t> aligned(std::span<const std::uint8_t> bytes, std::vector<std::uint64_t>& storage) {
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(std::uint64_t) == 0) return bytes;
  storage.resize((bytes.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
  std::memcpy(storage.data(), bytes.data(), bytes.size());
  return {reinterpret_cast<const std::uint8_t*>(storage.data()), bytes.size()};
}

// Alignment (aligned(), into `storage` when the input is not), identifier,
// verification, version: the Envelope or why not. The envelope points into
// `input` or `storage`: keep both alive while using it.
WireError open_envelope(std::span<const std::uint8_t> input, std::vector<std::uint64_t>& storage,
                        const wire::Envelope*& envelope) noexcept {
  envelope = nullptr;
  std::span<const std::uint8_t> bytes;
  try {
    bytes = aligned(input, storage);
  } catch (const std::bad_alloc&) {
    return WireError::kMalformed;
  }
  // Root offset + identifier; the verifier's own limit is 2 GiB.
  if (bytes.size() < sizeof(flatbuffers::uoffset_t) + flatbuffers::kFileIdentifierLength ||
      bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return WireError::kMalformed;
  if (std::memcmp(bytes.data() + sizeof(flatbuffers::uoffset_t), kWireFileIdentifier.data(),
                  kWireFileIdentifier.size()) != 0)
    return WireError::kUnknownVersion;
  flatbuffers::Verifier::Options options;
  options.max_depth = kMaxDepth;
  options.max_tables = kMaxTables;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), options);
  if (!verifier.VerifyBuffer<wire::Envelope>(nullptr)) return WireError::kMalformed;
  const wire::Envelope* root = wire::GetEnvelope(bytes.data());
  if (root->version() != kWireVersion) return WireError::kUnknownVersion;
  envelope = root;
  return WireError::kNone;
}

std::string_view view_of(const flatbuffers::String* s) noexcept {
  return s == nullptr ? std::string_view{} : std::string_view(s->c_str(), s->size());
}

template <typename Row>
Row row_at(const std::uint8_t* rows, std::size_t i) noexcept {
  Row row;
  std::memcpy(static_cast<void*>(&row), rows + i * sizeof(Row), sizeof(Row));
  return row;
}

// A struct vector's rows and count (null and 0 when absent).
template <typename Row>
std::pair<const std::uint8_t*, std::size_t> rows_of(const flatbuffers::Vector<const Row*>* v) noexcept {
  if (v == nullptr || v->size() == 0) return {nullptr, 0};
  return {v->Data(), v->size()};
}

// A fixed char array's text: up to its NUL.
template <std::size_t N>
std::string_view text_of(const char (&text)[N]) noexcept {
  const void* nul = std::memchr(text, '\0', N);
  return {text, nul == nullptr ? N : static_cast<std::size_t>(static_cast<const char*>(nul) - text)};
}

wire::TradeRow trade_row(const Trade& t) noexcept {
  return wire::TradeRow(t.exchange_ts_ns, t.receive_ts_ns, t.trade_id, t.price, t.qty, static_cast<wire::Side>(t.side),
                        t.flags);
}
wire::QuoteRow quote_row(const Quote& q) noexcept {
  return wire::QuoteRow(q.exchange_ts_ns, q.receive_ts_ns, q.bid_price, q.bid_qty, q.ask_price, q.ask_qty);
}
wire::StatusRow status_row(const FeedStatus& s) noexcept {
  return wire::StatusRow(s.watermark_ns, s.receive_ts_ns, s.gap_first_id, s.gap_last_id, s.connection,
                         static_cast<wire::FeedStatusKind>(s.kind), s.detail, s.market == kInvalidMarket);
}

}  // namespace

std::string_view to_string(WireError error) noexcept {
  switch (error) {
    case WireError::kNone: return "none";
    case WireError::kMalformed: return "malformed";
    case WireError::kUnknownVersion: return "unknown version";
    case WireError::kUnexpectedKind: return "unexpected kind";
  }
  return "unknown error";
}

// ---- EventBatchEncoder -------------------------------------------------------

// Everything reused from batch to batch: the builder keeps its buffer across
// Clear(), the vectors and strings their capacity across clear()/assign().
struct EventBatchEncoder::State {
  flatbuffers::FlatBufferBuilder fbb{4096};
  std::string collector, exchange, market;
  std::uint16_t connection = 0;
  std::vector<wire::EventKind> kinds;
  std::vector<wire::TradeRow> trades;
  std::vector<wire::QuoteRow> quotes;
  std::vector<wire::StatusRow> statuses;
  bool finished = false;
};

EventBatchEncoder::EventBatchEncoder() : state_(std::make_unique<State>()) {
  state_->kinds.reserve(64);
  state_->trades.reserve(64);
}
EventBatchEncoder::~EventBatchEncoder() = default;
EventBatchEncoder::EventBatchEncoder(EventBatchEncoder&&) noexcept = default;
EventBatchEncoder& EventBatchEncoder::operator=(EventBatchEncoder&&) noexcept = default;

void EventBatchEncoder::start(std::string_view collector, std::string_view exchange, std::string_view market,
                              std::uint16_t connection) {
  State& s = *state_;
  s.collector.assign(collector);
  s.exchange.assign(exchange);
  s.market.assign(market);
  s.connection = connection;
  s.kinds.clear();
  s.trades.clear();
  s.quotes.clear();
  s.statuses.clear();
  s.finished = false;
}

void EventBatchEncoder::add(const FeedEvent& event) {
  State& s = *state_;
  switch (event.type) {
    case FeedEventType::kTrade:
      s.trades.push_back(trade_row(event.trade));
      s.kinds.push_back(wire::EventKind::Trade);
      break;
    case FeedEventType::kQuote:
      s.quotes.push_back(quote_row(event.quote));
      s.kinds.push_back(wire::EventKind::Quote);
      break;
    case FeedEventType::kStatus:
      // Kinds past Backfilled are process-internal markers (never published).
      if (static_cast<std::uint8_t>(event.status.kind) > static_cast<std::uint8_t>(wire::FeedStatusKind::MAX)) break;
      s.statuses.push_back(status_row(event.status));
      s.kinds.push_back(wire::EventKind::Status);
      break;
  }
}

std::size_t EventBatchEncoder::size() const noexcept { return state_->kinds.size(); }

std::span<const std::uint8_t> EventBatchEncoder::finish() {
  State& s = *state_;
  flatbuffers::FlatBufferBuilder& fbb = s.fbb;
  if (!s.finished) {
    fbb.Clear();
    const auto collector = fbb.CreateString(s.collector);
    const auto exchange = fbb.CreateString(s.exchange);
    const auto market = fbb.CreateString(s.market);
    // Empty vectors are left out (readers see length 0).
    flatbuffers::Offset<flatbuffers::Vector<wire::EventKind>> kinds;
    flatbuffers::Offset<flatbuffers::Vector<const wire::TradeRow*>> trades;
    flatbuffers::Offset<flatbuffers::Vector<const wire::QuoteRow*>> quotes;
    flatbuffers::Offset<flatbuffers::Vector<const wire::StatusRow*>> statuses;
    if (!s.kinds.empty()) kinds = fbb.CreateVector(s.kinds.data(), s.kinds.size());
    if (!s.trades.empty()) trades = fbb.CreateVectorOfStructs(s.trades.data(), s.trades.size());
    if (!s.quotes.empty()) quotes = fbb.CreateVectorOfStructs(s.quotes.data(), s.quotes.size());
    if (!s.statuses.empty()) statuses = fbb.CreateVectorOfStructs(s.statuses.data(), s.statuses.size());
    const auto batch =
        wire::CreateEventBatch(fbb, collector, exchange, market, s.connection, kinds, trades, quotes, statuses);
    wire::FinishEnvelopeBuffer(fbb, wire::CreateEnvelope(fbb, kWireVersion, wire::Body::EventBatch, batch.Union()));
    s.finished = true;
  }
  return {fbb.GetBufferPointer(), fbb.GetSize()};
}

// ---- EventBatchView ------------------------------------------------------------

FeedEvent EventBatchView::event(std::size_t i, MarketId market) const noexcept {
  if (i >= size_) return FeedEvent{};
  auto kind = FeedEventType::kTrade;
  std::size_t row = i;
  if (n_trades_ == size_) {
    kind = FeedEventType::kTrade;
  } else if (n_quotes_ == size_) {
    kind = FeedEventType::kQuote;
  } else if (n_statuses_ == size_) {
    kind = FeedEventType::kStatus;
  } else {
    // A mixed batch: row = how many events of this kind precede event i.
    if (i < cursor_) cursor_ = cursor_trade_ = cursor_quote_ = cursor_status_ = 0;
    for (; cursor_ <= i; ++cursor_) {
      const auto k = static_cast<FeedEventType>(kinds_[cursor_]);
      std::size_t& count = k == FeedEventType::kTrade   ? cursor_trade_
                           : k == FeedEventType::kQuote ? cursor_quote_
                                                        : cursor_status_;
      if (cursor_ == i) {
        kind = k;
        row = count;
      }
      ++count;
    }
  }
  switch (kind) {
    case FeedEventType::kTrade: {
      const auto r = row_at<wire::TradeRow>(trades_, row);
      Trade t;
      t.exchange_ts_ns = r.exchange_ts_ns();
      t.receive_ts_ns = r.receive_ts_ns();
      t.trade_id = r.trade_id();
      t.price = r.price();
      t.qty = r.qty();
      t.market = market;
      t.side = static_cast<Side>(r.side());
      t.flags = r.flags();
      return FeedEvent::of(t);
    }
    case FeedEventType::kQuote: {
      const auto r = row_at<wire::QuoteRow>(quotes_, row);
      Quote q;
      q.exchange_ts_ns = r.exchange_ts_ns();
      q.receive_ts_ns = r.receive_ts_ns();
      q.bid_price = r.bid_price();
      q.bid_qty = r.bid_qty();
      q.ask_price = r.ask_price();
      q.ask_qty = r.ask_qty();
      q.market = market;
      return FeedEvent::of(q);
    }
    case FeedEventType::kStatus: {
      const auto r = row_at<wire::StatusRow>(statuses_, row);
      FeedStatus s;
      s.watermark_ns = r.watermark_ns();
      s.receive_ts_ns = r.receive_ts_ns();
      s.gap_first_id = r.gap_first_id();
      s.gap_last_id = r.gap_last_id();
      s.market = r.all_markets() ? kInvalidMarket : market;
      s.connection = r.connection();
      s.kind = static_cast<FeedStatusKind>(r.kind());
      s.detail = r.detail();
      return FeedEvent::of(s);
    }
  }
  return FeedEvent{};
}

WireError decode_event_batch(std::span<const std::uint8_t> input, EventBatchView& out) noexcept {
  out.collector = out.exchange = out.market = {};
  out.connection = 0;
  out.size_ = out.n_trades_ = out.n_quotes_ = out.n_statuses_ = 0;
  out.kinds_ = out.trades_ = out.quotes_ = out.statuses_ = nullptr;
  out.cursor_ = out.cursor_trade_ = out.cursor_quote_ = out.cursor_status_ = 0;
  const wire::Envelope* envelope = nullptr;
  if (const WireError e = open_envelope(input, out.aligned_copy_, envelope); e != WireError::kNone) return e;
  const wire::EventBatch* batch = envelope->body_as_EventBatch();
  if (batch == nullptr) return WireError::kUnexpectedKind;

  // The kinds must name known kinds and agree with the row vectors' lengths,
  // so that event(i) never reads past a vector.
  const auto* kinds = batch->kinds();
  const std::size_t n = kinds == nullptr ? 0 : kinds->size();
  const std::uint8_t* kind_bytes = n == 0 ? nullptr : kinds->Data();
  std::size_t counts[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t k = kind_bytes[i];
    if (k < 1 || k > 3) return WireError::kMalformed;
    ++counts[k];
  }
  const auto [trades, n_trades] = rows_of(batch->trades());
  const auto [quotes, n_quotes] = rows_of(batch->quotes());
  const auto [statuses, n_statuses] = rows_of(batch->statuses());
  if (counts[1] != n_trades || counts[2] != n_quotes || counts[3] != n_statuses) return WireError::kMalformed;
  // Values tickflow's enums do not have.
  for (std::size_t i = 0; i < n_trades; ++i)
    if (static_cast<std::uint8_t>(row_at<wire::TradeRow>(trades, i).side()) > 1) return WireError::kMalformed;
  for (std::size_t i = 0; i < n_statuses; ++i)
    if (static_cast<std::uint8_t>(row_at<wire::StatusRow>(statuses, i).kind()) >
        static_cast<std::uint8_t>(wire::FeedStatusKind::MAX))
      return WireError::kMalformed;

  out.collector = view_of(batch->collector());
  out.exchange = view_of(batch->exchange());
  out.market = view_of(batch->market());
  out.connection = batch->connection();
  out.size_ = n;
  out.kinds_ = kind_bytes;
  out.trades_ = trades;
  out.quotes_ = quotes;
  out.statuses_ = statuses;
  out.n_trades_ = n_trades;
  out.n_quotes_ = n_quotes;
  out.n_statuses_ = n_statuses;
  return WireError::kNone;
}

// ---- bars ----------------------------------------------------------------------

std::span<const std::uint8_t> encode_bars(std::string_view market, std::uint32_t timeframe_s,
                                          std::int64_t closed_until_s, std::span<const Bar> bars,
                                          std::vector<std::uint8_t>& out) {
  flatbuffers::FlatBufferBuilder fbb(256 + market.size() + bars.size() * sizeof(wire::BarRow));
  std::vector<wire::BarRow> rows;
  rows.reserve(bars.size());
  for (const Bar& b : bars)
    rows.emplace_back(b.open_time_s, b.timeframe_s, b.flags, b.open, b.high, b.low, b.close, b.vbuy, b.vsell, b.cbuy,
                      b.csell, b.lbuy, b.lsell, b.qbuy, b.qsell);
  const auto name = fbb.CreateString(market.data(), market.size());
  flatbuffers::Offset<flatbuffers::Vector<const wire::BarRow*>> vector;
  if (!rows.empty()) vector = fbb.CreateVectorOfStructs(rows.data(), rows.size());
  const auto batch = wire::CreateBarBatch(fbb, name, timeframe_s, closed_until_s, vector);
  wire::FinishEnvelopeBuffer(fbb, wire::CreateEnvelope(fbb, kWireVersion, wire::Body::BarBatch, batch.Union()));
  out.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  return {out.data(), out.size()};
}

Bar BarBatchView::bar(std::size_t i, MarketId market) const noexcept {
  if (i >= size_) return Bar{};
  const auto r = row_at<wire::BarRow>(rows_, i);
  Bar b;
  b.open_time_s = r.open_time_s();
  b.market = market;
  b.timeframe_s = r.timeframe_s();
  b.flags = r.flags();
  b.open = r.open();
  b.high = r.high();
  b.low = r.low();
  b.close = r.close();
  b.vbuy = r.vbuy();
  b.vsell = r.vsell();
  b.cbuy = r.cbuy();
  b.csell = r.csell();
  b.lbuy = r.lbuy();
  b.lsell = r.lsell();
  b.qbuy = r.qbuy();
  b.qsell = r.qsell();
  return b;
}

WireError decode_bars(std::span<const std::uint8_t> input, BarBatchView& out) noexcept {
  out.market = {};
  out.timeframe_s = 0;
  out.closed_until_s = 0;
  out.size_ = 0;
  out.rows_ = nullptr;
  const wire::Envelope* envelope = nullptr;
  if (const WireError e = open_envelope(input, out.aligned_copy_, envelope); e != WireError::kNone) return e;
  const wire::BarBatch* batch = envelope->body_as_BarBatch();
  if (batch == nullptr) return WireError::kUnexpectedKind;
  const auto [rows, n] = rows_of(batch->bars());
  out.market = view_of(batch->market());
  out.timeframe_s = batch->timeframe_s();
  out.closed_until_s = batch->closed_until_s();
  out.size_ = n;
  out.rows_ = rows;
  return WireError::kNone;
}

// ---- signals ---------------------------------------------------------------------

std::span<const std::uint8_t> encode_signal(const Signal& signal, std::vector<std::uint8_t>& out) {
  flatbuffers::FlatBufferBuilder fbb(512);
  const auto id = fbb.CreateVector(signal.signal_id.data(), signal.signal_id.size());
  const std::string_view symbol = text_of(signal.symbol);
  const std::string_view base_symbol = text_of(signal.base_symbol);
  const std::string_view reasoning = text_of(signal.reasoning);
  const auto symbol_offset = fbb.CreateString(symbol.data(), symbol.size());
  const auto base_offset = fbb.CreateString(base_symbol.data(), base_symbol.size());
  const auto reasoning_offset = fbb.CreateString(reasoning.data(), reasoning.size());
  const auto message = wire::CreateSignalMessage(
      fbb, id, signal.timestamp_s, static_cast<wire::SignalAction>(signal.action), symbol_offset, base_offset,
      signal.score, signal.confidence, signal.position_size_factor, signal.leverage, signal.entry_price, signal.ttl_s,
      signal.spot_cvd, signal.perp_cvd, signal.divergence, reasoning_offset);
  wire::FinishEnvelopeBuffer(fbb, wire::CreateEnvelope(fbb, kWireVersion, wire::Body::SignalMessage, message.Union()));
  out.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  return {out.data(), out.size()};
}

WireError decode_signal(std::span<const std::uint8_t> input, Signal& out) noexcept {
  std::vector<std::uint64_t> storage;  // only for a misaligned input
  const wire::Envelope* envelope = nullptr;
  if (const WireError e = open_envelope(input, storage, envelope); e != WireError::kNone) return e;
  const wire::SignalMessage* m = envelope->body_as_SignalMessage();
  if (m == nullptr) return WireError::kUnexpectedKind;

  Signal s;
  const auto* id = m->signal_id();
  if (id == nullptr || id->size() != s.signal_id.size()) return WireError::kMalformed;
  if (static_cast<std::uint8_t>(m->action()) > static_cast<std::uint8_t>(wire::SignalAction::MAX))
    return WireError::kMalformed;
  const std::string_view symbol = view_of(m->symbol());
  const std::string_view base_symbol = view_of(m->base_symbol());
  const std::string_view reasoning = view_of(m->reasoning());
  if (symbol.size() >= sizeof(s.symbol) || base_symbol.size() >= sizeof(s.base_symbol) ||
      reasoning.size() >= sizeof(s.reasoning))
    return WireError::kMalformed;
  std::memcpy(s.signal_id.data(), id->Data(), s.signal_id.size());
  s.timestamp_s = m->timestamp_s();
  s.action = static_cast<SignalAction>(m->action());
  copy_text(s.symbol, symbol);
  copy_text(s.base_symbol, base_symbol);
  s.score = m->score();
  s.confidence = m->confidence();
  s.position_size_factor = m->position_size_factor();
  s.leverage = m->leverage();
  s.entry_price = m->entry_price();
  s.ttl_s = m->ttl_s();
  s.spot_cvd = m->spot_cvd();
  s.perp_cvd = m->perp_cvd();
  s.divergence = m->divergence();
  copy_text(s.reasoning, reasoning);
  out = s;
  return WireError::kNone;
}

// ---- message ids -----------------------------------------------------------------

namespace {

// A 64-bit hash of a sequence of 64-bit words: FNV-1a's step, one word at a
// time (a few cycles per trade, not one multiply per byte), then
// splitmix64's finalizer so that every input bit reaches every output bit.
class ContentHash {
 public:
  void add(std::uint64_t v) noexcept { h_ = (h_ ^ v) * 0x100000001b3ull; }
  void add(std::int64_t v) noexcept { add(static_cast<std::uint64_t>(v)); }
  void add(double v) noexcept { add(std::bit_cast<std::uint64_t>(v)); }
  std::uint64_t value() const noexcept {
    std::uint64_t z = h_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

// Every field that two collectors of the same feed agree on: all but the
// receive time and the market id.
void hash_event(ContentHash& h, const FeedEvent& e) noexcept {
  switch (e.type) {
    case FeedEventType::kTrade:
      h.add(std::uint64_t{1} | std::uint64_t{e.trade.flags} << 8 |
            std::uint64_t{static_cast<std::uint8_t>(e.trade.side)} << 16);
      h.add(e.trade.exchange_ts_ns);
      h.add(e.trade.trade_id);
      h.add(e.trade.price);
      h.add(e.trade.qty);
      break;
    case FeedEventType::kQuote:
      h.add(std::uint64_t{2});
      h.add(e.quote.exchange_ts_ns);
      h.add(e.quote.bid_price);
      h.add(e.quote.bid_qty);
      h.add(e.quote.ask_price);
      h.add(e.quote.ask_qty);
      break;
    case FeedEventType::kStatus:
      h.add(std::uint64_t{3} | std::uint64_t{static_cast<std::uint8_t>(e.status.kind)} << 8 |
            std::uint64_t{e.status.detail} << 16 | std::uint64_t{e.status.connection} << 24 |
            std::uint64_t{e.status.market == kInvalidMarket ? 1u : 0u} << 40);
      h.add(e.status.watermark_ns);
      h.add(e.status.gap_first_id);
      h.add(e.status.gap_last_id);
      break;
  }
}

template <typename T>
void append_number(std::string& s, T value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  s.append(buffer, result.ptr);
}

void append_hash(std::string& s, std::uint64_t h) {
  char buffer[17];
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, h >>= 4) buffer[i] = kHex[h & 0xf];
  s += ":h";
  s.append(buffer, 16);
}

}  // namespace

std::string event_batch_msg_id(std::string_view exchange, std::string_view market, const FeedEvent* events,
                               std::size_t n) {
  std::string id;
  id.reserve(exchange.size() + market.size() + 72);
  id.append(exchange);
  id += ':';
  id.append(market);
  id += ':';
  if (n == 0) {
    id += '0';
    return id;
  }
  const FeedEvent* first_trade = nullptr;
  const FeedEvent* last_trade = nullptr;
  std::size_t n_trades = 0;
  bool unidentified = false;  // a trade without an exchange id (0): the ids alone do not name the content
  for (std::size_t i = 0; i < n; ++i) {
    const FeedEvent& e = events[i];
    if (e.type == FeedEventType::kTrade) {
      if (first_trade == nullptr) first_trade = &e;
      last_trade = &e;
      ++n_trades;
      unidentified |= e.trade.trade_id == 0;
    }
  }
  // The content hash only where the ids do not name the content (the common
  // batch, trades with ids, skips it).
  ContentHash h;
  if (n_trades != n || unidentified)
    for (std::size_t i = 0; i < n; ++i) hash_event(h, events[i]);
  if (first_trade != nullptr) {
    append_number(id, first_trade->trade.trade_id);
    id += ':';
    append_number(id, last_trade->trade.trade_id);
    id += ':';
    append_number(id, n_trades);
    if (n_trades != n || unidentified) append_hash(id, h.value());
    return id;
  }
  const FeedEvent& first = events[0];
  if (first.type == FeedEventType::kStatus) {
    id += "s:";
    append_number(id, static_cast<unsigned>(first.status.kind));
    id += ':';
    append_number(id, first.status.watermark_ns);
    id += ':';
    append_number(id, static_cast<unsigned>(first.status.connection));
  } else {
    id += "q:";
    append_number(id, first.quote.exchange_ts_ns);
  }
  id += ':';
  append_number(id, n);
  append_hash(id, h.value());
  return id;
}

}  // namespace tickflow::bus
