// The results.json document of `faultline run` (contract with the reports: see docs/run.md
// "results.json" and runner/report/). Missing data is null, never a made-up 0.
#pragma once

#include <string>
#include <vector>

#include "common/config.hpp"
#include "runner/assertions/assertion.hpp"
#include "runner/measurements.hpp"
#include "runner/scenario.hpp"

namespace faultline::runner {

struct TimelineRecord {
  double at_seconds = 0;  // when it actually happened, seconds since the load started
  std::string phase;
  std::string action;
};

struct RunInfo {
  std::string started_at;  // UTC, ISO 8601
  double duration_seconds = 0;
  std::string verdict;  // pass | fail | error
  std::string error;    // for "error": what went wrong (names the component or JSON path)
  bool interrupted = false;
  json endpoints = json::object();  // component -> metrics address
};

json phase_to_json(const PhaseStats& p);
json results_to_json(const Scenario& s, const RunInfo& info, const RunMeasurements& m,
                     const std::vector<TimelineRecord>& timeline,
                     const std::vector<AssertionResult>& assertions);

// At most `max_points` points for the charts: consecutive groups are merged (mean throughput,
// error ratio and p50; max p99; the last resource values; the group's last t and phase). Runs up
// to `max_points` seconds are kept as they are. Assertions always use the full series.
std::vector<SeriesPoint> downsample(const std::vector<SeriesPoint>& series,
                                    std::size_t max_points = 3600);

// "pass" when every assertion held, "fail" otherwise ("pass" with no assertions).
std::string verdict_of(const std::vector<AssertionResult>& results);

}  // namespace faultline::runner
