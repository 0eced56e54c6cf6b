// `faultline run` end to end with real child processes (target, proxy, load, redis-server) on
// loopback: the timeline runs on time, results/junit/report/file_sd are written, bad input exits 2
// naming the JSON path or the component, Ctrl-C tears everything down, and nothing is left behind
// (no child process, no listening port). Timelines are compressed to a few seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// A target behind a TCP proxy; 2 s baseline, 2 s with 50 ms of added latency, 2 s recovery.
json tiny_scenario() {
  return json::parse(R"({
    "name": "tiny",
    "duration": "6s",
    "services": {
      "target": {"mode": "resilient", "store": "memory", "threads": 1},
      "proxies": [{"name": "front", "protocol": "tcp", "upstream": "target"}]
    },
    "load": {
      "via": "front", "rate": 50, "connections": 8, "timeout": "2s",
      "workload": {"mix": [{"name": "paste", "flow": [
        {"name": "create", "method": "POST", "url": "/pastes", "body": "tiny ${seq} ${rand_hex:8}",
         "capture": {"id": {"json": "/id"}}},
        {"name": "read", "method": "GET", "url": "/p/${id}"}]}]}
    },
    "timeline": [
      {"at": "0s", "phase": "baseline"},
      {"at": "2s", "phase": "slow", "actions": [
        {"action": "add_toxic", "proxy": "front",
         "toxic": {"name": "lat", "type": "latency", "attributes": {"latency": 50}}}]},
      {"at": "4s", "phase": "recovery", "actions": [
        {"action": "remove_toxic", "proxy": "front", "toxic": "lat"}]}
    ],
    "assertions": [
      {"name": "baseline errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01},
      {"name": "slow p50", "kind": "latency", "phase": "slow", "percentile": "p50", "max": "1s"}
    ]
  })");
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(RunE2E, TimelineOnTimeReportsWrittenNothingLeft) {
  TempDir dir;
  const std::string scenario = write_json(dir, "tiny.json", tiny_scenario());
  const std::string out = dir.file("out");
  const std::string sd = dir.file("sd.json");
  auto [code, stdout_text] = run_faultline({"run", scenario, "--out", out, "--prometheus-sd", sd},
                                           dir.file("stderr.log"), 60s);
  ASSERT_EQ(code, 0) << stdout_text << slurp(dir.file("stderr.log"));
  EXPECT_NE(stdout_text.find("PASS"), std::string::npos) << stdout_text;

  json r = load_json_file(out + "/results.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(r["scenario"]["name"], "tiny");
  ASSERT_EQ(r["phases"].size(), 3u);
  // Timeline timing on the monotonic clock: every action within 250 ms of its scheduled time.
  const double scheduled[] = {2.0, 4.0};
  std::size_t actions = 0;
  for (const auto& t : r["timeline"]) {
    if (t["phase"] == "slow" || t["phase"] == "recovery") {
      ASSERT_LT(actions, 2u);
      EXPECT_NEAR(t["at_seconds"].get<double>(), scheduled[actions], 0.25) << t.dump();
      ++actions;
    }
  }
  EXPECT_EQ(actions, 2u);
  for (std::size_t i = 1; i < 3; ++i)
    EXPECT_NEAR(r["phases"][i]["start_seconds"].get<double>(), 2.0 * static_cast<double>(i), 0.3);
  // The fault is visible in the numbers: 50 ms added in the slow phase only.
  EXPECT_FALSE(r["phases"][0]["fault"].get<bool>());
  EXPECT_TRUE(r["phases"][1]["fault"].get<bool>());
  EXPECT_GE(r["phases"][1]["load"]["latency_seconds"]["p50"].get<double>(), 0.045);
  EXPECT_LT(r["phases"][0]["load"]["latency_seconds"]["p50"].get<double>(), 0.045);
  // The timeline counts from the load generator's own second 0, so no request that met the
  // latency toxic is counted in the baseline.
  EXPECT_LT(r["phases"][0]["load"]["latency_seconds"]["p99"].get<double>(), 0.045);
  EXPECT_GT(r["phases"][0]["load"]["requests"]["total"].get<int>(), 100);
  // A tcp proxy's "requests" are the connections it accepted, and the load may have opened all 8
  // in the baseline (issue 23.3): the connections it carried in the phase are always there.
  EXPECT_GT(r["phases"][1]["faults"]["front"]["connections"].get<double>(), 0);
  EXPECT_GT(r["phases"][1]["faults"]["front"]["faults_injected"].get<double>(), 0);
  EXPECT_GE(r["series"].size(), 5u);
  EXPECT_TRUE(r["series"][0].contains("target_rss_bytes"));
  ASSERT_EQ(r["assertions"].size(), 2u);
  EXPECT_EQ(r["assertions"][1]["verdict"], "pass");

  EXPECT_TRUE(std::filesystem::exists(out + "/junit.xml"));
  EXPECT_TRUE(std::filesystem::exists(out + "/report.html"));
  json targets = load_json_file(sd);
  ASSERT_EQ(targets.size(), 3u);  // target, proxy API, load generator
  for (const auto& t : targets)
    EXPECT_EQ(t["targets"].size(), 1u);
  expect_nothing_left(r, out);
}

// The contract the timeline alignment rests on: with --metrics-listen, `faultline load` prints
// "started at UNIX_SECONDS" (when second 0 of its intervals begins) after its "listening on" line.
TEST(RunE2E, LoadReportsWhenItsIntervalsStart) {
  TempDir dir;
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto [code, out] =
      run_faultline({"load", "http://127.0.0.1:1/", "--rate", "5", "--duration", "1s",
                     "--metrics-listen", "127.0.0.1:0", "--intervals-out", dir.file("i.jsonl")},
                    dir.file("stderr.log"), 30s);
  (void)code;  // every request fails (nothing listens on port 1); the exit code is not the point
  const auto listening = out.find("listening on ");
  const auto started = out.find("started at ");
  ASSERT_NE(listening, std::string::npos) << out;
  ASSERT_NE(started, std::string::npos) << out;
  EXPECT_LT(listening, started);
  const double at = std::strtod(out.c_str() + started + 11, nullptr);
  EXPECT_GT(at, before);
  EXPECT_LT(at, before + 20);
}

TEST(RunE2E, FailedAssertionExits1AndNamesIt) {
  TempDir dir;
  json s = tiny_scenario();
  s["duration"] = "3s";
  s["timeline"] = json::parse(R"([{"at": "0s", "phase": "baseline"},
      {"at": "1s", "phase": "slow", "actions": [{"action": "add_toxic", "proxy": "front",
        "toxic": {"name": "lat", "type": "latency", "attributes": {"latency": 50}}}]}])");
  s["assertions"] = json::parse(
      R"([{"name": "slow p50 under 10 ms", "kind": "latency", "phase": "slow",
           "percentile": "p50", "max": "10ms"}])");
  auto [code, text] = run_faultline({"run", write_json(dir, "s.json", s), "--out", dir.file("out")},
                                    dir.file("stderr.log"), 60s);
  EXPECT_EQ(code, 1) << text;
  EXPECT_NE(text.find("slow p50 under 10 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL"), std::string::npos) << text;
  json r = load_json_file(dir.file("out") + "/results.json");
  EXPECT_EQ(r["verdict"], "fail");
  EXPECT_GT(r["assertions"][0]["measured"].get<double>(), 0.045);
}

