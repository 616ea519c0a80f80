// feeds/venues/bitunix.cc
//
// Bitunix USDT-margined futures ([markets] BITUNIX: "BTCUSDT"; markets
// BITUNIX:BTCUSDT): wss://fapi.bitunix.com/public/, as aggr-server.
//
// Subscribe: {"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"trade"},..]},
// at most 10 args per message, one message every 100 ms (Bitunix publishes no
// subscribe rate limit; aggr-server sends one pair per message, unpaced).
// After subscribing Bitunix sends the symbol's recent trades once: the
// parser skips that first frame as history (kSnapshot) and re-arms on every
// new connection's {"op":"connect"}.
//
// Keepalive: {"op":"ping","ping":<seconds>} every 20 s, as aggr-server; the
// server answers {"op":"ping","pong":..} (kControl). The ping text is fixed
// per plan, so "ping" carries 0 rather than the time: what the server checks
// is that something arrives, and its reply echoes the field.
//
// Liquidations: Bitunix publishes no public liquidation channel.
//
// Ids: none in the feed (hashed): a reconnect reports a time gap. No REST
// backfill for Bitunix yet (feeds/backfill.cc).
#include <stdexcept>

#include "feeds/live_feed.h"
#include "feeds/venues/venue_list.h"

namespace tickflow::venues {
namespace {

constexpr std::size_t kArgsPerMessage = 10;

std::vector<std::string> trade_channel(bool) { return {"trade"}; }

void plan(const LiveFeedConfig& config, const std::vector<std::string>& channels, LiveFeedPlan& plan) {
  plan.host = "fapi.bitunix.com";
  plan.port = 443;
  plan.target = config.path.empty() ? "/public/" : config.path;
  plan.parser_name = "BITUNIX";
  std::string msg;
  std::size_t count = 0;
  for (const auto& channel : channels)
    for (const auto& symbol : config.symbols) {
      if (count == kArgsPerMessage) {
        plan.subscribe.push_back(msg + "]}");
        count = 0;
      }
      msg = (count == 0 ? std::string(R"({"op":"subscribe","args":[)") : msg + ",") + R"({"symbol":")" +
            upper_ascii(json_safe(symbol)) + R"(","ch":")" + json_safe(channel) + "\"}";
      ++count;
    }
  if (count == 0) throw std::invalid_argument("Bitunix: nothing to subscribe");
  plan.subscribe.push_back(msg + "]}");
  plan.subscribe_interval = std::chrono::milliseconds{100};
  plan.ping_interval = std::chrono::milliseconds{20'000};
  plan.ping_text = R"({"op":"ping","ping":0})";
}

std::string market_pair(const std::string& symbol) { return upper_ascii(symbol); }

GapDetection time_gaps(const std::vector<std::string>&) { return GapDetection::kTime; }

}  // namespace

const VenueProtocol kBitunix{.venue = Venue::kBitunix,
                             .name = "bitunix",
                             .exchange = "BITUNIX",
                             .parser = "BITUNIX",
                             .default_channels = &trade_channel,
                             .plan = &plan,
                             .market_pair = &market_pair,
                             .gaps = &time_gaps};

}  // namespace tickflow::venues
