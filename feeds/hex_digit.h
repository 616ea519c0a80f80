// feeds/hex_digit.h
//
// hex_value(c): the value of one hexadecimal digit ('0'-'9', 'a'-'f',
// 'A'-'F'), or -1 for any other character. Shared by the capture reader
// (\xHH escapes in cryptofeed lines) and the websocket client (the traffic
// secret in OpenSSL's keylog line).
#pragma once

namespace tickflow {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace tickflow
