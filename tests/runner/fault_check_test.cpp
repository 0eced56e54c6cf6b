// Issue 23.2: a fault phase whose toxics injected nothing is found from the scenario's toxics and
// the proxy's counters, warned about, and makes the assertions that require faults inconclusive
// (not a pass: the run's verdict is fail). A tcp toxic's draw holds for its connection, so a later
// phase of the same toxic is not "idle"; an http toxic draws per request, so it is.
#include <gtest/gtest.h>

#include "runner/ledger/fault_check.hpp"
#include "runner/ledger/results.hpp"
#include "runner/scenario/scenario.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

Scenario scenario(const std::string& protocol) {
  json doc = json::parse(R"({
    "name": "idle", "duration": "40s",
    "services": {"target": {"mode": "resilient"},
                 "proxies": [{"name": "front", "protocol": "tcp", "upstream": "target"}]},
    "timeline": [
      {"at": "0s", "phase": "baseline"},
      {"at": "10s", "phase": "reset", "actions": [{"action": "add_toxic", "proxy": "front",
        "toxic": {"name": "r", "type": "reset_peer", "toxicity": 0.2}}]},
      {"at": "20s", "phase": "still", "actions": [{"action": "exec", "command": ["true"]}]},
      {"at": "30s", "phase": "recovery", "actions": [
        {"action": "remove_toxic", "proxy": "front", "toxic": "r"}]}
    ],
    "assertions": [
      {"name": "amp", "kind": "error_amplification", "phase": "reset", "proxy": "front",
       "max": 100, "per": "connection"},
      {"name": "errors", "kind": "error_ratio", "phase": "reset", "max": 0.5},
      {"name": "errors required", "kind": "error_ratio", "phase": "reset", "max": 0.5,
       "require_faults": true},
      {"name": "amp not required", "kind": "error_amplification", "phase": "reset",
       "proxy": "front", "max": 100, "per": "connection", "require_faults": false}
    ]
  })");
  if (protocol == "http") {
    doc["services"]["proxies"][0]["protocol"] = "http";
    doc["timeline"][1]["actions"][0]["toxic"] =
        json::parse(R"({"name": "r", "type": "http_error", "toxicity": 0.2})");
  }
  return parse_scenario(doc, "/tmp");
}

RunMeasurements measured(std::vector<double> faults) {
  RunMeasurements m;
  const char* names[] = {"baseline", "reset", "still", "recovery"};
  for (std::size_t k = 0; k < 4; ++k) {
    PhaseStats p;
    p.name = names[k];
    p.start_seconds = 10.0 * static_cast<double>(k);
    p.end_seconds = p.start_seconds + 10;
    p.load.present = true;
    p.load.total = 1000;
    p.load.ok = 990;
    p.load.failed = 10;
    p.load.error_ratio = 0.01;
    FaultStats f;
    f.requests = k == 0 ? 4 : 0;  // a pool: its 4 connections opened in the baseline
    f.faults_injected = faults[k];
    f.connections = 4;
    f.faults_per_connection = faults[k] / 4;
    p.faults["front"] = f;
    m.phases.push_back(p);
    m.by_name[p.name] = p;
  }
  return m;
}

}  // namespace

TEST(FaultCheck, ToxicsThatDrewNothingAreWarnedAndMakeRequiringAssertionsInconclusive) {
  const Scenario s = scenario("tcp");
  const RunMeasurements m = measured({0, 0, 0, 0});
  const auto idle = idle_toxics(s, m);
  // reset (the toxic was added) and still (it stayed): nothing drawn on the 4 pooled connections.
  ASSERT_EQ(idle.size(), 2u);
  EXPECT_EQ(idle[0].phase, "reset");
  EXPECT_EQ(idle[1].phase, "still");
  EXPECT_EQ(idle[1].since_phase, "reset");
  EXPECT_EQ(warning_text(idle[0]),
            "phase reset (from 10.0 s): the toxics of proxy front (r) injected no fault (0 "
            "requests, 4 connections); the phase measured the system without its fault");
  auto results = evaluate_assertions(s, m, 4);
  ASSERT_EQ(results.size(), 4u);
  mark_inconclusive(s, idle, results);
  EXPECT_TRUE(results[0].inconclusive);  // error_amplification requires faults by default
  EXPECT_FALSE(results[0].pass);
  EXPECT_NE(results[0].message.find("inconclusive (require_faults): phase reset"),
            std::string::npos)
      << results[0].message;
  EXPECT_FALSE(results[1].inconclusive);  // error_ratio does not, unless asked
  EXPECT_TRUE(results[1].pass) << results[1].message;
  EXPECT_TRUE(results[2].inconclusive);
  EXPECT_FALSE(results[3].inconclusive);  // "require_faults": false: judged as measured
  // An inconclusive assertion never lets the run pass.
  EXPECT_EQ(verdict_of(results), Verdict::fail);
  RunInfo info;
  EXPECT_EQ(decide_verdict(info, results), 1);
  const json doc = results_to_json(s, info, m, {}, results);
  EXPECT_EQ(doc["assertions"][0]["verdict"], "inconclusive");
  EXPECT_EQ(doc["assertions"][1]["verdict"], "pass");
}

TEST(FaultCheck, ATcpDrawHoldsForItsConnectionAnHttpDrawForItsRequest) {
  // tcp: 2 draws when the toxic was added; the next phase draws nothing new but the faults hold.
  EXPECT_TRUE(idle_toxics(scenario("tcp"), measured({0, 2, 0, 0})).empty());
  // http: a phase whose requests drew nothing had no fault, whatever the phase before drew.
  const auto idle = idle_toxics(scenario("http"), measured({0, 2, 0, 0}));
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].phase, "still");
  EXPECT_TRUE(idle[0].since_phase.empty());
  // No scrape for a phase (no faults entry): not judged.
  RunMeasurements m = measured({0, 0, 0, 0});
  m.phases[1].faults.clear();
  m.phases[2].faults.clear();
  EXPECT_TRUE(idle_toxics(scenario("http"), m).empty());
}

TEST(FaultCheck, RemovingOneTcpToxicKeepsTheOthersDraws) {
  // At "still", a second toxic is removed again: "r"'s draws on the open connections stay, so
  // "still" is judged from "reset" on; an update draws again, so it restarts the window.
  json doc = json::parse(R"({
    "name": "idle", "duration": "40s",
    "services": {"target": {"mode": "resilient"},
                 "proxies": [{"name": "front", "protocol": "tcp", "upstream": "target"}]},
    "timeline": [
      {"at": "0s", "phase": "baseline"},
      {"at": "10s", "phase": "reset", "actions": [
        {"action": "add_toxic", "proxy": "front", "toxic": {"name": "r", "type": "latency"}},
        {"action": "add_toxic", "proxy": "front", "toxic": {"name": "q", "type": "latency"}}]},
      {"at": "20s", "phase": "still", "actions": [
        {"action": "remove_toxic", "proxy": "front", "toxic": "q"}]},
      {"at": "30s", "phase": "recovery", "actions": [
        {"action": "update_toxic", "proxy": "front", "toxic": "r", "toxicity": 0.5}]}
    ]
  })");
  const Scenario s = parse_scenario(doc, "/tmp");
  const auto idle = idle_toxics(s, measured({0, 2, 0, 0}));
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].phase, "recovery");  // the update drew again, and nothing hit
  EXPECT_TRUE(idle[0].since_phase.empty());
}
