// feeds/venues/bitget.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kBitgetSpot{
    .venue = Venue::kBitgetSpot,
    .name = "bitget-spot",
    .exchange = "BITGET",
    .parser = "BITGET",
};

const VenueProtocol kBitgetFutures{
    .venue = Venue::kBitgetFutures,
    .name = "bitget-futures",
    .exchange = "BITGET_FUTURES",
    .parser = "BITGET_FUTURES",
};

}  // namespace tickflow::venues
