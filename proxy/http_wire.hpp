// Byte-exact serialization of the heads the proxy writes: response heads (injected responses,
// forwarded 1xx interim responses, relayed responses) and forwarded request heads. Beast's writer
// cannot send an empty reason phrase and calls every status it does not know "<unknown-status>";
// these helpers use the IANA-registered phrase or, for an unregistered code, an empty one
// ("HTTP/1.1 599 \r\n"), as RFC 9112 allows.
#pragma once

#include <string>
#include <string_view>

#include "common/http_server.hpp"

namespace faultline::proxy {

// Whether `req` asks for a WebSocket (RFC 6455 4.1): HTTP/1.1 or later, GET, a `Connection`
// token `upgrade` and an `Upgrade` token `websocket` (both case-insensitive, in lists),
// `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`. Anything else (HTTP/1.0, `Upgrade: h2c`,
// another version) is an ordinary request.
bool is_websocket_upgrade(const http::request_header<>& req);

// Removes a request's `Upgrade` field and the `upgrade` token of its `Connection` field (a
// protocol switch the proxy cannot relay, e.g. h2c, is not asked of the upstream).
void strip_upgrade(http::request_header<>& req);

// The registered reason phrase of `status` ("" when unregistered).
std::string_view reason_phrase(unsigned status);

// Whether a Content-Type value names the media type `type` ("text/event-stream"): its part
// before any parameter, without surrounding blanks, compared without case (RFC 9110 8.3.1).
bool is_media_type(std::string_view content_type, std::string_view type);

// "HTTP/x.y <status> <reason>\r\n" + every field + "\r\n". `reason` empty: reason_phrase(status).
template <class Fields>
std::string serialize_head(unsigned version, unsigned status, std::string_view reason,
                           const Fields& fields) {
  std::string out = "HTTP/";
  out += std::to_string(version / 10);
  out += '.';
  out += std::to_string(version % 10);
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  out += reason.empty() ? reason_phrase(status) : reason;
  out += "\r\n";
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// "<method> <target> HTTP/x.y\r\n" + every field + "\r\n": a request head as forwarded upstream.
template <class Fields>
std::string serialize_request_head(std::string_view method, std::string_view target,
                                   unsigned version, const Fields& fields) {
  std::string out;
  out.reserve(256);
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/";
  out += std::to_string(version / 10);
  out += '.';
  out += std::to_string(version % 10);
  out += "\r\n";
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace faultline::proxy
