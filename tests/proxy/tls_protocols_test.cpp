// TLS with request-level faults and certificate chaos, real clients and servers: each certificate-
// chaos toxic observed by curl's verification, an http proxy re-encrypting (TLS → TLS to nginx
// `ssl`) with http_error on the decrypted requests, a plain client through an originating http
// proxy, and redis-cli --tls through a redis proxy to redis-server --tls-port with redis_error.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/proxy/harness.hpp"
#include "tests/proxy/tls_fixtures.hpp"
#include "tests/support/tls_certs.hpp"

namespace faultline::proxy::test {
namespace {

using faultline::test::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TlsChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("curl") || !have("openssl") || !have("nginx"))
      GTEST_SKIP() << "curl, openssl and nginx are needed";
    // A self-signed certificate the client trusts as such: the substitutes, issued in its name
    // with its key, then fail for exactly their own reason.
    cert_ = self_signed_cert(dir_, "self");
    nginx_ = std::make_unique<Nginx>(dir_);
    port_ = h_.create("chaos", nginx_->address(), "tcp",
                      {{"tls", {{"cert", cert_.cert}, {"key", cert_.key}}}});
    ASSERT_NE(port_, 0);
  }
  ShResult curl(const std::string& flags = "") {
    return sh(
        fmt::format("curl -sS {} --cacert {} https://localhost:{}/", flags, cert_.cert, port_));
  }
  void add(const std::string& type, const json& attrs, double toxicity = 1.0) {
    auto r =
        h_.call("POST", "/proxies/chaos/toxics",
                {{"name", "t"}, {"type", type}, {"toxicity", toxicity}, {"attributes", attrs}});
    ASSERT_EQ(r.status, 200u) << r.raw;
  }
  void remove() { h_.call("DELETE", "/proxies/chaos/toxics/t"); }

  TempDir dir_;
  CertFiles cert_;
  std::unique_ptr<Nginx> nginx_;
  Harness h_{42};
  unsigned short port_ = 0;
};

TEST_F(TlsChaos, EachBadCertificateFailsCurlsVerificationForItsReasonAndInsecurePasses) {
  auto ok = curl();
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(ok.out, "hello from nginx\n");
  const std::pair<const char*, const char*> cases[] = {
      {"expired", "certificate has expired"},
      {"wrong_host", "no alternative certificate subject name matches target host name"},
      {"self_signed", "self-signed certificate"},
  };
  for (const auto& [which, message] : cases) {
    add("tls_bad_cert", {{"certificate", which}});
    auto r = curl();
    EXPECT_EQ(r.code, 60) << which << ": " << r.out;  // CURLE_PEER_FAILED_VERIFICATION
    EXPECT_TRUE(contains(r.out, message)) << which << ": " << r.out;
    r = curl("--insecure");
    EXPECT_EQ(r.code, 0) << which << ": " << r.out;
    EXPECT_EQ(r.out, "hello from nginx\n");
    remove();
  }
  EXPECT_EQ(
      h_.metric("faultline_proxy_faults_injected_total", "kind=\"tls_bad_cert\",proxy=\"chaos\""),
      6);
  EXPECT_EQ(curl().code, 0);
}

// The self-signed substitute (an EC key) replaces a configured RSA certificate instead of being
// added beside it, so a client that prefers RSA signatures gets it too.
TEST(TlsChaosRsa, SelfSignedReplacesAnRsaCertificate) {
  if (!have("openssl")) GTEST_SKIP() << "openssl is needed";
  TempDir dir;
  const std::string cert = dir.file("rsa.pem"), key = dir.file("rsa.key");
  auto made = sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                 " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost");
  ASSERT_EQ(made.code, 0) << made.out;
  EchoServer echo;
  Harness h(42);
  const auto port =
      h.create("rsa", echo.address(), "tcp", {{"tls", {{"cert", cert}, {"key", key}}}});
  ASSERT_NE(port, 0);
  const std::string client = fmt::format(
      "openssl s_client -connect 127.0.0.1:{} -servername localhost -CAfile {} "
      "-sigalgs RSA-PSS+SHA256:ECDSA+SHA256 </dev/null",
      port, cert);
  auto r = sh(client);
  EXPECT_TRUE(contains(r.out, "Verify return code: 0 (ok)")) << r.out;
  ASSERT_EQ(h.call("POST", "/proxies/rsa/toxics",
                   {{"type", "tls_bad_cert"}, {"attributes", {{"certificate", "self_signed"}}}})
                .status,
            200u);
  r = sh(client);
  EXPECT_FALSE(contains(r.out, "Verify return code: 0 (ok)")) << r.out;
  EXPECT_TRUE(contains(r.out, "self-signed certificate")) << r.out;
}

