// The http proxy against request-smuggling framing (issue 22 #13): Transfer-Encoding with
// Content-Length, obsolete line folding and a final coding that is not chunked are answered with
// 400 and a close, as faultline's own server does, never forwarded and never dropped silently;
// each is counted in faultline_proxy_requests_rejected_total.
#include <gtest/gtest.h>

#include <atomic>

#include "common/http_server.hpp"
#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_forwarded{0};

awaitable<HttpResponse> upstream_handler(HttpRequest& req, RequestContext&) {
  g_forwarded++;
  HttpResponse res{http::status::ok, req.version()};
  res.body() = "upstream saw " + std::string(req.target());
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

}  // namespace

TEST(HttpSmuggling, AmbiguousFramingIsAnswered400AndCounted) {
  Harness h;
  Upstream up;
  const auto port = h.create("web", up.address(), "http");
  ASSERT_NE(port, 0);
  struct Case {
    std::string name, request, reason;
  };
  const std::vector<Case> cases = {
      {"TE + CL",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
       "0\r\n\r\n",
       "framing"},
      {"chunked, identity",
       "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
       "framing"},
      {"obs-fold",
       "POST /c HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n"
       "Content-Length: 0\r\n\r\n",
       "malformed"},
      {"two lengths",
       "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       "framing"},
      {"bad head", "GET /d HTTP/1.1\r\nHost x\r\n\r\n", "malformed"},
  };
  g_forwarded = 0;
  for (const auto& c : cases) {
    const std::string labels = "proxy=\"web\",reason=\"" + c.reason + "\"";
    const double before = h.metric("faultline_proxy_requests_rejected_total", labels);
    Client cl(port, 3000ms);
    ASSERT_TRUE(cl.send_all(c.request));
    std::string how;
    const std::string answer = cl.read_to_end(&how);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << c.name << ": " << answer;
    EXPECT_NE(answer.find("onnection: close"), std::string::npos) << c.name << ": " << answer;
    EXPECT_NE(how, "timeout") << c.name << ": the connection was left open";
    EXPECT_EQ(h.metric("faultline_proxy_requests_rejected_total", labels), before + 1) << c.name;
  }
  EXPECT_EQ(g_forwarded.load(), 0);
  // A well-framed request still goes through.
  Client ok(port, 3000ms);
  ASSERT_TRUE(ok.send_all("GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_NE(ok.read_to_end().find("upstream saw /fine"), std::string::npos);
}
