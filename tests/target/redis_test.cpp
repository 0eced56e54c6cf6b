// The Redis store against real redis-server shards started by the test, and the failure the two
// modes exist for: one shard SIGSTOPped. Resilient mode keeps answering for the healthy shard
// (and fails fast for the stopped one once its breaker opens); naive mode stalls for both.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "target/solver/solver.hpp"
#include "tests/support/support.hpp"
#include "tests/target/harness.hpp"

using namespace faultline;
using namespace faultline::target;
using namespace faultline::target::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

StoreSpec two_shards(const faultline::test::RedisServer& a, const faultline::test::RedisServer& b) {
  StoreSpec spec;
  spec.kind = StoreSpec::Kind::redis;
  spec.redis = {{"127.0.0.1", a.port()}, {"127.0.0.1", b.port()}};
  return spec;
}

// `n` distinct contents whose ids fall on `shard` of 2.
std::vector<std::string> contents_on(std::size_t shard, int n, const std::string& tag) {
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
    std::string c = tag + " " + std::to_string(i);
    if (shard_for(md5_hex(c), 2) == shard) out.push_back(c);
  }
  return out;
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Keeps a shard stopped for the scope; always resumes it (a stopped redis would hang teardown).
struct Stopped {
  faultline::test::RedisServer& r;
  explicit Stopped(faultline::test::RedisServer& rs) : r(rs) { r.stop_signal(); }
  ~Stopped() { r.continue_signal(); }
};

}  // namespace

TEST(RedisStore, PutGetAcrossShards) {
  faultline::test::RedisServer a, b;
  HarnessOptions o;
  o.store = two_shards(a, b);
  Harness h(o);
  for (std::size_t shard = 0; shard < 2; ++shard) {
    for (const auto& c : contents_on(shard, 3, "shard")) {
      auto res = h.fetch("POST", "/pastes", c);
      ASSERT_EQ(res.status, 201u) << res.body;
      EXPECT_EQ(h.fetch("POST", "/pastes", c).status, 200u);
      auto got = h.fetch("GET", "/p/" + md5_hex(c));
      EXPECT_EQ(got.status, 200u);
      EXPECT_EQ(got.body, c);
    }
  }
  EXPECT_EQ(h.fetch("GET", "/p/" + std::string(32, '1')).status, 404u);
  EXPECT_EQ(h.fetch("GET", "/readyz").status, 200u);
  const std::string m = h.metrics->serialize();
  EXPECT_EQ(metric_value(m, R"(faultline_target_store_operations_total{op="put",shard="0"})"), 6.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_store_operations_total{op="put",shard="1"})"), 6.0);
}

TEST(RedisStore, StaleIdleConnectionsAreReplacedNotCountedAsFailures) {
  faultline::test::RedisServer a;
  HarnessOptions o;
  o.store.kind = StoreSpec::Kind::redis;
  o.store.redis = {{"127.0.0.1", a.port()}};
  o.io_threads = 1;
  o.store_options.breaker_failures = 1;  // a single counted failure would open the breaker
  Harness h(o);
  ASSERT_EQ(h.fetch("POST", "/pastes", "stale").status, 201u);
  // The server drops every client connection, including the idle one in our pool.
  faultline::Subprocess kill(
      {"redis-cli", "-p", std::to_string(a.port()), "CLIENT", "KILL", "TYPE", "normal"});
  ASSERT_EQ(kill.wait(std::chrono::milliseconds(5000)), 0);
  auto got = h.fetch("GET", "/p/" + md5_hex("stale"));
  EXPECT_EQ(got.status, 200u) << got.body;
  EXPECT_EQ(metric_value(h.metrics->serialize(), R"(faultline_target_breaker_state{shard="0"})"),
            0.0);
}

TEST(RedisStore, BinaryAndLargeValues) {
  faultline::test::RedisServer a;
  HarnessOptions o;
  o.store.kind = StoreSpec::Kind::redis;
  o.store.redis = {{"127.0.0.1", a.port()}};
  Harness h(o);
  std::string big(300000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 31 + 7);
  ASSERT_EQ(h.fetch("POST", "/pastes", big).status, 201u);
  auto got = h.fetch("GET", "/p/" + md5_hex(big));
  EXPECT_EQ(got.status, 200u);
  EXPECT_TRUE(got.body == big);
}

