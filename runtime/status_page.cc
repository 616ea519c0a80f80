// runtime/status_page.cc
#include "runtime/status_page.h"

#include <string>

namespace tickflow {
namespace {

// runtime/status_page.html as a raw string literal (cmake/EmbedText.cmake).
constexpr std::string_view kPage =
#include "runtime/status_page_html.inc"
    ;

// What the page may do: inline style and script, fetch from its own origin,
// a data: icon (so the browser does not ask for /favicon.ico). No frames,
// no forms, no <base>.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace

std::string_view status_page_html() noexcept { return kPage; }

HttpResponse status_page_response() {
  HttpResponse response;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::string(kPage);
  response.headers = {{"Cache-Control", "no-store"},
                      {"Content-Security-Policy", kContentSecurityPolicy},
                      {"X-Content-Type-Options", "nosniff"},
                      {"Referrer-Policy", "no-referrer"}};
  return response;
}

}  // namespace tickflow
