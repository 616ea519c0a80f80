// feeds/venues/bitmart.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kBitmartSpot{
    .venue = Venue::kBitmartSpot,
    .name = "bitmart-spot",
    .exchange = "BITMART",
    .parser = "BITMART",
};

const VenueProtocol kBitmartFutures{
    .venue = Venue::kBitmartFutures,
    .name = "bitmart-futures",
    .exchange = "BITMART_FUTURES",
    .parser = "BITMART_FUTURES",
};

}  // namespace tickflow::venues
