// The protocol-tcp engine over real loopback sockets: byte exactness through toxics, delay
// accuracy, toxicity per connection, every Toxiproxy toxic's effect, upstream failures, many
// concurrent connections without fd leaks, disable/enable on the same port.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "common/metrics.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

// The issue asks for >= 100 MB each way; under AddressSanitizer that takes minutes on 2 cores, so
// sanitizer builds stream 8 MB (same code paths, the toxics cut it into the same kinds of pieces).
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kStreamBytes = 8ull << 20;
#else
constexpr std::size_t kStreamBytes = 100ull << 20;
#endif

// Deterministic pseudo-random bytes: block i of the stream is a function of (seed, i).
void fill_block(std::uint64_t seed, std::size_t index, char* out, std::size_t n) {
  Rng rng(seed ^ (index * 0x9e3779b97f4a7c15ULL));
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t v = rng.next();
    std::memcpy(out + i, &v, std::min<std::size_t>(8, n - i));
  }
}

json toxic(const std::string& type, const std::string& stream, json attrs, double toxicity = 1.0,
           const std::string& name = "") {
  json t{{"type", type}, {"stream", stream}, {"attributes", attrs}, {"toxicity", toxicity}};
  if (!name.empty()) t["name"] = name;
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(TcpProxy, PassThroughEchoAndMetrics) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  {
    Client c(port);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all("hello"));
    EXPECT_EQ(c.read_n(5), "hello");
    c.shutdown_write();
    std::string how;
    EXPECT_EQ(c.read_to_end(&how), "");
    EXPECT_EQ(how, "eof");  // the half-close went through the proxy and came back
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.metric("faultline_proxy_connections_accepted_total", "proxy=\"p\""), 1);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"p\""), 1);
  EXPECT_EQ(h.metric("faultline_proxy_bytes_total", "direction=\"upstream\""), 5);
  EXPECT_EQ(h.metric("faultline_proxy_bytes_total", "direction=\"downstream\""), 5);
  EXPECT_EQ(h.metric("faultline_proxy_connections_active", "proxy=\"p\""), 0);
  EXPECT_EQ(h.metric("faultline_proxy_connections_closed_total", "reason=\"client_closed\""), 1);
  auto text = h.call("GET", "/metrics").raw;
  auto [rc, out] = faultline::test::promtool_check_metrics(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST(TcpProxy, LargeStreamsAreByteExactThroughLatencySlicerBandwidth) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  for (const char* stream : {"upstream", "downstream"}) {
    const std::string s(stream);
    ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                     toxic("latency", s, {{"latency", 5}, {"jitter", 3}}, 1.0, "lat_" + s))
                  .status,
              200);
    ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                     toxic("slicer", s,
                           {{"average_size", 16384}, {"size_variation", 8000}, {"delay", 10}}, 1.0,
                           "slice_" + s))
                  .status,
              200);
    ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                     toxic("bandwidth", s, {{"rate", 2000000}}, 1.0, "bw_" + s))
                  .status,
              200);
  }
  Client c(port, 20000ms);
  ASSERT_TRUE(c.connected());
  constexpr std::size_t kBlock = 256 * 1024;
  constexpr std::uint64_t kSeed = 7;
  std::thread writer([&] {
    std::string block(kBlock, '\0');
    for (std::size_t i = 0; i * kBlock < kStreamBytes; ++i) {
      fill_block(kSeed, i, block.data(), kBlock);
      if (!c.send_all(block)) return;
    }
    c.shutdown_write();
  });
  std::string expected(kBlock, '\0');
  std::size_t received = 0;
  bool identical = true;
  for (std::size_t i = 0; i * kBlock < kStreamBytes; ++i) {
    fill_block(kSeed, i, expected.data(), kBlock);
    const std::string got = c.read_n(kBlock);
    received += got.size();
    if (got != expected) {
      identical = false;
      break;
    }
  }
  std::string how;
  const std::string tail = c.read_to_end(&how);
  writer.join();
  EXPECT_TRUE(identical) << "stream differs in the block after byte " << received;
  EXPECT_EQ(received, kStreamBytes);
  EXPECT_TRUE(tail.empty());
  EXPECT_EQ(how, "eof");
}

