// The protocol-http engine over real loopback sockets: pass-through with keep-alive, http_error
// probability per request (scope request) and per connection (scope connection) within the binomial
// 99.9 % interval, http_delay accuracy, matching, http_abort both ways, Envoy-style header faults,
// Vaurien's hang/transient on HTTP, 502 when the upstream is down, recording, and curl as a real
// client.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/http_server.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_upstream_requests{0};

awaitable<HttpResponse> upstream_handler(HttpRequest& req, RequestContext&) {
  g_upstream_requests++;
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain");
  std::string seen =
      std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
  if (req.find("x-faultline-abort") != req.end()) seen += " [abort header forwarded]";
  res.body() = seen;
  res.prepare_payload();
  co_return res;
}

class Upstream {
 public:
  Upstream() : server_(pool_, upstream_handler) {
    port_ = server_.listen(HostPort{"127.0.0.1", 0}).port();
    pool_.start();
  }
  ~Upstream() {
    server_.stop();
    pool_.stop();
    pool_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  IoPool pool_{1};
  HttpServer server_;
  unsigned short port_ = 0;
};

// A keep-alive HTTP/1.1 client on one connection (Beast, blocking).
class KeepAliveClient {
 public:
  explicit KeepAliveClient(unsigned short port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  // Returns the status, or 0 when the connection failed/closed.
  unsigned get(const std::string& target, std::string* body = nullptr,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req{http::verb::get, target, 11};
    req.set(http::field::host, "test");
    for (auto& [k, v] : headers)
      req.set(k, v);
    error_code ec;
    http::write(socket_, req, ec);
    if (ec) return 0;
    HttpResponse res;
    http::read(socket_, buffer_, res, ec);
    if (ec) return 0;
    if (body) *body = res.body();
    return res.result_int();
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

json toxic(const std::string& type, json attrs, double toxicity = 1.0, const std::string& name = "",
           const std::string& scope = "", const std::string& stream = "") {
  json t{{"type", type}, {"attributes", attrs}, {"toxicity", toxicity}};
  if (!name.empty()) t["name"] = name;
  if (!scope.empty()) t["scope"] = scope;
  if (!stream.empty()) t["stream"] = stream;
  return t;
}

void expect_binomial(int hits, int n, double p) {
  const double mean = n * p, sd = std::sqrt(n * p * (1 - p));
  EXPECT_GE(hits, mean - 3.29 * sd) << "n=" << n << " p=" << p;
  EXPECT_LE(hits, mean + 3.29 * sd) << "n=" << n << " p=" << p;
}

}  // namespace

TEST(HttpProxy, PassThroughKeepsConnectionsAlive) {
  Upstream up;
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_NE(port, 0);
  KeepAliveClient c(port);
  std::string body;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(c.get("/hello/" + std::to_string(i), &body), 200u);
    EXPECT_EQ(body, "GET /hello/" + std::to_string(i) + " ");
  }
  EXPECT_EQ(h.metric("faultline_proxy_connections_accepted_total", "proxy=\"web\""), 1);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"web\""), 5);
  // A real client: curl reuses one connection for two URLs and POSTs a body.
  test::TempDir dir;
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const std::string cmd = "curl -sS -v -d 'payload' " + url + "/a " + url + "/b > " +
                          dir.file("out") + " 2> " + dir.file("err");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir.file("out")), err(dir.file("err"));
  std::string o((std::istreambuf_iterator<char>(out)), {}),
      e((std::istreambuf_iterator<char>(err)), {});
  EXPECT_EQ(o, "POST /a payloadPOST /b payload");
  EXPECT_NE(e.find("Re-using existing connection"), std::string::npos) << e;
}

TEST(HttpProxy, HttpErrorPerRequestWithinTheBinomialInterval) {
  Upstream up;
  Harness h(/*seed=*/99);
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_error", {{"status", 503}, {"body", "nope"}}, 0.2))
                .status,
            200);
  constexpr int kN = 2000;
  int errors = 0;
  KeepAliveClient c(port);
  for (int i = 0; i < kN; ++i) {
    std::string body;
    const unsigned s = c.get("/x", &body);
    ASSERT_TRUE(s == 200 || s == 503) << s;
    if (s == 503) {
      ++errors;
      EXPECT_EQ(body, "nope");
    }
  }
  expect_binomial(errors, kN, 0.2);
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"http_error\""), errors);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"web\""), kN);
}

TEST(HttpProxy, ScopeConnectionDrawsOncePerConnection) {
  Upstream up;
  Harness h(/*seed=*/5);
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_error", json::object(), 0.4, "", "connection"))
                .status,
            200);
  constexpr int kConns = 300;
  int affected = 0;
  for (int i = 0; i < kConns; ++i) {
    KeepAliveClient c(port);
    const unsigned first = c.get("/");
    for (int k = 0; k < 4; ++k)
      ASSERT_EQ(c.get("/"), first) << "outcome changed within a connection";
    affected += first == 503;
  }
  expect_binomial(affected, kConns, 0.4);
}

