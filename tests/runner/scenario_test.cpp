// Scenario parsing: a valid scenario round-trips into the model; each bad input is rejected with
// its JSON path; --set overrides and --duration scaling.
#include "runner/scenario/scenario.hpp"

#include <fstream>

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
    "load": {"via": "front", "rate": "2k", "seed": 7,
             "workload": {"mix": [{"name": "home", "url": "/"},
                                  {"name": "paste", "flow": [{"name": "read", "url": "/p/1"}]}]}},
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
      {"name": "errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01,
       "request": "paste.read"},
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
  EXPECT_DOUBLE_EQ(*s.load.options.rate, 2000);
  EXPECT_EQ(s.load.options.seed, 7u);
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
      // A referenced phase is reported at the member that names it (issue 23 item 11).
      {"assertions.2.baseline=nowhere", "$.assertions[2].baseline"},
      {"assertions.2.max=\"nowhere.duration * 2\"", "$.assertions[2].max"},
      {"assertions.3.baseline=nowhere", "$.assertions[3].baseline"},
      {"assertions.3.faulty_shards=[]", "$.assertions[3].faulty_shards"},
      {"assertions.3.name=errors", "$.assertions[3].name"},
      {"assertions.0.extra=1", "$.assertions[0].extra"},
      {"surprise=1", "$.surprise"},
      // Checked with the proxy's own toxic parser (proxy::parse_toxic / update_toxic).
      {"timeline.1.actions.0.toxic.type=no_such_toxic", "$.timeline[1].actions[0].toxic.type"},
      {"timeline.1.actions.0.toxic.attributes={\"status\":99}",
       "$.timeline[1].actions[0].toxic.attributes.status"},
      {"timeline.1.actions.0.toxic.type=redis_delay", "$.timeline[1].actions[0].toxic.type"},
      {"services.proxies.1.toxics.0.attributes.latency=-5",
       "$.services.proxies[1].toxics[0].attributes.latency"},
      {"services.proxies.1.toxics.0.type=nope", "$.services.proxies[1].toxics[0].type"},
      {"services.proxies.1.toxics=[{\"type\":\"latency\"},{\"type\":\"latency\"}]",
       "$.services.proxies[1].toxics[1]"},
      {"timeline.2.actions.2.attributes.latency=\"slow\"",
       "$.timeline[2].actions[2].attributes.latency"},
      {"timeline.2.actions.2.type=http_error", "$.timeline[2].actions[2].type"},
      {"timeline.2.actions.2.toxicity=3", "$.timeline[2].actions[2].toxicity"},
      {"timeline.2.actions.2.colour=red", "$.timeline[2].actions[2].colour"},
      // The proxy's own rules for names and the members passed through to it.
      {"services.proxies.0.name=\"sp ace\"", "$.services.proxies[0].name"},
      {"services.proxies.0.max_active_faults=0", "$.services.proxies[0].max_active_faults"},
      {"services.proxies.0.max_active_faults=9223372036854775808",
       "$.services.proxies[0].max_active_faults"},
      {"services.proxies.1.record=\"x.jsonl\"", "$.services.proxies[1].record"},
      // The load generator's grammar and workload parser.
      {"load.stages=\"30s\"", "$.load.stages"},
      {"load.stages=\"fast:100\"", "$.load.stages"},
      {"load.workload.mix.0.url=5", "$.load.workload.mix[0].url"},
      {"load.workload.mix.1.flow.0.method=7", "$.load.workload.mix[1].flow[0].method"},
      {"load.workload.extra=1", "$.load.workload.extra"},
      {"assertions.0.request=paste.write", "$.assertions[0].request"},
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

TEST(Scenario, ToxicErrorsAreTheProxysAndNameTheirField) {
  struct Case {
    const char* set;
    const char* path;
    const char* says;  // part of the proxy's message
  };
  const Case cases[] = {
      {"timeline.1.actions.0.toxic.type=no_such_toxic", "$.timeline[1].actions[0].toxic.type",
       "unknown toxic type \"no_such_toxic\" (known: "},
      {"timeline.1.actions.0.toxic.type=redis_error", "$.timeline[1].actions[0].toxic.type",
       "toxic type \"redis_error\" is not available on a http proxy"},
      {"timeline.2.actions.2.type=http_error", "$.timeline[2].actions[2].type",
       "a toxic's type cannot change"},
  };
  for (const auto& c : cases) {
    json doc = valid();
    ConfigErrors oe;
    apply_override(doc, c.set, oe);
    ASSERT_TRUE(oe.empty()) << oe.to_string();
    const std::string text = errors_of(doc);
    EXPECT_NE(text.find(std::string(c.path) + ": " + c.says), std::string::npos)
        << "--set " << c.set << ", got:\n"
        << text;
  }
}

