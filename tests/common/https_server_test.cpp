// The shared HTTP server with HttpServerOptions::tls: curl over HTTPS (verification against the
// test CA, keep-alive, bodies both ways, a large response), a plain-HTTP client and a silent
// client that never completes its handshake; common/http_client with HttpClientRequest::tls.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/tls.hpp"
#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

awaitable<HttpResponse> handler(HttpRequest& req, RequestContext&) {
  HttpResponse res{http::status::ok, req.version()};
  if (req.target() == "/big")
    res.body() = std::string(8 << 20, 'z');
  else
    res.body() =
        std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
  co_return res;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ctx = tls::make_server_context({pki.server_cert.string(), pki.server_key.string(), ""});
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    HttpServerOptions opt;
    opt.tls = ctx.context;
    opt.header_timeout = 400ms;
    server = std::make_unique<HttpServer>(pool, handler, opt);
    port = server->listen(HostPort{"127.0.0.1", 0}).port();
    pool.start();
  }
  void TearDown() override {
    if (server) server->stop();
    pool.stop();
    pool.join();
  }
  // Runs curl with `args`; returns {exit code, stdout}; stderr (with -v) lands in dir/err.
  std::pair<int, std::string> curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"curl", "-sS", "--max-time", "10"});
    Subprocess p(args, dir.file("err"));
    p.read_all(15s);
    return {p.wait(15s), p.output()};
  }
  std::string url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(port) + path;
  }

  test::TempDir dir;
  test::TestPki pki = test::make_test_pki(dir.path() / "pki");
  IoPool pool{2};
  std::unique_ptr<HttpServer> server;
  unsigned short port = 0;
};

TEST_F(HttpsServerTest, CurlVerifiesAndReusesTheConnection) {
  auto [rc, out] = curl({"-v", "--cacert", pki.ca_cert.string(), "-d", "payload",
                         url("localhost", "/a"), url("localhost", "/b")});
  ASSERT_EQ(rc, 0) << slurp(dir.file("err"));
  EXPECT_EQ(out, "POST /a payloadPOST /b payload");
  const std::string err = slurp(dir.file("err"));
  EXPECT_NE(err.find("Re-using existing connection"), std::string::npos) << err;
  EXPECT_NE(err.find("ALPN: server accepted http/1.1"), std::string::npos) << err;
}

TEST_F(HttpsServerTest, LargeResponseAndConnectionClose) {
  auto [rc, out] =
      curl({"--cacert", pki.ca_cert.string(), "-H", "Connection: close", url("127.0.0.1", "/big")});
  ASSERT_EQ(rc, 0) << slurp(dir.file("err"));
  EXPECT_EQ(out.size(), std::size_t{8} << 20);
}

TEST_F(HttpsServerTest, UnknownCaFailsAtTheClient) {
  const auto other = test::make_test_pki(dir.path() / "other");
  auto [rc, out] = curl({"--cacert", other.ca_cert.string(), url("localhost", "/a")});
  EXPECT_EQ(rc, 60) << slurp(dir.file("err"));  // CURLE_PEER_FAILED_VERIFICATION
  std::tie(rc, out) = curl({"--insecure", url("localhost", "/a")});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "GET /a ");
}

TEST_F(HttpsServerTest, PlainHttpAndSilentClientsAreDroppedOthersServed) {
  auto [rc, out] = curl({"http://127.0.0.1:" + std::to_string(port) + "/plain"});
  EXPECT_NE(rc, 0);
  // A client that connects and never says hello is cut off by the header deadline.
  asio::io_context ioc;
  tcp::socket silent(ioc);
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const auto start = std::chrono::steady_clock::now();
  char byte;
  error_code ec;
  silent.read_some(asio::buffer(&byte, 1), ec);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec);
  EXPECT_GE(waited, 350ms);
  EXPECT_LE(waited, 3s);
  std::tie(rc, out) = curl({"--cacert", pki.ca_cert.string(), url("localhost", "/after")});
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "GET /after ");
  for (int i = 0; i < 100 && server->active_connections() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server->active_connections(), 0u);
}

TEST_F(HttpsServerTest, HttpClientSpeaksHttpsAndVerifies) {
  tls::ClientConfig trust;
  trust.ca = pki.ca_cert.string();
  auto ctx = tls::make_client_context(trust);
  ASSERT_TRUE(ctx.ok()) << ctx.message();
  HttpClientRequest req;
  req.method = "POST";
  req.target = "/c";
  req.body = "x";
  req.tls = ctx.context;
  auto [ec, res] = http_fetch_sync(HostPort{"127.0.0.1", port}, req);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "POST /c x");
  // Another CA: the handshake fails, as an error code.
  const auto other = test::make_test_pki(dir.path() / "other");
  trust.ca = other.ca_cert.string();
  req.tls = tls::make_client_context(trust).context;
  std::tie(ec, res) = http_fetch_sync(HostPort{"127.0.0.1", port}, req);
  EXPECT_TRUE(ec);
  EXPECT_EQ(res.status, 0u);
}

}  // namespace
