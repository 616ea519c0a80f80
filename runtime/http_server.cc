// runtime/http_server.cc
//
// One io_context, run by one thread. The acceptor and every Session live on
// that thread and are touched only there (stop() posts its work to it), so
// nothing here needs a lock. A Session is owned by the completion handlers
// of its pending operation (shared_from_this); when it stops re-arming, it
// dies and leaves the registry. Closing a socket completes its pending
// operations with operation_aborted, which is how stop() winds everything
// down: once nothing is pending, run() returns and the thread ends.
//
// The connection budget: open sessions sit in a list, least recently active
// first (a session moves to the back whenever it starts waiting for a
// request). A connection accepted at the limit closes the front one, so
// slow clients, which are old by the time a scraper arrives, make room for
// it. A closed session leaves the list at once (its object lives on until
// its pending operation completes), so the list holds exactly the open ones.
#include "runtime/http_server.h"

#include <pthread.h>

#include <atomic>
#include <exception>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace tickflow {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string endpoint_name(const std::string& address, std::uint16_t port) {
  return address + ":" + std::to_string(port);
}

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

HttpResponse plain(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

class Session;

// The server's state; HttpServer::Impl is this under the name the header
// declares (a private nested name, which Session could not use).
struct Server {
  Server(std::string address, std::uint16_t requested_port, HttpHandler h, HttpServerOptions o)
      : handler(std::move(h)), options(o), acceptor(ioc) {
    const std::string where = endpoint_name(address, requested_port);
    beast::error_code ec;
    const net::ip::address ip = net::ip::make_address(address, ec);
    if (ec)
      throw std::runtime_error("http server: cannot listen on " + where + ": invalid address (" + ec.message() + ")");
    const tcp::endpoint endpoint(ip, requested_port);
    // Each step can fail on its own (EADDRINUSE comes from bind, EACCES from
    // bind below 1024); name the step so the operator knows what to fix.
    const auto check = [&](const char* step) {
      if (ec) throw std::runtime_error("http server: cannot " + std::string(step) + " " + where + ": " + ec.message());
    };
    acceptor.open(endpoint.protocol(), ec);
    check("open a socket for");
    // Lets a restarted process rebind while old connections sit in TIME_WAIT;
    // on Linux it does not let two listeners share the port.
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    check("set SO_REUSEADDR on");
    acceptor.bind(endpoint, ec);
    check("bind");
    acceptor.listen(net::socket_base::max_listen_connections, ec);
    check("listen on");
    port = acceptor.local_endpoint(ec).port();
    check("read the bound port of");
  }

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void close_all();

  // Declared before the io_context: sessions destroyed while it is torn down
  // still find their registry. Open sessions, least recently active first.
  std::list<Session*> sessions;
  struct Counts {
    std::atomic<std::uint64_t> accepted{0}, evicted{0}, timed_out{0};
  } counts;
  HttpHandler handler;
  HttpServerOptions options;
  net::io_context ioc{1};  // one thread: lets asio skip its internal locking
  tcp::acceptor acceptor;
  net::steady_timer accept_backoff{ioc};
  std::uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), place_(server_.sessions.insert(server_.sessions.end(), this)) {}
  ~Session() { unlist(); }

  void start() { read_request(); }

  // Idempotent: the completion handler of the operation it cancels calls it
  // again.
  void close() {
    unlist();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // Closed to make room for a newer connection.
  void evict() {
    bump(server_.counts.evicted);
    close();
  }

 private:
  using Response = http::response<http::string_body>;

  static void bump(std::atomic<std::uint64_t>& count) { count.fetch_add(1, std::memory_order_relaxed); }

  void unlist() {
    if (!listed_) return;
    server_.sessions.erase(place_);
    listed_ = false;
  }

  void read_request() {
    if (server_.stopping.load(std::memory_order_relaxed)) return close();
    // Now the most recently active: the last to be evicted.
    if (listed_) server_.sessions.splice(server_.sessions.end(), server_.sessions, place_);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(server_.options.max_body_bytes));
    // One deadline for the whole request: a client that trickles bytes
    // (slowloris) is cut off as surely as one that sends nothing.
    stream_.expires_after(server_.options.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit) return reply_error(431, "request header fields too large\n");
    if (ec == http::error::body_limit) return reply_error(413, "request body too large\n");
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return close();
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() && !stopping())
      return reply_error(400, "bad request\n");
    if (ec == beast::error::timeout) bump(server_.counts.timed_out);
    if (ec) return close();  // timeout, reset, eviction or stop()
    respond(parser_->get());
  }

  bool stopping() const { return server_.stopping.load(std::memory_order_relaxed); }

  void respond(const http::request<http::string_body>& request) {
    const http::verb method = request.method();
    const bool keep_alive = request.keep_alive();
    const bool not_allowed = method != http::verb::get && method != http::verb::head;
    HttpResponse reply;
    if (not_allowed) {
      reply.status = 405;
      reply.body = "method not allowed\n";
    } else {
      try {
        reply = server_.handler(to_std(request.method_string()), to_std(request.target()));
        if (reply.status < 100 || reply.status > 599) {
          reply = plain(500, "handler returned HTTP status " + std::to_string(reply.status) + "\n");
        }
      } catch (const std::exception& e) {
        reply = plain(500, std::string("internal error: ") + e.what() + "\n");
      } catch (...) {
        reply = plain(500, "internal error: unknown exception\n");
      }
    }
    response_.emplace(make_response(std::move(reply), request.version(), keep_alive, method == http::verb::head));
    if (not_allowed) response_->set(http::field::allow, "GET, HEAD");
    write();
  }

  // Parsing failed: the connection's framing is lost, so answer and close.
  void reply_error(int status, const char* body) {
    if (stopping()) return close();
    response_.emplace(make_response(plain(status, body), 11, false, false));
    write();
  }

  static Response make_response(HttpResponse reply, unsigned version, bool keep_alive, bool head) {
    Response response;
    response.version(version);
    response.result(static_cast<unsigned>(reply.status));
    response.set(http::field::server, "tickflow");
    response.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) response.set(name, value);
    response.keep_alive(keep_alive);
    if (head) {
      response.content_length(reply.body.size());  // what GET would send
    } else {
      response.body() = std::move(reply.body);
      response.prepare_payload();
    }
    return response;
  }

  void write() {
    // The same deadline bounds a client that stops reading its response.
    stream_.expires_after(server_.options.read_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec == beast::error::timeout) bump(server_.counts.timed_out);
    if (ec) return close();
    if (!response_->keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return close();
    }
    response_.reset();
    read_request();
  }

  Server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Response> response_;
  std::list<Session*>::iterator place_;  // in server_.sessions while listed_
  bool listed_ = true;
};

