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
// directory. It reads the exchange's subscribe message (Binance: the
// streams in the URL), answers it as the exchange does, replays `frames`
// and then keeps the connection open, answering application pings
// ("ping" -> "pong", {"op":"ping"} -> Bybit's pong) until the client leaves.
//
// Replay progress is shared by all connections: a reconnecting client gets
// the frames after the last one written (minus resume_overlap, to exercise
// de-duplication). Misbehaviour, on request: drop the TCP stream after N
// frames, go silent for a while after N frames (then drop), inject extra
// messages (garbage, oversized) before a given frame, refuse TLS, or accept
// TCP and then say nothing.
//
// Header-only on purpose: the test that includes it is the only other Beast
// translation unit. Sync Beast keeps it short; it is not the code under test.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// GCC 12 at -O2 with ASan reports a -Wmaybe-uninitialized false positive in
// Beast's HTTP parser (boost::optional in content_length_unchecked), which
// only the server's http::read instantiates; Boost is not ours to fix.
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

enum class WsProtocol { kBinance, kBybit, kOkx, kCoinbase };

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
  bool refuse_tls = false;  // every connection is closed right after the TCP accept
  bool silent_tls = false;  // every connection is accepted and never answered (handshake timeout)
};

class WsTestServer {
 public:
  explicit WsTestServer(WsServerBehavior behavior) : behavior_(std::move(behavior)) {
    make_certificate();
    ssl_.use_certificate_chain_file((dir_ / "cert.pem").string());
    ssl_.use_private_key_file((dir_ / "key.pem").string(), boost::asio::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    acceptor_.listen();
    acceptor_.non_blocking(true);
    port_ = acceptor_.local_endpoint().port();
    injected_.assign(behavior_.injections.size(), false);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~WsTestServer() {
    stop_ = true;
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // unblocks the connection threads
    }
    for (auto& t : threads_) t.join();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  WsTestServer(const WsTestServer&) = delete;
  WsTestServer& operator=(const WsTestServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }
  std::size_t connections() const noexcept { return connections_.load(); }
  std::size_t frames_written() const noexcept { return cursor_.load(); }
  std::size_t pings_answered() const noexcept { return pings_.load(); }
  // What clients sent (subscriptions, pings excluded) and the request
  // targets, in arrival order.
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mu_);
    return targets_;
  }

 private:
  using tcp = boost::asio::ip::tcp;
  using Ws = boost::beast::websocket::stream<boost::beast::ssl_stream<tcp::socket>>;

  void make_certificate() {
    char pattern[] = "/tmp/tickflow-ws-XXXXXX";
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
      const std::size_t index = connections_++;
      if (behavior_.refuse_tls) {
        socket.close(ec);  // not a TLS server at all: the handshake fails at once
        continue;
      }
      if (behavior_.silent_tls) {
        held_.push_back(std::move(socket));
        continue;
      }
      socket.non_blocking(false, ec);
      threads_.emplace_back([this, index, s = std::move(socket)]() mutable { serve(std::move(s), index); });
    }
  }

  void serve(tcp::socket socket, std::size_t index) {
    namespace beast = boost::beast;
    namespace websocket = beast::websocket;
    boost::system::error_code ec;
    Ws ws(std::move(socket), ssl_);
    const int fd = beast::get_lowest_layer(ws).native_handle();
    {
      std::lock_guard lock(mu_);
      open_fds_.insert(fd);
    }
    run(ws, index);
    std::lock_guard lock(mu_);
    open_fds_.erase(fd);
    beast::get_lowest_layer(ws).close(ec);  // abrupt: no TLS close_notify, no websocket close
  }

  void run(Ws& ws, std::size_t index) {
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
    {
      std::lock_guard lock(mu_);
      targets_.emplace_back(request.target());
    }
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    ws.set_option(pmd);
    ws.accept(request, ec);
    if (ec) return;
    ws.text(true);
    if (behavior_.protocol != WsProtocol::kBinance) {
      // The subscribe message, answered the way the venue acknowledges it.
      beast::flat_buffer in;
      ws.read(in, ec);
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        received_.push_back(beast::buffers_to_string(in.data()));
      }
      const char* ack = behavior_.protocol == WsProtocol::kBybit
                            ? R"({"success":true,"ret_msg":"","conn_id":"test","op":"subscribe"})"
                        : behavior_.protocol == WsProtocol::kOkx
                            ? R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT-SWAP"}})"
                            : R"({"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]})";
      ws.write(boost::asio::buffer(std::string_view(ack)), ec);
      if (ec) return;
    }
    std::size_t start = cursor_.load();
    if (index > 0) start -= std::min(start, behavior_.resume_overlap);
    std::size_t sent = 0;
    for (std::size_t i = start; i < behavior_.frames.size() && !stop_; ++i) {
      for (std::size_t k = 0; k < behavior_.injections.size(); ++k) {
        const WsInjection& inj = behavior_.injections[k];
        if (inj.before_frame != i || injected_[k]) continue;
        injected_[k] = true;
        ws.write(boost::asio::buffer(inj.payload), ec);
        if (ec) return;
        if (inj.end_connection) return drain(ws);
      }
      ws.write(boost::asio::buffer(behavior_.frames[i]), ec);
      if (ec) return;
      cursor_.store(std::max(cursor_.load(), i + 1));
      ++sent;
      if (index == 0 && behavior_.drop_after != 0 && sent == behavior_.drop_after) return;
      if (index == 0 && behavior_.stall_after != 0 && sent == behavior_.stall_after) {
        const auto until = std::chrono::steady_clock::now() + behavior_.stall_for;
        while (!stop_ && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return;
      }
    }
    answer_pings(ws);
  }

  // Keeps reading until the client leaves, answering application pings.
  void answer_pings(Ws& ws) {
    boost::system::error_code ec;
    while (!stop_) {
      boost::beast::flat_buffer in;
      ws.read(in, ec);
      if (ec) return;
      const std::string msg = boost::beast::buffers_to_string(in.data());
      std::string reply;
      if (msg == "ping")
        reply = "pong";
      else if (msg == R"({"op":"ping"})")
        reply = R"({"success":true,"ret_msg":"pong","conn_id":"test","op":"ping"})";
      if (reply.empty()) {
        std::lock_guard lock(mu_);
        received_.push_back(msg);
        continue;
      }
      ++pings_;
      ws.write(boost::asio::buffer(reply), ec);
      if (ec) return;
    }
  }

  void drain(Ws& ws) {
    boost::system::error_code ec;
    boost::beast::flat_buffer in;
    while (!stop_ && !ec) {
      in.consume(in.size());
      ws.read(in, ec);
    }
  }

  WsServerBehavior behavior_;
  std::filesystem::path dir_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ssl_{boost::asio::ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> cursor_{0};
  std::atomic<std::size_t> pings_{0};
  std::vector<bool> injected_;  // written by one connection at a time in these tests
  mutable std::mutex mu_;
  std::set<int> open_fds_;
  std::vector<std::string> received_;
  std::vector<std::string> targets_;
  std::thread accept_thread_;
  std::vector<tcp::socket> held_;     // silent_tls connections, accept thread only
  std::vector<std::thread> threads_;  // touched by the accept thread only, then joined by the destructor
};

}  // namespace tickflow::testing
