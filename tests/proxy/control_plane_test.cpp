// The control plane's hardening (issue 12): atomic listen updates and /populate, bind errors that
// say what failed, proxy names every route can reach, metric series that follow a proxy's life,
// max_active_faults validation, what /reset resets, and attribute numbers shown as given.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

// A loopback port held by a listening socket for the test's lifetime.
struct BusyPort {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  unsigned short port() const { return acceptor.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
};

bool echoes(unsigned short port) {
  Client c(port, 2000ms);
  if (!c.connected() || !c.send_all("ping")) return false;
  return c.read_n(4) == "ping";
}

std::string error_of(const Harness::Reply& r) {
  return r.body.is_object() && r.body.contains("error") ? r.body["error"].get<std::string>()
                                                        : r.raw;
}

}  // namespace

TEST(ProxyControl, FailedListenUpdateKeepsTheOldListener) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("a", echo.address());
  ASSERT_NE(port, 0);
  ASSERT_TRUE(echoes(port));
  BusyPort busy;
  auto r = h.call("POST", "/proxies/a", {{"listen", busy.address()}});
  EXPECT_EQ(r.status, 409u) << r.raw;
  EXPECT_NE(error_of(r).find("cannot listen on " + busy.address() + ": "), std::string::npos)
      << r.raw;
  EXPECT_NE(error_of(r).find("in use"), std::string::npos) << r.raw;
  auto g = h.call("GET", "/proxies/a");
  EXPECT_EQ(g.body["listen"], "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(g.body["enabled"], true);
  EXPECT_TRUE(echoes(port));  // the old listener still serves
  EXPECT_EQ(h.call("POST", "/proxies/a", {{"enabled", false}}).status, 200u);
  EXPECT_EQ(h.call("POST", "/proxies/a", {{"enabled", true}}).status, 200u);
  EXPECT_TRUE(echoes(port));
}

TEST(ProxyControl, UnresolvableListenIsA400NamingTheAddress) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("a", echo.address());
  ASSERT_NE(port, 0);
  auto r = h.call("POST", "/proxies/a", {{"listen", "no-such-host.invalid:1"}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("cannot listen on no-such-host.invalid:1"), std::string::npos)
      << r.raw;
  EXPECT_TRUE(echoes(port));
  BusyPort busy;
  r = h.call("POST", "/proxies",
             {{"name", "b"}, {"listen", busy.address()}, {"upstream", echo.address()}});
  EXPECT_EQ(r.status, 409u) << r.raw;
  EXPECT_NE(error_of(r).find("cannot listen on " + busy.address()), std::string::npos) << r.raw;
  EXPECT_EQ(h.call("GET", "/proxies/b").status, 404u);
}

TEST(ProxyControl, PopulateIsAllOrNothing) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("a", echo.address());
  ASSERT_NE(port, 0);
  BusyPort busy;
  const std::string a_listen = "127.0.0.1:" + std::to_string(port);
  auto r = h.call(
      "POST", "/populate",
      json::array({{{"name", "a"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}},
                   {{"name", "n"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}},
                   {{"name", "x"}, {"listen", busy.address()}, {"upstream", echo.address()}}}));
  EXPECT_EQ(r.status, 409u) << r.raw;
  EXPECT_NE(error_of(r).find("cannot listen on " + busy.address()), std::string::npos) << r.raw;
  auto all = h.call("GET", "/proxies");
  EXPECT_EQ(all.body.size(), 1u) << all.raw;
  EXPECT_EQ(all.body["a"]["listen"], a_listen);
  EXPECT_TRUE(echoes(port));
}

TEST(ProxyControl, NamesOutsideTheSafeCharsetAreRejected) {
  EchoServer echo;
  Harness h;
  for (const char* bad : {"sp ace", "q?x", "\xc3\xbc", "quo\"te", "pct%20", ""}) {
    auto r = h.call("POST", "/proxies",
                    {{"name", bad}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}});
    EXPECT_EQ(r.status, 400u) << bad << ": " << r.raw;
    EXPECT_NE(error_of(r).find("$.name"), std::string::npos) << r.raw;
  }
  EXPECT_EQ(h.call("POST", "/proxies",
                   {{"name", std::string(65, 'a')},
                    {"listen", "127.0.0.1:0"},
                    {"upstream", echo.address()}})
                .status,
            400u);
  // What Toxiproxy's own tests and clients use.
  for (const std::string& good :
       {std::string("mysql_master"), std::string("redis-1"), std::string("test.proxy"),
        std::string("A9"), std::string(64, 'z')}) {
    EXPECT_NE(h.create(good, echo.address()), 0) << good;
    EXPECT_EQ(h.call("GET", "/proxies/" + good).status, 200u) << good;
  }
  ASSERT_NE(h.create("t", echo.address()), 0);
  auto r = h.call("POST", "/proxies/t/toxics", {{"name", "a b"}, {"type", "latency"}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("$.name"), std::string::npos) << r.raw;
  r = h.call("POST", "/populate",
             json::array({{{"name", "u"},
                           {"listen", "127.0.0.1:0"},
                           {"upstream", echo.address()},
                           {"toxics", json::array({{{"name", "x?y"}, {"type", "latency"}}})}}}));
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("$[0].toxics[0].name"), std::string::npos) << r.raw;
  EXPECT_EQ(h.call("GET", "/proxies/u").status, 404u);
}

