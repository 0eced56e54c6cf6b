// What a `faultline run` keeps on disk as it goes, so nothing lives only in memory: the run's
// header (the scenario as given, the placeholder values, when second 0 was) in `run-record.json`,
// and one JSON line per event in `run-events.jsonl`. The events are the types below, each with its
// JSON form in one place (run_record.cpp): every phase-boundary scrape (the components' metrics
// text), every per-second resource sample, every timeline record, every promql value, every
// component that died, the point where a run was cut short, and the end. With the load generator's
// `load-intervals.jsonl` next to them this is everything: the live run and `faultline report build`
// both turn events into results through one RunLedger (ledger.hpp). Lines are flushed as they are
// written; a torn last line (the runner was killed mid-write) is skipped when reading.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/config.hpp"

namespace faultline::runner {

inline constexpr const char* kRunRecordFile = "run-record.json";
inline constexpr const char* kRunEventsFile = "run-events.jsonl";
inline constexpr const char* kIntervalsFile = "load-intervals.jsonl";

// How a run ended. The verdict of a run that ran to its end is its assertions' (pass or fail);
// error and interrupted say the run could not do what was asked.
enum class Verdict { pass, fail, error, interrupted };
std::string_view to_string(Verdict v);
std::optional<Verdict> parse_verdict(std::string_view text);
// The exit code of `faultline run` (and `report build`) for a verdict: 0, 1, 2, 130.
int exit_code_of(Verdict v);

namespace event {
// Phase boundary k was reached at `at` (k == phases: the end of the run), whether or not any
// component answered its scrape.
struct Phase {
  std::size_t k = 0;
  double at = 0;
};
// The components' /metrics text at phase boundary k (k == phases: the end of the run).
struct Boundary {
  std::size_t k = 0;
  double at = 0;
  std::string component;  // "target", "proxy", "load" or a process name (ComponentId::key)
  std::string metrics;
};
// Per-second process figures: "<component>_rss_bytes", "<component>_open_fds".
struct Resources {
  double t = 0;
  std::map<std::string, double> values;
};
// A timeline action as it happened (or "phase starts", "end of run").
struct Timeline {
  double at = 0;
  std::string phase;
  std::string action;
};
// A promql assertion's value (or why there is none).
struct Promql {
  std::string name;
  std::optional<double> value;
  std::string error;
  std::string query;
  double at = 0;
};
// A component that exited without the timeline asking for it.
struct Death {
  double at_seconds = 0;
  std::string component;
  int status = 0;
  std::string log;
};
// The run was cut short (an error or a stop signal) during phase `started - 1`, at `at`: phases
// from `started` on never started.
struct CutShort {
  std::size_t started = 0;
  double at = 0;
};
// The last event of a run that ended by itself (a killed runner writes none).
struct End {
  Verdict verdict = Verdict::pass;  // error/interrupted, or pass/fail as the assertions decided
  std::string error;
  double duration_seconds = 0;
  double as_of_seconds = 0;
};
}  // namespace event

using RunEvent = std::variant<event::Phase, event::Boundary, event::Resources, event::Timeline,
                              event::Promql, event::Death, event::CutShort, event::End>;

json to_json(const RunEvent& e);
// nullopt for an unknown type or a malformed event (counted as an unreadable line).
std::optional<RunEvent> event_from_json(const json& j);

// The header: what `faultline report build` needs to parse the scenario again exactly as it ran.
struct RunHeader {
  json scenario_source;
  std::string scenario_file;
  std::string base_dir;
  std::map<std::string, std::string> placeholder_values;
  std::optional<double> scaled_to;
  std::string started_at;
  double t0_unix = 0;
  json endpoints = json::object();
};
json to_json(const RunHeader& h);
// Throws ConfigError when a required member is missing or of the wrong type.
RunHeader header_from_json(const json& j);

class RunRecordWriter {
 public:
  RunRecordWriter() = default;
  ~RunRecordWriter();
  RunRecordWriter(const RunRecordWriter&) = delete;
  RunRecordWriter& operator=(const RunRecordWriter&) = delete;

  // Writes DIR/run-record.json (atomically) and opens DIR/run-events.jsonl (truncated). Returns ""
  // or what failed.
  std::string open(const std::string& dir, const RunHeader& header);
  // Rewrites DIR/run-record.json (second 0 and the endpoints are known once everything started).
  // Returns "" or what failed (counted as a failed write).
  std::string rewrite_header(const RunHeader& header);
  // Appends one event line and flushes it; thread-safe. A failed write is counted, not thrown.
  void append(const RunEvent& event);
  // Writes that failed: the record is incomplete (a warning in the summary and results.json).
  std::size_t failed_writes() const;

 private:
  mutable std::mutex mutex_;
  std::string dir_;
  std::FILE* events_ = nullptr;
  std::size_t failed_ = 0;
};

struct RecordedRun {
  RunHeader header;
  std::vector<RunEvent> events;  // run-events.jsonl, in order
  std::size_t skipped_lines = 0;
};
// Reads DIR's run record. Throws ConfigError when run-record.json is missing or not JSON.
RecordedRun read_run_record(const std::string& dir);

}  // namespace faultline::runner
