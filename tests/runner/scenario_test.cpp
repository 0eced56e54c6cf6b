// Scenario parsing: a valid scenario round-trips into the model; each bad input is rejected with
// its JSON path; --set overrides and --duration scaling.
#include "runner/scenario.hpp"

#include <gtest/gtest.h>

#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

json valid() {
  return json::parse(R"({
    "name": "t", "description": "d", "duration": "60s",
    "services": {
      "target": {"mode": "resilient", "store": "redis"},
      "redis": {"shards": 3},
      "proxies": [
        {"name": "front", "protocol": "http", "upstream": "target"},
        {"name": "shard2", "protocol": "redis", "upstream": "redis:2",
         "toxics": [{"type": "latency", "attributes": {"latency": 5}}]}
      ]
    },
    "load": {"via": "front", "workload": {"requests": []}, "rate": "2k", "seed": 7},
    "timeline": [
      {"at": "0s", "phase": "baseline"},
      {"at": "20s", "phase": "fault", "actions": [
        {"action": "add_toxic", "proxy": "front",
         "toxic": {"name": "err", "type": "http_error", "toxicity": 0.05}},
        {"action": "disable_proxy", "proxy": "shard2"}]},
      {"at": "40s", "phase": "recovery", "actions": [
        {"action": "remove_toxic", "proxy": "front", "toxic": "err"},
        {"action": "enable_proxy", "proxy": "shard2"},
        {"action": "update_toxic", "proxy": "shard2", "toxic": "latency_downstream",
         "attributes": {"latency": 1}}]}
    ],
    "assertions": [
      {"name": "errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01},
      {"name": "amp", "kind": "error_amplification", "phase": "fault", "proxy": "front", "max": 1.5},
      {"name": "rec", "kind": "recovery_time", "phase": "recovery", "baseline": "baseline",
       "max": "10s"},
      {"name": "iso", "kind": "isolation", "phase": "fault", "baseline": "baseline",
       "faulty_shards": [2]}
    ]
  })");
}

