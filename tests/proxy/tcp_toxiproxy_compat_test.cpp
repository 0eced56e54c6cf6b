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

// Issue #12 item 14: the REST API accepts what Toxiproxy's accepts for its own toxic types, with
// its semantics, and says what it took leniently in "warnings" (which Toxiproxy's clients ignore).
TEST(TcpToxiproxyCompat, TheApiAcceptsWhatToxiproxyAcceptsWithWarnings) {
  EchoServer echo;
  Harness h;
  h.create("p", echo.address());
  struct Case {
    json toxic;
    json shown_attributes;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {downstream("latency", {{"latency", -5}, {"jitter", -2}}),
       {{"latency", 0}, {"jitter", 0}},
       "$.attributes.latency: -5 acts as 0"},
      {downstream("latency", {{"latncy", 100}}),
       {{"latency", 0}, {"jitter", 0}},
       "$.attributes.latncy: unknown attribute, ignored"},
      {downstream("bandwidth", {{"rate", -1}}), {{"rate", 0}}, "$.attributes.rate: -1 acts as 0"},
      {downstream("slow_close", {{"delay", -1}}), {{"delay", 0}}, "-1 acts as 0"},
      {downstream("timeout", {{"timeout", -1}}), {{"timeout", 0}}, "-1 acts as 0"},
      {downstream("reset_peer", {{"timeout", -1}}), {{"timeout", 0}}, "-1 acts as 0"},
      {downstream("limit_data", {{"bytes", -1}}), {{"bytes", 0}}, "-1 acts as 0"},
      {downstream("slicer", {{"average_size", 10}, {"delay", -3}, {"extra", true}}),
       {{"average_size", 10}, {"size_variation", 0}, {"delay", 0}},
       "$.attributes.extra: unknown attribute, ignored"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.toxic.dump());
    const auto r = h.call("POST", "/proxies/p/toxics", c.toxic);
    ASSERT_EQ(r.status, 200u) << r.raw;
    EXPECT_EQ(r.body["attributes"], c.shown_attributes);
    ASSERT_TRUE(r.body.contains("warnings"));
    EXPECT_NE(r.body["warnings"].dump().find(c.warning), std::string::npos) << r.raw;
    ASSERT_EQ(h.call("DELETE", "/proxies/p/toxics/" + r.body["name"].get<std::string>()).status,
              204u);
  }
  // Toxicity outside 0-1: kept as sent, acting as 0 or 1 (Toxiproxy: rand.Float32() < toxicity).
  json t = downstream("latency", {{"latency", 1}});
  t["toxicity"] = 1.5;
  auto r = h.call("POST", "/proxies/p/toxics", t);
  ASSERT_EQ(r.status, 200u) << r.raw;
  EXPECT_DOUBLE_EQ(r.body["toxicity"].get<double>(), 1.5);
  EXPECT_NE(r.raw.find("1.5 acts as 1"), std::string::npos) << r.raw;
  // Updates too.
  r = h.call("POST", "/proxies/p/toxics/latency_downstream",
             json{{"toxicity", -0.5}, {"attributes", {{"latency", -9}}}});
  ASSERT_EQ(r.status, 200u) << r.raw;
  EXPECT_EQ(r.body["attributes"]["latency"], 0);
  EXPECT_EQ(r.body["warnings"].size(), 2u) << r.raw;
  // A clean toxic has no "warnings" member: the answer is Toxiproxy's shape.
  r = h.call("POST", "/proxies/p/toxics", downstream("slow_close", {{"delay", 1}}));
  ASSERT_EQ(r.status, 200u);
  EXPECT_FALSE(r.body.contains("warnings"));

  // What Toxiproxy accepts but then crashes on stays refused; faultline's own types stay strict.
  for (const json& bad :
       {downstream("slicer", {{"average_size", 10}, {"size_variation", -1}}),
        downstream("slicer", {{"size_variation", 0}}), downstream("latency", {{"latency", 10.5}}),
        downstream("latency", {{"latency", "10"}}), downstream("corrupt", {{"bytez", 1}}),
        downstream("abort", {{"x", 1}})}) {
    EXPECT_EQ(h.call("POST", "/proxies/p/toxics", bad).status, 400u) << bad.dump();
  }
}

TEST(TcpToxiproxyCompat, ToxicityAboveOneAlwaysAndBelowZeroNeverApplies) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  json t = downstream("limit_data", {{"bytes", 2}});
  t["toxicity"] = -1;
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", t).status, 200u);
  {
    Client c(port, 2000ms);
    c.send_all("hello");
    c.shutdown_write();
    EXPECT_EQ(c.read_to_end(), "hello");  // never applied
  }
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics/limit_data_downstream", json{{"toxicity", 7}}).status,
            200u);
  Client c(port, 2000ms);
  c.send_all("hello");
  c.shutdown_write();
  EXPECT_EQ(c.read_to_end(), "he");  // always applied
}

TEST(TcpToxiproxyCompat, NoopPassesEverythingAndCountsNoFault) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  const auto r = h.call("POST", "/proxies/p/toxics", json{{"type", "noop"}});
  ASSERT_EQ(r.status, 200u) << r.raw;
  EXPECT_EQ(r.body["name"], "noop_downstream");
  Client c(port, 2000ms);
  const std::string payload(100000, 'x');
  c.send_all(payload);
  c.shutdown_write();
  EXPECT_EQ(c.read_to_end(), payload);
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"noop\",proxy=\"p\""), 0);
}
