// tests/integration/all_venues_run_test.cc
//
// One `tickflow run` against every venue of the shipped host-8core profile
// at once, with nothing leaving loopback: the profile is copied with every
// [feeds.endpoints.<EXCHANGE>] pointed at a local WsTestServer (one per
// planned connection: the profile plans one connection per exchange) and
// [influx] at a real influxd (influxd_process.h).
//
// Each server plays its venue from a WsVenueScript: it reads exactly the
// subscribe messages the live plan sends (runtime/live_plan.h
// plan_live_connections + feeds/live_feed.h plan_for), acknowledges them
// as the venue does (Bitfinex's chanIds, Hyperliquid's and dYdX's
// subscription replies followed by their history, which the parsers skip),
// answers the client keepalives, sends the server keepalives a venue
// expects answered (Deribit's test_request, HTX's gzip {"ping":N},
// Crypto.com's public/heartbeat), then
// replays kTradesPerMarket trades per market in the venue's own frame
// format, re-timed to now (the aggregator runs on the wall clock). KuCoin's
// connections first ask bullet-public (a local RestTestServer) for their
// endpoint and token, as they do live. The
// frame templates below are written from the parsers' banners and the
// fixtures/captures in tests/data.
//
//  * EveryVenueDeliversBarsInOneRun: every server got exactly the plan's
//    subscribe messages (compared text for text) on one connection; the
//    venues with server keepalives got their answers back ({"pong":N} for
//    HTX, public/test for Deribit, public/respond-heartbeat for Crypto.com);
//    KuCoin asked bullet-public once per connection and connected with its
//    token; /health lists one entry per planned
//    connection, all connected; /metrics counts exactly kTradesPerMarket x
//    markets trades per exchange (history never counted) and no parse
//    error on any connection (acks, keepalives and trades all understood); after SIGTERM
//    (exit 0) InfluxDB holds 1 s bars for every configured market (the
//    market names as the parsers write them), kTradesPerMarket trades each.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <time.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "feeds/live_feed.h"
#include "runtime/live_plan.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow::testing {
namespace {

constexpr int kTradesPerMarket = 3;
const fs::path kProfile = fs::path(TICKFLOW_SOURCE_DIR) / "tuning" / "host-8core.toml";

// One trade as a template fills it in.
struct TradeSpec {
  std::string symbol;  // as the venue's subscribe spells it ([markets])
  std::uint64_t id = 0;
  std::int64_t ms = 0;  // exchange time, ms since the epoch
  double price = 0;
  bool buy = true;
};

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// 2024-05-01T12:00:00.123Z (digits = 3) or .123000Z (digits = 6).
std::string iso8601(std::int64_t ms, int digits) {
  const time_t s = static_cast<time_t>(ms / 1000);
  tm t{};
  gmtime_r(&s, &t);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  char frac[16];
  if (digits == 3)
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  else
    std::snprintf(frac, sizeof frac, ".%03d000Z", static_cast<int>(ms % 1000));
  return std::string(buf) + frac;
}

std::string uuid(std::uint64_t id) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "5f0c2a1e-0000-4000-8000-%012llu", static_cast<unsigned long long>(id));
  return buf;
}

