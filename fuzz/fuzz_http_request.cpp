// Fuzz target: the shared HTTP/1.1 server (common/http_server.hpp) that the target, the proxy's
// REST API and the load generator's metrics endpoint put on the network. One server with an echo
// handler listens on loopback for the whole run; each input is sent on a fresh connection, the
// client's side is then shut down, and everything the server answers is read until it closes.
// This drives the real code path (Beast's parser as the server configures it, the limits, the
// 400/413/431 answers, keep-alive) rather than a copy of its parser settings.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/write.hpp>

#include "common/http_server.hpp"
#include "common/io_pool.hpp"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

awaitable<HttpResponse> echo(HttpRequest& req, RequestContext&) {
  HttpResponse res{http::status::ok, req.version()};
  res.body() = std::string(req.method_string()) + " " + std::string(req.target()) + " " +
               std::to_string(req.body().size());
  co_return res;
}

struct Server {
  IoPool pool{1};
  std::unique_ptr<HttpServer> server;
  tcp::endpoint endpoint;
  Server() {
    HttpServerOptions opt;
    opt.header_limit = 4096;  // small limits, so the fuzzer reaches them
    opt.body_limit = 4096;
    opt.header_timeout = 2s;
    opt.body_timeout = 2s;
    opt.idle_timeout = 2s;
    opt.write_timeout = 2s;
    server = std::make_unique<HttpServer>(pool, echo, opt);
    endpoint = server->listen(HostPort{"127.0.0.1", 0});
    pool.start();
  }
};

Server& server() {
  static Server* s = new Server();  // never destroyed: libFuzzer exits without unwinding
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Server& srv = server();
  asio::io_context ioc;
  tcp::socket s(ioc);
  error_code ec;
  // Thousands of connections a second leave the server's closed sides in TIME_WAIT. Where the
  // kernel does not reuse them for loopback (net.ipv4.tcp_tw_reuse=0, as in some CI sandboxes),
  // connect() then collides with one, blocks, and libFuzzer's own timer signal interrupts it
  // (EINTR), or it runs out of ephemeral ports (EADDRNOTAVAIL): limits of this harness, not server
  // bugs (reproduced in a network namespace with tcp_tw_reuse=0; docs/fuzzing.md). Retry those;
  // anything else (refused: the acceptor is gone) is a finding.
  for (int attempt = 0;; ++attempt) {
    s.connect(srv.endpoint, ec);
    if (!ec) break;
    s.close();
    const bool harness_limit =
        ec == boost::system::errc::address_not_available || ec == boost::system::errc::interrupted;
    if (harness_limit && attempt < 600) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    std::fprintf(stderr, "connect: %s (%d)\n", ec.message().c_str(), ec.value());
    __builtin_trap();  // the server stopped accepting
  }
  asio::write(s, asio::buffer(data, size), ec);  // the server may close before reading it all
  s.shutdown(tcp::socket::shutdown_send, ec);
  char buf[8192];
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    total += n;
  }
  // A server that keeps the connection open after its client finished sending hangs this read
  // until the server's own timeouts (2 s) close it; libFuzzer's -timeout reports anything longer.
  (void)total;
  // Close with a reset: tens of thousands of connections a minute would otherwise leave as many
  // client ports in TIME_WAIT, and connect() would run out of them.
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
  return 0;
}
