// feeds/venues/gateio.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kGateioSpot{
    .venue = Venue::kGateioSpot,
    .name = "gateio-spot",
    .exchange = "GATEIO",
    .parser = "GATEIO",
};

const VenueProtocol kGateioFutures{
    .venue = Venue::kGateioFutures,
    .name = "gateio-futures",
    .exchange = "GATEIO_FUTURES",
    .parser = "GATEIO_FUTURES",
};

}  // namespace tickflow::venues
