// The shared HTTP server over real loopback sockets: routing, keep-alive, every limit.
#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/http_client.hpp"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

awaitable<HttpResponse> echo_handler(HttpRequest& req, RequestContext&) {
  HttpResponse res{http::status::ok, req.version()};
  res.body() =
      std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
  co_return res;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions opt = {}) {
    server = std::make_unique<HttpServer>(pool, echo_handler, opt);
    auto ep = server->listen(HostPort{"127.0.0.1", 0});
    address = HostPort{"127.0.0.1", ep.port()};
    pool.start();
  }
  void TearDown() override {
    if (server) server->stop();
    pool.stop();
    pool.join();
  }
  // Sends raw bytes, returns whatever comes back until the server closes (or 3 s pass).
  std::string raw(const std::string& bytes) {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address(address.host), address.port));
    asio::write(s, asio::buffer(bytes));
    std::string out;
    char buf[4096];
    error_code ec;
    timeval tv{3, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
      std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }
  IoPool pool{2};
  std::unique_ptr<HttpServer> server;
  HostPort address;
};

}  // namespace

TEST_F(HttpServerTest, ServesRequests) {
  start();
  auto [ec, res] = http_fetch_sync(address, {.method = "POST", .target = "/x", .body = "hi"});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "POST /x hi");
}

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  start();
  auto out =
      raw("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("GET /a "), std::string::npos) << out;
  EXPECT_NE(out.find("GET /b "), std::string::npos) << out;
}

TEST_F(HttpServerTest, HeaderTooLargeIs431) {
  HttpServerOptions opt;
  opt.header_limit = 1024;
  start(opt);
  auto out = raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
  EXPECT_NE(out.find("\"status\":431"), std::string::npos);
}

TEST_F(HttpServerTest, BodyTooLargeIs413) {
  HttpServerOptions opt;
  opt.body_limit = 10;
  start(opt);
  auto out =
      raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'));
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
}

TEST_F(HttpServerTest, MalformedIs400AndClose) {
  start();
  auto out = raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
}

TEST_F(HttpServerTest, SlowHeadTimesOut) {
  HttpServerOptions opt;
  opt.header_timeout = 200ms;
  start(opt);
  auto t0 = std::chrono::steady_clock::now();
  auto out = raw("GET / HTTP/1.1\r\nHost: x\r\n");  // never finishes the head
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(out, "");  // cut off: the deadline closes the socket
  EXPECT_GT(took, 150ms);
  EXPECT_LT(took, 2500ms);
}

TEST_F(HttpServerTest, ConnectionCapAnswers503) {
  HttpServerOptions opt;
  opt.max_connections = 1;
  start(opt);
  asio::io_context ioc;
  tcp::socket hold(ioc);
  hold.connect(tcp::endpoint(asio::ip::make_address(address.host), address.port));
  // Let the server accept the first connection.
  for (int i = 0; i < 100 && server->active_connections() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  auto out = raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After"), std::string::npos);
}
