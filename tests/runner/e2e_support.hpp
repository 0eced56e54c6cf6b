// Shared by the runner's end-to-end tests that run the real binary (`faultline run`): one run's
// exit code, output and results.json, and an assertion of it by name.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "tests/support/support.hpp"

namespace faultline::test {

struct RunOutcome {
  int code = -1;
  std::string stdout_text, stderr_text;
  json results;  // null when the run wrote no results.json
};

// `faultline run SCENARIO --out DIR/out EXTRA...` (stderr kept in DIR/stderr.log).
inline RunOutcome run_scenario_cli(const TempDir& dir, const std::string& scenario,
                                   const std::vector<std::string>& extra,
                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> args{"run", scenario, "--out", dir.file("out")};
  args.insert(args.end(), extra.begin(), extra.end());
  auto [code, text] = run_faultline(args, dir.file("stderr.log"), timeout);
  std::ifstream err(dir.file("stderr.log"));
  RunOutcome o{code, text, std::string(std::istreambuf_iterator<char>(err), {}), nullptr};
  try {
    o.results = load_json_file(dir.file("out") + "/results.json");
  } catch (const ConfigError&) {
  }
  return o;
}

// The assertion named `name` in results.json, or nullptr.
inline const json* find_assertion(const json& results, const std::string& name) {
  if (!results.is_object() || !results.contains("assertions")) return nullptr;
  for (const auto& a : results["assertions"])
    if (a.value("name", std::string()) == name) return &a;
  return nullptr;
}

}  // namespace faultline::test
