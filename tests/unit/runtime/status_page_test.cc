// The status page's route on a real LivePipeline (`tickflow record`'s shape:
// one feed connection to a loopback port nobody listens on, no aggregator),
// over loopback with libcurl: GET / and /index.html answer 200 text/html with
// the embedded page, no-store and a Content-Security-Policy that allows only
// inline script/style and same-origin fetches; HEAD gives its length; the
// page references nothing outside itself; /health and /metrics, which the
// page reads, still answer; an unknown path is a 404 that names /. The
// rendering itself is tested in a real browser
// (tests/integration/status_page_test.cc).
#include "runtime/status_page.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "config/pipeline_config.h"
#include "runtime/live_pipeline.h"

namespace tickflow {
namespace {

struct Reply {
  long status = 0;
  std::string content_type, headers, body;
  double content_length = -1;
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply request(std::uint16_t port, const std::string& path, bool head = false) {
  Reply r;
  CURL* curl = curl_easy_init();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never through a proxy from the environment
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOBODY, head ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  const CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << path << ": " << curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  r.content_type = type ? type : "";
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  r.content_length = static_cast<double>(length);
  curl_easy_cleanup(curl);
  return r;
}

// The value of header `name` (case-insensitive), or "" when absent.
std::string header(const Reply& r, const std::string& name) {
  const std::regex line("(^|\\r\\n)" + name + ":[ \\t]*([^\\r\\n]*)", std::regex::icase);
  std::smatch m;
  return std::regex_search(r.headers, m, line) ? m[2].str() : std::string();
}

class StatusPageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  void SetUp() override {
    // Port 1 on loopback: the feed's connects are refused at once, nothing
    // leaves the host. Only the HTTP side matters here.
    PipelineConfig config = parse_pipeline_config(
        "[markets]\nBINANCE = [\"btcusdt\"]\n\n[feeds]\nbackfill = false\n\n"
        "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = 1\n\n[influx]\nenabled = false\n",
        "status_page_test.toml");
    config.metrics.port = 0;  // a free port (the HTTP server's choice)
    LivePipelineOptions options;
    options.pin = false;
    options.aggregate = false;  // `tickflow record`'s shape: feeds and the HTTP server only
    pipeline_ = std::make_unique<LivePipeline>(config, options);
    pipeline_->start();
    port_ = pipeline_->http_port();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (pipeline_) pipeline_->stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }

  std::unique_ptr<LivePipeline> pipeline_;
  std::uint16_t port_ = 0;
};

TEST_F(StatusPageTest, RootServesThePageWithItsHeaders) {
  const Reply r = request(port_, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, status_page_html());
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u) << r.body.substr(0, 80);
  EXPECT_NE(r.body.find("</html>"), std::string::npos) << "the page is whole (the embedding kept its end)";
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  const std::string csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'unsafe-inline'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src 'unsafe-inline'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << "no origin but the page's own: " << csp;
  EXPECT_EQ(header(r, "Server"), "tickflow");
}

TEST_F(StatusPageTest, IndexHtmlAndAQueryServeTheSamePage) {
  EXPECT_EQ(request(port_, "/index.html").body, status_page_html());
  const Reply q = request(port_, "/?refresh=1");
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.body, status_page_html());
}

TEST_F(StatusPageTest, HeadGivesTheLengthWithoutTheBody) {
  const Reply r = request(port_, "/", true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_length, static_cast<double>(status_page_html().size()));
}

TEST_F(StatusPageTest, PageReferencesNothingOutsideItself) {
  const std::string page(status_page_html());
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  // No external script, stylesheet, font, image or import, protocol-relative
  // ("//host/x") included: every src/href is a data: URL.
  const std::regex reference("(src|href)\\s*=\\s*[\"']?(?!data:)[^\"'\\s>]", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, reference));
  EXPECT_EQ(page.find("@import"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(page.find("@font-face"), std::string::npos);
  // It reads what this server serves, from its own origin.
  EXPECT_NE(page.find("fetchWithTimeout('/health')"), std::string::npos);
  EXPECT_NE(page.find("fetchWithTimeout('/metrics')"), std::string::npos);
  // ASCII only (the header says charset=utf-8; ASCII is valid in any case).
  for (const char c : page) ASSERT_LT(static_cast<unsigned char>(c), 0x80u);
}

TEST_F(StatusPageTest, HealthAndMetricsStillAnswerAndUnknownPathsAre404) {
  const Reply health = request(port_, "/health");
  EXPECT_TRUE(health.status == 200 || health.status == 503) << health.status;
  EXPECT_EQ(health.content_type, "application/json");
  EXPECT_EQ(health.body.rfind("{\"status\":", 0), 0u) << health.body;
  EXPECT_EQ(header(health, "Content-Security-Policy"), "") << "the page's headers are the page's only";
  const Reply metrics = request(port_, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("tickflow_uptime_seconds"), std::string::npos);
  const Reply missing = request(port_, "/status");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("try / (the status page)"), std::string::npos) << missing.body;
}

TEST(StatusPageDefaults, ServedOnLoopbackByDefault) {
  // The page shows everything /health does and has no authentication: the
  // default bind keeps it on the host (ssh -L to look from elsewhere).
  EXPECT_EQ(default_pipeline_config().metrics.bind, "127.0.0.1");
  EXPECT_EQ(PipelineConfig{}.metrics.bind, "127.0.0.1");
}

}  // namespace
}  // namespace tickflow
