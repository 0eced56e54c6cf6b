// `"load": {"shards": N}` end to end: the runner starts N local `faultline load --shard I/N`
// processes with one --start-at, merges their interval streams per second (runner/load_intervals,
// the code `faultline report merge --intervals` uses) and judges the merge. The same scenario run
// unsharded and with 3 shards offers the same load (±1 %) and passes; the run directory holds the
// shards' files, the merged stream and the merged results. Bad values exit 2 with their path.
#include <gtest/gtest.h>

#include <fstream>

#include "common/config.hpp"
#include "common/line_segments.hpp"
#include "tests/support/support.hpp"

using namespace faultline;
using namespace faultline::test;
using namespace std::chrono_literals;

namespace {

json scenario(int shards) {
  json s = json::parse(R"({
    "name": "shards",
    "duration": "4s",
    "services": {"target": {"mode": "resilient", "store": "memory", "threads": 1}},
    "load": {
      "rate": 300, "connections": 8, "timeout": "2s",
      "workload": {"mix": [{"name": "health", "method": "GET", "url": "/healthz"}]}
    },
    "timeline": [{"at": "0s", "phase": "first"}, {"at": "2s", "phase": "second"}],
    "assertions": [
      {"name": "first errors", "kind": "error_ratio", "phase": "first", "max": 0.01},
      {"name": "second errors", "kind": "error_ratio", "phase": "second", "max": 0.01}
    ]
  })");
  if (shards > 0) s["load"]["shards"] = shards;
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Outcome {
  json results;
  std::uint64_t offered = 0;  // over every phase
};

Outcome run(const TempDir& dir, const std::string& name, int shards) {
  const std::string file = write_json(dir, name + ".json", scenario(shards));
  const std::string out = dir.file(name);
  auto [code, text] = run_faultline({"run", file, "--out", out}, dir.file(name + ".err"), 60s);
  EXPECT_EQ(code, 0) << text << slurp(dir.file(name + ".err"));
  Outcome o;
  o.results = load_json_file(out + "/results.json");
  for (const auto& p : o.results["phases"])
    if (p["load"].is_object()) o.offered += p["load"]["schedule"]["offered"].get<std::uint64_t>();
  expect_nothing_left(o.results, out);
  return o;
}

}  // namespace

TEST(LoadShardsE2E, ShardedRunOffersTheSameLoadAndPasses) {
  TempDir dir;
  const Outcome one = run(dir, "one", 0);
  const Outcome three = run(dir, "three", 3);
  EXPECT_EQ(one.results["verdict"], "pass");
  EXPECT_EQ(three.results["verdict"], "pass");
  // 300/s for 4 s either way: the shards' thirds add up to the whole.
  EXPECT_NEAR(static_cast<double>(one.offered), 1200, 12);
  EXPECT_NEAR(static_cast<double>(three.offered), static_cast<double>(one.offered),
              0.01 * static_cast<double>(one.offered));
  for (const auto& p : three.results["phases"])
    EXPECT_NEAR(p["load"]["throughput_rps"].get<double>(), 300, 15) << p.dump();
  // Every phase has the load's figures: the last one too, although a shard may have exited
  // before the run's last scrape (then they are the phase's latest per-second sample of all
  // three; under ASan they were missing before that fallback).
  for (const auto& p : three.results["phases"])
    EXPECT_TRUE(p.contains("components") && p["components"].contains("load")) << p.dump();
  // The load's memory is its three processes' (each maps the whole binary), not shard 0's. The
  // first phase's: it ends while every shard runs, so both runs' figures are a boundary scrape.
  const json& one_load = one.results["phases"][0]["components"]["load"];
  const json& three_load = three.results["phases"][0]["components"]["load"];
  ASSERT_TRUE(one_load.is_object() && three_load.is_object()) << three.results["phases"].dump();
  EXPECT_GT(three_load["rss_bytes"].get<double>(), 2 * one_load["rss_bytes"].get<double>())
      << one_load.dump() << three_load.dump();
  EXPECT_GT(three_load["open_fds"].get<double>(), one_load["open_fds"].get<double>())
      << one_load.dump() << three_load.dump();

  // The run directory: each shard's stream and results, the merge of both.
  const std::string out = dir.file("three");
  std::uint64_t shard_offered = 0;
  for (int i = 0; i < 3; ++i) {
    const json r = load_json_file(out + "/load-results.shard" + std::to_string(i) + ".json");
    EXPECT_EQ(r["shard"]["index"], i);
    shard_offered += r["schedule"]["offered"].get<std::uint64_t>();
    EXPECT_TRUE(
        std::filesystem::exists(out + "/load-intervals.shard" + std::to_string(i) + ".jsonl"));
  }
  const json merged_results = load_json_file(out + "/load-results.json");
  EXPECT_EQ(merged_results["merged_from"], 3);
  EXPECT_EQ(merged_results["schedule"]["offered"], shard_offered);
  std::uint64_t merged_offered = 0;
  std::size_t lines = 0;
  std::string error;
  ASSERT_TRUE(for_each_line(
      out + "/load-intervals.jsonl",
      [&](const std::string& l) {
        const json j = json::parse(l);
        EXPECT_EQ(j["merged_from"], 3) << l;
        merged_offered += j["schedule"]["offered"].get<std::uint64_t>();
        ++lines;
      },
      error))
      << error;
  EXPECT_GE(lines, 4u);
  EXPECT_EQ(merged_offered, shard_offered);

  // `faultline report build` re-renders the run from the merged stream: the same phases.
  auto [code, text] = run_faultline({"report", "build", out}, dir.file("build.err"));
  ASSERT_EQ(code, 0) << text << slurp(dir.file("build.err"));
  const json rebuilt = load_json_file(out + "/results.json");
  ASSERT_EQ(rebuilt["phases"].size(), three.results["phases"].size());
  for (std::size_t i = 0; i < rebuilt["phases"].size(); ++i)
    EXPECT_EQ(rebuilt["phases"][i]["load"]["schedule"]["offered"],
              three.results["phases"][i]["load"]["schedule"]["offered"]);
}

