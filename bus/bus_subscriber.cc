// bus/bus_subscriber.cc -- see bus_subscriber.h.
#include "bus/bus_subscriber.h"

#include <nats/nats.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace tickflow::bus {

BusSubscriber::BusSubscriber(NatsConnection& connection, const ConsumerSpec& spec, int fetch_batch)
    : connection_(connection), spec_(spec), fetch_batch_(fetch_batch < 1 ? 1 : fetch_batch) {
  const std::string where =
      "JetStream consumer " + spec_.durable + " of stream " + spec_.stream + " on " + connection.servers_text();
  jsErrCode jerr{};
  jsConsumerInfo* ci = nullptr;
  natsStatus s =
      js_GetConsumerInfo(&ci, connection.jetstream(), spec_.stream.c_str(), spec_.durable.c_str(), nullptr, &jerr);
  if (ci != nullptr) jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK) {
    if (jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr)
      throw BusError(where + ": does not exist (ensure_consumer creates it)");
    throw BusError(where + ": cannot read it: " + nats_status_text(s));
  }
  // Our own pull requests on our own inbox, not js_PullSubscribe +
  // natsSubscription_Fetch: libnats 3.4.1's Fetch (Debian 12) overflows its
  // message array when a fetch starts with messages already queued from an
  // earlier request (more than half the batch): it compares the total count
  // against the batch it has just reduced by that count (nats.c #749, fixed
  // upstream in 2024). tf-bus-in died of it about one run in twelve
  // ("double free or corruption", Count 1125 of a batch of 256).
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK) throw BusError(where + ": cannot create an inbox");
  inbox_ = inbox;
  natsInbox_Destroy(inbox);
  request_subject_ = "$JS.API.CONSUMER.MSG.NEXT." + spec_.stream + "." + spec_.durable;
  natsSubscription* sub = nullptr;
  s = natsConnection_SubscribeSync(&sub, connection.native(), inbox_.c_str());
  if (s != NATS_OK) throw BusError(where + ": cannot subscribe to its inbox: " + nats_status_text(s));
  // Never drop a delivered message as a slow consumer: at most a few
  // batches are ever queued (fetch() asks for more only when it has room).
  natsSubscription_SetPendingLimits(sub, -1, -1);
  sub_ = sub;
}

BusSubscriber::~BusSubscriber() {
  // Destroy, never Unsubscribe: the durable and its ack floor stay.
  if (sub_ != nullptr) natsSubscription_Destroy(sub_);
}

bool BusSubscriber::request_more(std::chrono::milliseconds wait) {
  const std::int64_t expires_ns = std::chrono::nanoseconds(wait).count();
  const std::string body =
      "{\"batch\":" + std::to_string(fetch_batch_) + ",\"expires\":" + std::to_string(expires_ns) + "}";
  if (natsConnection_PublishRequest(connection_.native(), request_subject_.c_str(), inbox_.c_str(), body.data(),
                                    static_cast<int>(body.size())) != NATS_OK)
    return false;
  open_remaining_ = fetch_batch_;
  open_until_ = std::chrono::steady_clock::now() + wait;
  return true;
}

std::size_t BusSubscriber::fetch(std::chrono::milliseconds wait,
                                 const std::function<void(const BusMessage&)>& on_message) {
  if (wait.count() < 1) wait = std::chrono::milliseconds(1);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::size_t handled = 0;
  while (handled < static_cast<std::size_t>(fetch_batch_)) {
    const auto now = std::chrono::steady_clock::now();
    // A request is open while the server may still deliver on it. Ask for
    // more only with nothing in hand: with messages in hand, return them
    // (and what is already queued) at once.
    if (open_remaining_ == 0 || now >= open_until_) {
      if (handled != 0) break;
      if (now >= deadline || !request_more(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now))) {
        if (now < deadline) counters_.fetch_errors.fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
    const std::int64_t timeout_ms =
        handled != 0 ? 0
                     : std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::min(deadline, open_until_) - std::chrono::steady_clock::now())
                                                     .count());
    natsMsg* m = nullptr;
    const natsStatus s =
        timeout_ms == 0 ? natsSubscription_NextMsg(&m, sub_, 0) : natsSubscription_NextMsg(&m, sub_, timeout_ms);
    if (s != NATS_OK) {
      if (s != NATS_TIMEOUT) counters_.fetch_errors.fetch_add(1, std::memory_order_relaxed);
      if (handled != 0 || std::chrono::steady_clock::now() >= deadline) break;
      if (s != NATS_TIMEOUT) break;
      continue;  // the open request expired empty: ask again
    }
    // A status (no reply subject): 404 no messages, 408 request expired,
    // 409 (max waiting, consumer deleted, ...) end the request; 100 is a
    // heartbeat. None is a message.
    const char* reply = natsMsg_GetReply(m);
    if (reply == nullptr || reply[0] == '\0') {
      const char* status = nullptr;
      if (natsMsgHeader_Get(m, "Status", &status) == NATS_OK && status != nullptr && std::string_view(status) != "100")
        open_remaining_ = 0;
      natsMsg_Destroy(m);
      continue;
    }
    if (open_remaining_ > 0) --open_remaining_;
    BusMessage out;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      out.stream_seq = meta->Sequence.Stream;
      out.num_delivered = meta->NumDelivered;
      note_delivery(meta->Sequence.Consumer, out.stream_seq);
      jsMsgMetaData_Destroy(meta);
    }
    if (out.stream_seq != 0) ack_subjects_[out.stream_seq] = reply;
    const char* subject = natsMsg_GetSubject(m);
    out.subject = subject != nullptr ? std::string_view(subject) : std::string_view();
    out.data = {reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m)),
                static_cast<std::size_t>(natsMsg_GetDataLength(m))};
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    if (out.num_delivered > 1) counters_.redelivered.fetch_add(1, std::memory_order_relaxed);
    ++handled;
    on_message(out);
    natsMsg_Destroy(m);
  }
  return handled;
}

