// The once-a-second coordinator of a run (internal to loadgen/): folds what the workers recorded
// into the interval, writes the --intervals-out line, feeds the Prometheus endpoint, prints the
// progress line and watches the generator's own CPU; and it decides when the run is over (end of
// the timeline, every driver done, a replay answered, or a stop signal).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "common/line_segments.hpp"
#include "common/signals.hpp"
#include "loadgen/detail/engine_state.hpp"
#include "loadgen/detail/load_metrics.hpp"
#include "loadgen/detail/progress.hpp"
#include "loadgen/detail/results.hpp"
#include "loadgen/interval_seconds.hpp"

namespace faultline::loadgen::detail {

class Coordinator {
 public:
  // Opens --intervals-out (throws ConfigError when it cannot be written).
  explicit Coordinator(Engine& e);
  // Feeds `m` from now on (--metrics-listen).
  void publish_to(LoadMetrics* m) {
    metrics_ = m;
    m->declare_checks(e_.workload.check_names);
    m->declare_sessions(e_.workload.session_names);
  }

  // Ticks once a second from the engine's start until the run is over; true when a stop signal
  // ended it.
  bool run(StopSignals& stop);
  // After sending stopped: waits (bounded by --timeout + 1 s) for in-flight requests to finish;
  // true when a stop signal arrived meanwhile.
  bool drain(StopSignals& stop);
  // One tick at the end of a second (or later, after a stall): closes the seconds that ended by
  // `now`, writes the interval lines that are ready (see loadgen/interval_seconds.hpp), feeds
  // the metrics and the progress line with what completed since the last tick. The final tick
  // (after the run; `stopped_at`: when sending stopped) writes every remaining second up to the
  // one sending stopped in, whose line carries `unsent` (arrivals never sent, see
  // stop_connections).
  void tick(TimePoint now, bool final_tick, std::uint64_t unsent = 0,
            TimePoint stopped_at = TimePoint{});
  // Ends the progress line.
  void finish() const;

  std::size_t saturated_seconds() const { return saturated_seconds_; }
  std::int64_t max_lag_ns() const { return max_lag_ns_; }

 private:
  // Whether a replay sent and answered every request.
  bool replay_answered() const;
  // What a closed second's line says besides its requests and schedule: levels sampled when it
  // was closed.
  struct ClosedSecond {
    std::int64_t in_flight = 0;
    std::uint64_t backlog = 0;
  };
  // Closes the seconds [first, end) with the levels sampled now.
  void close_seconds(std::pair<std::int64_t, std::int64_t> range, std::uint64_t backlog,
                     std::int64_t in_flight);
  // Writes the lines that are ready (every remaining one up to `last` when final).
  void write_ready(TimePoint now, bool final_tick, std::int64_t last = -1);
  void write_second(std::int64_t s, bool final_tick, bool take_later);
  // Whether a request of second `s` (by its intended send time) may still be recorded: one the
  // scheduler has not released yet, one waiting in a backlog, one a connection is sending or
  // has yet to send (a flow's later step counts as soon as it is sent, in its own second).
  bool busy(std::int64_t s) const;
  void watch_cpu(double seconds);

  Engine& e_;
  LoadMetrics* metrics_ = nullptr;
  RollingLineWriter intervals_;
  double next_roll_ = 0;  // interval time of the next roll; 0 = never
  bool write_failed_ = false;
  ProgressLine progress_;
  double last_cpu_ = 0;
  TimePoint last_tick_;
  IntervalSchedule last_;       // cumulative schedule counters at the last tick (for the metrics)
  IntervalSeconds seconds_{0};  // set up by run()
  std::map<std::int64_t, ClosedSecond> closed_;  // closed, not yet written
  std::uint64_t last_backlog_ = 0;
  Stats interval_sum_;
  std::vector<Stats> names_interval_;
  CheckCounts checks_interval_;                   // since the last tick, by completion (metrics)
  std::vector<SessionCounts> sessions_interval_;  // since the last tick (metrics)
  std::size_t saturated_seconds_ = 0;
  bool warned_saturated_ = false;
  std::int64_t max_lag_ns_ = 0;
};

}  // namespace faultline::loadgen::detail
