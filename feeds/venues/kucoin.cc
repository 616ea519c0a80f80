// feeds/venues/kucoin.cc
//
// KuCoin spot ([markets] KUCOIN: "BTC-USDT") and futures (KUCOIN_FUTURES:
// "XBTUSDTM"); both name markets KUCOIN:<symbol> (feeds/kucoin_parser.cc).
//
// Endpoint: none fixed. Before every connection attempt the bootstrap POSTs
// to the venue's bullet-public URL (spot https://api.kucoin.com/api/v1/
// bullet-public, futures https://api-futures.kucoin.com/api/v1/
// bullet-public; LiveFeedConfig::bootstrap_url replaces it) and connects to
// data.instanceServers[0].endpoint + "?token=" + data.token, pinging every
// instanceServers[0].pingInterval ms. A token is good for one connection
// attempt's lifetime, so a reconnect asks again. On the feed thread, libcurl,
// at most connect_timeout, TLS verified (with config.ca_file when set).
//
// Subscriptions: {"id":"<n>","type":"subscribe","topic":"/market/match:A,B","response":true}.
// Spot takes up to 100 symbols per topic message; futures one symbol per
// /contractMarket/execution:<symbol> message (as aggr-server sends them).
// KuCoin allows 100 client messages per 10 s per connection: paced at one
// per 110 ms. At most 400 topics per connection (max_topics; the runtime
// splits longer lists).
//
// Keepalive: {"id":"tickflow","type":"ping"} every pingInterval (18 s
// today); KuCoin answers {"type":"pong"} (a control frame). KuCoin sends no
// server pings.
//
// Liquidations: none. Spot has no liquidations; KuCoin futures publishes no
// public liquidation stream (its liquidation data is private), so
// default_channels never adds one and `liquidations` changes nothing.
//
// Ids: `sequence`, unique and increasing per symbol but skipping (the book
// moves it too): de-duplication works, gaps are time gaps.
#include <curl/curl.h>
#include <simdjson.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kSymbolsPerTopic = 100;  // KuCoin's limit for one spot topic message

std::vector<std::string> spot_channels(bool) { return {"match"}; }
std::vector<std::string> futures_channels(bool) { return {"execution"}; }

void check_channels(const std::vector<std::string>& channels, std::string_view only, std::string_view venue) {
  for (const auto& channel : channels)
    if (channel != only)
      throw std::invalid_argument(std::string(venue) + ": channel '" + channel + "' is not followed (only " +
                                  std::string(only) + ")");
}

std::string subscribe_message(std::size_t id, const std::string& topic) {
  return R"({"id":")" + std::to_string(id) + R"(","type":"subscribe","topic":")" + topic + R"(","response":true})";
}

void common(const LiveFeedConfig& config, LiveFeedPlan& plan, std::string_view host) {
  // Replaced by the bootstrap before the first connection; kept so that a
  // failed bootstrap fails at this address rather than at none.
  plan.host = std::string(host);
  plan.port = 443;
  plan.target = config.path.empty() ? "/" : config.path;
  plan.ping_interval = std::chrono::milliseconds{18'000};
  plan.ping_text = R"({"id":"tickflow","type":"ping"})";
  plan.subscribe_interval = std::chrono::milliseconds{110};
}

std::string bootstrap(const LiveFeedConfig& config, LiveFeedPlan& plan);

void spot_plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  check_channels(channels, "match", "KuCoin spot");
  common(config, plan, "ws-api-spot.kucoin.com");
  std::size_t id = 1;
  for (std::size_t i = 0; i < config.symbols.size(); i += kSymbolsPerTopic) {
    std::string topic = "/market/match:";
    for (std::size_t k = i; k < config.symbols.size() && k < i + kSymbolsPerTopic; ++k) {
      if (k > i) topic += ',';
      topic += json_safe(config.symbols[k]);
    }
    plan.subscribe.push_back(subscribe_message(id++, topic));
  }
  plan.bootstrap = &bootstrap;
}

void futures_plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  check_channels(channels, "execution", "KuCoin futures");
  common(config, plan, "ws-api-futures.kucoin.com");
  std::size_t id = 1;
  for (const auto& symbol : config.symbols)
    plan.subscribe.push_back(subscribe_message(id++, "/contractMarket/execution:" + json_safe(symbol)));
  plan.bootstrap = &bootstrap;
}

