// runtime/prometheus_text.cc
//
// The text format, per family:
//   # HELP name escaped help
//   # TYPE name counter|gauge|summary
//   name{label="escaped value",...} value
// Samples are appended to their family's buffer as they arrive, so str() is a
// concatenation and no sample is formatted twice.
#include "runtime/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace tickflow {
namespace {

constexpr bool is_alpha_or_underscore(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Label values: backslash, double quote and line feed are the three escapes
// the format defines; anything else (UTF-8 included) passes through.
void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text: as label values, but a double quote is literal there.
void append_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void require_metric_name(std::string_view name) {
  if (!PrometheusText::valid_metric_name(name))
    throw std::invalid_argument("PrometheusText: invalid metric name '" + std::string(name) + "'");
}

void require_labels(const PrometheusText::Labels& labels, std::string_view reserved) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string_view label = labels[i].first;
    if (!PrometheusText::valid_label_name(label) || label.starts_with("__"))
      throw std::invalid_argument("PrometheusText: invalid label name '" + std::string(label) + "'");
    if (label == reserved)
      throw std::invalid_argument("PrometheusText: label '" + std::string(label) + "' is reserved here");
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j].first == label)
        throw std::invalid_argument("PrometheusText: duplicate label '" + std::string(label) + "'");
  }
}

constexpr double kNanosPerSecond = 1e9;

}  // namespace

bool PrometheusText::valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || !(is_alpha_or_underscore(name[0]) || name[0] == ':')) return false;
  for (const char c : name)
    if (!(is_alpha_or_underscore(c) || is_digit(c) || c == ':')) return false;
  return true;
}

// Colons are for metric names (recording rules) only.
bool PrometheusText::valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !is_alpha_or_underscore(name[0])) return false;
  for (const char c : name)
    if (!(is_alpha_or_underscore(c) || is_digit(c))) return false;
  return true;
}

std::string PrometheusText::format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Counters are integral almost always: print them as integers (no "1e+06"),
  // as far as doubles hold every integer exactly.
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::fabs(value) < kExactIntegers && value == std::trunc(value)) {
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(value));
    return std::string(buf, end);
  }
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip
  return std::string(buf, end);
}

PrometheusText::Family& PrometheusText::family(std::string_view name, std::string_view help, const char* type) {
  require_metric_name(name);
  const auto [it, inserted] = index_.try_emplace(std::string(name), families_.size());
  if (inserted) {
    families_.push_back(Family{std::string(name), std::string(help), type, {}});
    return families_.back();
  }
  Family& f = families_[it->second];
  if (std::string_view(f.type) != type)
    throw std::invalid_argument("PrometheusText: metric '" + std::string(name) + "' is a " + f.type + ", not a " +
                                type);
  return f;
}

void PrometheusText::add_sample(std::string& out, std::string_view name, std::string_view suffix, const Labels& labels,
                                std::string_view extra_label, std::string_view extra_value, double value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) out += ',';
      first = false;
      out += label;
      out += "=\"";
      append_label_value(out, label_value);
      out += '"';
    }
    if (!extra_label.empty()) {
      if (!first) out += ',';
      out += extra_label;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += format_value(value);
  out += '\n';
}

void PrometheusText::counter(std::string_view name, std::string_view help, const Labels& labels, double value) {
  require_labels(labels, {});
  add_sample(family(name, help, "counter").samples, name, {}, labels, {}, {}, value);
}

void PrometheusText::gauge(std::string_view name, std::string_view help, const Labels& labels, double value) {
  require_labels(labels, {});
  add_sample(family(name, help, "gauge").samples, name, {}, labels, {}, {}, value);
}

void PrometheusText::latency_summary(std::string_view name, std::string_view help, const Labels& labels,
                                     const LatencyHistogram& histogram) {
  require_labels(labels, "quantile");
  std::string& out = family(name, help, "summary").samples;
  const bool empty = histogram.count() == 0;
  static constexpr std::pair<double, std::string_view> kQuantiles[] = {
      {0.5, "0.5"}, {0.99, "0.99"}, {0.999, "0.999"}, {1.0, "1"}};
  for (const auto& [q, label] : kQuantiles) {
    const double seconds = empty ? std::nan("") : static_cast<double>(histogram.percentile(q)) / kNanosPerSecond;
    add_sample(out, name, {}, labels, "quantile", label, seconds);
  }
  // The histogram keeps its sum private; mean x count gives it back, exact
  // (after rounding) while the sum is below ~2^51 ns, i.e. 26 days of latency.
  const double sum_ns = std::nearbyint(histogram.mean() * static_cast<double>(histogram.count()));
  add_sample(out, name, "_sum", labels, {}, {}, sum_ns / kNanosPerSecond);
  add_sample(out, name, "_count", labels, {}, {}, static_cast<double>(histogram.count()));
}

std::string PrometheusText::str() const {
  std::string out;
  for (const Family& f : families_) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    out += f.samples;
  }
  return out;
}

}  // namespace tickflow
