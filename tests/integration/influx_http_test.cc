// InfluxHttp against a real influxd: every status the sink must tell apart
// (204, 400 partial write, 401, 404 database not found, 413, 500 retention
// policy not found, connection refused), gzip bodies, and credentials from a
// file or the environment.
#include "sinks/influx_http.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "tests/integration/influxd_process.h"

namespace tickflow {
namespace {

using testing::InfluxdProcess;

TEST(InfluxHttp, TellsEveryStatusTheSinkActsOnApart) {
  InfluxdProcess influx;
  InfluxHttp http(influx.endpoint("db1"));
  EXPECT_EQ(http.ping().status, 204);

  auto r = http.write("", "s", "m v=1 1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(influx_error_text(r.body), "database not found: \"db1\"");

  EXPECT_EQ(http.query("CREATE DATABASE \"db1\"").status, 200);
  EXPECT_EQ(http.write("", "s", "m v=1 1").status, 204);

  r = http.write("nope", "s", "m v=1 2");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(influx_error_text(r.body), "retention policy not found: nope");

  // One bad line among good ones: the good ones land, the status is 400.
  r = http.write("", "s", "m v=2 2\nm v=\"text\" 3\nm v=4 4");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(influx_error_text(r.body).find("partial write: field type conflict"), std::string::npos) << r.body;
  const std::string rows = influx.query("SELECT v FROM m", "db1");
  EXPECT_NE(rows.find("[[1,1],[2,2],[4,4]]"), std::string::npos) << rows;
}

TEST(InfluxHttp, GzipBodiesAreAccepted) {
  InfluxdProcess influx;
  InfluxEndpoint endpoint = influx.endpoint("gz");
  endpoint.gzip = true;
  InfluxHttp http(endpoint);
  ASSERT_EQ(http.query("CREATE DATABASE gz").status, 200);
  std::string body;
  for (int i = 1; i <= 1000; ++i) body += "m v=" + std::to_string(i) + " " + std::to_string(i) + "\n";
  ASSERT_EQ(http.write("", "s", body).status, 204);
  EXPECT_NE(influx.query("SELECT count(v), sum(v) FROM m", "gz").find("[[0,1000,500500]]"), std::string::npos);
}

TEST(InfluxHttp, ReusesOneConnection) {
  InfluxdProcess influx;
  InfluxHttp http(influx.endpoint("k"));
  ASSERT_EQ(http.query("CREATE DATABASE k").status, 200);
  // Thousands of requests in a row would exhaust ephemeral ports quickly
  // if each opened a connection; more to the point, each is fast.
  double total = 0;
  for (int i = 0; i < 200; ++i) {
    const auto r = http.write("", "s", "m v=1 " + std::to_string(i + 1));
    ASSERT_EQ(r.status, 204);
    total += r.seconds;
  }
  EXPECT_LT(total / 200, 0.05) << "mean seconds per request";
}

TEST(InfluxHttp, ConnectionRefusedIsAResultNotAnException) {
  InfluxEndpoint endpoint;
  endpoint.url = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  endpoint.connect_timeout = std::chrono::milliseconds(500);
  InfluxHttp http(endpoint);
  const auto r = http.write("", "s", "m v=1 1");
  EXPECT_TRUE(r.transport_failed());
  EXPECT_FALSE(r.error.empty());
}

TEST(InfluxHttp, BodyOverMaxBodySizeIs413) {
  InfluxdProcess influx({.max_body_size = 4096});
  InfluxHttp http(influx.endpoint("small"));
  ASSERT_EQ(http.query("CREATE DATABASE small").status, 200);
  std::string body;
  for (int i = 1; i <= 500; ++i) body += "m v=" + std::to_string(i) + " " + std::to_string(i) + "\n";
  ASSERT_GT(body.size(), 4096u);
  EXPECT_EQ(http.write("", "s", body).status, 413);
}

TEST(InfluxHttp, WrongCredentialsAre401AndRightOnesWork) {
  InfluxdProcess influx({.auth = true});
  InfluxEndpoint wrong = influx.endpoint("auth");
  wrong.credentials.password = "wrong";
  InfluxHttp bad(wrong);
  const auto r = bad.query("CREATE DATABASE auth");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(influx_error_text(r.body).find("authorization failed"), std::string::npos) << r.body;

  InfluxHttp good(influx.endpoint("auth"));
  EXPECT_EQ(good.query("CREATE DATABASE auth").status, 200);
  EXPECT_EQ(good.write("", "s", "m v=1 1").status, 204);
}

TEST(InfluxCredentials, ComeFromAFileOrTheEnvironment) {
  const std::string path = ::testing::TempDir() + "/influx_credentials";
  { std::ofstream(path) << "reader:pa:ss\n"; }
  // Readable by others (ofstream's 0644 under the usual umask): refused.
  ::chmod(path.c_str(), 0644);
  try {
    load_influx_credentials(path);
    FAIL() << "a 0644 credentials file was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "the InfluxDB credentials file '" + path +
                                         "' is accessible by group or others (mode 0644); it must be readable only "
                                         "by its owner: chmod 600 " +
                                         path);
  }
  ::chmod(path.c_str(), 0600);
  auto c = load_influx_credentials(path);
  EXPECT_EQ(c.user, "reader");
  EXPECT_EQ(c.password, "pa:ss");
  { std::ofstream(path) << "writer\nsecret\n"; }
  c = load_influx_credentials(path);
  EXPECT_EQ(c.user, "writer");
  EXPECT_EQ(c.password, "secret");

  ::setenv("INFLUX_USERNAME", "envuser", 1);
  ::setenv("INFLUX_PASSWORD", "envpass", 1);
  c = load_influx_credentials("");
  EXPECT_EQ(c.user, "envuser");
  EXPECT_EQ(c.password, "envpass");
  ::unsetenv("INFLUX_USERNAME");
  ::unsetenv("INFLUX_PASSWORD");
  EXPECT_TRUE(load_influx_credentials("").user.empty());

  try {
    load_influx_credentials("/nonexistent/credentials");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/credentials"), std::string::npos);
  }
}

}  // namespace
}  // namespace tickflow
