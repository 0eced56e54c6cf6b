// runner::KeptSystem end to end, in-process, with real components: a second run of the same
// scenario reuses the system the first one started (same target and proxy processes and
// addresses, its logs in the kept system's directory), with the proxies reset to the second run's
// own initial toxics (a toxic the first run's timeline added is gone, so the second run can add it
// again); a run that ends in error leaves nothing kept and nothing running; stop() ends it all;
// system_reuse_obstacle names the timeline action that rules reuse out; RunContext::fixed_values
// keeps a kept system's placeholder values.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "runner/orchestrator.hpp"
#include "runner/scenario/scenario.hpp"
#include "tests/support/support.hpp"

namespace faultline {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// The target behind an http proxy with an initial latency toxic (set per run) and a toxic the
// timeline adds at 2 s.
const char* kScenario = R"({
  "name": "kept",
  "duration": "4s",
  "services": {
    "target": {"mode": "resilient", "store": "memory"},
    "proxies": [{"name": "front", "protocol": "http", "upstream": "target",
                 "toxics": [{"name": "slow", "type": "latency", "attributes": {"latency": 0}}]}]
  },
  "load": {"via": "front", "rate": 40, "connections": 64, "timeout": "3s",
           "workload": {"mix": [{"name": "health", "method": "GET", "url": "/healthz"}]}},
  "timeline": [
    {"at": "0s", "phase": "first"},
    {"at": "2s", "phase": "second", "actions": [
      {"action": "add_toxic", "proxy": "front",
       "toxic": {"name": "extra", "type": "latency", "attributes": {"latency": 1}}}]}
  ],
  "assertions": [
    {"name": "no errors", "kind": "error_ratio", "phase": "second", "max": 0.01}
  ]
})";

struct RunOutcome {
  int code = -1;
  json results;
};

RunOutcome run(const std::string& scenario_file, const std::vector<std::string>& sets,
               const std::string& out, const std::shared_ptr<runner::KeptSystem>& keep) {
  runner::Scenario s = runner::load_scenario(scenario_file, sets, std::nullopt);
  runner::RunContext ctx{out, test::faultline_bin(), {}};
  if (keep) ctx.fixed_values = keep->placeholder_values();
  s = runner::resolve_for_run(s, ctx);
  runner::RunOptions o;
  o.out_dir = out;
  o.faultline_exe = test::faultline_bin();
  o.print_summary = false;
  o.checkpoint_interval_seconds = 0;
  o.keep_system = keep;
  RunOutcome r;
  r.code = runner::run_scenario(s, o);
  r.results = load_json_file(out + "/results.json");
  return r;
}

double phase_p50(const json& results, const std::string& phase) {
  for (const auto& p : results["phases"])
    if (p["name"] == phase) return p["load"]["latency_seconds"]["p50"].get<double>();
  ADD_FAILURE() << "no phase " << phase;
  return -1;
}

TEST(KeptSystem, ASecondRunReusesTheSystemWithItsOwnInitialToxics) {
  test::TempDir dir;
  const std::string scenario = dir.file("kept.json");
  std::ofstream(scenario) << kScenario;
  auto keep = std::make_shared<runner::KeptSystem>(dir.file("system"));
  EXPECT_FALSE(keep->holds());

  const RunOutcome first =
      run(scenario, {"proxies.0.toxics.0.attributes.latency=300"}, dir.file("one"), keep);
  ASSERT_EQ(first.code, 0) << first.results.dump(2);
  ASSERT_TRUE(keep->holds());
  EXPECT_EQ(keep->starts(), 1);
  EXPECT_GE(phase_p50(first.results, "first"), 0.29);
  // The system's logs are in the kept system's directory (per start), the load's in the run's.
  EXPECT_TRUE(fs::exists(dir.file("system/01/target.log")));
  EXPECT_TRUE(fs::exists(dir.file("system/01/proxy.log")));
  EXPECT_FALSE(fs::exists(dir.file("one/logs/target.log")));
  EXPECT_TRUE(fs::exists(dir.file("one/logs/load.log")));
  // Its addresses stay where they were: the target still answers.
  const std::string target = first.results["endpoints"]["target"].get<std::string>();
  const std::string proxy = first.results["endpoints"]["proxy"].get<std::string>();

  // Latency 0 now: the proxy's "slow" toxic was replaced with this run's, and "extra" (added by
  // the first run's timeline) removed, or adding it again would fail with 409.
  const RunOutcome second =
      run(scenario, {"proxies.0.toxics.0.attributes.latency=0"}, dir.file("two"), keep);
  ASSERT_EQ(second.code, 0) << second.results.dump(2);
  EXPECT_EQ(second.results["endpoints"]["target"], target);
  EXPECT_EQ(second.results["endpoints"]["proxy"], proxy);
  EXPECT_LT(phase_p50(second.results, "first"), 0.1);
  EXPECT_EQ(keep->starts(), 1);
  EXPECT_FALSE(fs::exists(dir.file("two/logs/target.log")));
  ASSERT_TRUE(keep->holds());

  keep->stop();
  EXPECT_FALSE(keep->holds());
  test::expect_nothing_left(second.results, dir.file("two"));
  EXPECT_TRUE(test::processes_mentioning(dir.file("system")).empty());
}

