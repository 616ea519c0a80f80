// bus/bus_subscriber.cc -- see bus_subscriber.h.
#include "bus/bus_subscriber.h"

#include <nats/nats.h>

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
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec_.stream.c_str();
  so.Consumer = spec_.durable.c_str();
  natsSubscription* sub = nullptr;
  const char* subject = spec_.filter_subject.empty() ? ">" : spec_.filter_subject.c_str();
  s = js_PullSubscribe(&sub, connection.jetstream(), subject, spec_.durable.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK)
    throw BusError(where + ": cannot bind a pull subscription: " + nats_status_text(s) +
                   (jerr != 0 ? " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")" : ""));
  sub_ = sub;
}

BusSubscriber::~BusSubscriber() {
  // Destroy, never Unsubscribe: the durable and its ack floor stay.
  if (sub_ != nullptr) natsSubscription_Destroy(sub_);
}

std::size_t BusSubscriber::fetch(std::chrono::milliseconds wait,
                                 const std::function<void(const BusMessage&)>& on_message) {
  natsMsgList list{};
  jsErrCode jerr{};
  const natsStatus s = natsSubscription_Fetch(&list, sub_, fetch_batch_, wait.count() > 0 ? wait.count() : 1, &jerr);
  if (s != NATS_OK) {
    if (s != NATS_TIMEOUT) counters_.fetch_errors.fetch_add(1, std::memory_order_relaxed);
    natsMsgList_Destroy(&list);
    return 0;
  }
  std::size_t handled = 0;
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* m = list.Msgs[i];
    BusMessage out;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      out.stream_seq = meta->Sequence.Stream;
      out.num_delivered = meta->NumDelivered;
      jsMsgMetaData_Destroy(meta);
    }
    const char* reply = natsMsg_GetReply(m);
    if (reply != nullptr && out.stream_seq != 0) ack_subjects_[out.stream_seq] = reply;
    const char* subject = natsMsg_GetSubject(m);
    out.subject = subject != nullptr ? std::string_view(subject) : std::string_view();
    out.data = {reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(m)),
                static_cast<std::size_t>(natsMsg_GetDataLength(m))};
    counters_.received.fetch_add(1, std::memory_order_relaxed);
    if (out.num_delivered > 1) counters_.redelivered.fetch_add(1, std::memory_order_relaxed);
    ++handled;
    on_message(out);
  }
  natsMsgList_Destroy(&list);
  return handled;
}

void BusSubscriber::ack_through(std::uint64_t stream_seq) {
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