TEST(ProxyControl, MetricSeriesFollowTheProxysLife) {
  EchoServer echo;
  Harness h;
  ASSERT_NE(h.create("gone", echo.address()), 0);
  // Every fault kind exists at 0 before the first fault.
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "proxy=\"gone\""), 0);
  for (const char* kind : {"latency", "timeout", "http_error", "redis_error"})
    EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total",
                       std::string("kind=\"") + kind + "\",proxy=\"gone\""),
              0)
        << kind;
  ASSERT_EQ(h.call("POST", "/proxies/gone/toxics", {{"type", "latency"}}).status, 200u);
  ASSERT_EQ(h.call("DELETE", "/proxies/gone").status, 204u);
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = h.call("GET", "/metrics").raw;
    if (text.find("proxy=\"gone\"") == std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(text.find("proxy=\"gone\""), std::string::npos) << text;
  auto [rc, out] = test::promtool_check_metrics(text);
  EXPECT_EQ(rc, 0) << out;
  // A proxy re-created under the same name starts from fresh series.
  const auto port = h.create("gone", echo.address());
  ASSERT_NE(port, 0);
  EXPECT_TRUE(echoes(port));
  EXPECT_EQ(h.metric("faultline_proxy_connections_accepted_total", "proxy=\"gone\""), 1);
}

TEST(ProxyControl, MaxActiveFaultsZeroIsRejected) {
  EchoServer echo;
  Harness h;
  auto r = h.call("POST", "/proxies",
                  {{"name", "z"},
                   {"listen", "127.0.0.1:0"},
                   {"upstream", echo.address()},
                   {"max_active_faults", 0}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("$.max_active_faults: must be >= 1"), std::string::npos) << r.raw;
  ASSERT_NE(h.create("z", echo.address(), "tcp", {{"max_active_faults", 1}}), 0);
  EXPECT_EQ(h.call("POST", "/proxies/z", {{"max_active_faults", 0}}).status, 400u);
  EXPECT_EQ(h.call("GET", "/proxies/z").body["max_active_faults"], 1);
}

TEST(ProxyControl, ResetReturnsEveryProxyToAFaultFreeState) {
  EchoServer echo;
  Harness h;
  ASSERT_NE(
      h.create("r", echo.address(), "http", {{"max_active_faults", 3}, {"header_faults", true}}),
      0);
  ASSERT_EQ(h.call("POST", "/proxies/r", {{"enabled", false}}).status, 200u);
  ASSERT_EQ(h.call("POST", "/proxies/r/toxics", {{"type", "http_error"}}).status, 200u);
  ASSERT_EQ(h.call("POST", "/reset").status, 204u);
  auto p = h.call("GET", "/proxies/r").body;
  EXPECT_EQ(p["enabled"], true);
  EXPECT_EQ(p["toxics"], json::array());
  EXPECT_FALSE(p.contains("max_active_faults")) << p.dump();
  EXPECT_FALSE(p.contains("header_faults")) << p.dump();
}

TEST(ProxyControl, AttributeNumbersBeyondInt64AreShownAsGiven) {
  EchoServer echo;
  Harness h;
  ASSERT_NE(h.create("l", echo.address()), 0);
  auto r = h.call("POST", "/proxies/l/toxics",
                  {{"type", "latency"}, {"attributes", {{"latency", 9223372036854775808ULL}}}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("9223372036854775808"), std::string::npos) << r.raw;
  EXPECT_EQ(error_of(r).find("-9223372036854775808"), std::string::npos) << r.raw;
  r = h.call("POST", "/proxies/l", {{"max_active_faults", 9223372036854775808ULL}});
  EXPECT_EQ(r.status, 400u) << r.raw;
  EXPECT_NE(error_of(r).find("got 9223372036854775808"), std::string::npos) << r.raw;
}
