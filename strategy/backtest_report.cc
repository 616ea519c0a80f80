// strategy/backtest_report.cc: metrics and the report files (see
// backtest_report.h).
#include "strategy/backtest_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "pipeline/shortest_double.h"
#include "strategy/equity_svg.h"
#include "strategy/signal.h"

namespace tickflow {

namespace {

void append_number(std::string& out, double v) {
  char buf[32];
  out.append(buf, write_shortest(buf, v));
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_iso(std::string& out, std::int64_t epoch_s) {
  char buf[20];
  format_iso8601_utc(epoch_s, buf);
  out.append(buf, 20);
}

// JSON: a number, or null when it is not finite (JSON has no inf or NaN).
void append_json_number(std::string& out, double v) {
  if (std::isfinite(v)) {
    append_number(out, v);
  } else {
    out += "null";
  }
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// A JSON object written one key per line, in the order of the calls.
class JsonObject {
 public:
  JsonObject(std::string& out, int indent) : out_(out), indent_(indent) { out_ += "{"; }
  void key(std::string_view k) {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
    out_.append(static_cast<std::size_t>(indent_ + 2), ' ');
    append_json_string(out_, k);
    out_ += ": ";
  }
  void number(std::string_view k, double v) {
    key(k);
    append_json_number(out_, v);
  }
  void integer(std::string_view k, std::int64_t v) {
    key(k);
    append_int(out_, v);
  }
  void string(std::string_view k, std::string_view v) {
    key(k);
    append_json_string(out_, v);
  }
  void close() {
    if (!first_) {
      out_ += '\n';
      out_.append(static_cast<std::size_t>(indent_), ' ');
    }
    out_ += '}';
  }

 private:
  std::string& out_;
  int indent_;
  bool first_ = true;
};

// CSV (RFC 4180): a field with a comma, quote or line break is quoted.
void append_csv_text(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// `bytes` to dir/name via dir/name.tmp, fsync and rename: a crash leaves
// the old file or the new one, never a half-written one.
void write_atomically(const std::filesystem::path& dir, const std::string& name, std::string_view bytes) {
  const std::filesystem::path final_path = dir / name;
  const std::filesystem::path tmp_path = dir / (name + ".tmp");
  const auto fail = [](const std::filesystem::path& p, int err) {
    throw std::runtime_error("cannot write '" + p.string() + "': " + std::strerror(err));
  };
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp_path, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp_path.c_str());
      fail(tmp_path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    fail(tmp_path, err);
  }
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    fail(final_path, err);
  }
}

}  // namespace

double max_drawdown(const std::vector<EquitySample>& samples) noexcept {
  double peak = 0;
  double worst = 0;
  bool first = true;
  for (const EquitySample& s : samples) {
    if (first || s.equity > peak) peak = s.equity;
    first = false;
    if (peak > 0) {
      const double dd = (peak - s.equity) / peak;
      if (dd > worst) worst = dd;
    }
  }
  return worst;
}

double sharpe_ratio(const std::vector<EquitySample>& samples, std::int64_t interval_s) noexcept {
  if (samples.size() < 3 || interval_s <= 0) return 0;  // fewer than 2 returns
  // Two passes (mean, then squared deviations): no cancellation in the std.
  const std::size_t n = samples.size() - 1;
  double sum = 0;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const double prev = samples[i - 1].equity;
    sum += prev != 0 ? samples[i].equity / prev - 1 : 0;
  }
  const double mean = sum / static_cast<double>(n);
  double squares = 0;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const double prev = samples[i - 1].equity;
    const double d = (prev != 0 ? samples[i].equity / prev - 1 : 0) - mean;
    squares += d * d;
  }
  const double sd = std::sqrt(squares / static_cast<double>(n - 1));
  if (!(sd > 0) || !std::isfinite(sd)) return 0;
  const double per_year = 365.0 * 86400.0 / static_cast<double>(interval_s);
  return mean / sd * std::sqrt(per_year);
}

BacktestMetrics compute_metrics(const BacktestPortfolio& portfolio, std::uint64_t steps) {
  BacktestMetrics m;
  m.starting_balance = portfolio.starting_balance();
  const auto& samples = portfolio.equity_samples();
  m.final_balance = portfolio.finished() || samples.empty() ? portfolio.equity() : samples.back().equity;
  m.total_return = m.final_balance / m.starting_balance - 1;
  double won = 0;
  double lost = 0;
  for (const TradeRecord& t : portfolio.trades()) {
    ++m.trades;
    if (t.net_pnl > 0) {
      ++m.wins;
      won += t.net_pnl;
    } else if (t.net_pnl < 0) {
      ++m.losses;
      lost += t.net_pnl;
    }
  }
  m.win_rate = m.trades > 0 ? static_cast<double>(m.wins) / static_cast<double>(m.trades) : 0;
  m.avg_win = m.wins > 0 ? won / static_cast<double>(m.wins) : 0;
  m.avg_loss = m.losses > 0 ? lost / static_cast<double>(m.losses) : 0;
  m.profit_factor = lost < 0 ? won / -lost : won > 0 ? std::numeric_limits<double>::infinity() : 0;
  m.max_drawdown = max_drawdown(samples);
  m.sharpe = sharpe_ratio(samples, portfolio.account().equity_interval_s);
  m.total_fees = portfolio.total_fees();
  m.start_s = portfolio.first_step_s();
  m.end_s = portfolio.last_step_s();
  const std::int64_t span = m.end_s - m.start_s;
  m.exposure = span > 0 ? static_cast<double>(portfolio.exposure_s()) / static_cast<double>(span) : 0;
  m.steps = steps;
  return m;
}

