// feeds/venues/aster.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kAster{
    .venue = Venue::kAster,
    .name = "aster",
    .exchange = "ASTER",
    .parser = "ASTER",
};

}  // namespace tickflow::venues
