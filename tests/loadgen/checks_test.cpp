// Response checks (loadgen/checks.hpp): parsing with JSON paths (every error at once), evaluation
// on made-up responses, the checks{NAME} thresholds, and one run of `faultline load` against a
// real HTTP server: counts in the results, the interval lines and the Prometheus endpoint, a
// failed check leaving the request ok, and an exit 1 from a checks threshold.
#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.hpp"
#include "loadgen/checks.hpp"
#include "loadgen/merge.hpp"
#include "loadgen/threshold.hpp"
#include "loadgen/workload.hpp"
#include "tests/loadgen/load_support.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::loadgen;
using namespace faultline::test;
using namespace faultline::test::load;
using namespace std::chrono_literals;

namespace {

CheckSpec parse_one(const char* text) {
  ConfigErrors errors;
  std::vector<std::string> names;
  auto checks = parse_checks(json::parse(text), "$.c", names, errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(checks.size(), 1u);
  return checks.empty() ? CheckSpec{} : checks[0];
}

const char* kHead =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAge: 12\r\nContent-Length: 30\r\n\r\n";
const char* kBody = R"({"id": "abc", "n": 3, "kind": "paste"})";

bool passes(const char* check, unsigned status = 200, const char* body = kBody) {
  return check_passes(parse_one(check), CheckedResponse{status, kHead, body});
}

}  // namespace

TEST(Checks, StatusValueListClassAndRange) {
  EXPECT_TRUE(passes(R"({"x": {"status": 200}})"));
  EXPECT_FALSE(passes(R"({"x": {"status": 200}})", 201));
  EXPECT_TRUE(passes(R"({"x": {"status": [200, 304]}})", 304));
  EXPECT_TRUE(passes(R"({"x": {"status": "2xx"}})", 299));
  EXPECT_FALSE(passes(R"({"x": {"status": "2xx"}})", 300));
  EXPECT_TRUE(passes(R"({"x": {"status": ["200-204", "4xx"]}})", 404));
  EXPECT_FALSE(passes(R"({"x": {"status": ["200-204", "4xx"]}})", 503));
  EXPECT_TRUE(passes(R"({"x": {"status": "503"}})", 503));
}

TEST(Checks, HeaderPresenceEqualityAndRegex) {
  EXPECT_TRUE(passes(R"({"x": {"header": "age"}})"));  // names are case-insensitive
  EXPECT_FALSE(passes(R"({"x": {"header": "ETag"}})"));
  EXPECT_TRUE(passes(R"({"x": {"header": "Age", "equals": "12"}})"));
  EXPECT_FALSE(passes(R"({"x": {"header": "Age", "equals": "0"}})"));
  EXPECT_TRUE(passes(R"({"x": {"header": "Age", "matches": "[1-9][0-9]*"}})"));
  EXPECT_FALSE(passes(R"({"x": {"header": "Age", "matches": "1"}})"));  // full match
}

TEST(Checks, JsonPointerAndBodyRegex) {
  EXPECT_TRUE(passes(R"({"x": {"json": "/id"}})"));
  EXPECT_FALSE(passes(R"({"x": {"json": "/missing"}})"));
  EXPECT_FALSE(passes(R"({"x": {"json": "/id/deeper"}})"));
  EXPECT_TRUE(passes(R"({"x": {"json": "/n", "equals": 3}})"));
  EXPECT_FALSE(passes(R"({"x": {"json": "/n", "equals": "3"}})"));  // JSON values compare typed
  EXPECT_TRUE(passes(R"({"x": {"json": "/kind", "equals": "paste"}})"));
  EXPECT_FALSE(passes(R"({"x": {"json": "/id"}})", 200, "not json"));
  EXPECT_TRUE(passes(R"({"x": {"body_matches": "\"kind\": *\"pa"}})"));
  EXPECT_FALSE(passes(R"({"x": {"body_matches": "^paste"}})"));
}

TEST(Checks, NoResponseFailsEveryCheck) {
  for (const char* c : {R"({"x": {"status": "1xx"}})", R"({"x": {"header": "Age"}})",
                        R"({"x": {"body_matches": ".*"}})"})
    EXPECT_FALSE(passes(c, 0)) << c;
}

