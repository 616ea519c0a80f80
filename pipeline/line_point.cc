#include "pipeline/line_point.h"

#include <charconv>
#include <cmath>

#include "pipeline/shortest_double.h"

namespace tickflow {

void append_escaped_measurement(std::string& out, std::string_view name) {
  for (char c : name) {
    if (c == ',' || c == ' ') out += '\\';
    out += c;
  }
}

void append_escaped_key(std::string& out, std::string_view key) {
  for (char c : key) {
    if (c == ',' || c == '=' || c == ' ') out += '\\';
    out += c;
  }
}

void append_quoted_string(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

LinePoint::LinePoint(std::string& out, std::string_view measurement) : out_(out), start_(out.size()) {
  if (measurement.empty()) refused_ = "empty measurement";
  append_escaped_measurement(out_, measurement);
}

LinePoint& LinePoint::tag(std::string_view key, std::string_view value) {
  if (value.empty() || key.empty()) {
    refused_ = "empty tag key or value";
  } else if (tags_ == kMaxTags || tags_written_) {
    refused_ = tags_written_ ? "tag after a field" : "too many tags";
  } else {
    tag_keys_[tags_] = key;
    tag_values_[tags_] = value;
    ++tags_;
  }
  return *this;
}

// Insertion sort: a handful of tags, no allocation.
void LinePoint::write_tags() {
  for (std::size_t i = 1; i < tags_; ++i)
    for (std::size_t j = i; j > 0 && tag_keys_[j] < tag_keys_[j - 1]; --j) {
      std::swap(tag_keys_[j], tag_keys_[j - 1]);
      std::swap(tag_values_[j], tag_values_[j - 1]);
    }
  for (std::size_t i = 0; i < tags_; ++i) {
    out_ += ',';
    append_escaped_key(out_, tag_keys_[i]);
    out_ += '=';
    append_escaped_key(out_, tag_values_[i]);
  }
  tags_written_ = true;
}

void LinePoint::begin_field(std::string_view key) {
  if (!tags_written_) write_tags();
  out_ += fields_++ == 0 ? ' ' : ',';
  append_escaped_key(out_, key);
  out_ += '=';
}

LinePoint& LinePoint::field(std::string_view key, double value) {
  if (!std::isfinite(value)) {
    refused_ = "NaN or infinite field";
    return *this;
  }
  begin_field(key);
  char buffer[32];
  out_.append(buffer, write_shortest(buffer, value));
  return *this;
}

LinePoint& LinePoint::field(std::string_view key, std::int64_t value) {
  begin_field(key);
  char buffer[24];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_.append(buffer, r.ptr);
  out_ += 'i';
  return *this;
}

LinePoint& LinePoint::field(std::string_view key, bool value) {
  begin_field(key);
  out_ += value ? "true" : "false";
  return *this;
}

LinePoint& LinePoint::field(std::string_view key, std::string_view value) {
  begin_field(key);
  append_quoted_string(out_, value);
  return *this;
}

bool LinePoint::end(std::int64_t timestamp) {
  if (refused_.empty() && fields_ == 0) refused_ = "no field";
  if (!refused_.empty()) {
    out_.resize(start_);
    return false;
  }
  out_ += ' ';
  char buffer[24];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, timestamp);
  out_.append(buffer, r.ptr);
  out_ += '\n';
  return true;
}

}  // namespace tickflow
