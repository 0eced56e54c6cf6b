// The REST API of the real `faultline proxy` binary against hostile or careless input (issue 22):
// JSON nested deep enough to overflow a recursive walk, files that are FIFOs, devices or huge,
// server names that are not names, and what Toxiproxy's own clients expect of /version, PATCH and
// a proxy created without `listen`.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "common/http_client.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

struct Reply {
  unsigned status = 0;
  json body;
  std::string raw;
};

Reply call(const HostPort& api, const std::string& method, const std::string& target,
           const std::string& body = "") {
  HttpClientRequest req;
  req.method = method;
  req.target = target;
  req.timeout = 5000ms;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto [ec, res] = http_fetch_sync(api, req);
  Reply r;
  if (ec) return r;
  r.status = res.status;
  r.raw = res.body;
  if (!res.body.empty()) r.body = json::parse(res.body, nullptr, false);
  return r;
}

Reply call(const HostPort& api, const std::string& method, const std::string& target,
           const json& body) {
  return call(api, method, target, body.dump());
}

// `depth` nested arrays around `inner`: about 2 * depth bytes.
std::string nested(std::size_t depth, const std::string& inner = "") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

class ProxyApiHardening : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = test::start_faultline({"proxy", "--api", "127.0.0.1:0", "--seed", "1"});
    ASSERT_TRUE(p);
    proc = std::make_unique<test::RunningFaultline>(std::move(*p));
    api = proc->address;
  }
  // The process still answers, and stops on SIGTERM within 5 s (exit 0).
  void expect_alive_and_stoppable() {
    EXPECT_EQ(call(api, "GET", "/version").status, 200) << "the API stopped answering";
    EXPECT_EQ(proc->process.terminate(5000ms), 0) << "SIGTERM did not stop the proxy";
  }
  Reply create(const json& body) { return call(api, "POST", "/proxies", body); }
  std::unique_ptr<test::RunningFaultline> proc;
  HostPort api;
  EchoServer echo;
};

}  // namespace

// Issue 22 #1: ~0.6 MB of "[[[[" used to overflow the stack (SIGSEGV) wherever the document was
// copied or printed. Every body goes through the depth-limited parse and is refused whole.
TEST_F(ProxyApiHardening, DeeplyNestedJsonIsRefusedWith400Everywhere) {
  const std::string deep = nested(300000);
  auto r = call(api, "POST", "/populate", deep);
  EXPECT_EQ(r.status, 400) << r.raw.substr(0, 200);
  EXPECT_NE(r.raw.find("nested deeper than 128"), std::string::npos) << r.raw.substr(0, 200);

  ASSERT_EQ(create({{"name", "p"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}}).status,
            201);
  r = call(api, "POST", "/proxies/p/toxics",
           R"({"type": "latency", "attributes": {"latency": 1, "unknown": )" + deep + "}}");
  EXPECT_EQ(r.status, 400) << r.raw.substr(0, 200);
  EXPECT_NE(r.raw.find("nested deeper than 128"), std::string::npos);
  r = call(api, "POST", "/proxies/p", R"({"enabled": )" + deep + "}");
  EXPECT_EQ(r.status, 400) << r.raw.substr(0, 200);
  r = call(api, "POST", "/proxies", R"({"name": "q", "listen": )" + deep + "}");
  EXPECT_EQ(r.status, 400) << r.raw.substr(0, 200);
  // 128 levels are fine (and then refused for what they are, naming the field).
  r = call(api, "POST", "/proxies/p", R"({"enabled": )" + nested(127) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("$.enabled"), std::string::npos) << r.raw.substr(0, 200);
  expect_alive_and_stoppable();
}

