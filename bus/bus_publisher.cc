// bus/bus_publisher.cc -- see bus_publisher.h.
#include "bus/bus_publisher.h"

#include <nats/nats.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sinks/disk_spool.h"

namespace tickflow::bus {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr std::size_t kMaxNameBytes = 4096;  // subject / msg id (the spool record's u16 lengths)

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Spool record: u16 subject length, u16 id length, subject, id, payload.
void encode_record(std::string& out, std::string_view subject, std::string_view id,
                   std::span<const std::uint8_t> data) {
  out.clear();
  const auto put16 = [&](std::size_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
  };
  put16(subject.size());
  put16(id.size());
  out.append(subject);
  out.append(id);
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
}

bool decode_record(std::string_view rec, std::string_view& subject, std::string_view& id,
                   std::span<const std::uint8_t>& data) {
  if (rec.size() < 4) return false;
  const auto get16 = [&](std::size_t at) {
    return static_cast<std::size_t>(static_cast<unsigned char>(rec[at])) |
           (static_cast<std::size_t>(static_cast<unsigned char>(rec[at + 1])) << 8);
  };
  const std::size_t sl = get16(0), il = get16(2);
  if (rec.size() < 4 + sl + il || sl == 0 || il == 0) return false;
  subject = rec.substr(4, sl);
  id = rec.substr(4 + sl, il);
  data = {reinterpret_cast<const std::uint8_t*>(rec.data() + 4 + sl + il), rec.size() - 4 - sl - il};
  return true;
}

// What libnats's ack threads enter through: it outlives its publisher (see
// ~BusPublisher), so a handler that libnats starts while the publisher is
// being destroyed finds `closing` set instead of freed memory.
struct HandlerGate {
  std::atomic<bool> closing{false};
  std::atomic<int> active{0};
  void* impl = nullptr;
};

// Gates of destroyed publishers: a few bytes per publisher ever destroyed
// (one or two per process), kept reachable until exit.
void retire(std::unique_ptr<HandlerGate> gate) {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<HandlerGate>> retired;
  std::lock_guard lock(mutex);
  retired.push_back(std::move(gate));
}

}  // namespace

struct BusPublisher::Impl {
  NatsConnection& connection;
  BusPublisherConfig config;
  BusPublisherCounters& counters;
  jsCtx* js = nullptr;

  // Written by libnats's ack threads.
  std::mutex mutex;
  std::condition_variable acked_cv;
  std::vector<natsMsg*> failed;  // error acks, for the publishing thread
  std::atomic<std::int64_t> last_response_ns{0};
  std::atomic<bool> good_ack{false};
  std::atomic<bool> has_failures{false};  // `failed` is not empty
  std::unique_ptr<HandlerGate> gate = std::make_unique<HandlerGate>();

  // The publishing thread's.
  std::deque<natsMsg*> retry;  // to resend, oldest first
  Clock::time_point next_resend{};
  std::chrono::milliseconds backoff = kFirstBackoff;
  std::optional<DiskSpool> spool;
  std::string record, subject_z, id_z;

