#include "feeds/exchange_parser.h"

#include "feeds/json_support.h"

namespace tickflow {

static_assert(kFramePadding >= simdjson::SIMDJSON_PADDING, "PaddedFrame must keep simdjson's padding promise");

ExchangeParser::ExchangeParser(std::string exchange, MarketRegistry& registry, ParserOptions options)
    : markets_(std::move(exchange), registry), options_(options) {
  // Size this thread's simdjson parser now (configuration time), so that the
  // first frame does not allocate when it is parsed on this thread.
  prepare_thread();
}

void ExchangeParser::prepare_thread() const { (void)thread_json_parser(options_.max_frame_bytes); }

}  // namespace tickflow
