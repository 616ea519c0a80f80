// runtime/prometheus_text.h
//
// PrometheusText: builds one scrape of the Prometheus text exposition format
// (version 0.0.4) for the /metrics endpoint. Callers add samples in any
// order; str() writes each metric family once, with its # HELP and # TYPE
// lines, followed by all of its samples, families in the order they were first
// seen, samples in the order they were added. So code that walks markets and
// adds several families per market needs no second pass to group them.
//
// Promises: label values and HELP text are escaped as the format requires;
// metric and label names are validated and a bad one throws
// std::invalid_argument (names are literals in our code, so a bad one is a
// programming error, caught by the first test that scrapes). Values print as
// plain integers when integral and below 2^53, else in the shortest form that
// round-trips (std::to_chars); NaN as NaN, infinities as +Inf / -Inf.
//
// Latency summaries are in seconds (the Prometheus base unit), built from a
// LatencyHistogram of nanoseconds.
//
// Not thread-safe: build one per scrape, on the thread that serves it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/latency_histogram.h"

namespace tickflow {

class PrometheusText {
 public:
  // Label names are literals in the caller's code; values are data (market
  // names, exchanges) and are escaped.
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // One sample of a counter / gauge family. The first call for a family
  // fixes its HELP text; a later call naming the same family with another
  // type throws std::invalid_argument.
  void counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  void gauge(std::string_view name, std::string_view help, const Labels& labels, double value);

  // A `summary` family in seconds: quantile="0.5", "0.99", "0.999" and "1"
  // (the exact maximum), then name_sum and name_count. Quantiles are NaN when
  // the histogram is empty, as Prometheus' own clients report them.
  void latency_summary(std::string_view name, std::string_view help, const Labels& labels,
                       const LatencyHistogram& histogram);

  // The whole exposition, each line ending in '\n'. Empty when nothing was added.
  std::string str() const;

  // Exposed for tests and for callers formatting values by hand.
  static std::string format_value(double value);
  static bool valid_metric_name(std::string_view name) noexcept;  // [a-zA-Z_:][a-zA-Z0-9_:]*
  static bool valid_label_name(std::string_view name) noexcept;   // [a-zA-Z_][a-zA-Z0-9_]*

 private:
  struct Family {
    std::string name;
    std::string help;
    const char* type;
    std::string samples;  // complete lines
  };

  Family& family(std::string_view name, std::string_view help, const char* type);
  void add_sample(std::string& out, std::string_view name, std::string_view suffix, const Labels& labels,
                  std::string_view extra_label, std::string_view extra_value, double value);

  std::vector<Family> families_;
  std::unordered_map<std::string, std::size_t> index_;  // family name -> families_ index
};

}  // namespace tickflow