TEST(RedisStore, DeadShardIsUnavailableAndNotReady) {
  HarnessOptions o;
  o.store.kind = StoreSpec::Kind::redis;
  o.store.redis = {{"127.0.0.1", free_loopback_port()}};  // nothing listens there
  o.store_options.breaker_failures = 2;
  Harness h(o);
  auto res = h.fetch("GET", "/p/" + std::string(32, '2'));
  EXPECT_EQ(res.status, 503u) << res.body;
  EXPECT_TRUE(res.header("Retry-After").has_value());
  h.fetch("GET", "/p/" + std::string(32, '2'));
  auto open = h.fetch("GET", "/p/" + std::string(32, '2'));
  EXPECT_NE(open.body.find("circuit breaker open"), std::string::npos) << open.body;
  EXPECT_EQ(h.fetch("GET", "/readyz").status, 503u);
  const std::string m = h.metrics->serialize();
  EXPECT_EQ(metric_value(m, R"(faultline_target_breaker_state{shard="0"})"), 1.0);
  EXPECT_GE(*metric_value(m, R"(faultline_target_store_errors_total{kind="connect",shard="0"})"),
            2.0);
}

TEST(RedisStore, ResilientModeIsolatesAStoppedShard) {
  faultline::test::RedisServer a, b;
  HarnessOptions o;
  o.store = two_shards(a, b);
  o.store_options.redis_timeout = 300ms;
  o.store_options.breaker_failures = 3;
  o.store_options.breaker_cooldown = 5s;
  o.store_options.shard_max_inflight = 8;
  Harness h(o);
  const auto healthy = contents_on(0, 5, "healthy");
  const auto hung = contents_on(1, 5, "hung");
  for (const auto& c : healthy)
    ASSERT_EQ(h.fetch("POST", "/pastes", c).status, 201u);
  for (const auto& c : hung)
    ASSERT_EQ(h.fetch("POST", "/pastes", c).status, 201u);

  Stopped stopped(b);
  // Load on the stopped shard: 16 concurrent GETs.
  std::vector<std::future<std::pair<unsigned, double>>> hung_calls;
  for (int i = 0; i < 16; ++i) {
    hung_calls.push_back(std::async(std::launch::async, [&h, &hung, i] {
      const auto t0 = Clock::now();
      auto r =
          h.fetch("GET", "/p/" + md5_hex(hung[static_cast<std::size_t>(i) % hung.size()]), {}, 5s);
      return std::make_pair(r.status, seconds(Clock::now() - t0));
    }));
  }
  std::this_thread::sleep_for(50ms);
  // Meanwhile the healthy shard answers fast, every time.
  double worst = 0;
  for (int round = 0; round < 4; ++round) {
    for (const auto& c : healthy) {
      const auto t0 = Clock::now();
      auto r = h.fetch("GET", "/p/" + md5_hex(c), {}, 2s);
      worst = std::max(worst, seconds(Clock::now() - t0));
      EXPECT_EQ(r.status, 200u);
      EXPECT_EQ(r.body, c);
    }
  }
  // A request that waited on the stopped shard would take its 300 ms timeout.
  EXPECT_LT(worst, 0.25) << "a healthy shard was delayed by the stopped one";
  // The stopped shard's requests end in 503 (timeout, bulkhead or breaker), none after ~timeout.
  for (auto& f : hung_calls) {
    auto [status, took] = f.get();
    EXPECT_EQ(status, 503u);
    EXPECT_LT(took, 1.0);
  }
  // With the breaker open the stopped shard fails fast.
  const auto t0 = Clock::now();
  auto fast = h.fetch("GET", "/p/" + md5_hex(hung[0]), {}, 2s);
  EXPECT_EQ(fast.status, 503u);
  EXPECT_LT(seconds(Clock::now() - t0), 0.1);
  EXPECT_NE(fast.body.find("circuit breaker open"), std::string::npos) << fast.body;
  const int retry = std::stoi(fast.header("Retry-After").value_or("0"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 5);
  const std::string m = h.metrics->serialize();
  EXPECT_EQ(metric_value(m, R"(faultline_target_breaker_state{shard="1"})"), 1.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_breaker_state{shard="0"})"), 0.0);
  EXPECT_EQ(metric_value(m, R"(faultline_target_shard_requests_total{outcome="ok",shard="0"})"),
            25.0);  // 5 puts + 20 gets
  EXPECT_GE(*metric_value(m, R"(faultline_target_store_errors_total{kind="timeout",shard="1"})"),
            3.0);
}

TEST(RedisStore, BreakerClosesAfterTheShardRecovers) {
  faultline::test::RedisServer a;
  HarnessOptions o;
  o.store.kind = StoreSpec::Kind::redis;
  o.store.redis = {{"127.0.0.1", a.port()}};
  o.store_options.redis_timeout = 200ms;
  o.store_options.breaker_failures = 1;
  o.store_options.breaker_cooldown = 300ms;
  Harness h(o);
  ASSERT_EQ(h.fetch("POST", "/pastes", "x").status, 201u);
  {
    Stopped stopped(a);
    EXPECT_EQ(h.fetch("GET", "/p/" + md5_hex("x")).status, 503u);
    EXPECT_EQ(metric_value(h.metrics->serialize(), R"(faultline_target_breaker_state{shard="0"})"),
              1.0);
  }
  std::this_thread::sleep_for(400ms);  // cooldown over: the next request is the half-open probe
  auto r = h.fetch("GET", "/p/" + md5_hex("x"));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(metric_value(h.metrics->serialize(), R"(faultline_target_breaker_state{shard="0"})"),
            0.0);
}

TEST(RedisStore, NaiveModeStallsEveryShard) {
  faultline::test::RedisServer a, b;
  HarnessOptions o;
  o.store = two_shards(a, b);
  o.service.mode = Mode::naive;
  o.service.naive_workers = 4;
  Harness h(o);
  const auto healthy = contents_on(0, 2, "healthy");
  const auto hung = contents_on(1, 2, "hung");
  for (const auto& c : healthy)
    ASSERT_EQ(h.fetch("POST", "/pastes", c).status, 201u);
  for (const auto& c : hung)
    ASSERT_EQ(h.fetch("POST", "/pastes", c).status, 201u);
  // Before the fault the healthy shard is fast in naive mode too, and /readyz (also run on the
  // worker pool) sees both shards.
  EXPECT_EQ(h.fetch("GET", "/readyz").status, 200u);
  {
    const auto t0 = Clock::now();
    EXPECT_EQ(h.fetch("GET", "/p/" + md5_hex(healthy[0])).status, 200u);
    EXPECT_LT(seconds(Clock::now() - t0), 0.2);
  }

  std::vector<std::future<unsigned>> hung_calls;
  double healthy_took = 0;
  unsigned healthy_status = 0;
  error_code healthy_ec;
  {
    Stopped stopped(b);
    for (int i = 0; i < 6; ++i)  // more than the 4 workers: all of them get stuck
      hung_calls.push_back(std::async(std::launch::async, [&h, &hung] {
        return h.fetch("GET", "/p/" + md5_hex(hung[0]), {}, 10s).status;
      }));
    std::this_thread::sleep_for(200ms);
    const auto t0 = Clock::now();
    healthy_status = h.fetch("GET", "/p/" + md5_hex(healthy[0]), {}, 1s, &healthy_ec).status;
    healthy_took = seconds(Clock::now() - t0);
  }  // SIGCONT: the workers come back and everything drains
  EXPECT_TRUE(healthy_ec) << "the healthy shard answered " << healthy_status
                          << " while every worker was stuck";
  EXPECT_GE(healthy_took, 0.9);
  for (auto& f : hung_calls)
    EXPECT_EQ(f.get(), 200u);
  // The stalled request still completes server-side; its wait for a worker is in the shard's
  // duration (arrival → response), which is what the scenario runner judges isolation by.
  double sum = 0;
  for (int i = 0; i < 100; ++i) {
    sum = metric_value(h.metrics->serialize(),
                       R"(faultline_target_shard_request_duration_seconds_sum{shard="0"})")
              .value_or(0);
    if (sum >= 0.8) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(sum, 0.8);
}
