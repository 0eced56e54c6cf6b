// Scenario TLS members: services.target "tls", the ${tls.*} placeholders of the run's throw-away
// PKI, and proxies' tls / upstream_tls (accepted, files checked with JSON paths, paths made
// absolute, forwarded). A run with "tls": true on the target passes end to end, the load, the
// runner and Prometheus all verifying the target's certificate.
#include <gtest/gtest.h>

#include <fstream>

#include "runner/scenario/scenario.hpp"
#include "tests/support/support.hpp"
#include "tests/support/tls_certs.hpp"

using namespace faultline;
using namespace faultline::runner;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

// A target (optionally TLS) behind proxy "front"; `front` members are merged into the proxy.
json scenario(bool target_tls, const json& front = json::object()) {
  json doc = json::parse(R"({
    "name": "tls", "duration": "4s",
    "services": {
      "target": {"mode": "resilient", "store": "memory", "threads": 1},
      "proxies": [{"name": "front", "protocol": "tcp", "upstream": "target"}]
    },
    "load": {"via": "front", "rate": 40, "connections": 16, "timeout": "2s",
             "workload": {"mix": [{"name": "paste", "flow": [
               {"name": "create", "method": "POST", "url": "/pastes", "body": "t ${seq}",
                "capture": {"id": {"json": "/id"}}},
               {"name": "read", "method": "GET", "url": "/p/${id}"}]}]}},
    "timeline": [{"at": "0s", "phase": "baseline"},
                 {"at": "2s", "phase": "slow", "actions": [
                   {"action": "add_toxic", "proxy": "front",
                    "toxic": {"name": "lat", "type": "latency", "attributes": {"latency": 10}}}]}],
    "assertions": [
      {"name": "baseline errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01},
      {"name": "slow errors", "kind": "error_ratio", "phase": "slow", "max": 0.01}]
  })");
  if (target_tls) doc["services"]["target"]["tls"] = true;
  for (const auto& [k, v] : front.items())
    doc["services"]["proxies"][0][k] = v;
  return doc;
}