TEST(Scenario, UpdateToxicIsCheckedAgainstTheToxicActiveThen) {
  // The update merges into the toxic as it is at that point: an attribute the latency toxic
  // has is accepted, and the fault state after each entry is what the orchestrator uses.
  Scenario s = parse_scenario(valid(), "/tmp");
  ASSERT_EQ(s.timeline.size(), 3u);
  EXPECT_TRUE(s.timeline[0].fault_active);  // shard2 starts with a latency toxic
  EXPECT_TRUE(s.timeline[1].fault_active);
  EXPECT_TRUE(s.timeline[2].fault_active);  // latency_downstream is still on shard2
  const Action& upd = s.timeline[2].actions[2];
  EXPECT_EQ(upd.kind, Action::Kind::update_toxic);
  EXPECT_EQ(upd.body, json::parse(R"({"attributes": {"latency": 1}})"));

  json doc = valid();
  doc["services"]["proxies"][1].erase("toxics");
  doc["timeline"][2]["actions"].erase(2);
  Scenario quiet = parse_scenario(doc, "/tmp");
  EXPECT_FALSE(quiet.timeline[0].fault_active);
  EXPECT_TRUE(quiet.timeline[1].fault_active);
  EXPECT_FALSE(quiet.timeline[2].fault_active);
}

TEST(Scenario, AnInvalidToxicIsReportedOnceNotAgainWhereItIsRemoved) {
  json doc = valid();
  doc["timeline"][1]["actions"][0]["toxic"]["attributes"] = {{"status", 99}};
  const std::string text = errors_of(doc);
  EXPECT_NE(text.find("$.timeline[1].actions[0].toxic.attributes.status"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("$.timeline[2].actions[0]"), std::string::npos) << text;
}

TEST(Scenario, UnknownRequestNameListsTheWorkloadsNames) {
  json doc = valid();
  doc["assertions"][0]["request"] = "paste.write";
  const std::string text = errors_of(doc);
  EXPECT_NE(text.find("$.assertions[0].request: no request named \"paste.write\" in the workload "
                      "(known: home, paste.read)"),
            std::string::npos)
      << text;
}

TEST(Scenario, RequestNameWithoutLoadIsAnError) {
  json doc = valid();
  doc.erase("load");
  const std::string text = errors_of(doc);
  EXPECT_NE(text.find("$.assertions[0].request: no request named \"paste.read\": the scenario has "
                      "no load"),
            std::string::npos)
      << text;
}

TEST(Scenario, WorkloadFileErrorsNameTheFileAndThePathInIt) {
  test::TempDir dir;
  std::ofstream(dir.file("w.json")) << R"({"mix": [{"name": "a", "url": 5}]})";
  json doc = valid();
  doc["load"]["workload"] = "w.json";
  doc["assertions"][0].erase("request");
  std::string text;
  try {
    parse_scenario(doc, dir.path().string());
  } catch (const ConfigError& e) {
    text = e.what();
  }
  EXPECT_NE(text.find("$.load.workload: " + dir.file("w.json") + " $.mix[0].url"),
            std::string::npos)
      << text;
}

TEST(Scenario, AllNewErrorsAreReportedAtOnce) {
  json doc = valid();
  doc["timeline"][1]["actions"][0]["toxic"]["type"] = "no_such_toxic";
  doc["load"]["stages"] = "30s";
  doc["assertions"][0]["request"] = "nope";
  doc["timeline"][2]["actions"][2]["attributes"]["latency"] = -1;
  const std::string text = errors_of(doc);
  for (const char* p : {"$.timeline[1].actions[0].toxic.type", "$.load.stages",
                        "$.assertions[0].request", "$.timeline[2].actions[2].attributes.latency"})
    EXPECT_NE(text.find(p), std::string::npos) << p << " in:\n" << text;
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
  // It replaced a string ("2k"), so it is the string "50": a string field keeps its type.
  EXPECT_EQ(doc["load"]["rate"], "50");
  EXPECT_EQ(doc["assertions"][0]["max"], 0.2);
  EXPECT_EQ(doc["load"]["connections"], 4);
  Scenario s = parse_scenario(doc, "/tmp");
  EXPECT_EQ(s.target.mode, "naive");
  EXPECT_EQ(s.proxies[0].toxics.size(), 1u);
}

// Issue 23 item 6: scenario variables, strings that stay strings, keys with dots.
TEST(Scenario, VariablesAndStringOverrides) {
  json doc = valid();
  doc["vars"] = json::parse(R"({"MODE": "naive", "N": 3})");
  doc["services"]["target"]["mode"] = "${var.MODE}";
  doc["description"] = "mode ${var.MODE}, ${var.N} shards";
  ConfigErrors e;
  apply_override(doc, "vars.MODE=resilient", e);
  apply_override(doc, "vars.NEW=1", e);                        // a new var: the string "1"
  apply_override(doc, "services.proxies.0.extra_thing=5", e);  // not a string map: JSON 5
  ASSERT_TRUE(e.empty()) << e.to_string();
  EXPECT_EQ(doc["vars"]["NEW"], "1");
  EXPECT_EQ(doc["services"]["proxies"][0]["extra_thing"], 5);
  doc["services"]["proxies"][0].erase("extra_thing");
  Scenario s = parse_scenario(doc, "/tmp");
  EXPECT_EQ(s.target.mode, "resilient");
  EXPECT_EQ(s.description, "mode resilient, 3 shards");
  EXPECT_EQ(s.vars.at("N"), "3");

  // A bracketed key holds dots.
  json files = json::parse(R"({"a": {"files": {"grace.vcl": "old"}}})");
  apply_override(files, R"(a.files["grace.vcl"]=new)", e);
  apply_override(files, R"(a.files["x.y"].z=1)", e);
  ASSERT_TRUE(e.empty()) << e.to_string();
  EXPECT_EQ(files["a"]["files"]["grace.vcl"], "new");
  EXPECT_EQ(files["a"]["files"]["x.y"]["z"], 1);
  apply_override(files, R"(a.files["open=1)", e);
  EXPECT_FALSE(e.empty());

  // An undeclared variable is an error at its path, naming --var.
  json bad = valid();
  bad["description"] = "${var.NOPE}";
  try {
    parse_scenario(bad, "/tmp");
    ADD_FAILURE() << "an undeclared variable was accepted";
  } catch (const ConfigError& err) {
    const std::string text = err.what();
    EXPECT_NE(text.find("$.description"), std::string::npos) << text;
    EXPECT_NE(text.find("--var NOPE=VALUE"), std::string::npos) << text;
  }
  bad = valid();
  bad["vars"] = json::parse(R"({"L": [1]})");
  try {
    parse_scenario(bad, "/tmp");
    ADD_FAILURE() << "a list variable was accepted";
  } catch (const ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("$.vars.L"), std::string::npos) << err.what();
  }
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
  EXPECT_EQ(*s.load.options.stages, "3s:100,3s:200");
}

