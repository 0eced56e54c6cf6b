// `faultline report build DIR`: rebuilds results.json, junit.xml and report.html from what a
// `faultline run` left on disk (run_record.hpp: run-record.json, run-events.jsonl, and the load
// generator's load-intervals.jsonl) — after the runner was SIGKILLed, or to re-render a finished
// run with a newer faultline. The phases that completed get their assertions; the rest are
// not_run. Exit codes as `faultline run`: 0 pass, 1 fail, 2 error or unreadable record, 130 a run
// that did not finish (interrupted, killed).
#pragma once

#include <string>

namespace faultline::runner {

int build_report(const std::string& dir, bool print_summary = true);

}  // namespace faultline::runner
