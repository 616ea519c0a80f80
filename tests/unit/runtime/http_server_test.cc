// HttpServer over loopback, with libcurl as the client: handler replies,
// HEAD, 405, 500, keep-alive, the read timeout, the connection limit, bind
// errors and a prompt stop().
#include "runtime/http_server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One easy handle: consecutive requests reuse its connection.
class Client {
 public:
  Client() : curl_(curl_easy_init()) {
    curl_easy_setopt(curl_, CURLOPT_PROXY, "");  // never route loopback through a proxy from the environment
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Client::append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Client::append);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &headers);
  }
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Returns the status; body, headers and content_type hold the reply.
  long request(std::uint16_t port, const std::string& path, const char* method = "GET") {
    body.clear();
    headers.clear();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    const std::string m = method;
    curl_easy_setopt(curl_, CURLOPT_NOBODY, m == "HEAD" ? 1L : 0L);
    if (m == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, "x=1");
    } else if (m != "HEAD") {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    }
    const CURLcode rc = curl_easy_perform(curl_);
    EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    char* type = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &type);
    content_type = type ? type : "";
    return status;
  }

  long new_connections() const {
    long n = -1;
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &n);
    return n;
  }

  std::string body, headers, content_type;

 private:
  static std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  CURL* curl_;
};

// A raw TCP client, for clients that misbehave.
int connect_raw(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Waits up to `limit` for the peer to close: true when recv() sees EOF (or a reset).
bool closed_by_peer_within(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, 0) <= 0;
}

HttpResponse echo_handler(std::string_view method, std::string_view target) {
  if (target == "/boom") throw std::runtime_error("kaboom");
  if (target == "/missing") return {404, "text/plain; charset=utf-8", "no such thing\n"};
  HttpResponse r;
  r.content_type = "application/x-test";
  r.body = std::string(method) + " " + std::string(target) + "\n";
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }
};

TEST_F(HttpServerTest, GetReturnsHandlerStatusBodyAndContentType) {
  HttpServer server("127.0.0.1", 0, echo_handler);
  ASSERT_NE(server.port(), 0);
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/metrics?x=1"), 200);
  EXPECT_EQ(client.body, "GET /metrics?x=1\n");
  EXPECT_EQ(client.content_type, "application/x-test");
  EXPECT_NE(client.headers.find("Server: tickflow\r\n"), std::string::npos) << client.headers;
  EXPECT_NE(client.headers.find("Content-Length: 17\r\n"), std::string::npos) << client.headers;

  EXPECT_EQ(client.request(server.port(), "/missing"), 404);
  EXPECT_EQ(client.body, "no such thing\n");
}

TEST_F(HttpServerTest, HeadHasNoBodyButContentLength) {
  HttpServer server("127.0.0.1", 0, echo_handler);
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/health", "HEAD"), 200);
  EXPECT_EQ(client.body, "");
  EXPECT_NE(client.headers.find("Content-Length: 13\r\n"), std::string::npos) << client.headers;  // "HEAD /health\n"
  EXPECT_EQ(client.content_type, "application/x-test");
  // The connection is still in step: a GET on it works.
  EXPECT_EQ(client.request(server.port(), "/health"), 200);
  EXPECT_EQ(client.body, "GET /health\n");
  EXPECT_EQ(client.new_connections(), 0);
}

TEST_F(HttpServerTest, OtherMethodsGet405WithAllow) {
  std::atomic<int> calls{0};
  HttpServer server("127.0.0.1", 0, [&](std::string_view, std::string_view) {
    ++calls;
    return HttpResponse{};
  });
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/metrics", "POST"), 405);
  EXPECT_NE(client.headers.find("Allow: GET, HEAD\r\n"), std::string::npos) << client.headers;
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500WithMessage) {
  HttpServer server("127.0.0.1", 0, echo_handler);
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/boom"), 500);
  EXPECT_NE(client.body.find("kaboom"), std::string::npos) << client.body;
  EXPECT_EQ(client.request(server.port(), "/ok"), 200);  // the server lives on
}

