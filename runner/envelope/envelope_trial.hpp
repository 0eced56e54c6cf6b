// One envelope trial: `faultline run SCENARIO [--duration D] --set ...` at one (load, fault) point,
// in-process, into OUT/trials/NNN; its results.json read back into the verdicts of the SLO
// assertions, their margins and the measured phases' figures. The printed command reproduces it.
#pragma once

#include <string>
#include <vector>

#include "runner/envelope/envelope.hpp"

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

class TrialRunner {
 public:
  TrialRunner(const Plan& plan, std::string faultline_exe);
  // Runs the trial; nullopt when it was interrupted (SIGINT/SIGTERM).
  std::optional<Trial> operator()(const Point& p);

 private:
  const Plan& plan_;
  std::string exe_;
  int next_ = 1;
};

}  // namespace faultline::runner::envelope
