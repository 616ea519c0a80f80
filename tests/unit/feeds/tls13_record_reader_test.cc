// tests/unit/feeds/tls13_record_reader_test.cc
//
// Tls13RecordReader against real OpenSSL: a client and a server SSL joined
// by memory BIOs do a TLS 1.3 handshake; the client's keylog callback
// gives the server's application traffic secret, as it does in
// websocket_client.cc; then the server's raw records go to the reader, not
// to the client SSL. What the server wrote must come out byte for byte,
// whatever the cipher suite, padding, tickets, key updates or the way the
// bytes are cut; and every way a record can be wrong must end in an error.
#include "feeds/tls13_record_reader.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/feeds/tls_memory_connection.h"

namespace tickflow {
namespace {

using Status = Tls13RecordReader::Status;

using Connection = testing::TlsMemoryConnection;

void start_reader(Tls13RecordReader& reader, const Connection& c) {
  EXPECT_FALSE(c.client_read_past_handshake());
  const std::vector<unsigned char>& secret = c.server_secret();
  std::string why;
  ASSERT_TRUE(reader.start(c.suite(), secret.data(), secret.size(), &why)) << why;
}

// Feeds `wire` to the reader in pieces of the sizes `cut` gives, as a
// socket would; returns the application data and the last status.
struct Drained {
  std::string data;
  Status status = Status::kOk;
  std::size_t left = 0;  // bytes never consumed
};
template <typename Cut>
Drained drain(Tls13RecordReader& reader, const std::string& wire, Cut cut) {
  Drained d;
  std::string pending;
  std::vector<unsigned char> out(Tls13RecordReader::kMaxPlaintextWrite * 2);
  std::size_t at = 0;
  while (at < wire.size() || !pending.empty()) {
    const std::size_t n = std::min(cut(), wire.size() - at);
    pending.append(wire, at, n);
    at += n;
    const auto r =
        reader.open(reinterpret_cast<const unsigned char*>(pending.data()), pending.size(), out.data(), out.size());
    d.data.append(reinterpret_cast<const char*>(out.data()), r.produced);
    pending.erase(0, r.consumed);
    d.status = r.status;
    if (r.status != Status::kOk) break;
    if (at == wire.size() && r.consumed == 0) break;
  }
  d.left = pending.size();
  return d;
}

std::string message(std::size_t i, std::size_t size) {
  std::string m = "{\"e\":\"trade\",\"t\":" + std::to_string(i) + ",\"p\":\"";
  while (m.size() < size) m.push_back(static_cast<char>('a' + (i + m.size()) % 26));
  m.resize(size);
  return m;
}

void expect_every_byte(const char* suite, int padding) {
  Connection c(suite, padding);
  Tls13RecordReader reader;
  start_reader(reader, c);
  std::string sent;
  std::mt19937 rng(7);
  const std::size_t sizes[] = {1, 2, 180, 220, 1000, 16383, 16384, 16385, 70000};
  for (std::size_t i = 0; i < 400; ++i) {
    const std::size_t size = i < std::size(sizes) ? sizes[i] : 100 + rng() % 400;
    const std::string m = message(i, size);
    ASSERT_TRUE(c.server_write(m));
    sent += m;
  }
  const std::string wire = c.take_server_bytes();
  std::mt19937 cut_rng(11);
  const Drained d = drain(reader, wire, [&] { return std::size_t{1} + cut_rng() % 3000; });
  EXPECT_EQ(d.status, Status::kOk) << reader.error();
  EXPECT_EQ(d.left, 0u);
  EXPECT_EQ(d.data.size(), sent.size());
  EXPECT_TRUE(d.data == sent);
  // 400 writes, one record each but 16385 bytes (2) and 70000 (5); and
  // the server's 2 tickets.
  EXPECT_EQ(reader.records(), 400u + 1 + 4 + 2);
}

TEST(Tls13RecordReader, Aes128GcmEveryByteInAnyCut) { expect_every_byte("TLS_AES_128_GCM_SHA256", 0); }
TEST(Tls13RecordReader, Aes256GcmEveryByteInAnyCut) { expect_every_byte("TLS_AES_256_GCM_SHA384", 0); }
TEST(Tls13RecordReader, ChaCha20Poly1305EveryByteInAnyCut) { expect_every_byte("TLS_CHACHA20_POLY1305_SHA256", 0); }
TEST(Tls13RecordReader, PaddedRecordsAreStripped) { expect_every_byte("TLS_AES_256_GCM_SHA384", 512); }

TEST(Tls13RecordReader, AKeyUpdateMovesToTheNextSecretAndOurWriteKeyFollows) {
  Connection c("TLS_AES_128_GCM_SHA256");
  Tls13RecordReader reader;
  start_reader(reader, c);
  ASSERT_TRUE(c.server_write("before"));
  ASSERT_EQ(SSL_key_update(c.server(), SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_TRUE(c.server_write("after one"));
  ASSERT_EQ(SSL_key_update(c.server(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_TRUE(c.server_write("after two"));
  const Drained d = drain(reader, c.take_server_bytes(), [] { return std::size_t{7}; });
  EXPECT_EQ(d.status, Status::kOk) << reader.error();
  EXPECT_EQ(d.data, "beforeafter oneafter two");
  EXPECT_EQ(reader.key_updates(), 2u);
  EXPECT_TRUE(reader.take_key_update_request());
  EXPECT_FALSE(reader.take_key_update_request());

  // What websocket_client.cc does then: OpenSSL, which still writes,
  // updates our write key and says so; the server reads on.
  ASSERT_EQ(SSL_key_update(c.client(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_EQ(SSL_do_handshake(c.client()), 1);
  ASSERT_EQ(SSL_write(c.client(), "pong", 4), 4);
  Connection::move(c.client_out(), c.server_in());
  char got[16] = {};
  ASSERT_EQ(SSL_read(c.server(), got, sizeof got), 4);
  EXPECT_EQ(std::string(got, 4), "pong");
}

TEST(Tls13RecordReader, CloseNotifyEndsTheStreamAfterTheDataBeforeIt) {
  Connection c("TLS_AES_256_GCM_SHA384");
  Tls13RecordReader reader;
  start_reader(reader, c);
  ASSERT_TRUE(c.server_write("last words"));
  SSL_shutdown(c.server());
  const Drained d = drain(reader, c.take_server_bytes(), [] { return std::size_t{100000}; });
  EXPECT_EQ(d.status, Status::kClosed);
  EXPECT_EQ(d.data, "last words");
}

TEST(Tls13RecordReader, AnAlertFromTheServerIsAnErrorNamingIt) {
  Connection c("TLS_AES_128_GCM_SHA256");
  Tls13RecordReader reader;
  start_reader(reader, c);
  // A client record with one byte changed: the server answers with an
  // encrypted bad_record_mac alert.
  ASSERT_EQ(SSL_write(c.client(), "hello", 5), 5);
  std::string bad = Connection::take(c.client_out());
  bad[bad.size() - 1] ^= 1;
  BIO_write(c.server_in(), bad.data(), static_cast<int>(bad.size()));
  char sink[16];
  EXPECT_LE(SSL_read(c.server(), sink, sizeof sink), 0);
  const Drained d = drain(reader, c.take_server_bytes(), [] { return std::size_t{100000}; });
  EXPECT_EQ(d.status, Status::kError);
  EXPECT_NE(reader.error().find("TLS alert from the server: bad record mac"), std::string::npos) << reader.error();
}

TEST(Tls13RecordReader, AChangedByteFailsAuthenticationAndTheReaderStaysFailed) {
  Connection c("TLS_AES_256_GCM_SHA384");
  Tls13RecordReader reader;
  start_reader(reader, c);
  ASSERT_TRUE(c.server_write("one"));
  ASSERT_TRUE(c.server_write("two"));
  std::string wire = c.take_server_bytes();
  wire[wire.size() - 20] ^= 0x40;  // inside the last record ("two")
  const Drained d = drain(reader, wire, [] { return std::size_t{100000}; });
  EXPECT_EQ(d.status, Status::kError);
  EXPECT_EQ(d.data, "one");
  EXPECT_NE(reader.error().find("bad TLS record MAC"), std::string::npos) << reader.error();
  unsigned char out[32];
  EXPECT_EQ(reader.open(reinterpret_cast<const unsigned char*>(wire.data()), wire.size(), out, sizeof out).status,
            Status::kError);
}

TEST(Tls13RecordReader, RecordsThatCannotBeAfterTheHandshakeAreErrors) {
  Connection c("TLS_AES_128_GCM_SHA256");
  const std::vector<unsigned char>& secret = c.server_secret();
  const struct {
    std::string wire;
    const char* error;
  } cases[] = {
      {std::string("\x14\x03\x03\x00\x01\x01", 6), "ChangeCipherSpec record after the handshake"},
      {std::string("\x16\x03\x03\x00\x04\x01\x00\x00\x00", 9), "unprotected TLS record of type 22"},
      {std::string("\x17\x03\x03\x41\x01", 5), "TLS record overflow: 16641 bytes"},
      {std::string("\x17\x03\x03\x00\x10", 5), "TLS record of 16 bytes is too short"},
  };
  for (const auto& k : cases) {
    Tls13RecordReader reader;
    std::string why;
    ASSERT_TRUE(reader.start(c.suite(), secret.data(), secret.size(), &why)) << why;
    unsigned char out[Tls13RecordReader::kMaxPlaintextWrite];
    const auto r = reader.open(reinterpret_cast<const unsigned char*>(k.wire.data()), k.wire.size(), out, sizeof out);
    EXPECT_EQ(r.status, Status::kError) << k.error;
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_NE(reader.error().find(k.error), std::string::npos) << reader.error();
  }
}

TEST(Tls13RecordReader, ARecordWaitsForItsLastByteAndForRoom) {
  Connection c("TLS_AES_128_GCM_SHA256");
  Tls13RecordReader reader;
  start_reader(reader, c);
  const std::string tickets = c.take_server_bytes();
  ASSERT_TRUE(c.server_write(std::string(1000, 'x')));
  const std::string wire = c.take_server_bytes();
  std::vector<unsigned char> out(Tls13RecordReader::kMaxPlaintextWrite);
  auto r = reader.open(reinterpret_cast<const unsigned char*>(tickets.data()), tickets.size(), out.data(), out.size());
  ASSERT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.consumed, tickets.size());
  EXPECT_EQ(r.produced, 0u);
  r = reader.open(reinterpret_cast<const unsigned char*>(wire.data()), wire.size() - 1, out.data(), out.size());
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(r.status, Status::kOk);
  r = reader.open(reinterpret_cast<const unsigned char*>(wire.data()), wire.size(), out.data(), 1000);
  EXPECT_EQ(r.consumed, 0u) << "1000 bytes of room for 1000 + type byte";
  r = reader.open(reinterpret_cast<const unsigned char*>(wire.data()), wire.size(), out.data(), out.size());
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data()), r.produced), std::string(1000, 'x'));
}

TEST(Tls13RecordReader, AnUnhandledSuiteOrAWrongSecretIsRefusedAtStart) {
  const unsigned char secret[48] = {};
  Tls13RecordReader reader;
  std::string why;
  EXPECT_FALSE(reader.start(0x1304, secret, 32, &why));  // TLS_AES_128_CCM_SHA256
  EXPECT_EQ(why, "cipher suite 4868 is not handled");
  EXPECT_FALSE(reader.start(0x1302, secret, 32, &why));  // SHA-384 wants 48 bytes
  EXPECT_EQ(why, "traffic secret of 32 bytes for this suite");
  EXPECT_FALSE(reader.started());
}

}  // namespace
}  // namespace tickflow