TEST(RunE2E, BadScenariosExit2WithTheJsonPath) {
  TempDir dir;
  json s = tiny_scenario();
  s["load"]["rate"] = "fast";
  s["timeline"][1]["actions"][0]["proxy"] = "nowhere";
  auto [code, text] = run_faultline({"run", write_json(dir, "bad.json", s)}, dir.file("err1"));
  EXPECT_EQ(code, 2);
  const std::string err = slurp(dir.file("err1"));
  EXPECT_NE(err.find("$.load.rate"), std::string::npos) << err;
  EXPECT_NE(err.find("$.timeline[1].actions[0].proxy"), std::string::npos) << err;

  std::ofstream(dir.file("syntax.json")) << "{\"name\": ";
  EXPECT_EQ(run_faultline({"run", dir.file("syntax.json")}, dir.file("err2")).first, 2);
  EXPECT_NE(slurp(dir.file("err2")).find("invalid JSON"), std::string::npos);
  EXPECT_EQ(run_faultline({"run", dir.file("missing.json")}, dir.file("err3")).first, 2);
  const std::string good = write_json(dir, "good.json", tiny_scenario());
  EXPECT_EQ(
      run_faultline({"run", good, "--set", "services.target.mode=clever"}, dir.file("err4")).first,
      2);
  EXPECT_NE(slurp(dir.file("err4")).find("$.services.target.mode"), std::string::npos);
  EXPECT_EQ(run_faultline({"run", good, "--duration", "soon"}, dir.file("err5")).first, 2);
  EXPECT_NE(slurp(dir.file("err5")).find("--duration"), std::string::npos);
}

