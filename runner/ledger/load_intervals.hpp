// The load generator's per-second interval lines as the runner reads them live: one load
// process's --intervals-out stream as it is, or, for a scenario's `"load": {"shards": N}`, the N
// local load processes' streams merged second by second by loadgen::IntervalMerger — the code
// `faultline report merge --intervals` runs on a distributed run's files — so that the verdict
// comes from the same per-second data either way. The merged lines are also written to the run's
// load-intervals.jsonl, where `faultline report build` reads them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/line_segments.hpp"
#include "loadgen/interval_merge.hpp"

namespace faultline::runner {

class LoadIntervals {
 public:
  // `paths`: each load process's --intervals-out. With more than one, `merged_path` receives the
  // merged stream (truncated first).
  LoadIntervals(const std::vector<std::string>& paths, const std::string& merged_path);
  ~LoadIntervals();
  LoadIntervals(const LoadIntervals&) = delete;
  LoadIntervals& operator=(const LoadIntervals&) = delete;

  // The lines complete so far, parsed (a line that is not JSON is a discarded value, which the
  // collector counts as malformed). `final`: every load process has exited; the rest is flushed.
  std::vector<json> read(bool final);
  // Lines of a shard that could not be merged (logged once each; the collector never sees them).
  std::size_t rejected() const noexcept { return rejected_; }

 private:
  std::vector<std::unique_ptr<LineTail>> tails_;
  std::optional<loadgen::IntervalMerger> merger_;
  std::unique_ptr<RollingLineWriter> merged_;
  bool finished_ = false;
  std::size_t rejected_ = 0;
  static constexpr double kMergedRollSeconds = 3600;  // as the load's --intervals-roll default
  double next_roll_ = kMergedRollSeconds;
};

// The --shard, --start-at and per-shard file arguments of shard `index` of `count` local load
// processes (`start_unix`: their common second 0). Files: DIR/load-intervals.shardI.jsonl and
// DIR/load-results.shardI.json.
std::string shard_intervals_path(const std::string& dir, std::size_t index);
std::string shard_results_path(const std::string& dir, std::size_t index);

// Merges the shards' --out results (loadgen::merge_results) into `out_path`; false with a warning
// logged when a shard wrote none (it was killed).
bool merge_shard_results(const std::vector<std::string>& paths, const std::string& out_path);

}  // namespace faultline::runner
