// Pass/fail thresholds (`--threshold 'p99<200ms'`), evaluated on the results JSON once the run is
// over; any failing threshold makes `faultline load` exit 1.
//
// Grammar:  [NAME ":"] METRIC OP VALUE
//   NAME    a request name from the workload (scope: requests_by_name[NAME]); absent = whole run
//   METRIC  p50 p90 p99 p999 p9999 max mean         corrected latency (VALUE is a duration)
//           uncorrected.p50 ... uncorrected.mean     uncorrected latency (VALUE is a duration)
//           error_ratio                              (failed + unsent) / (total + unsent), where
//                                                    unsent = requests.unsent (arrivals never
//                                                    sent); 1 when nothing completed or was due
//           unsent_ratio                             schedule.unsent_ratio (whole run only)
//           late_ratio                               schedule.late_ratio (whole run only)
//           throughput_rps | rps                     completed requests per second
//           requests | ok | failed                   counts
//           errors.KIND                              count of one error kind (or unsent)
//           checks{CHECK}                            failed / evaluated of one response check
//                                                    (loadgen/checks.hpp; 0 when none ran);
//                                                    `checks` alone: over every check
//           checks{CHECK}.failed | .passed           counts (no NAME: prefix)
//           reconnects                               sessions reconnected after one ended early
//           ended_early_ratio                        ended_early / opened (0 when none opened);
//                                                    both of the "sessions" object, NAME is a
//                                                    session entry (absent = every one)
//   OP      <  <=  >  >=
//   VALUE   durations "200ms", "1.5s" (a bare number is seconds); numbers "0.01", "1%", "2k"
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/config.hpp"

namespace faultline::loadgen {

struct Threshold {
  std::string expr;      // as written
  std::string scope;     // request name, empty for the whole run
  std::string metric;    // normalized metric name
  std::string check;     // checks{CHECK}...: the check's name (validated against the workload)
  bool session = false;  // a sessions metric: `scope` is a session entry's name
  std::string op;
  double limit = 0;  // seconds for latency metrics
};

std::optional<Threshold> parse_threshold(std::string_view text, std::string& error);

// The metric's value in `results` (the --out JSON); nullopt when the scope does not exist.
std::optional<double> threshold_value(const Threshold& t, const json& results);
bool threshold_holds(const Threshold& t, double value) noexcept;

}  // namespace faultline::loadgen
