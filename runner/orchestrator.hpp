// Runs a scenario: starts what it names (redis-server shards, `faultline proxy`, `faultline
// target`, `faultline load`, all as child processes of this one), waits for each to be ready,
// executes the timeline on a monotonic clock, scrapes the components' /metrics at every phase
// boundary and every second, tears everything down (also on SIGINT/SIGTERM and on failure), then
// evaluates the assertions and writes results.json (+ junit.xml, report.html). The steps live in
// run_start.cpp, run_timeline.cpp and orchestrator.cpp (see run_steps.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "runner/scenario.hpp"

namespace faultline::runner {

namespace run_detail {
struct System;
class Orchestrator;
}  // namespace run_detail

// The system a run started — Redis shards, the proxy (or the proxies it created on an attached
// API), the target, the scenario's processes — kept running after the run so that the next run of
// the same scenario reuses it instead of starting its own (`faultline envelope`'s trials). Given in
// RunOptions::keep_system: a run that finds it empty starts the system as usual and leaves it here
// when it ends, unless the run ended in error or was interrupted (then everything is stopped as
// usual); a run that finds it holding a system resets every proxy to the scenario's initial state
// (enabled, exactly its initial toxics with this run's attributes) and runs its load against it.
// The runs must be of the same scenario, differing at most in the load and the toxics' attributes,
// and the scenario must allow it (system_reuse_obstacle). Destroying it stops what it holds.
class KeptSystem {
 public:
  // Each system started into it logs to LOG_ROOT/NN/NAME.log, NN its start number (01, 02, ...).
  explicit KeptSystem(std::string log_root);
  ~KeptSystem();
  KeptSystem(const KeptSystem&) = delete;
  KeptSystem& operator=(const KeptSystem&) = delete;

  bool holds() const noexcept;
  void stop();  // stops what it holds, in teardown order
  // How many times a run started a system into it (the one it holds is number starts()).
  int starts() const noexcept { return starts_; }
  // The placeholder values of the run that started the system (its ports, its TLS files) but
  // `out`: pass them as RunContext::fixed_values when resolving the runs that reuse it.
  const std::map<std::string, std::string>& placeholder_values() const noexcept { return values_; }
  std::string log_dir() const;  // of the system it holds (or was last started)

 private:
  friend class run_detail::Orchestrator;
  std::string log_root_;
  std::unique_ptr<run_detail::System> sys_;
  std::map<std::string, std::string> values_;
  int starts_ = 0;
};

// "" when a scenario's system can be kept between runs (KeptSystem); otherwise why not, naming the
// JSON path: a timeline that signals or restarts a component or runs a command changes the system
// beyond what resetting the proxies undoes.
std::string system_reuse_obstacle(const Scenario& s);

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