  Impl(NatsConnection& c, BusPublisherConfig cfg, BusPublisherCounters& k)
      : connection(c), config(std::move(cfg)), counters(k) {}

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* gate = static_cast<HandlerGate*>(closure);
    gate->active.fetch_add(1);  // seq_cst with ~BusPublisher's closing store and active load
    if (gate->closing.load()) {
      natsMsg_Destroy(msg);
      gate->active.fetch_sub(1);
      return;
    }
    auto* self = static_cast<Impl*>(gate->impl);
    self->last_response_ns.store(now_ns(), std::memory_order_relaxed);
    if (pa != nullptr) {
      self->counters.acked.fetch_add(1, std::memory_order_relaxed);
      if (pa->Duplicate) self->counters.duplicates.fetch_add(1, std::memory_order_relaxed);
      self->good_ack.store(true, std::memory_order_relaxed);
      natsMsg_Destroy(msg);
      self->counters.in_flight.fetch_sub(1);
    } else {
      (void)pae;
      self->counters.failed.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(self->mutex);
      self->failed.push_back(msg);
      self->has_failures.store(true, std::memory_order_release);
      self->counters.in_flight.fetch_sub(1);
    }
    self->acked_cv.notify_all();
    gate->active.fetch_sub(1);
  }

  bool window_has_room() const noexcept {
    return counters.in_flight.load(std::memory_order_relaxed) < config.max_in_flight;
  }

  // Hands `msg` to libnats (its header carries the id; no MsgId option, which
  // would overwrite it). true: libnats owns it now.
  bool send(natsMsg*& msg) {
    if (counters.in_flight.fetch_add(1) == 0) last_response_ns.store(now_ns(), std::memory_order_relaxed);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    const natsStatus s = js_PublishMsgAsync(js, &msg, &po);
    if (s == NATS_OK) return true;
    counters.in_flight.fetch_sub(1);
    return false;
  }

  natsMsg* make_msg(std::string_view subject, std::string_view id, std::span<const std::uint8_t> data) {
    subject_z.assign(subject);
    id_z.assign(id);
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject_z.c_str(), nullptr, reinterpret_cast<const char*>(data.data()),
                                  static_cast<int>(data.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id_z.c_str());
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      throw BusError("NATS publish to " + subject_z + ": cannot build the message: " + nats_status_text(s));
    }
    return msg;
  }

  void collect_failures() {
    if (!has_failures.load(std::memory_order_acquire)) return;  // the common case: no lock
    std::lock_guard lock(mutex);
    has_failures.store(false, std::memory_order_relaxed);
    for (natsMsg* m : failed) retry.push_back(m);
    failed.clear();
  }

  // Every in-flight message whose ack died with a server: take them all back.
  void take_back_lost() {
    if (!connection.connected()) {
      // Reconnecting: what is in flight sits in libnats's reconnect buffer
      // and goes out on reconnect; the silence is not a lost ack yet.
      last_response_ns.store(now_ns(), std::memory_order_relaxed);
      return;
    }
    const std::int64_t last = last_response_ns.load(std::memory_order_relaxed);
    if (counters.in_flight.load() <= 0 ||
        now_ns() - last < std::chrono::duration_cast<std::chrono::nanoseconds>(config.ack_timeout).count())
      return;
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
      counters.in_flight.fetch_sub(pending.Count);
      for (int i = 0; i < pending.Count; ++i) {
        retry.push_back(pending.Msgs[i]);
        pending.Msgs[i] = nullptr;
      }
      natsMsgList_Destroy(&pending);
      next_resend = Clock::now();
    }
    last_response_ns.store(now_ns(), std::memory_order_relaxed);
  }

  void resend_due() {
    if (retry.empty() || Clock::now() < next_resend) return;
    while (!retry.empty() && window_has_room()) {
      natsMsg* m = retry.front();
      if (!send(m)) break;
      retry.pop_front();
      counters.resent.fetch_add(1, std::memory_order_relaxed);
    }
    if (good_ack.exchange(false))
      backoff = kFirstBackoff;
    else
      backoff = std::min(backoff * 2, kMaxBackoff);
    next_resend = Clock::now() + backoff;
  }

  void drain_spool() {
    if (!spool) return;
    while (!spool->empty() && window_has_room()) {
      if (!spool->front(record)) return;  // a read error: last_error() has it; retried next poll
      std::string_view subject, id;
      std::span<const std::uint8_t> data;
      if (!decode_record(record, subject, id, data)) {  // not ours: skip, never crash
        spool->pop_front();
        continue;
      }
      natsMsg* m = make_msg(subject, id, data);
      if (!send(m)) {
        natsMsg_Destroy(m);
        return;
      }
      counters.published.fetch_add(1, std::memory_order_relaxed);
      spool->pop_front();
    }
    spool->maybe_sync();
  }

  void poll() {
    collect_failures();
    take_back_lost();
    resend_due();
    drain_spool();
  }

  void wait_for_ack(std::chrono::milliseconds at_most) {
    std::unique_lock lock(mutex);
    acked_cv.wait_for(lock, at_most);
  }
};

