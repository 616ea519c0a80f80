// runtime/http_server.h
//
// HttpServer: the small HTTP/1.1 server behind the live pipeline's /health and
// /metrics endpoints. It is for scrapers and humans on a trusted network (by
// default the caller binds 127.0.0.1), not a general web server: GET and HEAD
// only, no bodies worth reading, no TLS.
//
// Promises: the constructor binds and listens, or throws std::runtime_error
// naming "address:port" and the system's reason, so a misconfigured port fails
// at startup, not silently later. Every response carries Content-Length and
// "Server: tickflow". Other methods get 405 (with Allow); a handler that
// throws gets 500 with the message in the body. Keep-alive is supported.
//
// Slow and hostile clients (slowloris) cannot lock out a scraper:
//  * a client must send a whole request within read_timeout of the moment
//    the server starts waiting for it (one deadline, not one per byte, so
//    trickling a byte now and then does not extend it); an idle keep-alive
//    connection gets the same deadline. Then it is closed (counted
//    `timed_out`). Request headers are capped (431);
//  * at most max_connections are open. A new connection beyond that closes
//    the LEAST RECENTLY ACTIVE one (the one whose current wait for a request
//    began first; counted `evicted`) and is served. A well-behaved client
//    sends its request right after connecting, so it is the newest and is
//    answered; the slow ones hold connections that are old by then. (An
//    attacker opening max_connections new connections between a client's
//    connect and its request could still evict it: on loopback that window
//    is microseconds.)
//
// Threading: start() runs one thread ("tf-http") with an asynchronous event
// loop, so a slow client never blocks the others; the handler is called on
// that thread, one request at a time, and must not block for long (it
// runs while every other client waits). It reads pipeline state the way any
// other reader does (atomics, snapshots). stop() may be called from any thread
// but the handler's; it closes the listener and every connection and joins,
// which takes milliseconds unless a handler call is in progress. The
// destructor stops. stats() may be called from any thread.
//
// Boost.Beast stays in http_server.cc: this header includes only std headers,
// so the rest of runtime/ does not pay for compiling it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickflow {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More header fields (name, value), e.g. Cache-Control; set after the
  // server's own, so a name given here replaces the server's value.
  std::vector<std::pair<std::string, std::string>> headers{};
};

// Called with the request's method ("GET" or "HEAD") and target ("/metrics?x=1",
// as sent). For HEAD the server drops the body but keeps its Content-Length.
using HttpHandler = std::function<HttpResponse(std::string_view method, std::string_view target)>;

struct HttpServerOptions {
  // The whole request (headers and any body) must arrive within this, and an
  // idle keep-alive connection is closed after it; also bounds each write.
  // Short: a scraper sends its request at once, only a slow client needs more.
  std::chrono::milliseconds read_timeout{3000};
  std::size_t max_header_bytes = 8 * 1024;  // larger: 431, then close
  std::size_t max_body_bytes = 16 * 1024;   // larger: 413, then close
  // Open connections; a new one beyond this closes the least recently active
  // one. 0: every connection is closed right after accept.
  std::size_t max_connections = 64;
};

// Counts since construction; any thread may read them (relaxed).
struct HttpServerStats {
  std::uint64_t accepted = 0;   // connections accepted
  std::uint64_t evicted = 0;    // closed to make room for a newer one (max_connections)
  std::uint64_t timed_out = 0;  // closed because no whole request (or write) within read_timeout
};

class HttpServer {
 public:
  // Binds and listens; port 0 picks a free port (see port()). Throws
  // std::runtime_error on a bad address or a port that cannot be bound.
  HttpServer(std::string bind_address, std::uint16_t port, HttpHandler handler, HttpServerOptions options = {});
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Starts serving on the server's own thread. Once; later calls, and calls
  // after stop(), do nothing.
  void start();

  // Closes the listener and all connections and joins the thread. Idempotent.
  void stop();

  // The bound port: the one asked for, or the one picked for port 0.
  std::uint16_t port() const noexcept;

  HttpServerStats stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow
