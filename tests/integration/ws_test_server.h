// tests/integration/ws_test_server.h
//
// WsTestServer: a local TLS websocket server (Boost.Beast, synchronous, one
// thread per connection) that plays an exchange for LiveFeed tests:
//
//   WsTestServer server({.protocol = WsProtocol::kBinance, .frames = frames, .drop_after = 3000});
//   config.host = "127.0.0.1"; config.port = server.port(); config.ca_file = server.ca_file();
//
// It listens on a free 127.0.0.1 port with a self-signed certificate for
// IP:127.0.0.1 made at start-up by the `openssl` CLI in a temporary
// directory. It reads the exchange's subscribe message(s) (Binance: the
// streams in the URL), answers them as the exchange does, replays `frames`
// and then keeps the connection open, answering application pings until
// the client leaves.
//
// Venues: `protocol` covers Binance, Bybit, OKX and Coinbase; any other
// venue is described by a WsVenueScript (`script`): how many subscribe
// messages to read, the answer to each client message (acks, pongs), which
// client messages are pings, server keepalives to send before the replay
// (whose answers the client must send back), and binary frames (HTX gzip).
//
// Replay progress is shared by all connections: a reconnecting client gets
// the frames after the last one written (minus resume_overlap, to exercise
// de-duplication). Misbehaviour, on request: drop the TCP stream after N
// frames, go silent for a while after N frames (then drop), inject extra
// messages (garbage, oversized) before a given frame, refuse TLS, or accept
// TCP and then say nothing.
//
// No Boost type here: the server is compiled once, in ws_test_server.cc
// (the tests' library tickflow_test_servers), so a test that uses it is not
// a Beast translation unit (20 s in release, over a minute under ASan).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tickflow::testing {

enum class WsProtocol { kBinance, kBybit, kOkx, kCoinbase };

// A venue the server plays from a description (see the banner).
struct WsVenueScript {
  // Client messages read after the handshake, before the replay starts (0:
  // the venue subscribes in the URL). Each is kept in received().
  std::size_t subscribe_messages = 1;
  // The server's answer to a client message: a subscribe ack, a pong. ""
  // sends nothing. Called for every client message, before and after the
  // replay (the server does not read while it replays). Unset: no answers.
  std::function<std::string(const std::string& message)> answer{};
  // Client messages that are keepalive: answered, counted by
  // pings_answered(), not kept in received(). Unset: none.
  std::function<bool(const std::string& message)> is_ping{};
  // Sent once each after the subscription is answered, before the first
  // frame: server pings / heartbeat requests. The client's answers land in
  // received() (or in pings_answered() when is_ping says so).
  std::vector<std::string> greeting{};
  // Frames (and injections) go out as binary messages (HTX's gzip frames).
  bool binary_frames = false;
};

struct WsInjection {
  std::size_t before_frame = 0;  // global frame index
  std::string payload{};         // sent as one text message, once
  bool end_connection = false;   // then wait for the client to close (it should: e.g. too big)
};

struct WsServerBehavior {
  WsProtocol protocol = WsProtocol::kBinance;
  std::vector<std::string> frames{};
  std::size_t drop_after = 0;              // first connection: close the TCP stream after this many frames
  std::size_t stall_after = 0;             // first connection: go silent after this many frames ...
  std::chrono::milliseconds stall_for{0};  // ... for this long, then close
  std::size_t resume_overlap = 0;          // a later connection resends this many frames
  std::vector<WsInjection> injections{};
  bool refuse_tls = false;                // every connection is closed right after the TCP accept
  bool silent_tls = false;                // every connection is accepted and never answered (handshake timeout)
  std::optional<WsVenueScript> script{};  // set: replaces `protocol`
  // > 0: every message goes out as frames of at most this many payload
  // bytes (a first frame and continuations), as some servers send them.
  std::size_t fragment_bytes = 0;
};

class WsTestServer {
 public:
  explicit WsTestServer(WsServerBehavior behavior);
  ~WsTestServer();
  WsTestServer(const WsTestServer&) = delete;
  WsTestServer& operator=(const WsTestServer&) = delete;

  std::uint16_t port() const noexcept;
  std::string ca_file() const;
  std::size_t connections() const noexcept;
  std::size_t frames_written() const noexcept;
  std::size_t pings_answered() const noexcept;
  // What clients sent (subscriptions, pings excluded) and the request
  // targets, in arrival order.
  std::vector<std::string> received() const;
  std::vector<std::string> targets() const;

  struct Impl;  // ws_test_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow::testing