TEST(TcpProxy, AddedLatencyIsWithinOneMillisecondPlusTwoPercent) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  auto rtt = [&](Client& c) {
    std::vector<double> samples;
    for (int i = 0; i < 7; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_TRUE(c.send_all("ping"));
      EXPECT_EQ(c.read_n(4), "ping");
      samples.push_back(seconds_since(t0));
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
  };
  Client base_client(port);
  const double base = rtt(base_client);
  for (int latency_ms : {50, 200}) {
    auto r = h.call("POST", "/proxies/p/toxics",
                    toxic("latency", "downstream", {{"latency", latency_ms}}, 1.0, "lat"));
    ASSERT_EQ(r.status, 200);
    Client c(port);
    const double added = rtt(c) - base;
    const double want = latency_ms / 1000.0;
    EXPECT_NEAR(added, want, 0.001 + 0.02 * want) << "latency " << latency_ms << " ms";
    ASSERT_EQ(h.call("DELETE", "/proxies/p/toxics/lat").status, 204);
  }
  // The toxic applies to connections that were open before it was added, too.
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                   toxic("latency", "upstream", {{"latency", 100}}, 1.0, "lat"))
                .status,
            200);
  const double added = rtt(base_client) - base;
  EXPECT_NEAR(added, 0.1, 0.001 + 0.002);
  EXPECT_GT(h.metric("faultline_proxy_injected_delay_seconds_total", "proxy=\"p\""), 0.6);
}

TEST(TcpProxy, ToxicityIsDrawnPerConnectionWithinTheBinomialInterval) {
  EchoServer echo;
  Harness h(/*seed=*/1234);
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  // limit_data with 0 bytes cuts an affected connection on its first byte.
  ASSERT_EQ(
      h.call("POST", "/proxies/p/toxics", toxic("limit_data", "upstream", {{"bytes", 0}}, 0.3))
          .status,
      200);
  constexpr int kN = 600;
  constexpr double kP = 0.3;
  int affected = 0;
  for (int i = 0; i < kN; ++i) {
    Client c(port);
    ASSERT_TRUE(c.connected());
    c.send_all("x");
    if (c.read_n(1) != "x") ++affected;
  }
  // Binomial 99.9 % interval (normal approximation, z = 3.29; n*p*(1-p) = 126).
  const double mean = kN * kP, sd = std::sqrt(kN * kP * (1 - kP));
  EXPECT_GE(affected, mean - 3.29 * sd);
  EXPECT_LE(affected, mean + 3.29 * sd);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"limit_data\""), affected);
  EXPECT_EQ(h.metric("faultline_proxy_requests_total", "proxy=\"p\""), kN);
}

TEST(TcpProxy, LimitDataDeliversExactlyTheLimitThenCloses) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", toxic("limit_data", "downstream", {{"bytes", 10}}))
                .status,
            200);
  Client c(port);
  c.send_all("0123456789abcdef");
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "0123456789");
  EXPECT_EQ(how, "eof");
}

TEST(TcpProxy, TimeoutDropsDataAndClosesAfterTheTimeout) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(
      h.call("POST", "/proxies/p/toxics", toxic("timeout", "upstream", {{"timeout", 300}})).status,
      200);
  Client c(port);
  const auto t0 = std::chrono::steady_clock::now();
  c.send_all("dropped");
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  const double took = seconds_since(t0);
  EXPECT_NE(how, "timeout");
  EXPECT_NEAR(took, 0.3, 0.1);
}

TEST(TcpProxy, TimeoutZeroIsABlackHoleUntilRemoved) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(
      h.call("POST", "/proxies/p/toxics", toxic("timeout", "upstream", {{"timeout", 0}})).status,
      200);
  Client c(port, 500ms);
  c.send_all("lost");
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_EQ(how, "timeout");  // still open, nothing came back
  ASSERT_EQ(h.call("DELETE", "/proxies/p/toxics/timeout_upstream").status, 204);
  c.send_all("back");
  EXPECT_EQ(c.read_n(4), "back");
}

TEST(TcpProxy, ResetPeerSendsRst) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", toxic("reset_peer", "upstream", {{"timeout", 100}}))
                .status,
            200);
  Client c(port);
  const auto t0 = std::chrono::steady_clock::now();
  c.send_all("x");
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_EQ(how, "reset");
  EXPECT_NEAR(seconds_since(t0), 0.1, 0.08);
}

TEST(TcpProxy, SlowCloseDelaysTheClose) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics", toxic("slow_close", "downstream", {{"delay", 300}}))
                .status,
            200);
  Client c(port);
  c.send_all("abc");
  EXPECT_EQ(c.read_n(3), "abc");
  const auto t0 = std::chrono::steady_clock::now();
  c.shutdown_write();
  std::string how;
  c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  EXPECT_NEAR(seconds_since(t0), 0.3, 0.05);
}

TEST(TcpProxy, BandwidthLimitsThroughput) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_EQ(
      h.call("POST", "/proxies/p/toxics", toxic("bandwidth", "downstream", {{"rate", 200}})).status,
      200);
  Client c(port);
  const std::string data(100000, 'b');  // 100 KB at 200 KB/s: 0.5 s
  const auto t0 = std::chrono::steady_clock::now();
  std::thread w([&] { c.send_all(data); });
  EXPECT_EQ(c.read_n(data.size()).size(), data.size());
  w.join();
  EXPECT_NEAR(seconds_since(t0), 0.5, 0.06);
}

