// feeds/websocket_handshake.h
//
// The RFC 6455 opening handshake of a client: the HTTP/1.1 upgrade request
// it writes, and the check of the server's answer. Text in, text out, no
// I/O, so the same functions serve the client (websocket_client.cc) and
// its tests.
//
// What the check enforces, each failure named in `error`:
//  * status 101;
//  * "Upgrade: websocket" and a "Connection" header holding "upgrade"
//    (case-insensitive, as HTTP header values are);
//  * "Sec-WebSocket-Accept" equal to base64(SHA-1(key + RFC GUID)), so a
//    proxy or a plain HTTP server that answers 101 by accident is refused;
//  * an extension the client did not offer is refused. permessage-deflate,
//    when offered and accepted, reports the server's parameters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tickflow {

struct WsUpgradeRequest {
  std::string text;  // the whole request, ending with the blank line
  std::string key;   // Sec-WebSocket-Key, needed to check the answer
};

// `nonce` is 16 random bytes (RFC 6455 4.1). `host_header` is "host" or
// "host:port" when the port is not the scheme's default.
WsUpgradeRequest make_ws_upgrade_request(std::string_view host_header, std::string_view target, bool offer_deflate,
                                         const unsigned char (&nonce)[16]);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string ws_accept_for(std::string_view key);

struct WsUpgradeResponse {
  bool ok = false;
  std::string error;  // why not ok, readable ("status 403 Forbidden", "wrong Sec-WebSocket-Accept")
  // permessage-deflate was negotiated (RFC 7692).
  bool deflate = false;
  bool server_no_context_takeover = false;  // reset the inflater after each message
  int server_max_window_bits = 15;
};

// `head` is the response up to and including its blank line.
WsUpgradeResponse check_ws_upgrade_response(std::string_view head, std::string_view key, bool offered_deflate);

}  // namespace tickflow
