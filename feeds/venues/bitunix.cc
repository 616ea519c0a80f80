// feeds/venues/bitunix.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kBitunix{
    .venue = Venue::kBitunix,
    .name = "bitunix",
    .exchange = "BITUNIX",
    .parser = "BITUNIX",
};

}  // namespace tickflow::venues