TEST(HttpProxy, HttpDelayIsAccurate) {
  Upstream up;
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  KeepAliveClient c(port);
  auto median = [&] {
    std::vector<double> s;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(c.get("/"), 200u);
      s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(s.begin(), s.end());
    return s[3];
  };
  const double base = median();
  for (const char* when : {"request", "response"}) {
    ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                     toxic("http_delay", {{"delay", 150}, {"when", when}}, 1.0, "d"))
                  .status,
              200);
    EXPECT_NEAR(median() - base, 0.150, 0.001 + 0.02 * 0.150) << when;
    ASSERT_EQ(h.call("DELETE", "/proxies/web/toxics/d").status, 204);
  }
}

TEST(HttpProxy, MatchingByPathMethodAndHeader) {
  Upstream up;
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_error", {{"status", 500}, {"path_prefix", "/api"}}, 1.0, "a"))
                .status,
            200);
  ASSERT_EQ(
      h.call("POST", "/proxies/web/toxics",
             toxic("http_error", {{"status", 429}, {"path_regex", "/items/[0-9]+"}}, 1.0, "b"))
          .status,
      200);
  ASSERT_EQ(
      h.call("POST", "/proxies/web/toxics",
             toxic("http_error",
                   {{"status", 418}, {"header_name", "x-user"}, {"header_value", "bob"}}, 1.0, "c"))
          .status,
      200);
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_error", {{"status", 405}, {"method", "DELETE"}}, 1.0, "d"))
                .status,
            200);
  KeepAliveClient c(port);
  EXPECT_EQ(c.get("/api/users"), 500u);
  EXPECT_EQ(c.get("/apix"), 500u);  // a prefix, not a path segment
  EXPECT_EQ(c.get("/items/12"), 429u);
  EXPECT_EQ(c.get("/items/12?x=1"), 429u);  // the query is not part of the path
  EXPECT_EQ(c.get("/items/abc"), 200u);
  EXPECT_EQ(c.get("/other", nullptr, {{"x-user", "bob"}}), 418u);
  EXPECT_EQ(c.get("/other", nullptr, {{"x-user", "alice"}}), 200u);
  EXPECT_EQ(c.get("/other"), 200u);  // GET is not DELETE
}

TEST(HttpProxy, HttpAbortBeforeAndAfterForwarding) {
  Upstream up;
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_abort", {{"when", "request"}, {"path_prefix", "/before"}}, 1.0, "a"))
                .status,
            200);
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_abort", {{"when", "response"}, {"path_prefix", "/after"}}, 1.0, "b"))
                .status,
            200);
  const int before = g_upstream_requests.load();
  {
    KeepAliveClient c(port);
    EXPECT_EQ(c.get("/before"), 0u);
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(g_upstream_requests.load(), before);
  {
    KeepAliveClient c(port);
    EXPECT_EQ(c.get("/after"), 0u);
  }
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(g_upstream_requests.load(), before + 1);  // forwarded, then cut
  EXPECT_EQ(h.metric("faultline_proxy_connections_closed_total", "reason=\"fault\""), 2);
}