TEST_F(HttpServerTest, KeepAliveReusesTheConnection) {
  HttpServer server("127.0.0.1", 0, echo_handler);
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/a"), 200);
  EXPECT_EQ(client.new_connections(), 1);
  EXPECT_EQ(client.request(server.port(), "/b"), 200);
  EXPECT_EQ(client.body, "GET /b\n");
  EXPECT_EQ(client.new_connections(), 0);
}

TEST_F(HttpServerTest, SilentClientIsClosedAfterTimeoutWhileOthersAreServed) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  const auto t0 = Clock::now();
  const int silent = connect_raw(server.port());
  Client client;
  EXPECT_EQ(client.request(server.port(), "/meanwhile"), 200);
  EXPECT_LT(Clock::now() - t0, 200ms);  // not held up by the silent one
  EXPECT_TRUE(closed_by_peer_within(silent, 3000ms));
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2000ms);
  ::close(silent);
}

TEST_F(HttpServerTest, TrickledRequestIsCutOffAtTheDeadline) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  const int slow = connect_raw(server.port());
  const auto t0 = Clock::now();
  bool closed = false;
  for (const char c : std::string("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")) {
    if (::send(slow, &c, 1, MSG_NOSIGNAL) != 1 || closed_by_peer_within(slow, 20ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed || closed_by_peer_within(slow, 1000ms));
  EXPECT_LT(Clock::now() - t0, 1500ms);
  ::close(slow);
}

TEST_F(HttpServerTest, OversizedHeaderIsRejected) {
  HttpServer server("127.0.0.1", 0, echo_handler);
  server.start();
  const int fd = connect_raw(server.port());
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  bool closed = false;
  while (!closed && ::poll(&p, 1, 2000) == 1) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      closed = true;
    else
      reply.append(buf, static_cast<std::size_t>(n));
  }
  // The server answers 431 and closes without waiting for more. (The close
  // may reset the connection with our unread bytes in its buffer, which can
  // cost the client the 431 on some stacks; on loopback it arrives.)
  EXPECT_TRUE(closed);
  EXPECT_TRUE(reply.empty() || reply.starts_with("HTTP/1.1 431")) << reply;
  ::close(fd);
}