TEST(KeptSystem, ARunThatEndsInErrorKeepsNothing) {
  test::TempDir dir;
  json doc = json::parse(kScenario);
  // A command that fails ends the run in error (and a timeline that runs commands is not
  // reusable by the envelope, but the orchestrator must still clean up).
  doc["timeline"][1]["actions"].push_back({{"action", "exec"}, {"command", {"false"}}});
  const std::string scenario = test::write_json(dir, "failing.json", doc);
  auto keep = std::make_shared<runner::KeptSystem>(dir.file("system"));
  const RunOutcome r = run(scenario, {}, dir.file("one"), keep);
  EXPECT_EQ(r.code, 2) << r.results.dump(2);
  EXPECT_EQ(r.results["verdict"], "error");
  EXPECT_FALSE(keep->holds());
  EXPECT_TRUE(keep->placeholder_values().empty());
  test::expect_nothing_left(r.results, dir.file("one"));
  EXPECT_TRUE(test::processes_mentioning(dir.file("system")).empty());
}

// A component of the kept system died between two runs (here its Redis shard, found by its
// process title "redis-server 127.0.0.1:PORT"): the next run starts a new system instead of failing
// for it.
TEST(KeptSystem, ADeadComponentMeansANewSystemNotAFailedRun) {
  test::TempDir dir;
  json doc = json::parse(kScenario);
  doc["services"]["redis"] = {{"shards", 1}};
  const std::string scenario = test::write_json(dir, "with-redis.json", doc);
  auto keep = std::make_shared<runner::KeptSystem>(dir.file("system"));
  const RunOutcome first = run(scenario, {}, dir.file("one"), keep);
  ASSERT_EQ(first.code, 0) << first.results.dump(2);
  ASSERT_TRUE(keep->holds());
  const auto redis = test::processes_mentioning("redis-server 127.0.0.1:" +
                                                keep->placeholder_values().at("redis.0.port"));
  ASSERT_EQ(redis.size(), 1u);
  ASSERT_EQ(::kill(std::stoi(redis[0].substr(0, redis[0].find(':'))), SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const RunOutcome second = run(scenario, {}, dir.file("two"), keep);
  EXPECT_EQ(second.code, 0) << second.results.dump(2);
  EXPECT_EQ(second.results["verdict"], "pass");
  EXPECT_EQ(keep->starts(), 2);
  EXPECT_TRUE(keep->holds());
  keep->stop();
  test::expect_nothing_left(second.results, dir.file("two"));
  EXPECT_TRUE(test::processes_mentioning(dir.file("system")).empty());
}

TEST(KeptSystem, ReuseObstacleNamesTheActionThatChangesTheSystem) {
  test::TempDir dir;
  const std::string ok = dir.file("ok.json");
  std::ofstream(ok) << kScenario;
  EXPECT_EQ(runner::system_reuse_obstacle(runner::load_scenario(ok, {}, std::nullopt)), "");

  json doc = json::parse(kScenario);
  doc["timeline"][1]["actions"].push_back(
      {{"action", "signal"}, {"process", "target"}, {"signal", "STOP"}});
  const std::string stopping = test::write_json(dir, "stopping.json", doc);
  const std::string why =
      runner::system_reuse_obstacle(runner::load_scenario(stopping, {}, std::nullopt));
  EXPECT_NE(why.find("$.timeline[1].actions[1]"), std::string::npos) << why;
  EXPECT_NE(why.find("every trial starts it afresh"), std::string::npos) << why;

  // A recording proxy writes each run's traffic to its own file.
  doc = json::parse(kScenario);
  doc["services"]["proxies"][0]["record"] = "${out}/front.jsonl";
  const std::string recording = test::write_json(dir, "recording.json", doc);
  const std::string rec =
      runner::system_reuse_obstacle(runner::load_scenario(recording, {}, std::nullopt));
  EXPECT_NE(rec.find("$.services.proxies[0].record"), std::string::npos) << rec;
}

TEST(KeptSystem, FixedPlaceholderValuesAreKept) {
  test::TempDir dir;
  json doc = json::parse(kScenario);
  doc["load"].erase("via");
  doc["load"]["url"] = "http://127.0.0.1:${port.web}";
  const std::string file = test::write_json(dir, "ports.json", doc);
  const runner::Scenario s = runner::load_scenario(file, {}, std::nullopt);
  const auto first = runner::resolve_for_run(s, {dir.file("a"), "faultline", {}});
  const std::string port = first.placeholder_values.at("port.web");
  std::map<std::string, std::string> fixed = first.placeholder_values;
  fixed.erase("out");
  const auto again = runner::resolve_for_run(s, {dir.file("b"), "faultline", fixed});
  EXPECT_EQ(again.placeholder_values.at("port.web"), port);
  EXPECT_EQ(again.load.url, "http://127.0.0.1:" + port);
  EXPECT_EQ(again.placeholder_values.at("out"), dir.file("b"));
}

}  // namespace
}  // namespace faultline
