// The tcp stream toxics on WebSocket connections upgraded through an http proxy (docs/proxy.md
// "WebSocket"): they act on the upgraded bytes, per connection and direction, below the
// WebSocket framing, and leave the proxy's ordinary HTTP requests alone. Peers: python3-websockets
// (tests/proxy/ws/). Timing bounds are relative to a baseline measured on the same machine.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/proxy/harness.hpp"
#include "tests/proxy/ws/ws_peers.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace faultline::proxy::ws_test;
using namespace std::chrono_literals;

namespace {

double closed_by(Harness& h, const std::string& reason) {
  return h.metric("faultline_proxy_connections_closed_total",
                  "proxy=\"ws\",reason=\"" + reason + "\"");
}

}  // namespace

// latency 150 ms on the replies adds ~150 ms to each round trip; bandwidth 500 KB/s makes the
// echo of a 500,000-byte message take ~1 s more than without it.
TEST(WebSocketStreamToxics, LatencyAndBandwidthOnUpgradedStream) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  ASSERT_FALSE(up.address().empty());
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto base =
      run_client(ws_url(port), json::array({{{"rtt", "x"}, {"n", 9}}, {{"rtt_binary", 500000}}}));
  auto base_rtts = base.numbers("rtt ");
  ASSERT_EQ(base_rtts.size(), 10u) << base.all;
  const double base_binary = base_rtts.back();
  base_rtts.pop_back();

  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("latency", {{"latency", 150}})).status,
            200);
  const auto slow = run_client(ws_url(port), json::array({{{"rtt", "x"}, {"n", 5}}}));
  ASSERT_EQ(slow.numbers("rtt ").size(), 5u) << slow.all;
  const double added = median_of(slow.numbers("rtt ")) - median_of(base_rtts);
  EXPECT_GE(added, 140.0) << slow.all;
  EXPECT_LE(added, 400.0) << slow.all;
  // Once for the upgrade request (delayed as any request), once for the upgraded stream.
  EXPECT_EQ(injected(h, "latency"), 2);
  ASSERT_EQ(h.call("DELETE", "/proxies/ws/toxics/latency_downstream").status, 204);

  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("bandwidth", {{"rate", 500}})).status,
            200);
  const auto narrow = run_client(ws_url(port), json::array({{{"rtt_binary", 500000}}}));
  ASSERT_EQ(narrow.numbers("rtt ").size(), 1u) << narrow.all;
  EXPECT_FALSE(narrow.has("mismatch")) << narrow.all;
  const double slower = narrow.numbers("rtt ")[0] - base_binary;
  EXPECT_GE(slower, 750.0) << narrow.all << " baseline " << base_binary;
  EXPECT_LE(slower, 10000.0) << narrow.all;
  EXPECT_EQ(injected(h, "bandwidth"), 1);
}

// limit_data 1000 on the replies: the first echo passes, the connection is cut inside the
// second (no close frame: TCP closed on both sides), counted as a fault.
TEST(WebSocketStreamToxics, LimitDataCutsUpgradedStream) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("limit_data", {{"bytes", 1000}})).status,
            200);
  const auto run = run_client(
      ws_url(port),
      json::array(
          {{{"send_binary", 300}}, {{"recv", true}}, {{"send_binary", 2000}}, {{"recv", true}}}));
  EXPECT_TRUE(run.has("recv binary 300")) << run.all;
  EXPECT_FALSE(run.has("recv binary 2000")) << run.all;
  EXPECT_FALSE(run.starting("closed rcvd=none").empty()) << run.all;
  EXPECT_TRUE(up.saw("closed 1006")) << up.output();
  EXPECT_EQ(injected(h, "limit_data"), 1);
  double cut = 0;
  for (int i = 0; i < 50 && cut < 1; ++i) {
    cut = closed_by(h, "fault");
    if (cut < 1) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(cut, 1);
}

