// feeds/venues/cryptocom.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kCryptoCom{
    .venue = Venue::kCryptoCom,
    .name = "cryptocom",
    .exchange = "CRYPTOCOM",
    .parser = "CRYPTOCOM",
};

}  // namespace tickflow::venues