// One gzip member, as HTX sends every frame.
std::string gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Protobuf wire format, for MEXC spot's deals (feeds/mexc_parser.cc).
void pb_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void pb_bytes(std::string& out, int field, const std::string& bytes) {
  pb_varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
  pb_varint(out, bytes.size());
  out += bytes;
}
void pb_int(std::string& out, int field, std::uint64_t v) {
  pb_varint(out, static_cast<std::uint64_t>(field) << 3);
  pb_varint(out, v);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// The string value of "key":"..." in a client message ("" when absent).
std::string json_field(const std::string& msg, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const auto at = msg.find(needle);
  if (at == std::string::npos) return {};
  const auto start = at + needle.size();
  return msg.substr(start, msg.find('"', start) - start);
}

// Bitfinex data frames carry the chanId its "subscribed" reply assigned.
int bitfinex_chan(const std::string& symbol) {
  static const std::map<std::string, int> ids = {
      {"tBTCUSD", 101}, {"tETHUSD", 102}, {"tBTCF0:USTF0", 103}, {"tETHF0:USTF0", 104}};
  const auto it = ids.find(symbol);
  return it == ids.end() ? 199 : it->second;
}
constexpr int kBitfinexStatusChan = 150;

// One venue: how its frames look and how its server answers.
struct VenuePlay {
  std::string exchange;  // the [markets] key
  // The market name the parser writes for a subscribed symbol.
  std::function<std::string(const std::string& symbol)> market;
  std::function<std::string(const TradeSpec&)> trade;
  // Frames before the trades (history after a subscription reply, server pings).
  std::function<std::vector<std::string>(const std::vector<std::string>& symbols, std::int64_t ms)> before{};
  std::function<std::string(const std::string& msg)> answer{};
  std::vector<std::string> greeting{};
  bool gzip_frames = false;       // every frame a gzip member in a binary message (HTX)
  bool binary_frames = false;     // binary messages as they are (MEXC spot's protobuf)
  std::string keepalive_reply{};  // what the client must send back for a server keepalive
};

std::vector<VenuePlay> venue_plays() {
  std::vector<VenuePlay> v;
  const auto binance = [](const TradeSpec& t) {
    return R"({"stream":")" + lower(t.symbol) + R"(@trade","data":{"e":"trade","E":)" + std::to_string(t.ms) +
           R"(,"T":)" + std::to_string(t.ms) + R"(,"s":")" + upper(t.symbol) + R"(","t":)" + std::to_string(t.id) +
           R"(,"p":")" + num(t.price) + R"(","q":"0.50","m":)" + (t.buy ? "false" : "true") + "}}";
  };
  v.push_back(
      {.exchange = "BINANCE", .market = [](const std::string& s) { return "BINANCE:" + lower(s); }, .trade = binance});
  v.push_back({.exchange = "BINANCE_FUTURES",
               .market = [](const std::string& s) { return "BINANCE_FUTURES:" + lower(s); },
               .trade = binance});

  const auto bybit = [](const TradeSpec& t) {
    return R"({"topic":"publicTrade.)" + t.symbol + R"(","type":"snapshot","ts":)" + std::to_string(t.ms) +
           R"(,"data":[{"T":)" + std::to_string(t.ms) + R"(,"s":")" + t.symbol + R"(","S":")" +
           (t.buy ? "Buy" : "Sell") + R"(","v":"0.50","p":")" + num(t.price) + R"(","L":"PlusTick","i":")" +
           uuid(t.id) + R"(","BT":false}]})";
  };
  const auto bybit_answer = [](const std::string& msg) -> std::string {
    if (msg == R"({"op":"ping"})") return R"({"success":true,"ret_msg":"pong","conn_id":"t","op":"ping"})";
    return R"({"success":true,"ret_msg":"","conn_id":"t","op":"subscribe"})";
  };
  v.push_back({.exchange = "BYBIT",
               .market = [](const std::string& s) { return "BYBIT:" + s; },
               .trade = bybit,
               .answer = bybit_answer});
  v.push_back({.exchange = "BYBIT_SPOT",
               .market = [](const std::string& s) { return "BYBIT:" + s + "-SPOT"; },
               .trade = bybit,
               .answer = bybit_answer});

  v.push_back({.exchange = "OKEX",
               .market = [](const std::string& s) { return "OKEX:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"arg":{"channel":"trades","instId":")" + t.symbol + R"("},"data":[{"instId":")" +
                            t.symbol + R"(","tradeId":")" + std::to_string(t.id) + R"(","px":")" + num(t.price) +
                            R"(","sz":"5","side":")" + (t.buy ? "buy" : "sell") + R"(","ts":")" + std::to_string(t.ms) +
                            R"("}]})";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == "ping") return "pong";
                 return R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}})";
               }});

  v.push_back(
      {.exchange = "COINBASE",
       .market = [](const std::string& s) { return "COINBASE:" + s; },
       .trade =
           [](const TradeSpec& t) {
             return R"({"type":"match","trade_id":)" + std::to_string(t.id) +
                    R"(,"maker_order_id":"a","taker_order_id":"b","side":")" + (t.buy ? "sell" : "buy") +
                    R"(","size":"0.50","price":")" + num(t.price) + R"(","product_id":")" + t.symbol +
                    R"(","sequence":)" + std::to_string(t.id) + R"(,"time":")" + iso8601(t.ms, 6) + "\"}";
           },
       .answer = [](const std::string&) -> std::string {
         return R"({"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD","ETH-USD"]}]})";
       }});

  v.push_back({.exchange = "KRAKEN",
               .market = [](const std::string& s) { return "KRAKEN:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     char time[32];
                     std::snprintf(time, sizeof time, "%lld.%03lld000", static_cast<long long>(t.ms / 1000),
                                   static_cast<long long>(t.ms % 1000));
                     return R"([119930881,[[")" + num(t.price) + R"(","0.50000000",")" + time + R"(",")" +
                            (t.buy ? "b" : "s") + R"(","l",""]],"trade",")" + t.symbol + "\"]";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == R"({"event":"ping"})") return R"({"event":"pong"})";
                 return R"({"channelID":119930881,"channelName":"trade","event":"subscriptionStatus","pair":"XBT/USD",)"
                        R"("status":"subscribed","subscription":{"name":"trade"}})";
               }});

  v.push_back({.exchange = "KRAKEN_FUTURES",
               .market = [](const std::string& s) { return "KRAKEN:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"feed":"trade","product_id":")" + t.symbol + R"(","uid":")" + uuid(t.id) +
                            R"(","side":")" + (t.buy ? "buy" : "sell") + R"(","type":"fill","seq":)" +
                            std::to_string(t.id) + R"(,"time":)" + std::to_string(t.ms) + R"(,"qty":0.5,"price":)" +
                            num(t.price) + "}";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (has(msg, "heartbeat")) return R"({"event":"subscribed","feed":"heartbeat"})";
                 return R"({"event":"subscribed","feed":"trade","product_ids":["PF_XBTUSD","PF_ETHUSD"]})";
               }});

  v.push_back({.exchange = "BITFINEX",
               .market =
                   [](const std::string& s) {
                     std::string pair;
                     for (char c : s.substr(1))
                       if (c != ':') pair += c;
                     return "BITFINEX:" + pair;
                   },
               .trade =
                   [](const TradeSpec& t) {
                     return "[" + std::to_string(bitfinex_chan(t.symbol)) + R"(,"te",[)" + std::to_string(t.id) + "," +
                            std::to_string(t.ms) + "," + (t.buy ? "0.5" : "-0.5") + "," + num(t.price) + "]]";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (has(msg, R"("event":"ping")")) return R"({"event":"pong","ts":1,"cid":1})";
                 if (has(msg, "liq:global"))
                   return R"({"event":"subscribed","channel":"status","chanId":)" +
                          std::to_string(kBitfinexStatusChan) + R"(,"key":"liq:global"})";
                 const std::string symbol = json_field(msg, "symbol");
                 return R"({"event":"subscribed","channel":"trades","chanId":)" +
                        std::to_string(bitfinex_chan(symbol)) + R"(,"symbol":")" + symbol + R"(","pair":")" +
                        symbol.substr(1) + "\"}";
               }});

  v.push_back({.exchange = "BITMEX",
               .market = [](const std::string& s) { return "BITMEX:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"table":"trade","action":"insert","data":[{"timestamp":")" + iso8601(t.ms, 3) +
                            R"(","symbol":")" + t.symbol + R"(","side":")" + (t.buy ? "Buy" : "Sell") +
                            R"(","size":100,"price":)" + num(t.price) +
                            R"(,"tickDirection":"PlusTick","trdMatchID":")" + uuid(t.id) +
                            R"(","grossValue":100000,"homeNotional":0.001,"foreignNotional":100}]})";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == "ping") return "pong";
                 return R"({"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe"}})";
               }});

  v.push_back({.exchange = "DERIBIT",
               .market = [](const std::string& s) { return "DERIBIT:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.)" + t.symbol +
                            R"(.100ms","data":[{"trade_seq":)" + std::to_string(t.id) + R"(,"trade_id":")" +
                            std::to_string(t.id) + R"(","timestamp":)" + std::to_string(t.ms) +
                            R"(,"tick_direction":0,"price":)" + num(t.price) + R"(,"mark_price":)" + num(t.price) +
                            R"(,"iv":0,"instrument_name":")" + t.symbol + R"(","index_price":)" + num(t.price) +
                            R"(,"direction":")" + (t.buy ? "buy" : "sell") + R"(","amount":1000.0}]}})";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 const std::string id = has(msg, "set_heartbeat") ? "1" : has(msg, "public/test") ? "9" : "2";
                 return R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":"ok"})";
               },
               // Deribit's heartbeat asks for an answer: the parser leaves public/test as its reply.
               .greeting = {R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}})"},
               .keepalive_reply = "public/test"});

  v.push_back(
      {.exchange = "DYDX",
       .market = [](const std::string& s) { return "DYDX:" + s; },
       .trade =
           [](const TradeSpec& t) {
             return R"({"type":"channel_data","connection_id":"c","message_id":)" + std::to_string(t.id) +
                    R"(,"id":")" + t.symbol +
                    R"(","channel":"v4_trades","version":"2.1.0","contents":{"trades":[{"id":")" + uuid(t.id) +
                    R"(","side":")" + (t.buy ? "BUY" : "SELL") + R"(","size":"0.25","price":")" + num(t.price) +
                    R"(","type":"LIMIT","createdAt":")" + iso8601(t.ms, 3) + R"(","createdAtHeight":"14200010"}]}})";
           },
       // The subscription reply carries recent trades: history, skipped.
       .answer = [](const std::string& msg) -> std::string {
         const std::string id = json_field(msg, "id");
         return R"({"type":"subscribed","connection_id":"c","message_id":1,"channel":"v4_trades","id":")" + id +
                R"(","contents":{"trades":[{"id":"0a1b2c3d-0000-4000-8000-000000000001","side":"SELL","size":"0.013",)"
                R"("price":"100.00","type":"LIMIT","createdAt":"2024-05-01T11:59:50.000Z","createdAtHeight":"1"}]}})";
       }});

  v.push_back(
      {.exchange = "HYPERLIQUID",
       .market = [](const std::string& s) { return "HYPERLIQUID:" + s; },
       .trade =
           [](const TradeSpec& t) {
             return R"({"channel":"trades","data":[{"coin":")" + t.symbol + R"(","side":")" + (t.buy ? "B" : "A") +
                    R"(","px":")" + num(t.price) + R"(","sz":"0.5","time":)" + std::to_string(t.ms) +
                    R"(,"hash":"0xab","tid":)" + std::to_string(t.id) + R"(,"users":["0x1","0x2"]}]})";
           },
       // After each subscriptionResponse the first trades frame of the coin is history.
       .before =
           [](const std::vector<std::string>& symbols, std::int64_t ms) {
             std::vector<std::string> out;
             for (const auto& coin : symbols)
               out.push_back(R"({"channel":"trades","data":[{"coin":")" + coin +
                             R"(","side":"A","px":"100.00","sz":"9","time":)" + std::to_string(ms - 60'000) +
                             R"(,"hash":"0xcd","tid":7,"users":["0x1","0x2"]}]})");
             return out;
           },
       .answer = [](const std::string& msg) -> std::string {
         if (msg == R"({"method":"ping"})") return R"({"channel":"pong"})";
         return R"({"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":")" +
                json_field(msg, "coin") + R"("}}})";
       }});

  const auto htx = [](const TradeSpec& t) {
    const bool swap = t.symbol.find('-') != std::string::npos;
    const std::string ch = swap ? t.symbol : lower(t.symbol);
    return R"({"ch":"market.)" + ch + R"(.trade.detail","ts":)" + std::to_string(t.ms) + R"(,"tick":{"id":)" +
           std::to_string(t.id) + R"(,"ts":)" + std::to_string(t.ms) + R"(,"data":[{"ts":)" + std::to_string(t.ms) +
           (swap ? R"(,"id":)" + std::to_string(t.id) + R"(,"amount":5,"quantity":0.005)"
                 : R"(,"tradeId":)" + std::to_string(t.id) + R"(,"amount":0.5)") +
           R"(,"price":)" + num(t.price) + R"(,"direction":")" + (t.buy ? "buy" : "sell") + R"("}]}})";
  };
  // HTX pings with {"ping":N} (gzip, like every frame) and drops a client that does not pong.
  const auto htx_ping = [](const std::vector<std::string>&, std::int64_t) {
    return std::vector<std::string>{R"({"ping":1733500000000})"};
  };
  v.push_back({.exchange = "HUOBI",
               .market = [](const std::string& s) { return "HUOBI:" + lower(s); },
               .trade = htx,
               .before = htx_ping,
               .gzip_frames = true,
               .keepalive_reply = R"({"pong":1733500000000})"});
  v.push_back({.exchange = "HUOBI_SWAP",
               .market = [](const std::string& s) { return "HUOBI:" + s; },
               .trade = htx,
               .before = htx_ping,
               .gzip_frames = true,
               .keepalive_reply = R"({"pong":1733500000000})"});

  v.push_back(
      {.exchange = "BITSTAMP",
       .market = [](const std::string& s) { return "BITSTAMP:" + lower(s); },
       .trade =
           [](const TradeSpec& t) {
             return R"({"data":{"id":)" + std::to_string(t.id) + R"(,"timestamp":")" + std::to_string(t.ms / 1000) +
                    R"(","amount":0.5,"amount_str":"0.50000000","price":)" + num(t.price) + R"(,"price_str":")" +
                    num(t.price) + R"(","type":)" + (t.buy ? "0" : "1") + R"(,"microtimestamp":")" +
                    std::to_string(t.ms * 1000) + R"(","buy_order_id":1,"sell_order_id":2},"channel":"live_trades_)" +
                    lower(t.symbol) + R"(","event":"trade"})";
           },
       .answer = [](const std::string& msg) -> std::string {
         if (has(msg, "bts:heartbeat")) return R"({"event":"bts:heartbeat","channel":"","data":{"status":"success"}})";
         return R"({"event":"bts:subscription_succeeded","channel":")" + json_field(msg, "channel") + R"(","data":{}})";
       }});

  // Bitget v2: the trades sent on every subscription are a "snapshot" (history).
  const auto bitget = [](const char* inst_type) {
    return [inst_type](const TradeSpec& t) {
      return R"({"action":"update","arg":{"instType":")" + std::string(inst_type) +
             R"(","channel":"trade","instId":")" + t.symbol + R"("},"data":[{"ts":")" + std::to_string(t.ms) +
             R"(","price":")" + num(t.price) + R"(","size":"0.5","side":")" + (t.buy ? "buy" : "sell") +
             R"(","tradeId":")" + std::to_string(t.id) + R"("}],"ts":)" + std::to_string(t.ms) + "}";
    };
  };
  const auto bitget_history = [](const char* inst_type) {
    return [inst_type](const std::vector<std::string>& symbols, std::int64_t ms) {
      std::vector<std::string> out;
      for (const auto& symbol : symbols)
        out.push_back(
            R"({"action":"snapshot","arg":{"instType":")" + std::string(inst_type) +
            R"(","channel":"trade","instId":")" + symbol + R"("},"data":[{"ts":")" + std::to_string(ms - 60'000) +
            R"(","price":"100.00","size":"9","side":"sell","tradeId":"7"}],"ts":)" + std::to_string(ms) + "}");
      return out;
    };
  };
  const auto bitget_answer = [](const std::string& msg) -> std::string {
    if (msg == "ping") return "pong";
    return R"({"event":"subscribe","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"}})";
  };
  v.push_back({.exchange = "BITGET",
               .market = [](const std::string& s) { return "BITGET:" + s + "-SPOT"; },
               .trade = bitget("SPOT"),
               .before = bitget_history("SPOT"),
               .answer = bitget_answer});
  v.push_back({.exchange = "BITGET_FUTURES",
               .market = [](const std::string& s) { return "BITGET:" + s; },
               .trade = bitget("USDT-FUTURES"),
               .before = bitget_history("USDT-FUTURES"),
               .answer = bitget_answer});

  const auto gate_answer = [](const std::string& msg) -> std::string {
    if (msg == R"({"channel":"spot.ping"})") return R"({"time":1,"channel":"spot.pong","event":"","result":null})";
    if (msg == R"({"channel":"futures.ping"})")
      return R"({"time":1,"channel":"futures.pong","event":"","result":null})";
    return R"({"time":1,"channel":")" + json_field(msg, "channel") +
           R"(","event":"subscribe","result":{"status":"success"}})";
  };
  v.push_back({.exchange = "GATEIO",
               .market = [](const std::string& s) { return "GATEIO:" + s + "-SPOT"; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"time":)" + std::to_string(t.ms / 1000) +
                            R"(,"channel":"spot.trades","event":"update","result":{"id":)" + std::to_string(t.id) +
                            R"(,"create_time":)" + std::to_string(t.ms / 1000) + R"(,"create_time_ms":")" +
                            std::to_string(t.ms) + R"(.0000","side":")" + (t.buy ? "buy" : "sell") +
                            R"(","currency_pair":")" + t.symbol + R"(","amount":"0.5","price":")" + num(t.price) +
                            R"("}})";
                   },
               .answer = gate_answer});
  v.push_back({.exchange = "GATEIO_FUTURES",
               .market = [](const std::string& s) { return "GATEIO:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"time":)" + std::to_string(t.ms / 1000) +
                            R"(,"channel":"futures.trades","event":"update","result":[{"size":)" +
                            (t.buy ? "50" : "-50") + R"(,"id":)" + std::to_string(t.id) + R"(,"create_time":)" +
                            std::to_string(t.ms / 1000) + R"(,"create_time_ms":)" + std::to_string(t.ms) +
                            R"(,"price":")" + num(t.price) + R"(","contract":")" + t.symbol + R"("}]})";
                   },
               .answer = gate_answer});

  // KuCoin: the endpoint and token come from bullet-public (the test's REST server).
  const auto kucoin_answer = [](const std::string& msg) -> std::string {
    if (has(msg, R"("type":"ping")")) return R"({"id":")" + json_field(msg, "id") + R"(","type":"pong"})";
    return R"({"id":")" + json_field(msg, "id") + R"(","type":"ack"})";
  };
  v.push_back({.exchange = "KUCOIN",
               .market = [](const std::string& s) { return "KUCOIN:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"type":"message","topic":"/market/match:)" + t.symbol +
                            R"(","subject":"trade.l3match","data":{"symbol":")" + t.symbol + R"(","sequence":")" +
                            std::to_string(t.id) + R"(","side":")" + (t.buy ? "buy" : "sell") +
                            R"(","size":"0.5","price":")" + num(t.price) + R"(","time":")" + std::to_string(t.ms) +
                            R"(000000","tradeId":"6085c097","takerOrderId":"a","makerOrderId":"b"}})";
                   },
               .answer = kucoin_answer,
               .greeting = {R"({"id":"welcome-1","type":"welcome"})"}});
  v.push_back({.exchange = "KUCOIN_FUTURES",
               .market = [](const std::string& s) { return "KUCOIN:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"type":"message","topic":"/contractMarket/execution:)" + t.symbol +
                            R"(","subject":"match","data":{"symbol":")" + t.symbol + R"(","sequence":)" +
                            std::to_string(t.id) + R"(,"side":")" + (t.buy ? "buy" : "sell") +
                            R"(","size":12,"price":")" + num(t.price) + R"(","ts":)" + std::to_string(t.ms) +
                            R"(000000,"tradeId":"6085c098"}})";
                   },
               .answer = kucoin_answer,
               .greeting = {R"({"id":"welcome-2","type":"welcome"})"}});

  v.push_back({.exchange = "MEXC_FUTURES",
               .market = [](const std::string& s) { return "MEXC:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     // Keys in MEXC's (sorted) order.
                     return R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":)" + std::string(t.buy ? "1" : "2") +
                            R"(,"p":)" + num(t.price) + R"(,"t":)" + std::to_string(t.ms) + R"(,"v":25}],"symbol":")" +
                            t.symbol + R"(","ts":)" + std::to_string(t.ms) + "}";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == R"({"method":"ping"})") return R"({"channel":"pong","data":1})";
                 return R"({"channel":"rs.sub.deal","data":"success","ts":1})";
               }});

  // Crypto.com: the subscribe reply carries recent trades (history); the
  // server's public/heartbeat must be answered with public/respond-heartbeat.
  v.push_back(
      {.exchange = "CRYPTOCOM",
       .market = [](const std::string& s) { return "CRYPTOCOM:" + s; },
       .trade =
           [](const TradeSpec& t) {
             return R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":")" + t.symbol +
                    R"(","subscription":"trade.)" + t.symbol + R"(","channel":"trade","data":[{"d":")" +
                    std::to_string(t.id) + R"(","t":)" + std::to_string(t.ms) + R"(,"tn":")" + std::to_string(t.ms) +
                    R"(000000","q":"0.5","p":")" + num(t.price) + R"(","s":")" + (t.buy ? "BUY" : "SELL") +
                    R"(","i":")" + t.symbol + R"(","m":"1"}]}})";
           },
       .answer = [](const std::string& msg) -> std::string {
         const auto at = msg.find("\"id\":");
         const std::string id = at == std::string::npos ? "0" : msg.substr(at + 5, msg.find(',', at) - at - 5);
         if (has(msg, "respond-heartbeat")) return {};
         return R"({"id":)" + id +
                R"(,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT","subscription":"trade.BTC_USDT",)"
                R"("channel":"trade","data":[{"d":"7","t":1714567890400,"tn":"1714567890400000000","q":"9",)"
                R"("p":"100.00","s":"SELL","i":"BTC_USDT","m":"1"}]}})";
       },
       .greeting = {R"({"id":1733500000,"method":"public/heartbeat","code":0})"},
       .keepalive_reply = R"({"id":1733500000,"method":"public/respond-heartbeat"})"});

  // Phemex: spot (s...) on trade.subscribe in scaled integers (10^8), USDT perpetuals on trade_p.
  v.push_back({.exchange = "PHEMEX",
               .market = [](const std::string& s) { return "PHEMEX:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     const std::string side = t.buy ? "Buy" : "Sell";
                     if (t.symbol.starts_with('s'))
                       return R"({"sequence":)" + std::to_string(t.id) + R"(,"symbol":")" + t.symbol +
                              R"(","trades":[[)" + std::to_string(t.ms) + R"(000000,")" + side + R"(",)" +
                              std::to_string(static_cast<std::int64_t>(t.price * 100) * 1'000'000) +
                              R"(,50000000]],"type":"incremental"})";
                     return R"({"sequence":)" + std::to_string(t.id) + R"(,"symbol":")" + t.symbol +
                            R"(","trades_p":[[)" + std::to_string(t.ms) + R"(000000,")" + side + R"(",")" +
                            num(t.price) + R"(","0.5"]],"type":"incremental"})";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (has(msg, "server.ping")) return R"({"error":null,"id":0,"result":"pong"})";
                 return R"({"error":null,"id":1,"result":{"status":"success"}})";
               }});

  v.push_back({.exchange = "POLONIEX",
               .market = [](const std::string& s) { return "POLONIEX:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"channel":"trades","data":[{"symbol":")" + t.symbol +
                            R"(","amount":"50","takerSide":")" + (t.buy ? "buy" : "sell") +
                            R"(","quantity":"0.5","createTime":)" + std::to_string(t.ms) + R"(,"price":")" +
                            num(t.price) + R"(","id":)" + std::to_string(t.id) + R"(,"ts":)" +
                            std::to_string(t.ms + 20) + "}]}";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == R"({"event":"ping"})") return R"({"event":"pong"})";
                 return R"({"event":"subscribe","channel":"trades","symbols":["BTC_USDT"]})";
               }});

  v.push_back({.exchange = "HITBTC",
               .market = [](const std::string& s) { return "HITBTC:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"ch":"trades","update":{")" + t.symbol + R"(":[{"t":)" + std::to_string(t.ms) +
                            R"(,"i":)" + std::to_string(t.id) + R"(,"p":")" + num(t.price) + R"(","q":"0.5","s":")" +
                            (t.buy ? "buy" : "sell") + R"("}]}})";
                   },
               .answer = [](const std::string&) -> std::string {
                 return R"({"result":{"ch":"trades","subscriptions":["BTCUSDT","ETHUSDT"]},"id":1})";
               }});

  // Binance's protocol under other ids: Binance US spot (trade), Aster perpetuals (aggTrade, upper-case names).
  v.push_back({.exchange = "BINANCE_US",
               .market = [](const std::string& s) { return "BINANCE_US:" + lower(s); },
               .trade = binance});
  v.push_back({.exchange = "ASTER",
               .market = [](const std::string& s) { return "ASTER:" + upper(s); },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"stream":")" + lower(t.symbol) + R"(@aggTrade","data":{"e":"aggTrade","E":)" +
                            std::to_string(t.ms) + R"(,"a":)" + std::to_string(t.id) + R"(,"s":")" + upper(t.symbol) +
                            R"(","p":")" + num(t.price) + R"(","q":"0.50","f":)" + std::to_string(t.id) + R"(,"l":)" +
                            std::to_string(t.id) + R"(,"T":)" + std::to_string(t.ms) + R"(,"m":)" +
                            (t.buy ? "false" : "true") + "}}";
                   }});

  // MEXC spot: deals in protobuf (PushDataV3ApiWrapper, body 314 PublicAggreDealsV3Api).
  v.push_back({.exchange = "MEXC",
               .market = [](const std::string& s) { return "MEXC:" + upper(s); },
               .trade =
                   [](const TradeSpec& t) {
                     std::string item, deals, wrapper;
                     pb_bytes(item, 1, num(t.price));
                     pb_bytes(item, 2, "0.5");
                     pb_int(item, 3, t.buy ? 1 : 2);
                     pb_int(item, 4, static_cast<std::uint64_t>(t.ms));
                     pb_bytes(deals, 1, item);
                     pb_bytes(deals, 2, "spot@public.aggre.deals.v3.api.pb@100ms");
                     pb_bytes(wrapper, 1, "spot@public.aggre.deals.v3.api.pb@100ms@" + upper(t.symbol));
                     pb_bytes(wrapper, 3, upper(t.symbol));
                     pb_int(wrapper, 6, static_cast<std::uint64_t>(t.ms));
                     pb_bytes(wrapper, 314, deals);
                     return wrapper;
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == R"({"method":"PING"})") return R"({"id":0,"code":0,"msg":"PONG"})";
                 return R"({"id":0,"code":0,"msg":"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"})";
               },
               .binary_frames = true});

  v.push_back({.exchange = "BITMART",
               .market = [](const std::string& s) { return "BITMART:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"data":[{"ms_t":)" + std::to_string(t.ms) + R"(,"price":")" + num(t.price) +
                            R"(","s_t":)" + std::to_string(t.ms / 1000) + R"(,"side":")" + (t.buy ? "buy" : "sell") +
                            R"(","size":"0.5","symbol":")" + t.symbol + R"("}],"table":"spot/trade"})";
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (msg == "ping") return "pong";
                 return R"({"event":"subscribe","topic":"spot/trade:BTC_USDT"})";
               }});
  v.push_back(
      {.exchange = "BITMART_FUTURES",
       .market = [](const std::string& s) { return "BITMART:" + s; },
       .trade =
           [](const TradeSpec& t) {
             return R"({"group":"futures/trade:)" + t.symbol + R"(","data":[{"trade_id":)" + std::to_string(t.id) +
                    R"(,"symbol":")" + t.symbol + R"(","deal_price":")" + num(t.price) + R"(","deal_vol":"5","way":)" +
                    (t.buy ? "1" : "5") + R"(,"m":)" + (t.buy ? "false" : "true") + R"(,"created_at":")" +
                    iso8601(t.ms, 3) + R"("}]})";
           },
       .answer = [](const std::string& msg) -> std::string {
         if (msg == R"({"action":"ping"})") return "pong";
         return R"({"action":"subscribe","group":"futures/trade:BTCUSDT","success":true,"request":{"action":"subscribe","args":["futures/trade:BTCUSDT"]}})";
       }});

  // Bitunix: {"op":"connect"} starts a subscription; the first trade frame of each symbol is history.
  v.push_back({.exchange = "BITUNIX",
               .market = [](const std::string& s) { return "BITUNIX:" + s; },
               .trade =
                   [](const TradeSpec& t) {
                     return R"({"ch":"trade","symbol":")" + t.symbol + R"(","ts":)" + std::to_string(t.ms) +
                            R"(,"data":[{"t":")" + iso8601(t.ms, 3) + R"(","p":")" + num(t.price) +
                            R"(","v":"0.5","s":")" + (t.buy ? "buy" : "sell") + R"("}]})";
                   },
               .before =
                   [](const std::vector<std::string>& symbols, std::int64_t ms) {
                     std::vector<std::string> out;
                     for (const auto& symbol : symbols)
                       out.push_back(R"({"ch":"trade","symbol":")" + symbol + R"(","ts":)" + std::to_string(ms) +
                                     R"(,"data":[{"t":")" + iso8601(ms - 60'000, 3) +
                                     R"(","p":"100.00","v":"9","s":"sell"}]})");
                     return out;
                   },
               .answer = [](const std::string& msg) -> std::string {
                 if (has(msg, R"("op":"ping")")) return R"({"op":"ping","pong":0,"ping":0})";
                 return R"({"op":"subscribe","data":{"result":true}})";
               },
               .greeting = {R"({"op":"connect","data":{"result":true}})"}});
  return v;
}

