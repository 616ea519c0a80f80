// tests/integration/ws_test_server.cc: the WsTestServer of ws_test_server.h.
// Sync Beast keeps it short; it is not the code under test.
#include "tests/integration/ws_test_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

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

struct WsTestServer::Impl {
  using tcp = boost::asio::ip::tcp;
  using Ws = boost::beast::websocket::stream<boost::beast::ssl_stream<tcp::socket>>;

  explicit Impl(WsServerBehavior b) : behavior(std::move(b)) {
    make_certificate();
    ssl.use_certificate_chain_file((dir / "cert.pem").string());
    ssl.use_private_key_file((dir / "key.pem").string(), boost::asio::ssl::context::pem);
    acceptor.open(tcp::v4());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    acceptor.listen();
    acceptor.non_blocking(true);
    port = acceptor.local_endpoint().port();
    injected.assign(behavior.injections.size(), false);
    accept_thread = std::thread([this] { accept_loop(); });
  }

  ~Impl() {
    stop = true;
    accept_thread.join();
    {
      std::lock_guard lock(mu);
      for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);  // unblocks the connection threads
    }
    for (auto& t : threads) t.join();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  void make_certificate() {
    char pattern[] = "/tmp/tickflow-ws-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >" + (dir / "openssl.log").string() +
        " 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a certificate: " + cmd);
  }

  void accept_loop() {
    while (!stop) {
      tcp::socket socket(ioc);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      const std::size_t index = connections++;
      if (behavior.refuse_tls) {
        socket.close(ec);  // not a TLS server at all: the handshake fails at once
        continue;
      }
      if (behavior.silent_tls) {
        held.push_back(std::move(socket));
        continue;
      }
      socket.non_blocking(false, ec);
      threads.emplace_back([this, index, s = std::move(socket)]() mutable { serve(std::move(s), index); });
    }
  }

  void serve(tcp::socket socket, std::size_t index) {
    namespace beast = boost::beast;
    boost::system::error_code ec;
    Ws ws(std::move(socket), ssl);
    const int fd = beast::get_lowest_layer(ws).native_handle();
    {
      std::lock_guard lock(mu);
      open_fds.insert(fd);
    }
    run(ws, index);
    std::lock_guard lock(mu);
    open_fds.erase(fd);
    beast::get_lowest_layer(ws).close(ec);  // abrupt: no TLS close_notify, no websocket close
  }

  // The answer to one client message; true when it was a ping.
  bool answer(const std::string& msg, std::string& reply) {
    if (behavior.script) {
      const WsVenueScript& s = *behavior.script;
      reply = s.answer ? s.answer(msg) : std::string();
      return s.is_ping && s.is_ping(msg);
    }
    if (msg == "ping") {
      reply = "pong";
      return true;
    }
    if (msg == R"({"op":"ping"})") {
      reply = R"({"success":true,"ret_msg":"pong","conn_id":"test","op":"ping"})";
      return true;
    }
    reply.clear();
    return false;
  }

  bool write(Ws& ws, const std::string& payload, bool binary) {
    boost::system::error_code ec;
    ws.binary(binary);
    ws.write(boost::asio::buffer(payload), ec);
    ws.text(true);
    return !ec;
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
      std::lock_guard lock(mu);
      targets.emplace_back(request.target());
    }
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    ws.set_option(pmd);
    if (behavior.fragment_bytes > 0) {
      ws.auto_fragment(true);
      ws.write_buffer_bytes(behavior.fragment_bytes);
    }
    ws.accept(request, ec);
    if (ec) return;
    ws.text(true);
    const bool binary = behavior.script && behavior.script->binary_frames;
    if (behavior.script) {
      // The subscribe messages, each answered as the script says; pings
      // that arrive in between are answered too, and not counted.
      std::size_t subscribes = 0;
      while (subscribes < behavior.script->subscribe_messages) {
        beast::flat_buffer in;
        ws.read(in, ec);
        if (ec) return;
        const std::string msg = beast::buffers_to_string(in.data());
        std::string reply;
        const bool ping = answer(msg, reply);
        if (ping) {
          ++pings;
        } else {
          std::lock_guard lock(mu);
          received.push_back(msg);
          ++subscribes;
        }
        if (!reply.empty() && !write(ws, reply, false)) return;
      }
      for (const std::string& g : behavior.script->greeting)
        if (!write(ws, g, false)) return;
    } else if (behavior.protocol != WsProtocol::kBinance) {
      // The subscribe message, answered the way the venue acknowledges it.
      beast::flat_buffer in;
      ws.read(in, ec);
      if (ec) return;
      {
        std::lock_guard lock(mu);
        received.push_back(beast::buffers_to_string(in.data()));
      }
      const char* ack = behavior.protocol == WsProtocol::kBybit
                            ? R"({"success":true,"ret_msg":"","conn_id":"test","op":"subscribe"})"
                        : behavior.protocol == WsProtocol::kOkx
                            ? R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT-SWAP"}})"
                            : R"({"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]})";
      if (!write(ws, ack, false)) return;
    }
    std::size_t start = cursor.load();
    if (index > 0) start -= std::min(start, behavior.resume_overlap);
    std::size_t sent = 0;
    for (std::size_t i = start; i < behavior.frames.size() && !stop; ++i) {
      for (std::size_t k = 0; k < behavior.injections.size(); ++k) {
        const WsInjection& inj = behavior.injections[k];
        if (inj.before_frame != i || injected[k]) continue;
        injected[k] = true;
        if (!write(ws, inj.payload, binary)) return;
        if (inj.end_connection) return drain(ws);
      }
      if (!write(ws, behavior.frames[i], binary)) return;
      cursor.store(std::max(cursor.load(), i + 1));
      ++sent;
      if (index == 0 && behavior.drop_after != 0 && sent == behavior.drop_after) return;
      if (index == 0 && behavior.stall_after != 0 && sent == behavior.stall_after) {
        const auto until = std::chrono::steady_clock::now() + behavior.stall_for;
        while (!stop && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return;
      }
    }
    answer_pings(ws);
  }

  // Keeps reading until the client leaves, answering application pings.
  void answer_pings(Ws& ws) {
    boost::system::error_code ec;
    while (!stop) {
      boost::beast::flat_buffer in;
      ws.read(in, ec);
      if (ec) return;
      const std::string msg = boost::beast::buffers_to_string(in.data());
      std::string reply;
      if (answer(msg, reply)) {
        ++pings;
      } else {
        std::lock_guard lock(mu);
        received.push_back(msg);
      }
      if (!reply.empty() && !write(ws, reply, false)) return;
    }
  }

  void drain(Ws& ws) {
    boost::system::error_code ec;
    boost::beast::flat_buffer in;
    while (!stop && !ec) {
      in.consume(in.size());
      ws.read(in, ec);
    }
  }

  WsServerBehavior behavior;
  std::filesystem::path dir;
  boost::asio::io_context ioc;
  boost::asio::ssl::context ssl{boost::asio::ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> cursor{0};
  std::atomic<std::size_t> pings{0};
  std::vector<bool> injected;  // written by one connection at a time in these tests
  mutable std::mutex mu;
  std::set<int> open_fds;
  std::vector<std::string> received;
  std::vector<std::string> targets;
  std::thread accept_thread;
  std::vector<tcp::socket> held;     // silent_tls connections, accept thread only
  std::vector<std::thread> threads;  // touched by the accept thread only, then joined by the destructor
};

WsTestServer::WsTestServer(WsServerBehavior behavior) : impl_(std::make_unique<Impl>(std::move(behavior))) {}
WsTestServer::~WsTestServer() = default;
std::uint16_t WsTestServer::port() const noexcept { return impl_->port; }
std::string WsTestServer::ca_file() const { return (impl_->dir / "cert.pem").string(); }
std::size_t WsTestServer::connections() const noexcept { return impl_->connections.load(); }
std::size_t WsTestServer::frames_written() const noexcept { return impl_->cursor.load(); }
std::size_t WsTestServer::pings_answered() const noexcept { return impl_->pings.load(); }
std::vector<std::string> WsTestServer::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}
std::vector<std::string> WsTestServer::targets() const {
  std::lock_guard lock(impl_->mu);
  return impl_->targets;
}

}  // namespace tickflow::testing
