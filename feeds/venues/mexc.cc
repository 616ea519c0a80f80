// feeds/venues/mexc.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kMexcSpot{
    .venue = Venue::kMexcSpot,
    .name = "mexc-spot",
    .exchange = "MEXC",
    .parser = "MEXC",
};

const VenueProtocol kMexcFutures{
    .venue = Venue::kMexcFutures,
    .name = "mexc-futures",
    .exchange = "MEXC_FUTURES",
    .parser = "MEXC_FUTURES",
};

}  // namespace tickflow::venues