// The proxy's toxic rules, the load generator's stages grammar and the workload's request names
// reject a scenario before anything starts: exit 2 at once, every JSON path on stderr, no output
// directory (nothing was started, no timeline waited for).
TEST(RunE2E, ComponentRulesRejectTheScenarioBeforeAnythingStarts) {
  TempDir dir;
  json s = tiny_scenario();
  s["timeline"][1]["actions"][0]["toxic"]["type"] = "no_such_toxic";
  s["timeline"][2]["actions"][0] = json::parse(
      R"({"action": "update_toxic", "proxy": "front", "toxic": "lat",
          "attributes": {"latency": -1}})");
  s["services"]["proxies"][0]["toxics"] = json::parse(R"([{"type": "latency", "name": "lat"}])");
  s["load"]["stages"] = "30s";
  s["assertions"][0]["request"] = "paste.write";
  const std::string out = dir.file("out");
  const auto t0 = std::chrono::steady_clock::now();
  auto [code, text] =
      run_faultline({"run", write_json(dir, "bad.json", s), "--out", out}, dir.file("err"), 20s);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(code, 2) << text;
  EXPECT_LT(took, 5s);
  const std::string err = slurp(dir.file("err"));
  for (const char* path :
       {"$.timeline[1].actions[0].toxic.type: unknown toxic type \"no_such_toxic\"",
        "$.timeline[2].actions[0].attributes.latency", "$.load.stages",
        "$.assertions[0].request: no request named \"paste.write\""})
    EXPECT_NE(err.find(path), std::string::npos) << path << " in:\n" << err;
  EXPECT_FALSE(std::filesystem::exists(out)) << "something was started";
}

// Issue 21: the load options a scenario gives are checked by the load generator's own rules
// (loadgen/load_options.hpp); before, these three passed validation and the run then died at
// start-up with "load exited during start-up".
TEST(RunE2E, LoadOptionsTheLoadGeneratorRefusesRejectTheScenarioBeforeAnythingStarts) {
  TempDir dir;
  const std::string out = dir.file("out");
  struct Case {
    const char* member;
    json value;
    const char* error;
  };
  for (const Case& c :
       {Case{"connections", 200000, "$.load.connections"}, Case{"timeout", "0s", "$.load.timeout"},
        Case{"stages", "5s:10,5s:20", "$.load.stages"}}) {
    json s = tiny_scenario();
    if (std::string(c.member) == "stages") {
      s["load"].erase("rate");
      s["load"].erase("users");
    }
    s["load"][c.member] = c.value;
    const auto t0 = std::chrono::steady_clock::now();
    auto [code, text] =
        run_faultline({"run", write_json(dir, "bad.json", s), "--out", out}, dir.file("err"), 20s);
    EXPECT_EQ(code, 2) << c.member << ": " << text;
    // Under a second on an idle machine; generous for a sanitizer build on a busy one.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << c.member;
    const std::string err = slurp(dir.file("err"));
    EXPECT_NE(err.find(c.error), std::string::npos) << c.member << ":\n" << err;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.member << ": something was started";
  }
}

