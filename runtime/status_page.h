// runtime/status_page.h
//
// The live status page: one static HTML document (runtime/status_page.html,
// embedded in the binary at build time) that the pipeline's HTTP server
// answers at / and /index.html. The page itself reads /health and /metrics
// every second and draws connections, markets, rates, rings, latency, the
// sink, the strategy and the latest signals from them; the server only hands
// out the same bytes every time.
//
// The response forbids caching (a stale copy after an upgrade would read
// the new /health with old code) and carries a Content-Security-Policy that
// allows exactly what the page uses: its own inline style and script, and
// fetches to its own origin. Nothing else loads, so the page works on a host
// without internet and a market name in the data can never pull anything in.
#pragma once

#include <string_view>

#include "runtime/http_server.h"

namespace tickflow {

// The document, as embedded.
std::string_view status_page_html() noexcept;

// 200 text/html with the page and the headers above.
HttpResponse status_page_response();

}  // namespace tickflow
