// In-process test harness for the proxy: a ProxyServer with its REST API on a loopback port, plus
// simple upstreams (an echo server) and blocking client helpers with receive timeouts.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/metrics.hpp"
#include "proxy/behaviors/builtin.hpp"
#include "proxy/server.hpp"

namespace faultline::proxy::test {

// A proxy server running in this process; API calls go over real HTTP.
class Harness {
 public:
  explicit Harness(std::uint64_t seed = 42, unsigned workers = 2,
                   std::chrono::milliseconds idle = std::chrono::milliseconds(60000),
                   bool splice = true);
  ~Harness();
  struct Reply {
    unsigned status = 0;
    json body;
    std::string raw;
  };
  Reply call(const std::string& method, const std::string& target, const json& body = nullptr,
             std::vector<std::pair<std::string, std::string>> headers = {});
  // Creates a proxy on 127.0.0.1:0 to `upstream`; returns its bound port (0 on failure).
  unsigned short create(const std::string& name, const std::string& upstream,
                        const std::string& protocol = "tcp", json extra = json::object());
  HostPort api() const { return api_; }
  // Where the server reads the TLS files an API call names (ProxyServer::set_file_reader).
  void set_file_reader(asio::any_io_executor reader);
  // The value of one sample line of /metrics, e.g. metric("faultline_proxy_requests_total",
  // "proxy=\"p\"").
  double metric(const std::string& name, const std::string& labels);

 private:
  // Declared before the loops: handlers still queued when the loops die reference them.
  Registry registry_;
  Metrics metrics_;
  ProxyMetrics proxy_metrics_{metrics_};
  std::unique_ptr<ProxyEnv> env_;
  IoPool control_{1};
  IoPool workers_;
  std::unique_ptr<ProxyServer> server_;
  std::unique_ptr<HttpServer> http_;
  HostPort api_;
};

// An echo server on 127.0.0.1:0 (its own thread pool).
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  unsigned short port() const noexcept { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  IoPool pool_{1};
  std::unique_ptr<tcp::acceptor> acceptor_;
  unsigned short port_ = 0;
};

// Blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(unsigned short port,
                  std::chrono::milliseconds rcv_timeout = std::chrono::milliseconds(5000));
  ~Client();
  bool connected() const noexcept { return fd_ >= 0; }
  bool send_all(const std::string& data);
  // Reads exactly n bytes; fewer when the peer closes or the timeout passes.
  std::string read_n(std::size_t n);
  // Reads until EOF/error/timeout; `how` says how it ended: "eof", "reset", "timeout".
  std::string read_to_end(std::string* how = nullptr);
  void shutdown_write();
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace faultline::proxy::test
