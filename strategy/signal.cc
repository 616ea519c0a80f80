// strategy/signal.cc
#include "strategy/signal.h"

#include <openssl/sha.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace tickflow {

const Uuid& uuid_namespace_url() noexcept {
  static constexpr Uuid kUrl = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  return kUrl;
}

Uuid uuid_v5(const Uuid& name_space, std::string_view name) noexcept {
  // SHA1_Init & co. are deprecated in OpenSSL 3 in favour of EVP, whose
  // context is heap-allocated; the one-shot SHA1() over a stack buffer keeps
  // this allocation-free. Names are short (symbol, time, action): longer
  // ones are cut at 128 bytes.
  unsigned char buffer[16 + 128];
  const std::size_t n = name.size() < 128 ? name.size() : 128;
  std::memcpy(buffer, name_space.data(), 16);
  std::memcpy(buffer + 16, name.data(), n);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(buffer, 16 + n, digest);
  Uuid id;
  std::memcpy(id.data(), digest, 16);
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x50);  // version 5
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

Uuid signal_uuid(std::string_view symbol, std::int64_t timestamp_s, SignalAction action) noexcept {
  char name[128];
  std::size_t n = 0;
  const auto put = [&](std::string_view s) {
    for (char c : s)
      if (n < sizeof(name)) name[n++] = c;
  };
  put("squeezeflow/");
  put(symbol);
  put("/");
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof(digits), timestamp_s);
  put(std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
  put("/");
  put(to_string(action));
  return uuid_v5(uuid_namespace_url(), std::string_view(name, n));
}

void format_uuid(const Uuid& id, char* out) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t o = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[id[i] >> 4];
    out[o++] = kHex[id[i] & 15];
  }
}

namespace {

class JsonWriter {
 public:
  JsonWriter(char* out, std::size_t capacity) : p_(out), end_(out + capacity), begin_(out) {}
  void raw(std::string_view s) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < s.size()) {
      failed_ = true;
      return;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void string(std::string_view s) noexcept {
    raw("\"");
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        char esc[2] = {'\\', c};
        raw({esc, 2});
      } else if (u < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        raw({esc, 6});
      } else {
        raw({&c, 1});
      }
    }
    raw("\"");
  }
  void number(double v) noexcept {
    if (!std::isfinite(v)) return raw("null");
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    raw({buf, static_cast<std::size_t>(r.ptr - buf)});
  }
  void integer(std::int64_t v) noexcept {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    raw({buf, static_cast<std::size_t>(r.ptr - buf)});
  }
  void key(std::string_view k, bool first = false) noexcept {
    if (!first) raw(",");
    string(k);
    raw(":");
  }
  std::size_t finish() const noexcept { return failed_ ? 0 : static_cast<std::size_t>(p_ - begin_); }

 private:
  char* p_;
  char* end_;
  char* begin_;
  bool failed_ = false;
};

}  // namespace

std::size_t encode_json(const Signal& s, char* out, std::size_t capacity) noexcept {
  JsonWriter w(out, capacity);
  char uuid[36];
  format_uuid(s.signal_id, uuid);
  char ts[20];
  format_iso8601_utc(s.timestamp_s, ts);
  w.raw("{");
  w.key("signal_id", true);
  w.string({uuid, 36});
  w.key("timestamp");
  w.string({ts, 20});
  w.key("symbol");
  w.string(s.symbol);
  w.key("base_symbol");
  w.string(s.base_symbol);
  w.key("action");
  w.string(to_string(s.action));
  w.key("score");
  w.number(s.score);
  w.key("confidence");
  w.number(s.confidence);
  w.key("position_size_factor");
  w.number(s.position_size_factor);
  w.key("leverage");
  w.number(s.leverage);
  w.key("entry_price");
  w.number(s.entry_price);
  w.key("ttl");
  w.integer(s.ttl_s);
  w.key("reasoning");
  w.string(s.reasoning);
  w.key("strategy");
  w.string("SqueezeFlow");
  w.key("spot_cvd");
  w.number(s.spot_cvd);
  w.key("perp_cvd");
  w.number(s.perp_cvd);
  w.key("divergence");
  w.number(s.divergence);
  w.raw("}");
  return w.finish();
}

std::string to_json(const Signal& s) {
  char buf[kSignalJsonCapacity];
  return std::string(buf, encode_json(s, buf, sizeof(buf)));
}

}  // namespace tickflow
