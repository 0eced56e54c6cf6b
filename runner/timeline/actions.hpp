// The timeline's actions, executed against the running system: proxy actions through the proxy
// API (add/update/remove a toxic, disable/enable a proxy), signals and restarts of a component,
// and commands run to completion. Each returns what the timeline record says happened. The clock
// that decides when each runs is the orchestrator's.
#pragma once

#include <set>
#include <string>

#include "runner/scenario/scenario.hpp"
#include "runner/system/system.hpp"

namespace faultline::runner {

class TimelineActions {
 public:
  TimelineActions(System& sys, std::string out_dir, StopCheck should_stop)
      : sys_(sys), out_dir_(std::move(out_dir)), should_stop_(std::move(should_stop)) {}

  // Executes `a`; returns its description with what happened ("restart target: ready again after
  // 0.53s"). Throws RunError when it failed (a command's non-zero exit unless allow_failure),
  // Interrupted when stopped.
  std::string execute(const Action& a);
  // The components the timeline took down on purpose (stopped, killed, restarting): keys.
  std::vector<std::string> expected_down() const {
    return {expected_down_.begin(), expected_down_.end()};
  }

 private:
  void proxy_action(const Action& a);
  void signal(const Action& a);
  double restart(const Action& a);  // seconds until ready again
  std::string exec(const Action& a);

  System& sys_;
  std::string out_dir_;
  StopCheck should_stop_;
  std::set<std::string> expected_down_;
  std::size_t execs_ = 0;
};

}  // namespace faultline::runner