// Issue 22 #2: a FIFO as tls.cert froze the API (and every acceptor, and SIGTERM); /dev/zero was
// read until memory ran out. Files must be regular and at most 1 MiB.
TEST_F(ProxyApiHardening, CertificateFilesMustBeSmallRegularFiles) {
  test::TempDir dir;
  const auto pki = test::make_test_pki(dir.file("pki"));
  const std::string fifo = dir.file("cert.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string big = dir.file("big.pem");
  {
    std::ofstream out(big, std::ios::binary);
    out << std::string((1 << 20) + 1, 'A');
  }
  const std::string cert = pki.server_cert.string(), key = pki.server_key.string();
  struct Case {
    json extra;
    std::string path;
  };
  const std::vector<Case> cases = {
      {{{"tls", {{"cert", fifo}, {"key", key}}}}, "$.tls.cert"},
      {{{"tls", {{"cert", "/dev/zero"}, {"key", key}}}}, "$.tls.cert"},
      {{{"tls", {{"cert", cert}, {"key", big}}}}, "$.tls.key"},
      {{{"tls", {{"cert", cert}, {"key", key}, {"client_ca", dir.path().string()}}}},
       "$.tls.client_ca"},
      {{{"upstream_tls", {{"ca", fifo}}}}, "$.upstream_tls.ca"},
      {{{"upstream_tls", {{"ca", pki.ca_cert.string()}, {"cert", "/dev/zero"}, {"key", key}}}},
       "$.upstream_tls.cert"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::string name = "t";  // (not "t" + to_string(i): GCC 12's -Wrestrict false positive)
    name += std::to_string(i);
    json body{{"name", name}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}};
    body.update(c.extra);
    const auto started = std::chrono::steady_clock::now();
    auto r = create(body);
    EXPECT_EQ(r.status, 400) << c.extra.dump() << " -> " << r.raw;
    EXPECT_NE(r.raw.find(c.path), std::string::npos) << r.raw;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << c.extra.dump();
  }
  // The same files on a proxy update are refused the same way.
  ASSERT_EQ(create({{"name", "p"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}}).status,
            201);
  auto r = call(api, "POST", "/proxies/p", json{{"tls", {{"cert", fifo}, {"key", key}}}});
  EXPECT_EQ(r.status, 400) << r.raw;
  EXPECT_NE(r.raw.find("not a regular file"), std::string::npos) << r.raw;
  // Good files still work.
  r = create({{"name", "good"},
              {"listen", "127.0.0.1:0"},
              {"upstream", echo.address()},
              {"tls", {{"cert", cert}, {"key", key}}}});
  EXPECT_EQ(r.status, 201) << r.raw;
  expect_alive_and_stoppable();
}

// Issue 22 #10: SNI must be a DNS name or an IP literal (RFC 6066: at most 255 bytes, no NUL).
TEST_F(ProxyApiHardening, UpstreamSniMustBeAHostName) {
  const std::vector<std::string> bad = {std::string("a\0b.example", 11),
                                        std::string(300, 'a'),
                                        "under_score..example",
                                        "-leading.example",
                                        "sp ace",
                                        "trailing-.example",
                                        "a." + std::string(64, 'b') + ".c"};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const std::string& sni = bad[i];
    std::string name = "s";  // one name per case: an accepted one must not hide the next
    name += std::to_string(i);
    auto r = create({{"name", name},
                     {"listen", "127.0.0.1:0"},
                     {"upstream", echo.address()},
                     {"upstream_tls", {{"verify", false}, {"sni", sni}}}});
    EXPECT_EQ(r.status, 400) << sni.size() << " bytes: " << r.raw;
    EXPECT_NE(r.raw.find("$.upstream_tls.sni"), std::string::npos) << r.raw;
  }
  for (const std::string good : {"localhost", "db-1.internal.example", "example.com.", "127.0.0.1",
                                 "::1", "xn--bcher-kva.example"}) {
    auto r = create({{"name", "ok"},
                     {"listen", "127.0.0.1:0"},
                     {"upstream", echo.address()},
                     {"upstream_tls", {{"verify", false}, {"sni", good}}}});
    EXPECT_EQ(r.status, 201) << good << ": " << r.raw;
    EXPECT_EQ(call(api, "DELETE", "/proxies/ok").status, 204);
  }
}

// Toxiproxy's clients (toxiproxy-ruby, the Go client) read /version to choose POST or PATCH for
// updates (PATCH from 2.6), and may create a proxy without `listen`.
TEST_F(ProxyApiHardening, ToxiproxyClientsSeeAToxiproxyVersionAndMayOmitListen) {
  auto v = call(api, "GET", "/version");
  ASSERT_EQ(v.status, 200);
  ASSERT_TRUE(v.body.contains("version")) << v.raw;
  EXPECT_EQ(v.body["version"], "2.12.0");
  EXPECT_TRUE(v.body.contains("faultline")) << v.raw;

  auto r = create({{"name", "nolisten"}, {"upstream", echo.address()}});
  ASSERT_EQ(r.status, 201) << r.raw;
  auto hp = parse_host_port(r.body["listen"].get<std::string>());
  ASSERT_TRUE(hp) << r.raw;
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_NE(hp->port, 0);
  {
    Client c(hp->port);
    c.send_all("x");
    EXPECT_EQ(c.read_n(1), "x");
  }
  // Updates by POST and PATCH, proxies and toxics alike.
  EXPECT_EQ(call(api, "PATCH", "/proxies/nolisten", json{{"enabled", false}}).body["enabled"],
            false);
  EXPECT_EQ(call(api, "POST", "/proxies/nolisten", json{{"enabled", true}}).body["enabled"], true);
  ASSERT_EQ(call(api, "POST", "/proxies/nolisten/toxics",
                 json{{"name", "lat"}, {"type", "latency"}, {"attributes", {{"latency", 5}}}})
                .status,
            200);
  r = call(api, "PATCH", "/proxies/nolisten/toxics/lat", json{{"attributes", {{"latency", 7}}}});
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["attributes"]["latency"], 7);
  r = call(api, "POST", "/proxies/nolisten/toxics/lat", json{{"attributes", {{"latency", 9}}}});
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["attributes"]["latency"], 9);
}
