// The proxy server: the set of proxies and the Toxiproxy-compatible REST API over them (plus
// GET /metrics). Every API call runs on the control loop, which also owns the acceptors, so proxy
// changes need no locking beyond the toxic snapshot the connections read.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/http_server.hpp"
#include "proxy/proxy.hpp"

namespace faultline::proxy {

// The Toxiproxy release whose REST API faultline's follows, answered as `version` by GET /version
// (faultline's own version is `faultline` there): Toxiproxy's clients choose PATCH or POST for
// updates by it, and faultline accepts both.
inline constexpr const char* kToxiproxyApiVersion = "2.12.0";

class ProxyServer {
 public:
  ProxyServer(ProxyEnv& env, std::optional<std::string> api_token);
  ~ProxyServer();

  // REST API dispatch (control loop only).
  HttpResponse handle(const HttpRequest& req);

  // Creates proxies (with their toxics) from a JSON array, as POST /populate does. Throws
  // ConfigError (every problem with its path) or std::system_error (bind failure).
  json populate(const json& body, const std::string& path);
  void stop_all();

 private:
  HttpResponse route(const HttpRequest& req);
  HttpResponse create_proxy(const json& body);
  HttpResponse update_proxy(Proxy& p, const json& body);
  HttpResponse create_toxic(Proxy& p, const json& body);
  HttpResponse update_toxic(Proxy& p, const std::string& name, const json& body);
  std::shared_ptr<Proxy> find(const std::string& name) const;

  ProxyEnv& env_;
  std::optional<std::string> api_token_;
  std::array<unsigned char, 32> expected_auth_{};  // SHA-256 of "Bearer TOKEN"
  std::map<std::string, std::shared_ptr<Proxy>> proxies_;
};

}  // namespace faultline::proxy
