// WebSocket through an http proxy (docs/proxy.md "WebSocket"), as peers that are not Beast see
// it: Debian's python3-websockets as the upstream (tests/proxy/ws/echo_server.py) and as the
// client (tests/proxy/ws/ws_client.py, which prints one line per step). Plus the unit tests of
// is_websocket_upgrade.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http_wire.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/proxy/ws/ws_peers.hpp"
#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace faultline::proxy::ws_test;
using namespace std::chrono_literals;

namespace {

http::request_header<> upgrade_request() {
  http::request_header<> r;
  r.method(http::verb::get);
  r.target("/chat");
  r.version(11);
  r.set(http::field::host, "example");
  r.set(http::field::connection, "Upgrade");
  r.set(http::field::upgrade, "websocket");
  r.set(http::field::sec_websocket_version, "13");
  r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  return r;
}

}  // namespace

TEST(WebSocketUpgrade, RecognisedWithTokenListsAnyCase) {
  auto r = upgrade_request();
  EXPECT_TRUE(proxy::is_websocket_upgrade(r));
  r.set(http::field::connection, "keep-alive, UPGRADE");
  r.set(http::field::upgrade, "h2c, WebSocket");
  EXPECT_TRUE(proxy::is_websocket_upgrade(r));
  r.set(http::field::connection, "keep-alive");
  r.insert(http::field::connection, "upgrade");  // a second Connection line
  EXPECT_TRUE(proxy::is_websocket_upgrade(r));
}

TEST(WebSocketUpgrade, OtherRequestsAreNot) {
  auto r = upgrade_request();
  r.version(10);
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "HTTP/1.0";
  r = upgrade_request();
  r.set(http::field::upgrade, "h2c");
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "h2c";
  r = upgrade_request();
  r.method(http::verb::post);
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "POST";
  r = upgrade_request();
  r.set(http::field::connection, "keep-alive");
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "no upgrade token";
  r = upgrade_request();
  r.set(http::field::sec_websocket_version, "8");
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "version 8";
  r = upgrade_request();
  r.erase(http::field::sec_websocket_key);
  EXPECT_FALSE(proxy::is_websocket_upgrade(r)) << "no key";
}

TEST(WebSocketUpgrade, StripUpgradeKeepsOtherConnectionTokens) {
  auto r = upgrade_request();
  r.set(http::field::upgrade, "h2c");
  r.set(http::field::connection, "keep-alive, Upgrade, HTTP2-Settings");
  proxy::strip_upgrade(r);
  EXPECT_EQ(r.find(http::field::upgrade), r.end());
  EXPECT_EQ(r[http::field::connection], "keep-alive, HTTP2-Settings");
}

// The bug of issue #24: the 101 was relayed, then the client's frames read as HTTP (400, closed).
TEST(WebSocketProxy, EchoThroughHttpProxy) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  ASSERT_FALSE(up.address().empty());
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto run = run_client(ws_url(port), json::array({{{"send", "hello"}},
                                                         {{"recv", true}},
                                                         {{"send_binary", 300000}},
                                                         {{"recv", true}},
                                                         {{"send", "push 3"}},
                                                         {{"recv_many", 3}},
                                                         {{"close", {1000, "done"}}}}));
  EXPECT_TRUE(run.has("recv text hello")) << run.all;
  EXPECT_TRUE(run.has("recv binary 300000")) << run.all;
  EXPECT_TRUE(run.has("recv text push-3")) << run.all;
  // The close reply is the proxy's (per hop): the code echoed, without the reason.
  EXPECT_FALSE(run.starting("closed rcvd=1000 ").empty()) << run.all;
  EXPECT_TRUE(up.saw("closed 1000 done")) << up.output();
  EXPECT_EQ(upgrades(h, "ws", "relayed"), 1);
  EXPECT_EQ(messages(h, "ws", "upstream"), 3);
  EXPECT_EQ(messages(h, "ws", "downstream"), 5);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"ws\""), 1);
}

// TLS on both hops: the proxy terminates the client's TLS and originates its own to a wss
// upstream; frames are relayed over both.
TEST(WebSocketProxy, TlsToTlsEcho) {
  REQUIRE_WEBSOCKETS();
  faultline::test::TempDir dir;
  const auto pki = faultline::test::make_test_pki(dir.path());
  WsUpstream up({"--tls", pki.server_cert.string(), pki.server_key.string()});
  ASSERT_FALSE(up.address().empty());
  Harness h;
  const json tls{{"cert", pki.server_cert.string()}, {"key", pki.server_key.string()}};
  const json upstream_tls{{"ca", pki.ca_cert.string()}, {"sni", "localhost"}};
  const auto port =
      h.create("ws", up.address(), "http", {{"tls", tls}, {"upstream_tls", upstream_tls}});
  ASSERT_NE(port, 0);
  const auto run = run_client("wss://localhost:" + std::to_string(port) + "/chat",
                              json::array({{{"send", "over tls"}},
                                           {{"recv", true}},
                                           {{"send_binary", 100000}},
                                           {{"recv", true}},
                                           {{"close", {1000, "done"}}}}),
                              {"--cacert", pki.ca_cert.string()});
  EXPECT_TRUE(run.has("recv text over tls")) << run.all;
  EXPECT_TRUE(run.has("recv binary 100000")) << run.all;
  EXPECT_FALSE(run.starting("closed rcvd=1000 ").empty()) << run.all;
  EXPECT_TRUE(up.saw("closed 1000 done")) << up.output();
  EXPECT_EQ(upgrades(h, "ws", "relayed"), 1);
}

