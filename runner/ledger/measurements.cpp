// Lookups over a run's measurements.
#include "runner/ledger/measurements.hpp"

namespace faultline::runner {

std::optional<double> LatencySummary::get(const std::string& which) const {
  if (which == "p50") return p50;
  if (which == "p90") return p90;
  if (which == "p99") return p99;
  if (which == "p999") return p999;
  if (which == "max") return max;
  if (which == "mean") return mean;
  return std::nullopt;
}

const PhaseStats* RunMeasurements::phase(const std::string& name) const {
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : &it->second;
}

std::vector<const PhaseStats*> RunMeasurements::occurrences(const std::string& name) const {
  std::vector<const PhaseStats*> out;
  for (const auto& p : phases)
    if (name == "*" || p.name == name) out.push_back(&p);
  return out;
}

}  // namespace faultline::runner