std::string errors_of(const json& doc, const std::string& base_dir = "/tmp") {
  try {
    parse_scenario(doc, base_dir);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ScenarioTls, TargetTlsAndPlaceholders) {
  EXPECT_EQ(errors_of(scenario(false)), "");
  auto s = parse_scenario(scenario(false), "/tmp");
  EXPECT_FALSE(s.target.tls);
  EXPECT_FALSE(s.run_pki);
  s = parse_scenario(scenario(true), "/tmp");
  EXPECT_TRUE(s.target.tls);
  EXPECT_TRUE(s.run_pki);

  json doc = scenario(true);
  doc["services"]["target"]["tls"] = "yes";
  EXPECT_NE(errors_of(doc).find("$.services.target.tls"), std::string::npos) << errors_of(doc);
  doc = scenario(true);
  doc["services"]["target"]["args"] = {"--tls-cert", "/x.pem"};
  EXPECT_NE(errors_of(doc).find("$.services.target.tls: true gives the target the run's"),
            std::string::npos)
      << errors_of(doc);
  // The placeholders name files of the run's PKI and turn it on; an unknown one is refused.
  doc = scenario(false, {{"tls", {{"cert", "${tls.cert}"}, {"key", "${tls.key}"}}}});
  s = parse_scenario(doc, "/tmp");
  EXPECT_TRUE(s.run_pki);
  EXPECT_EQ(s.proxies[0].extra["tls"]["cert"], "/faultline-out/tls/server.pem");
  doc = scenario(false, {{"tls", {{"cert", "${tls.nope}"}, {"key", "${tls.key}"}}}});
  EXPECT_NE(errors_of(doc).find("$.services.proxies[0].tls.cert: unknown placeholder"),
            std::string::npos)
      << errors_of(doc);
  // A run resolves them under its out directory, and ${target.url} becomes https.
  doc = scenario(true);
  doc["load"].erase("via");
  doc["load"]["url"] = "${target.url}";
  doc["timeline"][1].erase("actions");
  s = resolve_for_run(parse_scenario(doc, "/tmp"), RunContext{"/run/out", "/bin/faultline"});
  EXPECT_EQ(s.placeholder_values.at("tls.ca"), "/run/out/tls/ca.pem");
  EXPECT_EQ(s.load.url.rfind("https://127.0.0.1:", 0), 0u) << s.load.url;
}

TEST(ScenarioTls, ProxyTlsMembersCheckedAndForwarded) {
  TempDir dir;
  const auto pki = make_test_pki(dir.path() / "pki");
  // Relative paths are resolved against the scenario's directory and forwarded absolute.
  json doc = scenario(false, {{"tls", {{"cert", "pki/server.pem"}, {"key", "pki/server.key"}}},
                              {"upstream_tls", {{"ca", "pki/ca.pem"}, {"sni", "localhost"}}}});
  ASSERT_EQ(errors_of(doc, dir.path().string()), "");
  auto s = parse_scenario(doc, dir.path().string());
  const json& extra = s.proxies[0].extra;
  EXPECT_EQ(extra["tls"]["cert"], pki.server_cert.string());
  EXPECT_EQ(extra["tls"]["key"], pki.server_key.string());
  EXPECT_EQ(extra["upstream_tls"]["ca"], pki.ca_cert.string());
  EXPECT_EQ(extra["upstream_tls"]["sni"], "localhost");

  const std::vector<std::pair<json, std::string>> bad = {
      {{{"tls", "yes"}}, "$.services.proxies[0].tls: must be an object, got string"},
      {{{"tls", {{"cert", "pki/server.pem"}}}}, "$.services.proxies[0].tls.key: required"},
      {{{"tls", {{"cert", "missing.pem"}, {"key", "pki/server.key"}}}},
       "$.services.proxies[0].tls.cert: no such file: " + dir.file("missing.pem")},
      {{{"tls", {{"cert", "pki/server.pem"}, {"key", "pki/server.key"}, {"client_ca", 3}}}},
       "$.services.proxies[0].tls.client_ca: must be a file path"},
      {{{"upstream_tls", {{"ca", "nope/ca.pem"}}}},
       "$.services.proxies[0].upstream_tls.ca: no such file: " + dir.file("nope/ca.pem")},
      {{{"upstream_tls", {{"verify", "no"}}}},
       "$.services.proxies[0].upstream_tls.verify: must be true or false"},
      {{{"upstream_tls", {{"cert", "pki/client.pem"}}}},
       "$.services.proxies[0].upstream_tls.key: a client certificate needs both cert and key"},
      // Typos and contradictions are errors before anything starts (found in review).
      {{{"upstream_tls", {{"ca", "pki/ca.pem"}, {"verfy", false}}}},
       "$.services.proxies[0].upstream_tls.verfy: unknown field"},
      {{{"tls", {{"cert", "pki/server.pem"}, {"key", "pki/server.key"}, {"clientca", "x"}}}},
       "$.services.proxies[0].tls.clientca: unknown field"},
      {{{"upstream_tls", {{"sni", 5}}}},
       "$.services.proxies[0].upstream_tls.sni: must be a host name"},
      {{{"upstream_tls", {{"ca", "pki/ca.pem"}, {"verify", false}}}},
       "$.services.proxies[0].upstream_tls.ca: \"verify\": false checks no certificate"},
  };
  for (const auto& [members, want] : bad) {
    const std::string e = errors_of(scenario(false, members), dir.path().string());
    EXPECT_NE(e.find(want), std::string::npos) << "want: " << want << "\ngot: " << e;
  }
  // An http proxy, or one terminating TLS, in front of a TLS target must originate TLS itself.
  doc = scenario(true, {{"protocol", "http"}});
  EXPECT_NE(errors_of(doc).find("$.services.proxies[0].upstream_tls: required"), std::string::npos)
      << errors_of(doc);
  doc = scenario(true, {{"tls", {{"cert", "${tls.cert}"}, {"key", "${tls.key}"}}}});
  EXPECT_NE(errors_of(doc).find("this tcp proxy terminates TLS"), std::string::npos)
      << errors_of(doc);
  doc["services"]["proxies"][0]["upstream_tls"] = {{"ca", "${tls.ca}"}};
  EXPECT_EQ(errors_of(doc), "");
}

TEST(ScenarioTls, TargetWithTlsRunsPass) {
  TempDir dir;
  json doc = scenario(true);
  // Prometheus scrapes the target over https too (scheme and CA in its scrape config).
  doc["assertions"].push_back({{"name", "prometheus scraped the target"},
                               {"kind", "promql"},
                               {"phase", "slow"},
                               {"query", "sum(faultline_target_requests_total)"},
                               {"min", 1}});
  const std::string file = write_json(dir, "tls.json", doc);
  const std::string out = dir.file("out");
  auto [code, stdout_text] =
      run_faultline({"run", file, "--out", out}, dir.file("stderr.log"), 60s);
  ASSERT_EQ(code, 0) << stdout_text << slurp(dir.file("stderr.log"));
  EXPECT_NE(stdout_text.find("Verdict: PASS"), std::string::npos) << stdout_text;
  const std::string log = slurp(dir.file("stderr.log"));
  EXPECT_NE(log.find("run: load -> https://127.0.0.1:"), std::string::npos) << log;
  // The load verified the run's certificate (no failed handshake) through the tcp proxy.
  const json load = load_json_file(out + "/load-results.json");
  EXPECT_GT(load["tls"]["handshakes"].get<int>(), 0);
  EXPECT_EQ(load["tls"]["failed"], 0);
  EXPECT_GT(load["requests"]["ok"].get<int>(), 100);
  // The target's metrics were scraped over https: its per-shard stats are in the phases.
  const json r = load_json_file(out + "/results.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_TRUE(r["phases"][0].contains("shards")) << r["phases"][0].dump();
  EXPECT_GT(r["phases"][0]["shards"]["0"]["requests"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(out + "/tls/ca.pem"));
  expect_nothing_left(r, out);
}

// TLS → TLS through an http proxy: it terminates the client's TLS with the run's certificate,
// injects http_error into the decrypted requests and re-encrypts to the TLS target, verifying it
// against the run's CA. The injected errors reach the client one for one (amplification ~1).
TEST(ScenarioTls, HttpFaultsInsideTlsToATlsTargetPass) {
  TempDir dir;
  json doc = scenario(true, {{"protocol", "http"},
                             {"tls", {{"cert", "${tls.cert}"}, {"key", "${tls.key}"}}},
                             {"upstream_tls", {{"ca", "${tls.ca}"}}}});
  doc["duration"] = "6s";
  doc["timeline"][1] = json::parse(R"({"at": "2s", "phase": "errors", "actions": [
      {"action": "add_toxic", "proxy": "front",
       "toxic": {"name": "e", "type": "http_error", "toxicity": 0.2,
                 "attributes": {"status": 503}}}]})");
  doc["timeline"].push_back(json::parse(R"({"at": "4s", "phase": "clean", "actions": [
      {"action": "remove_toxic", "proxy": "front", "toxic": "e"}]})"));
  doc["assertions"] = json::parse(R"([
      {"name": "baseline errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01},
      {"name": "errors seen as injected", "kind": "error_amplification", "phase": "errors",
       "proxy": "front", "min": 0.5, "max": 1.5},
      {"name": "clean again", "kind": "error_ratio", "phase": "clean", "max": 0.01}])");
  const std::string file = write_json(dir, "tls2.json", doc);
  const std::string out = dir.file("out");
  auto [code, stdout_text] =
      run_faultline({"run", file, "--out", out}, dir.file("stderr.log"), 60s);
  ASSERT_EQ(code, 0) << stdout_text << slurp(dir.file("stderr.log"));
  const json r = load_json_file(out + "/results.json");
  EXPECT_EQ(r["verdict"], "pass");
  const json load = load_json_file(out + "/load-results.json");
  EXPECT_GT(load["tls"]["handshakes"].get<int>(), 0);
  EXPECT_EQ(load["tls"]["failed"], 0);
  EXPECT_GT(load["errors"]["http_5xx"].get<int>(), 5);  // the injected 503s, decrypted and all
  expect_nothing_left(r, out);
}

// Load args that already say how to verify, as "--cacert=FILE": the runner adds no second
// --cacert (found in review: only "--cacert" as a word of its own was recognised).
TEST(ScenarioTls, LoadArgsCacertWithEqualsIsRespected) {
  TempDir dir;
  json doc = scenario(true);
  doc["duration"] = "2s";
  doc["timeline"] = json::parse(R"([{"at": "0s", "phase": "baseline"}])");
  doc["assertions"] = json::parse(
      R"([{"name": "baseline errors", "kind": "error_ratio", "phase": "baseline", "max": 0.01}])");
  doc["load"]["args"] = json::array({"--cacert=${tls.ca}"});
  const std::string file = write_json(dir, "eq.json", doc);
  auto [code, stdout_text] =
      run_faultline({"run", file, "--out", dir.file("out")}, dir.file("stderr.log"), 60s);
  EXPECT_EQ(code, 0) << stdout_text << slurp(dir.file("stderr.log"));
}

}  // namespace
