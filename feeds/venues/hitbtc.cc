// feeds/venues/hitbtc.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kHitbtc{
    .venue = Venue::kHitbtc,
    .name = "hitbtc",
    .exchange = "HITBTC",
    .parser = "HITBTC",
};

}  // namespace tickflow::venues
