// One envelope trial: `faultline run SCENARIO [--duration D] --set ...` at one (load, fault) point,
// in-process, into OUT/trials/NNN; its results.json read back into the verdicts of the SLO
// assertions, their margins and the measured phases' figures. The printed command reproduces it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runner/envelope/envelope.hpp"
#include "runner/orchestrator.hpp"

namespace faultline::runner::envelope {

// A number as --set and the summary write it: whole numbers without a decimal point.
std::string format_value(double v, bool integer);

// A number for envelope.json: whole numbers as JSON integers (400, not 400.0).
json number_json(double v);

// The --set overrides of a trial at `p`: the user's own, then load.rate and every key of the fault.
std::vector<std::string> trial_overrides(const Plan& plan, const Point& p);

// The SLO margin of one assertion: how far inside (> 0) or outside (< 0) its bound the measured
// value is, relative to the bound; nullopt when either is unknown.
std::optional<double> slo_margin(const SloBound& b, std::optional<double> measured);
// `b` with a relative max replaced by the value the trial resolved (results.json's "bound_max"
// of the assertion named b.name in `assertions`); unchanged for an absolute bound.
SloBound resolved_slo(const SloBound& b, const json& assertions);

// Runs the trials of a plan. With plan.reuse_system the first trial starts the scenario's system
// and leaves it running (runner::KeptSystem, its logs in OUT/systems/NN/); the next trials reuse
// it, each with its own load generator and the proxies reset to the trial's initial toxics. The
// system is stopped (and the next trial starts a new one) after a trial in which a recovery_time
// assertion did not pass, or, when the scenario has none, after a failed trial; a trial whose run
// ended in error stops it too.
class TrialRunner {
 public:
  TrialRunner(const Plan& plan, std::string faultline_exe);
  // Runs the trial; nullopt when it was interrupted (SIGINT/SIGTERM).
  std::optional<Trial> operator()(const Point& p);
  // envelope.json's "system": whether it was reused, why not, how many times it was started.
  json system_json() const;
  // Stops the kept system (quietly); the next trial would start a new one.
  void stop_system();

 private:
  // Whether the system is kept after a trial that did not hold: every recovery assertion passed.
  bool recovered(const json& results) const;

  const Plan& plan_;
  std::string exe_;
  int next_ = 1;
  std::shared_ptr<KeptSystem> keep_;  // OUT/systems/NN: the logs of its NNth system
};

}  // namespace faultline::runner::envelope