BusPublisher::BusPublisher(NatsConnection& connection, BusPublisherConfig config)
    : impl_(std::make_unique<Impl>(connection, std::move(config), counters_)) {
  const auto& c = impl_->config;
  if (c.max_in_flight < 1)
    throw BusError("bus publisher: max_in_flight must be at least 1, not " + std::to_string(c.max_in_flight));
  if (c.on_full == OnFullWindow::kSpool) {
    if (c.spool_dir.empty()) throw BusError("bus publisher: on_full = spool needs a spool_dir");
    SpoolConfig sc;
    sc.dir = c.spool_dir;
    sc.max_bytes = c.spool_max_bytes;
    sc.full_policy = SpoolFullPolicy::kBlock;
    sc.segment_bytes = std::max<std::uint64_t>(4096, std::min<std::uint64_t>(16ull << 20, c.spool_max_bytes / 8));
    try {
      impl_->spool.emplace(sc);
    } catch (const std::exception& e) {
      throw BusError("bus publisher spool_dir " + c.spool_dir.string() + ": " + e.what());
    }
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = connection.api_wait().count();
  jo.PublishAsync.MaxPending = c.max_in_flight;
  jo.PublishAsync.AckHandler = &Impl::on_ack;
  impl_->gate->impl = impl_.get();
  jo.PublishAsync.AckHandlerClosure = impl_->gate.get();
  jo.PublishAsync.StallWait = 20;
  jsCtx* js = nullptr;
  const natsStatus s = natsConnection_JetStream(&js, connection.native(), &jo);
  if (s != NATS_OK)
    throw BusError("bus publisher on " + connection.servers_text() + ": JetStream context: " + nats_status_text(s));
  impl_->js = js;
}

BusPublisher::~BusPublisher() {
  Impl& im = *impl_;
  HandlerGate& gate = *im.gate;
  gate.closing.store(true);
  // With a spool, what is still unacked goes to disk for the next run (ids
  // kept: a copy the server did store is dropped as a duplicate); without
  // one it is dropped (flush() first).
  natsMsgList pending{};
  if (im.spool && js_PublishAsyncGetPendingList(&pending, im.js) == NATS_OK) {
    for (int i = 0; i < pending.Count; ++i) {
      im.retry.push_back(pending.Msgs[i]);
      pending.Msgs[i] = nullptr;
    }
    natsMsgList_Destroy(&pending);
  }
  jsCtx_Destroy(im.js);  // destroys what is still in flight
  // A handler already past the gate finishes before the state it uses goes
  // away; one that enters later finds `closing` (the gate is retired, not freed).
  while (gate.active.load() > 0) std::this_thread::yield();
  retire(std::move(im.gate));
  im.has_failures.store(true);
  im.collect_failures();
  for (natsMsg* m : im.retry) {
    if (im.spool) {
      const char* subject = natsMsg_GetSubject(m);
      const char* id = nullptr;
      const bool has_id = natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr;
      if (subject != nullptr && has_id) {
        encode_record(im.record, subject, id,
                      {reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m)),
                       static_cast<std::size_t>(natsMsg_GetDataLength(m))});
        if (im.spool->append(im.record) == SpoolAppend::kStored)
          counters_.spooled.fetch_add(1, std::memory_order_relaxed);
      }
    }
    natsMsg_Destroy(m);
  }
  im.retry.clear();
}

void BusPublisher::publish(std::string_view subject, std::string_view msg_id, std::span<const std::uint8_t> data) {
  if (msg_id.empty() || msg_id.size() > kMaxNameBytes || subject.empty() || subject.size() > kMaxNameBytes)
    throw BusError("bus publish to '" + std::string(subject.substr(0, 200)) + "': subject and msg id must be 1.." +
                   std::to_string(kMaxNameBytes) + " bytes");
  Impl& im = *impl_;
  im.poll();
  const bool spool_mode = im.spool.has_value();
  if (spool_mode && !im.spool->empty()) {
    // poll() drained what the window had room for: the window is full, and
    // the message goes behind what is spooled already (publish order).
    counters_.window_full.fetch_add(1, std::memory_order_relaxed);
    encode_record(im.record, subject, msg_id, data);
    if (im.spool->append(im.record) == SpoolAppend::kStored) {
      counters_.spooled.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  natsMsg* msg = im.make_msg(subject, msg_id, data);
  bool counted = spool_mode && !im.spool->empty();  // counted above
  for (;;) {
    if (im.window_has_room() && im.send(msg)) {
      counters_.published.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!counted) {
      counters_.window_full.fetch_add(1, std::memory_order_relaxed);
      counted = true;
    }
    if (spool_mode) {
      encode_record(im.record, subject, msg_id, data);
      if (im.spool->append(im.record) == SpoolAppend::kStored) {
        counters_.spooled.fetch_add(1, std::memory_order_relaxed);
        natsMsg_Destroy(msg);
        return;
      }
      // The spool is full or failing: block like kBlock rather than lose it.
    }
    im.wait_for_ack(std::chrono::milliseconds(10));
    im.poll();
  }
}

void BusPublisher::poll() { impl_->poll(); }

bool BusPublisher::flush(std::chrono::milliseconds deadline) {
  Impl& im = *impl_;
  const auto until = Clock::now() + deadline;
  for (;;) {
    im.poll();
    bool failures_waiting = false;
    {
      std::lock_guard lock(im.mutex);
      failures_waiting = !im.failed.empty();
    }
    const bool done =
        counters_.in_flight.load() == 0 && im.retry.empty() && !failures_waiting && (!im.spool || im.spool->empty());
    if (done) {
      if (im.spool) im.spool->sync();
      return true;
    }
    if (Clock::now() >= until) return false;
    im.wait_for_ack(std::chrono::milliseconds(10));
  }
}

std::uint64_t BusPublisher::spooled_pending() const noexcept {
  return impl_->spool ? impl_->spool->pending_records() : 0;
}

}  // namespace tickflow::bus