TEST_F(TlsChaos, AlertFailsTheHandshakeWithThatAlertAndIsCountedAsAFault) {
  add("tls_alert", {{"alert", "handshake_failure"}});
  auto r = curl("--insecure");
  EXPECT_EQ(r.code, 35) << r.out;  // CURLE_SSL_CONNECT_ERROR
  EXPECT_TRUE(contains(r.out, "alert handshake failure")) << r.out;
  remove();
  add("tls_alert", {{"alert", "unrecognized_name"}});
  r = sh(fmt::format("openssl s_client -connect 127.0.0.1:{} -servername localhost </dev/null",
                     port_));
  EXPECT_TRUE(contains(r.out, "unrecognized name")) << r.out;
  remove();
  EXPECT_EQ(h_.metric("faultline_proxy_tls_handshakes_total",
                      "outcome=\"fault\",proxy=\"chaos\",side=\"client\""),
            2);
  EXPECT_EQ(h_.metric("faultline_proxy_tls_handshakes_total",
                      "outcome=\"failed\",proxy=\"chaos\",side=\"client\""),
            0);
  // Unknown alert names are rejected with the list.
  auto bad = h_.call("POST", "/proxies/chaos/toxics",
                     {{"type", "tls_alert"}, {"attributes", {{"alert", "nope"}}}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_TRUE(contains(bad.raw, "$.attributes.alert")) << bad.raw;
  bad = h_.call("POST", "/proxies/chaos/toxics",
                {{"type", "tls_bad_cert"}, {"attributes", {{"certificate", "old"}}}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_TRUE(contains(bad.raw, "$.attributes.certificate")) << bad.raw;
}

TEST_F(TlsChaos, HandshakeDelayHoldsTheServerHello) {
  add("tls_handshake_delay", {{"delay", 400}});
  auto r = curl("-o /dev/null -w '%{time_appconnect} %{time_connect}'");
  ASSERT_EQ(r.code, 0) << r.out;
  double appconnect = 0, connect = 0;
  ASSERT_EQ(std::sscanf(r.out.c_str(), "%lf %lf", &appconnect, &connect), 2) << r.out;
  EXPECT_GE(appconnect - connect, 0.38);
  EXPECT_LT(appconnect - connect, 2.0);
  remove();
  r = curl("-o /dev/null -w '%{time_appconnect} %{time_connect}'");
  ASSERT_EQ(std::sscanf(r.out.c_str(), "%lf %lf", &appconnect, &connect), 2) << r.out;
  EXPECT_LT(appconnect - connect, 0.38);  // a handshake without the toxic is well under the delay
}

TEST_F(TlsChaos, ToxicityIsDrawnPerConnection) {
  add("tls_bad_cert", {{"certificate", "expired"}}, 0.5);
  int failed = 0;
  for (int i = 0; i < 20; ++i)
    failed += curl().code == 60 ? 1 : 0;
  // Seeded: reproducible, and p = 0.5 over 20 draws is far from 0 and 20.
  EXPECT_GT(failed, 2);
  EXPECT_LT(failed, 18);
}

TEST(TlsHttp, TlsToTlsWithHttpErrorOnTheDecryptedRequests) {
  if (!have("curl") || !have("nginx")) GTEST_SKIP() << "curl and nginx are needed";
  TempDir dir;
  auto pki = faultline::test::make_test_pki(dir.path());
  Nginx nginx(dir, pki.server_cert.string(), pki.server_key.string());
  Harness h;
  const json tls{{"cert", pki.server_cert.string()}, {"key", pki.server_key.string()}};
  const json up{{"ca", pki.ca_cert.string()}, {"sni", "localhost"}};
  const auto port = h.create("api", nginx.address(), "http", {{"tls", tls}, {"upstream_tls", up}});
  ASSERT_NE(port, 0);
  auto r = h.call("POST", "/proxies/api/toxics",
                  {{"type", "http_error"},
                   {"attributes", {{"status", 503}, {"path_prefix", "/fail"}, {"body", "nope"}}}});
  ASSERT_EQ(r.status, 200u) << r.raw;
  // One curl, one TLS connection, three requests (keep-alive): decrypted, the second faulted.
  const std::string base = fmt::format("https://localhost:{}", port);
  auto c = sh(fmt::format("curl -sS --cacert {} -w ' %{{http_code}}\\n' {}/ok {}/fail {}/ok",
                          pki.ca_cert.string(), base, base, base));
  EXPECT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(c.out, "hello from nginx\n 200\nnope 503\nhello from nginx\n 200\n");
  EXPECT_EQ(h.metric("faultline_proxy_tls_handshakes_total",
                     "outcome=\"ok\",proxy=\"api\",side=\"client\""),
            1);
  EXPECT_EQ(h.metric("faultline_proxy_tls_handshakes_total",
                     "outcome=\"ok\",proxy=\"api\",side=\"upstream\""),
            1);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"api\""), 3);

  // A plain client through an originating http proxy.
  const auto plain = h.create("plain", nginx.address(), "http", {{"upstream_tls", up}});
  c = sh(fmt::format("curl -sS http://127.0.0.1:{}/x", plain));
  EXPECT_EQ(c.out, "hello from nginx\n");
  // An upstream that fails verification: 502 from the proxy, counted.
  const auto wrong =
      h.create("wrong", nginx.address(), "http",
               {{"upstream_tls", {{"ca", pki.ca_cert.string()}, {"sni", "other.example"}}}});
  c = sh(fmt::format("curl -sS -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{}/x", wrong));
  EXPECT_EQ(c.out, "502");
  EXPECT_EQ(h.metric("faultline_proxy_tls_handshakes_total",
                     "outcome=\"failed\",proxy=\"wrong\",side=\"upstream\""),
            1);
}

TEST(TlsRedis, RedisCliTlsThroughARedisProxyToRedisServerTlsPort) {
  if (!have("redis-cli") || !have("redis-server")) GTEST_SKIP() << "redis is needed";
  TempDir dir;
  auto pki = faultline::test::make_test_pki(dir.path());
  const unsigned short rport = free_loopback_port();
  Subprocess redis({"redis-server",
                    "--port",
                    "0",
                    "--tls-port",
                    std::to_string(rport),
                    "--bind",
                    "127.0.0.1",
                    "--tls-cert-file",
                    pki.server_cert.string(),
                    "--tls-key-file",
                    pki.server_key.string(),
                    "--tls-ca-cert-file",
                    pki.ca_cert.string(),
                    "--tls-auth-clients",
                    "no",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    dir.path().string(),
                    "--loglevel",
                    "warning"},
                   dir.file("redis.log"));
  const std::string cli = fmt::format(
      "redis-cli --tls --cacert {} --sni localhost -h 127.0.0.1 -p ", pki.ca_cert.string());
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    up = sh(cli + std::to_string(rport) + " PING").out == "PONG\n";
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(up) << "redis-server --tls-port did not come up (built without TLS?)";
  Harness h;
  const auto port =
      h.create("cache", fmt::format("127.0.0.1:{}", rport), "redis",
               {{"tls", {{"cert", pki.server_cert.string()}, {"key", pki.server_key.string()}}},
                {"upstream_tls", {{"ca", pki.ca_cert.string()}, {"sni", "localhost"}}}});
  ASSERT_NE(port, 0);
  const std::string via = cli + std::to_string(port);
  EXPECT_EQ(sh(via + " SET k v").out, "OK\n");
  EXPECT_EQ(sh(via + " GET k").out, "v\n");
  auto r = h.call(
      "POST", "/proxies/cache/toxics",
      {{"type", "redis_error"}, {"attributes", {{"command", "GET"}, {"message", "ERR injected"}}}});
  ASSERT_EQ(r.status, 200u) << r.raw;
  EXPECT_TRUE(contains(sh(via + " GET k").out, "ERR injected"));
  EXPECT_EQ(sh(via + " SET k w").out, "OK\n");
  EXPECT_EQ(h.metric("faultline_proxy_tls_handshakes_total",
                     "outcome=\"ok\",proxy=\"cache\",side=\"upstream\""),
            4);
}

}  // namespace
}  // namespace faultline::proxy::test
