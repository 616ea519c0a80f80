// feeds/websocket_client.h
//
// WebSocketClient: one outgoing `wss://` connection (Asio's loop and
// timers, OpenSSL on the socket, our own RFC 6455 layer) behind a narrow
// interface. No Boost type appears here: Asio is costly to compile, so it
// lives in websocket_client.cc alone and everything else includes this
// header.
//
// IoLoop is the event loop (an asio::io_context in disguise) that one feed
// thread runs; several clients may share one loop. Every callback runs on
// the thread that runs the loop. Only IoLoop::stop() and IoLoop::post() may
// be called from other threads.
//
// One connection attempt: resolve -> TCP connect (connect_timeout) -> TLS
// handshake with SNI and certificate + host name verification
// (handshake_timeout) -> websocket upgrade, permessage-deflate offered only
// when asked (handshake_timeout) -> on_open. Then each readiness wake-up
// reads the socket until it would block, and every complete message (text
// or binary) in what was read is handed to on_frame where it lies in the
// receive buffer (fragmented or compressed ones are joined or inflated
// into a padded buffer first). The first failure ends the attempt: the socket is closed and
// on_close is called exactly once with the reason. The client never
// reconnects by itself; LiveFeed decides when (backoff) and calls open().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/wall_clock.h"  // realtime_ns(): the clock frames are stamped with

namespace tickflow {

// The event loop of one feed thread (pimpl over boost::asio::io_context).
class IoLoop {
 public:
  IoLoop();
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Runs handlers until stop() (or until no work is left).
  void run();
  // Runs handlers for at most `duration`, or until stop(); returns early
  // when there is no work left.
  void run_for(std::chrono::nanoseconds duration);
  // Runs the handlers that are ready, without blocking.
  std::size_t poll();
  // Thread-safe: makes run()/run_for() return as soon as possible.
  void stop();
  // Thread-safe: queues `fn` to run on the loop's thread.
  void post(std::function<void()> fn);
  // Makes the loop runnable again after stop().
  void restart();
  bool stopped() const;

  void* native() noexcept;  // the boost::asio::io_context, for websocket_client.cc

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why a connection attempt ended.
enum class WsCloseReason : std::uint8_t {
  kResolve = 0,       // host name did not resolve
  kConnect,           // TCP connect failed
  kConnectTimeout,    // TCP connect took longer than connect_timeout
  kTlsHandshake,      // TLS failed: refused, not TLS, or certificate not trusted
  kWsHandshake,       // the HTTP upgrade was refused or malformed
  kHandshakeTimeout,  // TLS or websocket handshake took longer than handshake_timeout
  kStale,             // no message for read_timeout
  kClosedByPeer,      // a websocket close frame from the server
  kEndOfStream,       // the TCP stream ended without a close frame (a drop)
  kMessageTooBig,     // a message above max_message_bytes
  kReadError,         // any other read failure
  kWriteError,        // a send failed
  kStopped,           // close() was called
  kCount
};
std::string_view to_string(WsCloseReason reason) noexcept;

struct WebSocketConfig {
  std::string host;  // DNS name or IP literal; also the SNI name and the name checked in the certificate
  std::uint16_t port = 443;
  std::string target = "/";  // path and query, e.g. "/stream?streams=btcusdt@trade"
  // Trust: empty uses the system CA store; otherwise this PEM file alone
  // (tests trust their self-signed certificate this way). Verification is
  // always on.
  std::string ca_file;
  // Offer permessage-deflate (RFC 7692). Off by default: trade messages are
  // small, and inflating them costs more CPU per message than parsing
  // them; a trading host has bandwidth to spare, not microseconds.
  bool permessage_deflate = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  // No message for this long ends the connection with kStale. 0: never.
  std::chrono::milliseconds read_timeout{30'000};
  // Keepalive every ping_interval (0: none): ping_text as a text message
  // when set (application-level pings, e.g. OKX "ping"), else a websocket
  // ping control frame.
  std::chrono::milliseconds ping_interval{0};
  std::string ping_text;
  // Messages above this end the connection with kMessageTooBig. Keep it
  // above the parser's max_frame_bytes so that a moderately oversized frame
  // is counted by the parser and the connection survives.
  std::size_t max_message_bytes = std::size_t{16} << 20;
  // TLS 1.3 records are opened by Tls13RecordReader (one EVP context keyed
  // once; ~3x cheaper per record than SSL_read on OpenSSL 3.0), OpenSSL
  // doing the handshake and the writes. false: SSL_read throughout (as for
  // TLS 1.2, or a suite the reader does not handle).
  bool own_tls_records = true;
};

struct WebSocketHandlers {
  // Connected and upgraded: send subscriptions from here.
  std::function<void()> on_open;
  // One message. `frame` is followed by kFramePadding (64) readable bytes
  // and is valid only during the call. receive_ts_ns is CLOCK_REALTIME.
  std::function<void(std::string_view frame, std::int64_t receive_ts_ns)> on_frame;
  // The attempt ended (also when it never opened). `detail` is readable
  // text (e.g. "certificate verify failed (self-signed certificate)").
  std::function<void(WsCloseReason reason, const std::string& detail)> on_close;
};

class WebSocketClient {
 public:
  WebSocketClient(IoLoop& loop, WebSocketConfig config, WebSocketHandlers handlers);
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Starts a connection attempt after `delay` (the caller's backoff). Does
  // nothing if an attempt is already under way.
  void open(std::chrono::milliseconds delay = std::chrono::milliseconds{0});
  // Queues a text message; sent in order. Dropped (false) when not open.
  bool send_text(std::string message);
  // Queues `messages`: the first now, each next one `interval` after the one
  // before (0: all now), for venues that rate-limit subscriptions. The rest
  // are dropped when the attempt ends. False when not open.
  bool send_text_paced(std::vector<std::string> messages, std::chrono::milliseconds interval);
  // Ends the current attempt (on_close(kStopped)) and cancels a pending open.
  void close();
  bool is_open() const noexcept;
  // The open attempt reads its TLS records with Tls13RecordReader
  // (WebSocketConfig::own_tls_records and a TLS 1.3 server), not SSL_read.
  bool reads_own_tls_records() const noexcept;
  // True from open() until on_close.
  bool busy() const noexcept;

  const WebSocketConfig& config() const noexcept;
  WebSocketConfig& mutable_config() noexcept;  // takes effect at the next open()

  struct Impl;  // defined in websocket_client.cc only

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tickflow
