#include "sinks/influx_http.h"

#include <sys/stat.h>

#include <cstdio>

#include <curl/curl.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace tickflow {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::string url_encode(CURL* curl, std::string_view s) {
  char* escaped = curl_easy_escape(curl, s.data(), static_cast<int>(s.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// gzip (RFC 1952) of `in` into `out`, at the fastest level: on loopback the
// CPU is the cost, not the bytes.
void gzip_into(std::string_view in, std::string& out) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip of a write body failed");
}

}  // namespace

InfluxCredentials load_influx_credentials(const std::string& file) {
  InfluxCredentials c;
  if (!file.empty()) {
    // Like ssh with a private key: a file others can read is a leaked
    // password, refused before it is read (every command that reads one:
    // run, replay, backtest).
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      throw std::runtime_error("the InfluxDB credentials file '" + file + "' is accessible by group or others (mode " +
                               mode + "); it must be readable only by its owner: chmod 600 " + file);
    }
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read the InfluxDB credentials file '" + file + "'");
    std::string first, second;
    std::getline(in, first);
    std::getline(in, second);
    first = trim(first);
    second = trim(second);
    if (const auto colon = first.find(':'); colon != std::string::npos && second.empty()) {
      c.user = first.substr(0, colon);
      c.password = first.substr(colon + 1);
    } else {
      c.user = first;
      c.password = second;
    }
    if (c.user.empty())
      throw std::runtime_error("the InfluxDB credentials file '" + file +
                               "' holds no user name (expected 'user:password' or 'user' and 'password' on two lines)");
    return c;
  }
  if (const char* user = std::getenv("INFLUX_USERNAME")) c.user = user;
  if (const char* password = std::getenv("INFLUX_PASSWORD")) c.password = password;
  return c;
}

struct InfluxHttp::Curl {
  CURL* easy = nullptr;
  curl_slist* plain_headers = nullptr;
  curl_slist* gzip_headers = nullptr;
  std::string response;
  std::string write_url_prefix;  // ".../write?db=<db>"
  std::string query_url;
  std::string ping_url;
};

InfluxHttp::InfluxHttp(InfluxEndpoint endpoint) : endpoint_(std::move(endpoint)), curl_(std::make_unique<Curl>()) {
  if (endpoint_.url.rfind("http://", 0) != 0 && endpoint_.url.rfind("https://", 0) != 0)
    throw std::invalid_argument("InfluxDB URL must start with http:// or https://, got '" + endpoint_.url + "'");
  while (!endpoint_.url.empty() && endpoint_.url.back() == '/') endpoint_.url.pop_back();
  global_init_once();
  Curl& c = *curl_;
  c.easy = curl_easy_init();
  if (c.easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  // "Expect:" turns off curl's 100-continue handshake for bodies over 1 MiB,
  // an extra round trip per batch.
  c.plain_headers = curl_slist_append(nullptr, "Content-Type: text/plain; charset=utf-8");
  c.plain_headers = curl_slist_append(c.plain_headers, "Expect:");
  c.gzip_headers = curl_slist_append(nullptr, "Content-Type: text/plain; charset=utf-8");
  c.gzip_headers = curl_slist_append(c.gzip_headers, "Content-Encoding: gzip");
  c.gzip_headers = curl_slist_append(c.gzip_headers, "Expect:");

  curl_easy_setopt(c.easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM-based DNS timeouts in a threaded process
  curl_easy_setopt(c.easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c.easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(endpoint_.connect_timeout.count()));
  curl_easy_setopt(c.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint_.request_timeout.count()));
  curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, &append_to_string);
  curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c.response);
  // TLS peers are verified (curl's default, stated here so nobody turns it off).
  curl_easy_setopt(c.easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c.easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!endpoint_.credentials.user.empty()) {
    curl_easy_setopt(c.easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(c.easy, CURLOPT_USERNAME, endpoint_.credentials.user.c_str());
    curl_easy_setopt(c.easy, CURLOPT_PASSWORD, endpoint_.credentials.password.c_str());
  }
  c.write_url_prefix = endpoint_.url + "/write?db=" + url_encode(c.easy, endpoint_.database);
  c.query_url = endpoint_.url + "/query?db=" + url_encode(c.easy, endpoint_.database);
  c.ping_url = endpoint_.url + "/ping";
}

