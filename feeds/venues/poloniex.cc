// feeds/venues/poloniex.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kPoloniex{
    .venue = Venue::kPoloniex,
    .name = "poloniex",
    .exchange = "POLONIEX",
    .parser = "POLONIEX",
};

}  // namespace tickflow::venues