TEST(RunE2E, ComponentThatFailsToStartExits2NamingIt) {
  TempDir dir;
  json s = tiny_scenario();
  s["services"]["target"]["args"] = {"--no-such-flag"};
  const std::string out = dir.file("out");
  auto [code, text] =
      run_faultline({"run", write_json(dir, "s.json", s), "--out", out}, dir.file("err"), 60s);
  EXPECT_EQ(code, 2) << text;
  const std::string err = slurp(dir.file("err"));
  EXPECT_NE(err.find("target exited during start-up"), std::string::npos) << err;
  json r = load_json_file(out + "/results.json");
  EXPECT_EQ(r["verdict"], "error");
  EXPECT_TRUE(r["phases"].empty());
  expect_nothing_left(r, out);
}

TEST(RunE2E, SigintTearsEverythingDown) {
  TempDir dir;
  json s = tiny_scenario();
  s["duration"] = "60s";
  const std::string out = dir.file("out");
  Subprocess run({faultline_bin(), "run", write_json(dir, "s.json", s), "--out", out},
                 dir.file("err"));
  // Wait until the load generator is running (its interval file grows), then Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline &&
         slurp(out + "/load-intervals.jsonl").size() < 10)
    std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(processes_mentioning(out).empty());
  const auto t0 = std::chrono::steady_clock::now();
  run.signal(SIGINT);
  const int code = run.wait(std::chrono::milliseconds(15000));
  EXPECT_EQ(code, 130);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  json r = load_json_file(out + "/results.json");
  EXPECT_EQ(r["verdict"], "interrupted");  // what completed is evaluated (issue #11)
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_GE(r["phases"].size(), 1u);
  expect_nothing_left(r, out);
}

// Issue 23 item 9: a second run into the same --out found the first run's data (initdb refused)
// and appended to its logs. Now a non-empty --out is refused before anything starts, and
// --overwrite empties it only when it holds an earlier run.
TEST(RunE2E, ANonEmptyOutIsRefusedAndOverwriteReplacesAnEarlierRun) {
  TempDir dir;
  json s = tiny_scenario();
  s["duration"] = "2s";
  s["timeline"] = json::parse(R"([{"at": "0s", "phase": "baseline"}])");
  s["assertions"] = json::parse(
      R"([{"name": "baseline errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01}])");
  const std::string scenario = write_json(dir, "s.json", s);
  const std::string out = dir.file("out");
  std::filesystem::create_directories(out + "/logs");
  std::ofstream(out + "/results.json") << "{\"verdict\": \"fail\"}";
  std::ofstream(out + "/logs/target.log") << "an earlier run's log\n";

  auto [refused, text] = run_faultline({"run", scenario, "--out", out}, dir.file("err"), 20s);
  EXPECT_EQ(refused, 2) << text;
  EXPECT_NE(slurp(dir.file("err")).find("is not empty (it holds an earlier run)"),
            std::string::npos)
      << slurp(dir.file("err"));
  EXPECT_EQ(slurp(out + "/logs/target.log"), "an earlier run's log\n");

  auto [code, text2] =
      run_faultline({"run", scenario, "--out", out, "--overwrite"}, dir.file("err2"), 60s);
  EXPECT_EQ(code, 0) << text2 << slurp(dir.file("err2"));
  EXPECT_EQ(load_json_file(out + "/results.json")["verdict"], "pass");
  EXPECT_EQ(slurp(out + "/logs/target.log").find("an earlier run's log"), std::string::npos);

  // A directory that holds no run is never emptied, --overwrite or not.
  const std::string mine = dir.file("mine");
  std::filesystem::create_directories(mine);
  std::ofstream(mine + "/notes.txt") << "keep";
  auto [kept, text3] =
      run_faultline({"run", scenario, "--out", mine, "--overwrite"}, dir.file("err3"), 20s);
  EXPECT_EQ(kept, 2) << text3;
  EXPECT_EQ(slurp(mine + "/notes.txt"), "keep");
}

