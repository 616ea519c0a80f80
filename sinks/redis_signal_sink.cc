// sinks/redis_signal_sink.cc
//
// The RedisSignalSink (see the header): a bounded queue drained by one
// pipelined MULTI/EXEC per signal over a blocking hiredis connection.
#include "sinks/redis_signal_sink.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

namespace tickflow {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis writes with write(2): a peer that went away would raise SIGPIPE and
// kill the process. Block it on this thread for the duration of a network
// operation and consume one it raised, instead of ignoring SIGPIPE
// process-wide behind the application's back.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept {
    if (r != nullptr) freeReplyObject(r);
  }
};

bool is_error(const redisReply* r) { return r == nullptr || r->type == REDIS_REPLY_ERROR; }

std::string reply_text(const redisReply* r) {
  if (r == nullptr) return "no reply";
  return std::string(r->str != nullptr ? r->str : "", r->str != nullptr ? r->len : 0);
}

}  // namespace

RedisSignalSink::RedisSignalSink(RedisSinkConfig config) : config_(std::move(config)) {
  if (config_.queue_capacity == 0) config_.queue_capacity = 1;
  if (config_.backoff_initial.count() <= 0) config_.backoff_initial = std::chrono::milliseconds(1);
  config_.backoff_max = std::max(config_.backoff_max, config_.backoff_initial);
  if (!config_.log)
    config_.log = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  // The environment only: a password in a config file ends up in backups and
  // in `config dump` output.
  if (const char* pw = std::getenv("REDIS_PASSWORD"); pw != nullptr) password_ = pw;
}

RedisSignalSink::~RedisSignalSink() { disconnect(); }

std::int64_t RedisSignalSink::wall_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool RedisSignalSink::publish(std::string_view symbol, std::string json, int ttl_s, std::int64_t created_ns) {
  if (ttl_s <= 0) return false;  // SETEX refuses a non-positive TTL: it could never be delivered
  if (queue_.size() >= config_.queue_capacity) {
    ++counters_.dropped_full;
    return false;
  }
  queue_.push_back(Pending{std::string(symbol), std::move(json), ttl_s, created_ns});
  ++counters_.accepted;
  return true;
}

void RedisSignalSink::poll(std::int64_t now_ns) {
  // Sweep the whole queue, not just its head: during an outage expired
  // signals would otherwise hold slots that fresh ones need.
  const auto expired = std::erase_if(queue_, [now_ns](const Pending& p) { return now_ns >= p.expires_ns(); });
  counters_.expired += expired;
  if (queue_.empty() || now_ns < next_attempt_ns_) return;

  SigpipeGuard guard;
  if (ctx_ == nullptr && !connect()) {
    back_off(now_ns);
    return;
  }
  while (!queue_.empty()) {
    switch (send(queue_.front(), now_ns)) {
      case Outcome::kDone: queue_.pop_front(); break;
      case Outcome::kRetry:
        ++counters_.retries;
        back_off(now_ns);
        return;
    }
  }
  if (!reported_problem_.empty()) {
    config_.log("redis: delivering again");
    reported_problem_.clear();
  }
  current_backoff_ = std::chrono::milliseconds(0);
}

bool RedisSignalSink::connect_now(std::int64_t now_ns) {
  if (ctx_ != nullptr) return true;
  if (now_ns < next_attempt_ns_) return false;
  SigpipeGuard guard;
  if (connect()) return true;
  back_off(now_ns);
  return false;
}

bool RedisSignalSink::connect() {
  const std::string where = config_.host + ":" + std::to_string(config_.port);
  ctx_ = redisConnectWithTimeout(config_.host.c_str(), config_.port, to_timeval(config_.connect_timeout));
  if (ctx_ == nullptr || ctx_->err != 0) {
    ++counters_.connect_failures;
    problem("redis: cannot connect to " + where + ": " + (ctx_ != nullptr ? ctx_->errstr : "out of memory"));
    disconnect();
    return false;
  }
  redisSetTimeout(ctx_, to_timeval(config_.command_timeout));
  redisEnableKeepAlive(ctx_);  // notice a silently vanished peer between signals
  if (!password_.empty()) {
    std::array<const char*, 2> argv{"AUTH", password_.c_str()};
    const std::array<std::size_t, 2> lens{4, password_.size()};
    std::unique_ptr<redisReply, ReplyDeleter> reply(
        static_cast<redisReply*>(redisCommandArgv(ctx_, 2, argv.data(), lens.data())));
    if (is_error(reply.get())) {
      ++counters_.connect_failures;
      if (reply) ++counters_.auth_failures;  // no reply: the connection broke, not the password
      // The server's answer names no secret ("WRONGPASS ..."); the password
      // itself is never formatted anywhere.
      problem("redis: AUTH at " + where + " refused: " +
              (reply ? reply_text(reply.get()) + " (the password is REDIS_PASSWORD's)" : std::string(ctx_->errstr)));
      disconnect();
      return false;
    }
  }
  // Names the connection for CLIENT LIST, and is the first command a server
  // that wants a password refuses (NOAUTH) when REDIS_PASSWORD is unset: so
  // that shows at connect time too. Other refusals (an ACL without CLIENT)
  // do not matter.
  static const std::string kClient = "CLIENT", kSetname = "SETNAME", kName = "tickflow-signals";
  std::array<const char*, 3> argv{kClient.c_str(), kSetname.c_str(), kName.c_str()};
  const std::array<std::size_t, 3> lens{kClient.size(), kSetname.size(), kName.size()};
  std::unique_ptr<redisReply, ReplyDeleter> reply(
      static_cast<redisReply*>(redisCommandArgv(ctx_, 3, argv.data(), lens.data())));
  if (reply == nullptr) {
    ++counters_.connect_failures;
    problem("redis: connection to " + where + " lost at setup: " + std::string(ctx_->errstr));
    disconnect();
    return false;
  }
  if (reply->type == REDIS_REPLY_ERROR && reply_text(reply.get()).starts_with("NOAUTH")) {
    ++counters_.connect_failures;
    ++counters_.auth_failures;
    problem("redis: " + where + " wants a password (" + reply_text(reply.get()) + "): set REDIS_PASSWORD");
    disconnect();
    return false;
  }
  return true;
}

