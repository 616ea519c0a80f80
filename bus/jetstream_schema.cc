// bus/jetstream_schema.cc -- see jetstream_schema.h.
#include "bus/jetstream_schema.h"

#include <nats/nats.h>

#include <algorithm>
#include <thread>

namespace tickflow::bus {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

// Answers a fresh or re-electing cluster gives for a while.
bool transient(natsStatus s, jsErrCode jerr) {
  return s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT || jerr == JSClusterNotAvailErr || jerr == JSClusterNoPeersErr ||
         jerr == JSClusterNotLeaderErr || jerr == JSStreamOfflineErr || jerr == JSConsumerOfflineErr ||
         jerr == JSInsufficientResourcesErr;
}

std::string api_error(natsStatus s, jsErrCode jerr) {
  std::string text = nats_status_text(s);
  if (jerr != 0) text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return text;
}

std::string seconds_text(std::int64_t ns) {
  if (ns % kNsPerSecond == 0) return std::to_string(ns / kNsPerSecond) + " s";
  return std::to_string(ns) + " ns";
}

std::string join(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

// Calls `attempt` (returns status, sets jerr) until it is not transient or
// `retry_for` is over.
template <typename Attempt>
natsStatus with_retry(std::chrono::milliseconds retry_for, jsErrCode& jerr, Attempt attempt) {
  const auto deadline = std::chrono::steady_clock::now() + retry_for;
  for (;;) {
    jerr = static_cast<jsErrCode>(0);
    const natsStatus s = attempt();
    if (s == NATS_OK || !transient(s, jerr) || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string deliver_policy_name(jsDeliverPolicy p) {
  switch (p) {
    case js_DeliverAll: return "all";
    case js_DeliverLast: return "last";
    case js_DeliverNew: return "new";
    case js_DeliverByStartSequence: return "by start sequence";
    case js_DeliverByStartTime: return "by start time";
    case js_DeliverLastPerSubject: return "last per subject";
    default: return "policy " + std::to_string(static_cast<int>(p));
  }
}

// Every stream seq <= this is acked. A durable re-created by
// rewind_consumer() at OptStartSeq reports an ack floor of 0 until its first
// ack (server 2.9), though nothing below OptStartSeq is delivered again.
std::uint64_t ack_floor_of(const jsConsumerInfo& info) {
  std::uint64_t floor = info.AckFloor.Stream;
  if (info.Config != nullptr && info.Config->DeliverPolicy == js_DeliverByStartSequence && info.Config->OptStartSeq > 0)
    floor = std::max(floor, info.Config->OptStartSeq - 1);
  return floor;
}

struct StreamInfoPtr {
  jsStreamInfo* p = nullptr;
  ~StreamInfoPtr() {
    if (p != nullptr) jsStreamInfo_Destroy(p);
  }
};
struct ConsumerInfoPtr {
  jsConsumerInfo* p = nullptr;
  ~ConsumerInfoPtr() {
    if (p != nullptr) jsConsumerInfo_Destroy(p);
  }
};

}  // namespace

void ensure_stream(NatsConnection& connection, const StreamSpec& spec, std::chrono::milliseconds retry_for) {
  const std::string where = "JetStream stream " + spec.name + " on " + connection.servers_text();
  if (spec.name.empty()) throw BusError("JetStream stream on " + connection.servers_text() + ": empty name");
  if (spec.subjects.empty()) throw BusError(where + ": no subjects");
  jsCtx* js = connection.jetstream();
  jsErrCode jerr{};
  StreamInfoPtr info;
  natsStatus s = with_retry(retry_for, jerr, [&] {
    if (info.p != nullptr) jsStreamInfo_Destroy(info.p);
    info.p = nullptr;
    return js_GetStreamInfo(&info.p, js, spec.name.c_str(), nullptr, &jerr);
  });
  const std::int64_t want_dup = static_cast<std::int64_t>(spec.duplicate_window.count()) * kNsPerSecond;
  const std::int64_t want_age = static_cast<std::int64_t>(spec.max_age.count()) * 3600 * kNsPerSecond;
  const jsStorageType want_storage = spec.file_storage ? js_FileStorage : js_MemoryStorage;
  if (s != NATS_OK && jerr == JSStreamNotFoundErr) {
    std::vector<const char*> subjects;
    for (const auto& subject : spec.subjects) subjects.push_back(subject.c_str());
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = spec.name.c_str();
    config.Subjects = subjects.data();
    config.SubjectsLen = static_cast<int>(subjects.size());
    config.Retention = js_LimitsPolicy;
    config.Storage = want_storage;
    config.Replicas = spec.replicas;
    config.Duplicates = want_dup;
    config.MaxAge = want_age;
    s = with_retry(retry_for, jerr, [&] {
      if (info.p != nullptr) jsStreamInfo_Destroy(info.p);
      info.p = nullptr;
      return js_AddStream(&info.p, js, &config, nullptr, &jerr);
    });
    if (s == NATS_OK) return;
    if (jerr == JSStreamReplicasNotSupportedErr)
      throw BusError(where + ": replicas = " + std::to_string(spec.replicas) +
                     " needs a clustered JetStream, the server is a single node");
    if (jerr == JSStreamSubjectOverlapErr)
      throw BusError(where + ": subjects " + join(spec.subjects) + " overlap another stream's");
    if (jerr != JSStreamNameExistErr) throw BusError(where + ": cannot create it: " + api_error(s, jerr));
    // Created by someone else meanwhile: check it below.
    s = with_retry(retry_for, jerr, [&] {
      if (info.p != nullptr) jsStreamInfo_Destroy(info.p);
      info.p = nullptr;
      return js_GetStreamInfo(&info.p, js, spec.name.c_str(), nullptr, &jerr);
    });
  }
  if (s != NATS_OK) throw BusError(where + ": cannot read its definition: " + api_error(s, jerr));

  const jsStreamConfig& found = *info.p->Config;
  const auto mismatch = [&](const char* field, const std::string& want, const std::string& have) {
    throw BusError(where + ": " + field + " is " + have + ", configured " + want +
                   " (change the stream or the configuration)");
  };
  std::vector<std::string> have_subjects;
  for (int i = 0; i < found.SubjectsLen; ++i) have_subjects.emplace_back(found.Subjects[i]);
  if (join(have_subjects) != join(spec.subjects)) mismatch("subjects", join(spec.subjects), join(have_subjects));
  if (found.Retention != js_LimitsPolicy)
    mismatch("retention", "limits", found.Retention == js_InterestPolicy ? "interest" : "workqueue");
  if (found.Replicas != spec.replicas)
    mismatch("replicas", std::to_string(spec.replicas), std::to_string(found.Replicas));
  if (found.Duplicates != want_dup)
    mismatch("duplicate_window", seconds_text(want_dup), seconds_text(found.Duplicates));
  if (found.MaxAge != want_age) mismatch("max_age", seconds_text(want_age), seconds_text(found.MaxAge));
  if (found.Storage != want_storage)
    mismatch("storage", spec.file_storage ? "file" : "memory", found.Storage == js_FileStorage ? "file" : "memory");
}

void ensure_consumer(NatsConnection& connection, const ConsumerSpec& spec, std::chrono::milliseconds retry_for) {
  const std::string where =
      "JetStream consumer " + spec.durable + " of stream " + spec.stream + " on " + connection.servers_text();
  if (spec.durable.empty()) throw BusError("JetStream consumer of stream " + spec.stream + ": empty durable name");
  jsCtx* js = connection.jetstream();
  jsErrCode jerr{};
  ConsumerInfoPtr info;
  const auto get = [&] {
    return with_retry(retry_for, jerr, [&] {
      if (info.p != nullptr) jsConsumerInfo_Destroy(info.p);
      info.p = nullptr;
      return js_GetConsumerInfo(&info.p, js, spec.stream.c_str(), spec.durable.c_str(), nullptr, &jerr);
    });
  };
  natsStatus s = get();
  const std::int64_t want_ack_wait = static_cast<std::int64_t>(spec.ack_wait.count()) * kNsPerSecond;
  const jsAckPolicy want_policy = spec.ack_all ? js_AckAll : js_AckExplicit;
  if (s != NATS_OK && jerr == JSStreamNotFoundErr) throw BusError(where + ": the stream does not exist");
  if (s != NATS_OK && jerr == JSConsumerNotFoundErr) {
    jsConsumerConfig config;
    jsConsumerConfig_Init(&config);
    config.Durable = spec.durable.c_str();
    config.DeliverPolicy = js_DeliverAll;
    config.AckPolicy = want_policy;
    config.AckWait = want_ack_wait;
    config.MaxAckPending = spec.max_ack_pending;
    if (!spec.filter_subject.empty()) config.FilterSubject = spec.filter_subject.c_str();
    s = with_retry(retry_for, jerr, [&] {
      if (info.p != nullptr) jsConsumerInfo_Destroy(info.p);
      info.p = nullptr;
      return js_AddConsumer(&info.p, js, spec.stream.c_str(), &config, nullptr, &jerr);
    });
    if (s == NATS_OK) return;
    if (jerr == JSStreamNotFoundErr) throw BusError(where + ": the stream does not exist");
    throw BusError(where + ": cannot create it: " + api_error(s, jerr));
  }
  if (s != NATS_OK) throw BusError(where + ": cannot read its definition: " + api_error(s, jerr));

  const jsConsumerConfig& found = *info.p->Config;
  const auto mismatch = [&](const char* field, const std::string& want, const std::string& have) {
    throw BusError(where + ": " + field + " is " + have + ", configured " + want +
                   " (delete the consumer or change the configuration)");
  };
  const auto policy_name = [](jsAckPolicy p) -> std::string {
    return p == js_AckAll ? "all" : p == js_AckExplicit ? "explicit" : "none";
  };
  const std::string have_filter = found.FilterSubject != nullptr ? found.FilterSubject : "";
  if (have_filter != spec.filter_subject)
    mismatch("filter_subject", "'" + spec.filter_subject + "'", "'" + have_filter + "'");
  if (found.AckPolicy != want_policy) mismatch("ack_policy", policy_name(want_policy), policy_name(found.AckPolicy));
  if (found.AckWait != want_ack_wait) mismatch("ack_wait", seconds_text(want_ack_wait), seconds_text(found.AckWait));
  if (found.MaxAckPending != spec.max_ack_pending)
    mismatch("max_ack_pending", std::to_string(spec.max_ack_pending), std::to_string(found.MaxAckPending));
  // By start sequence: rewind_consumer() re-created it at its ack floor + 1.
  if (found.DeliverPolicy != js_DeliverAll && found.DeliverPolicy != js_DeliverByStartSequence)
    mismatch("deliver_policy", "all (or by start sequence, after a rewind)", deliver_policy_name(found.DeliverPolicy));
  if (found.DeliverSubject != nullptr && *found.DeliverSubject != '\0')
    mismatch("deliver_subject", "none (a pull consumer)", found.DeliverSubject);
}

ConsumerRewind rewind_consumer(NatsConnection& connection, const ConsumerSpec& spec,
                               std::chrono::milliseconds retry_for) {
  const std::string where =
      "JetStream consumer " + spec.durable + " of stream " + spec.stream + " on " + connection.servers_text();
  jsCtx* js = connection.jetstream();
  ConsumerRewind out;
  jsErrCode jerr{};
  ConsumerInfoPtr info;
  const auto get = [&](ConsumerInfoPtr& into) {
    return with_retry(retry_for, jerr, [&] {
      if (into.p != nullptr) jsConsumerInfo_Destroy(into.p);
      into.p = nullptr;
      return js_GetConsumerInfo(&into.p, js, spec.stream.c_str(), spec.durable.c_str(), nullptr, &jerr);
    });
  };
  natsStatus s = get(info);
  if (s != NATS_OK) {
    out.problem = where + ": cannot read its state: " + api_error(s, jerr);
    return out;
  }
  const std::uint64_t floor = ack_floor_of(*info.p);
  out.delivered_stream_seq = info.p->Delivered.Stream;
  out.ack_pending = info.p->NumAckPending;
  out.start_seq = floor + 1;
  out.needed = out.ack_pending > 0 || out.delivered_stream_seq > floor;
  if (!out.needed) return out;

  // The same configuration (every field, also those tickflow does not
  // check: replicas, max deliver, ...); its strings and back-off array stay
  // valid while `info` lives.
  jsConsumerConfig config = *info.p->Config;
  config.Name = nullptr;  // created by durable name, as ensure_consumer does
  config.Durable = spec.durable.c_str();
  config.DeliverPolicy = js_DeliverByStartSequence;
  config.OptStartSeq = out.start_seq;
  config.OptStartTime = 0;

  s = with_retry(retry_for, jerr,
                 [&] { return js_DeleteConsumer(js, spec.stream.c_str(), spec.durable.c_str(), nullptr, &jerr); });
  if (s != NATS_OK && jerr != JSConsumerNotFoundErr) {
    // The answer may have been lost after the server deleted it: look.
    ConsumerInfoPtr again;
    if (get(again) == NATS_OK || jerr != JSConsumerNotFoundErr) {
      out.problem = where + ": cannot delete it to redeliver from stream seq " + std::to_string(out.start_seq) +
                    " at once: " + api_error(s, jerr);
      return out;
    }
  }

  // Deleted: from here on, giving up would leave no durable at all (the
  // next start's ensure_consumer would deliver from the stream's start), so
  // the re-create rides out a longer election than the delete did.
  ConsumerInfoPtr created;
  s = with_retry(4 * retry_for, jerr, [&] {
    if (created.p != nullptr) jsConsumerInfo_Destroy(created.p);
    created.p = nullptr;
    return js_AddConsumer(&created.p, js, spec.stream.c_str(), &config, nullptr, &jerr);
  });
  if (s != NATS_OK) {
    throw BusError(where + ": deleted to redeliver its unacked messages at once, but cannot re-create it: " +
                   api_error(s, jerr) + "; re-create it with deliver policy by start sequence, opt_start_seq " +
                   std::to_string(out.start_seq) + " (its ack floor + 1), or every message is delivered again");
  }
  out.rewound = true;
  return out;
}

StreamState stream_state(NatsConnection& connection, const std::string& stream) {
  jsErrCode jerr{};
  StreamInfoPtr info;
  const natsStatus s = js_GetStreamInfo(&info.p, connection.jetstream(), stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK)
    throw BusError("JetStream stream " + stream + " on " + connection.servers_text() +
                   ": cannot read its state: " + api_error(s, jerr));
  StreamState out;
  out.messages = info.p->State.Msgs;
  out.bytes = info.p->State.Bytes;
  out.first_seq = info.p->State.FirstSeq;
  out.last_seq = info.p->State.LastSeq;
  out.replicas = static_cast<int>(info.p->Config->Replicas);
  if (info.p->Cluster != nullptr && info.p->Cluster->Leader != nullptr) out.leader = info.p->Cluster->Leader;
  return out;
}

ConsumerState consumer_state(NatsConnection& connection, const std::string& stream, const std::string& durable) {
  jsErrCode jerr{};
  ConsumerInfoPtr info;
  const natsStatus s =
      js_GetConsumerInfo(&info.p, connection.jetstream(), stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK)
    throw BusError("JetStream consumer " + durable + " of stream " + stream + " on " + connection.servers_text() +
                   ": cannot read its state: " + api_error(s, jerr));
  ConsumerState out;
  out.delivered_stream_seq = info.p->Delivered.Stream;
  out.ack_floor_stream_seq = ack_floor_of(*info.p);
  out.num_pending = info.p->NumPending;
  out.num_ack_pending = info.p->NumAckPending;
  out.num_redelivered = info.p->NumRedelivered;
  if (info.p->Cluster != nullptr && info.p->Cluster->Leader != nullptr) out.leader = info.p->Cluster->Leader;
  return out;
}

bool delete_stream(NatsConnection& connection, const std::string& stream) {
  jsErrCode jerr{};
  const natsStatus s = js_DeleteStream(connection.jetstream(), stream.c_str(), nullptr, &jerr);
  if (s == NATS_OK) return true;
  if (jerr == JSStreamNotFoundErr) return false;
  throw BusError("JetStream stream " + stream + " on " + connection.servers_text() +
                 ": cannot delete it: " + api_error(s, jerr));
}

ConsumerStart consumer_start(NatsConnection& connection, const std::string& stream, const std::string& durable) {
  jsErrCode jerr{};
  ConsumerInfoPtr info;
  const natsStatus s =
      js_GetConsumerInfo(&info.p, connection.jetstream(), stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK)
    throw BusError("JetStream consumer " + durable + " of stream " + stream + " on " + connection.servers_text() +
                   ": cannot read its definition: " + api_error(s, jerr));
  ConsumerStart out;
  out.deliver_all = info.p->Config->DeliverPolicy == js_DeliverAll;
  if (info.p->Config->DeliverPolicy == js_DeliverByStartSequence) out.start_seq = info.p->Config->OptStartSeq;
  return out;
}

}  // namespace tickflow::bus
