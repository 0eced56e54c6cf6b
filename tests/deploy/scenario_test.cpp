// deploy/kubernetes/scenario-attach.json, the runbook's example of judging a distributed load with
// `faultline run` in attach mode, is a valid scenario for the runner as it is (parsed and
// validated by the runner's own parser, every error with its JSON path), and drives what the
// manifests ship: the standalone proxy's API, the Pushgateway Service, the load Job's directory.
#include <gtest/gtest.h>

#include "runner/scenario/scenario.hpp"
#include "tests/deploy/deploy_support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace faultline::test::deploy;

TEST(AttachScenario, IsAValidScenarioForTheRunner) {
  const std::string dir = source_dir() + "/deploy/kubernetes";
  const auto doc = nlohmann::json::parse(read_text(dir + "/scenario-attach.json"));
  try {
    const runner::Scenario s = runner::parse_scenario(doc, dir);
    EXPECT_EQ(s.name, "cluster-edge-latency");
  } catch (const ConfigError& e) {
    FAIL() << e.what();
  }
  // The parser does bite: the same scenario with a toxic on a proxy it does not list is refused.
  auto broken = doc;
  broken["timeline"][2]["actions"][0]["proxy"] = "nowhere";
  EXPECT_THROW(runner::parse_scenario(broken, dir), ConfigError);
  const std::string text = read_text(dir + "/scenario-attach.json");
  EXPECT_NE(text.find("svc/faultline-pushgateway"), std::string::npos);
  EXPECT_NE(text.find("kubectl apply -k ${scenario_dir}/load"), std::string::npos);
  EXPECT_NE(text.find("faultline-target:8080"), std::string::npos);
}
