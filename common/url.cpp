// parse_url: http(s)://HOST[:PORT][/path] and ws(s):// (no user:password@) into host, port, TLS,
// Host header and target (see url.hpp).
#include "common/url.hpp"

#include "common/config.hpp"

namespace faultline {

std::optional<Url> parse_url(std::string_view url, std::string& error) {
  Url t;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("ws://", 0) == 0) {
    t.websocket = true;
    rest = url.substr(5);
  } else if (url.rfind("wss://", 0) == 0) {
    t.websocket = t.tls = true;
    rest = url.substr(6);
  } else {
    error =
        "URL must start with http://, https://, ws:// or wss:// (got \"" + std::string(url) + "\")";
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  t.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!t.target.empty() && t.target.front() == '?') t.target = "/" + t.target;
  if (authority.find('@') != std::string_view::npos) {
    error =
        "user:password@ in the URL is not supported (send credentials with a workload's "
        "headers): \"" +
        std::string(url) + "\"";
    return std::nullopt;
  }
  const std::string no_host = "URL has no host: \"" + std::string(url) + "\"";
  if (authority.empty()) {
    error = no_host;
    return std::nullopt;
  }
  std::string_view host = authority;
  std::uint16_t port = t.tls ? 443 : 80;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "URL has an unterminated IPv6 host";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad URL authority \"" + std::string(authority) + "\"";
        return std::nullopt;
      }
      auto hp = parse_host_port("x" + std::string(after));
      if (!hp) {
        error = "bad port in URL";
        return std::nullopt;
      }
      port = hp->port;
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    auto hp = parse_host_port(std::string(authority));
    if (!hp || hp->port == 0) {
      error = "bad port in URL \"" + std::string(url) + "\"";
      return std::nullopt;
    }
    port = hp->port;
  }
  if (host.empty()) {  // ":443" or "[]": a port with nothing to connect to
    error = no_host;
    return std::nullopt;
  }
  t.host = std::string(host);
  t.port = port;
  t.host_header = std::string(authority);
  return t;
}

}  // namespace faultline
