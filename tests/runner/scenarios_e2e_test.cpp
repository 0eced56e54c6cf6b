// The shipped scenarios end to end with compressed timelines (--duration), real Redis shards and
// real components: quickstart passes; shard-outage passes with the resilient target and fails with
// the naive one, naming the stalled healthy shards; the soak's leak check catches the target's
// deliberate leak.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "tests/runner/e2e_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// A shipped scenario (a name under scenarios/) or a file (an absolute path).
RunOutcome run_scenario(const TempDir& dir, const std::string& scenario,
                        const std::vector<std::string>& extra) {
  const std::string path =
      scenario.front() == '/' ? scenario : source_dir() + "/scenarios/" + scenario;
  return run_scenario_cli(dir, path, extra, 120s);
}

}  // namespace

TEST(ScenariosE2E, QuickstartCompressedPasses) {
  TempDir dir;
  auto o = run_scenario(dir, "quickstart.json", {"--duration", "24s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  ASSERT_TRUE(o.results.is_object());
  ASSERT_EQ(o.results["phases"].size(), 4u);
  // The proxy's own counters saw the injected errors.
  const json& errors_phase = o.results["phases"][1];
  EXPECT_GT(errors_phase["faults"]["front"]["faults_injected"].get<double>(), 0);
  // Phase boundaries fall between the load generator's interval lines: no injected error leaks
  // into the baseline.
  EXPECT_EQ(o.results["phases"][0]["load"]["requests"]["failed"].get<int>(), 0)
      << o.results["phases"][0].dump();
  // The live run and `report build` judge from the same events (issue 21).
  expect_report_build_matches(dir, dir.file("out"));
}

// streaming.json (issue #24): WebSocket chat and SSE sessions through an http proxy; ws_close
// cuts only the chat sessions and http_body_truncate only the event streams, both come back,
// closes between messages fail no message. Compressed to half (phases of 10 s and 2-3 s).
TEST(ScenariosE2E, StreamingPassesWithReconnects) {
  TempDir dir;
  auto o = run_scenario(dir, "streaming.json", {"--duration", "45s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  ASSERT_TRUE(o.results.is_object());
  for (const char* name : {"ws_close: chat sessions are cut and come back",
                           "truncate: event streams are cut and come back"}) {
    const json* a = find_assertion(o.results, name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ((*a)["verdict"], "pass") << a->dump();
  }
  // The proxy counted what it did; the load saw the close code it sent.
  const json& ws_phase = o.results["phases"][1];
  ASSERT_EQ(ws_phase["name"], "ws_close");
  EXPECT_GT(ws_phase["faults"]["edge"]["faults_injected"].get<double>(), 0) << ws_phase.dump();
  EXPECT_GT(ws_phase["load"]["sessions"]["chat"]["close_codes"]["1012"].get<int>(), 0)
      << ws_phase["load"].dump();
}

// solver-overload is calibrated for a SIMD solver (docs/run.md): on a CPU without AVX2, or with a
// sanitized (several times slower) build, even the resilient target misses the 1 s solve bound.
bool solver_is_calibrated() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#else
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string text(std::istreambuf_iterator<char>(cpuinfo), {});
  return text.find(" avx2") != std::string::npos;
#endif
}

TEST(ScenariosE2E, SolverOverloadResilientShedsAndPasses) {
  if (!solver_is_calibrated()) GTEST_SKIP() << "needs an unsanitized build on an AVX2 CPU";
  TempDir dir;
  auto o = run_scenario(dir, "solver-overload.json", {"--duration", "30s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
}

TEST(ScenariosE2E, SolverOverloadNaiveFailsOnSolveLatencyAndRecovery) {
  TempDir dir;
  auto o = run_scenario(dir, "solver-overload.json",
                        {"--duration", "30s", "--set", "target.mode=naive"});
  EXPECT_EQ(o.code, 1) << o.stdout_text << o.stderr_text;
  for (const char* name : {"solves are answered or shed within 1 s (p99)",
                           "service recovers within 10 s (all requests)"}) {
    const json* a = find_assertion(o.results, name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ((*a)["verdict"], "fail") << a->dump();
  }
}

TEST(ScenariosE2E, ShardOutageResilientPasses) {
  TempDir dir;
  auto o = run_scenario(dir, "shard-outage.json", {"--duration", "30s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  ASSERT_TRUE(o.results.is_object());
  EXPECT_EQ(o.results["phases"][0]["shards"].size(), 3u);
}

TEST(ScenariosE2E, ShardOutageNaiveFailsBecauseHealthyShardsStall) {
  TempDir dir;
  auto o =
      run_scenario(dir, "shard-outage.json", {"--duration", "30s", "--set", "target.mode=naive"});
  EXPECT_EQ(o.code, 1) << o.stdout_text << o.stderr_text;
  const json* iso = find_assertion(o.results, "healthy shards unaffected while shard 2 hangs");
  ASSERT_NE(iso, nullptr) << o.stdout_text;
  EXPECT_EQ((*iso)["verdict"], "fail");
  EXPECT_NE((*iso)["message"].get<std::string>().find("healthy shards stalled"), std::string::npos)
      << (*iso)["message"];
  EXPECT_NE(o.stdout_text.find("healthy shards stalled"), std::string::npos) << o.stdout_text;
}

TEST(ScenariosE2E, SoakCompressedBelowItsPhasesIsRefused) {
  // 10-minute warmup and 20-minute fault phases in 24 h: at 60 s they would last under a second
  // (issue #11: such a run used to FAIL with "no requests measured in phase fault").
  TempDir dir;
  auto o = run_scenario(dir, "soak.json", {"--duration", "60s"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.stderr_text.find("--duration 1m: phase \"warmup\" would last 0s"), std::string::npos)
      << o.stderr_text;
  EXPECT_NE(o.stderr_text.find("the smallest --duration that works is"), std::string::npos)
      << o.stderr_text;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(ScenariosE2E, SoakLeakCheckCatchesADeliberateLeak) {
  // The soak's first warmup, steady, fault and steady phases in 30 s (a 30 s --duration of the
  // whole 24 h would leave its phases under a second).
  TempDir dir;
  json soak = load_json_file(source_dir() + "/scenarios/soak.json");
  json timeline = json::array();
  const char* at[] = {"0s", "5s", "15s", "20s"};
  for (std::size_t i = 0; i < 4; ++i) {
    timeline.push_back(soak["timeline"][i]);
    timeline.back()["at"] = at[i];
  }
  soak["timeline"] = timeline;
  soak["duration"] = "30s";
  const std::string file = dir.file("soak-30s.json");
  std::ofstream(file) << soak.dump(2);
  auto o = run_scenario(dir, file, {"--set", "target.debug_leak_bytes_per_request=65536"});
  EXPECT_EQ(o.code, 1) << o.stdout_text << o.stderr_text;
  const json* mem = find_assertion(o.results, "target memory does not grow");
  ASSERT_NE(mem, nullptr) << o.stdout_text;
  EXPECT_EQ((*mem)["verdict"], "fail") << (*mem)["message"];
  // ~150 requests/s × 64 KiB is ~35 GB/h; the bound is 32 MiB/h.
  EXPECT_GT((*mem)["measured"].get<double>(), 1e9);
  // (The other slope assertions are not checked here: in a 30-second run under AddressSanitizer,
  // its quarantine alone grows every process's RSS.)
}
