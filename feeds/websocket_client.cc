// feeds/websocket_client.cc: the websocket client (see websocket_client.h).
//
// Asio runs the event loop, the resolver, the TCP connect and the timers.
// TLS is OpenSSL on the socket itself (a BIO of ours, non-blocking), and the
// websocket layer (opening handshake, frames, control frames, permessage-
// deflate) is ours: feeds/websocket_handshake.h, feeds/websocket_frame.h.
//
// Why not Beast any more: Beast completes one websocket message per
// asynchronous operation, and each one walks a composed-operation stack
// (type-erased executors, work guards, shared_ptr handler copies, UTF-8
// validation, an SSL stream over memory BIOs that copies every byte once
// more). At a Binance trade stream's rate that machinery cost ~40 % of the
// feed thread, 6x the parse (bench/README.md, "The live edge"). Here one
// readiness wake-up reads the socket until it would block, in TLS-record
// sized SSL_read calls straight into one receive buffer, and hands every
// complete frame of each read to on_frame in place.
//
// Promises kept from the Beast client: certificate and host name checked,
// SNI sent; every phase has its deadline; a message above
// max_message_bytes ends the connection (kMessageTooBig) as soon as its
// header says so; pings are answered with pongs; a close frame ends the
// connection (kClosedByPeer, with its code and reason); on_close is called
// exactly once per attempt.
#include "feeds/websocket_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <zlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <utility>

#include "feeds/hex_digit.h"
#include "feeds/padded_frame.h"
#include "feeds/tls13_record_reader.h"
#include "feeds/websocket_frame.h"
#include "feeds/websocket_handshake.h"

namespace tickflow {

namespace net = boost::asio;
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

// The receive buffer: one TLS record is at most 16 KiB of plaintext, and
// a read pass stops once less than that is free, so 256 KiB holds ~16
// records of frames before the unparsed tail is moved down. It grows only
// for a single message larger than it (up to max_message_bytes).
constexpr std::size_t kReceiveBuffer = 256 * 1024;
// Room for one record's plaintext, padding and content type included
// (Tls13RecordReader writes that much; SSL_read at most 16 KiB).
constexpr std::size_t kTlsRecord = Tls13RecordReader::kMaxPlaintextWrite;
// Bytes one readiness wake-up reads before it yields to the loop's other
// handlers (timers, other connections on the same thread): a server that
// sends faster than we parse must not starve them.
constexpr std::size_t kReadBudget = 1024 * 1024;
// An upgrade response larger than this is not a websocket server.
constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// The oldest queued OpenSSL error as text ("certificate verify failed"),
// and the queue cleared, so the next call starts clean.
std::string take_ssl_error() {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    text = reason != nullptr ? reason : ("OpenSSL error " + std::to_string(code));
  }
  ERR_clear_error();
  return text;
}

// The socket under OpenSSL: a BIO of ours, for two reasons.
//  * Reads go through a buffer of our own. OpenSSL without read-ahead asks
//    for each record's 5-byte header and then its body: two recv calls per
//    record, and an exchange sends one record per message. With read-ahead
//    it reads big chunks but, before each record of 128 bytes or more,
//    moves every byte left in its buffer to the front (measured: 30 % of
//    the feed thread with one ~220-byte record per message and a 128 KiB
//    buffer). Here one recv fills kSocketBuffer, and OpenSSL's header and
//    body reads are small copies out of it: one system call per socket
//    chunk, no moves. The receive time is taken once per recv, not per
//    record.
//  * Writes use send(MSG_NOSIGNAL). OpenSSL's socket BIO writes with
//    write(), which raises SIGPIPE when the peer has gone: that would kill
//    whatever process embeds the client unless it ignores the signal.
// EAGAIN is "retry", as in OpenSSL's own. The socket owns the descriptor
// (Asio closes it); the session owns this state, and frees the SSL object
// (which owns the BIO) before it.
constexpr std::size_t kSocketBuffer = 64 * 1024;

struct SocketBioState {
  int fd = -1;
  std::unique_ptr<char[]> buffer = std::make_unique<char[]>(kSocketBuffer);
  std::size_t begin = 0;  // [begin, end): received, not yet read by OpenSSL
  std::size_t end = 0;
  std::int64_t recv_ns = 0;  // CLOCK_REALTIME after the last recv that returned bytes
  bool received = false;     // a recv returned bytes since the session last looked
  // Set once Tls13RecordReader reads the records: OpenSSL must never take
  // another byte of the stream (it would desynchronise the sequence).
  bool reads_taken_over = false;

