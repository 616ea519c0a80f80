// bus/nats_connection.h
//
// NatsConnection: one client connection to a NATS server or cluster (libnats,
// the Debian C client) and its JetStream context, owned RAII. It is the only
// way the rest of bus/ reaches the server; runtime/ and tests see this
// header, never <nats/nats.h> (the libnats handles below are opaque forward
// declarations of libnats's own struct tags).
//
// Behaviour:
//  * connect: the constructor tries every server in `servers` once (each
//    within connect_timeout) and throws BusError naming them and libnats's
//    reason when none answers. A process that must wait for its bus should
//    retry the constructor itself: a silent background retry would hide a
//    wrong address;
//  * reconnect: once connected, it reconnects forever (reconnect_wait between
//    rounds, a little jitter), and counts every disconnect and reconnect.
//    While disconnected, publishes go into libnats's 8 MiB reconnect buffer;
//  * credentials: never from the command line or a log. credentials_file is
//    either a NATS .creds file (JWT + NKey seed: it holds "BEGIN NATS USER
//    JWT") or a small key file of `user = ...`, `password = ...` or
//    `token = ...` lines (# comments); with no file, NATS_USER and
//    NATS_PASSWORD, or NATS_TOKEN, from the environment; else anonymous.
//    Error messages name the file and the key, never a value.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// libnats's handle types (nats.h: `typedef struct __natsConnection
// natsConnection;` ...), declared here without the header.
struct __natsConnection;
struct __natsOptions;
struct __jsCtx;

namespace tickflow::bus {

class BusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NatsConnectionConfig {
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::string name = "tickflow";  // client name the server shows (connz)
  std::string credentials_file;   // empty: NATS_USER/NATS_PASSWORD or NATS_TOKEN from env, else none
  std::chrono::milliseconds connect_timeout{2000}, reconnect_wait{100};
};

class NatsConnection {
 public:
  // Connects (see above); `publish_max_pending` is the in-flight cap of this
  // connection's own JetStream context (a BusPublisher makes its own context
  // with its own cap). Throws BusError naming the servers.
  explicit NatsConnection(const NatsConnectionConfig& config, std::int64_t publish_max_pending = 4096);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  bool connected() const noexcept;
  std::string connected_url() const;  // "" while disconnected
  std::uint64_t reconnects() const noexcept;
  std::uint64_t disconnects() const noexcept;
  // "nats://a:4222,nats://b:4222": the configured servers, for messages.
  const std::string& servers_text() const noexcept { return servers_text_; }
  // How long a JetStream API call (stream/consumer info, add) waits.
  std::chrono::milliseconds api_wait() const noexcept { return api_wait_; }

  // For bus/ internals only: the libnats handles (the connection keeps them).
  __natsConnection* native() const noexcept { return nc_; }
  __jsCtx* jetstream() const noexcept { return js_; }

 private:
  struct Callbacks;  // what libnats's threads write (counters, closed flag)

  std::string servers_text_;
  std::chrono::milliseconds api_wait_{5000};
  std::unique_ptr<Callbacks> callbacks_;
  __natsOptions* options_ = nullptr;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
};

// libnats's status text ("Timeout", "No Responders Available For Request",
// ...) for a natsStatus value, with the thread's last error detail if any.
std::string nats_status_text(int status);

// Frees libnats's process-wide state (its threads, its SSL context): call
// once at process exit, after every NatsConnection, publisher and subscriber
// is gone, so that leak checkers see a clean exit.
void close_nats_library() noexcept;

}  // namespace tickflow::bus
