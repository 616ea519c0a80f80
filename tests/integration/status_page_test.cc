// tests/integration/status_page_test.cc
//
// The live status page in a real browser. `tickflow run` is fed by two local
// websocket servers that play the re-timed Binance captures of
// tests/data/binance-20240808-trades in real time (paced_ws_server.h: spot
// and USD-M btcusdt, each trade published at its trade time) and writes to a
// real influxd; headless Chromium (headless_chromium.h: offline, its own
// profile) loads http://127.0.0.1:<port>/ and the test reads the DOM the
// page's script rendered from /health and /metrics.
//
//  * RendersMarketsRingsSinkAndRates: once both connections have trades and
//    the sink has written, a dump (retried until the page has rendered
//    everything, with a deadline) shows each configured market with a
//    numeric last-trade age under 10 s, both connections connected, the
//    feed ring with the configured capacity (32768, not the default) and a
//    depth, the writer ring, the sink state "ok", the receive-to-bar
//    latency quantiles, a plausible number of 1 s bars per second (two
//    markets closing about one bar a second each; the rate needs two
//    readings, and the second run's page finds the first's in
//    localStorage), and the strategy block as /health has it (or "not
//    reported" when /health has none). Exactly the configured markets and
//    connections: BINANCE:ethusdt, which is not configured, is nowhere.
//    With TICKFLOW_STATUS_PAGE_SCREENSHOT=<file.png> it also saves a
//    1280x900 screenshot there (how tuning/status-page.png was made).
//    Then the page as served, opened where /health cannot be fetched
//    (file://: the fetch fails as it does when the pipeline has stopped),
//    shows the error banner and no data; SIGTERM: exit 0.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/capture_frames.h"
#include "tests/integration/headless_chromium.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/paced_ws_server.h"
#include "tests/integration/tickflow_child.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::HeadlessChromium;
using testing::http_get;
using testing::InfluxdProcess;
using testing::metric;
using testing::PacedFrame;
using testing::PacedWsServer;
using testing::poll_until;
using testing::TempDir;
using testing::Tickflow;
namespace fs = std::filesystem;

constexpr std::size_t kFeedRing = 32768;  // [rings] feed_events: not the default 65536
const std::vector<std::string> kMarkets = {"BINANCE:btcusdt", "BINANCE_FUTURES:btcusdt"};
constexpr const char* kAbsentMarket = "BINANCE:ethusdt";

struct Streams {
  std::vector<PacedFrame> spot, usdm;
};

