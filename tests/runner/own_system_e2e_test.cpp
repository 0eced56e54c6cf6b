// `faultline run` on a system faultline did not write (issue #10), end to end with real software:
// the shipped examples (real nginx in front of two target replicas behind chaos proxies on
// ${port.*}; the target on real Redis shards restarted and SIGSTOPped, judged with PromQL on a real
// Prometheus), and every way such a run can go wrong — a process that exits before it is ready or
// during the run, a ready timeout, a query Prometheus rejects, an unreachable proxy API, a failing
// exec — ending in verdict "error" with the results so far written and nothing left behind.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "common/subprocess.hpp"
#include "tests/runner/e2e_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

RunOutcome run(const TempDir& dir, const std::string& scenario,
               const std::vector<std::string>& extra, std::chrono::milliseconds timeout = 150s) {
  return run_scenario_cli(dir, scenario, extra, timeout);
}

// A process-only scenario: `api` is the target started as the user's own program, with load at
// it; `mutate` edits it before a test runs it.
json own_scenario() {
  return json::parse(R"({
    "name": "own",
    "duration": "4s",
    "services": {
      "processes": [
        {"name": "api",
         "command": ["${faultline}", "target", "--listen", "127.0.0.1:${port.api}"],
         "ready": {"http": "http://127.0.0.1:${port.api}/healthz", "timeout": "10s"},
         "metrics": "http://127.0.0.1:${port.api}/metrics"}
      ]
    },
    "load": {"url": "http://127.0.0.1:${port.api}", "rate": 40, "connections": 4, "timeout": "1s",
             "workload": {"mix": [{"name": "health", "url": "/healthz"}]}},
    "timeline": [
      {"at": "0s", "phase": "one"},
      {"at": "2s", "phase": "two"}
    ],
    "assertions": [
      {"name": "no errors", "kind": "error_ratio", "phase": "*", "max": 0.01}
    ]
  })");
}

bool have(const char* program) {
  return find_program(program).has_value();
}

}  // namespace

TEST(OwnSystemE2E, ProcessRunPassesAndRecordsExecAndRestart) {
  TempDir dir;
  json s = own_scenario();
  s["timeline"][1]["actions"] = json::parse(R"([
    {"action": "exec", "command": ["sh", "-c", "echo hello from exec"]},
    {"action": "restart", "process": "api"}
  ])");
  // The api takes 0.7 s to start, so the restart refuses requests for at least that long. They
  // are phase two's (a phase starts when its actions start), so phase one has no errors however
  // long the restart takes; it failed in CI when a slow restart moved phase two's start.
  s["services"]["processes"][0]["command"] = {
      "sh", "-c", "sleep 0.7; exec \"$0\" target --listen 127.0.0.1:${port.api}", "${faultline}"};
  s["assertions"][0]["phase"] = "one";
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  ASSERT_EQ(o.results["phases"].size(), 2u) << o.results["phases"].dump();
  EXPECT_NEAR(o.results["phases"][1]["start_seconds"].get<double>(), 2.0, 0.25);
  EXPECT_GT(o.results["phases"][1]["load"]["requests"]["failed"].get<double>(), 0)
      << o.results["phases"][1].dump();
  std::string timeline = o.results["timeline"].dump();
  EXPECT_NE(timeline.find("exit status 0, output \\\"hello from exec\\\""), std::string::npos)
      << timeline;
  EXPECT_NE(timeline.find("restart api: ready again after"), std::string::npos) << timeline;
  EXPECT_TRUE(std::filesystem::exists(dir.file("out") + "/logs/api.log"));
  expect_nothing_left(o.results, dir.file("out"));
  expect_report_build_matches(dir, dir.file("out"));
}

TEST(OwnSystemE2E, ProcessThatExitsBeforeReadyIsAnErrorNamingIt) {
  TempDir dir;
  json s = own_scenario();
  s["services"]["processes"][0]["command"] = {"sh", "-c", "echo boom >&2; exit 3"};
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  EXPECT_EQ(o.results["verdict"], "error");
  const std::string e = o.results["error"].get<std::string>();
  EXPECT_NE(e.find("process api: exited with status 3 before it was ready"), std::string::npos)
      << e;
  EXPECT_NE(e.find("logs/api.log"), std::string::npos) << e;
}

TEST(OwnSystemE2E, ReadyTimeoutIsAnError) {
  TempDir dir;
  json s = own_scenario();
  s["services"]["processes"][0]["command"] = {"sleep", "30"};
  s["services"]["processes"][0]["ready"]["timeout"] = "1s";
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  EXPECT_NE(o.results["error"].get<std::string>().find("not ready within 1s"), std::string::npos)
      << o.results["error"];
  expect_nothing_left(o.results, dir.file("out"));
}

