// The run's Prometheus with Debian's real `prometheus`: it scrapes a tiny /metrics server of the
// test, and queries come back as one value or as Prometheus's own error, the phase placeholders
// (promql_phases_test.cpp) expanded into ranges, subqueries and offsets it evaluates. Also the
// helpers (URL encoding, RFC 3339) without Prometheus.
#include "runner/system/prometheus_server.hpp"
#include "runner/system/run_error.hpp"

#include "runner/scenario/promql_phases.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/subprocess.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::runner;
using namespace std::chrono_literals;

namespace {

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Fails under CI (which installs prometheus), skips elsewhere.
#define REQUIRE_PROMETHEUS()                                                   \
  do {                                                                         \
    if (!PrometheusServer::find_binary()) {                                    \
      if (std::getenv("CI")) FAIL() << "prometheus is not installed (CI set)"; \
      GTEST_SKIP() << "prometheus is not installed";                           \
    }                                                                          \
  } while (0)

awaitable<HttpResponse> answer(HttpResponse res) {
  co_return res;
}

// /metrics: a counter that counts the scrapes it served; /metrics-b: a constant 1000.
class MetricsServer {
 public:
  MetricsServer() : pool_(1) {
    // The handler is a plain lambda that calls a coroutine taking everything by value (a
    // coroutine lambda's captures would not outlive the call).
    server_ = std::make_unique<HttpServer>(pool_, [this](HttpRequest& req, RequestContext&) {
      HttpResponse res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      double v = 1000;
      if (req.target() == "/metrics")
        v = static_cast<double>(++scrapes_);
      else if (req.target() != "/metrics-b")
        res.result(http::status::not_found);
      res.body() = fmt::format("# TYPE my_counter_total counter\nmy_counter_total {}\n", v);
      return answer(std::move(res));
    });
    auto ep = server_->listen(HostPort{"127.0.0.1", 0});
    address_ = fmt::format("127.0.0.1:{}", ep.port());
    pool_.start();
  }
  ~MetricsServer() {
    server_->stop();
    pool_.stop();
    pool_.join();
  }
  const std::string& address() const { return address_; }
  long scrapes() const { return scrapes_.load(); }

 private:
  IoPool pool_;
  std::unique_ptr<HttpServer> server_;
  std::string address_;
  std::atomic<long> scrapes_{0};
};

bool pid_gone(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH;
}

}  // namespace

