// config/pipeline_config.h
//
// PipelineConfig: everything `tickflow run` needs to know about one
// deployment, as plain structs, loaded from one TOML file (the profiles in
// tuning/*.toml are such files). Which markets to subscribe to, how many feed
// threads own which exchanges, where each thread runs and how it waits, ring
// sizes and what a full ring does, bar timing, the InfluxDB sink and its
// spool, the metrics endpoint, memory locking, the SqueezeFlow strategy's parameters and
// symbols, where its signals go (InfluxDB, a JSONL file, Redis), and the
// roles it plays on a NATS JetStream bus ([bus]: collector, aggregator,
// strategy; none by default).
//
// Promises:
//  * every key has a default, so an empty file is a valid (laptop) config;
//  * load_pipeline_config() rejects, with a ConfigError, anything it does not
//    understand: an unknown key (with the closest known key as a hint), a
//    wrong type, a bad value, a TOML syntax error. The message names the
//    file, the key path (`threads.aggregator.wait`), the problem and, when
//    the TOML source gives one, line:column;
//  * no secret is ever read from the config: a `password` key anywhere is
//    an error pointing at INFLUX_PASSWORD or `influx.credentials_file` (under
//    [signals.redis]: at REDIS_PASSWORD; under [bus] a `password`, `token`,
//    `user`, `nkey`, `seed` or `jwt` key, or a server URL with user:pass@,
//    points at bus.credentials_file and NATS_USER / NATS_PASSWORD / NATS_TOKEN);
//  * the strategy's parameters are checked with SqueezeFlowParams::validate()
//    at load time; its complaint becomes a ConfigError naming the file and
//    the `strategy.<key>`;
//  * exchange names are checked against feeds' known_exchanges()
//    (feeds/parser_factory.h): config/ sits above feeds/, so there is one
//    list of the names an exchange may go by.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar_builder.h"
#include "pipeline/timeframe.h"
#include "ringbuffers/full_ring_policy.h"
#include "ringbuffers/wait_strategy.h"
#include "sinks/disk_spool.h"
#include "sinks/influx_sink.h"
#include "sinks/redis_signal_sink.h"
#include "strategy/strategy_params.h"