TEST(OwnSystemE2E, ProcessThatDiesDuringTheRunEndsItWithItsResults) {
  TempDir dir;
  json s = own_scenario();
  s["timeline"][1]["actions"] = json::parse(R"([
    {"action": "exec", "command": ["sh", "-c", "pkill -KILL -f -- '--listen 127.0.0.1:${port.api}'"],
     "allow_failure": true}
  ])");
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  EXPECT_EQ(o.results["verdict"], "error");
  const std::string e = o.results["error"].get<std::string>();
  EXPECT_NE(e.find("process api exited during the run with status 137"), std::string::npos) << e;
  // The phase that ran is in the results.
  ASSERT_GE(o.results["phases"].size(), 1u);
  EXPECT_GT(o.results["phases"][0]["load"]["requests"]["total"].get<int>(), 0);
  expect_nothing_left(o.results, dir.file("out"));
}

TEST(OwnSystemE2E, FailingExecIsAnErrorUnlessAllowed) {
  TempDir dir;
  json s = own_scenario();
  s["timeline"][1]["actions"] = json::parse(R"([{"action": "exec", "command": ["false"]}])");
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  EXPECT_NE(o.results["error"].get<std::string>().find("\"exec false\" failed: exit status 1"),
            std::string::npos)
      << o.results["error"];
}

TEST(OwnSystemE2E, UnreachableProxyApiIsAnError) {
  TempDir dir;
  json s = own_scenario();
  const unsigned short port = free_loopback_port();
  s["services"]["proxy_api"] = "http://127.0.0.1:" + std::to_string(port);
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  EXPECT_NE(o.results["error"].get<std::string>().find("services.proxy_api"), std::string::npos)
      << o.results["error"];
}

TEST(OwnSystemE2E, AttachedProxyIsDrivenAndCleanedUp) {
  TempDir dir;
  auto proxy = start_faultline({"proxy", "--api", "127.0.0.1:0", "--api-token", "s3cret"});
  ASSERT_TRUE(proxy);
  json s = own_scenario();
  s["services"]["proxy_api"] = "http://" + proxy->address.to_string();
  s["services"]["proxies"] = json::parse(R"([{"name": "front", "protocol": "http",
      "listen": "127.0.0.1:${port.front}", "upstream": "127.0.0.1:${port.api}"}])");
  s["load"]["url"] = "http://127.0.0.1:${port.front}";
  s["timeline"][1]["actions"] = json::parse(R"([{"action": "add_toxic", "proxy": "front",
      "toxic": {"name": "e", "type": "http_error", "toxicity": 1.0, "attributes": {"status": 503}}}])");
  s["assertions"] = json::parse(R"([
      {"name": "clean first", "kind": "error_ratio", "phase": "one", "max": 0.01},
      {"name": "the attached proxy injects", "kind": "error_amplification", "phase": "two",
       "proxy": "front", "min": 0.9, "max": 1.1}])");
  // Without the token the proxy refuses: a clear error.
  auto denied = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(denied.code, 2) << denied.stderr_text;
  ASSERT_TRUE(denied.results.is_object()) << denied.stderr_text;
  EXPECT_NE(denied.results["error"].get<std::string>().find("HTTP 401"), std::string::npos)
      << denied.results["error"];
  TempDir dir2;
  auto o = run(dir2, write_json(dir2, "s.json", s), {"--api-token", "s3cret"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  // The run removed the proxy it created on the attached API.
  auto [code, listing] =
      run_faultline({"ctl", "--host", proxy->address.to_string(), "--api-token", "s3cret", "list"});
  EXPECT_EQ(code, 0) << listing;
  EXPECT_EQ(listing.find("front"), std::string::npos) << listing;
}

TEST(OwnSystemE2E, PromqlQueryPrometheusRejectsIsAnErrorAtStart) {
  if (!have("prometheus")) {
    if (std::getenv("CI")) FAIL() << "prometheus is not installed";
    GTEST_SKIP() << "prometheus is not installed";
  }
  TempDir dir;
  json s = own_scenario();
  s["assertions"].push_back({{"name", "bad"},
                             {"kind", "promql"},
                             {"phase", "one"},
                             {"query", "sum(rate(x[phase])"},
                             {"max", 1}});
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 2);
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  const std::string e = o.results["error"].get<std::string>();
  EXPECT_NE(e.find("assertion \"bad\": Prometheus rejects the query"), std::string::npos) << e;
  expect_nothing_left(o.results, dir.file("out"));
}

