// runtime/restart_checkpoint.h
//
// The restart checkpoint: where each market stood when the live pipeline
// last sealed its bars, so that a restart (after SIGKILL, a crash, or a
// plain stop) continues exactly (issue 15). Per market:
//   * closed_until_s: every 1 s bar before it was sealed, and stored
//     (acknowledged by InfluxDB or in the disk spool);
//   * the newest numeric trade id and exchange time in those seconds: the
//     feed resumes its de-duplication and gap detection from them, and the
//     REST backfill heals [id + 1, first live id - 1];
//   * the open rollup windows (1m ... 4h): the fold of their children so
//     far, so a window spanning the restart is the same fold as without one;
//   * bus ingest only: replay_from_s, where the restart's rebuild starts.
//     The bus redelivers every message from the ack floor, which lies below
//     every trade of the seconds a late trade could still amend (the
//     amendment horizon), so the restart rebuilds those seconds from the
//     stream and an amendment after the restart is the uninterrupted run's
//     (a trade older than that is a late drop in both). Its windows are
//     the folds of the children before replay_from_s.
//
// Why a file and not InfluxDB: the bars a restart needs may still be in the
// disk spool (InfluxDB down at the kill), InfluxDB may be down at start,
// and trade ids are not stored there at all. The file is written only after
// every bar it covers is settled (runtime/checkpoint_keeper.h), so it never
// claims more than the database or the spool holds.
//
// Format: text, one record per line, so an operator can read it:
//   tickflow-checkpoint 1 written_at_ns=<ns>
//   market <name> <closed_until_s> <trade_id> <exchange_ns> [replay_from_s=<s>]
//   window <name> <timeframe_s> <start_s> <open> <high> <low> <close> <vbuy> <vsell>
//          <cbuy> <csell> <lbuy> <lsell> <qbuy> <qsell>          (one line)
//   crc32 <8 hex digits: zlib crc32 of every byte before this line>
// Doubles are written shortest-round-trip (std::to_chars), so they read
// back bit for bit. Names are aggr-server market names (printable ASCII,
// no space).
//
// Crash safety (write_checkpoint_file): write a temp file beside the
// target, fsync it, rename it over the target, fsync the directory. A crash
// leaves the old file or the new one, never a mix; the CRC catches what the
// file system did not (a truncated or edited file).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/market_id.h"

namespace tickflow {

// Rollup timeframes a checkpoint can carry per market.
inline constexpr std::size_t kCheckpointMaxWindows = 16;

// One market's resume point, as the aggregator thread fills it: plain data,
// so a snapshot is copied into a preallocated buffer without allocating.
struct MarketResumePoint {
  MarketId market = kInvalidMarket;
  std::int64_t closed_until_s = 0;
  std::uint64_t sealed_trade_id = 0;    // 0: none (or hashed ids)
  std::int64_t sealed_exchange_ns = 0;  // 0: none
  // Bus ingest (runtime/bus_ingest.h), 0 otherwise: the restart replays the
  // stream from the ack floor and rebuilds every second from here on (the
  // frontier less the amendment horizon), and `window` holds the folds of
  // the children before it, not before closed_until_s.
  std::int64_t replay_from_s = 0;
  std::uint32_t windows = 0;  // entries of `window` in use
  // Open rollup windows: open_time_s = the window's start, timeframe_s its
  // length, the values the fold of its children so far.
  std::array<Bar, kCheckpointMaxWindows> window{};
};

struct MarketCheckpoint {
  std::string name;         // "BINANCE:btcusdt"
  MarketResumePoint point;  // point.market is meaningless in a file
};

struct RestartCheckpoint {
  std::int64_t written_at_ns = 0;  // wall clock
  std::vector<MarketCheckpoint> markets;
};

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string encode_checkpoint(const RestartCheckpoint& checkpoint);

// Throws CheckpointError naming `source` and the line for a wrong header,
// a malformed line, a window of an unknown market, or a CRC mismatch.
RestartCheckpoint decode_checkpoint(std::string_view text, const std::string& source);

// Atomically replaces `file` (see the banner). Throws std::system_error
// (ENOSPC, EROFS, ...) naming the file; the previous file is then intact.
void write_checkpoint_file(const std::filesystem::path& file, const RestartCheckpoint& checkpoint);

// nullopt when `file` does not exist. Throws CheckpointError when it exists
// but cannot be read or decoded.
std::optional<RestartCheckpoint> read_checkpoint_file(const std::filesystem::path& file);

}  // namespace tickflow