namespace tickflow {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How one pipeline thread runs.
struct ThreadConfig {
  std::string name;                  // pthread name: tf-feed-N, tf-agg, tf-writer by default (<= 15 chars)
  std::optional<int> cpu;            // pin to this CPU; none: let the scheduler place it
  std::optional<int> fifo_priority;  // SCHED_FIFO priority 1..99; none: SCHED_OTHER
  WaitKind wait = WaitKind::kPark;   // what the thread does when its input is empty
};

// A feed thread: its connections (one per exchange it owns) and its ring.
struct FeedThreadConfig {
  ThreadConfig thread;
  std::vector<std::string> exchanges;  // parser names, e.g. BINANCE, BINANCE_FUTURES, OKEX
};

struct RingConfig {
  std::size_t feed_events = 65536;   // each feed -> aggregator ring, in events (power of two)
  std::size_t writer_items = 16384;  // aggregator -> writer ring, in items (power of two)
  FullRingPolicy full_policy = FullRingPolicy::kBlock;
};

struct BarConfig {
  // Defaults: BarBuilderConfig's (pipeline/bar_builder.h), the one definition.
  // A bar closes at watermark >= end + lateness.
  std::chrono::milliseconds lateness{BarBuilderConfig{}.lateness_ns / 1'000'000};
  // Wall-clock close for markets that go quiet.
  std::chrono::milliseconds quiet_delay{BarBuilderConfig{}.quiet_close_delay_ns / 1'000'000};
  // `tickflow run` (the wall clock) closes on time and amends the rare
  // straggler: its lateness is live_lateness (`lateness` stays the event
  // clock's: replay, backtest), measured on real captures (bench/README.md,
  // "Bar visibility"); quiet markets close after their connection's
  // observed lag + quiet_lag_margin (quiet_close = "lag"), at most
  // quiet_delay, or after quiet_delay ("fixed").
  std::chrono::milliseconds live_lateness{50};
  bool quiet_close_from_lag = true;
  std::chrono::milliseconds quiet_lag_margin{BarBuilderConfig{}.quiet_lag_margin_ns / 1'000'000};
  // Later trades are dropped and counted.
  std::chrono::seconds amend_horizon{BarBuilderConfig{}.amend_horizon_ns / 1'000'000'000};
  std::vector<Timeframe> rollups = default_rollup_timeframes();
  // Flow statistics per symbol group on the aggregator thread, written as
  // flow_<tf> beside trades_<tf> (pipeline/README.md).
  bool flow_stats = true;
  // The restart checkpoint (runtime/restart_checkpoint.h): where each market
  // stood, written at most once a second once its bars are stored. Empty:
  // `checkpoint` beside influx.spool_dir (checkpoint_path()); "off": none.
  std::filesystem::path checkpoint;
};

struct InfluxConfig {
  bool enabled = true;
  std::string url = "http://127.0.0.1:8086";
  std::string database = "significant_trades";
  bool gzip = true;
  std::size_t batch_lines = 5000;
  std::chrono::milliseconds batch_age{100};
  // Live: seal the batch as soon as every market has closed another second
  // (runtime/influx_writer.h, "Seal on close"); batch_age still bounds it.
  bool seal_on_close = true;
  std::map<std::string, std::string> retention{
      {"1s", "7d"}};                              // canonical timeframe name -> InfluxQL duration; unlisted: INF
  std::string credentials_file;                   // empty: INFLUX_USERNAME / INFLUX_PASSWORD from the environment
  std::filesystem::path spool_dir = "var/spool";  // empty: no disk spool
  std::uint64_t spool_max_bytes = 1ull << 30;
  SpoolFullPolicy spool_full_policy = SpoolFullPolicy::kBlock;
  // /health answers 503 "degraded" when the sink has data pending and no
  // write has succeeded for longer than this, when InfluxDB's last answer
  // was 401/403, or when the spool's disk use is above this fraction of
  // spool_max_bytes.
  std::chrono::milliseconds health_max_undelivered{10000};
  double health_max_spool_fraction = 0.8;
};

struct MetricsConfig {
  // Not loopback: allowed, with a warning at start (metrics_bind_warning()):
  // /health and /metrics have no authentication.
  std::string bind = "127.0.0.1";
  std::uint16_t port = 9464;
  // The HTTP server's budget against slow clients (runtime/http_server.h):
  // a whole request within this, and at most this many connections (a new
  // one beyond closes the least recently active).
  std::chrono::milliseconds request_timeout{3000};
  std::size_t max_connections = 64;
  std::chrono::milliseconds max_trade_age{30000};  // /health answers 503 when a market's last trade is older
  std::chrono::milliseconds max_bar_age{5000};     // ... or its last closed 1 s bar is older than this past its end
};

// Where one exchange's connections go. Empty/0 keeps the venue's public
// endpoint; tests (and proxies) point these at 127.0.0.1.
struct EndpointConfig {
  std::string host;
  std::uint16_t port = 0;
  std::string path;           // Binance: the prefix before "?streams=" ("/stream")
  std::string ca_file;        // trust this CA (PEM) instead of the system store; verification stays on
  std::string rest_url;       // REST backfill base URL, e.g. https://api.binance.com
  std::string bootstrap_url;  // KuCoin: the REST call that hands out the websocket endpoint and token
};

// The live connections: timeouts, keepalive, backfill.
struct LiveFeedsConfig {
  std::chrono::milliseconds stale_after{30'000};  // no frame this long: reconnect
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30'000};
  bool backfill = true;  // REST backfill of trade-id gaps
  // Subscribe the venues' liquidation streams by default (where an exchange
  // publishes them); [feeds.channels] overrides per exchange.
  bool liquidations = true;
  // With the backfill: a market's bars after a gap wait this long at most
  // for the backfill to fill them, so they are written once, complete.
  std::chrono::milliseconds gap_hold{10'000};
  // TLS 1.3 records opened by tickflow's reader (feeds/tls13_record_reader.h)
  // or, "openssl", by SSL_read; TLS 1.2 servers always use SSL_read.
  bool own_tls_records = true;
  std::map<std::string, EndpointConfig> endpoints;           // by exchange name ([feeds.endpoints.BINANCE])
  std::map<std::string, std::vector<std::string>> channels;  // by exchange; absent: the venue's defaults
};

// One symbol the strategy trades ([[strategy.symbols]]).
struct StrategySymbolConfig {
  std::string base;    // base asset as the registry knows it, e.g. "BTC" (the symbol group)
  std::string symbol;  // signal symbol, default base + "USDT" ("BTCUSDT")
  // e.g. "BINANCE_FUTURES:btcusdt"; empty: chosen at run time (the group's perp with the most volume)
  std::string execution_market;
};

// The SqueezeFlow strategy ([strategy]). Timeframes are written as names
// ("5m"), durations as integer seconds (`cooldown_s`), like the rest of the file.
struct StrategyConfig {
  bool enabled = false;
  SqueezeFlowParams params;  // spec defaults, overridden key by key
  // Empty while enabled: every symbol group that has both a spot and a perp market.
  std::vector<StrategySymbolConfig> symbols;
  std::string debug_symbol;  // base asset whose every evaluation goes to debug_csv ("" = none)
  std::filesystem::path debug_csv;
};

// Where the strategy's signals go ([signals], [signals.redis]).
struct SignalSinksConfig {
  bool influx = true;           // measurement `signals` through the [influx] sink (only when [influx] is enabled)
  std::filesystem::path jsonl;  // empty: no JSONL file
  bool redis = false;
  // host, port, queue_capacity, key_prefix, history_length, timeouts. The
  // password comes from the environment (REDIS_PASSWORD) only; a `password`
  // key is refused.
  RedisSinkConfig redis_config;
};

// How the process holds its memory ([memory]).
struct MemoryConfig {
  // mlockall(MCL_CURRENT | MCL_FUTURE) at start-up, before the feeds
  // connect, after which the pipeline's tables are prefaulted
  // (runtime/memory_lock.h): no page of the hot path is ever paged out or
  // first touched under load. Needs RLIMIT_MEMLOCK (LimitMEMLOCK=infinity in
  // tuning/tickflow.service) or CAP_IPC_LOCK; start-up fails otherwise.
  bool lock = false;
};

// The NATS JetStream bus ([bus], issue 19): which roles this process plays
// when the pipeline spans hosts, and how it reaches the cluster. Off by
// default: one process does everything with in-process rings (all-in-one).
// Self-contained here (strings and plain numbers): bus/ turns it into its
// NatsConnectionConfig, StreamSpec, ConsumerSpec and BusPublisherConfig.
enum class BusRole : std::uint8_t {
  kCollector = 1,   // feeds -> parse -> publish events (tickflow.trades/liquidations/status.>)
  kAggregator = 2,  // a durable consumer of the events feeds the Aggregator; publishes closed bars
  kStrategy = 4,    // a durable consumer of the bars feeds the StrategyEngine; publishes signals
};
std::string_view to_string(BusRole role) noexcept;  // "collector", "aggregator", "strategy"

struct BusConfig {
  bool enabled = false;        // implied by a non-empty `roles`; `enabled = false` switches [bus] off
  std::vector<BusRole> roles;  // in the file's order, each once
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};  // nats:// or tls://, no credentials in them
  // Empty: NATS_USER / NATS_PASSWORD or NATS_TOKEN from the environment
  // (none set: no authentication). Never a secret in the config itself.
  std::string credentials_file;
  std::string collector_name;  // required with the collector role: [A-Za-z0-9_-]{1,64}, e.g. "tokyo-a"
  std::string events_stream = "TICKFLOW_EVENTS";
  std::string bars_stream = "TICKFLOW_BARS";
  std::string signals_stream = "TICKFLOW_SIGNALS";
  int replicas = 1;                            // 1, 3 or 5 (a Raft group needs an odd size)
  std::chrono::seconds duplicate_window{120};  // Nats-Msg-Id dedup window (A/B collectors); <= max_age
  std::chrono::hours max_age{24};
  std::int64_t max_in_flight = 4096;                  // unacked async publishes per process
  std::string on_full = "block";                      // a full in-flight window: "block" or "spool"
  std::filesystem::path spool_dir = "var/bus-spool";  // on_full = "spool": where
  std::string durable = "tickflow-aggregator";        // this process's durable consumer (aggregator, strategy)
  std::chrono::seconds ack_wait{30};
  std::int64_t max_ack_pending = 1'000'000;
  int fetch_batch = 256;  // messages per pull, 1..4096

  // True when the bus is enabled and `role` is one of the roles.
  bool has(BusRole role) const noexcept;
};

struct PipelineConfig {
  std::filesystem::path source;                             // the file it was loaded from (empty: defaults)
  std::map<std::string, std::vector<std::string>> markets;  // exchange -> symbols, as the exchange spells them
  std::vector<FeedThreadConfig> feeds;                      // at least one; together they own every exchange
  ThreadConfig aggregator{"tf-agg", std::nullopt, std::nullopt, WaitKind::kPark};
  ThreadConfig writer{"tf-writer", std::nullopt, std::nullopt, WaitKind::kPark};
  // [threads.bus]: the cpu and priority of every NATS bus thread this
  // process runs (tf-bus-out, tf-bus-in, tf-bus-bars, tf-bus-strategy,
  // tf-bus-signals) and so of the libnats threads they start, which inherit
  // them. Each keeps its own name; "tf-bus-*" names them all in plans and
  // messages. Always park (they wait on NATS).
  ThreadConfig bus_threads{"tf-bus-*", std::nullopt, std::nullopt, WaitKind::kPark};
  RingConfig rings;
  BarConfig bars;
  InfluxConfig influx;
  MetricsConfig metrics;
  LiveFeedsConfig live;
  std::chrono::milliseconds shutdown_deadline{5000};  // SIGINT/SIGTERM: drain and flush within this
  MemoryConfig memory;
  StrategyConfig strategy;
  SignalSinksConfig signals;
  BusConfig bus;

