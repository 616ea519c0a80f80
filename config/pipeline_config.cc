#include "config/pipeline_config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "feeds/parser_factory.h"
#include "pipeline/market_class.h"

namespace tickflow {
namespace {

// The exchange names feeds/parser_factory.h accepts: the one list.
bool is_known_exchange(const std::string& name) {
  const auto& names = known_exchanges();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_power_of_two(std::int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// Names the file, where in it, the key path and the problem.
class Context {
 public:
  explicit Context(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::source_region* where, std::string_view key, std::string_view problem) const {
    std::ostringstream out;
    out << file_;
    if (where != nullptr && where->begin.line != 0) out << ':' << where->begin.line << ':' << where->begin.column;
    out << ": ";
    if (!key.empty()) out << key << ": ";
    out << problem;
    throw ConfigError(out.str());
  }

 private:
  std::string file_;
};

// Reads one TOML table: typed getters that know the key path, and finish(),
// which rejects every key no getter asked for.
class TableReader {
 public:
  TableReader(const Context& ctx, const toml::table& table, std::string path)
      : ctx_(ctx), table_(table), path_(std::move(path)) {}

  std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const std::string& path() const { return path_; }
  const Context& ctx() const { return ctx_; }

  const toml::node* node(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
  }

  [[noreturn]] void fail(std::string_view key, std::string_view problem) {
    const toml::node* n = table_.get(key);
    ctx_.fail(n ? &n->source() : &table_.source(), path_of(key), problem);
  }

  [[noreturn]] void wrong_type(std::string_view key, const toml::node& n, std::string_view expected) {
    ctx_.fail(&n.source(), path_of(key),
              "expected " + std::string(expected) + ", got " + std::string(type_name(n.type())));
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto* v = n->as_integer();
    if (v == nullptr) wrong_type(key, *n, "an integer");
    const std::int64_t value = v->get();
    if (value < min || value > max)
      fail(key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(value));
    return value;
  }

  // A floating-point number; an integer is accepted too (`min_entry_score = 4`).
  std::optional<double> number(std::string_view key, double min, double max) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    double value = 0;
    if (const auto* f = n->as_floating_point())
      value = f->get();
    else if (const auto* i = n->as_integer())
      value = static_cast<double>(i->get());
    else
      wrong_type(key, *n, "a number");
    if (!std::isfinite(value) || value < min || value > max) {
      std::ostringstream problem;
      problem << "must be between " << min << " and " << max << ", got " << value;
      fail(key, problem.str());
    }
    return value;
  }

  std::optional<bool> boolean(std::string_view key) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto* v = n->as_boolean();
    if (v == nullptr) wrong_type(key, *n, "a boolean (true or false)");
    return v->get();
  }

  std::optional<std::string> string(std::string_view key) {
    const toml::node* n = node(key);
    if (n == nullptr) return std::nullopt;
    const auto* v = n->as_string();
    if (v == nullptr) wrong_type(key, *n, "a string");
    return v->get();
  }

  const toml::table* table(std::string_view key) {
    const toml::node* n = node(key);
    if (n == nullptr) return nullptr;
    const auto* v = n->as_table();
    if (v == nullptr) wrong_type(key, *n, "a table");
    return v;
  }

  const toml::array* array(std::string_view key) {
    const toml::node* n = node(key);
    if (n == nullptr) return nullptr;
    const auto* v = n->as_array();
    if (v == nullptr) wrong_type(key, *n, "an array");
    return v;
  }

  // A list of strings; `what` names one item in messages.
  std::optional<std::vector<std::string>> strings(std::string_view key) {
    const toml::array* a = array(key);
    if (a == nullptr) return std::nullopt;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& item = *a->get(i);
      const auto* s = item.as_string();
      if (s == nullptr)
        ctx_.fail(&item.source(), path_of(key) + "[" + std::to_string(i) + "]",
                  "expected a string, got " + std::string(type_name(item.type())));
      out.push_back(s->get());
    }
    return out;
  }

  // Every key must have been asked for.
  void finish() const {
    for (auto&& [key, value] : table_) {
      const std::string_view name = key.str();
      if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
      std::string problem = "unknown key";
      std::string_view best;
      std::size_t best_distance = 0;
      for (const std::string& candidate : known_) {
        const std::size_t d = edit_distance(name, candidate);
        if (best.empty() || d < best_distance) best = candidate, best_distance = d;
      }
      if (!best.empty() && best_distance <= std::max<std::size_t>(2, best.size() / 3))
        problem += " (did you mean '" + std::string(best) + "'?)";
      else if (!known_.empty()) {
        problem += " (known keys:";
        for (const std::string& k : known_) problem += " " + k;
        problem += ")";
      }
      ctx_.fail(&key.source(), path_of(name), problem);
    }
  }

