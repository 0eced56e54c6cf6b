// The protocol-redis engine with a real redis-server and redis-cli: pass-through, pipelining kept
// in order with injected errors interleaved (probability within the binomial 99.9 % interval),
// redis_delay on matching commands only, upstream down.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "tests/proxy/harness.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::proxy::test;
using namespace std::chrono_literals;

namespace {

std::string redis_cli(unsigned short port, const std::string& args) {
  const std::string cmd =
      "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + args + " 2>&1";
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

std::string resp(std::initializer_list<std::string> args) {
  // Built with append: GCC 12 has a -Wrestrict false positive on chained operator+.
  std::string out;
  out.append("*").append(std::to_string(args.size())).append("\r\n");
  for (const auto& a : args)
    out.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  return out;
}

// Reads `n` single-line RESP replies (":<int>", "+...", "-...") from a client.
std::vector<std::string> read_lines(Client& c, std::size_t n) {
  std::vector<std::string> lines;
  std::string buf;
  while (lines.size() < n) {
    auto pos = buf.find("\r\n");
    if (pos == std::string::npos) {
      std::string more = c.read_n(1);
      if (more.empty()) break;
      buf += more;
      continue;
    }
    lines.push_back(buf.substr(0, pos));
    buf.erase(0, pos + 2);
  }
  return lines;
}

}  // namespace

TEST(RedisProxy, RedisCliThroughTheProxy) {
  test::RedisServer redis;
  Harness h;
  const auto port = h.create("cache", "127.0.0.1:" + std::to_string(redis.port()), "redis");
  ASSERT_NE(port, 0);
  EXPECT_EQ(redis_cli(port, "SET greeting hello"), "OK");
  EXPECT_EQ(redis_cli(port, "GET greeting"), "hello");
  EXPECT_EQ(redis_cli(port, "LPUSH l a b c"), "3");
  EXPECT_EQ(redis_cli(port, "LRANGE l 0 -1"), "c\nb\na");
  EXPECT_EQ(redis_cli(port, "GET missing"), "");
  ASSERT_EQ(h.call("POST", "/proxies/cache/toxics",
                   {{"type", "redis_error"}, {"attributes", {{"command", "get"}}}})
                .status,
            200);
  EXPECT_EQ(redis_cli(port, "GET greeting"), "ERR injected by faultline");
  EXPECT_EQ(redis_cli(port, "SET x 1"), "OK");  // only GET matches
  EXPECT_GE(h.metric("faultline_proxy_requests_total", "proxy=\"cache\""), 7);
}

TEST(RedisProxy, PipelinedCommandsKeepTheirOrderWithInjectedErrors) {
  test::RedisServer redis;
  Harness h(/*seed=*/77);
  const auto port = h.create("cache", "127.0.0.1:" + std::to_string(redis.port()), "redis");
  ASSERT_EQ(h.call("POST", "/proxies/cache/toxics",
                   {{"type", "redis_error"},
                    {"toxicity", 0.3},
                    {"attributes", {{"message", "ERR chaos"}, {"command", "INCR"}}}})
                .status,
            200);
  constexpr int kN = 1000;
  Client c(port);
  std::string batch;
  for (int i = 0; i < kN; ++i)
    batch += resp({"INCR", "counter"});
  ASSERT_TRUE(c.send_all(batch));  // one write: a deep pipeline
  auto lines = read_lines(c, kN);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kN));
  int errors = 0;
  long expected = 1;
  for (const auto& l : lines) {
    if (l == "-ERR chaos") {
      ++errors;
      continue;
    }
    // Successful INCRs come back in order: 1, 2, 3, ... with the errors in between.
    ASSERT_EQ(l.substr(0, 1), ":");
    ASSERT_EQ(l.substr(1), std::to_string(expected)) << "reply order broken";
    ++expected;
  }
  const double mean = kN * 0.3, sd = std::sqrt(kN * 0.3 * 0.7);
  EXPECT_GE(errors, mean - 3.29 * sd);
  EXPECT_LE(errors, mean + 3.29 * sd);
  EXPECT_EQ(redis_cli(redis.port(), "GET counter"), std::to_string(kN - errors));
  EXPECT_EQ(h.metric("faultline_proxy_faults_injected_total", "kind=\"redis_error\""), errors);
}