// End-to-end headers pass both ways: the subprotocol the upstream chose, its cookie, the
// client's own headers.
TEST(WebSocketProxy, SubprotocolAndCookiesPass) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto run = run_client(ws_url(port), json::array({{{"send", "x"}}, {{"recv", true}}}),
                              {"--subprotocol", "chat", "--header", "X-Trace: 7"});
  EXPECT_TRUE(run.has("open chat")) << run.all;
  EXPECT_TRUE(run.has("header set-cookie: session=abc")) << run.all;
  EXPECT_TRUE(run.has("recv text x")) << run.all;
  EXPECT_TRUE(up.saw("header x-trace: 7")) << up.output();
  EXPECT_TRUE(up.saw("header sec-websocket-protocol: chat")) << up.output();
  EXPECT_EQ(up.output().find("sec-websocket-extensions"), std::string::npos) << up.output();
}

TEST(WebSocketProxy, UpstreamRefusal403Relayed) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto run = run_client(ws_url(port, "/refuse"), json::array());
  EXPECT_TRUE(run.has("status 403")) << run.all;
  EXPECT_TRUE(run.has("header x-why: nope")) << run.all;
  EXPECT_EQ(upgrades(h, "ws", "refused"), 1);
  EXPECT_EQ(upgrades(h, "ws", "relayed"), 0);
}

TEST(WebSocketProxy, CloseCodeRelayedBothWays) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  // client → upstream: the upstream gets the code and the reason (the client's close reply is
  // the proxy's: the code echoed, as RFC 6455 5.5.1 suggests, not the reason).
  const auto a = run_client(ws_url(port), json::array({{{"close", {4000, "bye"}}}}));
  EXPECT_TRUE(a.has("closed rcvd=4000 reason= sent=4000")) << a.all;
  EXPECT_TRUE(up.saw("closed 4000 bye")) << up.output();
  // upstream → client
  const auto b = run_client(
      ws_url(port), json::array({{{"send", "close 4001 because"}}, {{"wait_close", true}}}));
  EXPECT_TRUE(b.has("closed rcvd=4001 reason=because sent=4001")) << b.all;
  EXPECT_TRUE(up.saw("closed 4001 ")) << up.output();
  EXPECT_EQ(
      h.metric("faultline_proxy_connections_closed_total", "proxy=\"ws\",reason=\"client_closed\""),
      1);
  EXPECT_EQ(h.metric("faultline_proxy_connections_closed_total",
                     "proxy=\"ws\",reason=\"upstream_closed\""),
            1);
}

// A ping is answered per hop and relayed: the upstream sees the client's ping payload.
TEST(WebSocketProxy, PingRelayed) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto run = run_client(
      ws_url(port), json::array({{{"ping", "abc"}}, {{"send", "after"}}, {{"recv", true}}}));
  EXPECT_FALSE(run.starting("pong ").empty()) << run.all;
  EXPECT_TRUE(run.has("recv text after")) << run.all;
  EXPECT_TRUE(up.saw("ping < PING 'abc'")) << up.output();
}

// Request faults apply to the upgrade request: http_error 503 is a failed connect.
TEST(WebSocketProxy, Http503OnUpgrade) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics",
                   json{{"type", "http_error"}, {"attributes", {{"status", 503}}}})
                .status,
            200);
  const auto run = run_client(ws_url(port), json::array());
  EXPECT_TRUE(run.has("status 503")) << run.all;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(up.output().find("open /chat"), std::string::npos) << up.output();
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"http_error\",proxy=\"ws\""),
            1);
}

// No frame either way for --idle-timeout: both connections are closed.
TEST(WebSocketProxy, IdleTimeoutClosesBoth) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h(42, 2, 1500ms);
  const auto port = h.create("ws", up.address(), "http");
  const auto t0 = std::chrono::steady_clock::now();
  const auto run = run_client(
      ws_url(port), json::array({{{"send", "hi"}}, {{"recv", true}}, {{"wait_close", true}}}));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(run.has("recv text hi")) << run.all;
  EXPECT_FALSE(run.starting("closed rcvd=none").empty()) << run.all;  // TCP closed, no frame
  EXPECT_GE(secs, 1.4);
  EXPECT_LT(secs, 10.0);
  EXPECT_TRUE(up.saw("closed 1006")) << up.output();
  EXPECT_EQ(
      h.metric("faultline_proxy_connections_closed_total", "proxy=\"ws\",reason=\"idle_timeout\""),
      1);
}

