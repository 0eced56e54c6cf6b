// TCP toxics against Toxiproxy's/Vaurien's semantics where faultline used to differ: `timeout` and
// `hang` swallow the upstream's EOF too (a client whose server closes keeps waiting), and `abort`
// on the downstream stream cuts the connection instead of delivering the response.
#include <gtest/gtest.h>

#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

json downstream(const std::string& type, json attrs = json::object()) {
  return {{"type", type}, {"stream", "downstream"}, {"attributes", std::move(attrs)}};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(TcpToxiproxyCompat, TimeoutAndHangSwallowTheUpstreamEof) {
  for (const json& t : {downstream("timeout", {{"timeout", 0}}), downstream("hang")}) {
    SCOPED_TRACE(t.dump());
    EchoServer echo;  // closes once the client's EOF reaches it
    Harness h;
    const auto port = h.create("p", echo.address());
    ASSERT_EQ(h.call("POST", "/proxies/p/toxics", t).status, 200);
    Client c(port, 600ms);
    c.send_all("bye");
    c.shutdown_write();
    std::string how;
    EXPECT_EQ(c.read_to_end(&how), "");
    EXPECT_EQ(how, "timeout");
  }
}

TEST(TcpToxiproxyCompat, TimeoutClosesAtItsDeadlineNotAtTheUpstreamEof) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", downstream("timeout", {{"timeout", 400}})).status,
            200);
  const auto t0 = std::chrono::steady_clock::now();
  Client c(port, 3000ms);
  c.send_all("bye");
  c.shutdown_write();
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_NE(how, "timeout");
  EXPECT_NEAR(seconds_since(t0), 0.4, 0.15);
}

TEST(TcpToxiproxyCompat, AbortOnTheDownstreamStreamDeliversNoResponse) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", downstream("abort")).status, 200);
  Client c(port, 3000ms);
  c.send_all("request");
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_NE(how, "timeout");
}
