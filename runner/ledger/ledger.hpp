// The run's ledger: everything measured, in one place and one order. Every observation is a run
// event (run_record.hpp) that goes through record(): written to the run record (when one is open)
// and applied to the collector, the timeline log, the promql values and the deaths. The live run
// and `faultline report build` (which replays the record) both end in results(): the same phases,
// assertions, verdict and events from the same events. Thread-safe: the scraper thread records
// resources while the main thread records boundaries and reads checkpoints.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runner/ledger/collector.hpp"
#include "runner/ledger/results.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/scenario/scenario.hpp"

namespace faultline::runner {

class RunLedger {
 public:
  explicit RunLedger(const Scenario& s);
  RunLedger(const RunLedger&) = delete;
  RunLedger& operator=(const RunLedger&) = delete;

  // The live run: DIR/run-record.json and run-events.jsonl. "" or what failed.
  std::string open_record(const std::string& dir, const RunHeader& header);
  void rewrite_header(const RunHeader& header);

  // Writes `e` to the record (if open) and applies it.
  void record(RunEvent e);
  // Applies `e` without writing it (report build replays the record).
  void apply(const RunEvent& e);
  // One line of the load generator's intervals (it writes its own file).
  void add_interval(const json& line);

  std::size_t boundaries() const;        // boundary scrapes taken (k + 1 of the latest)
  std::size_t completed_phases() const;  // phases whose end boundary was scraped
  double last_at() const;                // the latest time any event or interval names
  bool cut_short() const;
  std::optional<event::End> end() const;
  std::size_t malformed_intervals() const;
  std::size_t failed_writes() const { return writer_.failed_writes(); }
  RunMeasurements measurements() const;

  // results.json as of now: the assertions of the completed phases, the verdict (from the End
  // event when there is one; `checkpoint`: partial, as of `as_of`). `info` has the header's
  // started_at and endpoints; returns the exit code with the document.
  struct Results {
    json doc;
    int exit_code = 0;
  };
  Results results(RunInfo info, bool checkpoint, double as_of) const;

 private:
  void apply_locked(const RunEvent& e);
  const Scenario& s_;
  RunRecordWriter writer_;
  bool writing_ = false;
  mutable std::mutex mutex_;
  std::unique_ptr<Collector> collector_;
  std::vector<TimelineRecord> timeline_;
  std::map<std::string, PromqlValue> promql_;
  json deaths_ = json::array();
  std::size_t boundaries_ = 0;
  double last_at_ = 0;
  bool cut_short_ = false;
  std::size_t cut_started_ = 0;  // CutShort::started: phases from there on never started
  std::optional<event::End> end_;
};

}  // namespace faultline::runner
