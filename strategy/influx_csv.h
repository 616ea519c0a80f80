// strategy/influx_csv.h
//
// The text of InfluxQL statements and of InfluxDB 1.6's CSV answers, for
// the backtester's readers (influx_bar_source.h, influx_bar_inventory.h).
// They ask for CSV (Accept: application/csv) because a chunk of 1 s bars is
// then flat rows, not a JSON tree; these helpers are the one place that
// quotes names into a statement and splits the answer back into cells.
//
// Promises:
//  * influxql_string / influxql_identifier escape what InfluxQL's lexer
//    reads specially (' or " and \), so a market name cannot end a literal;
//  * read_csv_record reads RFC 4180 as Go's encoding/csv writes it (quoted
//    cells, "" inside quotes, CRLF or LF); a blank line is one empty cell,
//    the separator 1.6 puts between result sets;
//  * parse_csv_tables throws std::runtime_error with the server's message
//    when the answer is an error table (a header of one cell "error").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow {

// An InfluxQL string literal: single quotes, with ' and \ escaped.
std::string influxql_string(std::string_view s);

// An InfluxQL identifier: double quotes, with " and \ escaped.
std::string influxql_identifier(std::string_view s);

// The URL for messages: any "user:password@" someone put in it removed.
std::string influx_url_for_messages(const std::string& url);

// One record from body[pos..] into `cells`; false at the end of the body.
bool read_csv_record(std::string_view body, std::size_t& pos, std::vector<std::string>& cells);

// Every result set of a (small) answer: its header and rows.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // The column named `name`, or SIZE_MAX.
  std::size_t column(std::string_view name) const;
};
std::vector<CsvTable> parse_csv_tables(std::string_view body);

}  // namespace tickflow
