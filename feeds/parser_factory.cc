#include "feeds/parser_factory.h"

#include <array>

namespace tickflow {
namespace {

using Maker = std::unique_ptr<ExchangeParser> (*)(std::string_view, MarketRegistry&, ParserOptions);

struct Family {
  std::string_view name;
  Maker make;
};

constexpr std::array kFamilies{
    Family{"BINANCE", &make_binance_parser},           // spot
    Family{"BINANCE_FUTURES", &make_binance_parser},   // USD-M and COIN-M (told apart by symbol)
    Family{"BINANCE_DELIVERY", &make_binance_parser},  // cryptofeed's name for COIN-M
};

}  // namespace

std::unique_ptr<ExchangeParser> make_parser(std::string_view exchange, MarketRegistry& registry,
                                            ParserOptions options) {
  for (const Family& family : kFamilies) {
    if (family.name == exchange) return family.make(exchange, registry, options);
  }
  return nullptr;
}

const std::vector<std::string>& known_exchanges() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Family& family : kFamilies) v.emplace_back(family.name);
    return v;
  }();
  return names;
}

}  // namespace tickflow
