// feeds/websocket_client.cc: the only library translation unit that
// compiles Boost.Beast (see websocket_client.h for why).
#include "feeds/websocket_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <utility>

#include "feeds/padded_frame.h"

namespace tickflow {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

std::string_view to_string(WsCloseReason reason) noexcept {
  switch (reason) {
    case WsCloseReason::kResolve: return "resolve";
    case WsCloseReason::kConnect: return "connect";
    case WsCloseReason::kConnectTimeout: return "connect timeout";
    case WsCloseReason::kTlsHandshake: return "tls handshake";
    case WsCloseReason::kWsHandshake: return "websocket handshake";
    case WsCloseReason::kHandshakeTimeout: return "handshake timeout";
    case WsCloseReason::kStale: return "stale";
    case WsCloseReason::kClosedByPeer: return "closed by peer";
    case WsCloseReason::kEndOfStream: return "end of stream";
    case WsCloseReason::kMessageTooBig: return "message too big";
    case WsCloseReason::kReadError: return "read error";
    case WsCloseReason::kWriteError: return "write error";
    case WsCloseReason::kStopped: return "stopped";
    case WsCloseReason::kCount: break;
  }
  return "unknown";
}

// ---------------------------------------------------------------- IoLoop

struct IoLoop::Impl {
  net::io_context ioc{1};  // one thread runs it: no internal locking needed
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);
};

IoLoop::IoLoop() : impl_(std::make_unique<Impl>()) {}
IoLoop::~IoLoop() = default;
void IoLoop::run() { impl_->ioc.run(); }
void IoLoop::run_for(std::chrono::nanoseconds duration) { impl_->ioc.run_for(duration); }
std::size_t IoLoop::poll() { return impl_->ioc.poll(); }
void IoLoop::stop() { impl_->ioc.stop(); }
void IoLoop::post(std::function<void()> fn) { net::post(impl_->ioc, std::move(fn)); }
void IoLoop::restart() { impl_->ioc.restart(); }
bool IoLoop::stopped() const { return impl_->ioc.stopped(); }
void* IoLoop::native() noexcept { return &impl_->ioc; }

// ---------------------------------------------------------------- client

namespace {

using Stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// Largest piece one read_some asks for; a message may take several.
constexpr std::size_t kReadChunk = 64 * 1024;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

class Session;

}  // namespace

struct WebSocketClient::Impl : std::enable_shared_from_this<WebSocketClient::Impl> {
  explicit Impl(net::io_context& io, WebSocketConfig cfg, WebSocketHandlers h)
      : ioc(io), config(std::move(cfg)), handlers(std::move(h)), delay_timer(io) {}

  net::io_context& ioc;
  WebSocketConfig config;
  WebSocketHandlers handlers;
  net::steady_timer delay_timer;
  std::shared_ptr<Session> session;
  bool pending_open = false;
  // The TLS context of the last attempt, reused by the next one while the
  // CA file is the same: loading the system CA store costs ~20-50 ms of
  // CPU, which a reconnect loop against a silent server paid every attempt
  // (measured: 2-4 % of a core idle). Sessions share it; OpenSSL contexts
  // are safe to share across connections.
  std::shared_ptr<ssl::context> tls_context;
  std::string tls_context_ca_file;

  void start_session();
};

namespace {

// One connection attempt. Owned by the client while current, and by its own
// pending handlers until they have all completed, so that a socket is never
// destroyed under an outstanding operation.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(WebSocketClient::Impl& owner, std::shared_ptr<ssl::context> ctx)
      : owner_(&owner),
        config_(owner.config),
        ssl_ctx_(std::move(ctx)),
        resolver_(owner.ioc),
        ws_(owner.ioc, *ssl_ctx_),
        ping_timer_(owner.ioc),
        stale_timer_(owner.ioc),
        pace_timer_(owner.ioc) {}

