#include "feeds/json_support.h"

namespace tickflow {

ondemand::parser& thread_json_parser(std::size_t max_frame_bytes) {
  thread_local ondemand::parser parser;
  if (parser.capacity() < max_frame_bytes) [[unlikely]] {
    // Frames above max_frame_bytes never reach iterate() (ExchangeParser::parse
    // rejects them), so the parser never grows past this allocation. A
    // failure here is out of memory, which nothing downstream can recover
    // from either.
    if (parser.allocate(max_frame_bytes) != simdjson::SUCCESS) throw std::bad_alloc();
  }
  return parser;
}

}  // namespace tickflow
