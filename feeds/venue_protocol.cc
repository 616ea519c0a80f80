// feeds/venue_protocol.cc
#include "feeds/venue_protocol.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

#include "feeds/venues/venue_list.h"

namespace tickflow {
namespace {

// In Venue order: venue_protocol() indexes it, and the static_asserts below
// keep the two in step.
const std::array<const VenueProtocol*, static_cast<std::size_t>(Venue::kCount)> kTable{
    &venues::kBinanceSpot, &venues::kBinanceUsdm,    &venues::kBinanceCoinm, &venues::kBybitSpot,
    &venues::kBybitLinear, &venues::kBybitInverse,   &venues::kOkx,          &venues::kCoinbase,
    &venues::kBinanceUs,   &venues::kAster,          &venues::kBitgetSpot,   &venues::kBitgetFutures,
    &venues::kGateioSpot,  &venues::kGateioFutures,  &venues::kKucoinSpot,   &venues::kKucoinFutures,
    &venues::kHtxSpot,     &venues::kHtxSwap,        &venues::kKraken,       &venues::kKrakenFutures,
    &venues::kBitmex,      &venues::kBitfinex,       &venues::kDeribit,      &venues::kDydx,
    &venues::kHyperliquid, &venues::kMexcSpot,       &venues::kMexcFutures,  &venues::kCryptoCom,
    &venues::kBitstamp,    &venues::kPhemex,         &venues::kPoloniex,     &venues::kHitbtc,
    &venues::kBitmartSpot, &venues::kBitmartFutures, &venues::kBitunix,      &venues::kHtxLinearSwap,
};
static_assert(static_cast<std::size_t>(Venue::kHtxLinearSwap) + 1 == static_cast<std::size_t>(Venue::kCount));

// The table as values, for venue_protocols(): built once, on first use.
const std::vector<VenueProtocol>& all() {
  static const std::vector<VenueProtocol> v = [] {
    std::vector<VenueProtocol> out;
    for (std::size_t i = 0; i < kTable.size(); ++i) {
      // Each descriptor sits at its own Venue's index: a misordered table
      // would hand one venue another's plan.
      if (static_cast<std::size_t>(kTable[i]->venue) != i)
        throw std::logic_error("venue table out of order at " + std::string(kTable[i]->name));
      out.push_back(*kTable[i]);
    }
    return out;
  }();
  return v;
}

}  // namespace

const VenueProtocol& venue_protocol(Venue venue) noexcept {
  static const VenueProtocol kNone{};
  const auto i = static_cast<std::size_t>(venue);
  return i < kTable.size() ? *kTable[i] : kNone;
}

std::span<const VenueProtocol> venue_protocols() noexcept { return all(); }

std::string_view to_string(Venue venue) noexcept {
  const VenueProtocol& p = venue_protocol(venue);
  return p.name.empty() ? std::string_view("unknown") : p.name;
}

const std::string& json_safe(const std::string& s) {
  if (s.find_first_of("\"\\") != std::string::npos) throw std::invalid_argument("bad symbol or channel: " + s);
  return s;
}

std::string lower_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string upper_ascii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace tickflow
