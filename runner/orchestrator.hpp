// Runs a scenario: starts what it names (redis-server shards, `faultline proxy`, `faultline
// target`, `faultline load`, all as child processes of this one), waits for each to be ready,
// executes the timeline on a monotonic clock, scrapes the components' /metrics at every phase
// boundary and every second, tears everything down (also on SIGINT/SIGTERM and on failure), then
// evaluates the assertions and writes results.json (+ junit.xml, report.html).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "runner/scenario.hpp"

namespace faultline::runner {

struct RunOptions {
  std::string out_dir;        // results.json, junit.xml, report.html, logs/
  std::string prometheus_sd;  // file_sd JSON written once everything is up ("" = none)
  std::string faultline_exe;  // the binary to run components with (default: this process)
  bool print_summary = true;  // the verdict table on stdout
};

// Exit code as `faultline run` returns it: 0 pass, 1 an assertion failed, 2 bad scenario or a
// component failed, 130 interrupted.
int run_scenario(const Scenario& scenario, const RunOptions& options);

// Set by the SIGINT/SIGTERM handler that run_scenario installs; polled by every wait.
std::atomic<bool>& stop_requested();

// Executes `entries` (offsets in seconds from `t0`) at their times on the steady clock; `execute`
// gets the entry index and returns the actual offset when it finished. Returns false when stopped.
// Exposed for the timing test.
struct TimelineClock {
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0;
  double offset(Clock::time_point t) const { return std::chrono::duration<double>(t - t0).count(); }
  Clock::time_point at(double seconds) const {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }
};

}  // namespace faultline::runner
