// The proxy server: the set of proxies and the Toxiproxy-compatible REST API over them (plus
// GET /metrics). Every API call runs on the control loop, which also owns the acceptors, so proxy
// changes need no locking beyond the toxic snapshot the connections read. The one slow part of a
// call, reading the certificate, key and CA files it names, happens before, on a file thread
// (handle_async), so a slow disk never stops the acceptors or the API.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "common/http_server.hpp"
#include "common/tls.hpp"
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

  // REST API dispatch (control loop only): reads the TLS files the request names on the file
  // thread, then handles the request on the control loop with them. What the API server calls.
  awaitable<HttpResponse> handle_async(const HttpRequest& req);

  // REST API dispatch (control loop only), reading any TLS file the request names in place:
  // for callers whose loop accepts nothing (tests, the start-up --config).
  HttpResponse handle(const HttpRequest& req, const tls::PemFiles* files = nullptr);

  // Where handle_async reads files (default: a thread of this server's own). Control loop only.
  void set_file_reader(asio::any_io_executor reader) { file_reader_ = std::move(reader); }

  // At most this many bytes of TLS files are read ahead for one request (64 MiB: /populate with a
  // few hundred certificates); files past it are an error naming them.
  static constexpr std::uint64_t kMaxFilesPerRequestBytes = std::uint64_t{64} << 20;

  // Creates proxies (with their toxics) from a JSON array, as POST /populate does. Throws
  // ConfigError (every problem with its path) or std::system_error (bind failure).
  json populate(const json& body, const std::string& path);
  void stop_all();

 private:
  HttpResponse route(const HttpRequest& req);
  bool authorized(const HttpRequest& req) const;
  // The certificate, key and CA files a request would read: those in its body, and for an update
  // (POST/PATCH /proxies/NAME) the ones the proxy already has (its contexts are rebuilt).
  std::vector<std::string> tls_files_named(const HttpRequest& req) const;
  HttpResponse create_proxy(const json& body);
  HttpResponse update_proxy(Proxy& p, const json& body);
  HttpResponse create_toxic(Proxy& p, const json& body);
  HttpResponse update_toxic(Proxy& p, const std::string& name, const json& body);
  std::shared_ptr<Proxy> find(const std::string& name) const;

  ProxyEnv& env_;
  std::optional<std::string> api_token_;
  std::array<unsigned char, 32> expected_auth_{};  // SHA-256 of "Bearer TOKEN"
  std::map<std::string, std::shared_ptr<Proxy>> proxies_;
  asio::thread_pool own_file_reader_{1};
  asio::any_io_executor file_reader_ = own_file_reader_.get_executor();
};

}  // namespace faultline::proxy