TEST(PrometheusHelpers, UrlEncode) {
  EXPECT_EQ(url_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(url_encode("sum(x{code=~\"5..\"}[1s]) / 2+1"),
            "sum%28x%7Bcode%3D~%225..%22%7D%5B1s%5D%29%20%2F%202%2B1");
}

TEST(PrometheusHelpers, ParseRfc3339) {
  EXPECT_DOUBLE_EQ(*parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_NEAR(*parse_rfc3339("2026-11-30T15:04:05.123456789Z"), 1796051045.123456789, 1e-6);
  EXPECT_NEAR(*parse_rfc3339("2026-11-30T16:04:05.5+01:00"), 1796051045.5, 1e-6);
  EXPECT_NEAR(*parse_rfc3339("2026-11-30T10:04:05-05:00"), 1796051045, 1e-6);
  EXPECT_NEAR(*parse_rfc3339("2000-02-29T00:00:00Z"), 951782400, 1e-6);
  EXPECT_LT(*parse_rfc3339("0001-01-01T00:00:00Z"), -6e10);  // Go's zero time: never scraped
  for (const char* bad : {"", "2026-11-30", "2026-11-30T15:04:05", "2026-13-01T00:00:00Z",
                          "2026-11-30T15:04:05.Z", "2026-11-30T15:04:05Zx", "x026-11-30T15:04:05Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(PrometheusServer, ScrapesAndAnswersQueries) {
  REQUIRE_PROMETHEUS();
  MetricsServer metrics;
  test::TempDir dir;
  const double t0 = now_unix();
  PrometheusServer prom(dir.file("prom"),
                        {{"app", metrics.address(), "/metrics", {{"shard", "a"}}},
                         {"app", metrics.address(), "/metrics-b", {{"shard", "b"}}}},
                        dir.file("prom/prometheus.log"), [] { return false; });
  EXPECT_TRUE(prom.running());
  EXPECT_EQ(prom.address().host, "127.0.0.1");

  // The generated configuration is one that promtool accepts.
  {
    Subprocess promtool({"promtool", "check", "config", dir.file("prom/prometheus.yml")});
    promtool.read_all(10s);
    EXPECT_EQ(promtool.wait(10s), 0) << promtool.output();
  }

  // Prometheus applies discovered targets ~5 s after its start (a fixed throttle in 2.x), then
  // scrapes every second: wait for the first scrape, then for three more.
  ASSERT_TRUE(prom.wait_scraped_after(t0, 15s));
  ASSERT_TRUE(prom.wait_scraped_after(now_unix() + 2.5, 10s));
  EXPECT_GE(metrics.scrapes(), 3);

  auto b = prom.query(R"(sum(my_counter_total{shard="b"}))");
  ASSERT_TRUE(b.value) << b.error;
  EXPECT_DOUBLE_EQ(*b.value, 1000);
  auto both = prom.query("sum(my_counter_total)", now_unix());
  ASSERT_TRUE(both.value) << both.error;
  EXPECT_GE(*both.value, 1001);
  EXPECT_LE(*both.value, 1000.0 + static_cast<double>(metrics.scrapes()));

  // One increment per 1 s scrape: about 1/s over a 4 s window.
  auto no_other = [](const std::string&) { return std::optional<PromqlPhaseWindow>(); };
  const std::string rate =
      expand_promql_phases(R"(sum(rate(my_counter_total{shard="a"}[phase])))", {4, 0}, no_other);
  EXPECT_EQ(rate, R"(sum(rate(my_counter_total{shard="a"}[4000ms])))");
  auto r = prom.query(rate);
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_GT(*r.value, 0.5);
  EXPECT_LT(*r.value, 1.5);

  // Issue 23 item 10: a subquery over the phase, and another phase's window with its offset,
  // as Prometheus evaluates them.
  const std::string peak = expand_promql_phases(
      R"(max_over_time(sum(rate(my_counter_total{shard="a"}[2s]))[phase:1s]))", {4, 0}, no_other);
  EXPECT_EQ(peak, R"(max_over_time(sum(rate(my_counter_total{shard="a"}[2s]))[4000ms:1s]))");
  auto p = prom.query(peak);
  ASSERT_TRUE(p.value) << p.error;
  EXPECT_GT(*p.value, 0.5);
  EXPECT_LT(*p.value, 2.5);
  // The counter now minus its last value in a 1 s phase that ended 2 s ago: about 2 scrapes.
  const double at = now_unix();
  const std::string since = expand_promql_phases(
      R"(sum(my_counter_total{shard="a"}) - sum(last_over_time(my_counter_total{shard="a"}[phases.before])))",
      {4, 0}, [](const std::string& n) {
        return n == "before" ? std::optional<PromqlPhaseWindow>(PromqlPhaseWindow{1, 2})
                             : std::nullopt;
      });
  EXPECT_NE(since.find("[1000ms] offset 2000ms"), std::string::npos) << since;
  auto d = prom.query(since, at);
  ASSERT_TRUE(d.value) << d.error;
  EXPECT_GE(*d.value, 1);
  EXPECT_LE(*d.value, 4);
  // What `run --validate` and the run's start ask: every form accepted.
  EXPECT_EQ(prom.check(expand_promql_phases_for_check(
                "max_over_time(up[phase:]) + sum_over_time(up[phases.b:1s]) + "
                "count_over_time(up[${phases.b.duration}]) + sum(up offset ${phase.duration})")),
            "");

  // A time before anything was scraped: no data.
  auto early = prom.query(R"(sum(my_counter_total{shard="b"}))", t0 - 600);
  EXPECT_FALSE(early.value);
  EXPECT_EQ(early.error, "no data");

  auto multi = prom.query("my_counter_total");
  EXPECT_FALSE(multi.value);
  EXPECT_EQ(multi.error, "2 series (the query must return one; use sum() or a selector)");

  auto none = prom.query("sum(no_such_metric_total)");
  EXPECT_FALSE(none.value);
  EXPECT_EQ(none.error, "no data");

  auto nan = prom.query("0/0");
  EXPECT_FALSE(nan.value);
  EXPECT_EQ(nan.error.rfind("NaN", 0), 0u) << nan.error;
  auto inf = prom.query("1/0");
  EXPECT_FALSE(inf.value);
  EXPECT_EQ(inf.error.rfind("+Inf", 0), 0u) << inf.error;

  auto matrix = prom.query("my_counter_total[5s]");
  EXPECT_FALSE(matrix.value);
  EXPECT_NE(matrix.error.find("range vector"), std::string::npos) << matrix.error;

  auto scalar = prom.query("scalar(sum(my_counter_total{shard=\"b\"})) * 2");
  ASSERT_TRUE(scalar.value) << scalar.error;
  EXPECT_DOUBLE_EQ(*scalar.value, 2000);

  // check(): Prometheus's parse errors; empty results, NaN and several series are fine.
  const std::string parse_error = prom.check("sum(");
  EXPECT_NE(parse_error.find("parse error"), std::string::npos) << parse_error;
  EXPECT_NE(parse_error.find("bad_data"), std::string::npos) << parse_error;
  EXPECT_EQ(prom.check("sum(no_such_metric_total)"), "");
  EXPECT_EQ(prom.check("0/0"), "");
  EXPECT_EQ(prom.check("my_counter_total"), "");
  EXPECT_NE(prom.check("rate(my_counter_total)"), "");  // a type error

  // stop(): the process is gone, and stop() again is a no-op.
  const pid_t pid = prom.pid();
  ASSERT_GT(pid, 0);
  prom.stop();
  EXPECT_FALSE(prom.running());
  EXPECT_TRUE(pid_gone(pid));
  prom.stop();
  auto after = prom.query("1");
  EXPECT_FALSE(after.value);
  EXPECT_NE(after.error.find("did not answer"), std::string::npos) << after.error;
}

TEST(PrometheusServer, BadConfigurationIsAStartupErrorWithTheLog) {
  REQUIRE_PROMETHEUS();
  test::TempDir dir;
  try {
    PrometheusServer prom(dir.file("prom"), {{"app", "127.0.0.1:9", "/metrics", {{"1bad", "x"}}}},
                          dir.file("prom.log"), [] { return false; });
    FAIL() << "started with an invalid label name";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("prometheus exited during start-up"), std::string::npos)
        << e.what();
  }
}

TEST(PrometheusServer, ShouldStopInterruptsTheStart) {
  REQUIRE_PROMETHEUS();
  test::TempDir dir;
  EXPECT_THROW(PrometheusServer(dir.file("prom"), {}, dir.file("prom.log"), [] { return true; }),
               Interrupted);
}
