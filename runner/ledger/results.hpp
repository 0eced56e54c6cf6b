// The results.json document of `faultline run` (contract with the reports: see docs/run.md
// "results.json" and runner/report/). Missing data is null, never a made-up 0.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "runner/assertions/assertion.hpp"
#include "runner/ledger/measurements.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner {

struct TimelineRecord {
  double at_seconds = 0;  // when it actually happened, seconds since the load started
  std::string phase;
  std::string action;
};

struct RunInfo {
  std::string started_at;  // UTC, ISO 8601
  double duration_seconds = 0;
  // error or interrupted when the run ended so; otherwise pass until decide_verdict() sets what the
  // assertions say.
  Verdict verdict = Verdict::pass;
  std::string error;  // for error/interrupted: what went wrong (names the component or JSON path)
  json endpoints = json::object();  // component -> metrics address
  // A checkpoint written while the run goes on (or rebuilt from a run that did not finish):
  // assertions of the phases completed by `as_of_seconds` are evaluated, the rest not_run.
  bool partial = false;
  double as_of_seconds = 0;
  // For interrupted/error runs: pass/fail of what was evaluated.
  std::optional<Verdict> completed_verdict;
  json events = json::array();  // components that died: {at_seconds, component, status, log}
  // Things the reader must know that do not change the verdict (e.g. the run record is
  // incomplete): a "warnings" list in results.json and lines in the summary.
  std::vector<std::string> warnings;
  bool record_incomplete = false;
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

// pass when every assertion held, fail otherwise (pass with no assertions).
Verdict verdict_of(const std::vector<AssertionResult>& results);

// Evaluates the assertions whose phases all completed (`completed_phases` timeline entries; a
// phase name counts once any of its occurrences completed; "*" needs the whole run); the others are
// not_run with a message saying which phase did not complete.
std::vector<AssertionResult> evaluate_assertions(const Scenario& s, const RunMeasurements& m,
                                                 std::size_t completed_phases);
// Sets info.verdict (and completed_verdict) from the results and the way the run ended; returns
// the exit code: 0 pass, 1 fail, 2 error, 130 interrupted.
int decide_verdict(RunInfo& info, const std::vector<AssertionResult>& results);
// results.json, junit.xml and report.html into `dir`, each written atomically. Throws
// std::runtime_error naming the file.
void write_results(const std::string& dir, const json& doc);

}  // namespace faultline::runner
