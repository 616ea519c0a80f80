// bench/live_ingest_server.h
//
// ReplayServer: the exchange side of bench/live_ingest. A local TLS
// websocket server (raw OpenSSL and sockets, no Beast) that runs in a
// forked child process, so that its CPU is never the client's, and replays
// pre-rendered trade frames to one connection per venue.
//
//   ReplayServer server(frames, {.repeats = 10, .pace = 0, .cert_dir = dir});
//   config: [feeds.endpoints.BINANCE] port = server.port(0), ca_file = server.ca_file()
//   server.start();                       // fork; the child accepts and waits
//   ... start the client ...
//   ReplayServer::Event e = server.wait_event(timeout);   // kStarted, then kDone
//   (options.gated: kReady first; go() then starts the replay)
//
// Promises:
// - Listening sockets are bound on 127.0.0.1 (free ports) in the
//   constructor, before the client is configured; the certificate (EC
//   P-256, self-signed for IP:127.0.0.1) is made by the `openssl` CLI in
//   cert_dir.
// - The child answers each connection's HTTP upgrade with 101 and a correct
//   Sec-WebSocket-Accept (SHA-1 + base64), negotiates no extension (the
//   client's permessage-deflate offer is declined by silence), then waits
//   until every venue is connected. Only then does it render the frames
//   (re-timed from the wall clock at that moment), report kStarted with the
//   start time, and write. Rendering is outside the measured window.
// - pace == 0: the whole stream goes out in 1 MiB SSL_write calls (or
//   frames_per_write frames per call, and with records_per_send the
//   records of that many calls in one send()) as fast as the client reads; client
//   frames are read only afterwards.
//   pace > 0: frames go out at their captured spacing / pace, every frame
//   that is due in one SSL_write, and client frames are read in between.
// - Client pings are answered with pongs, a close with a close; text
//   frames (none for Binance: streams are in the URL) are discarded.
// - One connection per venue: a client that reconnects gets nothing more
//   (the harness reports the feed's reconnect counter).
//
// Threads: the parent's object is used from one thread. The child runs one
// thread per venue connection, each owning its SSL object.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/live_ingest_frames.h"

namespace tickflow::bench {

struct ReplayOptions {
  int repeats = 10;
  double pace = 0;  // 0: maximum speed; N: N x the captured pace
  // Maximum speed: 0 writes the stream in 1 MiB SSL_write calls (16 KiB TLS
  // records, many frames each); N writes N frames per SSL_write (1: one
  // record per frame, as an exchange that writes each message on its own).
  int frames_per_write = 0;
  // With frames_per_write: the records of this many writes leave in one
  // send() (0: each write is sent at once, one TCP segment per record over
  // loopback with TCP_NODELAY). A busy exchange's kernel coalesces its
  // per-message records into full segments the same way (autocorking,
  // GSO), so this separates the cost per record from the cost per segment.
  int records_per_send = 0;
  // Wait for go() after reporting kReady (connections up, frames rendered):
  // time for a profiler to attach before the first frame. Pace mode plans
  // its start this much later.
  bool gated = false;
  int gate_ms = 0;
  std::string cert_dir{};  // where cert.pem / key.pem are made
};

class ReplayServer {
 public:
  enum class EventKind { kReady, kStarted, kDone, kError, kTimeout };
  struct Event {
    EventKind kind = EventKind::kTimeout;
    std::int64_t realtime_ns = 0;  // kStarted: when the first byte went out
    std::string text{};            // kError: what
  };

  ReplayServer(const LiveFrames& frames, ReplayOptions options);
  ~ReplayServer();  // kills and reaps the child
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  int port(std::size_t venue) const { return ports_.at(venue); }
  std::string ca_file() const { return options_.cert_dir + "/cert.pem"; }
  void start();
  void go();  // gated: let the replay start
  Event wait_event(std::chrono::milliseconds timeout);
  pid_t pid() const noexcept { return child_; }

 private:
  [[noreturn]] void child_main(int notify_fd, int go_fd);

  const LiveFrames& frames_;
  ReplayOptions options_;
  std::vector<int> listeners_;
  std::vector<int> ports_;
  pid_t child_ = -1;
  int notify_fd_ = -1;
  int go_fd_ = -1;
  std::string pending_;
};

}  // namespace tickflow::bench