  // One recv after [begin, end), moving an unfinished record down first
  // (an empty buffer starts over at 0). Returns what recv returned. Both
  // readers fill the buffer through it: OpenSSL's (the BIO below) and
  // Tls13RecordReader's (Session::read_own_records).
  ssize_t receive_more() {
    if (begin == end) {
      begin = end = 0;
    } else if (begin > 0) {
      std::memmove(buffer.get(), buffer.get() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    const ssize_t n = ::recv(fd, buffer.get() + end, kSocketBuffer - end, 0);
    if (n > 0) {
      end += static_cast<std::size_t>(n);
      recv_ns = realtime_ns();
      received = true;
    }
    return n;
  }
};

// TLS 1.3 hands its traffic secrets to a keylog callback only; this is
// where the session's Tls13RecordReader gets the server's. The SSL object
// carries a pointer to its session's TrafficSecret (ex data), set before
// the handshake and used only inside SSL_connect.
struct TrafficSecret {
  unsigned char bytes[48] = {};
  std::size_t size = 0;
  void wipe() noexcept {
    OPENSSL_cleanse(bytes, sizeof bytes);
    size = 0;
  }
};

int traffic_secret_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_keylog_line(const SSL* ssl, const char* line) {
  constexpr std::string_view kLabel = "SERVER_TRAFFIC_SECRET_0 ";
  const std::string_view text(line);
  if (text.substr(0, kLabel.size()) != kLabel) return;
  auto* secret = static_cast<TrafficSecret*>(SSL_get_ex_data(ssl, traffic_secret_index()));
  const std::size_t space = text.rfind(' ');
  if (secret == nullptr || space == std::string_view::npos) return;
  const std::string_view hex = text.substr(space + 1);
  if (hex.size() % 2 != 0 || hex.size() / 2 > sizeof secret->bytes) return;
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return secret->wipe();
    secret->bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  secret->size = hex.size() / 2;
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "tickflow socket");
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    BIO_meth_set_read(m, [](BIO* b, char* out, int size) {
      auto* st = static_cast<SocketBioState*>(BIO_get_data(b));
      BIO_clear_retry_flags(b);
      if (st->reads_taken_over) {
        BIO_set_retry_read(b);
        return -1;
      }
      if (st->begin == st->end) {
        const ssize_t n = st->receive_more();
        if (n <= 0) {
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
          return static_cast<int>(n);
        }
      }
      const std::size_t k = std::min(static_cast<std::size_t>(size), st->end - st->begin);
      std::memcpy(out, st->buffer.get() + st->begin, k);
      st->begin += k;
      return static_cast<int>(k);
    });
    BIO_meth_set_write(m, [](BIO* b, const char* in, int size) {
      const auto* st = static_cast<const SocketBioState*>(BIO_get_data(b));
      const ssize_t n = ::send(st->fd, in, static_cast<std::size_t>(size), MSG_NOSIGNAL);
      BIO_clear_retry_flags(b);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
      return static_cast<int>(n);
    });
    BIO_meth_set_ctrl(m, [](BIO* b, int cmd, long, void*) -> long {
      if (cmd == BIO_CTRL_FLUSH) return 1;
      if (cmd == BIO_CTRL_PENDING) {
        const auto* st = static_cast<const SocketBioState*>(BIO_get_data(b));
        return static_cast<long>(st->end - st->begin);
      }
      return 0;
    });
    return m;
  }();
  return method;
}

// One shared OpenSSL client context (CA store loaded once).
struct TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

// permessage-deflate (RFC 7692) for what the server sends: raw deflate,
// each message ending with the 00 00 FF FF the sender stripped.
class MessageInflater {
 public:
  MessageInflater() = default;
  ~MessageInflater() {
    if (ready_) inflateEnd(&z_);
  }
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  bool start(int window_bits, bool reset_each_message) {
    reset_each_message_ = reset_each_message;
    std::memset(&z_, 0, sizeof(z_));
    ready_ = inflateInit2(&z_, -window_bits) == Z_OK;
    return ready_;
  }

  // Inflates `in` into `out`. Returns "" or why not; "too big" past `limit`.
  std::string inflate_message(std::string_view in, PaddedFrame& out, std::size_t limit) {
    static constexpr unsigned char kTail[4] = {0x00, 0x00, 0xFF, 0xFF};
    std::size_t produced = 0;
    out.resize(std::max<std::size_t>(out.capacity(), 4096));
    for (int part = 0; part < 2; ++part) {
      z_.next_in = part == 0 ? reinterpret_cast<Bytef*>(const_cast<char*>(in.data())) : const_cast<Bytef*>(kTail);
      z_.avail_in = part == 0 ? static_cast<uInt>(in.size()) : 4;
      while (z_.avail_in > 0) {
        if (produced == out.size()) {
          if (produced >= limit) return "too big";
          out.resize(std::min(limit + 1, produced * 2));
        }
        z_.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        z_.avail_out = static_cast<uInt>(out.size() - produced);
        const int rc = ::inflate(&z_, Z_SYNC_FLUSH);
        produced = out.size() - z_.avail_out;
        if (rc == Z_BUF_ERROR && z_.avail_out > 0) break;  // needs more input than there is
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return z_.msg != nullptr ? z_.msg : "inflate error";
      }
    }
    if (produced > limit) return "too big";
    out.resize(produced);
    if (reset_each_message_) inflateReset(&z_);
    return {};
  }