// Both captures re-timed by one whole number of seconds so that their first
// trade was 5 s ago, each frame published at its trade time: a live
// exchange, about one trade-carrying second per market per second for the
// next six minutes (the page needs a steady bar rate to show one).
Streams paced_streams() {
  const std::vector<std::string> spot = testing::binance_0808_frames("spot_btcusdt.gz");
  const std::vector<std::string> usdm = testing::binance_0808_frames("usdm_btcusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot, &usdm})
    for (const std::string& f : *frames) first = std::min(first, testing::trade_time_ms(f));
  const std::int64_t shift = (testing::now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 5'000;
  const auto paced = [shift](const std::vector<std::string>& frames) {
    std::vector<PacedFrame> out;
    for (std::string& f : testing::shift_frames(frames, shift)) {
      // Publication times must not go back; a frame out of trade-time
      // order goes out with the one before it.
      const std::int64_t t = std::max(testing::trade_time_ms(f), out.empty() ? INT64_MIN : out.back().time_ms);
      out.push_back({t, std::move(f)});
    }
    return out;
  };
  return Streams{paced(spot), paced(usdm)};
}

fs::path write_config(const fs::path& dir, const PacedWsServer& spot, const PacedWsServer& usdm,
                      const std::string& influx_url) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[rings]\nfeed_events = " << kFeedRing << "\n\n"
    << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << spot.port() << "\nca_file = \"" << spot.ca_file()
    << "\"\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << usdm.port() << "\nca_file = \""
    << usdm.ca_file() << "\"\n\n"
    << "[influx]\nurl = \"" << influx_url << "\"\nbatch_age_ms = 20\nspool_dir = \"" << (dir / "spool").string()
    << "\"\n\n"
    << "[metrics]\nbind = \"127.0.0.1\"\n\n"
    << "[strategy]\nenabled = true\n[[strategy.symbols]]\nbase = \"BTC\"\n\n"
    << "[signals]\ninflux = true\njsonl = \"" << (dir / "signals.jsonl").string() << "\"\n\n"
    << "[shutdown]\ndeadline_ms = 10000\n";
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

// ---------------------------------------------------------------- reading the DOM

// The <tr ATTR="VALUE">...</tr> element, or "" (rows hold no nested tables).
std::string row(const std::string& dom, const std::string& attr, const std::string& value) {
  const std::string open = "<tr " + attr + "=\"" + value + "\"";
  const std::size_t at = dom.find(open);
  if (at == std::string::npos) return "";
  const std::size_t end = dom.find("</tr>", at);
  return end == std::string::npos ? "" : dom.substr(at, end - at);
}

// The text of the first element in `html` whose class list has `cls`;
// nullopt when there is none.
std::optional<std::string> text_of_class(const std::string& html, const std::string& cls) {
  for (std::size_t at = html.find("class=\""); at != std::string::npos; at = html.find("class=\"", at + 1)) {
    const std::size_t start = at + 7;
    const std::size_t end = html.find('"', start);
    if (end == std::string::npos) return std::nullopt;
    std::istringstream classes(html.substr(start, end - start));
    bool has = false;
    for (std::string c; classes >> c;) has = has || c == cls;
    if (!has) continue;
    const std::size_t text = html.find('>', end);
    const std::size_t close = html.find('<', text);
    if (text == std::string::npos || close == std::string::npos) return std::nullopt;
    return html.substr(text + 1, close - text - 1);
  }
  return std::nullopt;
}

// The text of the element with id="ID".
std::optional<std::string> text_of_id(const std::string& dom, const std::string& id) {
  const std::size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return std::nullopt;
  const std::size_t text = dom.find('>', at);
  const std::size_t close = dom.find('<', text);
  if (text == std::string::npos || close == std::string::npos) return std::nullopt;
  return dom.substr(text + 1, close - text - 1);
}

// "1.2 s" -> 1.2, "32,768" -> 32768; nullopt when the text is not a number
// (the page writes a dash or "never" for what it does not know).
std::optional<double> number(std::optional<std::string> text, const std::string& unit = "") {
  if (!text) return std::nullopt;
  std::string s;
  for (const char c : *text)
    if (c != ',') s += c;
  if (!unit.empty()) {
    if (s.size() <= unit.size() || s.compare(s.size() - unit.size(), unit.size(), unit) != 0) return std::nullopt;
    s.resize(s.size() - unit.size());
  }
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
  return std::stod(s);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The strategy groups /health reports, or nullopt when it reports no
// strategy block (before the /health strategy block exists, or with the
// strategy off).
std::optional<std::vector<std::string>> strategy_groups(const std::string& health) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(health).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object strategy;
  if (doc["strategy"].get(strategy) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::string> out;
  simdjson::dom::array groups;
  if (strategy["groups"].get(groups) == simdjson::SUCCESS)
    for (simdjson::dom::element g : groups) {
      std::string_view symbol;
      if (g["symbol"].get(symbol) == simdjson::SUCCESS) out.emplace_back(symbol);
    }
  return out;
}

// What the rendered page lacks, one line each; empty when it shows
// everything. (Retried: the page fills in over its first readings.)
std::string missing_from(const std::string& dom, const std::string& health) {
  std::ostringstream out;
  if (dom.find("data-rendered=\"") == std::string::npos) out << "the page has not rendered a reading\n";
  if (dom.find("class=\"offline\"") != std::string::npos) out << "the page shows the offline banner\n";
  for (const std::string& market : kMarkets) {
    const std::string r = row(dom, "data-market", market);
    const auto age = number(text_of_class(r, "trade-age"), " s");
    if (r.empty() || text_of_class(r, "market") != market)
      out << "no row for " << market << "\n";
    else if (!age || *age >= 10)  // a live feed: trades every second or so
      out << market << ": last trade age '" << text_of_class(r, "trade-age").value_or("?") << "'\n";
  }
  for (const char* connection : {"0", "1"}) {
    const std::string r = row(dom, "data-connection", connection);
    if (r.find("<td class=\"ok\">connected</td>") == std::string::npos)
      out << "connection " << connection << " not shown connected\n";
  }
  const std::string ring = row(dom, "data-ring", "tf-feed-0");
  if (number(text_of_class(ring, "capacity")) != static_cast<double>(kFeedRing) ||
      !number(text_of_class(ring, "depth")))
    out << "ring tf-feed-0: depth '" << text_of_class(ring, "depth").value_or("?") << "', capacity '"
        << text_of_class(ring, "capacity").value_or("?") << "'\n";
  if (!number(text_of_class(row(dom, "data-ring", "writer: bars"), "depth"))) out << "no writer ring depth\n";
  if (text_of_id(dom, "sink-state") != "ok")
    out << "sink state '" << text_of_id(dom, "sink-state").value_or("?") << "', expected ok\n";
  const std::string latency = row(dom, "data-latency", "tickflow_latency_receive_to_bar_seconds");
  const auto p50 = text_of_class(latency, "p50");
  if (!p50 || !(number(p50, " \xC2\xB5s") || number(p50, " ms") || number(p50, " s")))
    out << "receive-to-bar p50 '" << p50.value_or("?") << "'\n";
  // Two markets, each closing about one 1 s bar a second (a few seconds of
  // the capture have no trade); far more would be a rate over the wrong
  // time, none a rate that is not computed.
  const auto bars = number(text_of_id(dom, "bars-per-second"));
  if (!bars || *bars < 0.5 || *bars > 10)
    out << "1 s bars/s '" << text_of_id(dom, "bars-per-second").value_or("?") << "'\n";
  if (const auto groups = strategy_groups(health)) {
    if (text_of_id(dom, "strategy-state") != "on") out << "strategy shown as not on\n";
    for (const std::string& g : *groups)
      if (row(dom, "data-group", g).empty()) out << "strategy group " << g << " not shown\n";
  } else if (dom.find("strategy off / not reported") == std::string::npos) {
    out << "no 'strategy off / not reported' although /health has no strategy\n";
  }
  return out.str();
}

class StatusPageBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }
};

TEST_F(StatusPageBrowserTest, RendersMarketsRingsSinkAndRates) {
  ASSERT_TRUE(HeadlessChromium::installed())
      << HeadlessChromium::kBinary << " missing: install the Debian package chromium (scripts/setup.sh)";
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const Streams streams = paced_streams();
  InfluxdProcess influx;
  PacedWsServer spot({.frames = streams.spot});
  PacedWsServer usdm({.frames = streams.usdm});
  TempDir dir("status-page");
  const fs::path config = write_config(dir.path, spot, usdm, influx.url());
  const int port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(port)},
                    dir.path / "stderr");

  // Something to show: trades on both connections, 1 s bars closing, the
  // sink delivering.
  ASSERT_TRUE(poll_until(
      [&] {
        if (!tickflow.running()) return true;
        const std::string m = http_get(port, "/metrics").body;
        const auto spot_trades = metric(m, "tickflow_feed_trades_total", {"connection=\"0\""});
        const auto usdm_trades = metric(m, "tickflow_feed_trades_total", {"connection=\"1\""});
        const auto written = metric(m, "tickflow_sink_points_written_total");
        return spot_trades > 0.0 && usdm_trades > 0.0 && written > 0.0 &&
               http_get(port, "/health").body.find("\"sink\":{\"state\":\"ok\"") != std::string::npos;
      },
      40s));
  ASSERT_TRUE(tickflow.running()) << tickflow.log();
  std::cout << "pipeline has data after " << elapsed() << " s\n";

  HeadlessChromium browser(dir.path / "chromium");
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  std::string dom, health, missing;
  int runs = 0;
  const auto deadline = std::chrono::steady_clock::now() + 45s;
  do {
    health = http_get(port, "/health").body;
    const auto d = browser.dump_dom(url, 2500);
    ++runs;
    if (!d) {
      missing = "chromium failed:\n" + browser.last_log();
      continue;
    }
    dom = *d;
    missing = missing_from(dom, health);
  } while (!missing.empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(missing, "") << "after " << runs << " chromium runs; /health: " << health << "\nDOM:\n" << dom;
  std::cout << "the page showed everything after " << runs << " chromium runs, at " << elapsed() << " s\n";

  // Exactly what is configured.
  EXPECT_EQ(dom.find(kAbsentMarket), std::string::npos) << "a market that is not configured is shown";
  EXPECT_EQ(count_of(dom, "<tr data-market=\""), kMarkets.size()) << dom;
  EXPECT_EQ(count_of(dom, "<tr data-connection=\""), 2u) << dom;
  // The page's own text, not the server's: it parsed /metrics itself.
  EXPECT_NE(dom.find(">tf-feed-0</td>"), std::string::npos);

  if (const char* png = std::getenv("TICKFLOW_STATUS_PAGE_SCREENSHOT"); png != nullptr && *png != '\0') {
    EXPECT_TRUE(browser.screenshot(url, png, 1280, 900)) << browser.last_log();
  }

  // The page as served, where nothing can be fetched (file://): the banner.
  const testing::HttpResult page = http_get(port, "/");
  ASSERT_EQ(page.status, 200);
  const fs::path copy = dir.path / "status-page.html";
  std::ofstream(copy) << page.body;
  const auto offline = browser.dump_dom("file://" + copy.string(), 2500);
  ASSERT_TRUE(offline) << browser.last_log();
  EXPECT_NE(offline->find("<body class=\"offline\""), std::string::npos) << *offline;
  const auto banner = text_of_id(*offline, "banner");
  ASSERT_TRUE(banner);
  EXPECT_NE(banner->find("Cannot reach the pipeline (/"), std::string::npos) << *banner;
  EXPECT_NE(banner->find("No data yet."), std::string::npos) << *banner;
  EXPECT_EQ(offline->find("data-market="), std::string::npos) << "no data, no rows";

  tickflow.signal(SIGTERM);
  EXPECT_EQ(tickflow.wait(20s), 0) << tickflow.log();
}

}  // namespace
}  // namespace tickflow
