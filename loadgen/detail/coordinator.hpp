// The once-a-second coordinator of a run (internal to loadgen/): folds what the workers recorded
// into the interval, writes the --intervals-out line, feeds the Prometheus endpoint, prints the
// progress line and watches the generator's own CPU; and it decides when the run is over (end of
// the timeline, every driver done, a replay answered, or a stop signal).
#pragma once

#include <cstdint>
#include <vector>

#include "common/line_segments.hpp"
#include "common/signals.hpp"
#include "loadgen/detail/engine_state.hpp"
#include "loadgen/detail/load_metrics.hpp"
#include "loadgen/detail/progress.hpp"
#include "loadgen/detail/results.hpp"

namespace faultline::loadgen::detail {

class Coordinator {
 public:
  // Opens --intervals-out (throws ConfigError when it cannot be written).
  explicit Coordinator(Engine& e);
  // Feeds `m` from now on (--metrics-listen).
  void publish_to(LoadMetrics* m) { metrics_ = m; }

  // Ticks once a second from the engine's start until the run is over; true when a stop signal
  // ended it.
  bool run(StopSignals& stop);
  // After sending stopped: waits (bounded by --timeout + 1 s) for in-flight requests to finish;
  // true when a stop signal arrived meanwhile.
  bool drain(StopSignals& stop);
  // One tick: the interval since the last one, ending at `now`. The final tick (after the run)
  // carries `unsent` (arrivals never sent, see stop_connections) and writes nothing when the
  // interval is empty (no response, no schedule change and nothing unsent).
  void tick(TimePoint now, bool final_tick, std::uint64_t unsent = 0);
  // Ends the progress line.
  void finish() const;

  std::size_t saturated_seconds() const { return saturated_seconds_; }
  std::int64_t max_lag_ns() const { return max_lag_ns_; }

 private:
  // Whether a replay sent and answered every request.
  bool replay_answered() const;
  void watch_cpu(double seconds);

  Engine& e_;
  LoadMetrics* metrics_ = nullptr;
  RollingLineWriter intervals_;
  double next_roll_ = 0;  // interval time of the next roll; 0 = never
  bool write_failed_ = false;
  ProgressLine progress_;
  double last_cpu_ = 0;
  TimePoint last_tick_;
  IntervalSchedule last_;  // cumulative schedule counters at the last tick
  Stats interval_sum_;
  std::vector<Stats> names_interval_;
  std::size_t saturated_seconds_ = 0;
  bool warned_saturated_ = false;
  std::int64_t max_lag_ns_ = 0;
};

}  // namespace faultline::loadgen::detail