std::string report_json(const BacktestMetrics& m, const BacktestPortfolio& portfolio,
                        const std::vector<std::pair<std::string, std::string>>& run_info) {
  std::string out;
  JsonObject root(out, 0);
  root.key("metrics");
  {
    JsonObject o(out, 2);
    o.number("starting_balance", m.starting_balance);
    o.number("final_balance", m.final_balance);
    o.number("total_return", m.total_return);
    o.integer("trades", static_cast<std::int64_t>(m.trades));
    o.integer("wins", static_cast<std::int64_t>(m.wins));
    o.integer("losses", static_cast<std::int64_t>(m.losses));
    o.number("win_rate", m.win_rate);
    o.number("avg_win", m.avg_win);
    o.number("avg_loss", m.avg_loss);
    o.number("profit_factor", m.profit_factor);
    o.number("max_drawdown", m.max_drawdown);
    o.number("sharpe", m.sharpe);
    o.number("total_fees", m.total_fees);
    o.number("exposure", m.exposure);
    o.integer("start_s", m.start_s);
    o.key("start_time");
    out += '"';
    append_iso(out, m.start_s);
    out += '"';
    o.integer("end_s", m.end_s);
    o.key("end_time");
    out += '"';
    append_iso(out, m.end_s);
    out += '"';
    o.integer("steps", static_cast<std::int64_t>(m.steps));
    o.close();
  }
  root.key("run_info");
  {
    JsonObject o(out, 2);
    for (const auto& [k, v] : run_info) o.string(k, v);
    o.close();
  }
  root.key("counts");
  {
    JsonObject o(out, 2);
    o.integer("symbols", static_cast<std::int64_t>(portfolio.symbol_count()));
    o.integer("trades", static_cast<std::int64_t>(portfolio.trades().size()));
    o.integer("equity_samples", static_cast<std::int64_t>(portfolio.equity_samples().size()));
    o.integer("cancelled_orders", static_cast<std::int64_t>(portfolio.cancelled_orders()));
    o.integer("refused_entries", static_cast<std::int64_t>(portfolio.refused_entries()));
    o.integer("exposure_s", portfolio.exposure_s());
    o.close();
  }
  root.close();
  out += '\n';
  return out;
}

std::string trades_csv(const std::vector<TradeRecord>& trades) {
  std::string out =
      "symbol,direction,entry_signal_time,entry_signal_s,entry_time,entry_s,entry_price,quantity,entry_fee,"
      "exit_signal_time,exit_signal_s,exit_time,exit_s,exit_price,exit_fee,pnl,net_pnl,return,score,tier,leverage,"
      "exit_reason,reasoning\n";
  for (const TradeRecord& t : trades) {
    const auto time = [&out](std::int64_t s) {
      append_iso(out, s);
      out += ',';
      append_int(out, s);
      out += ',';
    };
    const auto num = [&out](double v) {
      append_number(out, v);
      out += ',';
    };
    append_csv_text(out, t.symbol);
    out += ',';
    out += to_string(t.direction);
    out += ',';
    time(t.entry_signal_s);
    time(t.entry_fill_s);
    num(t.entry_price);
    num(t.quantity);
    num(t.entry_fee);
    time(t.exit_signal_s);
    time(t.exit_fill_s);
    num(t.exit_price);
    num(t.exit_fee);
    num(t.pnl);
    num(t.net_pnl);
    num(t.return_fraction);
    num(t.score);
    append_csv_text(out, t.tier);
    out += ',';
    num(t.leverage);
    append_csv_text(out, t.exit_reason);
    out += ',';
    append_csv_text(out, t.reasoning);
    out += '\n';
  }
  return out;
}

std::string equity_csv(const std::vector<EquitySample>& samples) {
  std::string out = "time,time_s,equity,cash,open_positions,drawdown\n";
  out.reserve(out.size() + samples.size() * 64);
  double peak = 0;
  bool first = true;
  for (const EquitySample& s : samples) {
    if (first || s.equity > peak) peak = s.equity;
    first = false;
    append_iso(out, s.time_s);
    out += ',';
    append_int(out, s.time_s);
    out += ',';
    append_number(out, s.equity);
    out += ',';
    append_number(out, s.cash);
    out += ',';
    append_int(out, s.open_positions);
    out += ',';
    append_number(out, peak > 0 ? (peak - s.equity) / peak : 0.0);
    out += '\n';
  }
  return out;
}

void write_backtest_report(const std::filesystem::path& dir, const BacktestMetrics& metrics,
                           const BacktestPortfolio& portfolio,
                           const std::vector<std::pair<std::string, std::string>>& run_info) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create '" + dir.string() + "': " + ec.message());
  write_atomically(dir, "report.json", report_json(metrics, portfolio, run_info));
  write_atomically(dir, "trades.csv", trades_csv(portfolio.trades()));
  write_atomically(dir, "equity.csv", equity_csv(portfolio.equity_samples()));
  write_atomically(dir, "equity.svg",
                   render_equity_svg(portfolio.equity_samples(), portfolio.trades(), portfolio.starting_balance()));
}

}  // namespace tickflow