TEST(RedisProxy, RedisDelayOnMatchingCommandsOnly) {
  test::RedisServer redis;
  Harness h;
  const auto port = h.create("cache", "127.0.0.1:" + std::to_string(redis.port()), "redis");
  ASSERT_EQ(h.call("POST", "/proxies/cache/toxics",
                   {{"type", "redis_delay"}, {"attributes", {{"delay", 120}, {"command", "GET"}}}})
                .status,
            200);
  Client c(port);
  auto timed = [&](const std::string& cmd) {
    const auto t0 = std::chrono::steady_clock::now();
    c.send_all(cmd);
    auto l = read_lines(c, 1);
    EXPECT_EQ(l.size(), 1u);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> base, delayed;
  for (int i = 0; i < 5; ++i) {
    base.push_back(timed(resp({"SET", "k", "v"})));
    c.send_all(resp({"GET", "k"}));
    const auto t0 = std::chrono::steady_clock::now();
    auto l = read_lines(c, 2);  // "$1" and "v"
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[1], "v");
    delayed.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(base.begin(), base.end());
  std::sort(delayed.begin(), delayed.end());
  EXPECT_LT(base[2], 0.02);
  EXPECT_NEAR(delayed[2] - base[2], 0.120, 0.001 + 0.02 * 0.120);
}

// Issue 24: "server" (default) holds the reply stream, so a pipeline's delays add up; "network"
// delays each reply from its own arrival, as latency on the wire does.
TEST(RedisProxy, RedisDelayModesOnAPipeline) {
  test::RedisServer redis;
  Harness h;
  const auto port = h.create("cache", "127.0.0.1:" + std::to_string(redis.port()), "redis");
  std::string pipeline;
  auto timed = [&](int n) {
    pipeline.clear();
    for (int i = 0; i < n; ++i)
      pipeline += resp({"PING"});
    Client c(port, 15s);
    const auto t0 = std::chrono::steady_clock::now();
    c.send_all(pipeline);
    auto l = read_lines(c, static_cast<std::size_t>(n));
    EXPECT_EQ(l.size(), static_cast<std::size_t>(n));
    for (const auto& line : l)
      EXPECT_EQ(line, "+PONG");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  ASSERT_EQ(h.call("POST", "/proxies/cache/toxics",
                   {{"name", "d"},
                    {"type", "redis_delay"},
                    {"attributes", {{"delay", 100}, {"mode", "network"}}}})
                .status,
            200);
  // 50 PINGs: each reply ~100 ms after its arrival, so all of them within a few hundred ms
  // (server mode would take 5 s).
  const double network = timed(50);
  EXPECT_GE(network, 0.099);
  EXPECT_LT(network, 1.0);
  ASSERT_EQ(h.call("POST", "/proxies/cache/toxics/d",
                   {{"attributes", {{"delay", 100}, {"mode", "server"}}}})
                .status,
            200);
  // 10 PINGs in server mode: one after another, ~1 s.
  const double server = timed(10);
  EXPECT_GE(server, 0.99);
  EXPECT_GT(server, network);
}

TEST(RedisProxy, UpstreamDownClosesPromptly) {
  Harness h;
  const auto port = h.create("cache", "127.0.0.1:" + std::to_string(free_loopback_port()), "redis");
  Client c(port);
  ASSERT_TRUE(c.connected());
  const auto t0 = std::chrono::steady_clock::now();
  std::string how;
  c.read_to_end(&how);
  EXPECT_NE(how, "timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_EQ(h.metric("faultline_proxy_upstream_connect_errors_total", "proxy=\"cache\""), 1);
}
