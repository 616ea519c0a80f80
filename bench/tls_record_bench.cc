// bench/tls_record_bench.cc: opening a stream of TLS 1.3 records, one
// ~220-byte Binance trade message per record (as an exchange sends them),
// by Tls13RecordReader against the baseline SSL_read of OpenSSL 3.0, in
// the same run, over the same bytes.
//
//   BM_TlsRecords_SslRead/<suite>   the baseline: the client SSL object reads
//                                   the records from a memory BIO holding them
//   BM_TlsRecords_Reader/<suite>    Tls13RecordReader::open over the same bytes
//
// Suites: 0 = TLS_AES_128_GCM_SHA256, 1 = TLS_AES_256_GCM_SHA384,
// 2 = TLS_CHACHA20_POLY1305_SHA256. Each iteration opens 4,096 records made
// in memory by a real OpenSSL server (tests/unit/feeds/tls_memory_connection.h)
// and checks the plaintext's length; items/s is records per second.
// The baseline opens them on a fresh handshake's client each time the
// stream is used up; the reader is restarted on the same secret.
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "feeds/tls13_record_reader.h"
#include "tests/unit/feeds/tls_memory_connection.h"

namespace tickflow::bench {
namespace {

constexpr int kRecords = 4096;
constexpr const char* kSuites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};

std::string trade_message(int i) {
  std::string m = R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723075200123,"s":"BTCUSDT","t":)" +
                  std::to_string(3700000000LL + i) +
                  R"(,"p":"56789.01000000","q":"0.00123000","T":1723075200122,"m":true,"M":true}})";
  return m;
}

// A connection and the records of kRecords messages, after its tickets.
struct RecordStream {
  std::unique_ptr<testing::TlsMemoryConnection> connection;
  std::string tickets;
  std::string records;
  std::size_t plaintext = 0;
  explicit RecordStream(const char* suite) : connection(std::make_unique<testing::TlsMemoryConnection>(suite)) {
    tickets = connection->take_server_bytes();
    for (int i = 0; i < kRecords; ++i) {
      const std::string m = trade_message(i);
      plaintext += m.size();
      connection->server_write(m);
    }
    records = connection->take_server_bytes();
  }
};

void BM_TlsRecords_SslRead(benchmark::State& state) {
  const char* suite = kSuites[state.range(0)];
  auto stream = std::make_unique<RecordStream>(suite);
  std::vector<char> out(16384);
  std::size_t got = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // A fresh connection each pass: SSL_read can read the stream once.
    stream = std::make_unique<RecordStream>(suite);
    BIO* in = SSL_get_rbio(stream->connection->client());
    BIO_write(in, stream->tickets.data(), static_cast<int>(stream->tickets.size()));
    BIO_write(in, stream->records.data(), static_cast<int>(stream->records.size()));
    state.ResumeTiming();
    got = 0;
    for (;;) {
      const int n = SSL_read(stream->connection->client(), out.data(), static_cast<int>(out.size()));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != stream->plaintext) state.SkipWithError("SSL_read lost bytes");
  }
  state.SetItemsProcessed(state.iterations() * kRecords);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream->plaintext));
}
BENCHMARK(BM_TlsRecords_SslRead)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

void BM_TlsRecords_Reader(benchmark::State& state) {
  const RecordStream stream(kSuites[state.range(0)]);
  std::vector<unsigned char> out(Tls13RecordReader::kMaxPlaintextWrite + stream.plaintext);
  const auto* tickets = reinterpret_cast<const unsigned char*>(stream.tickets.data());
  const auto* records = reinterpret_cast<const unsigned char*>(stream.records.data());
  for (auto _ : state) {
    state.PauseTiming();
    Tls13RecordReader reader;
    std::string why;
    const auto& secret = stream.connection->server_secret();
    if (!reader.start(stream.connection->suite(), secret.data(), secret.size(), &why)) state.SkipWithError(why.c_str());
    reader.open(tickets, stream.tickets.size(), out.data(), out.size());
    state.ResumeTiming();
    const auto opened = reader.open(records, stream.records.size(), out.data(), out.size());
    benchmark::DoNotOptimize(out.data());
    if (opened.produced != stream.plaintext) state.SkipWithError("the reader lost bytes");
  }
  state.SetItemsProcessed(state.iterations() * kRecords);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.plaintext));
}
BENCHMARK(BM_TlsRecords_Reader)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tickflow::bench