 private:
  const Context& ctx_;
  const toml::table& table_;
  std::string path_;
  std::vector<std::string> known_;
};

constexpr std::string_view kNatsCredentialsHint =
    "credentials do not belong in the config file; set NATS_USER and NATS_PASSWORD, or NATS_TOKEN, in the "
    "environment (e.g. a systemd EnvironmentFile) or point bus.credentials_file at a file readable only by tickflow";

// Secrets never live in the config, wherever someone tries to put one.
void reject_passwords(const Context& ctx, const toml::node& node, const std::string& path) {
  const auto child_path = [&](std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  };
  if (const auto* table = node.as_table()) {
    for (auto&& [key, value] : *table) {
      std::string lower(key.str());
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // [bus]: NATS credentials come as a user and password, a token, or an
      // nkey seed / user JWT (a .creds file).
      const bool bus = path == "bus" || path.rfind("bus.", 0) == 0;
      if (bus && (lower.find("password") != std::string::npos || lower.find("token") != std::string::npos ||
                  lower.find("secret") != std::string::npos || lower == "user" || lower == "username" ||
                  lower == "nkey" || lower == "seed" || lower == "jwt"))
        ctx.fail(&key.source(), child_path(key.str()), kNatsCredentialsHint);
      if (lower.find("password") != std::string::npos) {
        if (path.rfind("signals", 0) == 0 || lower.find("redis") != std::string::npos)
          ctx.fail(&key.source(), child_path(key.str()),
                   "passwords do not belong in the config file; set REDIS_PASSWORD in the environment (e.g. a "
                   "systemd EnvironmentFile)");
        ctx.fail(&key.source(), child_path(key.str()),
                 "passwords do not belong in the config file; set INFLUX_PASSWORD in the environment (e.g. a "
                 "systemd EnvironmentFile) or point influx.credentials_file at a file readable only by tickflow");
      }
      reject_passwords(ctx, value, child_path(key.str()));
    }
  } else if (const auto* array = node.as_array()) {
    for (std::size_t i = 0; i < array->size(); ++i)
      reject_passwords(ctx, *array->get(i), path + "[" + std::to_string(i) + "]");
  }
}

WaitKind read_wait(TableReader& r, WaitKind fallback) {
  const auto text = r.string("wait");
  if (!text) return fallback;
  const auto kind = parse_wait_kind(*text);
  if (!kind) r.fail("wait", "unknown wait strategy '" + *text + "' (expected spin, yield or park)");
  return *kind;
}

void read_thread(TableReader& r, ThreadConfig& thread) {
  if (auto name = r.string("name")) {
    if (name->empty() || name->size() > 15)
      r.fail("name", "thread names are 1 to 15 characters (the kernel's limit), got '" + *name + "'");
    thread.name = std::move(*name);
  }
  if (auto cpu = r.integer("cpu", 0, 4095)) thread.cpu = static_cast<int>(*cpu);
  if (auto priority = r.integer("priority", 1, 99)) thread.fifo_priority = static_cast<int>(*priority);
  thread.wait = read_wait(r, thread.wait);
}

// [threads.bus]: one table for every bus thread (tf-bus-out, tf-bus-in,
// tf-bus-bars, tf-bus-strategy, tf-bus-signals), which keep their own names
// so that top -H, perf and tickflow_thread_cpu_seconds_total tell them apart.
// They wait on NATS or park on a doorbell between batches (the sockets are
// libnats's), so spinning buys nothing there and only `park` is accepted.
void read_bus_thread(TableReader& r, ThreadConfig& thread) {
  if (r.node("name") != nullptr)
    r.fail("name",
           "the bus threads keep their own names (tf-bus-out, tf-bus-in, tf-bus-bars, tf-bus-strategy, "
           "tf-bus-signals); [threads.bus] sets their cpu and priority");
  const WaitKind wait = read_wait(r, WaitKind::kPark);
  if (wait != WaitKind::kPark)
    r.fail("wait", "the bus threads wait on NATS and park between batches; only \"park\" applies, got \"" +
                       std::string(to_string(wait)) + "\"");
  read_thread(r, thread);
}

void read_markets(const Context& ctx, const toml::table& table, PipelineConfig& config) {
  config.markets.clear();
  for (auto&& [key, value] : table) {
    const std::string exchange(key.str());
    const std::string path = "markets." + exchange;
    if (!is_known_exchange(exchange)) {
      std::string known;
      for (const auto& name : known_exchanges()) known += (known.empty() ? "" : ", ") + name;
      ctx.fail(&key.source(), path, "unknown exchange '" + exchange + "' (known: " + known + ")");
    }
    const auto* symbols = value.as_array();
    if (symbols == nullptr)
      ctx.fail(&value.source(), path, "expected an array of symbols, got " + std::string(type_name(value.type())));
    if (symbols->empty()) ctx.fail(&value.source(), path, "no symbols (remove the exchange instead)");
    std::vector<std::string> list;
    for (std::size_t i = 0; i < symbols->size(); ++i) {
      const toml::node& item = *symbols->get(i);
      const auto* s = item.as_string();
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (s == nullptr)
        ctx.fail(&item.source(), item_path, "expected a string, got " + std::string(type_name(item.type())));
      if (s->get().empty()) ctx.fail(&item.source(), item_path, "empty symbol");
      if (std::find(list.begin(), list.end(), s->get()) != list.end())
        ctx.fail(&item.source(), item_path, "duplicate symbol '" + s->get() + "'");
      list.push_back(s->get());
    }
    config.markets[exchange] = std::move(list);
  }
  if (config.markets.empty()) ctx.fail(&table.source(), "markets", "no markets: list at least one exchange");
}

void read_threads(const Context& ctx, TableReader& r, PipelineConfig& config) {
  bool feeds_given = false;
  if (const toml::array* feeds = r.array("feed")) {
    feeds_given = true;
    if (feeds->empty()) r.fail("feed", "at least one feed thread is needed");
    config.feeds.clear();
    for (std::size_t i = 0; i < feeds->size(); ++i) {
      const toml::node& item = *feeds->get(i);
      const std::string path = r.path_of("feed") + "[" + std::to_string(i) + "]";
      const auto* table = item.as_table();
      if (table == nullptr)
        ctx.fail(&item.source(), path,
                 "expected a table ([[threads.feed]]), got " + std::string(type_name(item.type())));
      TableReader fr(ctx, *table, path);
      FeedThreadConfig feed;
      feed.thread.name = "tf-feed-" + std::to_string(i);
      read_thread(fr, feed.thread);
      if (auto exchanges = fr.strings("exchanges")) {
        for (std::size_t j = 0; j < exchanges->size(); ++j) {
          const std::string& name = (*exchanges)[j];
          const toml::node& at = *fr.array("exchanges")->get(j);
          const std::string item_path = path + ".exchanges[" + std::to_string(j) + "]";
          if (!is_known_exchange(name)) ctx.fail(&at.source(), item_path, "unknown exchange '" + name + "'");
          if (config.markets.count(name) == 0)
            ctx.fail(&at.source(), item_path, "exchange '" + name + "' has no entry in [markets]");
          for (const auto& other : config.feeds)
            if (std::find(other.exchanges.begin(), other.exchanges.end(), name) != other.exchanges.end())
              ctx.fail(&at.source(), item_path, "exchange '" + name + "' is already owned by " + other.thread.name);
          if (std::find(feed.exchanges.begin(), feed.exchanges.end(), name) != feed.exchanges.end())
            ctx.fail(&at.source(), item_path, "duplicate exchange '" + name + "'");
          feed.exchanges.push_back(name);
        }
        if (feed.exchanges.empty()) fr.fail("exchanges", "a feed thread needs at least one exchange");
      } else if (feeds->size() > 1) {
        ctx.fail(&item.source(), path + ".exchanges", "required when there is more than one feed thread");
      }
      fr.finish();
      config.feeds.push_back(std::move(feed));
    }
  }
  if (const toml::table* agg = r.table("aggregator")) {
    TableReader ar(ctx, *agg, r.path_of("aggregator"));
    read_thread(ar, config.aggregator);
    ar.finish();
  }
  if (const toml::table* writer = r.table("writer")) {
    TableReader wr(ctx, *writer, r.path_of("writer"));
    read_thread(wr, config.writer);
    wr.finish();
  }
  if (const toml::table* bus = r.table("bus")) {
    TableReader br(ctx, *bus, r.path_of("bus"));
    read_bus_thread(br, config.bus_threads);
    br.finish();
  }
  r.finish();

  // A single feed thread without an explicit list owns every exchange.
  if (config.feeds.size() == 1 && config.feeds[0].exchanges.empty())
    for (const auto& [exchange, symbols] : config.markets) config.feeds[0].exchanges.push_back(exchange);
  for (const auto& [exchange, symbols] : config.markets) {
    bool owned = false;
    for (const auto& feed : config.feeds)
      owned |= std::find(feed.exchanges.begin(), feed.exchanges.end(), exchange) != feed.exchanges.end();
    if (!owned)
      ctx.fail(nullptr, feeds_given ? "threads.feed" : "markets",
               "exchange '" + exchange + "' in [markets] is owned by no feed thread (add it to a feed's exchanges)");
  }
  std::set<std::string> names;
  for (const ThreadConfig* thread : config.threads())
    if (!names.insert(thread->name).second)
      ctx.fail(nullptr, "threads", "two threads are named '" + thread->name + "'");
}

void read_rings(TableReader& r, RingConfig& rings) {
  const auto ring_size = [&](std::string_view key, std::size_t& out) {
    if (auto v = r.integer(key, 2, std::int64_t{1} << 24)) {
      if (!is_power_of_two(*v)) r.fail(key, "ring size must be a power of two, got " + std::to_string(*v));
      out = static_cast<std::size_t>(*v);
    }
  };
  ring_size("feed_events", rings.feed_events);
  ring_size("writer_items", rings.writer_items);
  if (auto policy = r.string("full_policy")) {
    if (*policy == "block")
      rings.full_policy = FullRingPolicy::kBlock;
    else if (*policy == "drop")
      rings.full_policy = FullRingPolicy::kDrop;
    else
      r.fail("full_policy", "unknown full-ring policy '" + *policy + "' (expected block or drop)");
  }
  r.finish();
}

Timeframe read_timeframe(const Context& ctx, const toml::node& at, const std::string& path, std::string_view text) {
  try {
    return parse_timeframe(text);
  } catch (const std::invalid_argument& e) {
    ctx.fail(&at.source(), path, std::string("bad timeframe: ") + e.what());
  }
}

void read_bars(const Context& ctx, TableReader& r, BarConfig& bars) {
  if (auto v = r.integer("lateness_ms", 0, 60'000)) bars.lateness = std::chrono::milliseconds(*v);
  if (auto v = r.integer("quiet_delay_ms", 0, 600'000)) bars.quiet_delay = std::chrono::milliseconds(*v);
  if (auto v = r.integer("live_lateness_ms", 0, 60'000)) bars.live_lateness = std::chrono::milliseconds(*v);
  if (auto v = r.string("quiet_close")) {
    if (*v != "lag" && *v != "fixed") r.fail("quiet_close", "expected \"lag\" or \"fixed\", got '" + *v + "'");
    bars.quiet_close_from_lag = *v == "lag";
  }
  if (auto v = r.integer("quiet_lag_margin_ms", 0, 60'000)) bars.quiet_lag_margin = std::chrono::milliseconds(*v);
  if (auto v = r.integer("amend_horizon_s", 0, 7 * 86'400)) bars.amend_horizon = std::chrono::seconds(*v);
  if (auto v = r.boolean("flow_stats")) bars.flow_stats = *v;
  if (auto v = r.string("checkpoint")) {
    if (v->empty()) r.fail("checkpoint", "empty path: give a file, or \"off\" for no restart checkpoint");
    bars.checkpoint = std::move(*v);
  }
  if (auto list = r.strings("rollups")) {
    const toml::array& array = *r.array("rollups");
    bars.rollups.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = r.path_of("rollups") + "[" + std::to_string(i) + "]";
      const Timeframe tf = read_timeframe(ctx, *array.get(i), path, (*list)[i]);
      if (tf.seconds() == 1) ctx.fail(&array.get(i)->source(), path, "1s is the base bar, not a rollup");
      if (std::find(bars.rollups.begin(), bars.rollups.end(), tf) != bars.rollups.end())
        ctx.fail(&array.get(i)->source(), path, "duplicate timeframe '" + (*list)[i] + "'");
      bars.rollups.push_back(tf);
    }
  }
  r.finish();
}

// InfluxQL durations: INF, or one or more <integer><unit> (ns u µ ms s m h d w).
bool is_influx_duration(std::string_view text) {
  if (text == "INF" || text == "inf") return true;
  std::size_t i = 0;
  if (text.empty()) return false;
  while (i < text.size()) {
    const std::size_t digits = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits) return false;
    const std::string_view rest = text.substr(i);
    std::size_t unit = 0;
    for (std::string_view u : {"ns", "ms", "u", "s", "m", "h", "d", "w"})
      if (rest.substr(0, u.size()) == u) {
        unit = u.size();
        break;
      }
    if (unit == 0) return false;
    i += unit;
  }
  return true;
}

void read_influx(const Context& ctx, TableReader& r, InfluxConfig& influx) {
  if (auto v = r.boolean("enabled")) influx.enabled = *v;
  if (auto v = r.string("url")) {
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
      r.fail("url", "expected an http:// or https:// URL, got '" + *v + "'");
    influx.url = std::move(*v);
  }
  if (auto v = r.string("database")) {
    if (v->empty()) r.fail("database", "empty database name");
    influx.database = std::move(*v);
  }
  if (auto v = r.boolean("gzip")) influx.gzip = *v;
  if (auto v = r.integer("batch_lines", 1, 1'000'000)) influx.batch_lines = static_cast<std::size_t>(*v);
  if (auto v = r.integer("batch_age_ms", 1, 60'000)) influx.batch_age = std::chrono::milliseconds(*v);
  if (auto v = r.boolean("seal_on_close")) influx.seal_on_close = *v;
  if (const toml::table* retention = r.table("retention")) {
    influx.retention.clear();
    for (auto&& [key, value] : *retention) {
      const std::string path = r.path_of("retention") + "." + std::string(key.str());
      const Timeframe tf = read_timeframe(ctx, value, path, key.str());
      const auto* duration = value.as_string();
      if (duration == nullptr)
        ctx.fail(&value.source(), path,
                 "expected an InfluxQL duration string (\"24h\", \"90d\", \"INF\"), got " +
                     std::string(type_name(value.type())));
      if (!is_influx_duration(duration->get()))
        ctx.fail(&value.source(), path,
                 "bad InfluxQL duration '" + duration->get() + "' (e.g. \"24h\", \"90d\", \"INF\")");
      if (!influx.retention.emplace(std::string(tf.name()), duration->get()).second)
        ctx.fail(&value.source(), path, "timeframe " + std::string(tf.name()) + " is listed twice");
    }
  }
  if (auto v = r.string("credentials_file")) influx.credentials_file = std::move(*v);
  if (auto v = r.string("spool_dir")) influx.spool_dir = std::move(*v);
  // 64 KiB at least: the spool's files (segments of at most an eighth of
  // it, plus LOCK and checkpoint) must hold a few batches.
  if (auto v = r.integer("spool_max_bytes", 64 << 10, std::numeric_limits<std::int64_t>::max()))
    influx.spool_max_bytes = static_cast<std::uint64_t>(*v);
  if (auto v = r.string("spool_full_policy")) {
    if (*v == "block")
      influx.spool_full_policy = SpoolFullPolicy::kBlock;
    else if (*v == "drop_oldest")
      influx.spool_full_policy = SpoolFullPolicy::kDropOldest;
    else
      r.fail("spool_full_policy", "unknown spool policy '" + *v + "' (expected block or drop_oldest)");
  }
  if (auto v = r.integer("health_max_undelivered_ms", 1, 86'400'000))
    influx.health_max_undelivered = std::chrono::milliseconds(*v);
  if (auto v = r.number("health_max_spool_fraction", 0.0, 1.0)) influx.health_max_spool_fraction = *v;
  r.finish();
}

void read_metrics(TableReader& r, MetricsConfig& metrics) {
  if (auto v = r.string("bind")) {
    if (v->empty()) r.fail("bind", "empty bind address");
    metrics.bind = std::move(*v);
  }
  if (auto v = r.integer("port", 1, 65535)) metrics.port = static_cast<std::uint16_t>(*v);
  if (auto v = r.integer("request_timeout_ms", 100, 600'000)) metrics.request_timeout = std::chrono::milliseconds(*v);
  if (auto v = r.integer("max_connections", 1, 100'000)) metrics.max_connections = static_cast<std::size_t>(*v);
  if (auto v = r.integer("max_trade_age_ms", 1, 86'400'000)) metrics.max_trade_age = std::chrono::milliseconds(*v);
  if (auto v = r.integer("max_bar_age_ms", 1, 86'400'000)) metrics.max_bar_age = std::chrono::milliseconds(*v);
  r.finish();
}

void read_live(const Context& ctx, TableReader& r, const PipelineConfig& config, LiveFeedsConfig& live) {
  if (auto v = r.integer("stale_after_ms", 100, 3'600'000)) live.stale_after = std::chrono::milliseconds(*v);
  if (auto v = r.integer("connect_timeout_ms", 100, 600'000)) live.connect_timeout = std::chrono::milliseconds(*v);
  if (auto v = r.integer("backoff_initial_ms", 1, 600'000)) live.backoff_initial = std::chrono::milliseconds(*v);
  if (auto v = r.integer("backoff_max_ms", 1, 3'600'000)) live.backoff_max = std::chrono::milliseconds(*v);
  if (live.backoff_max < live.backoff_initial)
    r.fail(r.node("backoff_max_ms") ? "backoff_max_ms" : "backoff_initial_ms",
           "backoff_max_ms (" + std::to_string(live.backoff_max.count()) + ") must be >= backoff_initial_ms (" +
               std::to_string(live.backoff_initial.count()) + ")");
  if (auto v = r.boolean("backfill")) live.backfill = *v;
  if (auto v = r.boolean("liquidations")) live.liquidations = *v;
  if (auto v = r.integer("gap_hold_ms", 0, 600'000)) live.gap_hold = std::chrono::milliseconds(*v);
  if (auto v = r.string("tls_records")) {
    if (*v == "tickflow")
      live.own_tls_records = true;
    else if (*v == "openssl")
      live.own_tls_records = false;
    else
      r.fail("tls_records", "unknown TLS record reader '" + *v + "' (expected tickflow or openssl)");
  }
  auto check_exchange = [&](TableReader& t, const std::string& exchange) {
    if (config.markets.find(exchange) == config.markets.end())
      t.fail(exchange, "no markets are configured for exchange '" + exchange + "' ([markets])");
  };
  if (const toml::table* endpoints = r.table("endpoints")) {
    TableReader er(ctx, *endpoints, r.path_of("endpoints"));
    for (const auto& [key, node] : *endpoints) {
      const std::string exchange(key.str());
      check_exchange(er, exchange);
      const toml::table* table = er.table(exchange);
      TableReader xr(ctx, *table, er.path_of(exchange));
      EndpointConfig endpoint;
      if (auto v = xr.string("host")) endpoint.host = *v;
      if (auto v = xr.integer("port", 1, 65535)) endpoint.port = static_cast<std::uint16_t>(*v);
      if (auto v = xr.string("path")) endpoint.path = *v;
      if (auto v = xr.string("ca_file")) endpoint.ca_file = *v;
      if (auto v = xr.string("rest_url")) endpoint.rest_url = *v;
      if (auto v = xr.string("bootstrap_url")) endpoint.bootstrap_url = *v;
      xr.finish();
      live.endpoints[exchange] = endpoint;
    }
    er.finish();
  }
  if (const toml::table* channels = r.table("channels")) {
    TableReader cr(ctx, *channels, r.path_of("channels"));
    for (const auto& [key, node] : *channels) {
      const std::string exchange(key.str());
      check_exchange(cr, exchange);
      const toml::node* n = cr.node(exchange);
      const auto* array = n->as_array();
      if (array == nullptr) cr.wrong_type(exchange, *n, "an array of strings");
      std::vector<std::string> names;
      for (const auto& item : *array) {
        const auto* name = item.as_string();
        if (name == nullptr || name->get().empty()) cr.fail(exchange, "channel names must be non-empty strings");
        names.push_back(name->get());
      }
      live.channels[exchange] = std::move(names);
    }
    cr.finish();
  }
  r.finish();
}

// ---- [strategy] ----

// Plain numeric fields of SqueezeFlowParams: the TOML key is the field name.
// The ranges only keep values sane; SqueezeFlowParams::validate() checks how
// they fit together.
struct StrategyDoubleField {
  const char* key;
  double SqueezeFlowParams::*field;
  double min;
  double max;
};
struct StrategyCountField {
  const char* key;
  std::size_t SqueezeFlowParams::*field;
  std::int64_t min;
  std::int64_t max;
};
struct StrategySecondsField {
  const char* key;
  std::int64_t SqueezeFlowParams::*field;
  std::int64_t min;
  std::int64_t max;
};
struct StrategyTimeframeField {
  const char* key;
  std::uint32_t SqueezeFlowParams::*field;
};
struct StrategyTimeframeListField {
  const char* key;
  TimeframeList SqueezeFlowParams::*field;
};

using P = SqueezeFlowParams;
constexpr double kBig = 1e6;

constexpr StrategyDoubleField kStrategyDoubles[] = {
    {"spot_led_dominance", &P::spot_led_dominance, 0, 1},
    {"stable_move", &P::stable_move, 0, 1},
    {"pattern_z", &P::pattern_z, 0, 100},
    {"leading_ratio", &P::leading_ratio, 0, 100},
    {"significance_z", &P::significance_z, 0, 100},
    {"significance_mean_multiple", &P::significance_mean_multiple, 0, 100},
    {"converging_strength", &P::converging_strength, 0, 100},
    {"deceleration_ratio", &P::deceleration_ratio, 0, 100},
    {"stagnation_ratio", &P::stagnation_ratio, 0, 100},
    {"type_a_exhausted_strength", &P::type_a_exhausted_strength, 0, 100},
    {"explosive_move", &P::explosive_move, 0, 1},
    {"explosive_d_multiple", &P::explosive_d_multiple, 0, 100},
    {"weight_reset", &P::weight_reset, 0, kBig},
    {"weight_absorption", &P::weight_absorption, 0, kBig},
    {"weight_failed_breakdown", &P::weight_failed_breakdown, 0, kBig},
    {"weight_bias", &P::weight_bias, 0, kBig},
    {"reset_multiplier", &P::reset_multiplier, 0, kBig},
    {"max_score", &P::max_score, 0, kBig},
    {"oi_rise", &P::oi_rise, 0, kBig},
    {"oi_bonus", &P::oi_bonus, 0, kBig},
    {"oi_penalty", &P::oi_penalty, 0, kBig},
    {"min_entry_score", &P::min_entry_score, 0, kBig},
    {"base_risk", &P::base_risk, 0, 1},
    {"max_position_fraction", &P::max_position_fraction, 0, kBig},
    {"slippage_bp", &P::slippage_bp, 0, 10'000},
    {"fee_rate", &P::fee_rate, 0, 1},
    {"flow_reversal_std", &P::flow_reversal_std, 0, 100},
    {"hard_stop", &P::hard_stop, 0, 1},
};

constexpr StrategyCountField kStrategyCounts[] = {
    {"history_bars", &P::history_bars, 1, 4096},
    {"trend_lookback", &P::trend_lookback, 1, 4096},
    {"recent_d_bars", &P::recent_d_bars, 1, 4096},
    {"divergence_bars", &P::divergence_bars, 1, 4096},
    {"baseline_bars", &P::baseline_bars, 1, 4096},
    {"convergence_max_bars", &P::convergence_max_bars, 1, 4096},
    {"max_open_positions", &P::max_open_positions, 1, 1000},
    {"max_signals_per_hour", &P::max_signals_per_hour, 1, 3600},
    {"structure_low_bars", &P::structure_low_bars, 1, 4096},
    {"structure_range_bars", &P::structure_range_bars, 1, 4096},
};

constexpr StrategySecondsField kStrategySeconds[] = {
    {"cooldown_s", &P::cooldown_s, 0, 7 * 86'400},
    {"signal_ttl_s", &P::signal_ttl_s, 1, 86'400},
};

constexpr StrategyTimeframeField kStrategyTimeframes[] = {
    {"analysis_timeframe", &P::analysis_timeframe_s},
    {"exit_bias_timeframe", &P::exit_bias_timeframe_s},
};

constexpr StrategyTimeframeListField kStrategyTimeframeLists[] = {
    {"context_timeframes", &P::context_timeframes},
    {"divergence_timeframes", &P::divergence_timeframes},
    {"reset_timeframes", &P::reset_timeframes},
};

// validate() names the field as "squeezeflow.<field>: why"; the key that
// sets it in [strategy], where the two differ.
std::string strategy_key_of_field(std::string_view field) {
  if (field == "cooldown") return "cooldown_s";
  if (field == "signal_ttl") return "signal_ttl_s";
  if (field == "structure_bars") return "structure_range_bars";
  constexpr std::string_view kTimeframeSeconds = "timeframe_s";  // analysis_timeframe_s -> analysis_timeframe
  if (field.size() >= kTimeframeSeconds.size() &&
      field.substr(field.size() - kTimeframeSeconds.size()) == kTimeframeSeconds)
    return std::string(field.substr(0, field.size() - 2));
  return std::string(field);
}

void read_strategy_params(const Context& ctx, TableReader& r, SqueezeFlowParams& params) {
  for (const auto& f : kStrategyTimeframes)
    if (auto text = r.string(f.key))
      params.*f.field = read_timeframe(ctx, *r.node(f.key), r.path_of(f.key), *text).seconds();
  for (const auto& f : kStrategyTimeframeLists) {
    auto list = r.strings(f.key);
    if (!list) continue;
    const toml::array& array = *r.array(f.key);
    if (list->empty() || list->size() > kMaxStrategyTimeframes)
      r.fail(f.key, "needs 1 to " + std::to_string(kMaxStrategyTimeframes) + " timeframes, got " +
                        std::to_string(list->size()));
    TimeframeList out;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = r.path_of(f.key) + "[" + std::to_string(i) + "]";
      const Timeframe tf = read_timeframe(ctx, *array.get(i), path, (*list)[i]);
      for (std::size_t j = 0; j < out.count; ++j)
        if (out[j] == tf.seconds()) ctx.fail(&array.get(i)->source(), path, "duplicate timeframe '" + (*list)[i] + "'");
      out.seconds[out.count++] = tf.seconds();
    }
    params.*f.field = out;
  }
  if (const toml::array* periods = r.array("momentum_periods")) {
    if (periods->size() != params.momentum_periods.size())
      r.fail("momentum_periods", "needs exactly " + std::to_string(params.momentum_periods.size()) +
                                     " bar counts, got " + std::to_string(periods->size()));
    for (std::size_t i = 0; i < periods->size(); ++i) {
      const toml::node& item = *periods->get(i);
      const std::string path = r.path_of("momentum_periods") + "[" + std::to_string(i) + "]";
      const auto* v = item.as_integer();
      if (v == nullptr)
        ctx.fail(&item.source(), path, "expected an integer, got " + std::string(type_name(item.type())));
      if (v->get() < 1 || v->get() > 4096)
        ctx.fail(&item.source(), path, "must be between 1 and 4096, got " + std::to_string(v->get()));
      params.momentum_periods[i] = static_cast<std::size_t>(v->get());
    }
  }
  for (const auto& f : kStrategyCounts)
    if (auto v = r.integer(f.key, f.min, f.max)) params.*f.field = static_cast<std::size_t>(*v);
  for (const auto& f : kStrategySeconds)
    if (auto v = r.integer(f.key, f.min, f.max)) params.*f.field = *v;
  for (const auto& f : kStrategyDoubles)
    if (auto v = r.number(f.key, f.min, f.max)) params.*f.field = *v;
  if (auto v = r.boolean("use_open_interest")) params.use_open_interest = *v;
}

void read_strategy_symbols(const Context& ctx, TableReader& r, const PipelineConfig& config,
                           std::vector<StrategySymbolConfig>& symbols) {
  const toml::array* array = r.array("symbols");
  if (array == nullptr) return;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    const std::string path = r.path_of("symbols") + "[" + std::to_string(i) + "]";
    const auto* table = item.as_table();
    if (table == nullptr)
      ctx.fail(&item.source(), path,
               "expected a table ([[strategy.symbols]]), got " + std::string(type_name(item.type())));
    TableReader sr(ctx, *table, path);
    StrategySymbolConfig symbol;
    if (auto v = sr.string("base")) symbol.base = std::move(*v);
    if (symbol.base.empty()) {
      if (sr.node("base") != nullptr) sr.fail("base", "empty base asset");
      ctx.fail(&item.source(), path + ".base", "required: the base asset, e.g. \"BTC\"");
    }
    for (const auto& other : symbols)
      if (other.base == symbol.base) sr.fail("base", "duplicate base '" + symbol.base + "'");
    symbol.symbol = symbol.base + "USDT";
    if (auto v = sr.string("symbol")) {
      if (v->empty()) sr.fail("symbol", "empty symbol (leave the key out for " + symbol.symbol + ")");
      symbol.symbol = std::move(*v);
    }
    if (auto v = sr.string("execution_market")) {
      const std::size_t colon = v->find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == v->size())
        sr.fail("execution_market", "expected EXCHANGE:symbol (e.g. \"BINANCE_FUTURES:btcusdt\"), got '" + *v + "'");
      const std::string exchange = v->substr(0, colon);
      const std::string market = v->substr(colon + 1);
      const auto listed = config.markets.find(exchange);
      if (listed == config.markets.end() ||
          std::find(listed->second.begin(), listed->second.end(), market) == listed->second.end())
        sr.fail("execution_market", "market '" + *v + "' is not in [markets]");
      if (classify_market(*v) != MarketClass::kPerp) sr.fail("execution_market", "'" + *v + "' is not a perp");
      symbol.execution_market = std::move(*v);
    }
    sr.finish();
    symbols.push_back(std::move(symbol));
  }
}

// The engine reads its series from the rollups: each strategy timeframe must
// be one of bars.rollups (checked when the strategy is enabled).
void check_strategy_timeframes(const Context& ctx, TableReader& r, const SqueezeFlowParams& params,
                               const std::vector<Timeframe>& rollups) {
  const auto check = [&](std::uint32_t seconds, const toml::node* at, const std::string& path) {
    const Timeframe tf = Timeframe::from_seconds(seconds);
    if (std::find(rollups.begin(), rollups.end(), tf) != rollups.end()) return;
    ctx.fail(at != nullptr ? &at->source() : nullptr, path,
             "timeframe " + std::string(tf.name()) + " is not one of bars.rollups (" + to_string(rollups) +
                 "): add it there" + (at != nullptr ? "" : " (the default; set it in [" + r.path() + "])"));
  };
  for (const auto& f : kStrategyTimeframes) check(params.*f.field, r.node(f.key), r.path_of(f.key));
  for (const auto& f : kStrategyTimeframeLists) {
    const TimeframeList& list = params.*f.field;
    const toml::node* given = r.node(f.key);
    const toml::array* array = given != nullptr ? given->as_array() : nullptr;
    for (std::size_t i = 0; i < list.count; ++i)
      check(list[i], array != nullptr ? array->get(i) : nullptr, r.path_of(f.key) + "[" + std::to_string(i) + "]");
  }
}

void read_strategy(const Context& ctx, TableReader& r, const PipelineConfig& config, StrategyConfig& strategy) {
  if (auto v = r.boolean("enabled")) strategy.enabled = *v;
  read_strategy_params(ctx, r, strategy.params);
  read_strategy_symbols(ctx, r, config, strategy.symbols);
  if (const toml::table* debug = r.table("debug")) {
    TableReader dr(ctx, *debug, r.path_of("debug"));
    if (auto v = dr.string("symbol")) {
      if (v->empty()) dr.fail("symbol", "empty base asset (leave [strategy.debug] out for none)");
      strategy.debug_symbol = std::move(*v);
    }
    if (auto v = dr.string("csv")) {
      if (v->empty()) dr.fail("csv", "empty path");
      strategy.debug_csv = std::move(*v);
    }
    if (!strategy.debug_symbol.empty() && strategy.debug_csv.empty())
      dr.fail("csv", "required when strategy.debug.symbol is set");
    if (strategy.debug_symbol.empty() && !strategy.debug_csv.empty())
      dr.fail("symbol", "required when strategy.debug.csv is set");
    if (!strategy.debug_symbol.empty() && !strategy.symbols.empty() &&
        std::none_of(strategy.symbols.begin(), strategy.symbols.end(),
                     [&](const StrategySymbolConfig& s) { return s.base == strategy.debug_symbol; }))
      dr.fail("symbol", "'" + strategy.debug_symbol + "' is not the base of any [[strategy.symbols]]");
    dr.finish();
  }
  r.finish();
  try {
    strategy.params.validate();
  } catch (const std::invalid_argument& e) {
    // "squeezeflow.<field>: why" -> strategy.<key>: why, at the key if given.
    std::string_view message = e.what();
    std::string key;
    constexpr std::string_view kPrefix = "squeezeflow.";
    const std::size_t colon = message.find(": ");
    if (message.substr(0, kPrefix.size()) == kPrefix && colon != std::string_view::npos) {
      key = strategy_key_of_field(message.substr(kPrefix.size(), colon - kPrefix.size()));
      message.remove_prefix(colon + 2);
    }
    if (key.empty()) r.ctx().fail(nullptr, r.path(), message);
    if (r.node(key) != nullptr) r.fail(key, message);
    r.ctx().fail(nullptr, r.path_of(key), std::string(message) + " (the default; set it in [" + r.path() + "])");
  }
  if (strategy.enabled) check_strategy_timeframes(ctx, r, strategy.params, config.bars.rollups);
}

void read_signals(const Context& ctx, TableReader& r, SignalSinksConfig& signals) {
  if (auto v = r.boolean("influx")) signals.influx = *v;
  if (auto v = r.string("jsonl")) signals.jsonl = std::move(*v);
  if (const toml::table* redis = r.table("redis")) {
    TableReader rr(ctx, *redis, r.path_of("redis"));
    RedisSinkConfig& c = signals.redis_config;
    if (auto v = rr.boolean("enabled")) signals.redis = *v;
    if (auto v = rr.string("host")) {
      if (v->empty()) rr.fail("host", "empty host");
      c.host = std::move(*v);
    }
    if (auto v = rr.integer("port", 1, 65535)) c.port = static_cast<int>(*v);
    if (auto v = rr.integer("queue_capacity", 1, 1'000'000)) c.queue_capacity = static_cast<std::size_t>(*v);
    if (auto v = rr.string("key_prefix")) {
      if (v->empty()) rr.fail("key_prefix", "empty key prefix");
      c.key_prefix = std::move(*v);
    }
    if (auto v = rr.integer("history_length", 1, 1'000'000)) c.history_length = static_cast<int>(*v);
    if (auto v = rr.integer("connect_timeout_ms", 1, 600'000)) c.connect_timeout = std::chrono::milliseconds(*v);
    if (auto v = rr.integer("command_timeout_ms", 1, 600'000)) c.command_timeout = std::chrono::milliseconds(*v);
    if (auto v = rr.integer("backoff_initial_ms", 1, 600'000)) c.backoff_initial = std::chrono::milliseconds(*v);
    if (auto v = rr.integer("backoff_max_ms", 1, 3'600'000)) c.backoff_max = std::chrono::milliseconds(*v);
    if (c.backoff_max < c.backoff_initial)
      rr.fail(rr.node("backoff_max_ms") ? "backoff_max_ms" : "backoff_initial_ms",
              "backoff_max_ms (" + std::to_string(c.backoff_max.count()) + ") must be >= backoff_initial_ms (" +
                  std::to_string(c.backoff_initial.count()) + ")");
    rr.finish();
  }
  r.finish();
}

// ---- [bus] ----

constexpr std::size_t kMaxBusNameLength = 64;

// Collector and stream names: subject tokens, message-id parts and file
// names on the server, so the plainest alphabet.
bool is_plain_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxBusNameLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-'; });
}

std::optional<BusRole> parse_bus_role(std::string_view name) {
  for (BusRole role : {BusRole::kCollector, BusRole::kAggregator, BusRole::kStrategy})
    if (to_string(role) == name) return role;
  return std::nullopt;
}

// What is wrong with a NATS server URL, if anything: nats:// or tls://, a
// host (an IPv6 address in brackets), an optional port; no user:pass@ (a
// secret in the config, and URLs get logged) and no path.
std::optional<std::string> server_url_problem(std::string_view url) {
  if (url.find('@') != std::string_view::npos)
    return "credentials do not belong in a server URL (URLs are logged); set NATS_USER and NATS_PASSWORD, or "
           "NATS_TOKEN, in the environment or point bus.credentials_file at a file readable only by tickflow";
  const std::string quoted = "'" + std::string(url) + "'";
  std::string_view rest;
  if (url.rfind("nats://", 0) == 0)
    rest = url.substr(7);
  else if (url.rfind("tls://", 0) == 0)
    rest = url.substr(6);
  else
    return "expected a nats:// or tls:// URL (e.g. \"nats://127.0.0.1:4222\"), got " + quoted;
  for (char c : rest)
    if (std::isspace(static_cast<unsigned char>(c)) != 0 || std::iscntrl(static_cast<unsigned char>(c)) != 0)
      return "white space or a control character in " + quoted;
  if (rest.find(',') != std::string_view::npos)
    return "one URL per item (servers = [\"nats://a:4222\", \"nats://b:4222\"]), got " + quoted;
  if (rest.find('/') != std::string_view::npos) return "a server URL has no path, got " + quoted;
  std::string_view host = rest;
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in " + quoted;
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "expected ':port' after ']' in " + quoted;
      port = after.substr(1);
      has_port = true;
    }
  } else if (const std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
    if (port.find(':') != std::string_view::npos)
      return "bad host in " + quoted + " (an IPv6 address goes in brackets: nats://[::1]:4222)";
  }
  if (host.empty()) return "no host in " + quoted;
  if (has_port) {
    const bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    const int number = digits ? std::stoi(std::string(port)) : 0;
    if (number < 1 || number > 65535) return "bad port in " + quoted + " (expected 1 to 65535)";
  }
  return std::nullopt;
}

void read_bus(const Context& ctx, TableReader& r, const PipelineConfig& config, BusConfig& bus) {
  const std::optional<bool> enabled = r.boolean("enabled");
  if (auto roles = r.strings("roles")) {
    const toml::array& array = *r.array("roles");
    for (std::size_t i = 0; i < roles->size(); ++i) {
      const toml::node& at = *array.get(i);
      const std::string path = r.path_of("roles") + "[" + std::to_string(i) + "]";
      const auto role = parse_bus_role((*roles)[i]);
      if (!role)
        ctx.fail(&at.source(), path, "unknown role '" + (*roles)[i] + "' (expected collector, aggregator or strategy)");
      if (std::find(bus.roles.begin(), bus.roles.end(), *role) != bus.roles.end())
        ctx.fail(&at.source(), path, "duplicate role '" + (*roles)[i] + "'");
      bus.roles.push_back(*role);
    }
  }
  bus.enabled = enabled.value_or(!bus.roles.empty());
  if (bus.enabled && bus.roles.empty())
    r.fail(r.node("roles") != nullptr ? "roles" : "enabled",
           "the bus is enabled but bus.roles lists no role (collector, aggregator or strategy)");

  if (auto servers = r.strings("servers")) {
    const toml::array& array = *r.array("servers");
    if (servers->empty()) r.fail("servers", "at least one server URL is needed (e.g. \"nats://127.0.0.1:4222\")");
    for (std::size_t i = 0; i < servers->size(); ++i) {
      const toml::node& at = *array.get(i);
      const std::string path = r.path_of("servers") + "[" + std::to_string(i) + "]";
      if (auto problem = server_url_problem((*servers)[i])) ctx.fail(&at.source(), path, *problem);
      if (std::find(servers->begin(), servers->begin() + static_cast<std::ptrdiff_t>(i), (*servers)[i]) !=
          servers->begin() + static_cast<std::ptrdiff_t>(i))
        ctx.fail(&at.source(), path, "duplicate server '" + (*servers)[i] + "'");
    }
    bus.servers = std::move(*servers);
  }
  if (auto v = r.string("credentials_file")) {
    if (v->empty())
      r.fail("credentials_file",
             "empty path (leave the key out to take NATS_USER / NATS_PASSWORD or NATS_TOKEN from the environment)");
    bus.credentials_file = std::move(*v);
  }
  if (auto v = r.string("collector_name")) {
    if (!is_plain_name(*v))
      r.fail("collector_name",
             "collector names are 1 to 64 of A-Z a-z 0-9 _ - (they become a subject token), got '" + *v + "'");
    bus.collector_name = std::move(*v);
  }
  const std::pair<const char*, std::string*> streams[] = {{"events_stream", &bus.events_stream},
                                                          {"bars_stream", &bus.bars_stream},
                                                          {"signals_stream", &bus.signals_stream}};
  for (const auto& [key, field] : streams) {
    auto v = r.string(key);
    if (!v) continue;
    if (!is_plain_name(*v))
      r.fail(key, "stream names are 1 to 64 of A-Z a-z 0-9 _ - (NATS uses them in subjects and file names), got '" +
                      *v + "'");
    *field = std::move(*v);
  }
  for (std::size_t i = 0; i < std::size(streams); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (*streams[i].second == *streams[j].second)
        r.fail(r.node(streams[i].first) != nullptr ? streams[i].first : streams[j].first,
               "bus." + std::string(streams[j].first) + " and bus." + streams[i].first + " are both '" +
                   *streams[i].second + "': each kind has its own stream");
  if (auto v =
          r.integer("replicas", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max())) {
    if (*v != 1 && *v != 3 && *v != 5) r.fail("replicas", "must be 1, 3 or 5, got " + std::to_string(*v));
    bus.replicas = static_cast<int>(*v);
  }
  if (auto v = r.integer("duplicate_window_s", 1, 7 * 86'400)) bus.duplicate_window = std::chrono::seconds(*v);
  if (auto v = r.integer("max_age_h", 1, 366 * 24)) bus.max_age = std::chrono::hours(*v);
  if (bus.duplicate_window > bus.max_age)
    r.fail(r.node("duplicate_window_s") != nullptr ? "duplicate_window_s" : "max_age_h",
           "duplicate_window_s (" + std::to_string(bus.duplicate_window.count()) + ") must not exceed max_age_h (" +
               std::to_string(bus.max_age.count()) + " h): JetStream refuses such a stream");
  if (auto v = r.integer("max_in_flight", 1, 1'000'000)) bus.max_in_flight = *v;
  if (auto v = r.string("on_full")) {
    if (*v != "block" && *v != "spool") r.fail("on_full", "unknown policy '" + *v + "' (expected block or spool)");
    bus.on_full = std::move(*v);
  }
  if (auto v = r.string("spool_dir")) bus.spool_dir = std::move(*v);
  if (bus.on_full == "spool" && bus.spool_dir.empty())
    r.fail(r.node("spool_dir") != nullptr ? "spool_dir" : "on_full", "on_full = \"spool\" needs a spool_dir");
  if (auto v = r.string("durable")) {
    if (v->empty()) r.fail("durable", "empty durable consumer name");
    if (std::any_of(v->begin(), v->end(), [](char c) {
          return c == '.' || c == '*' || c == '>' || c == '/' || c == '\\' ||
                 std::isspace(static_cast<unsigned char>(c)) != 0 || std::iscntrl(static_cast<unsigned char>(c)) != 0;
        }))
      r.fail("durable",
             "durable consumer names may not contain '.', '*', '>', '/', '\\' or white space (NATS uses them in "
             "subjects and file names), got '" +
                 *v + "'");
    bus.durable = std::move(*v);
  }
  if (auto v = r.integer("ack_wait_s", 1, 86'400)) bus.ack_wait = std::chrono::seconds(*v);
  if (auto v = r.integer("max_ack_pending", 1, 1'000'000'000)) bus.max_ack_pending = *v;
  if (auto v = r.integer("fetch_batch", 1, 4096)) bus.fetch_batch = static_cast<int>(*v);
  r.finish();

  if (bus.has(BusRole::kCollector) && bus.collector_name.empty())
    r.fail("collector_name",
           "required with the collector role: this collector's name on the bus, e.g. \"tokyo-a\" (A/B collectors "
           "on one feed need different names)");
  if (bus.has(BusRole::kStrategy) && !config.strategy.enabled)
    r.fail("roles", "the strategy role needs [strategy] enabled = true");
  // A restarted aggregator replays the stream from below every second it
  // could still amend (runtime/restart_checkpoint.h): the stream must keep
  // that much, and more for the time the aggregator is down.
  if (bus.has(BusRole::kAggregator) && config.bars.amend_horizon >= bus.max_age)
    r.fail(r.node("max_age_h") != nullptr ? "max_age_h" : "roles",
           "max_age_h (" + std::to_string(bus.max_age.count()) + " h) must exceed [bars] amend_horizon_s (" +
               std::to_string(config.bars.amend_horizon.count()) +
               " s) with the aggregator role: a restarted aggregator replays the stream from below every second it "
               "could still amend");
}

}  // namespace

std::string_view to_string(BusRole role) noexcept {
  switch (role) {
    case BusRole::kCollector: return "collector";
    case BusRole::kAggregator: return "aggregator";
    case BusRole::kStrategy: return "strategy";
  }
  return "unknown";
}

bool BusConfig::has(BusRole role) const noexcept {
  return enabled && std::find(roles.begin(), roles.end(), role) != roles.end();
}

std::vector<const ThreadConfig*> PipelineConfig::threads() const {
  std::vector<const ThreadConfig*> out;
  for (const auto& feed : feeds) out.push_back(&feed.thread);
  out.push_back(&aggregator);
  out.push_back(&writer);
  if (bus.enabled) out.push_back(&bus_threads);
  return out;
}

PipelineConfig default_pipeline_config() {
  PipelineConfig config;
  config.markets = {
      {"BINANCE", {"btcusdt", "ethusdt"}},
      {"BINANCE_FUTURES", {"btcusdt", "ethusdt"}},
      {"BYBIT", {"BTCUSDT", "ETHUSDT"}},
      {"BYBIT_SPOT", {"BTCUSDT", "ETHUSDT"}},
      {"OKEX", {"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP"}},
      {"COINBASE", {"BTC-USD", "ETH-USD"}},
  };
  FeedThreadConfig feed;
  feed.thread.name = "tf-feed-0";
  for (const auto& [exchange, symbols] : config.markets) feed.exchanges.push_back(exchange);
  config.feeds.push_back(std::move(feed));
  return config;
}

PipelineConfig parse_pipeline_config(std::string_view toml_text, const std::filesystem::path& file) {
  const Context ctx(file.string());
  toml::table root;
  try {
    root = toml::parse(toml_text, file.string());
  } catch (const toml::parse_error& e) {
    ctx.fail(&e.source(), "", "TOML syntax error: " + std::string(e.description()));
  }
  reject_passwords(ctx, root, "");

  PipelineConfig config = default_pipeline_config();
  config.source = file;
  TableReader r(ctx, root, "");
  if (const toml::table* markets = r.table("markets")) read_markets(ctx, *markets, config);
  // Re-derive the default feed's exchanges from the markets actually given.
  config.feeds[0].exchanges.clear();
  if (const toml::table* threads = r.table("threads")) {
    TableReader tr(ctx, *threads, "threads");
    read_threads(ctx, tr, config);
  } else {
    for (const auto& [exchange, symbols] : config.markets) config.feeds[0].exchanges.push_back(exchange);
  }
  if (const toml::table* rings = r.table("rings")) {
    TableReader rr(ctx, *rings, "rings");
    read_rings(rr, config.rings);
  }
  if (const toml::table* bars = r.table("bars")) {
    TableReader br(ctx, *bars, "bars");
    read_bars(ctx, br, config.bars);
  }
  if (const toml::table* influx = r.table("influx")) {
    TableReader ir(ctx, *influx, "influx");
    read_influx(ctx, ir, config.influx);
  }
  if (const toml::table* metrics = r.table("metrics")) {
    TableReader mr(ctx, *metrics, "metrics");
    read_metrics(mr, config.metrics);
  }
  if (const toml::table* live = r.table("feeds")) {
    TableReader lr(ctx, *live, "feeds");
    read_live(ctx, lr, config, config.live);
  }
  if (const toml::table* strategy = r.table("strategy")) {
    TableReader sr(ctx, *strategy, "strategy");
    read_strategy(ctx, sr, config, config.strategy);
  }
  if (const toml::table* signals = r.table("signals")) {
    TableReader gr(ctx, *signals, "signals");
    read_signals(ctx, gr, config.signals);
  }
  if (const toml::table* shutdown = r.table("shutdown")) {
    TableReader sr(ctx, *shutdown, "shutdown");
    if (auto v = sr.integer("deadline_ms", 100, 600'000)) config.shutdown_deadline = std::chrono::milliseconds(*v);
    sr.finish();
  }
  if (const toml::table* memory = r.table("memory")) {
    TableReader mr(ctx, *memory, "memory");
    if (auto v = mr.boolean("lock")) config.memory.lock = *v;
    mr.finish();
  }
  if (const toml::table* bus = r.table("bus")) {
    TableReader br(ctx, *bus, "bus");
    read_bus(ctx, br, config, config.bus);
  }
  r.finish();
  return config;
}

PipelineConfig load_pipeline_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot open the config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": cannot read the config file");
  return parse_pipeline_config(text.str(), file);
}

InfluxSinkConfig make_influx_sink_config(const PipelineConfig& config) {
  const InfluxConfig& influx = config.influx;
  InfluxSinkConfig sink;
  sink.endpoint.url = influx.url;
  sink.endpoint.database = influx.database;
  sink.endpoint.gzip = influx.gzip;
  if (!influx.credentials_file.empty()) require_private_file(influx.credentials_file, "influx.credentials_file");
  sink.endpoint.credentials = load_influx_credentials(influx.credentials_file);
  sink.batch_lines = influx.batch_lines;
  sink.max_batch_age = influx.batch_age;
  sink.retention = retention_policies(config.bars.rollups, influx.retention);
  if (!influx.spool_dir.empty())
    sink.spool = SpoolConfig{
        .dir = influx.spool_dir, .max_bytes = influx.spool_max_bytes, .full_policy = influx.spool_full_policy};
  return sink;
}

std::filesystem::path checkpoint_path(const PipelineConfig& config) {
  if (config.bars.checkpoint == "off") return {};
  if (!config.bars.checkpoint.empty()) return config.bars.checkpoint;
  if (config.influx.spool_dir.empty()) return {};
  // Beside the spool, not in it: the spool owns its directory's files.
  std::filesystem::path spool = config.influx.spool_dir;
  if (!spool.has_filename()) spool = spool.parent_path();  // "var/spool/"
  return spool.parent_path() / "checkpoint";
}

void require_private_file(const std::filesystem::path& file, std::string_view key) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return;  // missing or unreadable: the reader names it
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
  if ((mode & 077u) == 0) return;
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode);
  // It holds a password: anyone else on the host who can read it has it.
  throw ConfigError(file.string() + ": " + std::string(key) + " is accessible by group or others (mode " + octal +
                    "); a credentials file must be readable only by its owner: chmod 600 " + file.string());
}

std::optional<std::string> metrics_bind_warning(const PipelineConfig& config) {
  const std::string& bind = config.metrics.bind;
  if (bind == "localhost") return std::nullopt;
  in_addr v4{};
  if (::inet_pton(AF_INET, bind.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) return std::nullopt;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, bind.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6)) return std::nullopt;
  const std::string where = config.source.empty() ? std::string("the default config") : config.source.string();
  return "metrics.bind = \"" + bind + "\" in " + where +
         " is not a loopback address: /health and /metrics (no authentication) are reachable from other hosts; "
         "set metrics.bind = \"127.0.0.1\" unless that is intended";
}

}  // namespace tickflow
