// `faultline envelope` argument and scenario checks (envelope_plan.cpp): a good plan, and each bad
// input rejected with the flag or JSON path it concerns; the CLI exits 2 with them.
#include <gtest/gtest.h>

#include <fstream>

#include "runner/envelope/envelope.hpp"
#include "runner/envelope/envelope_trial.hpp"
#include "tests/support/support.hpp"

namespace faultline::runner::envelope {
namespace {

const char* kScenario = R"({
  "name": "env-test",
  "duration": "6s",
  "services": {
    "target": {"mode": "resilient", "store": "memory"},
    "proxies": [{"name": "front", "protocol": "http", "upstream": "target",
                 "toxics": [{"name": "errs", "type": "http_error", "toxicity": 0,
                             "attributes": {"status": 503}}]}]
  },
  "load": {"via": "front", "rate": 20, "connections": 8,
           "workload": {"mix": [{"name": "health", "method": "GET", "url": "/healthz"}]}},
  "timeline": [
    {"at": "0s", "phase": "warmup"},
    {"at": "2s", "phase": "fault", "actions": [
      {"action": "add_toxic", "proxy": "front",
       "toxic": {"name": "slow", "type": "latency", "attributes": {"latency": 0}}}]}
  ],
  "assertions": [
    {"name": "p99", "kind": "latency", "phase": "fault", "percentile": "p99", "max": "100ms"},
    {"name": "errors", "kind": "error_ratio", "phase": "fault", "max": 0.01}
  ]
})";

class EnvelopePlan : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.file("s.json");
    std::ofstream(file_) << kScenario;
  }
  EnvelopeArgs args() const {
    EnvelopeArgs a;
    a.scenario = file_;
    a.load = "20..80";
    a.fault = "front/slow.latency=0..200";
    return a;
  }
  // The error text make_plan throws, or "" when it accepts.
  static std::string error_of(const EnvelopeArgs& a) {
    try {
      (void)make_plan(a);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  test::TempDir dir_;
  std::string file_;
};

TEST_F(EnvelopePlan, AGoodPlanFindsTheToxicInTheTimeline) {
  const Plan p = make_plan(args());
  EXPECT_EQ(p.load.from, 20);
  EXPECT_EQ(p.load.to, 80);
  EXPECT_EQ(p.fault.set_keys,
            (std::vector<std::string>{"timeline.1.actions.0.toxic.attributes.latency"}));
  EXPECT_TRUE(p.fault.integer);  // the latency attribute takes whole milliseconds
  EXPECT_EQ(p.fault.unit, "ms");
  EXPECT_EQ(p.resolution, 4);
  ASSERT_EQ(p.slo.size(), 2u);  // every assertion by default
  EXPECT_DOUBLE_EQ(*p.slo[0].max, 0.1);
  EXPECT_EQ(p.out_dir, "out/envelope-env-test");
  EXPECT_EQ(trial_overrides(p, Point{40, 62}),
            (std::vector<std::string>{"load.rate=40",
                                      "timeline.1.actions.0.toxic.attributes.latency=62"}));
}

TEST_F(EnvelopePlan, TheSystemIsReusedUnlessTheTimelineOrTheFlagSaysOtherwise) {
  const Plan p = make_plan(args());
  EXPECT_TRUE(p.reuse_system);
  EXPECT_EQ(p.fresh_reason, "");
  EXPECT_TRUE(p.recovery_assertions.empty());

  auto a = args();
  a.fresh_system = true;
  const Plan fresh = make_plan(a);
  EXPECT_FALSE(fresh.reuse_system);
  EXPECT_EQ(fresh.fresh_reason, "--fresh-system");

  // A timeline that stops the target: every trial starts the system afresh, and says why.
  json doc = json::parse(kScenario);
  doc["timeline"][1]["actions"].push_back(
      {{"action", "signal"}, {"process", "target"}, {"signal", "STOP"}});
  doc["timeline"].push_back(
      {{"at", "4s"},
       {"phase", "recovery"},
       {"actions", {{{"action", "signal"}, {"process", "target"}, {"signal", "CONT"}}}}});
  doc["assertions"].push_back({{"name", "recovers"},
                               {"kind", "recovery_time"},
                               {"phase", "recovery"},
                               {"baseline", "warmup"},
                               {"max", "1s"},
                               {"stable_seconds", 1}});
  a = args();
  a.scenario = test::write_json(dir_, "stopping.json", doc);
  a.slo = {"p99"};
  const Plan stopping = make_plan(a);
  EXPECT_FALSE(stopping.reuse_system);
  EXPECT_NE(stopping.fresh_reason.find("$.timeline[1].actions[1]"), std::string::npos)
      << stopping.fresh_reason;
  EXPECT_EQ(stopping.recovery_assertions, (std::vector<std::string>{"recovers"}));
}

TEST_F(EnvelopePlan, AnInitialToxicAndItsToxicityWork) {
  auto a = args();
  a.fault = "front/errs.toxicity=0..0.2";
  a.slo = {"errors"};
  const Plan p = make_plan(a);
  EXPECT_EQ(p.fault.set_keys, (std::vector<std::string>{"proxies.0.toxics.0.toxicity"}));
  EXPECT_FALSE(p.fault.integer);
  ASSERT_EQ(p.slo.size(), 1u);
  EXPECT_EQ(trial_overrides(p, Point{20.5, 0.05})[1], "proxies.0.toxics.0.toxicity=0.05");
}

TEST_F(EnvelopePlan, EachBadInputIsReportedWithItsPath) {
  struct Case {
    std::function<void(EnvelopeArgs&)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {[](auto& a) { a.fault = "nowhere/slow.latency=0..10"; },
       "$.services.proxies: --fault: no proxy named \"nowhere\" (the scenario's proxies: front)"},
      {[](auto& a) { a.fault = "front/fast.latency=0..10"; },
       "$.services.proxies[0]: --fault: no toxic named \"fast\" on proxy \"front\""},
      {[](auto& a) { a.fault = "front/slow.latncy=0..10"; },
       "$.timeline[1].actions[0].toxic.attributes.latncy"},
      {[](auto& a) { a.fault = "front/slow.latency=10..0"; }, "--fault: the range 10..0 is empty"},
      {[](auto& a) { a.fault = "front/slow.latency=5..5"; }, "--fault: the range 5..5 is empty"},
      {[](auto& a) { a.fault = "front-slow=0..5"; }, "--fault: expected PROXY/TOXIC.ATTRIBUTE"},
      {[](auto& a) { a.load = "80..20"; }, "--load: the range 80..20 is empty"},
      {[](auto& a) { a.load = "fast"; }, "--load: expected FROM..TO"},
      {[](auto& a) {
         a.slo = {"p99", "p95"};
       },
       "--slo[1]: no assertion named \"p95\""},
      {[](auto& a) { a.budget = "soon"; }, "--budget: expected a duration"},
      {[](auto& a) { a.trial_duration = "3s"; }, "phase"},  // a 1 s warm-up is too short
      {[](auto& a) { a.sets = {"load.stages=\"2s:10\""}; }, "$.load.stages: the envelope holds"},
      {[](auto& a) { a.fault = "front/slow.latency=0..-"; }, "--fault: expected FROM..TO"},
  };
  for (const auto& c : cases) {
    auto a = args();
    c.change(a);
    const std::string err = error_of(a);
    EXPECT_NE(err.find(c.expected), std::string::npos) << "expected \"" << c.expected << "\" in:\n"
                                                       << err;
  }
}

TEST_F(EnvelopePlan, TheCommandExitsTwoAndNamesThePath) {
  test::TempDir out;
  const auto [code, stdout_text] =
      test::run_faultline({"envelope", file_, "--load", "20..80", "--fault",
                           "front/slow.latncy=0..200", "--out", out.path().string()},
                          out.file("stderr"));
  EXPECT_EQ(code, 2);
  std::ifstream in(out.file("stderr"));
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find("$.timeline[1].actions[0].toxic.attributes.latncy"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out.file("envelope.json")));
}

