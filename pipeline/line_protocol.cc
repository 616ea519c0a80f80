#include "pipeline/line_protocol.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "pipeline/line_field.h"
#include "pipeline/shortest_double.h"
#include "pipeline/timeframe.h"

namespace tickflow {

std::string escape_tag_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == ',' || c == '=' || c == ' ') out += '\\';
    out += c;
  }
  return out;
}

char* encode_bar_line(char* out, const Bar& bar, std::string_view market_tag,
                      const LineProtocolOptions& options) noexcept {
  out = put_text(out, "trades_");
  // The timeframe's canonical name ("1s", "4h"); every bar's timeframe_s is
  // valid (1 s to 7 d), the guard only keeps a corrupt one from throwing.
  if (bar.timeframe_s >= 1 && bar.timeframe_s <= Timeframe::kMaxSeconds)
    out = put_text(out, Timeframe::from_seconds(bar.timeframe_s).name());
  out = put_text(out, ",market=");
  out = put_text(out, market_tag);
  *out++ = ' ';
  bool first = true;
  if (bar.has_ohlc()) {
    out = put_line_field(out, "open", bar.open, first);
    out = put_line_field(out, "high", bar.high, first);
    out = put_line_field(out, "low", bar.low, first);
    out = put_line_field(out, "close", bar.close, first);
  }
  out = put_line_field(out, "vbuy", bar.vbuy, first);
  out = put_line_field(out, "vsell", bar.vsell, first);
  out = put_line_field(out, "cbuy", bar.cbuy, first);
  out = put_line_field(out, "csell", bar.csell, first);
  out = put_line_field(out, "lbuy", bar.lbuy, first);
  out = put_line_field(out, "lsell", bar.lsell, first);
  if (options.base_volume) {
    out = put_line_field(out, "qbuy", bar.qbuy, first);
    out = put_line_field(out, "qsell", bar.qsell, first);
  }
  *out++ = ' ';
  out = std::to_chars(out, out + 20, bar.open_time_s).ptr;
  *out++ = '\n';
  return out;
}

void append_bar_line(std::string& out, const Bar& bar, std::string_view market_tag,
                     const LineProtocolOptions& options) {
  const std::size_t used = out.size();
  // resize() within the capacity only writes the new bytes; the line is then
  // encoded in place and the string cut back to it.
  out.resize(used + max_bar_line_bytes(market_tag.size()));
  char* end = encode_bar_line(out.data() + used, bar, market_tag, options);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

void BarLineEncoder::set_market(MarketId market, std::string_view name) {
  if (market == kInvalidMarket) return;
  if (tags_.size() <= market) tags_.resize(std::size_t{market} + 1);
  tags_[market] = escape_tag_value(name);
}

}  // namespace tickflow
