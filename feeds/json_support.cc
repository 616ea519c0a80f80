#include "feeds/json_support.h"

namespace tickflow {

ondemand::parser& thread_json_parser(std::size_t max_frame_bytes) {
  // Frames above max_frame_bytes never reach iterate() (ExchangeParser::parse
  // rejects them), so the parser never grows past this allocation.
  thread_local ondemand::parser parser;
  if (parser.capacity() < max_frame_bytes) {
    // Configuration time (ExchangeParser's constructor): a failure here is
    // out of memory, which nothing downstream can recover from either.
    if (parser.allocate(max_frame_bytes) != simdjson::SUCCESS) throw std::bad_alloc();
  }
  return parser;
}

}  // namespace tickflow
