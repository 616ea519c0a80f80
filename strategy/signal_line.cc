// strategy/signal_line.cc
#include "strategy/signal_line.h"

#include <cmath>

#include "pipeline/line_point.h"

namespace tickflow {

bool append_signal_line(std::string& out, const Signal& s) {
  LinePoint p(out, kSignalMeasurement);
  p.tag("symbol", s.symbol).tag("action", to_string(s.action)).tag("strategy", "SqueezeFlow");
  if (s.base_symbol[0] != '\0') p.tag("base_symbol", s.base_symbol);
  char uuid[36];
  format_uuid(s.signal_id, uuid);
  p.field("signal_id", std::string_view(uuid, sizeof uuid));
  // Left out rather than refusing the whole point (see the header).
  const auto number = [&p](std::string_view key, double v) {
    if (std::isfinite(v)) p.field(key, v);
  };
  number("score", s.score);
  number("confidence", s.confidence);
  number("position_size_factor", s.position_size_factor);
  number("leverage", s.leverage);
  number("entry_price", s.entry_price);
  p.field("ttl", std::int64_t{s.ttl_s});
  number("spot_cvd", s.spot_cvd);
  number("perp_cvd", s.perp_cvd);
  number("divergence", s.divergence);
  // A newline would end the point mid-string: a stack copy with CR/LF
  // turned into spaces (reasoning is NUL-terminated within its array).
  char reasoning[sizeof s.reasoning];
  std::size_t n = 0;
  for (; n < sizeof reasoning - 1 && s.reasoning[n] != '\0'; ++n)
    reasoning[n] = s.reasoning[n] == '\n' || s.reasoning[n] == '\r' ? ' ' : s.reasoning[n];
  p.field("reasoning", std::string_view(reasoning, n));
  return p.end(s.timestamp_s);
}

}  // namespace tickflow