  void start() {
    // The resolver has no deadline of its own: the stale timer (idle until
    // the connection opens) bounds it by connect_timeout.
    resolving_ = true;
    stale_timer_.expires_after(config_.connect_timeout);
    stale_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec && !self->done_ && self->resolving_)
        self->finish(WsCloseReason::kConnectTimeout, "resolving " + self->config_.host);
    });
    resolver_.async_resolve(config_.host, std::to_string(config_.port),
                            [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  bool open() const noexcept { return open_; }

  void send(std::string message) {
    outbox_.push_back(std::move(message));
    if (!writing_) write_next();
  }

  // The first message now, each next one `interval` after the one before
  // (a venue's subscribe rate limit). Ends with the attempt.
  void send_paced(std::vector<std::string> messages, std::chrono::milliseconds interval) {
    for (auto& m : messages) paced_.push_back(std::move(m));
    pace_interval_ = interval;
    if (!pacing_) pace_next();
  }

  // Ends the attempt once: closes the socket, cancels the timers, tells the
  // owner. Outstanding handlers then complete with operation_aborted and
  // see done_.
  void finish(WsCloseReason reason, const std::string& detail) {
    if (done_) return;
    done_ = true;
    open_ = false;
    error_code ignored;
    ping_timer_.cancel(ignored);
    stale_timer_.cancel(ignored);
    pace_timer_.cancel(ignored);
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
    WebSocketClient::Impl* owner = std::exchange(owner_, nullptr);
    if (owner == nullptr) return;  // detached by the client's destructor
    std::shared_ptr<Session> keep = shared_from_this();
    if (owner->session.get() == this) owner->session.reset();
    if (owner->handlers.on_close) owner->handlers.on_close(reason, detail);
  }

  // The client is going away: finish without calling back.
  void detach() {
    owner_ = nullptr;
    finish(WsCloseReason::kStopped, {});
  }

 private:
  void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
    if (done_) return;
    resolving_ = false;
    error_code ignored;
    stale_timer_.cancel(ignored);
    if (ec) return finish(WsCloseReason::kResolve, config_.host + ": " + ec.message());
    beast::get_lowest_layer(ws_).expires_after(config_.connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(
        results, [self = shared_from_this()](const error_code& e, const tcp::endpoint&) { self->on_connect(e); });
  }

  void on_connect(const error_code& ec) {
    if (done_) return;
    if (ec == beast::error::timeout) return finish(WsCloseReason::kConnectTimeout, endpoint_text());
    if (ec) return finish(WsCloseReason::kConnect, endpoint_text() + ": " + ec.message());
    SSL* ssl = ws_.next_layer().native_handle();
    if (is_ip_literal(config_.host)) {
      // RFC 6066: no SNI for IP literals; the certificate must name the IP.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), config_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, config_.host.c_str());
      SSL_set1_host(ssl, config_.host.c_str());
    }
    beast::get_lowest_layer(ws_).expires_after(config_.handshake_timeout);
    ws_.next_layer().async_handshake(ssl::stream_base::client,
                                     [self = shared_from_this()](const error_code& e) { self->on_tls(e); });
  }

  void on_tls(const error_code& ec) {
    if (done_) return;
    if (ec == beast::error::timeout) return finish(WsCloseReason::kHandshakeTimeout, "TLS: " + endpoint_text());
    if (ec) {
      std::string detail = endpoint_text() + ": " + ec.message();
      const long verify = SSL_get_verify_result(ws_.next_layer().native_handle());
      if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      return finish(WsCloseReason::kTlsHandshake, detail);
    }
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout{config_.handshake_timeout, websocket::stream_base::none(), false});
    if (config_.permessage_deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws_.set_option(pmd);
    }
    ws_.read_message_max(std::uint64_t{1} << 62);  // see read_next()
    ws_.text(true);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "tickflow"); }));
    std::string host_header = config_.host;
    if (config_.port != 443) host_header += ":" + std::to_string(config_.port);
    ws_.async_handshake(host_header, config_.target,
                        [self = shared_from_this()](const error_code& e) { self->on_handshake(e); });
  }

  void on_handshake(const error_code& ec) {
    if (done_) return;
    if (ec == beast::error::timeout) return finish(WsCloseReason::kHandshakeTimeout, "websocket upgrade");
    if (ec) return finish(WsCloseReason::kWsHandshake, config_.target + ": " + ec.message());
    open_ = true;
    last_rx_ = std::chrono::steady_clock::now();
    arm_stale();
    arm_ping();
    read_next();
    if (owner_ != nullptr && owner_->handlers.on_open) owner_->handlers.on_open();
  }

  // Reads message pieces until the message is complete, so that the size
  // limit is ours: when Beast enforces read_message_max itself it fails the
  // connection with a close handshake, and the error that surfaces is then
  // whatever the teardown met (often not message_too_big).
  void read_next() {
    ws_.async_read_some(buffer_, kReadChunk,
                        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    if (done_) return;
    if (ec) return finish_read_error(ec);
    if (buffer_.size() > config_.max_message_bytes)
      return finish(WsCloseReason::kMessageTooBig, "limit " + std::to_string(config_.max_message_bytes) + " bytes");
    if (!ws_.is_message_done()) return read_next();
    const std::int64_t receive_ts_ns = realtime_ns();
    last_rx_ = std::chrono::steady_clock::now();
    // The one copy per frame: Beast's flat_buffer makes no promise about
    // what follows its readable bytes, and simdjson reads up to 64 bytes
    // past the end. PaddedFrame keeps kFramePadding zeroed bytes after the
    // frame and only grows on a frame larger than any before it. Measured
    // on binance-20240808 spot frames (168-256 B): the copy costs ~11 ns a
    // frame, the parse ~300-450 ns, so the copy is 2-4% of the parse; a
    // padded DynamicBuffer of our own would save only that and would have
    // to be kept in step with Beast's buffer requirements.
    const auto bytes = buffer_.cdata();
    scratch_.assign(std::string_view(static_cast<const char*>(bytes.data()), bytes.size()));
    buffer_.consume(buffer_.size());
    if (owner_ != nullptr && owner_->handlers.on_frame) owner_->handlers.on_frame(scratch_.view(), receive_ts_ns);
    if (!done_) read_next();
  }

  void finish_read_error(const error_code& ec) {
    if (ec == websocket::error::closed) {
      const auto& r = ws_.reason();
      return finish(WsCloseReason::kClosedByPeer,
                    "close code " + std::to_string(r.code) +
                        (r.reason.empty() ? "" : ": " + std::string(r.reason.data(), r.reason.size())));
    }
    if (ec == websocket::error::message_too_big)
      return finish(WsCloseReason::kMessageTooBig, "limit " + std::to_string(config_.max_message_bytes) + " bytes");
    if (ec == net::error::eof || ec == ssl::error::stream_truncated || ec == net::error::connection_reset)
      return finish(WsCloseReason::kEndOfStream, ec.message());
    finish(WsCloseReason::kReadError, ec.message());
  }

  void arm_stale() {
    if (config_.read_timeout.count() <= 0) return;
    stale_timer_.expires_at(last_rx_ + config_.read_timeout);
    stale_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->done_) return;
      // The timer is not pushed back on every message (that would cost a
      // timer cancel per frame); it re-arms from the last receive instead.
      if (std::chrono::steady_clock::now() - self->last_rx_ >= self->config_.read_timeout)
        return self->finish(WsCloseReason::kStale,
                            "no message for " + std::to_string(self->config_.read_timeout.count()) + " ms");
      self->arm_stale();
    });
  }

  void arm_ping() {
    if (config_.ping_interval.count() <= 0) return;
    ping_timer_.expires_after(config_.ping_interval);
    ping_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->done_) return;
      if (!self->config_.ping_text.empty()) {
        self->send(self->config_.ping_text);
      } else if (!self->ping_in_flight_) {
        self->ping_in_flight_ = true;
        self->ws_.async_ping({}, [self](const error_code& e) {
          self->ping_in_flight_ = false;
          if (e && !self->done_) self->finish(WsCloseReason::kWriteError, "ping: " + e.message());
        });
      }
      self->arm_ping();
    });
  }

  void pace_next() {
    if (paced_.empty() || done_) {
      pacing_ = false;
      return;
    }
    pacing_ = true;
    send(std::move(paced_.front()));
    paced_.pop_front();
    if (paced_.empty()) {
      pacing_ = false;
      return;
    }
    pace_timer_.expires_after(pace_interval_);
    pace_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->done_) return;
      self->pace_next();
    });
  }

  void write_next() {
    if (outbox_.empty() || done_) return;
    writing_ = true;
    ws_.async_write(net::buffer(outbox_.front()), [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->writing_ = false;
      if (self->done_) return;
      if (ec) return self->finish(WsCloseReason::kWriteError, ec.message());
      self->outbox_.pop_front();
      self->write_next();
    });
  }

  std::string endpoint_text() const { return config_.host + ":" + std::to_string(config_.port); }

  WebSocketClient::Impl* owner_;
  WebSocketConfig config_;  // a copy: the client's may change before the next attempt
  std::shared_ptr<ssl::context> ssl_ctx_;
  tcp::resolver resolver_;
  Stream ws_;
  beast::flat_buffer buffer_;
  PaddedFrame scratch_;
  net::steady_timer ping_timer_;
  net::steady_timer stale_timer_;
  std::chrono::steady_clock::time_point last_rx_{};
  std::deque<std::string> outbox_;
  net::steady_timer pace_timer_;
  std::deque<std::string> paced_;  // waiting for their turn (send_paced)
  std::chrono::milliseconds pace_interval_{0};
  bool pacing_ = false;
  bool resolving_ = false;
  bool writing_ = false;
  bool ping_in_flight_ = false;
  bool open_ = false;
  bool done_ = false;
};

}  // namespace

