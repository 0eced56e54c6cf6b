// `faultline run --validate`: what can be known about a scenario without running it, beyond the
// parse (every JSON path already checked) and the placeholders (resolved, ports picked): that each
// program it starts or executes exists and is executable, and that Prometheus accepts each promql
// assertion's query — asked of a throw-away Prometheus with no targets (or of the user's, for
// services.prometheus.url), every phase placeholder ("[phase]", "[phases.NAME:1s]",
// "${phase.duration}": runner/scenario/promql_phases.hpp) standing for a one-second window.
#pragma once

#include <string>
#include <vector>

#include "runner/scenario/scenario.hpp"

namespace faultline::runner {

// One line per problem, "JSON.PATH: what is wrong", in scenario order; empty when the scenario
// can run. `scratch_dir`: an empty directory for the throw-away Prometheus (its config, storage
// and log), left for the caller to remove.
std::vector<std::string> dry_run(const Scenario& s, const std::string& scratch_dir);

}  // namespace faultline::runner
