// Runs a scenario: starts what it names (the system: Redis shards, `faultline proxy`, `faultline
// target`, the user's processes; then Prometheus and the load generator, all child processes of
// this one), executes the timeline on a monotonic clock counted from the load's second 0, scrapes
// every component at each phase boundary and samples them every second, tears everything down
// (also on SIGINT/SIGTERM and on failure), then judges the assertions and writes results.json,
// junit.xml and report.html. The sequence is orchestrator.cpp, top to bottom; what it drives lives
// in system/ (components), timeline/ (actions, scrapes), ledger/ (events to results) and judge/
// (PromQL).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "runner/scenario/scenario.hpp"
#include "runner/system/system.hpp"

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
  // Keep the system running after the run, or reuse the one kept there (see KeptSystem).
  std::shared_ptr<KeptSystem> keep_system;
};

// Exit code as `faultline run` returns it: 0 pass, 1 an assertion failed, 2 bad scenario or a
// component failed, 130 interrupted (SIGINT/SIGTERM, taken with common/signals.hpp's StopSignals,
// which this function creates: call it before starting any thread of your own).
int run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace faultline::runner
