// feeds/venues/binance_us.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kBinanceUs{
    .venue = Venue::kBinanceUs,
    .name = "binance-us",
    .exchange = "BINANCE_US",
    .parser = "BINANCE_US",
};

}  // namespace tickflow::venues
