// `faultline report merge --intervals`: the --intervals-out streams of N load shards merged second
// by second into one stream of the same format, so that the runner's phase logic and `faultline
// report build` read distributed data as if one generator had made it. The same merger serves a
// finished set of files (merge_interval_files) and the runner's live tails of local shards
// (IntervalMerger, fed line by line).
//
// Per second (the line's `t` rounded to a whole second; shards started with the same --start-at
// line up): counters, errors, the schedule and the sessions (by entry name and close code) are
// summed, histograms merged losslessly (Histogram::merge), per name too, and the percentiles
// recomputed from the merged histogram. Levels (in_flight, backlog, offered_rps) are the sum of
// each shard's last value in that second; `seconds` is the longest shard's, throughput_rps = total
// / seconds. A merged line carries `merged_from` (the number of streams), `start_unix` and `model`,
// and no `latency_uncorrected_seconds` (the lines have no uncorrected histogram to merge).
//
// The streams must line up: every line names its `start_unix` (second 0 as Unix time), `model`
// and `shard` ("I/N"). Starts more than kIntervalStartToleranceSeconds apart, different models, a
// shard given twice or shards of different N are a ConfigError naming the files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/histogram.hpp"

namespace faultline::loadgen {

// Shards given one --start-at start within microseconds; a separate start (no --start-at) is off
// by the start-up delay, which misplaces every request by that much.
inline constexpr double kIntervalStartToleranceSeconds = 0.1;

class IntervalMerger {
 public:
  // `names` label the streams in error messages (file names); one stream per name.
  explicit IntervalMerger(std::vector<std::string> names);
  ~IntervalMerger();
  IntervalMerger(const IntervalMerger&) = delete;
  IntervalMerger& operator=(const IntervalMerger&) = delete;

  // Adds the next line of `stream` (a stream's lines come in order). Throws ConfigError naming
  // the stream and line on a line that is not an interval line or does not line up.
  void add(std::size_t stream, const json& line);
  // `stream` has no more lines.
  void finish(std::size_t stream);
  // The merged lines that are complete (every unfinished stream has a line past their second),
  // in order; each is returned once.
  std::vector<json> take_ready();
  std::size_t streams() const noexcept { return names_.size(); }

 private:
  struct Second;
  void check_alignment(std::size_t stream, const json& line, const std::string& where);

  std::vector<std::string> names_;
  std::vector<std::optional<std::int64_t>> last_key_;
  std::vector<bool> finished_;
  std::vector<std::uint64_t> lines_;
  std::vector<std::string> shard_;  // per stream, from its first line ("" when none)
  std::optional<double> start_unix_;
  std::size_t start_from_ = 0;  // the stream start_unix_ came from
  std::optional<std::string> model_;
  std::size_t model_from_ = 0;
  std::map<std::int64_t, Second> pending_;
};

// Merges the interval streams at `paths` (each with its rolled PATH.NNNN.gz segments) into
// `out_path` ("-" = stdout), reading them side by side so memory stays a few seconds' worth.
// Returns the number of merged lines written. Throws ConfigError naming the file.
std::uint64_t merge_interval_files(const std::vector<std::string>& paths,
                                   const std::string& out_path);

}  // namespace faultline::loadgen
