// Scenario parsing for the user's own system (issue #10): placeholders, services.processes and
// their start order, proxies on known ports, load at any URL, an attached proxy API, and the
// signal / restart / exec actions. Every bad form is an error at its JSON path.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "runner/scenario/scenario.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::runner;

namespace {

// The smallest "own system" scenario: a process, a proxy between it and its database, load at it.
json own() {
  return json::parse(R"({
    "name": "own", "duration": "20s",
    "services": {
      "proxies": [{"name": "db", "protocol": "tcp", "listen": "127.0.0.1:${port.db_proxy}",
                   "upstream": "127.0.0.1:${port.db}"}],
      "processes": [
        {"name": "database", "command": ["sleep", "1000"], "ready": {"tcp": "127.0.0.1:${port.db}"}},
        {"name": "api", "command": ["${faultline}", "target", "--listen", "127.0.0.1:${port.api}"],
         "env": {"DB": "${proxies.db.listen}", "OUT": "${out}"},
         "files": {"conf/api.conf": "listen ${port.api}; literal $${x}"},
         "ready": {"http": "http://127.0.0.1:${port.api}/healthz", "timeout": "10s"},
         "metrics": "http://127.0.0.1:${port.api}/metrics",
         "stop": {"signal": "INT", "grace": "2s"},
         "after": ["database", "db"]}
      ]
    },
    "load": {"url": "http://127.0.0.1:${port.api}", "rate": 50,
             "workload": {"mix": [{"name": "home", "url": "/p/${rand_hex:8}"}]}},
    "timeline": [
      {"at": "0s", "phase": "baseline"},
      {"at": "5s", "phase": "frozen", "actions": [
        {"action": "signal", "process": "database", "signal": "STOP"}]},
      {"at": "10s", "phase": "thawed", "actions": [
        {"action": "signal", "process": "database", "signal": "CONT"},
        {"action": "exec", "command": ["true"], "timeout": "2s"}]},
      {"at": "15s", "phase": "restarted", "actions": [
        {"action": "restart", "process": "api"}]}
    ],
    "assertions": [
      {"name": "ok", "kind": "error_ratio", "phase": "baseline", "max": 0.01}
    ]
  })");
}