void WebSocketClient::Impl::start_session() {
  pending_open = false;
  if (!tls_context || tls_context_ca_file != config.ca_file) {
    tls_context.reset();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (config.ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(config.ca_file, ec);
    if (ec) {
      // Reported as a TLS failure of this attempt, through the same path as
      // every other failure, so that the caller's backoff applies.
      const std::string detail =
          "CA store " + (config.ca_file.empty() ? "(system)" : config.ca_file) + ": " + ec.message();
      pending_open = true;  // busy() until on_close
      net::post(ioc, [weak = weak_from_this(), detail] {
        auto self = weak.lock();
        if (!self || !self->pending_open) return;
        self->pending_open = false;
        if (self->handlers.on_close) self->handlers.on_close(WsCloseReason::kTlsHandshake, detail);
      });
      return;
    }
    tls_context = std::move(ctx);
    tls_context_ca_file = config.ca_file;
  }
  session = std::make_shared<Session>(*this, tls_context);
  session->start();
}

WebSocketClient::WebSocketClient(IoLoop& loop, WebSocketConfig config, WebSocketHandlers handlers)
    : impl_(std::make_shared<Impl>(*static_cast<net::io_context*>(loop.native()), std::move(config),
                                   std::move(handlers))) {}

WebSocketClient::~WebSocketClient() {
  error_code ignored;
  impl_->delay_timer.cancel(ignored);
  if (impl_->session) {
    auto session = std::move(impl_->session);
    session->detach();
  }
}

void WebSocketClient::open(std::chrono::milliseconds delay) {
  Impl& impl = *impl_;
  if (impl.pending_open || impl.session) return;
  if (delay.count() <= 0) return impl.start_session();
  impl.pending_open = true;
  impl.delay_timer.expires_after(delay);
  impl.delay_timer.async_wait([weak = std::weak_ptr<Impl>(impl_)](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || !self->pending_open) return;
    self->start_session();
  });
}

bool WebSocketClient::send_text(std::string message) {
  if (!impl_->session || !impl_->session->open()) return false;
  impl_->session->send(std::move(message));
  return true;
}

bool WebSocketClient::send_text_paced(std::vector<std::string> messages, std::chrono::milliseconds interval) {
  if (!impl_->session || !impl_->session->open()) return false;
  if (interval.count() <= 0) {
    for (auto& m : messages) impl_->session->send(std::move(m));
  } else {
    impl_->session->send_paced(std::move(messages), interval);
  }
  return true;
}

void WebSocketClient::close() {
  error_code ignored;
  impl_->pending_open = false;
  impl_->delay_timer.cancel(ignored);
  if (impl_->session) {
    auto session = impl_->session;  // finish() resets impl_->session
    session->finish(WsCloseReason::kStopped, "closed by the client");
  }
}

bool WebSocketClient::is_open() const noexcept { return impl_->session && impl_->session->open(); }
bool WebSocketClient::busy() const noexcept { return impl_->pending_open || impl_->session != nullptr; }
const WebSocketConfig& WebSocketClient::config() const noexcept { return impl_->config; }
WebSocketConfig& WebSocketClient::mutable_config() noexcept { return impl_->config; }

}  // namespace tickflow
