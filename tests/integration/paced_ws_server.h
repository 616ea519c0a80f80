// tests/integration/paced_ws_server.h
//
// PacedWsServer: a local TLS websocket server that plays a Binance stream
// endpoint in real time, with its own clock, the way the exchange keeps
// trading while a client is down:
//
//   PacedWsServer server({.frames = frames, .resend_window = 15s});
//   [feeds.endpoints.BINANCE] host = "127.0.0.1", port = server.port(), ca_file = server.ca_file()
//
// Every frame carries a publication time (wall clock, ms since the epoch:
// the trade time of a re-timed Binance frame). A connection is sent, first
// and at once, the frames published within the last `resend_window` before
// it connected (exchanges re-send recent trades on subscribe), then every
// later frame when the wall clock reaches its time. The server is never
// restarted by the tests: a client that is killed and comes back finds the
// market moved on. Binance only (streams in the URL, nothing to answer).
//
// What it reports, per connection in connection order: the first frame it
// was sent and how many. set_resend_window() changes the window for later
// connections (a short one makes a restart see an id gap).
//
// Threads: one accept thread and one thread per connection; every public
// member is safe to call from the test thread. The pacing loop never reads
// from the client (sync Beast cannot read and write at once): Binance's
// client pings every 30 s and waits for no pong, so nothing is lost.
//
// Header-only, Beast like ws_test_server.h (whose certificate recipe it
// shares); it is not the code under test.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The same GCC 12 -Wmaybe-uninitialized false positive in Beast's HTTP
// parser as ws_test_server.h documents.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#pragma GCC diagnostic pop

namespace tickflow::testing {

struct PacedFrame {
  std::int64_t time_ms = 0;  // published at this wall-clock time; non-decreasing along the vector
  std::string text;
};

struct PacedServerOptions {
  std::vector<PacedFrame> frames{};
  std::chrono::milliseconds resend_window{15'000};
};

struct PacedConnection {
  std::size_t first_frame = 0;  // index of the first frame sent
  std::size_t frames_sent = 0;
};

class PacedWsServer {
 public:
  explicit PacedWsServer(PacedServerOptions options)
      : frames_(std::move(options.frames)), resend_ms_(options.resend_window.count()) {
    for (std::size_t i = 1; i < frames_.size(); ++i)
      if (frames_[i].time_ms < frames_[i - 1].time_ms) throw std::invalid_argument("frames out of time order");
    make_certificate();
    ssl_.use_certificate_chain_file((dir_ / "cert.pem").string());
    ssl_.use_private_key_file((dir_ / "key.pem").string(), boost::asio::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    acceptor_.non_blocking(true);
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~PacedWsServer() {
    stop_ = true;
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // unblocks a write in progress
    }
    for (auto& t : threads_) t.join();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PacedWsServer(const PacedWsServer&) = delete;
  PacedWsServer& operator=(const PacedWsServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }
  const std::vector<PacedFrame>& frames() const noexcept { return frames_; }
  void set_resend_window(std::chrono::milliseconds window) { resend_ms_ = window.count(); }

  // Handshaken connections, in order.
  std::vector<PacedConnection> connections() const {
    std::lock_guard lock(mu_);
    return connections_;
  }
  // One past the newest frame index sent on any connection.
  std::size_t sent_through() const noexcept { return sent_through_.load(); }

 private:
  using tcp = boost::asio::ip::tcp;
  using Ws = boost::beast::websocket::stream<boost::beast::ssl_stream<tcp::socket>>;

  static std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void make_certificate() {
    char pattern[] = "/tmp/tickflow-paced-ws-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " >" + (dir_ / "openssl.log").string() +
        " 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a certificate: " + cmd);
  }

  void accept_loop() {
    while (!stop_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      socket.non_blocking(false, ec);
      threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }

  void serve(tcp::socket socket) {
    boost::system::error_code ec;
    Ws ws(std::move(socket), ssl_);
    const int fd = boost::beast::get_lowest_layer(ws).native_handle();
    {
      std::lock_guard lock(mu_);
      open_fds_.insert(fd);
    }
    run(ws);
    std::lock_guard lock(mu_);
    open_fds_.erase(fd);
    boost::beast::get_lowest_layer(ws).close(ec);
  }

  void run(Ws& ws) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    namespace websocket = beast::websocket;
    boost::system::error_code ec;
    ws.next_layer().handshake(boost::asio::ssl::stream_base::server, ec);
    if (ec) return;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(ws.next_layer(), buffer, request, ec);
    if (ec) return;
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    ws.set_option(pmd);
    ws.accept(request, ec);
    if (ec) return;
    ws.text(true);
    // Where this connection starts: the frames of the resend window.
    const std::int64_t since = wall_ms() - resend_ms_.load();
    const auto first = std::lower_bound(frames_.begin(), frames_.end(), since,
                                        [](const PacedFrame& f, std::int64_t t) { return f.time_ms < t; });
    const std::size_t start = static_cast<std::size_t>(first - frames_.begin());
    std::size_t slot = 0;
    {
      std::lock_guard lock(mu_);
      slot = connections_.size();
      connections_.push_back({start, 0});
    }
    for (std::size_t i = start; i < frames_.size() && !stop_; ++i) {
      while (!stop_ && wall_ms() < frames_[i].time_ms) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (stop_) return;
      ws.write(boost::asio::buffer(frames_[i].text), ec);
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        ++connections_[slot].frames_sent;
      }
      std::size_t through = sent_through_.load();
      while (through < i + 1 && !sent_through_.compare_exchange_weak(through, i + 1)) {
      }
    }
    // The stream is over: hold the connection until the client leaves.
    beast::flat_buffer in;
    while (!stop_ && !ec) {
      in.consume(in.size());
      ws.read(in, ec);
    }
  }

  const std::vector<PacedFrame> frames_;
  std::atomic<std::int64_t> resend_ms_;
  std::filesystem::path dir_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ssl_{boost::asio::ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_through_{0};
  mutable std::mutex mu_;
  std::set<int> open_fds_;
  std::vector<PacedConnection> connections_;
  std::thread accept_thread_;
  std::vector<std::thread> threads_;  // touched by the accept thread only, then joined by the destructor
};

}  // namespace tickflow::testing
