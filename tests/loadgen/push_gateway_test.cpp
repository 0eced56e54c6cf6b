// `faultline load --push-gateway`: the group URL and flag validation, and end to end against
// Debian's real `prometheus-pushgateway` scraped by a real `prometheus` (both started here on
// loopback): two shards' series arrive with their `shard` label while the run goes on, the groups
// are deleted at the end (gone from the gateway, stale in Prometheus), --push-keep leaves the
// final totals there, and an unreachable or silent gateway never holds up the load.
#include "loadgen/push_gateway.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "common/http_client.hpp"
#include "common/subprocess.hpp"
#include "runner/system/prometheus_server.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;
using faultline::loadgen::push_group_url;
using faultline::loadgen::PushGatewaySettings;

namespace {

// Fails under CI (which installs both), skips elsewhere.
#define REQUIRE_PROGRAM(name)                                                         \
  do {                                                                                \
    if (!find_program(name)) {                                                        \
      if (std::getenv("CI")) FAIL() << name << " is not installed (CI set)";          \
      GTEST_SKIP() << name << " is not installed (scripts/install-deps installs it)"; \
    }                                                                                 \
  } while (0)

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Debian's prometheus-pushgateway on a free loopback port, in-memory only.
class Pushgateway {
 public:
  explicit Pushgateway(const TempDir& dir) : port_(free_loopback_port()) {
    process_ = Subprocess(
        {"prometheus-pushgateway", fmt::format("--web.listen-address=127.0.0.1:{}", port_)},
        SubprocessOptions{dir.file("pushgateway.log"), dir.file("pushgateway.log"), {}, ""});
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto [ec, res] = http_fetch_sync(address(), {"GET", "/-/ready", "", {}, 1000ms});
      if (!ec && res.status == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "pushgateway not ready: " << slurp(dir.file("pushgateway.log"));
  }
  HostPort address() const { return HostPort{"127.0.0.1", port_}; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  std::string metrics() const {
    auto [ec, res] = http_fetch_sync(address(), {"GET", "/metrics", "", {}, 2000ms});
    return ec ? "" : res.body;
  }

 private:
  unsigned short port_;
  Subprocess process_;
};

// The value of the one sample of `name{labels}` in an exposition (labels in the order given), or
// nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
  const auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return std::nullopt;
  return std::strtod(text.c_str() + pos + series.size() + 2, nullptr);
}

}  // namespace

TEST(PushGroupUrl, BuildsJobAndShardGroupingKey) {
  std::string error;
  PushGatewaySettings s;
  s.url = "http://127.0.0.1:9091";
  EXPECT_EQ(*push_group_url(s, 3, error),
            "http://127.0.0.1:9091/metrics/job/faultline_load/shard/3");
  s.url = "https://pgw.example:8443/prefix/";
  s.job = "checkout-load.v2";
  EXPECT_EQ(*push_group_url(s, 0, error),
            "https://pgw.example:8443/prefix/metrics/job/checkout-load.v2/shard/0");
  s.url = "http://pushgateway";
  EXPECT_EQ(*push_group_url(s, 1, error),
            "http://pushgateway/metrics/job/checkout-load.v2/shard/1");
}

TEST(PushGroupUrl, BadUrlOrJobNamesTheFlag) {
  for (const char* url : {"", "pushgateway:9091", "ftp://x:1", "http://", "http://h:1/?a=b"}) {
    std::string error;
    PushGatewaySettings s;
    s.url = url;
    EXPECT_FALSE(push_group_url(s, 0, error)) << url;
    EXPECT_NE(error.find("--push-gateway"), std::string::npos) << url << ": " << error;
  }
  for (const char* job : {"", "a/b", "a b", "x?y", "é"}) {
    std::string error;
    PushGatewaySettings s;
    s.url = "http://127.0.0.1:9091";
    s.job = job;
    EXPECT_FALSE(push_group_url(s, 0, error)) << job;
    EXPECT_NE(error.find("--push-job"), std::string::npos) << job << ": " << error;
  }
}

TEST(PushGatewayCli, PushOptionsNeedTheGateway) {
  TempDir dir;
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--push-keep"}, {"--push-job", "x"}, {"--push-gateway", "nohost"}}) {
    std::vector<std::string> args{"load", "http://127.0.0.1:1/", "--duration", "1s", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto [code, out] = run_faultline(args, dir.file("err.txt"));
    EXPECT_EQ(code, 2) << extra[0];
    EXPECT_NE(slurp(dir.file("err.txt")).find("--push-"), std::string::npos) << extra[0];
  }
}

TEST(PushGateway, ShardsArriveInPrometheusAndTheirGroupsAreDeleted) {
  REQUIRE_PROGRAM("prometheus-pushgateway");
  REQUIRE_PROGRAM("prometheus");
  TestServer server;
  TempDir dir;
  Pushgateway gateway(dir);
  runner::PrometheusServer prometheus(
      dir.file("prom"), {{"pushgateway", gateway.address().to_string(), "/metrics", {}, ""}},
      dir.file("prometheus.log"), [] { return false; });
  ASSERT_TRUE(prometheus.wait_scraped_after(now_unix(), 30s)) << slurp(dir.file("prometheus.log"));

  std::vector<Subprocess> shards;
  for (int i = 0; i < 2; ++i)
    shards.emplace_back(
        std::vector<std::string>{faultline_bin(), "load", server.url(), "--rate", "40",
                                 "--duration", "14s", "--shard", fmt::format("{}/2", i), "-q",
                                 "--threads", "1", "--push-gateway", gateway.url(), "--out",
                                 dir.file(fmt::format("r{}.json", i))},
        dir.file(fmt::format("err{}.txt", i)));
  // Live: both shards' series, told apart by the grouping key, reach Prometheus and count up
  // while the run is on. (The target's own job label wins, so the pushed job is exported_job.)
  const std::string sending =
      "count(faultline_load_sent_requests_total{exported_job=\"faultline_load\","
      "shard=~\"0|1\"} > 0)";
  std::optional<double> shards_sending;
  // 12 s: two ASan start-ups side by side, a push (every second) and a scrape (every second).
  const auto deadline = std::chrono::steady_clock::now() + 12s;
  while (std::chrono::steady_clock::now() < deadline) {
    shards_sending = prometheus.query(sending).value;
    if (shards_sending && *shards_sending == 2) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(shards_sending.value_or(0), 2) << prometheus.query(sending).error;
  EXPECT_TRUE(shards[0].running() && shards[1].running()) << "seen only after the run";
  ASSERT_TRUE(gateway.metrics().find("shard=\"1\"") != std::string::npos);

  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(shards[static_cast<std::size_t>(i)].wait(30s), 0)
        << slurp(dir.file(fmt::format("err{}.txt", i)));
  for (int i = 0; i < 2; ++i) {
    const json r = read_json(dir.file(fmt::format("r{}.json", i)));
    EXPECT_EQ(r["push_gateway"]["failures"], 0) << r["push_gateway"];
    EXPECT_GE(r["push_gateway"]["pushes"].get<int>(), 8) << r["push_gateway"];
    EXPECT_TRUE(r["push_gateway"]["deleted"].get<bool>());
  }
  // Deleted: gone from the gateway, and so stale (no data) in Prometheus after its next scrape.
  EXPECT_EQ(gateway.metrics().find("faultline_load_"), std::string::npos);
  std::optional<double> after;
  const auto gone_by = std::chrono::steady_clock::now() + 8s;
  do {
    std::this_thread::sleep_for(500ms);
    after = prometheus.query("count(faultline_load_sent_requests_total)").value;
  } while (after && std::chrono::steady_clock::now() < gone_by);
  EXPECT_FALSE(after) << "the pushed series are still current in Prometheus";
}

TEST(PushGateway, KeepLeavesTheFinalTotals) {
  REQUIRE_PROGRAM("prometheus-pushgateway");
  TestServer server;
  TempDir dir;
  Pushgateway gateway(dir);
  auto [code, out] =
      run_faultline({"load", server.url(), "--rate", "50", "--duration", "1500ms", "-q",
                     "--threads", "1", "--shard", "1/3", "--push-gateway", gateway.url(),
                     "--push-job", "kept", "--push-keep", "--out", dir.file("r.json")},
                    dir.file("err.txt"));
  ASSERT_EQ(code, 0) << slurp(dir.file("err.txt"));
  const json r = read_json(dir.file("r.json"));
  EXPECT_FALSE(r["push_gateway"]["deleted"].get<bool>());
  // The last push came after the last tick: the gateway holds the run's exact totals.
  const std::string text = gateway.metrics();
  const auto ok = sample(text,
                         "faultline_load_requests_total{instance=\"\",job=\"kept\","
                         "outcome=\"ok\",shard=\"1\"}");
  ASSERT_TRUE(ok) << text;
  EXPECT_EQ(*ok, r["requests"]["ok"].get<double>());
  EXPECT_GT(*ok, 0);
}

TEST(PushGateway, UnreachableOrSilentGatewayNeverHoldsUpTheLoad) {
  TestServer server;
  TempDir dir;
  // Nothing listens on the first; the second accepts connections (kernel backlog) and never
  // answers.
  const unsigned short closed = free_loopback_port();
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  for (const unsigned short port : {closed, ntohs(addr.sin_port)}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto [code, out] = run_faultline(
        {"load", server.url(), "--rate", "20", "--duration", "1s", "-q", "--push-gateway",
         fmt::format("http://127.0.0.1:{}", port), "--out", dir.file("r.json")},
        dir.file("err.txt"));
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(code, 0) << slurp(dir.file("err.txt"));
    std::printf("gateway on port %u (%s): the 1 s run took %.2f s\n", port,
                port == closed ? "closed" : "silent", took);
    const json r = read_json(dir.file("r.json"));
    EXPECT_EQ(r["requests"]["ok"], 20);
    EXPECT_GT(r["push_gateway"]["failures"].get<int>(), 0);
    EXPECT_FALSE(r["push_gateway"]["deleted"].get<bool>());
    // 1 s of load; then at most a push in progress, the final push and the delete, 2 s each
    // (~7 s at worst; the rest is margin for a loaded machine).
    EXPECT_LT(took, 12.0) << port;
    EXPECT_NE(slurp(dir.file("err.txt")).find("push gateway"), std::string::npos);
  }
  ::close(silent);
}
