// Every scenario the documentation shows is one faultline accepts, and the guide's smallest one
// runs (issue #22 item 8: docs/own-system.md printed a scenario the runner refused). Each ```json
// block of README.md and docs/*.md that is a whole scenario (an object with a "timeline") is parsed
// as printed, in a directory holding the workload file it names; docs/own-system.md's smallest
// scenario then runs end to end with a stand-in for "your service" (tests/runner/data/my_api.py,
// Python's http.server: /healthz, /metrics, and every other GET a PING to Redis through the
// scenario's redis proxy), judged with PromQL on a real Prometheus.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "common/subprocess.hpp"
#include "runner/scenario/scenario.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct DocScenario {
  std::string where;  // "docs/own-system.md:15"
  json doc;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Every ```json block of `file` that parses to an object with a "timeline".
std::vector<DocScenario> scenarios_in(const fs::path& file, const std::string& shown_as) {
  std::vector<DocScenario> out;
  const std::string text = read_text(file);
  const std::string open = "```json\n";
  for (auto at = text.find(open); at != std::string::npos; at = text.find(open, at + 1)) {
    const auto begin = at + open.size();
    const auto end = text.find("```", begin);
    if (end == std::string::npos) break;
    json doc = parse_json_or_discarded(text.substr(begin, end - begin));
    if (!doc.is_object() || !doc.contains("timeline")) continue;
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
    out.push_back({shown_as + ":" + std::to_string(line), std::move(doc)});
  }
  return out;
}

std::vector<DocScenario> all_doc_scenarios() {
  const fs::path src = source_dir();
  std::vector<DocScenario> out = scenarios_in(src / "README.md", "README.md");
  std::vector<fs::path> docs;
  for (const auto& e : fs::directory_iterator(src / "docs"))
    if (e.path().extension() == ".md") docs.push_back(e.path());
  std::sort(docs.begin(), docs.end());
  for (const auto& d : docs) {
    auto found = scenarios_in(d, "docs/" + d.filename().string());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// Writes `s` as DIR/scenario.json with the workload file it names (a GET of "/").
std::string materialise(const TempDir& dir, const json& s) {
  if (s.contains("load") && s["load"].contains("workload") && s["load"]["workload"].is_string())
    write_json(dir, s["load"]["workload"].get<std::string>(),
               json::parse(R"({"mix": [{"name": "home", "url": "/"}]})"));
  return write_json(dir, "scenario.json", s);
}

}  // namespace

TEST(DocsScenarios, EveryScenarioInTheDocsParses) {
  const auto found = all_doc_scenarios();
  // README's "Test your own service" and docs/own-system.md's smallest scenario at least.
  ASSERT_GE(found.size(), 2u);
  for (const auto& d : found) {
    TempDir dir;
    const std::string path = materialise(dir, d.doc);
    try {
      (void)runner::load_scenario(path, {}, std::nullopt);
    } catch (const ConfigError& e) {
      ADD_FAILURE() << "the scenario at " << d.where << " is refused:\n" << e.what();
    }
  }
}

TEST(DocsScenarios, TheSmallestOwnSystemScenarioRunsAsPrinted) {
  if (!find_program("python3")) GTEST_SKIP() << "python3 is not installed";
  const auto found =
      scenarios_in(fs::path(source_dir()) / "docs" / "own-system.md", "docs/own-system.md");
  ASSERT_FALSE(found.empty());
  const DocScenario& d = found.front();
  ASSERT_EQ(d.doc.value("name", ""), "my-api-redis-latency") << d.where;

  TempDir dir;
  const std::string scenario = materialise(dir, d.doc);
  const fs::path api = dir.path() / "my-api";
  fs::copy_file(fs::path(source_dir()) / "tests" / "runner" / "data" / "my_api.py", api);
  ASSERT_EQ(::chmod(api.c_str(), 0755), 0);

  // 90 s as printed; 30 s here (the timeline scales with it: 10 s per phase).
  auto [code, text] =
      run_faultline({"run", scenario, "--out", dir.file("out"), "--duration", "30s"},
                    dir.file("stderr.log"), 150s);
  const std::string err = read_text(dir.file("stderr.log"));
  ASSERT_EQ(code, 0) << text << err;
  const json results = load_json_file(dir.file("out") + "/results.json");
  EXPECT_EQ(results["verdict"], "pass") << results.dump(2);
  bool judged_promql = false;
  for (const auto& a : results["assertions"]) {
    EXPECT_EQ(a["verdict"], "pass") << a.dump();
    if (a["kind"] == "promql") judged_promql = true;
  }
  EXPECT_TRUE(judged_promql);
  // The redis proxy really delayed the service's Redis calls in slow_db: its p50 rose by the
  // 100 ms the toxic adds (the service makes one Redis round trip per request).
  const json& phases = results["phases"];
  ASSERT_TRUE(phases.is_array()) << results.dump(2);
  double baseline_p50 = -1, slow_p50 = -1;
  for (const auto& p : phases) {
    if (p["name"] == "baseline") baseline_p50 = p["load"]["latency_seconds"]["p50"].get<double>();
    if (p["name"] == "slow_db") slow_p50 = p["load"]["latency_seconds"]["p50"].get<double>();
  }
  EXPECT_GT(slow_p50, baseline_p50 + 0.080)
      << "baseline " << baseline_p50 << ", slow_db " << slow_p50;
}
