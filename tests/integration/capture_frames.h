// tests/integration/capture_frames.h
//
// The text frames of a bundled capture (tests/data/, see its README for
// where each file comes from), in capture order, for the tests that serve
// them to a pipeline through a local websocket server. Binary records
// (none in the bundled text captures) are skipped.
#pragma once

#include <string>
#include <vector>

#include "feeds/capture_reader.h"

namespace tickflow::testing {

// `relative` is a path under tests/data, e.g. "cryptofeed/OKX.ws.1.0.gz".
inline std::vector<std::string> capture_text_frames(const std::string& relative) {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/" + relative);
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record))
    if (!record.binary) frames.emplace_back(record.frame);
  return frames;
}

// One of the four Binance 2024-08-08 trade captures: "spot_btcusdt.gz",
// "spot_ethusdt.gz", "usdm_btcusdt.gz" or "usdm_ethusdt.gz".
inline std::vector<std::string> binance_0808_frames(const std::string& name) {
  return capture_text_frames("binance-20240808-trades/" + name);
}

}  // namespace tickflow::testing