// What one planned connection's server needs.
struct Served {
  const VenuePlay* play = nullptr;
  PlannedConnection plan;
  LiveFeedPlan live;
  std::vector<std::string> frames;
  std::unique_ptr<WsTestServer> server;
};

// InfluxDB: market -> trades (cbuy + csell) summed over its 1 s bars, and the bar count.
std::map<std::string, std::pair<std::int64_t, std::int64_t>> bars_by_market(const InfluxdProcess& influx) {
  const std::string body = influx.query(R"(SELECT cbuy, csell FROM "aggr_1s"."trades_1s" GROUP BY market)");
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  for (simdjson::dom::element result : doc["results"].get_array()) {
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      auto& cell = out[std::string(std::string_view(s["tags"]["market"].get_string()))];
      for (simdjson::dom::element row : s["values"].get_array()) {
        double trades = 0;
        std::size_t i = 0;
        for (simdjson::dom::element v : row.get_array()) {
          if (i++ == 0 || v.is_null()) continue;
          double d = 0;
          if (v.get_double().get(d) != simdjson::SUCCESS) d = static_cast<double>(v.get_int64().value());
          trades += d;
        }
        cell.first += static_cast<std::int64_t>(trades + 0.5);
        cell.second += 1;
      }
    }
  }
  return out;
}

