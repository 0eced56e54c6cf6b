// What a `faultline run` keeps on disk as it goes, so nothing lives only in memory: the run's
// header (the scenario as given, the placeholder values, when second 0 was) in `run-record.json`,
// and one JSON line per event in `run-events.jsonl` — every phase-boundary scrape (the components'
// metrics text), every per-second resource sample, every timeline record, every promql value, and
// every component that died. With the load generator's `load-intervals.jsonl` next to them this is
// enough to rebuild results.json, junit.xml and report.html after a crash of the runner
// (`faultline report build DIR`, report_build.hpp). Lines are flushed as they are written; a torn
// last line (the runner was killed mid-write) is skipped when reading.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace faultline::runner {

inline constexpr const char* kRunRecordFile = "run-record.json";
inline constexpr const char* kRunEventsFile = "run-events.jsonl";
inline constexpr const char* kIntervalsFile = "load-intervals.jsonl";

class RunRecordWriter {
 public:
  RunRecordWriter() = default;
  ~RunRecordWriter();
  RunRecordWriter(const RunRecordWriter&) = delete;
  RunRecordWriter& operator=(const RunRecordWriter&) = delete;

  // Writes DIR/run-record.json (atomically) and opens DIR/run-events.jsonl (truncated). Returns ""
  // or what failed.
  std::string open(const std::string& dir, const json& header);
  // Appends one event line and flushes it; thread-safe. A failed write is counted, not thrown.
  void append(const json& event);
  std::size_t failed_writes() const noexcept { return failed_; }

 private:
  std::mutex mutex_;
  std::FILE* events_ = nullptr;
  std::size_t failed_ = 0;
};

// Writes `text` to `path` through a temporary file and rename(), so a reader never sees half a
// file. Throws std::runtime_error naming the file.
void write_file_atomically(const std::string& path, const std::string& text);

struct RecordedRun {
  json header;               // run-record.json
  std::vector<json> events;  // run-events.jsonl, in order
  std::size_t skipped_lines = 0;
};
// Reads DIR's run record. Throws ConfigError when run-record.json is missing or not JSON.
RecordedRun read_run_record(const std::string& dir);

}  // namespace faultline::runner