 private:
  z_stream z_{};
  bool ready_ = false;
  bool reset_each_message_ = false;
};

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
  // (measured: 2-4 % of a core idle). OpenSSL contexts are safe to share.
  std::shared_ptr<TlsContext> tls_context;
  std::string tls_context_ca_file;

  void start_session();
};

namespace {

// One connection attempt. Owned by the client while current, and by its own
// pending handlers until they have all completed, so that the socket and
// the SSL object are never destroyed under an outstanding operation.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(WebSocketClient::Impl& owner, std::shared_ptr<TlsContext> ctx)
      : owner_(&owner),
        config_(owner.config),
        tls_(std::move(ctx)),
        resolver_(owner.ioc),
        socket_(owner.ioc),
        ping_timer_(owner.ioc),
        deadline_timer_(owner.ioc),
        pace_timer_(owner.ioc),
        receive_(std::make_unique<char[]>(kReceiveBuffer + kFramePadding)),
        receive_capacity_(kReceiveBuffer) {}

  ~Session() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }

  void start() {
    // The resolver has no deadline of its own: the deadline timer bounds it
    // by connect_timeout.
    phase_ = Phase::kResolving;
    arm_deadline(config_.connect_timeout);
    resolver_.async_resolve(config_.host, std::to_string(config_.port),
                            [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  bool open() const noexcept { return phase_ == Phase::kOpen && !done_; }
  bool reads_own_records() const noexcept { return own_records_ && !done_; }

  void send(std::string_view message) { send_frame(WsOpcode::kText, message); }

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
    error_code ignored;
    ping_timer_.cancel(ignored);
    deadline_timer_.cancel(ignored);
    pace_timer_.cancel(ignored);
    resolver_.cancel();
    socket_.close(ignored);
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
  enum class Phase : std::uint8_t { kResolving, kConnecting, kTls, kUpgrade, kOpen };

  // ---- deadlines -------------------------------------------------------------

  // One timer bounds each phase before the connection is open (resolve and
  // connect by connect_timeout, TLS and upgrade by handshake_timeout); once
  // open it is the stale timer.
  void arm_deadline(std::chrono::milliseconds after) {
    deadline_timer_.expires_after(after);
    deadline_timer_.async_wait([self = shared_from_this(), phase = phase_](const error_code& ec) {
      if (ec || self->done_ || self->phase_ != phase) return;
      switch (phase) {
        case Phase::kResolving: return self->finish(WsCloseReason::kConnectTimeout, "resolving " + self->config_.host);
        case Phase::kConnecting: return self->finish(WsCloseReason::kConnectTimeout, self->endpoint_text());
        case Phase::kTls: return self->finish(WsCloseReason::kHandshakeTimeout, "TLS: " + self->endpoint_text());
        case Phase::kUpgrade: return self->finish(WsCloseReason::kHandshakeTimeout, "websocket upgrade");
        case Phase::kOpen: return;
      }
    });
  }

  void arm_stale() {
    if (config_.read_timeout.count() <= 0) return;
    deadline_timer_.expires_at(last_rx_ + config_.read_timeout);
    deadline_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->done_) return;
      // The timer is not pushed back on every read (that would cost a timer
      // cancel per read); it re-arms from the last receive instead.
      if (std::chrono::steady_clock::now() - self->last_rx_ >= self->config_.read_timeout)
        return self->finish(WsCloseReason::kStale,
                            "no message for " + std::to_string(self->config_.read_timeout.count()) + " ms");
      self->arm_stale();
    });
  }

  // ---- connect ---------------------------------------------------------------

  void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
    if (done_) return;
    if (ec) return finish(WsCloseReason::kResolve, config_.host + ": " + ec.message());
    phase_ = Phase::kConnecting;
    arm_deadline(config_.connect_timeout);
    net::async_connect(socket_, results,
                       [self = shared_from_this()](const error_code& e, const tcp::endpoint&) { self->on_connect(e); });
  }

  void on_connect(const error_code& ec) {
    if (done_) return;
    if (ec) return finish(WsCloseReason::kConnect, endpoint_text() + ": " + ec.message());
    error_code ignored;
    socket_.non_blocking(true, ignored);
    socket_.set_option(tcp::no_delay(true), ignored);  // subscribes and pongs are small and must not wait
    ssl_ = SSL_new(tls_->ctx);
    BIO* bio = ssl_ != nullptr ? BIO_new(socket_bio_method()) : nullptr;
    if (bio == nullptr) return finish(WsCloseReason::kTlsHandshake, endpoint_text() + ": " + take_ssl_error());
    socket_state_.fd = socket_.native_handle();
    BIO_set_data(bio, &socket_state_);
    SSL_set_bio(ssl_, bio, bio);  // the SSL object owns the BIO from here
    SSL_set_ex_data(ssl_, traffic_secret_index(), &server_secret_);
    if (is_ip_literal(config_.host)) {
      // RFC 6066: no SNI for IP literals; the certificate must name the IP.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), config_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, config_.host.c_str());
      SSL_set1_host(ssl_, config_.host.c_str());
    }
    SSL_set_connect_state(ssl_);
    phase_ = Phase::kTls;
    arm_deadline(config_.handshake_timeout);
    tls_step();
  }

  // Drives SSL_connect: each WANT_READ / WANT_WRITE waits for the socket.
  void tls_step() {
    if (done_) return;
    ERR_clear_error();
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return on_tls();
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const auto wait = err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
      socket_.async_wait(wait, [self = shared_from_this()](const error_code& e) {
        if (self->done_) return;
        if (e) return self->finish(WsCloseReason::kTlsHandshake, self->endpoint_text() + ": " + e.message());
        self->tls_step();
      });
      return;
    }
    std::string detail = endpoint_text() + ": ";
    const int saved_errno = errno;
    std::string ssl_text = take_ssl_error();
    if (ssl_text.empty())
      ssl_text =
          err == SSL_ERROR_SYSCALL && saved_errno != 0 ? std::strerror(saved_errno) : "connection closed by peer";
    detail += ssl_text;
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    finish(WsCloseReason::kTlsHandshake, detail);
  }

  void on_tls() {
    take_over_tls_reads();
    phase_ = Phase::kUpgrade;
    arm_deadline(config_.handshake_timeout);
    unsigned char nonce[16];
    if (RAND_bytes(nonce, sizeof nonce) != 1) return finish(WsCloseReason::kWsHandshake, "no random bytes for the key");
    std::string host_header = config_.host;
    if (config_.port != 443) host_header += ":" + std::to_string(config_.port);
    WsUpgradeRequest request = make_ws_upgrade_request(host_header, config_.target, config_.permessage_deflate, nonce);
    upgrade_key_ = std::move(request.key);
    outbox_.append(request.text);
    flush();
    wait_readable();
  }

  // The upgrade answer is in receive_[0, end_): check it once its blank
  // line is there; what follows it is the first frames.
  bool on_upgrade_bytes() {
    const std::string_view have(receive_.get(), end_);
    const std::size_t blank = have.find("\r\n\r\n");
    if (blank == std::string_view::npos) {
      if (end_ > kMaxUpgradeResponse) {
        finish(WsCloseReason::kWsHandshake, config_.target + ": response header above 16 KiB");
        return false;
      }
      return true;
    }
    const WsUpgradeResponse answer =
        check_ws_upgrade_response(have.substr(0, blank + 4), upgrade_key_, config_.permessage_deflate);
    if (!answer.ok) {
      finish(WsCloseReason::kWsHandshake, config_.target + ": " + answer.error);
      return false;
    }
    if (answer.deflate && !inflater_.start(answer.server_max_window_bits, answer.server_no_context_takeover)) {
      finish(WsCloseReason::kWsHandshake, "permessage-deflate: inflateInit failed");
      return false;
    }
    deflate_ = answer.deflate;
    begin_ = blank + 4;
    phase_ = Phase::kOpen;
    last_rx_ = std::chrono::steady_clock::now();
    error_code ignored;
    deadline_timer_.cancel(ignored);
    arm_stale();
    arm_ping();
    if (owner_ != nullptr && owner_->handlers.on_open) owner_->handlers.on_open();
    return !done_;
  }

  // ---- the read path -----------------------------------------------------------

  void wait_readable() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
      if (self->done_) return;
      if (ec) return self->finish(WsCloseReason::kReadError, ec.message());
      self->read_pass();
    });
  }

  // Reads until the socket would block (or the pass's budget is spent),
  // handing on the complete frames after every SSL_read.
  void read_pass() {
    std::shared_ptr<Session> keep = shared_from_this();  // on_frame may end the attempt
    std::size_t budget = kReadBudget;
    for (;;) {
      if (!make_room()) return;
      // No ERR_clear_error() here: the queue is empty (every failure ends
      // the attempt and take_ssl_error() empties it), and it costs a
      // thread-local lookup per record.
      int err = SSL_ERROR_NONE;
      const int n = own_records_ ? read_own_records(err)
                                 : SSL_read(ssl_, receive_.get() + end_, static_cast<int>(receive_capacity_ - end_));
      if (n <= 0) {
        if (!own_records_) err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_WANT_READ) return wait_readable();
        if (err == kRecordReaderFailed)
          return finish(WsCloseReason::kReadError,
                        records_.error().empty() ? "TLS record above the socket buffer" : records_.error());
        if (err == SSL_ERROR_WANT_WRITE) {
          // TLS wants to write before it can read (a key update): wait for
          // room, then read again.
          socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](const error_code& ec) {
            if (self->done_) return;
            if (ec) return self->finish(WsCloseReason::kReadError, ec.message());
            self->read_pass();
          });
          return;
        }
        return finish_read_error(err);
      }
      end_ += static_cast<std::size_t>(n);
      if (socket_state_.received) {
        socket_state_.received = false;
        last_rx_ = std::chrono::steady_clock::now();
      }
      if (phase_ == Phase::kUpgrade) {
        if (!on_upgrade_bytes()) return;
        if (phase_ != Phase::kOpen) continue;
      }
      if (!hand_on_frames(socket_state_.recv_ns)) return;
      if (budget <= static_cast<std::size_t>(n)) {
        // Let the loop's other handlers run; the socket may still hold data
        // (readiness is edge-triggered), so come back by a post, not a wait.
        net::post(socket_.get_executor(), [self = shared_from_this()] {
          if (!self->done_) self->read_pass();
        });
        return;
      }
      budget -= static_cast<std::size_t>(n);
    }
  }

  // ---- TLS 1.3 records, opened here (feeds/tls13_record_reader.h) -------------

  static constexpr int kRecordReaderFailed = -1000;  // not an SSL_ERROR_* value

  // After the handshake: a TLS 1.3 connection whose suite the reader
  // handles reads its records through it from here on, and OpenSSL keeps
  // the writes. Anything else (TLS 1.2, another suite, own_tls_records
  // off) stays on SSL_read. The secret is wiped either way.
  void take_over_tls_reads() {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    if (config_.own_tls_records && server_secret_.size > 0 && SSL_version(ssl_) == TLS1_3_VERSION &&
        SSL_has_pending(ssl_) == 0 && cipher != nullptr &&
        records_.start(SSL_CIPHER_get_protocol_id(cipher), server_secret_.bytes, server_secret_.size, nullptr)) {
      own_records_ = true;
      socket_state_.reads_taken_over = true;
    }
    server_secret_.wipe();
  }

  // SSL_read's contract, for the reader: > 0 bytes of application data
  // at receive_ + end_, or <= 0 with `err` an SSL_ERROR_* value
  // (WANT_READ, ZERO_RETURN for close_notify, SYSCALL with errno for the
  // socket) or kRecordReaderFailed (records_.error() says why).
  int read_own_records(int& err) {
    SocketBioState& st = socket_state_;
    for (;;) {
      if (st.begin < st.end) {
        const auto opened =
            records_.open(reinterpret_cast<const unsigned char*>(st.buffer.get() + st.begin), st.end - st.begin,
                          reinterpret_cast<unsigned char*>(receive_.get() + end_), receive_capacity_ - end_);
        st.begin += opened.consumed;
        if (records_.take_key_update_request()) send_key_update();
        if (opened.produced > 0) return static_cast<int>(opened.produced);  // an end after it comes next call
        if (opened.status == Tls13RecordReader::Status::kClosed) {
          err = SSL_ERROR_ZERO_RETURN;
          return 0;
        }
        if (opened.status == Tls13RecordReader::Status::kError) {
          err = kRecordReaderFailed;
          return -1;
        }
        if (opened.consumed > 0) continue;  // tickets or a key update only
      }
      if (st.begin == 0 && st.end == kSocketBuffer) {
        // Cannot happen (a record is at most ~16.3 KiB and every complete
        // one fits receive_), but a full buffer must never read as EOF.
        err = kRecordReaderFailed;
        return -1;
      }
      const ssize_t n = st.receive_more();
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        err = SSL_ERROR_WANT_READ;
        return -1;
      }
      if (n == 0) errno = 0;  // the peer closed TCP without close_notify: a drop
      err = SSL_ERROR_SYSCALL;
      return -1;
    }
  }

  // The server updated its key and asked for ours (RFC 8446 4.6.3):
  // OpenSSL writes, so OpenSSL sends our KeyUpdate and moves its write key.
  void send_key_update() {
    if (SSL_key_update(ssl_, SSL_KEY_UPDATE_NOT_REQUESTED) != 1)
      return finish(WsCloseReason::kWriteError, "TLS key update: " + take_ssl_error());
    send_handshake();
  }
  void send_handshake() {
    if (done_) return;
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return;
    if (SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_WRITE) {
      socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](const error_code& ec) {
        if (self->done_) return;
        if (ec) return self->finish(WsCloseReason::kWriteError, ec.message());
        self->send_handshake();
      });
      return;
    }
    finish(WsCloseReason::kWriteError, "TLS key update: " + take_ssl_error());
  }

  // Room for one more TLS record after end_: drops what was handed on and,
  // when the tail is near the end, moves the unfinished frame down. Grows
  // the buffer only for a message that cannot fit (need_ says how big).
  bool make_room() {
    if (begin_ == end_) begin_ = end_ = 0;
    if (receive_capacity_ - end_ >= kTlsRecord && need_ <= receive_capacity_ - begin_) return true;
    if (begin_ > 0) {
      std::memmove(receive_.get(), receive_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    const std::size_t wanted = std::max(need_, end_ + kTlsRecord);
    if (wanted > receive_capacity_) {
      const std::size_t capacity = std::max(wanted, receive_capacity_ * 2);
      auto bigger = std::make_unique<char[]>(capacity + kFramePadding);
      std::memcpy(bigger.get(), receive_.get(), end_);
      receive_ = std::move(bigger);
      receive_capacity_ = capacity;
    }
    return true;
  }

  // Walks every complete frame in receive_[begin_, end_). False once the
  // attempt has ended.
  bool hand_on_frames(std::int64_t receive_ts_ns) {
    while (!done_) {
      const auto* at = reinterpret_cast<const unsigned char*>(receive_.get() + begin_);
      const std::size_t avail = end_ - begin_;
      WsFrameHeader h;
      const WsDecode decoded = decode_ws_frame_header(at, avail, h);
      if (decoded == WsDecode::kNeedMore) {
        need_ = kWsMaxHeaderBytes;
        return true;
      }
      if (decoded == WsDecode::kInvalid) {
        finish(WsCloseReason::kReadError, "malformed frame header");
        return false;
      }
      if (h.masked || h.rsv23 || (h.rsv1 && !deflate_)) {
        finish(WsCloseReason::kReadError, h.masked ? "masked frame from the server" : "reserved bits set");
        return false;
      }
      const std::uint64_t message = h.payload_bytes + (h.opcode == WsOpcode::kContinuation ? fragments_.size() : 0);
      if (message > config_.max_message_bytes) {
        finish(WsCloseReason::kMessageTooBig, "limit " + std::to_string(config_.max_message_bytes) + " bytes");
        return false;
      }
      const std::size_t total = h.header_bytes + static_cast<std::size_t>(h.payload_bytes);
      if (avail < total) {
        need_ = total;
        return true;
      }
      need_ = 0;
      char* payload = receive_.get() + begin_ + h.header_bytes;
      begin_ += total;
      if (!on_frame_bytes(h, payload, static_cast<std::size_t>(h.payload_bytes), receive_ts_ns)) return false;
    }
    return false;
  }

  bool on_frame_bytes(const WsFrameHeader& h, char* payload, std::size_t size, std::int64_t receive_ts_ns) {
    switch (h.opcode) {
      case WsOpcode::kText:
      case WsOpcode::kBinary:
        if (in_message_) {
          finish(WsCloseReason::kReadError, "new message inside a fragmented one");
          return false;
        }
        if (h.fin && !h.rsv1) return deliver_in_place(payload, size, receive_ts_ns);
        compressed_ = h.rsv1;
        if (h.fin) return deliver_copy(std::string_view(payload, size), receive_ts_ns);
        in_message_ = true;
        fragments_.assign(std::string_view(payload, size));
        return true;
      case WsOpcode::kContinuation: {
        if (!in_message_) {
          finish(WsCloseReason::kReadError, "continuation frame without a message");
          return false;
        }
        const std::size_t had = fragments_.size();
        std::memcpy(fragments_.resize(had + size) + had, payload, size);
        if (!h.fin) return true;
        in_message_ = false;
        return deliver_copy(fragments_.view(), receive_ts_ns);
      }
      case WsOpcode::kPing: send_frame(WsOpcode::kPong, std::string_view(payload, size)); return !done_;
      case WsOpcode::kPong: return true;
      case WsOpcode::kClose: {
        std::string detail = "close code ";
        if (size >= 2) {
          const unsigned code = (static_cast<unsigned>(static_cast<unsigned char>(payload[0])) << 8) |
                                static_cast<unsigned char>(payload[1]);
          detail += std::to_string(code);
          if (size > 2) detail += ": " + std::string(payload + 2, size - 2);
        } else {
          detail += "1005";  // "no status received", RFC 6455 7.4.1
        }
        // Answer with the same code, as RFC 6455 5.5.1 asks; best effort.
        send_frame(WsOpcode::kClose, std::string_view(payload, std::min<std::size_t>(size, 2)));
        finish(WsCloseReason::kClosedByPeer, detail);
        return false;
      }
    }
    return true;
  }

  // The frame's payload is handed on where it lies. The PaddedFrame promise
  // (kFramePadding zero bytes after it) is kept by zeroing the bytes after
  // the payload for the call and restoring them after: 3 x 64-byte moves,
  // in place of a copy of the whole frame. The buffer always has
  // kFramePadding bytes beyond its capacity, so they exist.
  bool deliver_in_place(char* payload, std::size_t size, std::int64_t receive_ts_ns) {
    char saved[kFramePadding];
    char* after = payload + size;
    std::memcpy(saved, after, kFramePadding);
    std::memset(after, 0, kFramePadding);
    if (owner_ != nullptr && owner_->handlers.on_frame)
      owner_->handlers.on_frame(std::string_view(payload, size), receive_ts_ns);
    std::memcpy(after, saved, kFramePadding);
    return !done_;
  }

  // A message that is not one plain frame: `message` is fragments_ (the
  // fragments joined, padded already) or one compressed frame in place.
  bool deliver_copy(std::string_view message, std::int64_t receive_ts_ns) {
    std::string_view out = message;
    if (compressed_) {
      const std::string error = inflater_.inflate_message(message, inflated_, config_.max_message_bytes);
      if (error == "too big") {
        finish(WsCloseReason::kMessageTooBig,
               "limit " + std::to_string(config_.max_message_bytes) + " bytes (inflated)");
        return false;
      }
      if (!error.empty()) {
        finish(WsCloseReason::kReadError, "permessage-deflate: " + error);
        return false;
      }
      out = inflated_.view();
    }
    compressed_ = false;
    if (owner_ != nullptr && owner_->handlers.on_frame) owner_->handlers.on_frame(out, receive_ts_ns);
    return !done_;
  }

  void finish_read_error(int ssl_error) {
    const int saved_errno = errno;
    std::string text = take_ssl_error();
    if (ssl_error == SSL_ERROR_ZERO_RETURN) return finish(WsCloseReason::kEndOfStream, "TLS close_notify");
    if (ssl_error == SSL_ERROR_SYSCALL) {
      if (saved_errno == 0 || saved_errno == ECONNRESET || saved_errno == EPIPE)
        return finish(WsCloseReason::kEndOfStream, saved_errno == 0 ? "end of stream" : std::strerror(saved_errno));
      return finish(WsCloseReason::kReadError, std::strerror(saved_errno));
    }
    // OpenSSL 3 reports a TCP close without close_notify as an SSL error
    // ("unexpected eof while reading"): a drop, like the SYSCALL case.
    if (text.find("unexpected eof") != std::string::npos) return finish(WsCloseReason::kEndOfStream, text);
    finish(WsCloseReason::kReadError, text.empty() ? "TLS read failed" : text);
  }

  // ---- the write path ------------------------------------------------------------

  void send_frame(WsOpcode opcode, std::string_view payload) {
    if (done_) return;
    std::uint32_t mask = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&mask), sizeof mask);  // RFC 6455 10.3: unpredictable
    append_ws_client_frame(opcode, payload, mask, outbox_);
    flush();
  }

  // Writes the outbox until it is empty or the socket is full; a full
  // socket resumes on writability. SSL_MODE_ENABLE_PARTIAL_WRITE and
  // ACCEPT_MOVING_WRITE_BUFFER let the outbox grow while a write waits.
  void flush() {
    if (write_waiting_ || done_) return;
    while (sent_ < outbox_.size()) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, outbox_.data() + sent_,
                              static_cast<int>(std::min<std::size_t>(outbox_.size() - sent_, 1 << 20)));
      if (n > 0) {
        sent_ += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        write_waiting_ = true;
        const auto wait = err == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
        socket_.async_wait(wait, [self = shared_from_this()](const error_code& ec) {
          self->write_waiting_ = false;
          if (self->done_) return;
          if (ec) return self->finish(WsCloseReason::kWriteError, ec.message());
          self->flush();
        });
        return;
      }
      const int saved_errno = errno;
      std::string text = take_ssl_error();
      if (text.empty()) text = saved_errno != 0 ? std::strerror(saved_errno) : "TLS write failed";
      return finish(WsCloseReason::kWriteError, text);
    }
    outbox_.clear();
    sent_ = 0;
  }

  void arm_ping() {
    if (config_.ping_interval.count() <= 0) return;
    ping_timer_.expires_after(config_.ping_interval);
    ping_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->done_) return;
      if (!self->config_.ping_text.empty())
        self->send(self->config_.ping_text);
      else
        self->send_frame(WsOpcode::kPing, {});
      self->arm_ping();
    });
  }

  void pace_next() {
    if (paced_.empty() || done_) {
      pacing_ = false;
      return;
    }
    pacing_ = true;
    send(paced_.front());
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

  std::string endpoint_text() const { return config_.host + ":" + std::to_string(config_.port); }

  WebSocketClient::Impl* owner_;
  WebSocketConfig config_;  // a copy: the client's may change before the next attempt
  std::shared_ptr<TlsContext> tls_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  SocketBioState socket_state_;  // outlives ssl_: ~Session frees ssl_ first
  TrafficSecret server_secret_;  // filled in SSL_connect, wiped in on_tls
  Tls13RecordReader records_;
  bool own_records_ = false;  // records_ reads the records (take_over_tls_reads)
  SSL* ssl_ = nullptr;
  net::steady_timer ping_timer_;
  net::steady_timer deadline_timer_;
  net::steady_timer pace_timer_;
  std::chrono::steady_clock::time_point last_rx_{};

  // Received bytes: [begin_, end_) not yet handed on; need_ is the size the
  // unfinished frame at begin_ needs (0: unknown).
  std::unique_ptr<char[]> receive_;
  std::size_t receive_capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t need_ = 0;
  PaddedFrame fragments_{4096};  // a fragmented message, joined
  PaddedFrame inflated_{4096};   // a compressed message, inflated
  MessageInflater inflater_;
  bool deflate_ = false;
  bool in_message_ = false;
  bool compressed_ = false;

  std::string upgrade_key_;
  std::string outbox_;  // encoded frames (and the upgrade request) not yet written
  std::size_t sent_ = 0;
  bool write_waiting_ = false;
  std::deque<std::string> paced_;  // waiting for their turn (send_paced)
  std::chrono::milliseconds pace_interval_{0};
  bool pacing_ = false;
  Phase phase_ = Phase::kResolving;
  bool done_ = false;
};

}  // namespace

