// bus/subjects.cc: see subjects.h.
#include "bus/subjects.h"

namespace tickflow::bus {
namespace {

bool passes_unescaped(unsigned char c) { return c > 0x20 && c < 0x7f && c != '.' && c != '*' && c != '>' && c != '%'; }

std::string join(std::string_view kind, std::string_view a, std::string_view b) {
  std::string s(kSubjectRoot);
  s += '.';
  s += kind;
  s += '.';
  s += subject_token(a);
  if (!b.empty()) {
    s += '.';
    s += subject_token(b);
  }
  return s;
}

std::string timeframe_name(std::uint32_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

}  // namespace

std::string subject_token(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (raw.empty()) return "%00";
  std::string token;
  token.reserve(raw.size());
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (passes_unescaped(c)) {
      token += ch;
    } else {
      token += '%';
      token += kHex[c >> 4];
      token += kHex[c & 0xf];
    }
  }
  return token;
}

std::string trades_subject(std::string_view exchange, std::string_view market) {
  return join("trades", exchange, market);
}
std::string liquidations_subject(std::string_view exchange, std::string_view market) {
  return join("liquidations", exchange, market);
}
std::string status_subject(std::string_view collector) { return join("status", collector, {}); }
std::string bars_subject(std::uint32_t timeframe_s, std::string_view market) {
  return join("bars", timeframe_name(timeframe_s), market);
}
std::string signals_subject(std::string_view symbol) { return join("signals", symbol, {}); }

}  // namespace tickflow::bus
