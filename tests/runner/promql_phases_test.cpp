// The phase placeholders of promql queries (issue 23 item 10): each form expanded from the run's
// phase times, misspelt ones rejected naming the forms, and the scenario's checks (a placeholder
// outside a query, a phase that does not exist or has not ended when the query is evaluated).
// Prometheus evaluating the expanded forms: prometheus_server_test.cpp.
#include "runner/scenario/promql_phases.hpp"

#include <gtest/gtest.h>

#include "runner/scenario/scenario.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

std::optional<PromqlPhaseWindow> none(const std::string&) {
  return std::nullopt;
}

std::string expand(const std::string& q, double own) {
  return expand_promql_phases(q, {own, 0}, none);
}

// baseline 0-10 s, fault 10-25 s, recovery 25-40 s, fault 40-55 s, recovery 55-60 s.
std::vector<PhaseSpan> spans() {
  return {{"baseline", 0, 10},
          {"fault", 10, 25},
          {"recovery", 25, 40},
          {"fault", 40, 55},
          {"recovery", 55, 60}};
}

std::string errors_of(const json& doc) {
  try {
    parse_scenario(doc, "/tmp");
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

json scenario_with_query(const std::string& phase, const std::string& query) {
  json doc = json::parse(R"({
    "name": "t", "duration": "30s",
    "services": {"target": {}},
    "load": {"rate": 10, "workload": {"mix": [{"name": "home", "url": "/"}]}},
    "timeline": [{"at": "0s", "phase": "baseline"}, {"at": "10s", "phase": "fault"},
                 {"at": "20s", "phase": "recovery"}],
    "assertions": [{"name": "q", "kind": "promql", "max": 1}]
  })");
  doc["assertions"][0]["phase"] = phase;
  doc["assertions"][0]["query"] = query;
  return doc;
}

}  // namespace

TEST(PromqlPhases, TheOwnPhaseWindow) {
  EXPECT_EQ(expand("rate(x[phase]) / rate(y[phase])", 30), "rate(x[30000ms]) / rate(y[30000ms])");
  EXPECT_EQ(expand("increase(x[phase])", 1.2345), "increase(x[1235ms])");
  EXPECT_EQ(expand("x[phase]", 0), "x[1ms]");
  EXPECT_EQ(expand("x[5m] [Phase] {phase=\"a\"}", 3), "x[5m] [Phase] {phase=\"a\"}");
}

TEST(PromqlPhases, SubqueriesAndDurations) {
  EXPECT_EQ(expand("max_over_time(rate(x[2s])[phase:1s])", 15),
            "max_over_time(rate(x[2s])[15000ms:1s])");
  EXPECT_EQ(expand("max_over_time(rate(x[2s])[phase:])", 15),
            "max_over_time(rate(x[2s])[15000ms:])");
  EXPECT_EQ(expand("max_over_time(rate(x[2s])[phase:1m30s])", 15),
            "max_over_time(rate(x[2s])[15000ms:1m30s])");
  EXPECT_EQ(expand("rate(x[phase]) / rate(x[phase] offset ${phase.duration})", 6),
            "rate(x[6000ms]) / rate(x[6000ms] offset 6000ms)");
}

TEST(PromqlPhases, OtherPhasesComeWithTheirOffset) {
  auto other = [](const std::string& n) -> std::optional<PromqlPhaseWindow> {
    if (n == "baseline") return PromqlPhaseWindow{10, 15};
    if (n == "just-before") return PromqlPhaseWindow{5, 0};
    return std::nullopt;
  };
  std::string error;
  EXPECT_EQ(expand_promql_phases("avg_over_time(x[phases.baseline]) + "
                                 "max_over_time(rate(x[2s])[phases.baseline:1s]) + "
                                 "count_over_time(x[${phases.baseline.duration}])",
                                 {15, 0}, other, &error),
            "avg_over_time(x[10000ms] offset 15000ms) + "
            "max_over_time(rate(x[2s])[10000ms:1s] offset 15000ms) + "
            "count_over_time(x[10000ms])");
  EXPECT_EQ(error, "");
  // A phase that ends when the query is evaluated needs no offset (Prometheus refuses "offset 0").
  EXPECT_EQ(expand_promql_phases("sum_over_time(x[phases.just-before])", {5, 0}, other),
            "sum_over_time(x[5000ms])");
  EXPECT_EQ(expand_promql_phases("x[phases.later]", {5, 0}, other, &error), "x[phases.later]");
  EXPECT_NE(error.find("phase later had not ended"), std::string::npos) << error;
}