void BusSubscriber::note_delivery(std::uint64_t consumer_seq, std::uint64_t stream_seq) {
  if (hold_missing_ > 0 && stream_seq > hold_at_ && stream_seq < hold_below_) {
    hold_seen_.insert(stream_seq);
    if (hold_seen_.size() >= hold_missing_) {  // every lost one came again: acks may pass
      hold_at_ = UINT64_MAX;
      hold_missing_ = 0;
      hold_seen_.clear();
    }
  }
  if (last_consumer_seq_ != 0 && consumer_seq > last_consumer_seq_ + 1) {
    counters_.lost_deliveries.fetch_add(consumer_seq - last_consumer_seq_ - 1, std::memory_order_relaxed);
    if (hold_missing_ == 0) {
      hold_since_ = std::chrono::steady_clock::now();
      hold_at_ = last_stream_seq_;
      hold_below_ = stream_seq;
      hold_missing_ = consumer_seq - last_consumer_seq_ - 1;
    } else {  // another jump before the first healed: widen the range
      hold_below_ = std::max(hold_below_, stream_seq);
      hold_missing_ += consumer_seq - last_consumer_seq_ - 1;
    }
  }
  // A re-created consumer starts its sequence again: a new baseline.
  last_consumer_seq_ = consumer_seq;
  last_stream_seq_ = stream_seq;
}

void BusSubscriber::ack_through(std::uint64_t stream_seq) {
  if (hold_missing_ > 0 && std::chrono::steady_clock::now() - hold_since_ > 3 * spec_.ack_wait) {
    // They never came again (another client on this durable?): acks must
    // not stop for good. Counted; the gap stays in lost_deliveries.
    counters_.holds_given_up.fetch_add(1, std::memory_order_relaxed);
    hold_at_ = UINT64_MAX;
    hold_missing_ = 0;
    hold_seen_.clear();
  }
  stream_seq = std::min(stream_seq, hold_at_);
  auto end = ack_subjects_.upper_bound(stream_seq);
  if (end == ack_subjects_.begin()) return;
  natsConnection* nc = connection_.native();
  if (spec_.ack_all) {
    const auto& last = *std::prev(end);
    if (natsConnection_PublishString(nc, last.second.c_str(), "+ACK") != NATS_OK)
      return;  // kept: a later ack covers it
    counters_.acks.fetch_add(1, std::memory_order_relaxed);
  } else {
    for (auto it = ack_subjects_.begin(); it != end; ++it) {
      if (natsConnection_PublishString(nc, it->second.c_str(), "+ACK") != NATS_OK) {
        ack_subjects_.erase(ack_subjects_.begin(), it);
        return;
      }
      counters_.acks.fetch_add(1, std::memory_order_relaxed);
    }
  }
  ack_subjects_.erase(ack_subjects_.begin(), end);
}

void BusSubscriber::refresh_lag() {
  jsErrCode jerr{};
  jsConsumerInfo* ci = nullptr;
  const natsStatus s =
      js_GetConsumerInfo(&ci, connection_.jetstream(), spec_.stream.c_str(), spec_.durable.c_str(), nullptr, &jerr);
  if (s == NATS_OK && ci != nullptr)
    counters_.lag.store(static_cast<std::int64_t>(ci->NumPending) + ci->NumAckPending, std::memory_order_relaxed);
  if (ci != nullptr) jsConsumerInfo_Destroy(ci);
}

}  // namespace tickflow::bus