TEST(HttpProxy, HeaderTriggeredFaultsOnlyWhenEnabled) {
  Upstream up;
  Harness h;
  const auto plain = h.create("plain", up.address(), "http");
  const auto faulty = h.create("faulty", up.address(), "http", {{"header_faults", true}});
  std::string body;
  KeepAliveClient p(plain);
  EXPECT_EQ(p.get("/", &body, {{"x-faultline-abort", "503"}}), 200u);
  EXPECT_NE(body.find("[abort header forwarded]"), std::string::npos);
  KeepAliveClient f(faulty);
  EXPECT_EQ(f.get("/", &body, {{"x-faultline-abort", "503"}}), 503u);
  EXPECT_EQ(
      f.get("/", &body, {{"x-faultline-abort", "503"}, {"x-faultline-abort-percentage", "0"}}),
      200u);
  EXPECT_EQ(body.find("[abort header forwarded]"), std::string::npos);  // stripped
  int hits = 0;
  for (int i = 0; i < 400; ++i)
    hits += f.get("/", nullptr,
                  {{"x-faultline-abort", "500"}, {"x-faultline-abort-percentage", "25"}}) == 500;
  expect_binomial(hits, 400, 0.25);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(f.get("/", nullptr, {{"x-faultline-delay-ms", "100"}}), 200u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
}

// Envoy's rule (issue #12, item 8): a -percentage that is not an integer from 0 to 100 falls back
// to the proxy's configured percentage (it used to abort every request); a valid one is capped
// at it.
TEST(HttpProxy, InvalidHeaderPercentagesFallBackToTheConfiguredOne) {
  Upstream up;
  Harness h;
  const auto port = h.create("faulty", up.address(), "http",
                             {{"header_faults", true}, {"header_fault_percentage", 10}});
  KeepAliveClient c(port);
  const std::vector<std::string> invalid = {"-5", "NaN", "150", "abc", "12.5", ""};
  int hits = 0;
  for (int i = 0; i < 600; ++i)
    hits +=
        c.get("/", nullptr,
              {{"x-faultline-abort", "503"},
               {"x-faultline-abort-percentage", invalid[static_cast<std::size_t>(i) % 6]}}) == 503;
  expect_binomial(hits, 600, 0.10);
  hits = 0;
  for (int i = 0; i < 400; ++i)
    hits += c.get("/", nullptr,
                  {{"x-faultline-abort", "503"}, {"x-faultline-abort-percentage", "50"}}) == 503;
  expect_binomial(hits, 400, 0.10);  // capped at the configured 10
  hits = 0;
  for (int i = 0; i < 400; ++i)
    hits += c.get("/", nullptr, {{"x-faultline-abort", "503"}}) == 503;
  expect_binomial(hits, 400, 0.10);  // no header: the configured percentage
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(
        c.get("/", nullptr, {{"x-faultline-abort", "503"}, {"x-faultline-abort-percentage", "0"}}),
        200u);

  EXPECT_EQ(h.call("GET", "/proxies/faulty").body["header_fault_percentage"], 10);
  for (const json& bad : {json(101), json(-1), json(2.5), json("10")}) {
    const auto res = h.call("POST", "/proxies/faulty", json{{"header_fault_percentage", bad}});
    EXPECT_EQ(res.status, 400u) << bad.dump();
    EXPECT_NE(res.raw.find("header_fault_percentage"), std::string::npos) << res.raw;
  }
  ASSERT_EQ(h.call("POST", "/reset").status, 204u);
  EXPECT_FALSE(h.call("GET", "/proxies/faulty").body.contains("header_faults"));
}

TEST(HttpProxy, HangAndTransientAndUpstreamDown) {
  Upstream up;
  Harness h;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/web/toxics",
             toxic("transient",
                   {{"count", 3},
                    {"behavior", {{"type", "http_error"}, {"attributes", {{"status", 502}}}}}}))
          .status,
      200);
  KeepAliveClient c(port);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c.get("/"), 502u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c.get("/"), 200u);
  ASSERT_EQ(h.call("DELETE", "/proxies/web/toxics/transient_downstream").status, 204);
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics", toxic("hang", json::object())).status, 200);
  {
    Client raw(port, 300ms);
    raw.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string how;
    EXPECT_EQ(raw.read_to_end(&how), "");
    EXPECT_EQ(how, "timeout");  // read, never answered
  }
  unsigned short dead;
  {
    EchoServer gone;
    dead = gone.port();
  }
  const auto down = h.create("down", "127.0.0.1:" + std::to_string(dead), "http");
  KeepAliveClient d(down);
  EXPECT_EQ(d.get("/"), 502u);
  EXPECT_EQ(d.get("/"), 502u);  // still served after a failure
}

TEST(HttpProxy, RecordsEveryExchangeAsJsonLines) {
  Upstream up;
  Harness h;
  test::TempDir dir;
  const std::string file = dir.file("rec.jsonl");
  const auto port = h.create("web", up.address(), "http", {{"record", file}});
  ASSERT_NE(port, 0);
  ASSERT_EQ(h.call("POST", "/proxies/web/toxics",
                   toxic("http_error", {{"status", 503}, {"path_prefix", "/fail"}}))
                .status,
            200);
  KeepAliveClient c(port);
  EXPECT_EQ(c.get("/p/1"), 200u);
  EXPECT_EQ(c.get("/fail"), 503u);
  std::ifstream in(file);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["method"], "GET");
  EXPECT_EQ(lines[0]["target"], "/p/1");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["body"], "");
  EXPECT_TRUE(lines[0]["headers"].is_array());
  EXPECT_EQ(lines[0]["headers"][0], json::array({"Host", "test"}));
  EXPECT_GE(lines[0]["latency_seconds"].get<double>(), 0.0);
  EXPECT_GE(lines[1]["ts"].get<double>(), lines[0]["ts"].get<double>());
  EXPECT_EQ(lines[1]["status"], 503);
  // Recording needs protocol http.
  EXPECT_EQ(
      h.call(
           "POST", "/proxies",
           {{"name", "t"}, {"listen", "127.0.0.1:0"}, {"upstream", up.address()}, {"record", file}})
          .status,
      400);
}