void RedisSignalSink::disconnect() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

RedisSignalSink::Outcome RedisSignalSink::send(const Pending& p, std::int64_t now_ns) {
  const std::string& pre = config_.key_prefix;
  const std::string signal_key = pre + ":signal:" + p.symbol;
  const std::string channel = pre + ":signals";
  const std::string history_key = pre + ":history:" + p.symbol;
  const std::string counter_key = pre + ":stats:signals_published";
  // The remaining lifetime, rounded up: a late delivery must not outlive the
  // signal, and SETEX needs at least 1.
  const std::int64_t left_ns = p.expires_ns() - now_ns;
  const std::int64_t left_s = std::clamp<std::int64_t>((left_ns + 999'999'999) / 1'000'000'000, 1, p.ttl_s);
  const std::string ttl = std::to_string(left_s);
  const std::string keep = std::to_string(std::max(config_.history_length, 1) - 1);

  struct Cmd {
    std::array<const char*, 4> argv;
    std::array<std::size_t, 4> lens;
    int argc;
  };
  auto arg = [](const std::string& s) { return std::pair<const char*, std::size_t>{s.data(), s.size()}; };
  auto make = [](std::initializer_list<std::pair<const char*, std::size_t>> args) {
    Cmd c{};
    c.argc = 0;
    for (const auto& [ptr, len] : args) {
      c.argv[static_cast<std::size_t>(c.argc)] = ptr;
      c.lens[static_cast<std::size_t>(c.argc)] = len;
      ++c.argc;
    }
    return c;
  };
  static const std::string kMulti = "MULTI", kSetex = "SETEX", kPublish = "PUBLISH", kLpush = "LPUSH", kLtrim = "LTRIM",
                           kZero = "0", kIncr = "INCR", kExec = "EXEC";
  std::array<Cmd, 7> cmds{
      make({arg(kMulti)}),
      make({arg(kSetex), arg(signal_key), arg(ttl), arg(p.json)}),
      make({arg(kPublish), arg(channel), arg(p.json)}),
      make({arg(kLpush), arg(history_key), arg(p.json)}),
      make({arg(kLtrim), arg(history_key), arg(kZero), arg(keep)}),
      make({arg(kIncr), arg(counter_key)}),
      make({arg(kExec)}),
  };
  // Pipelined: all seven go out in one write, one round trip.
  for (Cmd& c : cmds) {
    if (redisAppendCommandArgv(ctx_, c.argc, c.argv.data(), c.lens.data()) != REDIS_OK) {
      problem(std::string("redis: cannot queue a command: ") + ctx_->errstr);
      disconnect();
      return Outcome::kRetry;
    }
  }
  // Read every reply, even after an error, so the connection stays in step.
  std::string queue_error;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK) {
      problem(std::string("redis: connection lost: ") + ctx_->errstr);
      disconnect();  // the rest of the replies are gone with it
      return Outcome::kRetry;
    }
    std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
    if (i + 1 < cmds.size()) {
      if (is_error(reply.get()) && queue_error.empty()) queue_error = reply_text(reply.get());
      continue;
    }
    // EXEC's reply.
    if (!queue_error.empty() || is_error(reply.get()) || reply->type != REDIS_REPLY_ARRAY) {
      // Refused before anything ran (NOAUTH, OOM, READONLY, LOADING,
      // EXECABORT): nothing applied, so retrying cannot duplicate.
      problem("redis: transaction refused: " + (queue_error.empty() ? reply_text(reply.get()) : queue_error));
      return Outcome::kRetry;
    }
    for (std::size_t e = 0; e < reply->elements; ++e) {
      if (is_error(reply->element[e])) {
        ++counters_.command_errors;
        config_.log("redis: a command of the transaction for " + p.symbol +
                    " failed (not retried, the others applied): " + reply_text(reply->element[e]));
        return Outcome::kDone;
      }
    }
  }
  ++counters_.delivered;
  return Outcome::kDone;
}

void RedisSignalSink::back_off(std::int64_t now_ns) {
  current_backoff_ =
      current_backoff_.count() == 0 ? config_.backoff_initial : std::min(current_backoff_ * 2, config_.backoff_max);
  // Jitter in [b/2, b]: sinks of several processes restarted together do not
  // reconnect in lock-step.
  const auto b = current_backoff_.count();
  std::uniform_int_distribution<long long> pick(b / 2, b);
  next_attempt_ns_ = now_ns + static_cast<std::int64_t>(pick(jitter_)) * 1'000'000;
}

void RedisSignalSink::problem(std::string message) {
  last_problem_ = std::move(message);
  if (last_problem_ != reported_problem_) {
    config_.log(last_problem_);
    reported_problem_ = last_problem_;
  }
}

}  // namespace tickflow
