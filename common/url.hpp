// The one URL parser: http(s)://HOST[:PORT][/path?query] and ws(s)://... (userinfo is refused;
// the port defaults to 80 or 443, wss like https) split into what a client connects to (host,
// port, TLS) and what it sends (Host header, origin-form target). Used by `faultline load` (a
// ws:// or wss:// URL runs WebSocket sessions), the scenario's URLs and ready checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.hpp"

namespace faultline {

struct Url {
  bool tls = false;
  bool websocket = false;  // ws:// or wss:// (the same connection as http:// or https://)
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";  // origin-form path and query
  std::string host_header;   // "host[:port]" as sent
  HostPort host_port() const { return HostPort{host, port}; }
  // "http", "https", "ws" or "wss".
  const char* scheme() const noexcept {
    return websocket ? (tls ? "wss" : "ws") : (tls ? "https" : "http");
  }
};
// The parsed URL, or nullopt with `error` saying what is wrong.
std::optional<Url> parse_url(std::string_view url, std::string& error);

}  // namespace faultline