TEST(EnvelopePlanShipped, TheShippedScenarioPlansAsDocumented) {
  EnvelopeArgs a;
  a.scenario = test::source_dir() + "/scenarios/envelope-redis-latency.json";
  a.load = "100..600";
  a.fault = "redis2/slow.latency=0..200";
  a.trial_duration = "10s";
  for (const std::string mode : {"resilient", "naive"}) {
    a.sets = {"target.mode=" + mode};
    const Plan p = make_plan(a);
    EXPECT_EQ(p.fault.set_keys,
              (std::vector<std::string>{"timeline.1.actions.0.toxic.attributes.latency"}));
    EXPECT_TRUE(p.fault.integer);
    ASSERT_EQ(p.slo.size(), 1u);
    EXPECT_DOUBLE_EQ(*p.slo[0].max, 0.1);
  }
}

TEST(EnvelopeMargin, RelativeToTheBound) {
  EXPECT_DOUBLE_EQ(*slo_margin(SloBound{"a", 0.1, std::nullopt}, 0.05), 0.5);
  EXPECT_DOUBLE_EQ(*slo_margin(SloBound{"a", 0.1, std::nullopt}, 0.15), -0.5);
  EXPECT_DOUBLE_EQ(*slo_margin(SloBound{"a", std::nullopt, 100.0}, 90), -0.1);
  EXPECT_DOUBLE_EQ(*slo_margin(SloBound{"a", 1.5, 0.5}, 1.4), 0.1 / 1.5);
  EXPECT_FALSE(slo_margin(SloBound{"a", 0.1, std::nullopt}, std::nullopt));
}

// A relative max ("baseline.p99 * 3 + 20ms") has no number in the plan; each trial's results.json
// carries the value it resolved to, and the margin is taken from that.
TEST_F(EnvelopePlan, ARelativeMaxTakesEachTrialsResolvedBound) {
  std::string text = kScenario;
  const std::string abs = R"("max": "100ms")";
  text.replace(text.find(abs), abs.size(), R"("max": "warmup.p99 * 3 + 20ms")");
  std::ofstream(file_) << text;
  const Plan plan = make_plan(args());
  ASSERT_EQ(plan.slo.size(), 2u);
  EXPECT_EQ(plan.slo[0].name, "p99");
  EXPECT_FALSE(plan.slo[0].max.has_value());
  EXPECT_TRUE(plan.slo[0].relative_max);
  EXPECT_FALSE(plan.slo[1].relative_max);

  const json assertions = json::parse(R"J([{"name": "errors", "measured": 0.0},
      {"name": "p99", "measured": 0.03, "bound": "p99 <= warmup.p99 * 3 + 20ms (40ms)",
       "bound_max": 0.04}])J");
  const SloBound r = resolved_slo(plan.slo[0], assertions);
  ASSERT_TRUE(r.max.has_value());
  EXPECT_DOUBLE_EQ(*r.max, 0.04);
  EXPECT_DOUBLE_EQ(*slo_margin(r, 0.03), 0.25);
  // A trial whose reference was not measured has no bound, hence no margin.
  EXPECT_FALSE(resolved_slo(plan.slo[0], json::array()).max.has_value());
  EXPECT_DOUBLE_EQ(*resolved_slo(plan.slo[1], assertions).max, 0.01);
}

}  // namespace
}  // namespace faultline::runner::envelope
