// feeds/log_escape.h
//
// escape_log_text(): network bytes made safe to quote in a log line. The
// one function every log line that quotes network data uses (LiveFeed's
// "frame rejected" prefixes and close reasons; runtime/logging's log_sink()
// applies it to every component line as a net, which covers REST bodies
// quoted by the backfill). It lives in feeds/ because feeds may not depend
// on runtime/ (CMakeLists.txt's layer diagram).
//
// Promises: the result is valid UTF-8 with no control characters, so a
// frame can neither forge a log line (\n, \r) nor drive a terminal (ESC,
// C1 controls, U+2028/U+2029 line separators):
//  * \n, \r, \t are written as those two-character escapes;
//  * other C0 controls, DEL and C1 controls (U+0080..U+009F), U+2028 and
//    U+2029, and every byte that is not part of valid UTF-8 (stray
//    continuation bytes, overlong forms, surrogates, truncated sequences)
//    are written as \xNN per byte;
//  * everything else, backslashes included, is copied unchanged. Not
//    escaping the backslash keeps JSON frames readable and makes the
//    function idempotent (escaping twice changes nothing), at the price of
//    ambiguity: a literal "\n" in the data reads like an escaped newline.
// At most `max_bytes` bytes of `text` are quoted; a cut is marked with "...".
//
// Threads: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tickflow {

void append_log_escaped(std::string& out, std::string_view text, std::size_t max_bytes = std::string_view::npos);

inline std::string escape_log_text(std::string_view text, std::size_t max_bytes = std::string_view::npos) {
  std::string out;
  append_log_escaped(out, text, max_bytes);
  return out;
}

}  // namespace tickflow
