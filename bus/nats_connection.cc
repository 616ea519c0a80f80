// bus/nats_connection.cc -- see nats_connection.h.
#include "bus/nats_connection.h"

#include <nats/nats.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

namespace tickflow::bus {

struct NatsConnection::Callbacks {
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::mutex mutex;
  std::condition_variable cv;
  bool closed = false;  // the closed callback ran: libnats calls nothing after it

  static void on_disconnected(natsConnection*, void* closure) {
    static_cast<Callbacks*>(closure)->disconnects.fetch_add(1, std::memory_order_relaxed);
  }
  static void on_reconnected(natsConnection*, void* closure) {
    static_cast<Callbacks*>(closure)->reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<Callbacks*>(closure);
    {
      std::lock_guard lock(self->mutex);
      self->closed = true;
    }
    self->cv.notify_all();
  }
};

std::string nats_status_text(int status) {
  std::string text = natsStatus_GetText(static_cast<natsStatus>(status));
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && last == static_cast<natsStatus>(status) && text != detail) {
    text += " (";
    text += detail;
    text += ")";
  }
  return text;
}

void close_nats_library() noexcept { nats_Close(); }

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

void check(natsStatus s, const std::string& what, const std::string& servers) {
  if (s != NATS_OK)
    throw BusError("NATS client setup for " + servers + ": " + what + " failed: " + nats_status_text(s));
}

// Applies credentials_file or the environment to `options`; names the file
// and the key on error, never a value.
void apply_credentials(natsOptions* options, const NatsConnectionConfig& config, const std::string& servers) {
  if (!config.credentials_file.empty()) {
    std::ifstream in(config.credentials_file);
    if (!in)
      throw BusError("NATS credentials file " + config.credentials_file + " (servers " + servers + "): cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    if (content.find("BEGIN NATS USER JWT") != std::string::npos) {
      check(natsOptions_SetUserCredentialsFromFiles(options, config.credentials_file.c_str(), nullptr),
            "credentials file " + config.credentials_file, servers);
      return;
    }
    std::string user, password, token;
    std::istringstream lines(content);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      std::string_view l = trim(line);
      if (l.empty() || l.front() == '#') continue;
      const auto eq = l.find('=');
      if (eq == std::string_view::npos)
        throw BusError("NATS credentials file " + config.credentials_file + " line " + std::to_string(number) +
                       ": expected `user = ...`, `password = ...` or `token = ...`");
      const std::string key(trim(l.substr(0, eq)));
      const std::string value(trim(l.substr(eq + 1)));
      if (key == "user")
        user = value;
      else if (key == "password")
        password = value;
      else if (key == "token")
        token = value;
      else
        throw BusError("NATS credentials file " + config.credentials_file + " line " + std::to_string(number) +
                       ": unknown key '" + key + "' (user, password or token)");
    }
    if (!token.empty() && !user.empty())
      throw BusError("NATS credentials file " + config.credentials_file + ": both token and user are set");
    if (!user.empty() && password.empty())
      throw BusError("NATS credentials file " + config.credentials_file + ": user is set but password is missing");
    if (!token.empty())
      check(natsOptions_SetToken(options, token.c_str()), "token from " + config.credentials_file, servers);
    else if (!user.empty())
      check(natsOptions_SetUserInfo(options, user.c_str(), password.c_str()),
            "user/password from " + config.credentials_file, servers);
    else
      throw BusError("NATS credentials file " + config.credentials_file + ": no user/password or token in it");
    return;
  }
  const char* user = std::getenv("NATS_USER");
  const char* password = std::getenv("NATS_PASSWORD");
  const char* token = std::getenv("NATS_TOKEN");
  if (user != nullptr && *user != '\0') {
    if (password == nullptr) throw BusError("NATS_USER is set in the environment but NATS_PASSWORD is not");
    check(natsOptions_SetUserInfo(options, user, password), "NATS_USER/NATS_PASSWORD", servers);
  } else if (token != nullptr && *token != '\0') {
    check(natsOptions_SetToken(options, token), "NATS_TOKEN", servers);
  }
}

}  // namespace

