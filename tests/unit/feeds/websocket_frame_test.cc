// tests/unit/feeds/websocket_frame_test.cc: RFC 6455 frame headers and the
// opening handshake (feeds/websocket_frame.h, feeds/websocket_handshake.h),
// byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "feeds/websocket_frame.h"
#include "feeds/websocket_handshake.h"

namespace tickflow {
namespace {

const unsigned char* bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

TEST(WebSocketFrame, DecodesTheThreeLengthForms) {
  WsFrameHeader h;
  const std::string small = "\x81\x05hello";
  ASSERT_EQ(decode_ws_frame_header(bytes(small), small.size(), h), WsDecode::kComplete);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, WsOpcode::kText);
  EXPECT_EQ(h.header_bytes, 2u);
  EXPECT_EQ(h.payload_bytes, 5u);
  EXPECT_FALSE(h.masked);
  EXPECT_FALSE(h.rsv1);

  const std::string medium("\x02\x7E\x01\x00", 4);  // binary, not final, 256 bytes
  ASSERT_EQ(decode_ws_frame_header(bytes(medium), medium.size(), h), WsDecode::kComplete);
  EXPECT_FALSE(h.fin);
  EXPECT_EQ(h.opcode, WsOpcode::kBinary);
  EXPECT_EQ(h.header_bytes, 4u);
  EXPECT_EQ(h.payload_bytes, 256u);

  const std::string large("\xC1\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);  // compressed text, 65536 bytes
  ASSERT_EQ(decode_ws_frame_header(bytes(large), large.size(), h), WsDecode::kComplete);
  EXPECT_TRUE(h.rsv1);
  EXPECT_EQ(h.header_bytes, 10u);
  EXPECT_EQ(h.payload_bytes, 65536u);
}

TEST(WebSocketFrame, EveryPrefixOfAHeaderNeedsMore) {
  const std::string large("\x81\xFF\x00\x00\x00\x00\x00\x01\x00\x00\x11\x22\x33\x44", 14);  // masked, 14-byte header
  WsFrameHeader h;
  for (std::size_t n = 0; n < large.size(); ++n)
    EXPECT_EQ(decode_ws_frame_header(bytes(large), n, h), WsDecode::kNeedMore) << n;
  ASSERT_EQ(decode_ws_frame_header(bytes(large), large.size(), h), WsDecode::kComplete);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.header_bytes, 14u);
  EXPECT_EQ(h.mask_key, 0x44332211u);
}

TEST(WebSocketFrame, RefusesWhatTheRfcForbids) {
  WsFrameHeader h;
  const std::string top_bit("\x81\x7F\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  EXPECT_EQ(decode_ws_frame_header(bytes(top_bit), top_bit.size(), h), WsDecode::kInvalid);
  const std::string long_ping("\x89\x7E\x00\x7E", 4);  // a control frame of 126 bytes
  EXPECT_EQ(decode_ws_frame_header(bytes(long_ping), long_ping.size(), h), WsDecode::kInvalid);
  const std::string fragmented_close("\x08\x00", 2);  // FIN clear on a control frame
  EXPECT_EQ(decode_ws_frame_header(bytes(fragmented_close), fragmented_close.size(), h), WsDecode::kInvalid);
  for (unsigned op : {0x3u, 0x7u, 0xBu, 0xFu}) {
    const std::string reserved{static_cast<char>(0x80 | op), '\0'};
    EXPECT_EQ(decode_ws_frame_header(bytes(reserved), reserved.size(), h), WsDecode::kInvalid) << op;
  }
}

TEST(WebSocketFrame, ClientFramesAreMaskedAndRoundTrip) {
  for (std::size_t size : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string wire = "prefix";
    append_ws_client_frame(WsOpcode::kText, payload, 0xA1B2C3D4u, wire);
    WsFrameHeader h;
    const auto* at = bytes(wire) + 6;
    ASSERT_EQ(decode_ws_frame_header(at, wire.size() - 6, h), WsDecode::kComplete) << size;
    EXPECT_EQ(h.header_bytes, (size < 126 ? 2u : size <= 65535 ? 4u : 10u) + 4u) << size;
    EXPECT_EQ(h.payload_bytes, size);
    EXPECT_TRUE(h.masked && h.fin);
    EXPECT_EQ(h.mask_key, 0xA1B2C3D4u);
    ASSERT_EQ(wire.size(), 6 + h.header_bytes + size);
    std::string unmasked(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      unmasked[i] = static_cast<char>(at[h.header_bytes + i] ^ ((h.mask_key >> (8 * (i & 3))) & 0xFF));
    EXPECT_EQ(unmasked, payload) << size;
  }
}

TEST(WebSocketHandshake, AcceptKeyMatchesRfc6455) {
  // RFC 6455 section 1.3's worked example.
  EXPECT_EQ(ws_accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, RequestCarriesKeyHostAndOffer) {
  const unsigned char nonce[16] = {};
  const WsUpgradeRequest r = make_ws_upgrade_request("example.com:9443", "/ws?x=1", true, nonce);
  EXPECT_EQ(r.key, "AAAAAAAAAAAAAAAAAAAAAA==");
  EXPECT_EQ(r.text.rfind("GET /ws?x=1 HTTP/1.1\r\nHost: example.com:9443\r\n", 0), 0u) << r.text;
  EXPECT_NE(r.text.find("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"), std::string::npos);
  EXPECT_NE(r.text.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(r.text.find("Sec-WebSocket-Extensions: permessage-deflate"), std::string::npos);
  EXPECT_EQ(r.text.substr(r.text.size() - 4), "\r\n\r\n");
  const WsUpgradeRequest plain = make_ws_upgrade_request("h", "", false, nonce);
  EXPECT_EQ(plain.text.find("Extensions"), std::string::npos);
  EXPECT_EQ(plain.text.rfind("GET / HTTP/1.1\r\n", 0), 0u);
}

std::string response(const std::string& accept, const std::string& extra = "") {
  return "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         accept + "\r\n" + extra + "\r\n";
}

TEST(WebSocketHandshake, ChecksTheAnswer) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  const std::string accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  WsUpgradeResponse r = check_ws_upgrade_response(response(accept), key, false);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.deflate);

  r = check_ws_upgrade_response("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", key, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "status 403 Forbidden");
  r = check_ws_upgrade_response(response("AAAA" + accept.substr(4)), key, false);
  EXPECT_EQ(r.error, "wrong Sec-WebSocket-Accept");
  r = check_ws_upgrade_response(
      "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n", key, false);
  EXPECT_EQ(r.error, "no \"Upgrade: websocket\" header");
  r = check_ws_upgrade_response("SSH-2.0-OpenSSH\r\n\r\n", key, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("not an HTTP response", 0), 0u) << r.error;

  // An extension not offered is refused; offered, its parameters are read.
  const std::string pmd =
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
      "server_max_window_bits=9\r\n";
  r = check_ws_upgrade_response(response(accept, pmd), key, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("unexpected extension", 0), 0u) << r.error;
  r = check_ws_upgrade_response(response(accept, pmd), key, true);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.deflate);
  EXPECT_TRUE(r.server_no_context_takeover);
  EXPECT_EQ(r.server_max_window_bits, 9);
  r = check_ws_upgrade_response(
      response(accept, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n"), key, true);
  EXPECT_FALSE(r.ok);
}

}  // namespace
}  // namespace tickflow