// On an http proxy the stream toxics act on upgraded connections only: a plain request through
// the same proxy is not slowed by bandwidth 10 KB/s and slicer (1-byte slices, 50 ms apart) on
// both streams, while a WebSocket echo through it is.
TEST(WebSocketStreamToxics, PlainHttpRequestsUnaffected) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  for (const char* stream : {"upstream", "downstream"}) {
    ASSERT_EQ(
        h.call("POST", "/proxies/ws/toxics", ws_toxic("bandwidth", {{"rate", 10}}, stream)).status,
        200);
    ASSERT_EQ(h.call("POST", "/proxies/ws/toxics",
                     ws_toxic("slicer", {{"average_size", 1}, {"delay", 50000}}, stream))
                  .status,
              200);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Client c(port, 20s);
  ASSERT_TRUE(c.send_all("GET /plain/200000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string answer = c.read_to_end();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer.substr(0, 200);
  EXPECT_GE(answer.size(), 200000u);
  // 200 KB at 10 KB/s would take 20 s; 1-byte slices 50 ms apart, hours.
  EXPECT_LT(secs, 3.0);

  ASSERT_EQ(h.call("DELETE", "/proxies/ws/toxics/slicer_upstream").status, 204);
  ASSERT_EQ(h.call("DELETE", "/proxies/ws/toxics/slicer_downstream").status, 204);
  const auto ws = run_client(ws_url(port), json::array({{{"rtt_binary", 10000}}}));
  ASSERT_EQ(ws.numbers("rtt ").size(), 1u) << ws.all;
  // 10,000 bytes each way at 10 KB/s: about 1 s each way.
  EXPECT_GE(ws.numbers("rtt ")[0], 1500.0) << ws.all;
}

// With latency on both streams the close handshake still completes both ways: the close frames
// wait in the queue like any bytes, and the teardown waits for them.
TEST(WebSocketStreamToxics, CloseHandshakeThroughLatency) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  for (const char* stream : {"upstream", "downstream"})
    ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("latency", {{"latency", 100}}, stream))
                  .status,
              200);
  const auto a = run_client(
      ws_url(port), json::array({{{"send", "x"}}, {{"recv", true}}, {{"close", {4000, "bye"}}}}));
  EXPECT_TRUE(a.has("recv text x")) << a.all;
  EXPECT_TRUE(a.has("closed rcvd=4000 reason= sent=4000")) << a.all;
  EXPECT_TRUE(up.saw("closed 4000 bye")) << up.output();
  const auto b = run_client(
      ws_url(port), json::array({{{"send", "close 4001 because"}}, {{"wait_close", true}}}));
  EXPECT_TRUE(b.has("closed rcvd=4001 reason=because sent=4001")) << b.all;
  EXPECT_TRUE(up.saw("closed 4001 ")) << up.output();
  EXPECT_EQ(closed_by(h, "fault"), 0);
}

// timeout 300 on the replies: they are dropped, and the connection is closed 300 ms after the
// upgrade (a fault), the client seeing no close frame.
TEST(WebSocketStreamToxics, TimeoutDropsAndCloses) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("timeout", {{"timeout", 300}})).status,
            200);
  const auto t0 = std::chrono::steady_clock::now();
  const auto run = run_client(ws_url(port), json::array({{{"send", "x"}}, {{"recv", true}}}));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(run.has("recv text x")) << run.all;
  EXPECT_FALSE(run.starting("closed rcvd=none").empty()) << run.all;
  EXPECT_LT(secs, 8.0);
  double cut = 0;
  for (int i = 0; i < 50 && cut < 1; ++i) {
    cut = closed_by(h, "fault");
    if (cut < 1) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(cut, 1);
}

// A staged writer waiting an hour (slicer: 1-byte slices an hour apart on the replies) still
// ends when the proxy closes the connection from outside (disabled): the connection is gone,
// counted proxy_disabled.
TEST(WebSocketStreamToxics, DisablingTheProxyEndsAStagedWriter) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics",
                   ws_toxic("slicer", {{"average_size", 1}, {"delay", 3'600'000'000}}))
                .status,
            200);
  ClientRun run;
  std::thread client([&] {
    run = run_client(ws_url(port), json::array({{{"send", "a"}}, {{"wait_close", true}}}));
  });
  ASSERT_TRUE(up.saw("open /chat"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(h.call("POST", "/proxies/ws", {{"enabled", false}}).status, 200);
  client.join();
  EXPECT_FALSE(run.starting("closed").empty()) << run.all;
  double closed = 0;
  for (int i = 0; i < 50 && closed < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = closed_by(h, "proxy_disabled");
  }
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(h.metric("faultline_proxy_connections_active", "proxy=\"ws\""), 0);
}
