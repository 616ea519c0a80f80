// tests/fuzz/capture_line_fuzzer.cc: capture lines (time prefixes, sent-frame
// markers, Python bytes literals) from arbitrary bytes.
#include <cstdint>
#include <cstdlib>

#include "feeds/capture_reader.h"

using namespace tickflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static PaddedFrame decoded;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const CaptureLine parsed = classify_capture_line(line);
  if (parsed.kind == CaptureLineKind::kFrame || parsed.kind == CaptureLineKind::kBinaryFrame) {
    // The frame is a slice of the line.
    if (parsed.frame.data() < line.data() || parsed.frame.data() + parsed.frame.size() > line.data() + line.size())
      std::abort();
    if (parsed.kind == CaptureLineKind::kBinaryFrame && decode_python_bytes(parsed.frame, decoded) &&
        decoded.size() > parsed.frame.size())
      std::abort();
  }
  (void)exchange_from_capture_name(line);
  return 0;
}