TEST(OwnSystemE2E, NginxFailoverExamplePasses) {
  if (!have("nginx")) {
    if (std::getenv("CI")) FAIL() << "nginx is not installed";
    GTEST_SKIP() << "nginx is not installed";
  }
  TempDir dir;
  auto o =
      run(dir, source_dir() + "/scenarios/examples/nginx-failover.json", {"--duration", "40s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  ASSERT_TRUE(o.results.is_object()) << o.stderr_text;
  // Replica b's proxy answered 503 to what reached it while the edge stayed clean.
  const json& errors = o.results["phases"][1];
  EXPECT_GT(errors["faults"]["b"]["faults_injected"].get<double>(), 0) << errors.dump();
  expect_nothing_left(o.results, dir.file("out"));
}

TEST(OwnSystemE2E, RedisRestartExamplePassesWithPromql) {
  if (!have("prometheus")) {
    if (std::getenv("CI")) FAIL() << "prometheus is not installed";
    GTEST_SKIP() << "prometheus is not installed";
  }
  TempDir dir;
  auto o = run(dir, source_dir() + "/scenarios/examples/redis-restart.json", {"--duration", "40s"});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  const json* a = find_assertion(o.results, "a frozen shard fails only its own share");
  ASSERT_NE(a, nullptr) << o.stdout_text;
  EXPECT_TRUE((*a)["measured"].is_number()) << a->dump();
  EXPECT_NE(o.results["timeline"].dump().find("restart redis:1: ready again after"),
            std::string::npos);
  expect_nothing_left(o.results, dir.file("out"));
  // Signals, a restart and promql values: `report build` gives the same verdicts (issue 21).
  expect_report_build_matches(dir, dir.file("out"));
}

// Issue 22 #5: a SIGKILLed runner leaves nothing behind, not even what its processes started (a
// shell's background job, reparented to init, kept running before the process-group keeper).
TEST(OwnSystemE2E, SigkilledRunnerLeavesNoGrandchildren) {
  TempDir dir;
  // A marker no other process has: the grandchild is `sleep <marker>`.
  const std::string marker = std::to_string(600 + (::getpid() % 1000)) + ".4242";
  json s = own_scenario();
  s["duration"] = "60s";
  s["services"]["processes"].push_back(
      {{"name", "forker"},
       {"command", {"sh", "-c", "sleep " + marker + " & sleep " + marker + "; wait"}}});
  Subprocess runner(
      {faultline_bin(), "run", write_json(dir, "s.json", s), "--out", dir.file("out")},
      dir.file("stderr.log"));
  // The shell and both sleeps (its child and its background job) are up once the run started.
  std::vector<std::string> found;
  for (int i = 0; i < 200 && found.size() < 3; ++i) {
    std::this_thread::sleep_for(100ms);
    found = processes_mentioning(marker);
  }
  ASSERT_EQ(found.size(), 3u) << "the scenario's process did not start";
  ASSERT_TRUE(runner.running());
  runner.signal(SIGKILL);
  runner.wait(5000ms);
  for (int i = 0; i < 50 && !found.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    found = processes_mentioning(marker);
  }
  EXPECT_TRUE(found.empty()) << "left running: " << found.front();
}

// Issue 23 item 8: PostgreSQL and PgBouncer refuse to run as root; a process may name the user
// (and group) it runs as, and its directory is then its own.
TEST(OwnSystemE2E, AProcessRunsAsTheUserItNames) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the runner switches users)";
  TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));  // nobody walks in
  json s = json::parse(R"({
    "name": "as-user", "duration": "2s",
    "services": {"processes": [
      {"name": "worker", "user": "nobody",
       "command": ["sh", "-c", "id -u > whoami; id -g >> whoami; echo \"home=$HOME\"; echo ready; exec sleep 100"],
       "files": {"conf/app.conf": "written by the runner"},
       "ready": {"log": "ready", "timeout": "10s"}}]},
    "timeline": [{"at": "0s", "phase": "one"}]
  })");
  auto o = run(dir, write_json(dir, "s.json", s), {});
  EXPECT_EQ(o.code, 0) << o.stdout_text << o.stderr_text;
  std::ifstream who(dir.file("out") + "/worker/whoami");
  std::string uid, gid;
  who >> uid >> gid;
  EXPECT_EQ(uid, "65534");  // nobody
  EXPECT_EQ(gid, "65534");  // nogroup
  struct stat st {};
  ASSERT_EQ(::stat((dir.file("out") + "/worker/conf/app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);

  // An unknown user is an error at its path before anything starts.
  s["services"]["processes"][0]["user"] = "faultline-no-such-user";
  TempDir dir2;
  auto bad = run(dir2, write_json(dir2, "s.json", s), {});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(
      bad.stderr_text.find("$.services.processes[0].user: no user \"faultline-no-such-user\""),
      std::string::npos)
      << bad.stderr_text;
}