TEST(AllVenuesRun, EveryVenueDeliversBarsInOneRun) {
  TempDir dir("all-venues");
  InfluxdProcess influx;
  const PipelineConfig profile = load_pipeline_config(kProfile);
  const std::vector<VenuePlay> plays = venue_plays();

  // Re-timed to now: the first trade 4 s ago, 150 ms apart, ids per market rising.
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::int64_t t0 = now_ms - 4000;

  std::vector<Served> served;
  std::map<std::string, std::int64_t> expected_trades;  // by exchange
  std::set<std::string> expected_markets;
  for (const auto& [exchange, symbols] : profile.markets) {
    const auto play =
        std::find_if(plays.begin(), plays.end(), [&](const VenuePlay& p) { return p.exchange == exchange; });
    ASSERT_NE(play, plays.end()) << "no frame templates for " << exchange << ": add a VenuePlay";
    for (PlannedConnection& c : plan_live_connections(profile, exchange)) {
      Served s;
      s.play = &*play;
      s.live = plan_for(c.feed);
      if (play->before) s.frames = play->before(c.feed.symbols, t0);
      // Consecutive ids per market (no gap to report), rising across markets.
      for (int k = 0; k < kTradesPerMarket; ++k)
        for (std::size_t m = 0; m < c.feed.symbols.size(); ++m) {
          const TradeSpec t{.symbol = c.feed.symbols[m],
                            .id = 1'000'000 + 1000 * m + static_cast<std::uint64_t>(k),
                            .ms = t0 + 150 * k + static_cast<std::int64_t>(m),
                            .price = 100.0 + static_cast<double>(k),
                            .buy = k % 2 == 0};
          s.frames.push_back(play->trade(t));
        }
      for (const std::string& symbol : c.feed.symbols) expected_markets.insert(play->market(symbol));
      expected_trades[exchange] += kTradesPerMarket * static_cast<std::int64_t>(c.feed.symbols.size());
      if (play->gzip_frames)
        for (std::string& f : s.frames) f = gzip(f);
      WsVenueScript script{
          .subscribe_messages = s.live.subscribe.size(),
          .answer = play->answer,
          .is_ping = [ping = s.live.ping_text](const std::string& msg) { return !ping.empty() && msg == ping; },
          .greeting = play->greeting,
          .binary_frames = play->gzip_frames || play->binary_frames};
      s.server = std::make_unique<WsTestServer>(WsServerBehavior{.frames = s.frames, .script = std::move(script)});
      s.plan = std::move(c);
      served.push_back(std::move(s));
    }
  }
  // The profile plans one connection per exchange: one endpoint override each.
  ASSERT_EQ(served.size(), profile.markets.size());
  ASSERT_GE(profile.markets.size(), 12u);

  // KuCoin's bootstrap: bullet-public on a local REST server hands out the
  // local websocket endpoint and a token, per exchange (spot, futures).
  std::map<std::string, std::uint16_t> kucoin_ports;
  for (const Served& s : served)
    if (s.plan.exchange.starts_with("KUCOIN")) kucoin_ports[s.plan.exchange] = s.server->port();
  RestTestServer bullet([kucoin_ports](const std::string& target) {
    for (const auto& [exchange, port] : kucoin_ports)
      if (target == "/" + exchange + "/api/v1/bullet-public")
        return RestReply{
            200, R"({"code":"200000","data":{"token":"tok-)" + exchange +
                     R"(","instanceServers":[{"endpoint":"wss://127.0.0.1:)" + std::to_string(port) +
                     R"(/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}})"};
    return RestReply{404, "{}"};
  });

  // The profile, its endpoints and InfluxDB pointed here.
  std::string text = read_file(kProfile);
  text = std::regex_replace(text, std::regex(R"(url = "http://127.0.0.1:8086")"), "url = \"" + influx.url() + "\"");
  text = std::regex_replace(text, std::regex(R"(spool_dir = "[^"]*")"),
                            "spool_dir = \"" + (dir.path / "spool").string() + "\"");
  text = std::regex_replace(text, std::regex(R"(batch_age_ms = 100)"), "batch_age_ms = 20");
  // Signals (the strategy is on in every profile): the JSONL file here, and
  // Redis at a port where nothing listens: absent, which costs a warning.
  text = std::regex_replace(text, std::regex(R"(jsonl = "[^"]*")"),
                            "jsonl = \"" + (dir.path / "signals.jsonl").string() + "\"");
  text = std::regex_replace(text, std::regex(R"(port = 6379)"), "port = 1");
  // No reconnect for silence: after the replay the servers only answer pings.
  text += "\n[feeds]\nbackfill = false\nstale_after_ms = 300000\nbackoff_initial_ms = 20\nbackoff_max_ms = 500\n";
  for (const Served& s : served)
    text += "\n[feeds.endpoints." + s.plan.exchange +
            "]\nhost = \"127.0.0.1\"\nport = " + std::to_string(s.server->port()) + "\nca_file = \"" +
            s.server->ca_file() + "\"\n" +
            (kucoin_ports.count(s.plan.exchange) != 0
                 ? "bootstrap_url = \"" + bullet.base_url() + "/" + s.plan.exchange + "/api/v1/bullet-public\"\n"
                 : std::string());
  const fs::path config = dir.path / "all-venues.toml";
  std::ofstream(config) << text;

  const int http_port = free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  std::int64_t total = 0;
  for (const auto& [exchange, n] : expected_trades) total += n;
  std::string metrics;
  const bool all_in = poll_until(
      [&] {
        if (!tickflow.running()) return true;
        for (const Served& s : served)
          if (s.server->frames_written() < s.frames.size()) return false;
        metrics = http_get(http_port, "/metrics").body;
        const auto taken = metric(metrics, "tickflow_aggregator_trades_total");
        return taken && *taken >= static_cast<double>(total);
      },
      40s);
  ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
  std::string progress;
  for (const Served& s : served)
    progress += s.plan.exchange + " " + std::to_string(s.server->frames_written()) + "/" +
                std::to_string(s.frames.size()) + " frames, " + std::to_string(s.server->connections()) +
                " connections\n";
  ASSERT_TRUE(all_in) << progress << metrics << "\n" << tickflow.log();

  // Keepalives a venue's server asked for come back (the client answers them after the replay started).
  for (const Served& s : served) {
    if (s.play->keepalive_reply.empty()) continue;
    EXPECT_TRUE(poll_until(
        [&] {
          for (const std::string& m : s.server->received())
            if (has(m, s.play->keepalive_reply.c_str())) return true;
          return false;
        },
        10s))
        << s.plan.exchange << " never answered its server keepalive";
  }

  // /health: every planned connection, connected.
  HttpResult health;
  poll_until(
      [&] {
        health = http_get(http_port, "/health");
        return health.status == 200;
      },
      10s);
  EXPECT_EQ(health.status, 200) << health.body;
  {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(health.body).get(doc), simdjson::SUCCESS) << health.body;
    std::map<std::string, int> connected;
    std::size_t feeds = 0;
    for (simdjson::dom::element feed : doc["feeds"].get_array()) {
      ++feeds;
      if (std::string_view(feed["state"].get_string()) == "connected")
        ++connected[std::string(std::string_view(feed["exchange"].get_string()))];
    }
    EXPECT_EQ(feeds, served.size()) << health.body;
    for (const Served& s : served) EXPECT_EQ(connected[s.plan.exchange], 1) << s.plan.exchange << "\n" << health.body;
    // The profile's strategy: BTC and ETH; Redis configured and down (a
    // warning, not a problem: the status stays 200).
    simdjson::dom::element strategy = doc["strategy"];
    EXPECT_TRUE(bool(strategy["enabled"].get_bool())) << health.body;
    std::vector<std::string> groups;
    for (simdjson::dom::element g : strategy["groups"].get_array())
      groups.emplace_back(std::string_view(g["symbol"].get_string()));
    EXPECT_EQ(groups, (std::vector<std::string>{"BTC", "ETH"})) << health.body;
    EXPECT_TRUE(bool(strategy["redis"]["configured"].get_bool())) << health.body;
    EXPECT_EQ(std::string_view(strategy["redis"]["state"].get_string()), "down") << health.body;
    EXPECT_EQ(doc["warnings"].get_array().size(), 1u) << health.body;
  }

  // /metrics: exactly the replayed trades per exchange; history and keepalives are not trades.
  metrics = http_get(http_port, "/metrics").body;
  for (const auto& [exchange, n] : expected_trades)
    EXPECT_EQ(metric(metrics, "tickflow_feed_trades_total", {"exchange=\"" + exchange + "\""}), static_cast<double>(n))
        << exchange << "\n"
        << metrics;
  EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total"), static_cast<double>(total));
  // Every frame, ack and keepalive the servers sent was understood.
  for (const Served& s : served)
    EXPECT_EQ(metric(metrics, "tickflow_feed_parse_errors_total", {"exchange=\"" + s.plan.exchange + "\""}), 0.0)
        << s.plan.exchange;

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(25s);
  ASSERT_TRUE(status.has_value()) << "no exit within 25 s of SIGTERM:\n" << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();

  // Each server: one connection, the plan's subscribe messages, text for text.
  for (const Served& s : served) {
    SCOPED_TRACE(s.plan.exchange);
    EXPECT_EQ(s.server->connections(), 1u);
    std::vector<std::string> subscribes = s.server->received();
    subscribes.resize(std::min(subscribes.size(), s.live.subscribe.size()));
    EXPECT_EQ(subscribes, s.live.subscribe);
  }

  // KuCoin connected where bullet-public said, with its token.
  for (const auto& [exchange, port] : kucoin_ports) {
    SCOPED_TRACE(exchange);
    const auto it =
        std::find_if(served.begin(), served.end(), [&](const Served& s) { return s.plan.exchange == exchange; });
    EXPECT_EQ(it->server->targets(), std::vector<std::string>{"/?token=tok-" + exchange});
  }
  std::vector<std::string> bullets = bullet.targets();
  std::sort(bullets.begin(), bullets.end());
  EXPECT_EQ(bullets,
            (std::vector<std::string>{"/KUCOIN/api/v1/bullet-public", "/KUCOIN_FUTURES/api/v1/bullet-public"}));

  // InfluxDB: 1 s bars for every configured market, the replayed trades in them.
  const auto bars = bars_by_market(influx);
  std::set<std::string> got;
  for (const auto& [market, cell] : bars) got.insert(market);
  EXPECT_EQ(got, expected_markets);
  for (const std::string& market : expected_markets) {
    const auto it = bars.find(market);
    if (it == bars.end()) continue;
    EXPECT_EQ(it->second.first, kTradesPerMarket) << market;
    EXPECT_GE(it->second.second, 1) << market;
  }
}

}  // namespace
}  // namespace tickflow::testing