void Server::accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void Server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping.load(std::memory_order_relaxed) || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors or similar: retrying at once would spin this thread.
    accept_backoff.expires_after(std::chrono::milliseconds(50));
    accept_backoff.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping.load(std::memory_order_relaxed)) accept();
    });
    return;
  }
  counts.accepted.fetch_add(1, std::memory_order_relaxed);
  if (options.max_connections == 0) {
    beast::error_code ignored;
    socket.close(ignored);  // no budget at all: the client sees the close at once
  } else {
    // At the limit: the least recently active connection makes room. It is
    // the one most likely to be a slow client, and the newcomer is most
    // likely to send its request now.
    bool evicted = false;
    while (sessions.size() >= options.max_connections) {
      sessions.front()->evict();
      evicted = true;
    }
    socket.set_option(tcp::no_delay(true), ec);  // small responses: do not wait for Nagle
    std::make_shared<Session>(*this, std::move(socket))->start();
    if (evicted) {
      // At the limit, one accept per millisecond: clients that reconnect
      // as soon as they are evicted would otherwise feed a storm of
      // accepts that evicts a newcomer before its request is read. The
      // pause lets this thread read what the connections already sent.
      accept_backoff.expires_after(std::chrono::milliseconds(1));
      accept_backoff.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !stopping.load(std::memory_order_relaxed)) accept();
      });
      return;
    }
  }
  accept();
}

void Server::close_all() {
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_backoff.cancel();
  // close() takes the session off the list (the object itself lives until
  // its cancelled operation completes).
  while (!sessions.empty()) sessions.front()->close();
}

}  // namespace

struct HttpServer::Impl : Server {
  using Server::Server;
};

HttpServer::HttpServer(std::string bind_address, std::uint16_t port, HttpHandler handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(bind_address), port, std::move(handler), options)) {}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const noexcept { return impl_->port; }

HttpServerStats HttpServer::stats() const noexcept {
  const auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {get(impl_->counts.accepted), get(impl_->counts.evicted), get(impl_->counts.timed_out)};
}

void HttpServer::start() {
  if (impl_->stopping.load() || impl_->started.exchange(true)) return;
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "tf-http");
    // A handler that throws is a bug here (the user's handler is wrapped);
    // keep serving rather than take the process down with the thread.
    for (;;) {
      try {
        impl->ioc.run();
        return;
      } catch (...) {
      }
    }
  });
}

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  if (impl_->thread.joinable()) {
    net::post(impl_->ioc, [impl = impl_.get()] { impl->close_all(); });
    impl_->thread.join();
  } else {
    impl_->close_all();  // never started: nothing runs, close here
  }
}

}  // namespace tickflow