TEST(LoadShardsE2E, TheRunsPrometheusScrapesEveryShard) {
  // Each shard is a scrape target of its own (label shard="I"): PromQL sums over them.
  TempDir dir;
  json s = scenario(3);
  s["assertions"].push_back({{"name", "three shards scraped"},
                             {"kind", "promql"},
                             {"phase", "second"},
                             {"query", "count(count by (shard) (faultline_load_requests_total))"},
                             {"min", 3},
                             {"max", 3}});
  s["assertions"].push_back({{"name", "the whole rate"},
                             {"kind", "promql"},
                             {"phase", "second"},
                             {"query", "sum(increase(faultline_load_requests_total[phase]))"},
                             {"min", 500},
                             {"max", 700}});
  const std::string file = write_json(dir, "prom.json", s);
  const std::string out = dir.file("prom");
  auto [code, text] = run_faultline({"run", file, "--out", out}, dir.file("prom.err"), 90s);
  EXPECT_EQ(code, 0) << text << slurp(dir.file("prom.err"));
  const json r = load_json_file(out + "/results.json");
  for (const auto& a : r["assertions"])
    EXPECT_EQ(a["verdict"], "pass") << a.dump();
  expect_nothing_left(r, out);
}

TEST(LoadShardsE2E, BadShardCountsExitTwoWithTheirPath) {
  TempDir dir;
  for (const json& bad : {json(0), json(65), json("3")}) {
    json s = scenario(0);
    s["load"]["shards"] = bad;
    const std::string file = write_json(dir, "bad.json", s);
    auto [code, text] =
        run_faultline({"run", file, "--out", dir.file("bad")}, dir.file("bad.err"), 30s);
    EXPECT_EQ(code, 2) << bad.dump();
    EXPECT_NE(slurp(dir.file("bad.err")).find("$.load.shards"), std::string::npos)
        << slurp(dir.file("bad.err"));
  }
  json s = scenario(2);
  s["load"]["args"] = {"--shard", "0/2"};
  const std::string file = write_json(dir, "bad.json", s);
  auto [code, text] =
      run_faultline({"run", file, "--out", dir.file("bad")}, dir.file("bad.err"), 30s);
  EXPECT_EQ(code, 2);
  EXPECT_NE(slurp(dir.file("bad.err")).find("$.load.args"), std::string::npos)
      << slurp(dir.file("bad.err"));
}
