// config/pipeline_config: what the config lets out of the process. A
// credentials file others can read is refused (like ssh's private keys),
// naming the file, its mode and the fix; a metrics endpoint beyond loopback
// gets one warning line; the HTTP server's slow-client budget is read from
// [metrics].
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/pipeline_config.h"

namespace tickflow {
namespace {

// A credentials file in its own temporary directory, with `mode`.
class CredentialsFile {
 public:
  explicit CredentialsFile(mode_t mode) {
    char pattern[] = "/tmp/tickflow-creds-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ / "influx.credentials";
    std::ofstream(path_) << "tickflow:cr3d-s3cret\n";
    ::chmod(path_.c_str(), mode);
  }
  ~CredentialsFile() { std::filesystem::remove_all(dir_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_, path_;
};

PipelineConfig with_credentials(const std::filesystem::path& file) {
  return parse_pipeline_config("[influx]\ncredentials_file = \"" + file.string() + "\"\nspool_dir = \"\"\n", "c.toml");
}

std::string refusal(const std::filesystem::path& file) {
  try {
    make_influx_sink_config(with_credentials(file));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(CredentialsFile, WorldReadableIsRefusedNamingFileModeAndFix) {
  CredentialsFile file(0644);
  const std::string p = file.path().string();
  EXPECT_EQ(refusal(file.path()), p +
                                      ": influx.credentials_file is accessible by group or others (mode 0644); a "
                                      "credentials file must be readable only by its owner: chmod 600 " +
                                      p);
}

TEST(CredentialsFile, GroupReadableIsRefusedToo) {
  CredentialsFile file(0640);
  const std::string e = refusal(file.path());
  EXPECT_NE(e.find("(mode 0640)"), std::string::npos) << e;
  EXPECT_EQ(e.find("cr3d-s3cret"), std::string::npos) << e;  // never the contents
}

TEST(CredentialsFile, OwnerOnlyIsAccepted) {
  for (const mode_t mode : {0600, 0400}) {
    CredentialsFile file(mode);
    const InfluxSinkConfig sink = make_influx_sink_config(with_credentials(file.path()));
    EXPECT_EQ(sink.endpoint.credentials.user, "tickflow") << std::oct << mode;
    EXPECT_EQ(sink.endpoint.credentials.password, "cr3d-s3cret") << std::oct << mode;
  }
}

TEST(CredentialsFile, RequirePrivateFileNamesTheKeyItIsGiven) {
  CredentialsFile file(0604);
  try {
    require_private_file(file.path(), "some.key");
    FAIL() << "accepted mode 0604";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(": some.key is accessible by group or others (mode 0604)"), std::string::npos)
        << e.what();
  }
  // A missing file is the reader's to report (it names the file).
  EXPECT_NO_THROW(require_private_file("/nonexistent/credentials", "some.key"));
}

PipelineConfig with_bind(const std::string& bind) {
  return parse_pipeline_config("[metrics]\nbind = \"" + bind + "\"\n", "/etc/tickflow/live.toml");
}

TEST(MetricsBind, WarnsOnceNamingKeyValueAndFileBeyondLoopback) {
  const auto w = metrics_bind_warning(with_bind("0.0.0.0"));
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w,
            "metrics.bind = \"0.0.0.0\" in /etc/tickflow/live.toml is not a loopback address: /health and /metrics "
            "(no authentication) are reachable from other hosts; set metrics.bind = \"127.0.0.1\" unless that is "
            "intended");
  for (const char* bind : {"::", "10.1.2.3", "192.168.0.7", "fe80::1"})
    EXPECT_TRUE(metrics_bind_warning(with_bind(bind)).has_value()) << bind;
}

TEST(MetricsBind, NoWarningOnLoopback) {
  for (const char* bind : {"127.0.0.1", "127.0.0.2", "::1", "localhost"})
    EXPECT_EQ(metrics_bind_warning(with_bind(bind)), std::nullopt) << bind;
  EXPECT_EQ(metrics_bind_warning(default_pipeline_config()), std::nullopt);
}

TEST(MetricsBudget, DefaultsAndKeys) {
  const PipelineConfig d = parse_pipeline_config("", "d.toml");
  EXPECT_EQ(d.metrics.request_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(d.metrics.max_connections, 64u);
  const PipelineConfig c =
      parse_pipeline_config("[metrics]\nrequest_timeout_ms = 1500\nmax_connections = 16\n", "m.toml");
  EXPECT_EQ(c.metrics.request_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.metrics.max_connections, 16u);
  try {
    parse_pipeline_config("[metrics]\nmax_connections = 0\n", "m.toml");
    FAIL() << "accepted max_connections = 0";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.max_connections"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tickflow