NatsConnection::NatsConnection(const NatsConnectionConfig& config, std::int64_t publish_max_pending)
    : callbacks_(std::make_unique<Callbacks>()) {
  for (const auto& s : config.servers) servers_text_ += (servers_text_.empty() ? "" : ",") + s;
  if (config.servers.empty()) throw BusError("NATS: no servers configured");
  try {
    natsOptions* options = nullptr;
    check(natsOptions_Create(&options), "natsOptions_Create", servers_text_);
    options_ = options;
    std::vector<const char*> urls;
    for (const auto& s : config.servers) urls.push_back(s.c_str());
    check(natsOptions_SetServers(options_, urls.data(), static_cast<int>(urls.size())), "servers", servers_text_);
    check(natsOptions_SetName(options_, config.name.c_str()), "name", servers_text_);
    check(natsOptions_SetTimeout(options_, config.connect_timeout.count()), "connect_timeout", servers_text_);
    check(natsOptions_SetMaxReconnect(options_, -1), "max reconnect", servers_text_);
    check(natsOptions_SetReconnectWait(options_, config.reconnect_wait.count()), "reconnect_wait", servers_text_);
    check(natsOptions_SetReconnectJitter(options_, 20, 20), "reconnect jitter", servers_text_);
    check(natsOptions_SetDisconnectedCB(options_, &Callbacks::on_disconnected, callbacks_.get()), "callbacks",
          servers_text_);
    check(natsOptions_SetReconnectedCB(options_, &Callbacks::on_reconnected, callbacks_.get()), "callbacks",
          servers_text_);
    check(natsOptions_SetClosedCB(options_, &Callbacks::on_closed, callbacks_.get()), "callbacks", servers_text_);
    apply_credentials(options_, config, servers_text_);

    natsConnection* nc = nullptr;
    const natsStatus s = natsConnection_Connect(&nc, options_);
    if (s != NATS_OK) throw BusError("cannot connect to NATS at " + servers_text_ + ": " + nats_status_text(s));
    nc_ = nc;

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = api_wait_.count();
    jo.PublishAsync.MaxPending = publish_max_pending;
    jsCtx* js = nullptr;
    check(natsConnection_JetStream(&js, nc_, &jo), "JetStream context", servers_text_);
    js_ = js;
  } catch (...) {
    if (nc_ != nullptr) {
      natsConnection_Close(nc_);
      natsConnection_Destroy(nc_);
      nc_ = nullptr;
      (void)callbacks_.release();  // its closed callback may still come: leave the counters alive
    }
    if (options_ != nullptr) natsOptions_Destroy(options_);
    options_ = nullptr;
    throw;
  }
}

NatsConnection::~NatsConnection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    // The closed callback is the last one libnats delivers (on its own
    // thread, after the disconnected one): wait for it so that no callback
    // runs on freed counters.
    std::unique_lock lock(callbacks_->mutex);
    const bool closed = callbacks_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return callbacks_->closed; });
    lock.unlock();
    natsConnection_Destroy(nc_);
    if (!closed) (void)callbacks_.release();  // libnats may still call it: leave it alive
  }
  if (options_ != nullptr) natsOptions_Destroy(options_);
}

bool NatsConnection::connected() const noexcept { return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

std::string NatsConnection::connected_url() const {
  char url[256] = "";
  if (natsConnection_GetConnectedUrl(nc_, url, sizeof url) != NATS_OK) return {};
  return url;
}

std::uint64_t NatsConnection::reconnects() const noexcept {
  return callbacks_->reconnects.load(std::memory_order_relaxed);
}
std::uint64_t NatsConnection::disconnects() const noexcept {
  return callbacks_->disconnects.load(std::memory_order_relaxed);
}

}  // namespace tickflow::bus
