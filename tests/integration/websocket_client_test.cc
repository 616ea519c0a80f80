// tests/integration/websocket_client_test.cc: WebSocketClient (our frames
// over non-blocking OpenSSL) against the local Beast server, message for
// message: sizes across every length form and past the receive buffer,
// permessage-deflate on and off, messages fragmented into continuation
// frames, and the padding promise (kFramePadding zero bytes after every
// message handed on). The uncompressed cases also run with SSL_read
// opening the TLS records instead of Tls13RecordReader (the default).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "feeds/padded_frame.h"
#include "feeds/websocket_client.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsProtocol;
using testing::WsServerBehavior;
using testing::WsTestServer;

// 2,000 small messages with a few large ones between them: 125/126 bytes
// and 65,535/65,536 straddle the 7-bit, 16-bit and 64-bit length forms;
// 300,000 is larger than the client's 256 KiB receive buffer.
std::vector<std::string> messages() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < 2000; ++i) {
    std::string m = R"({"stream":"btcusdt@trade","data":{"e":"trade","t":)" + std::to_string(1000 + i) + "}}";
    out.push_back(std::move(m));
    const std::size_t big = i == 10 ? 125 : i == 11 ? 126 : i == 500 ? 65535 : i == 501 ? 65536 : i == 900 ? 300000 : 0;
    if (big != 0) {
      std::string b(big, 'x');
      for (std::size_t k = 0; k < big; k += 97) b[k] = static_cast<char>('a' + (k / 97) % 26);
      out.push_back(std::move(b));
    }
  }
  return out;
}

struct Received {
  std::vector<std::string> messages;
  std::size_t padding_violations = 0;
  std::size_t opens = 0;
  std::size_t own_record_frames = 0;  // frames handed on while Tls13RecordReader read
  std::vector<WsCloseReason> closes;
};

Received run_client(const WsServerBehavior& behavior, bool deflate, std::size_t expected, bool own_tls_records) {
  WsTestServer server(behavior);
  IoLoop loop;
  Received got;
  WebSocketConfig config;
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.target = "/stream?streams=btcusdt@trade";
  config.permessage_deflate = deflate;
  config.own_tls_records = own_tls_records;
  WebSocketClient* self = nullptr;
  WebSocketClient client(loop, config,
                         {.on_open = [&] { ++got.opens; },
                          .on_frame =
                              [&](std::string_view frame, std::int64_t) {
                                got.messages.emplace_back(frame);
                                got.own_record_frames += self->reads_own_tls_records();
                                for (std::size_t i = 0; i < kFramePadding; ++i)
                                  if (frame.data()[frame.size() + i] != 0) {
                                    ++got.padding_violations;
                                    break;
                                  }
                              },
                          .on_close = [&](WsCloseReason r, const std::string&) { got.closes.push_back(r); }});
  self = &client;
  client.open();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.messages.size() < expected && got.closes.empty() && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  client.close();
  loop.run_for(10ms);
  return got;
}

void expect_every_message(bool deflate, std::size_t fragment_bytes, bool own_tls_records = true) {
  const std::vector<std::string> sent = messages();
  WsServerBehavior behavior{.protocol = WsProtocol::kBinance, .frames = sent};
  behavior.fragment_bytes = fragment_bytes;
  const Received got = run_client(behavior, deflate, sent.size(), own_tls_records);
  EXPECT_EQ(got.opens, 1u);
  ASSERT_EQ(got.messages.size(), sent.size());
  EXPECT_EQ(got.own_record_frames, own_tls_records ? sent.size() : 0u);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < sent.size(); ++i) mismatches += got.messages[i] != sent[i];
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(got.padding_violations, 0u);
  // The only close is ours, at the end.
  ASSERT_EQ(got.closes.size(), 1u);
  EXPECT_EQ(got.closes[0], WsCloseReason::kStopped);
}

TEST(WebSocketClient, EveryMessageArrivesIntactUncompressed) { expect_every_message(false, 0); }
TEST(WebSocketClient, EveryMessageArrivesIntactWithPermessageDeflate) { expect_every_message(true, 0); }
TEST(WebSocketClient, FragmentedMessagesAreJoined) { expect_every_message(false, 1000); }
TEST(WebSocketClient, EveryMessageArrivesIntactThroughSslRead) { expect_every_message(false, 0, false); }
TEST(WebSocketClient, FragmentedMessagesAreJoinedThroughSslRead) { expect_every_message(false, 1000, false); }
TEST(WebSocketClient, FragmentedCompressedMessagesAreJoinedAndInflated) { expect_every_message(true, 1000); }

TEST(WebSocketClient, MessageAboveTheLimitEndsTheConnectionFromItsHeader) {
  const std::vector<std::string> sent = messages();
  WsServerBehavior behavior{.protocol = WsProtocol::kBinance, .frames = sent};
  WsTestServer server(behavior);
  IoLoop loop;
  std::size_t delivered = 0;
  std::vector<std::pair<WsCloseReason, std::string>> closes;
  WebSocketConfig config;
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.target = "/stream?streams=btcusdt@trade";
  config.permessage_deflate = false;
  config.max_message_bytes = 65535;  // the 65,536-byte message is one too many
  WebSocketClient client(loop, config,
                         {.on_open = {},
                          .on_frame = [&](std::string_view, std::int64_t) { ++delivered; },
                          .on_close = [&](WsCloseReason r, const std::string& d) { closes.emplace_back(r, d); }});
  client.open();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (closes.empty() && std::chrono::steady_clock::now() < deadline) loop.run_for(10ms);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].first, WsCloseReason::kMessageTooBig) << closes[0].second;
  // Everything before it: 502 small messages (i = 0..501) and the 125-,
  // 126- and 65,535-byte ones.
  EXPECT_EQ(delivered, 505u);
}

}  // namespace
}  // namespace tickflow