  // Feeds first (in order), then the aggregator, then the writer, then the
  // bus threads (bus_threads) when [bus] is enabled.
  std::vector<const ThreadConfig*> threads() const;
};

// The restart checkpoint's file: bars.checkpoint, else `checkpoint` beside
// the spool directory; empty when off ("off", or no spool and no path).
std::filesystem::path checkpoint_path(const PipelineConfig& config);

// The defaults: Binance (spot, USD-M), Bybit (spot, linear), OKX (spot,
// swap) and Coinbase (spot), BTC and ETH; one feed thread owning them all;
// every thread parks, none is pinned.
PipelineConfig default_pipeline_config();

// Loads and validates `file`. Throws ConfigError (see the banner).
PipelineConfig load_pipeline_config(const std::filesystem::path& file);

// The same from TOML text; `file` only names the source in messages.
PipelineConfig parse_pipeline_config(std::string_view toml_text, const std::filesystem::path& file);

// The sink's configuration: endpoint, batching, retention policies aggr_1s
// and aggr_<tf> for every rollup (unlisted durations: INF), spool. Reads the
// credentials (influx.credentials_file, else the environment) with
// load_influx_credentials(), which throws std::runtime_error naming the file
// when it cannot be read. A credentials file that group or others may access
// is refused first (require_private_file()).
InfluxSinkConfig make_influx_sink_config(const PipelineConfig& config);

// Like ssh with a private key: throws ConfigError when `file` (following
// symlinks) grants group or others any permission, naming the file, the
// config key it came from (`key`, e.g. "influx.credentials_file"), its mode
// and the fix (chmod 600). A file that does not exist passes: reading it
// reports that.
void require_private_file(const std::filesystem::path& file, std::string_view key);

// The one warning line for a metrics endpoint bound beyond loopback (naming
// metrics.bind, its value and the config file), or nothing for 127.0.0.0/8,
// ::1 and "localhost". The live pipeline logs it once at start.
std::optional<std::string> metrics_bind_warning(const PipelineConfig& config);

}  // namespace tickflow
