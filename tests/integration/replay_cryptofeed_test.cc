// tests/integration/replay_cryptofeed_test.cc
//
// `tickflow replay --trades-out` on every cryptofeed capture: the whole
// files in ../shared/data/cryptofeed (every venue's real session) and the
// trimmed copies in tests/data/cryptofeed. What the CLI writes is checked
// against the independent Python reference of each venue
// (tests/tools/<venue>_reference.py): the number of trades (liquidations
// apart), the taker buys, and the summed base quantity. The exchange is
// taken from the file name, as a user would run it; a capture whose
// exchange tickflow did not know would fail here (Bitstamp once did).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tickflow {
namespace {

namespace fs = std::filesystem;

struct Capture {
  const char* file;    // under <data>/cryptofeed
  const char* script;  // tests/tools/<script>
  const char* before;  // argument before the path ("" for none)
  const char* after;   // argument after the path ("" for none)
};

constexpr Capture kCaptures[] = {
    {"BINANCE.ws.1.0.gz", "binance_cryptofeed_reference.py", "", ""},
    {"BINANCE_FUTURES.ws.1.0.gz", "binance_cryptofeed_reference.py", "", ""},
    {"BINANCE_DELIVERY.ws.1.0.gz", "binance_cryptofeed_reference.py", "", ""},
    {"BITFINEX.ws.11.0.gz", "bitfinex_reference.py", "", ""},
    {"BITGET.ws.1.0.gz", "bitget_reference.py", "", ""},
    {"BITMEX.ws.1.0.gz", "bitmex_reference.py", "", ""},
    {"BITSTAMP.ws.1.0.gz", "bitstamp_reference.py", "", ""},
    {"BYBIT.ws.25.0.gz", "bybit_reference.py", "", ""},
    {"COINBASE.ws.28.0.gz", "coinbase_reference.py", "", ""},
    {"DERIBIT.ws.1.0.gz", "deribit_reference.py", "", ""},
    {"DYDX.ws.1.0.gz", "dydx_reference.py", "", ""},
    {"GATEIO.ws.1.0.gz", "gateio_reference.py", "", ""},
    {"GATEIO_FUTURES.ws.1.0.gz", "gateio_reference.py", "", ""},
    {"HUOBI.ws.44.0.gz", "htx_reference.py", "", "HUOBI"},
    {"HUOBI_SWAP.ws.1.0.gz", "htx_reference.py", "", "HUOBI_SWAP"},
    {"KRAKEN.ws.48.0.gz", "kraken_reference.py", "spot", ""},
    {"KRAKEN.ws.50.0.gz", "kraken_reference.py", "spot", ""},
    {"KRAKEN_FUTURES.ws.1.0.gz", "kraken_reference.py", "futures", ""},
    {"KUCOIN.ws.1.0.gz", "kucoin_reference.py", "", ""},
    {"OKX.ws.1.0.gz", "okx_reference.py", "", ""},
    {"PHEMEX.ws.1.0.gz", "phemex_reference.py", "", ""},
};

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) out = "FAILED (" + std::to_string(status) + "): " + command + "\n" + out;
  return out;
}

// The reference's figures: "key=value" or "key value" lines.
std::map<std::string, std::string> reference(const Capture& c, const fs::path& path) {
  std::string cmd = std::string("python3 ") + TICKFLOW_SOURCE_DIR + "/tests/tools/" + c.script;
  if (*c.before) cmd += std::string(" ") + c.before;
  cmd += " '" + path.string() + "'";
  if (*c.after) cmd += std::string(" ") + c.after;
  std::map<std::string, std::string> figures;
  std::istringstream in(run(cmd + " 2>&1"));
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t sep = line.find_first_of("= ");
    if (sep != std::string::npos) figures[line.substr(0, sep)] = line.substr(sep + 1);
  }
  return figures;
}

struct CsvTotals {
  std::size_t trades = 0, liquidations = 0, taker_buys = 0;
  double sum_qty = 0;
  bool header = false;
};

// market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation
CsvTotals read_trades(const fs::path& csv) {
  CsvTotals t;
  std::ifstream in(csv);
  std::string line;
  if (std::getline(in, line))
    t.header = line == "market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation";
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() != 8) {
      ADD_FAILURE() << "bad line: " << line;
      continue;
    }
    if (f[7] == "1") {
      ++t.liquidations;
      continue;
    }
    ++t.trades;
    t.taker_buys += f[6] == "buy" ? 1 : 0;
    t.sum_qty += std::strtod(f[5].c_str(), nullptr);
  }
  return t;
}

void check(const Capture& c, const fs::path& path, const fs::path& dir) {
  SCOPED_TRACE(path.string());
  const fs::path csv = dir / (std::string(c.file) + ".csv");
  const std::string out =
      run(std::string(TICKFLOW_BINARY) + " replay --trades-out '" + csv.string() + "' '" + path.string() + "' 2>&1");
  ASSERT_EQ(out.rfind("FAILED", 0), std::string::npos) << out;
  const CsvTotals got = read_trades(csv);
  EXPECT_TRUE(got.header);
  const auto want = reference(c, path);
  ASSERT_TRUE(want.count("trades")) << "the reference printed no trades figure";
  EXPECT_EQ(got.trades, std::stoull(want.at("trades")));
  EXPECT_EQ(got.liquidations, want.count("liquidations") ? std::stoull(want.at("liquidations")) : 0u);
  if (want.count("taker_buys")) {
    EXPECT_EQ(got.taker_buys, std::stoull(want.at("taker_buys")));
  }
  if (want.count("sum_qty")) {
    const double expected = std::stod(want.at("sum_qty"));
    EXPECT_NEAR(got.sum_qty, expected, 1e-9 * std::max(1.0, std::abs(expected)));
  }
}

class ReplayCryptofeed : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tickflow-replay-cf-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ReplayCryptofeed, EveryWholeCaptureMatchesItsReference) {
  const fs::path data = fs::path(TICKFLOW_SHARED_DATA_DIR) / "cryptofeed";
  if (!fs::exists(data)) GTEST_SKIP() << "no " << data;
  std::size_t checked = 0;
  for (const Capture& c : kCaptures) {
    const fs::path path = data / c.file;
    ASSERT_TRUE(fs::exists(path)) << path;
    check(c, path, dir_);
    ++checked;
  }
  // Every capture of the folder is in the table.
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(data)) files += entry.path().extension() == ".gz" ? 1 : 0;
  EXPECT_EQ(checked, files);
}

TEST_F(ReplayCryptofeed, EveryTrimmedCopyMatchesItsReference) {
  const fs::path data = fs::path(TICKFLOW_TEST_DATA_DIR) / "cryptofeed";
  std::size_t checked = 0;
  for (const Capture& c : kCaptures) {
    const fs::path path = data / c.file;
    if (!fs::exists(path)) continue;
    check(c, path, dir_);
    ++checked;
  }
  EXPECT_GE(checked, 17u);  // tests/data/README.md lists them
}

}  // namespace
}  // namespace tickflow
