// feeds/venues/phemex.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kPhemex{
    .venue = Venue::kPhemex,
    .name = "phemex",
    .exchange = "PHEMEX",
    .parser = "PHEMEX",
};

}  // namespace tickflow::venues
