// feeds/websocket_handshake.cc: the upgrade request and the check of its
// answer (see websocket_handshake.h).
#include "feeds/websocket_handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstdlib>

namespace tickflow {
namespace {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* bytes, int n) {
  std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, n);
  out.resize(static_cast<std::size_t>(written));
  return out;
}

char lower(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool icontains(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Reads the permessage-deflate parameters; false when the server answered
// an extension we did not offer, or a parameter we cannot honour.
bool read_extensions(std::string_view value, bool offered, WsUpgradeResponse& out) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view ext = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (ext.empty()) continue;
    const std::size_t semi = ext.find(';');
    const std::string_view name = trim(ext.substr(0, semi));
    if (!iequals(name, "permessage-deflate") || !offered || out.deflate) {
      out.error = "unexpected extension \"" + std::string(ext) + "\"";
      return false;
    }
    out.deflate = true;
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : ext.substr(semi + 1);
    while (!params.empty()) {
      const std::size_t next = params.find(';');
      const std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const std::size_t eq = param.find('=');
      const std::string_view key = trim(param.substr(0, eq));
      std::string_view arg = eq == std::string_view::npos ? std::string_view{} : trim(param.substr(eq + 1));
      if (!arg.empty() && arg.front() == '"' && arg.size() >= 2) arg = arg.substr(1, arg.size() - 2);
      if (iequals(key, "server_no_context_takeover")) {
        out.server_no_context_takeover = true;
      } else if (iequals(key, "client_no_context_takeover")) {
        // We compress nothing: nothing to do.
      } else if (iequals(key, "server_max_window_bits")) {
        const int bits = std::atoi(std::string(arg).c_str());
        if (bits < 8 || bits > 15) {
          out.error = "server_max_window_bits " + std::string(arg);
          return false;
        }
        out.server_max_window_bits = bits;
      } else if (iequals(key, "client_max_window_bits")) {
        // Applies to what we send; we send uncompressed.
      } else if (!key.empty()) {
        out.error = "unknown permessage-deflate parameter \"" + std::string(key) + "\"";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

WsUpgradeRequest make_ws_upgrade_request(std::string_view host_header, std::string_view target, bool offer_deflate,
                                         const unsigned char (&nonce)[16]) {
  WsUpgradeRequest request;
  request.key = base64(nonce, 16);
  std::string& t = request.text;
  t.reserve(256 + target.size());
  t.append("GET ").append(target.empty() ? std::string_view("/") : target).append(" HTTP/1.1\r\n");
  t.append("Host: ").append(host_header).append("\r\n");
  t.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
  t.append("Sec-WebSocket-Key: ").append(request.key).append("\r\n");
  t.append("Sec-WebSocket-Version: 13\r\n");
  if (offer_deflate) t.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
  t.append("User-Agent: tickflow\r\n\r\n");
  return request;
}

std::string ws_accept_for(std::string_view key) {
  std::string joined(key);
  joined.append(kWsGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
  return base64(digest, SHA_DIGEST_LENGTH);
}

WsUpgradeResponse check_ws_upgrade_response(std::string_view head, std::string_view key, bool offered_deflate) {
  WsUpgradeResponse out;
  std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) {
    out.error = "no status line";
    return out;
  }
  const std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 101 Switching Protocols"
  const std::size_t sp = status_line.find(' ');
  if (status_line.substr(0, 5) != "HTTP/" || sp == std::string_view::npos) {
    out.error = "not an HTTP response: \"" + std::string(status_line.substr(0, 64)) + "\"";
    return out;
  }
  const std::string_view status = trim(status_line.substr(sp + 1));
  if (status.substr(0, 3) != "101") {
    out.error = "status " + std::string(status.substr(0, 64));
    return out;
  }
  bool upgrade = false, connection = false, accept_seen = false;
  std::string accept;
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Upgrade")) {
      upgrade = iequals(value, "websocket");
    } else if (iequals(name, "Connection")) {
      connection = connection || icontains(value, "upgrade");
    } else if (iequals(name, "Sec-WebSocket-Accept")) {
      accept_seen = true;
      accept.assign(value);
    } else if (iequals(name, "Sec-WebSocket-Extensions")) {
      if (!read_extensions(value, offered_deflate, out)) return out;
    }
  }
  if (!upgrade) {
    out.error = "no \"Upgrade: websocket\" header";
  } else if (!connection) {
    out.error = "no \"Connection: upgrade\" header";
  } else if (!accept_seen) {
    out.error = "no Sec-WebSocket-Accept header";
  } else if (accept != ws_accept_for(key)) {
    out.error = "wrong Sec-WebSocket-Accept";
  } else {
    out.ok = true;
  }
  return out;
}

}  // namespace tickflow
