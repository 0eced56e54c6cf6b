// A minimal HTTP/1.1 client for control-plane calls (the runner driving the proxy API, `faultline
// ctl`, tests): one request per connection, a deadline on the whole exchange, errors as values.
// The load generator has its own high-throughput client; this one favours simplicity.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/config.hpp"
#include "common/net.hpp"

namespace boost::asio::ssl {
class context;
}

namespace faultline {

struct HttpClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  // Set: HTTPS with this client context (common/tls.hpp make_client_context); the server's
  // certificate must name the host connected to when the context verifies. Null: plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

struct HttpClientResponse {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

// Coroutine form: runs on the caller's executor.
awaitable<std::pair<error_code, HttpClientResponse>> http_fetch(HostPort server,
                                                                HttpClientRequest request);

// Blocking form with its own io_context, for CLIs and tests.
std::pair<error_code, HttpClientResponse> http_fetch_sync(const HostPort& server,
                                                          HttpClientRequest request);

}  // namespace faultline