GapDetection gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

// ---- the bootstrap: POST bullet-public, read the endpoint and token -------------

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > (std::size_t{1} << 20)) return 0;  // a token reply is a few hundred bytes
  body->append(data, size * n);
  return size * n;
}

// Percent-encodes what is not unreserved (RFC 3986), so that a token can
// never break the request line.
std::string url_encode(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", u);
      out += hex;
    }
  }
  return out;
}

// "wss://host[:port][/path]" -> host, port, path. False for anything else.
bool split_endpoint(std::string_view url, std::string& host, std::uint16_t& port, std::string& path) {
  constexpr std::string_view kScheme = "wss://";
  if (!url.starts_with(kScheme)) return false;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const std::size_t colon = authority.rfind(':');
  port = 443;
  if (colon != std::string_view::npos) {
    unsigned value = 0;
    const std::string_view digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return false;
    for (const char c : digits) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
  }
  host = std::string(authority.substr(0, colon));
  if (host.empty()) return false;
  for (const char c : host)
    if (c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || static_cast<unsigned char>(c) >= 0x7f) return false;
  for (const char c : path)
    if (c <= ' ' || static_cast<unsigned char>(c) >= 0x7f) return false;
  return true;
}

std::string bootstrap(const LiveFeedConfig& config, LiveFeedPlan& plan) {
  const std::string url = !config.bootstrap_url.empty() ? config.bootstrap_url
                          : config.venue == Venue::kKucoinFutures
                              ? "https://api-futures.kucoin.com/api/v1/bullet-public"
                              : "https://api.kucoin.com/api/v1/bullet-public";
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "curl_easy_init failed";
  std::string body;
  char curl_error[CURL_ERROR_SIZE] = {};
  const long timeout_ms =
      static_cast<long>(config.connect_timeout.count() > 0 ? config.connect_timeout.count() : 10'000);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return url + ": " + (curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc));
  if (status != 200) return url + ": HTTP " + std::to_string(status);

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto e = parser.parse(body).get(root)) return url + ": not JSON (" + simdjson::error_message(e) + ")";
  std::string_view code, token, endpoint;
  std::int64_t ping_ms = 0;
  if (root["code"].get_string().get(code) || code != "200000")
    return url + ": code " + std::string(code.empty() ? "missing" : code);
  if (root["data"]["token"].get_string().get(token) || token.empty()) return url + ": no data.token";
  simdjson::dom::element server;
  if (root["data"]["instanceServers"].at(0).get(server)) return url + ": no data.instanceServers[0]";
  if (server["endpoint"].get_string().get(endpoint)) return url + ": no instanceServers[0].endpoint";
  if (server["pingInterval"].get_int64().get(ping_ms) || ping_ms < 100 || ping_ms > 600'000)
    ping_ms = 18'000;  // absent or implausible: KuCoin's usual value
  std::string host, path;
  std::uint16_t port = 443;
  if (!split_endpoint(endpoint, host, port, path))
    return url + ": endpoint is not a wss:// URL: " + std::string(endpoint.substr(0, 100));
  plan.host = std::move(host);
  plan.port = port;
  plan.target = path + (path.find('?') == std::string::npos ? "?" : "&") + "token=" + url_encode(token);
  plan.ping_interval = config.ping_interval.count() > 0 ? config.ping_interval : std::chrono::milliseconds{ping_ms};
  return {};
}

}  // namespace

const VenueProtocol kKucoinSpot{
    .venue = Venue::kKucoinSpot,
    .name = "kucoin-spot",
    .exchange = "KUCOIN",
    .parser = "KUCOIN",
    .default_channels = &spot_channels,
    .plan = &spot_plan,
    .gaps = &gaps,
    .max_topics = 400,
};

const VenueProtocol kKucoinFutures{
    .venue = Venue::kKucoinFutures,
    .name = "kucoin-futures",
    .exchange = "KUCOIN_FUTURES",
    .parser = "KUCOIN_FUTURES",
    .default_channels = &futures_channels,
    .plan = &futures_plan,
    .gaps = &gaps,
    .max_topics = 400,
};

}  // namespace tickflow::venues
