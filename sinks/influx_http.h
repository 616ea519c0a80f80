// sinks/influx_http.h
//
// InfluxHttp: the one HTTP connection the writer thread keeps to an
// InfluxDB 1.x server, over libcurl. It knows the 1.x API's three calls
// (POST /write, POST /query, GET /ping) and nothing about batching or
// retries: that policy is InfluxSink's (influx_sink.h), and the status
// codes' meanings are in ../shared/docs/influxdb.md.
//
// Promises:
//  * one curl easy handle, reused, so every request after the first rides
//    the same keep-alive TCP connection;
//  * credentials are handed to curl (HTTP basic auth) and never appear in a
//    URL, a log line or an error message;
//  * a transport failure (refused, reset, timeout) is a result with
//    status 0 and the curl error text, never an exception;
//  * with gzip on, /write bodies are sent gzip-compressed
//    (Content-Encoding: gzip, verified to be accepted by 1.x).
//
// Thread safety: one thread owns an InfluxHttp (curl easy handles are not
// shareable). Construct after curl_global_init, which InfluxHttp does once
// per process itself.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace tickflow {

struct InfluxCredentials {
  std::string user;  // empty: no authentication
  std::string password;
};

// Reads credentials the way the security rules require: from a file
// ("user:password" on its first line, or "user" and "password" on two lines)
// when `file` is not empty, else from the environment (INFLUX_USERNAME and
// INFLUX_PASSWORD; both unset means no authentication). Throws
// std::runtime_error naming the file (never its contents) when it cannot be
// read or parsed, or when group or others may access it (chmod 600, as ssh
// asks of a private key).
InfluxCredentials load_influx_credentials(const std::string& file);

struct InfluxEndpoint {
  std::string url = "http://127.0.0.1:8086";  // scheme://host:port, no path
  std::string database = "significant_trades";
  InfluxCredentials credentials;
  bool gzip = false;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};
};

struct HttpResult {
  long status = 0;     // HTTP status; 0 when the request never got a response
  std::string body;    // response body (InfluxDB error JSON, query results)
  std::string error;   // transport error text when status == 0
  double seconds = 0;  // total time of the request

  bool transport_failed() const noexcept { return status == 0; }
};

class InfluxHttp {
 public:
  // Throws std::invalid_argument for a URL that is not http:// or https://.
  explicit InfluxHttp(InfluxEndpoint endpoint);
  ~InfluxHttp();
  InfluxHttp(const InfluxHttp&) = delete;
  InfluxHttp& operator=(const InfluxHttp&) = delete;

  // POST /write?db=<database>&rp=<rp>&precision=<precision> with `lines`
  // (newline-separated line protocol). `rp` may be empty (the default RP).
  HttpResult write(std::string_view rp, std::string_view precision, std::string_view lines);

  // POST /query?db=<database> with q=<statement> (form-encoded): for
  // CREATE DATABASE / CREATE|ALTER RETENTION POLICY, the backtester's
  // SELECTs (strategy/influx_bar_source.h) and tests. `accept` sets the
  // Accept header ("application/csv": 1.x answers in CSV); empty: JSON.
  HttpResult query(std::string_view statement, std::string_view epoch = {}, std::string_view accept = {});

  // GET /ping: 204 when the server is up.
  HttpResult ping();

  const InfluxEndpoint& endpoint() const noexcept { return endpoint_; }

 private:
  HttpResult perform(const std::string& url, const char* body, std::size_t size, bool gzipped);

  InfluxEndpoint endpoint_;
  struct Curl;
  std::unique_ptr<Curl> curl_;
  std::string gzip_buffer_;  // reused compression output
};

// The error text of an InfluxDB JSON error body ({"error":"..."}), or the
// body itself (503 bodies are plain text).
std::string influx_error_text(std::string_view body);

}  // namespace tickflow
