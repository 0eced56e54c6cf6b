// The target's streaming routes, served by taking the connection over from the HTTP server
// (RequestContext::take_over): they are what streaming clients and proxies are tested against.
//   GET /events?interval=100ms&count=N  server-sent events: `id: N`, `event: tick`,
//       `data: {"seq":N}` every interval (default 1s, 1 ms .. 1 h); count events then the end of
//       the body (0 or absent: until the client leaves). Last-Event-ID: N resumes at N+1.
//       Chunked (HTTP/1.1) or close-delimited (HTTP/1.0).
//   GET /ws/echo  a WebSocket (RFC 6455, Boost.Beast) that answers every message with itself,
//       text as text and binary as binary; messages up to 16 MiB; 60 s without a message closes.
#pragma once

#include <string_view>

#include "common/http_server.hpp"

namespace faultline::target {

// Each either takes the connection over (and returns the status it will answer, for the
// handler's accounting) or returns the error to answer instead (400, 405, 426).
HttpResponse serve_events(const HttpRequest& req, std::string_view query, RequestContext& ctx);
HttpResponse serve_ws_echo(const HttpRequest& req, RequestContext& ctx);

}  // namespace faultline::target