// Parses and returns the error text ("" when valid).
std::string errors_of(const json& doc) {
  try {
    parse_scenario(doc, "/tmp");
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST(Scenario, ParsesAValidScenario) {
  Scenario s = parse_scenario(valid(), "/tmp");
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.redis_shards, 3);
  EXPECT_EQ(s.target.store, "redis");
  ASSERT_EQ(s.proxies.size(), 2u);
  EXPECT_EQ(s.proxies[1].upstream_kind, ProxySpec::Upstream::redis_shard);
  EXPECT_EQ(s.proxies[1].shard, 2);
  EXPECT_DOUBLE_EQ(*s.load.rate, 2000);
  EXPECT_EQ(s.load.seed, 7u);
  ASSERT_EQ(s.timeline.size(), 3u);
  EXPECT_DOUBLE_EQ(s.timeline[1].at_seconds, 20);
  ASSERT_EQ(s.timeline[1].actions.size(), 2u);
  EXPECT_EQ(s.timeline[1].actions[0].toxic, "err");
  EXPECT_EQ(s.timeline[1].actions[0].describe(), "add toxic err (http_error) on front");
  EXPECT_EQ(s.assertions.size(), 4u);
  EXPECT_EQ(s.phase_names(), (std::vector<std::string>{"baseline", "fault", "recovery"}));
}

TEST(Scenario, RejectsEachBadInputWithItsPath) {
  struct Case {
    const char* set;  // an override making the scenario invalid
    const char* path;
  };
  const Case cases[] = {
      {"name=\"bad name!\"", "$.name"},
      {"duration=\"soon\"", "$.duration"},
      {"services.target.mode=clever", "$.services.target.mode"},
      {"services.target.store=tape", "$.services.target.store"},
      {"services.target.threads=0", "$.services.target.threads"},
      {"services.redis.shards=0", "$.services.redis.shards"},
      {"services.proxies.0.protocol=udp", "$.services.proxies[0].protocol"},
      {"services.proxies.1.upstream=\"redis:7\"", "$.services.proxies[1].upstream"},
      {"services.proxies.1.name=front", "$.services.proxies[1].name"},
      {"services.proxies.1.toxics.0.toxicity=2", "$.services.proxies[1].toxics[0].toxicity"},
      {"services.proxies.0.color=red", "$.services.proxies[0].color"},
      {"load.via=nowhere", "$.load.via"},
      {"load.rate=-3", "$.load.rate"},
      {"load.workload=\"missing.json\"", "$.load.workload"},
      {"load.users=5", "$.load.users"},
      {"timeline.0.at=\"5s\"", "$.timeline[0].at"},
      {"timeline.2.at=\"10s\"", "$.timeline[2].at"},
      {"timeline.2.at=\"90s\"", "$.timeline[2].at"},
      {"timeline.1.actions.0.action=explode", "$.timeline[1].actions[0].action"},
      {"timeline.1.actions.0.proxy=nope", "$.timeline[1].actions[0].proxy"},
      {"timeline.2.actions.0.toxic=other", "$.timeline[2].actions[0].toxic"},
      {"assertions.0.kind=vibes", "$.assertions[0].kind"},
      {"assertions.0.max=2", "$.assertions[0].max"},
      {"assertions.0.phase=later", "$.assertions[0].phase"},
      {"assertions.1.proxy=ghost", "$.assertions[1].proxy"},
      {"assertions.2.max=\"fast\"", "$.assertions[2].max"},
      {"assertions.3.faulty_shards=[]", "$.assertions[3].faulty_shards"},
      {"assertions.3.name=errors", "$.assertions[3].name"},
      {"assertions.0.extra=1", "$.assertions[0].extra"},
      {"surprise=1", "$.surprise"},
  };
  for (const auto& c : cases) {
    json doc = valid();
    ConfigErrors oe;
    apply_override(doc, c.set, oe);
    ASSERT_TRUE(oe.empty()) << oe.to_string();
    const std::string text = errors_of(doc);
    EXPECT_NE(text.find(std::string(c.path) + ":"), std::string::npos)
        << "--set " << c.set << " should report " << c.path << ", got:\n"
        << text;
  }
}

TEST(Scenario, ReportsAllErrorsAtOnce) {
  json doc = valid();
  doc["services"]["target"]["mode"] = "x";
  doc["load"]["rate"] = "fast";
  doc["assertions"][0]["max"] = -1;
  const std::string text = errors_of(doc);
  EXPECT_NE(text.find("$.services.target.mode"), std::string::npos) << text;
  EXPECT_NE(text.find("$.load.rate"), std::string::npos) << text;
  EXPECT_NE(text.find("$.assertions[0].max"), std::string::npos) << text;
}

TEST(Scenario, OverridesSetValuesByPath) {
  json doc = valid();
  ConfigErrors e;
  apply_override(doc, "target.mode=naive", e);  // shorthand for services.target.mode
  apply_override(doc, "load.rate=50", e);
  apply_override(doc, "assertions.0.max=0.2", e);
  apply_override(doc, "load.connections=4", e);  // creates a member
  apply_override(doc, "services.proxies.0.toxics=[{\"type\":\"latency\"}]", e);
  ASSERT_TRUE(e.empty()) << e.to_string();
  EXPECT_EQ(doc["services"]["target"]["mode"], "naive");
  EXPECT_EQ(doc["load"]["rate"], 50);
  EXPECT_EQ(doc["assertions"][0]["max"], 0.2);
  EXPECT_EQ(doc["load"]["connections"], 4);
  Scenario s = parse_scenario(doc, "/tmp");
  EXPECT_EQ(s.target.mode, "naive");
  EXPECT_EQ(s.proxies[0].toxics.size(), 1u);
}

TEST(Scenario, BadOverridesAreReported) {
  for (const char* bad : {"noequals", "=5", "a..b=1", "name.x=1", "timeline.9.at=1"}) {
    json doc = valid();
    ConfigErrors e;
    apply_override(doc, bad, e);
    EXPECT_FALSE(e.empty()) << bad;
    EXPECT_NE(e.to_string().find("--set"), std::string::npos) << e.to_string();
  }
}

TEST(Scenario, DurationScalesTheTimelineAndStages) {
  json doc = valid();
  doc["load"]["stages"] = "30s:100,30s:200";
  Scenario s = parse_scenario(doc, "/tmp");
  scale_duration(s, 6);
  EXPECT_DOUBLE_EQ(s.duration_seconds, 6);
  EXPECT_DOUBLE_EQ(s.timeline[1].at_seconds, 2);
  EXPECT_DOUBLE_EQ(s.timeline[2].at_seconds, 4);
  EXPECT_EQ(*s.load.stages, "3s:100,3s:200");
}
TEST(Scenario, ShippedScenariosParse) {
  for (const char* f :
       {"quickstart.json", "shard-outage.json", "solver-overload.json", "soak.json"}) {
    const std::string path = test::source_dir() + "/scenarios/" + f;
    try {
      Scenario s = load_scenario(path, {}, std::nullopt);
      EXPECT_FALSE(s.assertions.empty()) << f;
    } catch (const ConfigError& e) {
      ADD_FAILURE() << f << ": " << e.what();
    }
  }
}
