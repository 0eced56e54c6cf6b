// Numeric toxic attributes at the edges of their ranges (issue 22 #3, docs/proxy.md#attribute-
// ranges): durations near 2^63 ms used to overflow and act at once, and a huge `corrupt` byte
// count pinned a worker. Toxiproxy's types clamp what is above their range (with a warning),
// faultline's own types refuse it; nothing acts at once, and no chunk costs more than its size.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "tests/proxy/harness.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kHuge = std::numeric_limits<std::int64_t>::max();

json toxic(const std::string& type, const json& attributes,
           const std::string& stream = "upstream") {
  return {{"type", type}, {"stream", stream}, {"attributes", attributes}};
}

bool has_warning(const json& body, const std::string& part) {
  if (!body.contains("warnings")) return false;
  for (const auto& w : body["warnings"])
    if (w.get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(AttributeBounds, AHugeLatencyIsClampedAndDoesNotActAtOnce) {
  Harness h;
  EchoServer echo;
  for (const json& attrs : {json{{"latency", kHuge}}, json{{"latency", 0}, {"jitter", kHuge}},
                            json{{"latency", kHuge}, {"jitter", kHuge}}}) {
    const auto port = h.create("lat", echo.address());
    ASSERT_NE(port, 0);
    auto r = h.call("POST", "/proxies/lat/toxics", toxic("latency", attrs));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_TRUE(has_warning(r.body, "$.attributes.")) << r.raw;
    for (const auto& [k, v] : r.body["attributes"].items())
      EXPECT_LT(v.get<std::int64_t>(), kHuge) << k << " shown unclamped: " << r.raw;
    Client c(port, 800ms);
    ASSERT_TRUE(c.send_all("x"));
    EXPECT_EQ(c.read_n(1), "") << "latency " << attrs.dump() << " acted at once";
    EXPECT_EQ(h.call("DELETE", "/proxies/lat").status, 204);
  }
}

TEST(AttributeBounds, AHugeTimeoutDoesNotCloseAtOnce) {
  Harness h;
  EchoServer echo;
  const auto port = h.create("to", echo.address());
  auto r = h.call("POST", "/proxies/to/toxics", toxic("timeout", {{"timeout", kHuge}}));
  ASSERT_EQ(r.status, 200) << r.raw;
  Client c(port, 800ms);
  ASSERT_TRUE(c.send_all("x"));
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_EQ(how, "timeout") << "the timeout toxic closed the connection at once";
}

TEST(AttributeBounds, FaultlineTypesRefuseValuesAboveTheirRange) {
  Harness h;
  EchoServer echo;
  ASSERT_NE(h.create("t", echo.address()), 0);
  ASSERT_NE(h.create("w", echo.address(), "http"), 0);
  struct Case {
    std::string proxy;
    json toxic;
    std::string path;
  };
  const std::vector<Case> cases = {
      {"t", toxic("corrupt", {{"bytes", kHuge}}), "$.attributes.bytes"},
      {"w", toxic("http_delay", {{"delay", kHuge}}), "$.attributes.delay"},
      {"t", toxic("tls_handshake_delay", {{"delay", kHuge}}), "$.attributes.delay"},
      {"t",
       toxic("transient",
             {{"count", 1},
              {"behavior", {{"type", "latency"}, {"attributes", {{"latency", kHuge}}}}}}),
       "$.attributes.behavior.attributes.latency"},
  };
  for (const auto& c : cases) {
    auto r = h.call("POST", "/proxies/" + c.proxy + "/toxics", c.toxic);
    EXPECT_EQ(r.status, 400) << c.toxic.dump() << " -> " << r.raw;
    EXPECT_NE(r.raw.find(c.path), std::string::npos) << r.raw;
  }
}

// corrupt's work per chunk is bounded by the chunk, whatever `bytes` says: with one worker loop,
// a proxy corrupting a bulk transfer at the largest `bytes` leaves another proxy forwarding.
TEST(AttributeBounds, ALargeCorruptCountDoesNotPinTheWorker) {
  Harness h(42, /*workers=*/1);
  EchoServer echo;
  const auto bad = h.create("bad", echo.address());
  const auto good = h.create("good", echo.address());
  ASSERT_NE(bad, 0);
  ASSERT_NE(good, 0);
  for (const std::string mode : {"inject", "replace"}) {
    auto r = h.call("POST", "/proxies/bad/toxics",
                    {{"name", "c"},
                     {"type", "corrupt"},
                     {"stream", "upstream"},
                     {"attributes", {{"mode", mode}, {"bytes", 1 << 20}}}});
    ASSERT_EQ(r.status, 200) << r.raw;
    Client flood(bad, 2000ms);
    ASSERT_TRUE(flood.send_all(std::string(64 << 10, 'a')));
    std::this_thread::sleep_for(100ms);
    const auto started = std::chrono::steady_clock::now();
    Client c(good, 5000ms);
    ASSERT_TRUE(c.send_all("ping"));
    EXPECT_EQ(c.read_n(4), "ping") << mode;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << mode << ": the worker was pinned";
    EXPECT_EQ(h.call("DELETE", "/proxies/bad/toxics/c").status, 204);
  }
}
