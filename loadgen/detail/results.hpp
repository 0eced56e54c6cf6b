// The load generator's JSON documents: one line of --intervals-out per second, and the results
// document of the whole run (--out, the summary, thresholds and `report merge` read it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "loadgen/detail/engine_state.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen::detail {

// One second of the schedule (the "schedule" object of an --intervals-out line): arrivals
// released (closed/max: iterations started), sent (open model: handed to a connection; closed/max:
// = offered), late (of those sent, waited in the backlog), dropped, the backlog at the end of the
// second; and on the final line only, `unsent` (never sent when the run ended).
// The cumulative schedule counters the coordinator reads every tick (for the metrics).
struct IntervalSchedule {
  std::uint64_t offered = 0, sent = 0, late = 0, dropped = 0, backlog = 0;
};

// One --intervals-out line: the interval's stats at second `t`, its histogram, and per name; the
// schedule of the arrivals intended in it (`"attributed": "intended"`) and the backlog level.
json interval_line(double t, double seconds, const Stats& s, const std::vector<Stats>& names,
                   const std::vector<std::string>& name_list, std::int64_t in_flight,
                   std::uint64_t backlog, double offered_level, std::size_t stage,
                   const ScheduleCounts& schedule);

// What the run measured besides the workers' stats.
struct RunSummary {
  double duration_seconds = 0;
  bool interrupted = false;
  std::uint64_t unsent = 0;  // queued when sending stopped: offered, never sent
  std::size_t saturated_seconds = 0;
  std::int64_t max_lag_ns = 0;
};

// The results document, merged over every worker (the workers are stopped).
json results_json(const Engine& e, const RunSummary& run);

}  // namespace faultline::loadgen::detail
