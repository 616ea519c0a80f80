// bench/live_ingest_server.cc: see live_ingest_server.h.
#include "bench/live_ingest_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "feeds/websocket_frame.h"
#include "feeds/websocket_handshake.h"

namespace tickflow::bench {
namespace {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string ssl_error() {
  char buf[256];
  const unsigned long e = ERR_get_error();
  if (e == 0) return std::strerror(errno);
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// One accepted connection in the child, non-blocking after the upgrade.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;       // client bytes not yet parsed as frames
  std::string replies;  // pongs / close to send at the next frame boundary
  bool closed = false;  // client sent close (or the stream ended)

  bool wait(short events, int timeout_ms) const {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }

  // Sends raw bytes (TLS records already made) on the non-blocking socket.
  bool send_all(const char* p, std::size_t n) const {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w > 0) {
        p += w;
        n -= static_cast<std::size_t>(w);
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wait(POLLOUT, 1000);
      } else {
        return false;
      }
    }
    return true;
  }

  // Writes all of [p, p + n), in SSL_write calls of at most 1 MiB.
  bool write_all(const char* p, std::size_t n) {
    while (n > 0) {
      const int w = SSL_write(ssl, p, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
      if (w > 0) {
        p += w;
        n -= static_cast<std::size_t>(w);
        continue;
      }
      const int e = SSL_get_error(ssl, w);
      if (e == SSL_ERROR_WANT_WRITE) {
        wait(POLLOUT, 1000);
      } else if (e == SSL_ERROR_WANT_READ) {
        wait(POLLIN, 1000);
      } else {
        return false;
      }
    }
    return true;
  }

  bool flush_replies() {
    if (replies.empty()) return true;
    const bool ok = write_all(replies.data(), replies.size());
    replies.clear();
    return ok;
  }

  // Parses complete client frames (masked): pings get pongs, close a close.
  // A header RFC 6455 forbids ends the connection.
  void parse() {
    std::size_t at = 0;
    for (;;) {
      WsFrameHeader h;
      const auto* p = reinterpret_cast<const unsigned char*>(in.data()) + at;
      const WsDecode decoded = decode_ws_frame_header(p, in.size() - at, h);
      if (decoded == WsDecode::kNeedMore) break;
      if (decoded == WsDecode::kInvalid) {
        closed = true;
        at = in.size();
        break;
      }
      if (in.size() - at < h.header_bytes + h.payload_bytes) break;
      std::string payload = in.substr(at + h.header_bytes, h.payload_bytes);
      if (h.masked)
        for (std::size_t i = 0; i < payload.size(); ++i)
          payload[i] = static_cast<char>(payload[i] ^ static_cast<char>(h.mask_key >> (8 * (i & 3))));
      if (h.opcode == WsOpcode::kPing || h.opcode == WsOpcode::kClose) {
        replies.push_back(static_cast<char>(h.opcode == WsOpcode::kPing ? 0x8a : 0x88));
        replies.push_back(static_cast<char>(std::min<std::size_t>(payload.size(), 125)));
        replies.append(payload, 0, 125);
        if (h.opcode == WsOpcode::kClose) closed = true;
      }
      at += h.header_bytes + h.payload_bytes;
    }
    in.erase(0, at);
  }

  // Reads what the client sent, without blocking. False: the stream ended.
  bool service_reads() {
    char buf[16384];
    for (;;) {
      const int r = SSL_read(ssl, buf, sizeof buf);
      if (r > 0) {
        in.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      const int e = SSL_get_error(ssl, r);
      parse();
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return !closed;
      return false;
    }
  }
};

}  // namespace

ReplayServer::ReplayServer(const LiveFrames& frames, ReplayOptions options)
    : frames_(frames), options_(std::move(options)) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      options_.cert_dir + "/key.pem -out " + options_.cert_dir + "/cert.pem >" + options_.cert_dir +
      "/openssl.log 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("live_ingest: openssl could not make a certificate");
  for (std::size_t i = 0; i < frames_.venues.size(); ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error(std::string("live_ingest: listen: ") + std::strerror(errno));
    listeners_.push_back(fd);
    ports_.push_back(ntohs(addr.sin_port));
  }
}

ReplayServer::~ReplayServer() {
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
  }
  if (notify_fd_ >= 0) ::close(notify_fd_);
  if (go_fd_ >= 0) ::close(go_fd_);
  for (int fd : listeners_) ::close(fd);
}

