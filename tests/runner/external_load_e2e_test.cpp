// A load the runner did not start, judged through a Prometheus it did not start:
// `"load": {"external": true}` with `"services": {"prometheus": {"url": ...}}`. The test plays the
// cluster: a target, a real Prometheus scraping it (started with the runner's library), and a
// `faultline load` it runs itself, through a proxy the run creates; the scenario's promql
// assertion sees the external load's requests in that Prometheus. Bad combinations exit 2 naming
// their JSON path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/config.hpp"
#include "runner/system/prometheus_server.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

json scenario(const std::string& prometheus_url) {
  json s = json::parse(R"js({
    "name": "external",
    "duration": "6s",
    "load": {"external": true},
    "timeline": [{"at": "0s", "phase": "baseline"}, {"at": "3s", "phase": "busy"}],
    "assertions": [
      {"name": "the external load arrived", "kind": "promql", "phase": "busy",
       "query": "sum(increase(faultline_target_requests_total[phase]))", "min": 400, "max": 800}
    ]
  })js");
  s["services"]["prometheus"] = {{"url", prometheus_url}, {"scrape_wait", "2s"}};
  s["services"]["proxies"] = {{{"name", "edge"}, {"protocol", "tcp"}, {"upstream", "127.0.0.1:9"}}};
  return s;
}

}  // namespace

TEST(ExternalLoadE2E, JudgedThroughTheUsersPrometheus) {
  if (!runner::PrometheusServer::find_binary()) GTEST_SKIP() << "prometheus is not installed";
  TempDir dir;
  auto target =
      start_faultline({"target", "--listen", "127.0.0.1:0", "--store", "memory", "--threads", "1"});
  ASSERT_TRUE(target);
  // "The cluster's" Prometheus, scraping the target every second.
  runner::PrometheusServer prom(dir.file("prom"), {{"target", target->address.to_string()}},
                                dir.file("prom.log"), [] { return false; });
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_TRUE(prom.wait_scraped_after(now, 20s));

  // The run drives a proxy in front of the target (as it would the cluster's edge); the external
  // load goes through it. Until the run has created it, the load's connections are refused.
  const unsigned short edge = free_loopback_port();
  json s = scenario("http://" + prom.address().to_string());
  s["services"]["proxies"] = {{{"name", "edge"},
                               {"protocol", "tcp"},
                               {"listen", fmt::format("127.0.0.1:{}", edge)},
                               {"upstream", target->address.to_string()}}};
  const std::string file = write_json(dir, "s.json", s);
  // The external load: 200 req/s for 12 s, started just before the run (which waits for nothing):
  // it outlasts the run's 6 s however long the run and its proxy take to start (ASan: seconds).
  Subprocess load({faultline_bin(), "load", fmt::format("http://127.0.0.1:{}/healthz", edge),
                   "--rate", "200", "--duration", "12s", "-q", "--timeout", "1s"},
                  dir.file("load.log"));
  auto [code, text] =
      run_faultline({"run", file, "--out", dir.file("out")}, dir.file("run.err"), 60s);
  EXPECT_EQ(code, 0) << text << slurp(dir.file("run.err"));
  const json r = load_json_file(dir.file("out") + "/results.json");
  ASSERT_EQ(r["assertions"].size(), 1u);
  EXPECT_EQ(r["assertions"][0]["verdict"], "pass") << r["assertions"][0].dump();
  // 3 s of 200 req/s.
  EXPECT_NEAR(r["assertions"][0]["measured"].get<double>(), 600, 150);
  EXPECT_EQ(load.wait(20000ms), 0);
  // Nothing was started for the load, and the user's Prometheus still runs.
  EXPECT_FALSE(std::filesystem::exists(dir.file("out") + "/load-intervals.jsonl"));
  EXPECT_TRUE(prom.running());
}

TEST(ExternalLoadE2E, BadCombinationsExitTwoWithTheirPath) {
  TempDir dir;
  auto expect_error = [&](const json& s, const std::string& path) {
    const std::string file = write_json(dir, "bad.json", s);
    auto [code, text] =
        run_faultline({"run", file, "--out", dir.file("bad")}, dir.file("bad.err"), 30s);
    EXPECT_EQ(code, 2) << s.dump();
    EXPECT_NE(slurp(dir.file("bad.err")).find(path), std::string::npos)
        << path << " not in: " << slurp(dir.file("bad.err"));
  };
  json s = scenario("http://127.0.0.1:9");
  s["assertions"] = json::array();
  expect_error(s, "$.load.external");  // nothing judges it
  s = scenario("http://127.0.0.1:9");
  s["load"]["rate"] = 100;
  expect_error(s, "$.load.rate");  // an external load has no rate here
  s = scenario("prometheus:9090");
  expect_error(s, "$.services.prometheus.url");
  s = scenario("http://127.0.0.1:9");
  s["services"]["prometheus"].erase("url");
  expect_error(s, "$.services.prometheus.scrape_wait");
  // A Prometheus that does not answer is an error before anything starts.
  s = scenario("http://127.0.0.1:9");
  const std::string file = write_json(dir, "down.json", s);
  auto [code, text] =
      run_faultline({"run", file, "--out", dir.file("down")}, dir.file("down.err"), 30s);
  EXPECT_EQ(code, 2) << slurp(dir.file("down.err"));
  EXPECT_NE(slurp(dir.file("down.err")).find("Prometheus"), std::string::npos)
      << slurp(dir.file("down.err"));
}