// Issue 23 item 14: `faultline run --validate` checks what a run would need without starting
// anything: the parse, the placeholders, the programs, the PromQL queries (through a throw-away
// Prometheus), and leaves --out alone.
TEST(RunE2E, ValidateChecksProgramsAndQueriesAndStartsNothing) {
  TempDir dir;
  const std::string out = dir.file("out");
  auto [ok, text] = run_faultline(
      {"run", write_json(dir, "ok.json", tiny_scenario()), "--out", out, "--validate"},
      dir.file("err"), 20s);
  EXPECT_EQ(ok, 0) << text << slurp(dir.file("err"));
  EXPECT_NE(text.find("valid"), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(out));

  json s = tiny_scenario();
  s["services"]["processes"] =
      json::parse(R"([{"name": "api", "command": ["/nonexistent/faultline-test-api"]}])");
  s["timeline"][1]["actions"].push_back(
      json::parse(R"({"action": "exec", "command": ["faultline-no-such-program"]})"));
  s["assertions"].push_back(json::parse(
      R"J({"name": "bad query", "kind": "promql", "phase": "slow", "max": 1,
          "query": "sum(rate(http_requests_total[phase])"})J"));
  // Issue 23 item 10: the phase placeholders as Prometheus sees them — another phase's window
  // comes with its offset, so a second offset is caught; the other forms are accepted.
  s["assertions"].push_back(json::parse(
      R"J({"name": "two offsets", "kind": "promql", "phase": "slow", "max": 1,
          "query": "sum(max_over_time(up[phases.baseline:1s] offset 5s))"})J"));
  s["assertions"].push_back(json::parse(
      R"J({"name": "good forms", "kind": "promql", "phase": "recovery", "max": 1,
          "query": "max_over_time(sum(up)[phase:1s]) + sum(avg_over_time(up[phases.baseline])) + sum(up offset ${phase.duration})"})J"));
  auto [bad, text2] = run_faultline(
      {"run", write_json(dir, "bad.json", s), "--out", out, "--validate"}, dir.file("err2"), 60s);
  EXPECT_EQ(bad, 2) << text2;
  const std::string err = slurp(dir.file("err2"));
  for (const char* want :
       {"$.services.processes[0].command[0]: \"/nonexistent/faultline-test-api\" does not exist",
        "$.timeline[1].actions[1].command[0]: \"faultline-no-such-program\" is not found in PATH",
        "$.assertions[2].query: Prometheus rejects the query",
        "$.assertions[3].query: Prometheus rejects the query"})
    EXPECT_NE(err.find(want), std::string::npos) << want << " in:\n" << err;
  EXPECT_EQ(err.find("$.assertions[4]"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));

  // A relative bound naming a phase that does not exist, and a misspelt phase placeholder: parse
  // errors at their members' paths (issue 23 items 10 and 11).
  json t = tiny_scenario();
  t["assertions"][1]["max"] = "basline.p50 * 3 + 20ms";
  t["assertions"].push_back(json::parse(
      R"J({"name": "q", "kind": "promql", "phase": "slow", "max": 1, "query": "up[phase_offset]"})J"));
  auto [bad2, text3] = run_faultline(
      {"run", write_json(dir, "bad2.json", t), "--out", out, "--validate"}, dir.file("err3"), 20s);
  EXPECT_EQ(bad2, 2) << text3;
  const std::string err3 = slurp(dir.file("err3"));
  for (const char* want : {"$.assertions[1].max: no timeline phase named \"basline\"",
                           "$.assertions[2].query: \"[phase_offset]\": unknown phase window"})
    EXPECT_NE(err3.find(want), std::string::npos) << want << " in:\n" << err3;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// --var's bad form: exit 2 naming the flag, before anything starts.
TEST(RunE2E, VarWithoutAValueIsRefused) {
  TempDir dir;
  const std::string out = dir.file("out");
  auto [code, text] = run_faultline(
      {"run", write_json(dir, "s.json", tiny_scenario()), "--out", out, "--var", "NOEQUALS"},
      dir.file("err"), 20s);
  EXPECT_EQ(code, 2) << text;
  EXPECT_NE(slurp(dir.file("err")).find("--var: expected NAME=VALUE"), std::string::npos)
      << slurp(dir.file("err"));
  EXPECT_FALSE(std::filesystem::exists(out));
}