InfluxHttp::~InfluxHttp() {
  if (curl_ == nullptr) return;
  curl_slist_free_all(curl_->plain_headers);
  curl_slist_free_all(curl_->gzip_headers);
  if (curl_->easy != nullptr) curl_easy_cleanup(curl_->easy);
}

HttpResult InfluxHttp::perform(const std::string& url, const char* body, std::size_t size, bool gzipped) {
  Curl& c = *curl_;
  c.response.clear();
  curl_easy_setopt(c.easy, CURLOPT_URL, url.c_str());
  if (body != nullptr) {
    curl_easy_setopt(c.easy, CURLOPT_POST, 1L);
    curl_easy_setopt(c.easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, gzipped ? c.gzip_headers : c.plain_headers);
  } else {
    curl_easy_setopt(c.easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, nullptr);
  }
  HttpResult result;
  const CURLcode rc = curl_easy_perform(c.easy);
  curl_easy_getinfo(c.easy, CURLINFO_TOTAL_TIME, &result.seconds);
  if (rc != CURLE_OK) {
    result.status = 0;
    result.error = curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &result.status);
  result.body = std::move(c.response);
  return result;
}

HttpResult InfluxHttp::write(std::string_view rp, std::string_view precision, std::string_view lines) {
  std::string url = curl_->write_url_prefix;
  if (!rp.empty()) url += "&rp=" + url_encode(curl_->easy, rp);
  if (!precision.empty()) url += "&precision=" + std::string(precision);
  if (endpoint_.gzip) {
    gzip_into(lines, gzip_buffer_);
    return perform(url, gzip_buffer_.data(), gzip_buffer_.size(), true);
  }
  return perform(url, lines.data(), lines.size(), false);
}

HttpResult InfluxHttp::query(std::string_view statement, std::string_view epoch, std::string_view accept) {
  std::string url = curl_->query_url;
  if (!epoch.empty()) url += "&epoch=" + std::string(epoch);
  const std::string form = "q=" + url_encode(curl_->easy, statement);
  curl_easy_setopt(curl_->easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
  Curl& c = *curl_;
  c.response.clear();
  curl_easy_setopt(c.easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.easy, CURLOPT_POST, 1L);
  curl_easy_setopt(c.easy, CURLOPT_COPYPOSTFIELDS, form.c_str());
  curl_slist* form_headers = curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
  if (!accept.empty()) form_headers = curl_slist_append(form_headers, ("Accept: " + std::string(accept)).c_str());
  curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, form_headers);
  HttpResult result;
  const CURLcode rc = curl_easy_perform(c.easy);
  curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(form_headers);
  curl_easy_getinfo(c.easy, CURLINFO_TOTAL_TIME, &result.seconds);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &result.status);
  result.body = std::move(c.response);
  return result;
}

HttpResult InfluxHttp::ping() { return perform(curl_->ping_url, nullptr, 0, false); }

std::string influx_error_text(std::string_view body) {
  const std::string_view key = "\"error\":\"";
  const auto at = body.find(key);
  if (at == std::string_view::npos) {
    std::string plain(body);
    while (!plain.empty() && (plain.back() == '\n' || plain.back() == '\r')) plain.pop_back();
    return plain;
  }
  std::string out;
  for (std::size_t i = at + key.size(); i < body.size(); ++i) {
    const char ch = body[i];
    if (ch == '"') break;
    if (ch == '\\' && i + 1 < body.size()) {
      const char next = body[++i];
      out += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      continue;
    }
    out += ch;
  }
  return out;
}

}  // namespace tickflow
