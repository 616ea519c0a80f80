// feeds/venues/venue_list.h
//
// The descriptor of every live endpoint (feeds/venue_protocol.h), one
// definition per exchange family in this folder. venue_protocol.cc puts
// them into the table, in Venue order.
#pragma once

#include "feeds/venue_protocol.h"

namespace tickflow::venues {

extern const VenueProtocol kBinanceSpot, kBinanceUsdm, kBinanceCoinm;  // binance.cc
extern const VenueProtocol kBybitSpot, kBybitLinear, kBybitInverse;    // bybit.cc
extern const VenueProtocol kOkx;                                       // okx.cc
extern const VenueProtocol kCoinbase;                                  // coinbase.cc
extern const VenueProtocol kBinanceUs;                                 // binance_us.cc
extern const VenueProtocol kAster;                                     // aster.cc
extern const VenueProtocol kBitgetSpot, kBitgetFutures;                // bitget.cc
extern const VenueProtocol kGateioSpot, kGateioFutures;                // gateio.cc
extern const VenueProtocol kKucoinSpot, kKucoinFutures;                // kucoin.cc
extern const VenueProtocol kHtxSpot, kHtxSwap, kHtxLinearSwap;         // htx.cc
extern const VenueProtocol kKraken, kKrakenFutures;                    // kraken.cc
extern const VenueProtocol kBitmex;                                    // bitmex.cc
extern const VenueProtocol kBitfinex;                                  // bitfinex.cc
extern const VenueProtocol kDeribit;                                   // deribit.cc
extern const VenueProtocol kDydx;                                      // dydx.cc
extern const VenueProtocol kHyperliquid;                               // hyperliquid.cc
extern const VenueProtocol kMexcSpot, kMexcFutures;                    // mexc.cc
extern const VenueProtocol kCryptoCom;                                 // cryptocom.cc
extern const VenueProtocol kBitstamp;                                  // bitstamp.cc
extern const VenueProtocol kPhemex;                                    // phemex.cc
extern const VenueProtocol kPoloniex;                                  // poloniex.cc
extern const VenueProtocol kHitbtc;                                    // hitbtc.cc
extern const VenueProtocol kBitmartSpot, kBitmartFutures;              // bitmart.cc
extern const VenueProtocol kBitunix;                                   // bitunix.cc

}  // namespace tickflow::venues