TEST_F(HttpServerTest, AConnectionBeyondTheLimitClosesTheLeastRecentlyActiveOne) {
  HttpServerOptions options;
  options.max_connections = 2;
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  const int a = connect_raw(server.port());
  std::this_thread::sleep_for(20ms);
  const int b = connect_raw(server.port());
  std::this_thread::sleep_for(50ms);  // let the server accept both, in order
  const int c = connect_raw(server.port());
  EXPECT_TRUE(closed_by_peer_within(a, 1000ms));  // the oldest made room
  EXPECT_FALSE(closed_by_peer_within(b, 0ms));
  EXPECT_FALSE(closed_by_peer_within(c, 0ms));
  // The newcomer is served.
  const std::string request = "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(c, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  pollfd p{c, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  char buf[512];
  const ssize_t n = ::recv(c, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_TRUE(std::string(buf, static_cast<std::size_t>(n)).starts_with("HTTP/1.1 200")) << std::string(buf, n);
  const HttpServerStats stats = server.stats();
  EXPECT_EQ(stats.accepted, 3u);
  EXPECT_EQ(stats.evicted, 1u);
  EXPECT_EQ(stats.timed_out, 0u);
  ::close(a);
  ::close(b);
  ::close(c);
}

// `count` slowloris clients on their own thread: each connects, sends a
// partial request header, then trickles one more header byte every 100 ms
// and never finishes. With `reconnect`, a client the server closes connects
// again at once (hostile churn, runs until stop()); without, a closed client
// stays closed, and the thread ends once all are closed (or at stop()).
class Slowloris {
 public:
  struct Conn {
    int fd = -1;
    Clock::time_point opened, closed;  // closed: {} while open
  };

  Slowloris(std::uint16_t port, int count, bool reconnect) : port_(port), reconnect_(reconnect) {
    for (int i = 0; i < count; ++i) conns_.push_back(open_one());
    thread_ = std::thread([this] { run(); });
  }
  ~Slowloris() {
    stop();
    for (Conn& c : conns_) ::close(c.fd);
  }

  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Without reconnect: waits up to `limit` for the server to close every
  // client; true when it has. The thread has ended then.
  bool wait_all_closed(std::chrono::milliseconds limit) {
    for (const auto until = Clock::now() + limit; Clock::now() < until && closed_ < conns_.size();)
      std::this_thread::sleep_for(10ms);
    const bool all = closed_ == conns_.size();
    stop();
    return all;
  }
  // Any thread: clients the server has closed so far.
  std::size_t closed_count() const { return closed_.load(); }
  std::uint64_t reconnects() const { return reconnects_.load(); }
  // After stop() or wait_all_closed().
  const std::vector<Conn>& conns() const { return conns_; }

 private:
  Conn open_one() {
    Conn c;
    c.fd = connect_raw(port_);
    c.opened = Clock::now();
    const std::string partial = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    ::send(c.fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    return c;
  }

  // Notes the clients the server closed (reconnecting them if asked).
  void sweep() {
    std::vector<pollfd> fds;
    for (const Conn& c : conns_) fds.push_back({c.closed == Clock::time_point{} ? c.fd : -1, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 10);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char ch;
      if (::recv(fds[i].fd, &ch, 1, MSG_DONTWAIT) > 0) continue;  // an answer: not expected, not a close
      if (reconnect_) {
        ::close(conns_[i].fd);
        conns_[i] = open_one();
        ++reconnects_;
      } else {
        conns_[i].closed = Clock::now();
        ++closed_;
      }
    }
  }

  void run() {
    auto next = Clock::now() + 100ms;
    while (!done_ && closed_ < conns_.size()) {
      sweep();
      if (Clock::now() < next) continue;
      next += 100ms;
      for (const Conn& c : conns_)
        if (c.closed == Clock::time_point{}) ::send(c.fd, "a", 1, MSG_NOSIGNAL);
    }
  }

  std::uint16_t port_;
  bool reconnect_;
  std::vector<Conn> conns_;
  std::atomic<bool> done_{false};
  std::atomic<std::size_t> closed_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::thread thread_;
};

// Times one request on a fresh connection; the status goes to `status`.
std::chrono::milliseconds timed_request(std::uint16_t port, const std::string& path, long& status) {
  Client client;
  const auto t0 = Clock::now();
  status = client.request(port, path);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
}

// The hostile test of issue 15: 100 slow-header connections against the
// default budget of 64. /health and /metrics still answer at once, the
// oldest slow connections make room, the rest are cut off at the deadline
// however they trickle.
TEST_F(HttpServerTest, HealthAndMetricsAnswerWhile100SlowClientsHoldConnections) {
  HttpServerOptions options;
  options.read_timeout = 2000ms;
  ASSERT_EQ(options.max_connections, 64u);  // the default under test
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  Slowloris slow(server.port(), 100, /*reconnect=*/false);
  for (const auto until = Clock::now() + 2000ms; server.stats().accepted < 100 && Clock::now() < until;)
    std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server.stats().accepted, 100u);

  // A scraper: one keep-alive connection, two requests.
  auto scraper = std::make_unique<Client>();
  auto t0 = Clock::now();
  EXPECT_EQ(scraper->request(server.port(), "/health"), 200);
  EXPECT_EQ(scraper->body, "GET /health\n");
  EXPECT_LT(Clock::now() - t0, 500ms);
  t0 = Clock::now();
  EXPECT_EQ(scraper->request(server.port(), "/metrics"), 200);
  EXPECT_EQ(scraper->body, "GET /metrics\n");
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_EQ(scraper->new_connections(), 0);
  // 100 slow + the scraper on 64 places: the 37 oldest slow ones made room,
  // in the order they connected; nothing has timed out yet.
  std::this_thread::sleep_for(50ms);
  HttpServerStats stats = server.stats();
  EXPECT_EQ(stats.accepted, 101u);
  EXPECT_EQ(stats.evicted, 37u);
  EXPECT_EQ(stats.timed_out, 0u);
  EXPECT_EQ(slow.closed_count(), 37u);

  // The scraper leaves (not a timeout); the 63 slow survivors are cut off
  // at their deadline, 2 s after they connected, for all their trickling.
  scraper.reset();
  ASSERT_TRUE(slow.wait_all_closed(4000ms)) << slow.closed_count() << " of 100 closed";
  for (std::size_t i = 0; i < 37; ++i) {
    // The oldest, in the order they connected; each within ~a second.
    const auto lived = slow.conns()[i].closed - slow.conns()[i].opened;
    EXPECT_LT(lived, 1500ms) << "slow client " << i;
  }
  for (std::size_t i = 37; i < 100; ++i) {
    const auto lived = slow.conns()[i].closed - slow.conns()[i].opened;
    EXPECT_GE(lived, 1900ms) << "slow client " << i;
    EXPECT_LT(lived, 3500ms) << "slow client " << i;
  }
  stats = server.stats();
  EXPECT_EQ(stats.accepted, 101u);
  EXPECT_EQ(stats.evicted, 37u);
  EXPECT_EQ(stats.timed_out, 63u);
  // And the server still answers.
  long status = 0;
  EXPECT_LT(timed_request(server.port(), "/health", status), 500ms);
  EXPECT_EQ(status, 200);
}

// The same pressure, but every slow client the server closes reconnects at
// once: fresh connections still get their answer within the bound.
TEST_F(HttpServerTest, FreshConnectionsAreAnsweredWhileSlowClientsChurn) {
  HttpServerOptions options;
  options.read_timeout = 1000ms;
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  Slowloris slow(server.port(), 100, /*reconnect=*/true);
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 10; ++i) {
    long status = 0;
    const auto took = timed_request(server.port(), i % 2 == 0 ? "/health" : "/metrics", status);
    EXPECT_EQ(status, 200) << "request " << i;
    EXPECT_LT(took, 500ms) << "request " << i;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(slow.reconnects(), 36u);  // the churn really happened
  EXPECT_GT(server.stats().evicted, 36u);
}

TEST_F(HttpServerTest, ZeroConnectionsClosesEveryConnection) {
  HttpServerOptions options;
  options.max_connections = 0;
  HttpServer server("127.0.0.1", 0, echo_handler, options);
  server.start();
  const int a = connect_raw(server.port());
  EXPECT_TRUE(closed_by_peer_within(a, 1000ms));
  ::close(a);
}

TEST_F(HttpServerTest, PortInUseThrowsNamingThePort) {
  HttpServer first("127.0.0.1", 0, echo_handler);
  const std::string where = "127.0.0.1:" + std::to_string(first.port());
  try {
    HttpServer second("127.0.0.1", first.port(), echo_handler);
    FAIL() << "bound a port already in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

TEST_F(HttpServerTest, BadAddressThrows) {
  try {
    HttpServer server("not-an-address", 9, echo_handler);
    FAIL() << "accepted a bad address";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not-an-address:9"), std::string::npos) << e.what();
  }
}

TEST_F(HttpServerTest, StopIsPromptWithAClientConnected) {
  HttpServer server("127.0.0.1", 0, echo_handler);  // default 5 s timeout
  server.start();
  Client client;
  EXPECT_EQ(client.request(server.port(), "/x"), 200);  // an idle keep-alive connection
  const int raw = connect_raw(server.port());
  const std::string partial = "GET / HTTP/1.1\r\nHost:";
  ASSERT_EQ(::send(raw, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
  std::this_thread::sleep_for(50ms);
  const auto t0 = Clock::now();
  server.stop();
  EXPECT_LT(Clock::now() - t0, 1000ms);
  EXPECT_TRUE(closed_by_peer_within(raw, 1000ms));
  server.stop();  // idempotent
  ::close(raw);
}

TEST_F(HttpServerTest, StopWithoutStartAndDestructorAreSafe) {
  HttpServer never_started("127.0.0.1", 0, echo_handler);
  never_started.stop();
  never_started.start();  // after stop: does nothing
  {
    HttpServer running("127.0.0.1", 0, echo_handler);
    running.start();
  }  // destructor stops
}

}  // namespace
}  // namespace tickflow