std::string errors_of(const json& doc) {
  try {
    parse_scenario(doc, "/tmp");
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST(ScenarioProcesses, ValidScenarioParses) {
  Scenario s = parse_scenario(own(), "/tmp");
  ASSERT_EQ(s.processes.size(), 2u);
  const ProcessSpec& api = s.processes[1];
  EXPECT_EQ(api.ready.kind, ReadyCheck::Kind::http);
  EXPECT_EQ(api.ready.timeout, std::chrono::seconds(10));
  EXPECT_EQ(api.stop_signal_name, "INT");
  EXPECT_EQ(api.stop_grace_seconds, 2);
  EXPECT_EQ(api.after, (std::vector<std::string>{"database", "db"}));
  ASSERT_EQ(s.start_order.size(), 3u);
  EXPECT_EQ(s.start_order[0].name, "db");
  EXPECT_EQ(s.start_order[1].name, "database");
  EXPECT_EQ(s.start_order[2].name, "api");
  // STOP is a fault until CONT.
  EXPECT_FALSE(s.timeline[0].fault_active);
  EXPECT_TRUE(s.timeline[1].fault_active);
  EXPECT_FALSE(s.timeline[2].fault_active);
  EXPECT_EQ(s.timeline[2].actions[1].kind, Action::Kind::exec);
  EXPECT_EQ(s.timeline[3].actions[0].kind, Action::Kind::restart);
  EXPECT_EQ(s.load.url.rfind("http://127.0.0.1:", 0), 0u);
}

TEST(ScenarioProcesses, ResolveForRunSubstitutesEveryPlaceholderOnce) {
  Scenario v = parse_scenario(own(), "/scenarios");
  Scenario s = resolve_for_run(v, RunContext{"/abs/out", "/usr/bin/faultline"});
  const ProcessSpec& api = s.processes[1];
  EXPECT_EQ(api.command[0], "/usr/bin/faultline");
  const std::string api_port = api.command[3].substr(std::string("127.0.0.1:").size());
  EXPECT_NE(api_port, "1");
  EXPECT_EQ(api.ready.value, "http://127.0.0.1:" + api_port + "/healthz");
  EXPECT_EQ(s.load.url, "http://127.0.0.1:" + api_port);
  EXPECT_EQ(api.env.at("OUT"), "/abs/out");
  EXPECT_EQ(api.env.at("DB"), s.proxies[0].listen);
  EXPECT_EQ(api.files.at("conf/api.conf"), "listen " + api_port + "; literal ${x}");
  // Different names, different ports.
  EXPECT_NE(s.proxies[0].listen, s.proxies[0].address);
  EXPECT_EQ(s.processes[0].ready.value, s.proxies[0].address);
  // The workload's own templates are left to the load generator.
  EXPECT_EQ(s.effective["load"]["workload"]["mix"][0]["url"], "/p/${rand_hex:8}");
}

TEST(ScenarioProcesses, TargetUrlAndProxyListenPickPorts) {
  json d = own();
  d["services"]["target"] = json::object();
  d["services"]["proxies"].push_back({{"name", "front"}, {"upstream", "target"}});
  d["services"]["processes"][0]["env"] = {
      {"T", "${target.url}"}, {"F", "${proxies.front.listen}"}, {"R", "${redis.0.port}"}};
  d["services"]["redis"] = {{"shards", 1}};
  Scenario s = resolve_for_run(parse_scenario(d, "/tmp"), RunContext{"/o", "/f"});
  EXPECT_EQ(s.processes[0].env.at("T"), "http://" + s.target.listen);
  EXPECT_EQ(s.processes[0].env.at("F"), s.proxies[1].listen);
  ASSERT_EQ(s.redis_ports.size(), 1u);
  EXPECT_EQ(s.processes[0].env.at("R"), std::to_string(s.redis_ports[0]));
  // The proxy in front of the target starts after it.
  std::vector<std::string> order;
  for (const auto& it : s.start_order)
    order.push_back(it.name);
  EXPECT_LT(std::find(order.begin(), order.end(), "target"),
            std::find(order.begin(), order.end(), "front"));
}

TEST(ScenarioProcesses, UnknownPlaceholdersAreErrorsAtTheirPaths) {
  json d = own();
  d["services"]["processes"][0]["command"][1] = "${nope}";
  d["services"]["processes"][0]["env"] = {{"A", "${target.url}"},
                                          {"B", "${proxies.zz.listen}"},
                                          {"C", "${redis.3.port}"},
                                          {"D", "${port.bad name}"},
                                          {"E", "${unterminated"}};
  const std::string e = errors_of(d);
  EXPECT_NE(e.find("$.services.processes[0].command[1]: unknown placeholder \"${nope}\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("$.services.processes[0].env.A: \"${target.url}\" but services.target"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("no proxy named \"zz\""), std::string::npos) << e;
  EXPECT_NE(e.find("services.redis.shards is 0"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services.processes[0].env.D:"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services.processes[0].env.E: unterminated"), std::string::npos) << e;
}

TEST(ScenarioProcesses, BadProcessesAreErrorsAtTheirPaths) {
  json d = own();
  auto& p = d["services"]["processes"];
  p[0].erase("command");
  p[0]["ready"] = {{"tcp", "127.0.0.1:1"}, {"log", "x"}};
  p[1]["ready"] = {{"log", "(unclosed"}};
  p[1]["stop"] = {{"signal", "BOGUS"}};
  p[1]["files"] = {{"../escape", "x"}};
  p.push_back({{"name", "target"}, {"command", {"true"}}});
  p.push_back({{"name", "database"}, {"command", json::array()}});
  p.push_back({{"name", "m"}, {"command", {"true"}}, {"metrics", "ftp://x"}});
  const std::string e = errors_of(d);
  for (const char* want : {"$.services.processes[0].command: required field is missing",
                           "$.services.processes[0].ready: give exactly one of",
                           "$.services.processes[1].ready.log: not a valid regex",
                           "$.services.processes[1].stop.signal: unknown signal \"BOGUS\"",
                           "$.services.processes[1].files.../escape: must be a relative path",
                           "$.services.processes[2].name: \"target\" is reserved",
                           "$.services.processes[3].name: duplicate name \"database\"",
                           "$.services.processes[3].command: must name a program",
                           "$.services.processes[4].metrics: must be a URL"})
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
}

TEST(ScenarioProcesses, StartOrderCyclesAndUnknownNamesAreErrors) {
  json d = own();
  d["services"]["processes"][0]["after"] = {"api"};
  std::string e = errors_of(d);
  EXPECT_NE(e.find("start order has a cycle: "), std::string::npos) << e;
  EXPECT_NE(e.find("database -> api -> database"), std::string::npos) << e;
  d = own();
  d["services"]["processes"][0]["after"] = {"ghost"};
  e = errors_of(d);
  EXPECT_NE(e.find("$.services.processes[0].after: \"ghost\" is not a process"), std::string::npos)
      << e;
}

TEST(ScenarioProcesses, BadActionsAreErrorsAtTheirPaths) {
  json d = own();
  auto& tl = d["timeline"];
  tl[1]["actions"].push_back({{"action", "signal"}, {"process", "ghost"}, {"signal", "STOP"}});
  tl[1]["actions"].push_back({{"action", "signal"}, {"process", "api"}, {"signal", "NOPE"}});
  tl[2]["actions"].push_back({{"action", "exec"}});
  tl[2]["actions"].push_back({{"action", "restart"}, {"process", "redis:0"}});
  const std::string e = errors_of(d);
  EXPECT_NE(e.find("$.timeline[1].actions[1].process: no process named \"ghost\" (known: "
                   "database, api)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("$.timeline[1].actions[2].signal: unknown signal \"NOPE\""), std::string::npos)
      << e;
  EXPECT_NE(e.find("$.timeline[2].actions[2].command: required"), std::string::npos) << e;
  EXPECT_NE(e.find("$.timeline[2].actions[3].process: no process named \"redis:0\""),
            std::string::npos)
      << e;
}

TEST(ScenarioProcesses, LoadUrlProxyListenAndProxyApi) {
  json d = own();
  d["load"]["via"] = "db";
  d["services"]["proxies"][0]["listen"] = "not an address";
  d["services"]["proxy_api"] = "ftp://127.0.0.1:8474";
  std::string e = errors_of(d);
  EXPECT_NE(e.find("$.load.url: give either \"url\" or \"via\""), std::string::npos) << e;
  EXPECT_NE(e.find("$.services.proxies[0].listen: must be HOST:PORT"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services.proxy_api: must be the proxy's API base URL"), std::string::npos)
      << e;
  d = own();
  d["load"].erase("url");
  e = errors_of(d);
  EXPECT_NE(e.find("$.load.url: \"url\" or \"via\" is required"), std::string::npos) << e;
  d = own();
  d["services"]["proxy_api"] = "http://127.0.0.1:8474";
  Scenario s = parse_scenario(d, "/tmp");
  EXPECT_EQ(s.proxy_api, "127.0.0.1:8474");
}

TEST(ScenarioProcesses, PrometheusServiceTurnsPrometheusOn) {
  json d = own();
  EXPECT_FALSE(parse_scenario(d, "/tmp").prometheus);
  d["services"]["prometheus"] = json::object();
  EXPECT_TRUE(parse_scenario(d, "/tmp").prometheus);
}

// Issue 22 #7 and #8: a process may be named like an everyday program (the documented `redis`
// example was refused), but never like the runner's own components, folders and output files (a
// process named results.json ran the whole scenario, then failed with "Is a directory").
TEST(ScenarioProcesses, NamesCollideOnlyWithTheRunnersOwn) {
  for (const char* ok : {"redis", "redis-cache", "exec-helper", "load-balancer", "api.v2"}) {
    json doc = own();
    doc["services"]["processes"][0]["name"] = ok;
    doc["services"]["processes"][1]["after"] = {ok, "db"};
    doc["timeline"][1]["actions"][0]["process"] = ok;
    doc["timeline"][2]["actions"][0]["process"] = ok;
    EXPECT_EQ(errors_of(doc), "") << ok;
  }
  for (const char* bad : {"results.json", "report.html", "junit.xml", "run-events.jsonl", "target",
                          "prometheus", "logs", "redis-0", "load-3", "exec-12"}) {
    json doc = own();
    doc["services"]["processes"][0]["name"] = bad;
    const std::string e = errors_of(doc);
    EXPECT_NE(e.find("$.services.processes[0].name: \"" + std::string(bad) + "\" is reserved"),
              std::string::npos)
        << bad << ": " << e;
  }
}

TEST(ScenarioProcesses, ActionsNameTheirComponentOnce) {
  const Scenario s = parse_scenario(own(), "/tmp");
  const Action& stop = s.timeline[1].actions[0];
  ASSERT_TRUE(stop.component);
  EXPECT_EQ(stop.component->kind(), ComponentId::Kind::process);
  EXPECT_EQ(stop.component->key(), "database");
  EXPECT_EQ(stop.component->log_name(), "database");
  EXPECT_EQ(ComponentId::parse("redis:2")->log_name(), "redis-2");
  EXPECT_EQ(ComponentId::parse("redis:2")->display(), "redis shard 2");
  EXPECT_EQ(ComponentId::load(1, 3).key(), "load-1");
  EXPECT_EQ(ComponentId::load(0, 1).key(), "load");
  EXPECT_EQ(ComponentId::load(1, 3).resource_prefix(), "load");
  EXPECT_FALSE(ComponentId::parse("redis:x"));
  EXPECT_FALSE(ComponentId::redis(0).resource_prefix());
}

// Issue 23 item 7: a process's files from disk — {"template": P} (placeholders substituted, a
// port used only there picked like any other) and {"copy": P} (byte for byte at start).
TEST(ScenarioProcesses, FilesFromTemplatesAndCopies) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("conf"));
  std::ofstream(dir.file("conf/web.conf")) << "listen ${port.web}; root ${out}; keep $${x}\n";
  std::ofstream(dir.file("blob.bin"), std::ios::binary) << std::string("\0${raw}\xff", 8);
  json doc = own();
  doc["services"]["processes"][1]["files"] = json::parse(
      R"({"web.conf": {"template": "conf/web.conf"}, "data/blob.bin": {"copy": "blob.bin"},
          "inline.txt": "port ${port.api}"})");
  const Scenario v = parse_scenario(doc, dir.path().string());
  const ProcessSpec& api = v.processes[1];
  EXPECT_EQ(api.files.at("web.conf"), "listen 1; root /faultline-out; keep ${x}\n");
  EXPECT_EQ(api.copies.at("data/blob.bin"), dir.file("blob.bin"));

  const Scenario s = resolve_for_run(v, RunContext{"/abs/out", "/usr/bin/faultline"});
  const std::string& web = s.processes[1].files.at("web.conf");
  const std::string port = s.placeholder_values.at("port.web");
  EXPECT_NE(port, "1");
  EXPECT_EQ(web, "listen " + port + "; root /abs/out; keep ${x}\n");

  // Errors at the entry's path: a missing file, an unknown placeholder inside a template, a FIFO,
  // an entry of the wrong shape.
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  std::ofstream(dir.file("bad.tpl")) << "${nope}";
  doc["services"]["processes"][1]["files"] = json::parse(
      R"({"a": {"template": "missing.conf"}, "b": {"template": "bad.tpl"},
          "c": {"template": "fifo"}, "d": {"copy": "missing.bin"}, "e": 5})");
  std::string e;
  try {
    parse_scenario(doc, dir.path().string());
  } catch (const ConfigError& err) {
    e = err.what();
  }
  const std::string p = "$.services.processes[1].files.";
  for (const std::string& want : {p + "a.template", p + "b: unknown placeholder \"${nope}\"",
                                  p + "c.template", p + "d.copy", p + "e: must be the file's text"})
    EXPECT_NE(e.find(want), std::string::npos) << want << " in:\n" << e;
  EXPECT_NE(e.find("not a regular file"), std::string::npos) << e;
}

// Issue 23 item 8: "user" and "group" are looked up when the scenario is parsed. An unknown group
// is an error at its path, like an unknown user.
TEST(ScenarioProcesses, UnknownUserOrGroupIsAnErrorAtItsPath) {
  json s = own();
  s["services"]["processes"][0]["group"] = "faultline-no-such-group";
  EXPECT_NE(errors_of(s).find(
                "$.services.processes[0].group: no group \"faultline-no-such-group\" on this "
                "machine"),
            std::string::npos)
      << errors_of(s);
  s = own();
  s["services"]["processes"][1]["user"] = "faultline-no-such-user";
  EXPECT_NE(errors_of(s).find("$.services.processes[1].user: no user \"faultline-no-such-user\""),
            std::string::npos)
      << errors_of(s);
}

// A runner that is not root cannot run a process as another user: the scenario is refused before
// anything starts, saying how to proceed. (Checked in a child that drops to nobody when the test
// runs as root, as CI does; directly otherwise.)
TEST(ScenarioProcesses, AnotherUserNeedsRoot) {
  json s = own();
  s["services"]["processes"][0]["user"] = "root";
  const auto check = [&s] {
    const std::string e = errors_of(s);
    return e.find(
               "$.services.processes[0].user: running a process as another user or group "
               "needs root") != std::string::npos &&
           e.find("run faultline as root, or drop \"user\"/\"group\"") != std::string::npos;
  };
  if (::geteuid() != 0) {
    EXPECT_TRUE(check()) << errors_of(s);
    return;
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(3);
        std::_Exit(check() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  // Its own user is fine without root.
  s["services"]["processes"][0]["user"] = "nobody";
  EXPECT_EXIT(
      {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(3);
        std::_Exit(errors_of(s).empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}
