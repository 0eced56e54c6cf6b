// Two configurations of real third-party software compared with one scenario file (issue 23,
// "Done when"): scenarios/examples/nginx-next-upstream.json runs Debian's nginx in front of two
// target replicas, replica b behind an HTTP chaos proxy that answers 503 for the middle phase. The
// nginx.conf is a {"template": ...} file whose proxy_next_upstream comes from the scenario
// variable NEXT_UPSTREAM. With the scenario's default ("error timeout http_503 non_idempotent")
// nginx retries b's 503s on a and the run passes; with --var NEXT_UPSTREAM=off it passes them on
// and the run fails on "nginx hides b's 503s" (and the amplification against b), nothing else.
// docs/own-system.md shows the same two commands with a full-length run's figures.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "common/subprocess.hpp"
#include "tests/runner/e2e_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

struct Outcome : RunOutcome {
  std::string output;  // stdout and stderr
  std::string nginx_conf;
};

// The shipped scenario compressed to 18 s (three 6 s phases), with `extra` flags.
Outcome run(const TempDir& dir, std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--duration", "18s"});
  Outcome o{run_scenario_cli(dir, source_dir() + "/scenarios/examples/nginx-next-upstream.json",
                             extra, 90s),
            "", ""};
  o.output = o.stdout_text + o.stderr_text;
  std::ifstream conf(dir.file("out") + "/nginx/nginx.conf");
  o.nginx_conf.assign(std::istreambuf_iterator<char>(conf), {});
  return o;
}

const json& assertion(const json& results, const std::string& name) {
  static const json missing;
  if (const json* a = find_assertion(results, name)) return *a;
  ADD_FAILURE() << "no assertion named " << name;
  return missing;
}

double measured(const json& a) {
  return a.contains("measured") && a["measured"].is_number() ? a["measured"].get<double>() : -1;
}

}  // namespace

TEST(NginxNextUpstreamE2E, RetryingHidesTheBadReplicaAndOffDoesNot) {
  if (!find_program("nginx") || !find_program("redis-server")) {
    if (std::getenv("CI")) FAIL() << "nginx or redis-server is not installed";
    GTEST_SKIP() << "nginx or redis-server is not installed";
  }
  // The scenario's own configuration: proxy_next_upstream error timeout http_503 non_idempotent.
  TempDir on_dir;
  const auto on = run(on_dir, {});
  ASSERT_TRUE(on.results.is_object()) << on.output;
  EXPECT_EQ(on.code, 0) << on.output;
  EXPECT_EQ(on.results["verdict"], "pass") << on.results["assertions"].dump(1);
  EXPECT_NE(on.nginx_conf.find("proxy_next_upstream error timeout http_503 non_idempotent;"),
            std::string::npos)
      << on.nginx_conf;
  const json& on_hides = assertion(on.results, "nginx hides b's 503s");
  EXPECT_EQ(on_hides["verdict"], "pass") << on_hides.dump();
  EXPECT_LE(measured(on_hides), 0.01) << on_hides.dump();
  // b was really failing: its proxy answered 503 to what nginx still sent it (probes after each
  // fail_timeout).
  const json& on_fault_phase = on.results["phases"][1];
  EXPECT_GT(on_fault_phase["faults"]["b"]["faults_injected"].get<double>(), 0)
      << on_fault_phase.dump();
  expect_nothing_left(on.results, on_dir.file("out"));

  // The same file with proxy_next_upstream off: b's 503s reach the client.
  TempDir off_dir;
  const auto off = run(off_dir, {"--var", "NEXT_UPSTREAM=off"});
  ASSERT_TRUE(off.results.is_object()) << off.output;
  EXPECT_EQ(off.code, 1) << off.output;
  EXPECT_EQ(off.results["verdict"], "fail");
  EXPECT_NE(off.nginx_conf.find("proxy_next_upstream off;"), std::string::npos) << off.nginx_conf;
  const json& off_hides = assertion(off.results, "nginx hides b's 503s");
  EXPECT_EQ(off_hides["verdict"], "fail") << off_hides.dump();
  // Round robin sends b about half the requests and nothing takes it out of rotation (with
  // `off` a 503 is not a failed attempt for max_fails): a large share of errors, not a few.
  EXPECT_GT(measured(off_hides), 0.2) << off_hides.dump();
  const json& amplification = assertion(off.results, "b's 503s are not amplified at the edge");
  EXPECT_EQ(amplification["verdict"], "fail") << amplification.dump();
  // Only the fault phase's assertions fail: the baseline and the recovery are clean.
  EXPECT_EQ(assertion(off.results, "baseline has no errors")["verdict"], "pass");
  // (A request or two sent while the recovery's remove_toxic runs may still get b's 503.)
  EXPECT_EQ(assertion(off.results, "clean again once b is back")["verdict"], "pass");
  const json& off_fault_phase = off.results["phases"][1];
  EXPECT_GT(off_fault_phase["faults"]["b"]["faults_injected"].get<double>(),
            10 * on_fault_phase["faults"]["b"]["faults_injected"].get<double>())
      << off_fault_phase.dump();
  expect_nothing_left(off.results, off_dir.file("out"));
}