// --- the ws_* behaviors, as the client sees them ---

// ws_close after 2 messages to the client: the client gets 1012 "restart" as from the server,
// the upstream 1001.
TEST(WebSocketBehaviors, WsCloseAfterNMessagesCodeAndReason) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/ws/toxics",
             ws_toxic("ws_close", {{"after_messages", 2}, {"code", 1012}, {"reason", "restart"}}))
          .status,
      200);
  const auto run = run_client(ws_url(port), json::array({{{"send", "a"}},
                                                         {{"recv", true}},
                                                         {{"send", "b"}},
                                                         {{"recv", true}},
                                                         {{"recv", true}}}));
  EXPECT_TRUE(run.has("recv text a")) << run.all;
  EXPECT_TRUE(run.has("recv text b")) << run.all;
  EXPECT_FALSE(run.starting("closed rcvd=1012 reason=restart").empty()) << run.all;
  EXPECT_TRUE(up.saw("closed 1001")) << up.output();
  EXPECT_EQ(injected(h, "ws_close"), 1);
  EXPECT_EQ(h.metric("faultline_proxy_connections_closed_total", "proxy=\"ws\",reason=\"fault\""),
            1);
}

// ws_close after 300 ms, upstream side: the upstream gets 4000 "bye", the client 1001.
TEST(WebSocketBehaviors, WsCloseAfterMs) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/ws/toxics",
             ws_toxic("ws_close", {{"after", 300}, {"code", 4000}, {"reason", "bye"}}, "upstream"))
          .status,
      200);
  const auto t0 = std::chrono::steady_clock::now();
  const auto run = run_client(ws_url(port), json::array({{{"wait_close", true}}}));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(run.starting("closed rcvd=1001").empty()) << run.all;
  EXPECT_TRUE(up.saw("closed 4000 bye")) << up.output();
  EXPECT_GE(secs, 0.3);
  EXPECT_LT(secs, 5.0);
}

// ws_drop_message acts on its stream only, and on its kind of message.
TEST(WebSocketBehaviors, WsDropMessagePerDirection) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  // upstream, text: the text never reaches the upstream (no echo); the binary does.
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics",
                   ws_toxic("ws_drop_message", {{"message", "text"}}, "upstream"))
                .status,
            200);
  const auto a = run_client(
      ws_url(port),
      json::array({{{"send", "dropped-on-the-way"}}, {{"send_binary", 10}}, {{"recv", true}}}));
  EXPECT_TRUE(a.has("recv binary 10")) << a.all;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(up.output().find("dropped-on-the-way"), std::string::npos);
  EXPECT_EQ(injected(h, "ws_drop_message"), 1);
  ASSERT_EQ(h.call("DELETE", "/proxies/ws/toxics/ws_drop_message_upstream").status, 204);
  // downstream, binary: the binary echo is dropped on its way back, the text passes.
  ASSERT_EQ(
      h.call("POST", "/proxies/ws/toxics", ws_toxic("ws_drop_message", {{"message", "binary"}}))
          .status,
      200);
  const auto b = run_client(ws_url(port), json::array({{{"send_binary", 10}},
                                                       {{"send", "kept"}},
                                                       {{"recv", true}},
                                                       {{"send", "again"}},
                                                       {{"recv", true}}}));
  EXPECT_EQ(b.lines.size() > 0 ? b.starting("recv ") : "", "recv text kept") << b.all;
  EXPECT_TRUE(b.has("recv text again")) << b.all;
  EXPECT_EQ(b.starting("recv binary"), "") << b.all;
  EXPECT_EQ(injected(h, "ws_drop_message"), 2);
  EXPECT_EQ(messages(h, "ws", "upstream"), 2 + 3);
  EXPECT_EQ(messages(h, "ws", "downstream"), 1 + 3);
}