void WebSocketClient::Impl::start_session() {
  pending_open = false;
  if (!tls_context || tls_context_ca_file != config.ca_file) {
    tls_context.reset();
    auto tls = std::make_shared<TlsContext>();
    std::string error;
    ERR_clear_error();
    tls->ctx = SSL_CTX_new(TLS_client_method());
    if (tls->ctx == nullptr) {
      error = take_ssl_error();
    } else {
      SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, nullptr);
      SSL_CTX_set_mode(tls->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      // No read-ahead: the socket BIO buffers (see SocketBioState), and
      // OpenSSL stops at the end of the handshake's last record, where
      // Tls13RecordReader takes over.
      SSL_CTX_set_keylog_callback(tls->ctx, on_keylog_line);
      const int ok = config.ca_file.empty() ? SSL_CTX_set_default_verify_paths(tls->ctx)
                                            : SSL_CTX_load_verify_locations(tls->ctx, config.ca_file.c_str(), nullptr);
      if (ok != 1) {
        error = take_ssl_error();
        if (error.empty()) error = "cannot load";
      }
    }
    if (!error.empty()) {
      // Reported as a TLS failure of this attempt, through the same path as
      // every other failure, so that the caller's backoff applies.
      const std::string detail = "CA store " + (config.ca_file.empty() ? "(system)" : config.ca_file) + ": " + error;
      pending_open = true;  // busy() until on_close
      net::post(ioc, [weak = weak_from_this(), detail] {
        auto self = weak.lock();
        if (!self || !self->pending_open) return;
        self->pending_open = false;
        if (self->handlers.on_close) self->handlers.on_close(WsCloseReason::kTlsHandshake, detail);
      });
      return;
    }
    tls_context = std::move(tls);
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
  impl_->session->send(message);
  return true;
}

bool WebSocketClient::send_text_paced(std::vector<std::string> messages, std::chrono::milliseconds interval) {
  if (!impl_->session || !impl_->session->open()) return false;
  if (interval.count() <= 0) {
    for (auto& m : messages) impl_->session->send(m);
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
bool WebSocketClient::reads_own_tls_records() const noexcept {
  return impl_->session && impl_->session->reads_own_records();
}
bool WebSocketClient::busy() const noexcept { return impl_->pending_open || impl_->session != nullptr; }
const WebSocketConfig& WebSocketClient::config() const noexcept { return impl_->config; }
WebSocketConfig& WebSocketClient::mutable_config() noexcept { return impl_->config; }

}  // namespace tickflow