TEST(TcpProxy, UpstreamDownClosesClientPromptlyAndProxySurvives) {
  EchoServer echo;
  Harness h;
  unsigned short dead_port;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  const auto port = h.create("dead", "127.0.0.1:" + std::to_string(dead_port));
  ASSERT_NE(port, 0);
  for (int i = 0; i < 5; ++i) {
    Client c(port);
    ASSERT_TRUE(c.connected());
    const auto t0 = std::chrono::steady_clock::now();
    std::string how;
    c.read_to_end(&how);
    EXPECT_NE(how, "timeout");
    EXPECT_LT(seconds_since(t0), 0.5);
  }
  EXPECT_EQ(h.metric("faultline_proxy_upstream_connect_errors_total", "proxy=\"dead\""), 5);
  // The proxy still works for everyone else.
  const auto good = h.create("good", echo.address());
  Client c(good);
  c.send_all("ok");
  EXPECT_EQ(c.read_n(2), "ok");
}

TEST(TcpProxy, ThousandsOfConcurrentConnectionsAndNoFdLeak) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  // Warm-up: each worker loop creates its epoll/timerfd descriptors on first use.
  for (int i = 0; i < 8; ++i) {
    Client c(port);
    c.send_all("w");
    ASSERT_EQ(c.read_n(1), "w");
  }
  std::this_thread::sleep_for(100ms);
  const double fds_before = process_open_fds();
  // Each proxied connection costs 4 descriptors in this process (client, both proxy sides, echo):
  // raise the soft limit to the hard one, and scale down if even that is too small.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  const int kConns =
      static_cast<int>(std::min<rlim_t>(2000, rl.rlim_cur > 400 ? (rl.rlim_cur - 200) / 4 : 50));
  {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kConns; ++i) {
      clients.push_back(std::make_unique<Client>(port));
      ASSERT_TRUE(clients.back()->connected()) << i;
    }
    for (auto& c : clients)
      ASSERT_TRUE(c->send_all("hi"));
    int ok = 0;
    for (auto& c : clients)
      ok += c->read_n(2) == "hi";
    EXPECT_EQ(ok, kConns);
    EXPECT_EQ(h.metric("faultline_proxy_connections_active", "proxy=\"p\""), kConns);
  }
  // Every descriptor (client, proxy both sides, echo side) is released.
  double fds_after = 0;
  for (int i = 0; i < 100; ++i) {
    fds_after = process_open_fds();
    if (fds_after <= fds_before + 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LE(fds_after, fds_before + 2);
  EXPECT_EQ(h.metric("faultline_proxy_connections_active", "proxy=\"p\""), 0);
}

TEST(TcpProxy, DisableClosesConnectionsAndReenableReusesThePortAtOnce) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  Client c(port);
  c.send_all("a");
  EXPECT_EQ(c.read_n(1), "a");
  auto r = h.call("POST", "/proxies/p", {{"enabled", false}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["enabled"], false);
  std::string how;
  c.read_to_end(&how);
  EXPECT_EQ(how, "eof");
  EXPECT_FALSE(Client(port).connected());
  r = h.call("POST", "/proxies/p", {{"enabled", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  Client d(port);
  ASSERT_TRUE(d.connected());
  d.send_all("b");
  EXPECT_EQ(d.read_n(1), "b");
}

TEST(TcpProxy, VaurienBehaviorsOnTcp) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  auto with = [&](const std::string& type, json attrs, const std::string& stream) {
    for (const auto& t : h.call("GET", "/proxies/p/toxics").body)
      h.call("DELETE", "/proxies/p/toxics/" + t["name"].get<std::string>());
    return h.call("POST", "/proxies/p/toxics", toxic(type, stream, attrs)).status;
  };
  const std::string data(1000, 'a');
  {
    ASSERT_EQ(with("corrupt", {{"bytes", 3}}, "downstream"), 200);
    Client c(port);
    c.send_all(data);
    const std::string got = c.read_n(data.size());
    EXPECT_EQ(got.size(), data.size());  // replace mode keeps the length...
    EXPECT_NE(got, data);                // ...but the bytes differ
  }
  {
    ASSERT_EQ(with("corrupt", {{"bytes", 2}, {"mode", "inject"}}, "downstream"), 200);
    Client c(port, 300ms);
    c.send_all("xyz");
    EXPECT_EQ(c.read_to_end().size(), 5u);
  }
  {
    ASSERT_EQ(with("blackout", json::object(), "downstream"), 200);
    Client c(port);
    std::string how;
    EXPECT_EQ(c.read_to_end(&how), "");
    EXPECT_EQ(how, "eof");
  }
  {
    ASSERT_EQ(with("abort", json::object(), "upstream"), 200);
    Client c(port);
    c.send_all("first");
    std::string how;
    c.read_to_end(&how);
    EXPECT_NE(how, "timeout");  // forwarded, then cut
  }
  {
    ASSERT_EQ(with("hang", json::object(), "upstream"), 200);
    Client c(port, 300ms);
    c.send_all("anyone?");
    std::string how;
    EXPECT_EQ(c.read_to_end(&how), "");
    EXPECT_EQ(how, "timeout");  // read, never answered, still open
  }
}

namespace {

// Pipes this process holds (the splice path's pipes are the only ones the proxy creates).
int open_pipes() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind("pipe:", 0) == 0) ++n;
  }
  return n;
}

// Streams `bytes` of seeded data through the echo proxy on `c` and checks they come back intact.
bool echo_stream(Client& c, std::size_t bytes, std::uint64_t seed) {
  constexpr std::size_t kBlock = 256 * 1024;
  std::thread writer([&] {
    std::string block(kBlock, '\0');
    for (std::size_t i = 0; i * kBlock < bytes; ++i) {
      fill_block(seed, i, block.data(), kBlock);
      if (!c.send_all(block)) return;
    }
  });
  std::string expected(kBlock, '\0');
  bool identical = true;
  for (std::size_t i = 0; i * kBlock < bytes; ++i) {
    fill_block(seed, i, expected.data(), kBlock);
    if (c.read_n(kBlock) != expected) {
      identical = false;
      break;
    }
  }
  writer.join();
  return identical;
}

}  // namespace