TEST(Scenario, DurationScalesStagesWithTheLoadGeneratorsGrammar) {
  // Ramps, ramps from the previous level and cycles: every duration scaled, levels kept.
  json doc = valid();
  doc["load"]["stages"] = "20s:0>1k,20s:>200,10s:5|10";
  Scenario s = parse_scenario(doc, "/tmp");
  scale_duration(s, 30);
  EXPECT_EQ(*s.load.options.stages, "10s:0>1k,10s:>200,5s:5|10");
  EXPECT_DOUBLE_EQ(s.timeline[1].at_seconds, 10);
}

TEST(Scenario, DurationRoundsPhaseBoundariesToWholeSeconds) {
  Scenario s = parse_scenario(valid(), "/tmp");
  scale_duration(s, 25);  // 20 s and 40 s of 60 become 8.33 s and 16.67 s
  EXPECT_DOUBLE_EQ(s.timeline[1].at_seconds, 8);
  EXPECT_DOUBLE_EQ(s.timeline[2].at_seconds, 17);
}

TEST(Scenario, DurationTooShortNamesThePhaseAndTheSmallestDurationThatWorks) {
  Scenario s = parse_scenario(valid(), "/tmp");
  // recovery_time (stable_seconds 3 by default) needs its phase to last 4 s; 6 s gives it 2.
  try {
    check_compressed_phases(s, 6);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("phase \"recovery\" would last 2s"), std::string::npos) << m;
    EXPECT_NE(m.find("the smallest --duration that works is 11s"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(check_compressed_phases(s, 11));
  // Every phase lasts at least 2 s even without assertions on it.
  json doc = valid();
  doc["assertions"] = json::array();
  Scenario bare = parse_scenario(doc, "/tmp");
  EXPECT_THROW(check_compressed_phases(bare, 5), ConfigError);
  EXPECT_NO_THROW(check_compressed_phases(bare, 6));
}

TEST(Scenario, ShippedScenariosParse) {
  for (const char* f : {"quickstart.json", "shard-outage.json", "solver-overload.json", "soak.json",
                        "examples/nginx-failover.json", "examples/redis-restart.json"}) {
    const std::string path = test::source_dir() + "/scenarios/" + f;
    try {
      Scenario s = load_scenario(path, {}, std::nullopt);
      EXPECT_FALSE(s.assertions.empty()) << f;
    } catch (const ConfigError& e) {
      ADD_FAILURE() << f << ": " << e.what();
    }
  }
}
