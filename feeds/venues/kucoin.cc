// feeds/venues/kucoin.cc
//
// PLACEHOLDER (issue 16, being written): the live endpoint descriptor(s);
// plan == nullptr means no live feed yet.
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {

const VenueProtocol kKucoinSpot{
    .venue = Venue::kKucoinSpot,
    .name = "kucoin-spot",
    .exchange = "KUCOIN",
    .parser = "KUCOIN",
};

const VenueProtocol kKucoinFutures{
    .venue = Venue::kKucoinFutures,
    .name = "kucoin-futures",
    .exchange = "KUCOIN_FUTURES",
    .parser = "KUCOIN_FUTURES",
};

}  // namespace tickflow::venues