// Toxic-free bulk data goes through splice(2); a toxic added to the live connection applies to
// the next chunk (the user-space path), and removing it lets splicing resume; bytes stay exact.
TEST(TcpProxy, SplicedBulkSwitchesToToxicsOnALiveConnectionAndBack) {
  EchoServer echo;
  Harness h;
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  const int pipes_before = open_pipes();
  Client c(port, 10000ms);
  ASSERT_TRUE(c.connected());
  constexpr std::size_t kBulk = kStreamBytes / 4;  // 25 MiB (2 MiB under AddressSanitizer)
  EXPECT_TRUE(echo_stream(c, kBulk, 1));
  EXPECT_EQ(open_pipes(), pipes_before + 4);  // one pipe per direction: both were spliced

  // A latency toxic added now delays the next message on this same connection.
  ASSERT_EQ(h.call("POST", "/proxies/p/toxics",
                   toxic("latency", "downstream", {{"latency", 200}}, 1.0, "lat"))
                .status,
            200);
  std::this_thread::sleep_for(50ms);  // the change is published to the connection's loop
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send_all("ping"));
  EXPECT_EQ(c.read_n(4), "ping");
  EXPECT_GE(seconds_since(t0), 0.2);
  // Bulk data under the toxic (user-space path) is still exact.
  EXPECT_TRUE(echo_stream(c, 4ull << 20, 2));

  ASSERT_EQ(h.call("DELETE", "/proxies/p/toxics/lat").status, 204);
  std::this_thread::sleep_for(50ms);
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send_all("pong"));
  EXPECT_EQ(c.read_n(4), "pong");
  EXPECT_LT(seconds_since(t0), 0.1);
  EXPECT_TRUE(echo_stream(c, kBulk, 3));  // splicing again
  c.shutdown_write();
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_EQ(how, "eof");
  const double total = 2.0 * kBulk + (4ull << 20) + 8;
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(h.metric("faultline_proxy_bytes_total", "direction=\"upstream\""), total);
  EXPECT_EQ(h.metric("faultline_proxy_bytes_total", "direction=\"downstream\""), total);
  EXPECT_EQ(open_pipes(), pipes_before);  // closed with the connection
}

// --no-splice (ProxyEnv::splice = false): bulk data takes the user-space path, byte-exact, and no
// pipe is ever created.
TEST(TcpProxy, NoSpliceCopiesBulkWithoutPipes) {
  EchoServer echo;
  Harness h(42, 2, std::chrono::milliseconds(60000), false);
  const auto port = h.create("p", echo.address());
  ASSERT_NE(port, 0);
  const int pipes_before = open_pipes();
  Client c(port, 10000ms);
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(echo_stream(c, kStreamBytes / 4, 4));
  EXPECT_EQ(open_pipes(), pipes_before);
  c.shutdown_write();
  std::string how;
  EXPECT_EQ(c.read_to_end(&how), "");
  EXPECT_EQ(how, "eof");
}