TEST(Checks, ANameUsedTwiceIsOneCounter) {
  ConfigErrors errors;
  Workload w = parse_workload(json::parse(R"({"mix": [
    {"name": "a", "url": "/a", "checks": {"ok": {"status": 200}, "cached": {"header": "Age"}}},
    {"name": "b", "flow": [{"url": "/b", "checks": {"ok": {"status": "2xx"}}}]}]})"),
                              errors);
  ASSERT_TRUE(errors.empty()) << errors.to_string();
  EXPECT_EQ(w.check_names, (std::vector<std::string>{"cached", "ok"}));  // JSON keys sort
  EXPECT_EQ(w.entries[1].steps[0].checks[0].index, 1u);
}

TEST(Checks, EveryErrorIsReportedAtOnceWithItsPath) {
  ConfigErrors errors;
  parse_workload(json::parse(R"J({"mix": [{"name": "a", "url": "/", "checks": {
    "s1": {"status": 99}, "s2": {"status": ["2xx", "6xx"]}, "s3": {"status": "300-200"},
    "h1": {"header": "A B"}, "h2": {"header": "Age", "equals": 1},
    "h3": {"header": "Age", "matches": "("}, "h4": {"header": "Age", "equals": "1", "matches": "1"},
    "j1": {"json": "nope"}, "j2": {"json": "/a", "matches": "x"},
    "b1": {"body_matches": "(?=x)"}, "two": {"status": 200, "header": "Age"}, "none": {},
    "bad name": {"status": 200}, "k": {"status": 200, "bogus": 1}, "o": 5}}]})J"),
                 errors);
  const std::string all = errors.to_string();
  for (const char* path :
       {"$.mix[0].checks.s1.status", "$.mix[0].checks.s2.status[1]", "$.mix[0].checks.s3.status",
        "$.mix[0].checks.h1.header", "$.mix[0].checks.h2.equals", "$.mix[0].checks.h3.matches",
        "$.mix[0].checks.h4", "$.mix[0].checks.j1.json", "$.mix[0].checks.j2.matches",
        "$.mix[0].checks.b1.body_matches", "$.mix[0].checks.two", "$.mix[0].checks.none",
        "$.mix[0].checks.bad name", "$.mix[0].checks.k.bogus", "$.mix[0].checks.o"})
    EXPECT_NE(all.find(path), std::string::npos) << path << "\n" << all;
  ConfigErrors e2;
  parse_workload(json::parse(R"({"mix": [{"name": "a", "url": "/", "checks": []}]})"), e2);
  EXPECT_NE(e2.to_string().find("$.mix[0].checks"), std::string::npos);
  ConfigErrors e3;
  parse_workload(json::parse(R"({"mix": [{"name": "a", "generator": "solve", "checks": {}}]})"),
                 e3);
  EXPECT_FALSE(e3.empty());
}