void ReplayServer::start() {
  int pipe_fds[2], go_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0 || ::pipe2(go_fds, O_CLOEXEC) != 0)
    throw std::runtime_error("live_ingest: pipe");
  child_ = ::fork();
  if (child_ < 0) throw std::runtime_error("live_ingest: fork");
  if (child_ == 0) {
    ::close(pipe_fds[0]);
    ::close(go_fds[1]);
    child_main(pipe_fds[1], go_fds[0]);
  }
  ::close(pipe_fds[1]);
  ::close(go_fds[0]);
  notify_fd_ = pipe_fds[0];
  go_fd_ = go_fds[1];
  for (int fd : listeners_) ::close(fd);  // the child holds them
  listeners_.clear();
}

ReplayServer::Event ReplayServer::wait_event(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::size_t eol = pending_.find('\n');
    if (eol != std::string::npos) {
      const std::string line = pending_.substr(0, eol);
      pending_.erase(0, eol + 1);
      Event e;
      if (line == "R") {
        e.kind = EventKind::kReady;
      } else if (line.rfind("S ", 0) == 0) {
        e.kind = EventKind::kStarted;
        e.realtime_ns = std::stoll(line.substr(2));
      } else if (line == "D") {
        e.kind = EventKind::kDone;
      } else {
        e.kind = EventKind::kError;
        e.text = line.substr(std::min<std::size_t>(2, line.size()));
      }
      return e;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{notify_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(notify_fd_, buf, sizeof buf);
    if (n <= 0) return {EventKind::kError, 0, "the replay server exited"};
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

void ReplayServer::go() { (void)!::write(go_fd_, "g", 1); }

void ReplayServer::child_main(int notify_fd, int go_fd) {
  ::signal(SIGPIPE, SIG_IGN);
  std::mutex notify_mutex;
  auto notify = [&](const std::string& line) {
    std::lock_guard lock(notify_mutex);
    const std::string text = line + "\n";
    (void)!::write(notify_fd, text.data(), text.size());
  };
  auto fail = [&](const std::string& what) {
    notify("E " + what);
    ::_exit(1);
  };
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_file(ctx, ca_file().c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, (options_.cert_dir + "/key.pem").c_str(), SSL_FILETYPE_PEM) != 1)
    fail("TLS context: " + ssl_error());
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  const std::size_t n = listeners_.size();
  std::barrier sync(static_cast<std::ptrdiff_t>(n));
  std::atomic<std::int64_t> shift_ms{0}, start_ns{0};
  std::atomic<std::size_t> done{0};
  const bool paced = options_.pace > 0;

  auto serve = [&](std::size_t venue) {
    Conn c;
    // Accept, TLS, upgrade: blocking, with a generous deadline for the
    // client's start-up.
    pollfd p{listeners_[venue], POLLIN, 0};
    if (::poll(&p, 1, 120'000) <= 0) fail(frames_.venues[venue] + ": no connection within 120 s");
    c.fd = ::accept4(listeners_[venue], nullptr, nullptr, SOCK_CLOEXEC);
    if (c.fd < 0) fail("accept");
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{30, 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    c.ssl = SSL_new(ctx);
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_accept(c.ssl) != 1) fail(frames_.venues[venue] + ": TLS accept: " + ssl_error());
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const int r = SSL_read(c.ssl, buf, sizeof buf);
      if (r <= 0) fail(frames_.venues[venue] + ": no upgrade request");
      request.append(buf, static_cast<std::size_t>(r));
    }
    std::string lower = request;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    const std::size_t key_at = lower.find("sec-websocket-key:");
    if (key_at == std::string::npos) fail("upgrade without Sec-WebSocket-Key");
    std::size_t begin = key_at + 18;
    while (request[begin] == ' ') ++begin;
    const std::size_t end = request.find("\r\n", begin);
    const std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws_accept_for(request.substr(begin, end - begin)) + "\r\n\r\n";
    if (SSL_write(c.ssl, response.data(), static_cast<int>(response.size())) <= 0) fail("upgrade answer");
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);

    // Every venue connected: re-time from the wall clock now, render, start.
    sync.arrive_and_wait();
    if (venue == 0) {
      const std::int64_t now_ms = now_ns() / 1'000'000;
      if (paced) {
        // Rendering takes ~0.1 s per repeat here; start after it. The
        // least-lagged trade goes out 1 ms after its exchange time.
        const std::int64_t start_ms = now_ms + 500 + 150 * options_.repeats + (options_.gated ? options_.gate_ms : 0);
        start_ns = start_ms * 1'000'000;
        shift_ms = start_ms + frames_.min_lead_ms - 1;
      } else {
        // As bench/e2e: whole seconds, the first trade one second old.
        shift_ms = (now_ms / 1000 - 1 - frames_.first_trade_ms / 1000) * 1000;
      }
    }
    sync.arrive_and_wait();
    const RenderedStream stream =
        render_stream(frames_, static_cast<std::uint32_t>(venue), options_.repeats, shift_ms.load());
    sync.arrive_and_wait();
    if (venue == 0) {
      if (options_.gated) {
        notify("R");
        char g;
        if (::read(go_fd, &g, 1) != 1) fail("no go");
      }
      if (paced) {
        const std::int64_t at = start_ns.load();
        const timespec ts{static_cast<time_t>(at / 1'000'000'000), static_cast<long>(at % 1'000'000'000)};
        ::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr);
      } else {
        start_ns = now_ns();
      }
      notify("S " + std::to_string(start_ns.load()));
    }
    sync.arrive_and_wait();

    if (!paced && options_.frames_per_write <= 0) {
      if (!c.write_all(stream.bytes.data(), stream.bytes.size()))
        fail(frames_.venues[venue] + ": write: " + ssl_error());
    } else if (!paced && options_.records_per_send > 0) {
      // Records are made into a memory BIO, and every records_per_send of
      // them leave in one send().
      BIO* records = BIO_new(BIO_s_mem());
      SSL_set0_wbio(c.ssl, records);
      const auto step = static_cast<std::size_t>(options_.frames_per_write);
      std::size_t written = 0;
      auto send_records = [&] {
        char* data = nullptr;
        const long size = BIO_get_mem_data(records, &data);
        const bool ok = size <= 0 || c.send_all(data, static_cast<std::size_t>(size));
        (void)BIO_reset(records);
        return ok;
      };
      for (std::size_t i = 0; i < stream.frame_end.size(); i += step) {
        const std::uint64_t from = i == 0 ? 0 : stream.frame_end[i - 1];
        const std::uint64_t to = stream.frame_end[std::min(i + step, stream.frame_end.size()) - 1];
        if (!c.write_all(stream.bytes.data() + from, to - from))
          fail(frames_.venues[venue] + ": write: " + ssl_error());
        if (++written % static_cast<std::size_t>(options_.records_per_send) == 0 && !send_records())
          fail(frames_.venues[venue] + ": send: " + std::strerror(errno));
      }
      if (!send_records()) fail(frames_.venues[venue] + ": send: " + std::strerror(errno));
      // Replies (pongs, close) go straight to the socket again.
      BIO* socket_bio = BIO_new_socket(c.fd, BIO_NOCLOSE);
      SSL_set0_wbio(c.ssl, socket_bio);
    } else if (!paced) {
      const auto step = static_cast<std::size_t>(options_.frames_per_write);
      for (std::size_t i = 0; i < stream.frame_end.size(); i += step) {
        const std::uint64_t from = i == 0 ? 0 : stream.frame_end[i - 1];
        const std::uint64_t to = stream.frame_end[std::min(i + step, stream.frame_end.size()) - 1];
        if (!c.write_all(stream.bytes.data() + from, to - from))
          fail(frames_.venues[venue] + ": write: " + ssl_error());
      }
    } else {
      const std::int64_t start = start_ns.load();
      std::size_t i = 0;
      const std::size_t count = stream.frame_end.size();
      while (i < count) {
        const std::int64_t now = now_ns();
        std::size_t j = i;
        const auto due = [&](std::size_t k) {
          return start + static_cast<std::int64_t>(static_cast<double>(stream.due_ns[k]) / options_.pace);
        };
        while (j < count && due(j) <= now) ++j;
        if (j > i) {
          const std::uint64_t from = i == 0 ? 0 : stream.frame_end[i - 1];
          if (!c.write_all(stream.bytes.data() + from, stream.frame_end[j - 1] - from))
            fail(frames_.venues[venue] + ": write: " + ssl_error());
          i = j;
        } else {
          const std::int64_t wait = due(i) - now;
          const timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
          pollfd rp{c.fd, POLLIN, 0};
          ::ppoll(&rp, 1, &ts, nullptr);
        }
        if (!c.service_reads() || !c.flush_replies()) fail(frames_.venues[venue] + ": the client left mid-replay");
      }
    }
    if (done.fetch_add(1) + 1 == n) notify("D");
    // Afterwards: answer pings until the client closes.
    while (c.service_reads() && c.flush_replies()) c.wait(POLLIN, 1000);
    c.flush_replies();
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
    ::close(c.fd);
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(serve, i);
  for (std::thread& t : threads) t.join();
  ::_exit(0);
}

}  // namespace tickflow::bench