// ws_delay_message 200 ms on the replies: the round trip grows by ~200 ms over a baseline
// measured on the same machine (medians; a busy 2-core box).
TEST(WebSocketBehaviors, WsDelayMessageAddsToRtt) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  const auto base = run_client(ws_url(port), json::array({{{"rtt", "x"}, {"n", 9}}}));
  ASSERT_EQ(base.numbers("rtt ").size(), 9u) << base.all;
  ASSERT_EQ(
      h.call("POST", "/proxies/ws/toxics", ws_toxic("ws_delay_message", {{"delay", 200}})).status,
      200);
  const auto slow = run_client(ws_url(port), json::array({{{"rtt", "x"}, {"n", 5}}}));
  ASSERT_EQ(slow.numbers("rtt ").size(), 5u) << slow.all;
  const double added = median_of(slow.numbers("rtt ")) - median_of(base.numbers("rtt "));
  EXPECT_GE(added, 190.0) << slow.all;
  EXPECT_LE(added, 320.0) << slow.all;
  EXPECT_EQ(injected(h, "ws_delay_message"), 5);
  EXPECT_GE(h.metric("faultline_proxy_injected_delay_seconds_total", "proxy=\"ws\""), 0.99);
}

// ws_corrupt: the text reply's first byte becomes 0xFF; python3-websockets fails the connection
// with 1007 (invalid frame payload data), which the proxy relays to the upstream.
TEST(WebSocketBehaviors, WsCorruptClientFailsWith1007) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(h.call("POST", "/proxies/ws/toxics", ws_toxic("ws_corrupt", json::object())).status,
            200);
  const auto run = run_client(
      ws_url(port),
      json::array({{{"send_binary", 4}}, {{"recv", true}}, {{"send", "hello"}}, {{"recv", true}}}));
  EXPECT_TRUE(run.has("recv binary 4")) << run.all;  // binary untouched
  EXPECT_FALSE(run.starting("closed").empty()) << run.all;
  EXPECT_NE(run.starting("closed").find("sent=1007"), std::string::npos) << run.all;
  EXPECT_TRUE(up.saw("closed 1007")) << up.output();
  EXPECT_EQ(injected(h, "ws_corrupt"), 1);
}

// A relay waiting on a timer (ws_close's `after` of an hour) still ends when the proxy closes
// the connection from outside (disabled): the connection is gone, counted proxy_disabled.
TEST(WebSocketBehaviors, DisablingTheProxyEndsARelayWaitingOnATimer) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  ASSERT_EQ(
      h.call("POST", "/proxies/ws/toxics", ws_toxic("ws_close", {{"after", 3'600'000}})).status,
      200);
  ClientRun run;
  std::thread client([&] {
    run = run_client(ws_url(port),
                     json::array({{{"send", "a"}}, {{"recv", true}}, {{"wait_close", true}}}));
  });
  ASSERT_TRUE(up.saw("open /chat"));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(h.call("POST", "/proxies/ws", {{"enabled", false}}).status, 200);
  client.join();
  EXPECT_FALSE(run.starting("closed").empty()) << run.all;
  double closed = 0;
  for (int i = 0; i < 50 && closed < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    closed = h.metric("faultline_proxy_connections_closed_total",
                      "proxy=\"ws\",reason=\"proxy_disabled\"");
  }
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(h.metric("faultline_proxy_connections_active", "proxy=\"ws\""), 0);
}

// Bytes after the upgrade request, before its 101 (RFC 6455 4.1 forbids them): 400, not relayed.
TEST(WebSocketProxy, FramesBeforeThe101Refused) {
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  Client c(port);
  ASSERT_TRUE(
      c.send_all("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                 "\x81\x80\x01\x02\x03\x04"));
  const std::string answer = c.read_to_end();
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_EQ(upgrades(h, "ws", "failed"), 1);
  EXPECT_EQ(up.output().find("open /chat"), std::string::npos) << up.output();
}

namespace {

// The peak resident set of this process (the proxy runs in it), in bytes.
std::uint64_t peak_rss() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  std::uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmHWM: %lu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

}  // namespace

// A 32 MiB message in 512 fragments of 64 KiB goes through (and its 32 MiB echo back) without
// the proxy holding it: the process's peak RSS grows far less than the message.
TEST(WebSocketProxy, LargeFragmentedMessageNotBuffered) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RSS bounds do not hold under sanitizers";
#endif
  REQUIRE_WEBSOCKETS();
  WsUpstream up;
  Harness h;
  const auto port = h.create("ws", up.address(), "http");
  // Warm up the relay's buffers, then measure.
  const auto warm =
      run_client(ws_url(port), json::array({{{"send_binary", 100000}}, {{"recv", true}}}));
  ASSERT_TRUE(warm.has("recv binary 100000")) << warm.all;
  const std::uint64_t before = peak_rss();
  const auto run =
      run_client(ws_url(port), json::array({{{"send_fragments", {512, 65536}}}, {{"recv", true}}}));
  EXPECT_TRUE(run.has("recv binary 33554432")) << run.all;
  const std::uint64_t growth = peak_rss() - before;
  RecordProperty("peak_rss_growth_kib", static_cast<int>(growth >> 10));
  EXPECT_LT(growth, 12u << 20) << "peak RSS grew by " << (growth >> 20) << " MiB";
  EXPECT_EQ(messages(h, "ws", "upstream"), 2);
}
