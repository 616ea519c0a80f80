// feeds/websocket_frame.h
//
// RFC 6455 frame headers: decoding what a server sends, encoding what a
// client sends. Pure functions over bytes, no I/O, no allocation on the
// decode side, so the client's read loop can walk every complete frame of
// a socket read in place, and the fuzzer and unit tests can reach them
// without a socket.
//
// Promises:
//  * decode_ws_frame_header never reads past `size` bytes, and returns
//    kNeedMore (not kInvalid) for any prefix of a valid header.
//  * It refuses what RFC 6455 forbids regardless of state: a 64-bit length
//    with its top bit set, a control frame (close, ping, pong) that is
//    fragmented or carries more than 125 bytes, an opcode outside the six
//    defined. What depends on the connection (masking, reserved bits, the
//    order of continuation frames) is the caller's to check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickflow {

enum class WsOpcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

constexpr bool is_control(WsOpcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

struct WsFrameHeader {
  std::size_t header_bytes = 0;  // 2 .. 14
  std::uint64_t payload_bytes = 0;
  WsOpcode opcode = WsOpcode::kText;
  bool fin = true;
  bool rsv1 = false;   // permessage-deflate: the message is compressed
  bool rsv23 = false;  // no extension we negotiate uses these
  bool masked = false;
  std::uint32_t mask_key = 0;  // as the 4 bytes appear on the wire, little-endian packed
};

enum class WsDecode : std::uint8_t { kComplete, kNeedMore, kInvalid };

// The largest header: 2 bytes, 8 of extended length, 4 of mask key.
inline constexpr std::size_t kWsMaxHeaderBytes = 14;
inline constexpr std::size_t kWsMaxControlPayload = 125;

inline WsDecode decode_ws_frame_header(const unsigned char* p, std::size_t size, WsFrameHeader& out) noexcept {
  if (size < 2) return WsDecode::kNeedMore;
  const unsigned op = p[0] & 0x0F;
  if (!(op <= 0x2 || (op >= 0x8 && op <= 0xA))) return WsDecode::kInvalid;
  out.fin = (p[0] & 0x80) != 0;
  out.rsv1 = (p[0] & 0x40) != 0;
  out.rsv23 = (p[0] & 0x30) != 0;
  out.opcode = static_cast<WsOpcode>(op);
  out.masked = (p[1] & 0x80) != 0;
  std::uint64_t length = p[1] & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (size < 4) return WsDecode::kNeedMore;
    length = (std::uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (length == 127) {
    if (size < 10) return WsDecode::kNeedMore;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    if (length >> 63) return WsDecode::kInvalid;
    header = 10;
  }
  if (is_control(out.opcode) && (!out.fin || length > kWsMaxControlPayload)) return WsDecode::kInvalid;
  if (out.masked) {
    if (size < header + 4) return WsDecode::kNeedMore;
    out.mask_key = std::uint32_t{p[header]} | (std::uint32_t{p[header + 1]} << 8) |
                   (std::uint32_t{p[header + 2]} << 16) | (std::uint32_t{p[header + 3]} << 24);
    header += 4;
  } else {
    out.mask_key = 0;
  }
  out.header_bytes = header;
  out.payload_bytes = length;
  return WsDecode::kComplete;
}

// Appends one client frame (FIN set, masked with `mask_key`, as RFC 6455
// requires of clients) carrying `payload` to `out`.
inline void append_ws_client_frame(WsOpcode opcode, std::string_view payload, std::uint32_t mask_key,
                                   std::string& out) {
  const std::size_t start = out.size();
  const std::uint64_t n = payload.size();
  std::size_t header = 2 + 4 + (n < 126 ? 0 : n <= 0xFFFF ? 2 : 8);
  out.resize(start + header + payload.size());
  auto* p = reinterpret_cast<unsigned char*>(out.data() + start);
  p[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(opcode));
  std::size_t at = 2;
  if (n < 126) {
    p[1] = static_cast<unsigned char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    p[1] = 0x80 | 126;
    p[2] = static_cast<unsigned char>(n >> 8);
    p[3] = static_cast<unsigned char>(n);
    at = 4;
  } else {
    p[1] = 0x80 | 127;
    for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<unsigned char>(n >> (56 - 8 * i));
    at = 10;
  }
  const unsigned char mask[4] = {static_cast<unsigned char>(mask_key), static_cast<unsigned char>(mask_key >> 8),
                                 static_cast<unsigned char>(mask_key >> 16),
                                 static_cast<unsigned char>(mask_key >> 24)};
  for (int i = 0; i < 4; ++i) p[at + i] = mask[i];
  at += 4;
  for (std::size_t i = 0; i < payload.size(); ++i) p[at + i] = static_cast<unsigned char>(payload[i]) ^ mask[i & 3];
}

}  // namespace tickflow