TEST(Checks, Thresholds) {
  std::string error;
  const json results = json::parse(R"({"checks": {
    "ok": {"passed": 90, "failed": 10, "failure_ratio": 0.1},
    "cached": {"passed": 0, "failed": 0, "failure_ratio": null}}})");
  auto t = parse_threshold("checks{ok}<0.2", error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->check, "ok");
  EXPECT_DOUBLE_EQ(*threshold_value(*t, results), 0.1);
  EXPECT_TRUE(threshold_holds(*t, 0.1));
  t = parse_threshold("checks{ok}.failed <= 5", error);
  ASSERT_TRUE(t) << error;
  EXPECT_DOUBLE_EQ(*threshold_value(*t, results), 10);
  t = parse_threshold("checks{ok}.passed>=90", error);
  ASSERT_TRUE(t) << error;
  EXPECT_DOUBLE_EQ(*threshold_value(*t, results), 90);
  t = parse_threshold("checks < 1%", error);
  ASSERT_TRUE(t) << error;
  EXPECT_TRUE(t->check.empty());
  EXPECT_DOUBLE_EQ(*threshold_value(*t, results), 0.1);
  t = parse_threshold("checks{cached}<0.01", error);
  ASSERT_TRUE(t) << error;
  EXPECT_DOUBLE_EQ(*threshold_value(*t, results), 0.0);  // none evaluated: nothing failed
  t = parse_threshold("checks{gone}<0.01", error);
  ASSERT_TRUE(t) << error;
  EXPECT_FALSE(threshold_value(*t, results));
  for (const char* bad : {"checks{}<1", "checks{ok<1", "checks{ok}.p99<1", "home:checks{ok}<1"}) {
    error.clear();
    EXPECT_FALSE(parse_threshold(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(ChecksLoad, CountedInResultsIntervalsAndMetricsNotAsFailedRequests) {
  TestServer server;
  TempDir dir;
  write_file(dir.file("w.json"), R"({"mix": [
    {"name": "home", "url": "/", "checks": {"status_ok": {"status": "2xx"},
      "says_ok": {"body_matches": "^ok$"}, "cached": {"header": "Age"},
      "has_length": {"header": "Content-Length", "matches": "[0-9]+"}}},
    {"name": "down", "url": "/fail", "checks": {"status_ok": {"status": "2xx"}}}]})");
  auto load = start_faultline({"load",
                               server.url(),
                               "--workload",
                               dir.file("w.json"),
                               "--rate",
                               "40",
                               "--duration",
                               "3s",
                               "--threads",
                               "1",
                               "--metrics-listen",
                               "127.0.0.1:0",
                               "--intervals-out",
                               dir.file("i.jsonl"),
                               "--out",
                               dir.file("r.json"),
                               "-q",
                               "--threshold",
                               "checks{says_ok}<0.01",
                               "--threshold",
                               "checks{cached}<0.5"});
  ASSERT_TRUE(load);
  std::this_thread::sleep_for(1600ms);
  auto [ec, res] = http_fetch_sync(load->address, HttpClientRequest{.target = "/metrics"});
  ASSERT_FALSE(ec) << ec.message();
  for (const char* m : {"faultline_load_checks_total{check=\"cached\",result=\"failed\"}",
                        "faultline_load_checks_total{check=\"says_ok\",result=\"passed\"}",
                        "faultline_load_checks_total{check=\"says_ok\",result=\"failed\"} 0"})
    EXPECT_NE(res.body.find(m), std::string::npos) << m << "\n" << res.body;
  EXPECT_EQ(load->process.wait(20000ms), 1);  // checks{cached} failed
  const json r = read_json(dir.file("r.json"));
  const json& by = r["requests_by_name"];
  const auto home = by["home"]["requests"]["total"].get<std::uint64_t>();
  const auto down = by["down"]["requests"]["total"].get<std::uint64_t>();
  ASSERT_GT(home, 20u);
  ASSERT_GT(down, 20u);
  // A failed check does not fail its request: every "home" request is ok.
  EXPECT_EQ(by["home"]["requests"]["failed"], 0);
  const json& c = r["checks"];
  EXPECT_EQ(c["says_ok"]["passed"].get<std::uint64_t>(), home);
  EXPECT_EQ(c["says_ok"]["failed"], 0);
  EXPECT_EQ(c["cached"]["failed"].get<std::uint64_t>(), home);
  EXPECT_EQ(c["has_length"]["passed"].get<std::uint64_t>(), home);
  EXPECT_EQ(c["status_ok"]["passed"].get<std::uint64_t>(), home);
  EXPECT_EQ(c["status_ok"]["failed"].get<std::uint64_t>(), down);
  EXPECT_DOUBLE_EQ(c["cached"]["failure_ratio"].get<double>(), 1.0);
  EXPECT_TRUE(r["thresholds"][0]["ok"].get<bool>());
  EXPECT_FALSE(r["thresholds"][1]["ok"].get<bool>());
  // The interval lines add up to the results, check by check.
  std::uint64_t cached_failed = 0, status_failed = 0;
  for (const json& line : read_lines(dir.file("i.jsonl"))) {
    if (!line.contains("checks")) continue;
    cached_failed += line["checks"]["cached"]["failed"].get<std::uint64_t>();
    status_failed += line["checks"]["status_ok"]["failed"].get<std::uint64_t>();
  }
  EXPECT_EQ(cached_failed, home);
  EXPECT_EQ(status_failed, down);
  // `report merge` of two such results adds the checks up.
  const json merged = merge_results({r, r}, {"a", "b"});
  EXPECT_EQ(merged["checks"]["cached"]["failed"].get<std::uint64_t>(), 2 * home);
  EXPECT_DOUBLE_EQ(merged["checks"]["cached"]["failure_ratio"].get<double>(), 1.0);
}
