// Runs a scenario: starts what it names (redis-server shards, `faultline proxy`, `faultline
// target`, `faultline load`, all as child processes of this one), waits for each to be ready,
// executes the timeline on a monotonic clock, scrapes the components' /metrics at every phase
// boundary and every second, tears everything down (also on SIGINT/SIGTERM and on failure), then
// evaluates the assertions and writes results.json (+ junit.xml, report.html). The steps live in
// run_start.cpp, run_timeline.cpp and orchestrator.cpp (see run_steps.hpp).
#pragma once

#include <string>

#include "runner/scenario.hpp"

namespace faultline::runner {

struct RunOptions {
  std::string out_dir;        // results.json, junit.xml, report.html, logs/
  std::string prometheus_sd;  // file_sd JSON written once everything is up ("" = none)
  std::string faultline_exe;  // the binary to run components with (default: this process)
  bool print_summary = true;  // the verdict table on stdout
  std::string api_token;      // for services.proxy_api (--api-token / $FAULTLINE_API_TOKEN)
  // results.json/junit.xml/report.html rewritten (atomically, "partial": true) this often and at
  // every phase end; 0 = only at the end.
  double checkpoint_interval_seconds = 300;
};

// Exit code as `faultline run` returns it: 0 pass, 1 an assertion failed, 2 bad scenario or a
// component failed, 130 interrupted (SIGINT/SIGTERM, taken with common/signals.hpp's StopSignals,
// which this function creates: call it before starting any thread of your own).
int run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace faultline::runner
