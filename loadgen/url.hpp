// The target URL of `faultline load`: http(s)://HOST[:PORT][/path?query] (userinfo is refused)
// split into what the engine connects to (host, port, TLS) and what it sends (Host header,
// origin-form target).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::loadgen {

struct TargetUrl {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";  // origin-form path and query
  std::string host_header;   // "host[:port]" as sent
};
// The parsed URL, or nullopt with `error` saying what is wrong.
std::optional<TargetUrl> parse_url(std::string_view url, std::string& error);

}  // namespace faultline::loadgen