TEST(PromqlPhases, CheckStandInsAreOneSecondWithAnOffset) {
  EXPECT_EQ(expand_promql_phases_for_check(
                "x[phase] + y[phase:1s] + z[phases.b] + w offset ${phases.b.duration}"),
            "x[1000ms] + y[1000ms:1s] + z[1000ms] offset 1000ms + w offset 1000ms");
}

TEST(PromqlPhases, RunTimesAfterDuration) {
  std::string error;
  double at = 0;
  // The first occurrence of fault; the baseline before it.
  auto q =
      expand_promql_phases_for_run("max_over_time(x[phase:1s]) / avg_over_time(x[phases.baseline])",
                                   "fault", spans(), &at, error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(*q, "max_over_time(x[15000ms:1s]) / avg_over_time(x[10000ms] offset 15000ms)");
  EXPECT_DOUBLE_EQ(at, 25);
  // "*": the whole run, evaluated at its end; the last occurrence of a repeated phase.
  q = expand_promql_phases_for_run("x[phase] + y[phases.fault]", "*", spans(), &at, error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(*q, "x[60000ms] + y[15000ms] offset 5000ms");
  EXPECT_DOUBLE_EQ(at, 60);
  // A phase that did not run, or one named that had not ended by the evaluation.
  EXPECT_FALSE(expand_promql_phases_for_run("x[phase]", "ghost", spans(), &at, error));
  EXPECT_EQ(error, "the phase did not run");
  error.clear();
  EXPECT_FALSE(expand_promql_phases_for_run("x[phases.recovery]", "fault", spans(), &at, error));
  EXPECT_NE(error.find("phase recovery had not ended"), std::string::npos) << error;
}

TEST(PromqlPhases, MisspeltPlaceholdersAreErrorsNamingTheForms) {
  const std::pair<const char*, const char*> bad[] = {
      {"x[phase_offset]", "\"[phase_offset]\": unknown phase window"},
      {"x[phases]", "\"[phases]\": unknown phase window"},
      {"x[phase:fast]", "the subquery resolution \"fast\" is not a PromQL duration"},
      {"x[phase:1s", "unterminated phase window"},
      {"x[phases.:1s]", "a phase name is"},
      {"x[phases.a b]", "a phase name is"},
      {"x offset ${phase.length}", "\"${phase.length}\": unknown phase placeholder"},
      {"x offset ${phases.baseline.offset}", "\"${phases.baseline.offset}\": unknown"},
      {"x offset ${phase.duration", "unterminated placeholder"},
  };
  for (const auto& [q, want] : bad) {
    const std::string why = check_promql_phases(q, nullptr);
    EXPECT_NE(why.find(want), std::string::npos) << q << ": " << why;
    EXPECT_NE(why.find("known: [phase], [phase:RES]"), std::string::npos) << why;
  }
  std::vector<std::string> named;
  EXPECT_EQ(check_promql_phases("a[phases.b] + c[phases.d:1s] + e[${phases.b.duration}] + "
                                "f[phase] offset ${phase.duration}",
                                &named),
            "");
  EXPECT_EQ(named, (std::vector<std::string>{"b", "d"}));
}

TEST(PromqlPhases, TheScenarioChecksTheQuerysPhases) {
  EXPECT_EQ(errors_of(scenario_with_query(
                "recovery",
                "max_over_time(x[phase:1s]) / avg_over_time(x[phases.baseline]) + "
                "sum(x offset ${phases.fault.duration})")),
            "");
  EXPECT_EQ(errors_of(scenario_with_query("*", "sum(x[phases.recovery])")), "");
  std::string e = errors_of(scenario_with_query("fault", "sum(x[phases.basline])"));
  EXPECT_NE(e.find("$.assertions[0].query: no timeline phase named \"basline\""), std::string::npos)
      << e;
  e = errors_of(scenario_with_query("fault", "sum(x[phases.recovery])"));
  EXPECT_NE(e.find("$.assertions[0].query: phase \"recovery\" comes after phase \"fault\""),
            std::string::npos)
      << e;
  e = errors_of(scenario_with_query("fault", "x[phase_offset]"));
  EXPECT_NE(e.find("$.assertions[0].query: \"[phase_offset]\": unknown phase window"),
            std::string::npos)
      << e;
  e = errors_of(scenario_with_query("fault", "x offset ${phase.start}"));
  EXPECT_NE(e.find("$.assertions[0].query: \"${phase.start}\": unknown phase placeholder"),
            std::string::npos)
      << e;
  // A phase placeholder anywhere but a promql query.
  json doc = scenario_with_query("fault", "up");
  doc["description"] = "lasts ${phase.duration}";
  e = errors_of(doc);
  EXPECT_NE(e.find("$.description: \"${phase.duration}\": phase placeholders belong in a promql "
                   "assertion's query"),
            std::string::npos)
      << e;
}
