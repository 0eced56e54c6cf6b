// What the run measures of its components besides the load's intervals: every component's
// /metrics text at each phase boundary, and a thread that samples each component's resident
// memory and open files every second (so a slow /metrics never delays a timeline action) and keeps
// the logs bounded. Everything goes into the ledger as run events.
#pragma once

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runner/ledger/ledger.hpp"
#include "runner/system/load_fleet.hpp"
#include "runner/system/system.hpp"
#include "runner/timeline/clock.hpp"

namespace faultline::runner {

class Sampler {
 public:
  // `log_dirs`: every log under them is capped (copytruncate).
  Sampler(System& sys, LoadFleet& load, RunLedger& ledger, std::vector<std::string> log_dirs)
      : sys_(sys), load_(load), ledger_(ledger), log_dirs_(std::move(log_dirs)) {}
  ~Sampler() { stop(); }
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // The /metrics of every component whose key `wanted` accepts ("target", "proxy", "load", a
  // process name) at boundary k (the start of phase k; k == phases: the end).
  void boundary(std::size_t k, double at, const std::function<bool(const std::string&)>& wanted);
  // Starts the per-second thread; stop() ends it (at once).
  void start(TimelineClock clock);
  void stop();

 private:
  void loop(std::stop_token st, TimelineClock clock);
  void rotate_logs();
  System& sys_;
  LoadFleet& load_;
  RunLedger& ledger_;
  std::vector<std::string> log_dirs_;
  std::set<std::string> rotation_warned_;  // sampler thread only
  std::jthread thread_;
};

}  // namespace faultline::runner
