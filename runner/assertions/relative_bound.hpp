// A bound in seconds that is either a duration ("50ms", 0.05) or relative to a measurement of
// another phase of the same run, so a shared or slower machine moves the bound with the baseline:
//   "PHASE.STAT", "PHASE.STAT * K", "K * PHASE.STAT", each optionally followed by "+ D"
// K a positive number, D a duration in ms or s ("20ms", "0.5s"), STAT one the kind allows
// (latency: p50 p90 p99 p999 max mean; recovery_time: duration). Used by latency and recovery_time
// for `max`; the phase must exist (checked by the scenario through referenced_phases()).
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.hpp"

namespace faultline::runner {

struct SecondsBound {
  std::string phase;  // the reference phase; empty for an absolute bound
  std::string stat;   // "p99", "duration", ...
  double factor = 1;
  double seconds = 0;  // an absolute bound, or the added D of a relative one
  std::string text;    // a relative bound as written (trimmed)
  bool relative() const { return !phase.empty(); }
};

// Member `key` of `obj` as a bound; errors (with their path) name what is wrong: an unknown STAT
// (listing `stats`), a D without unit or with one other than ms and s, K not above 0, a reference
// to `own_phase` (a phase is not its own baseline).
std::optional<SecondsBound> get_seconds_bound(const json& obj, const std::string& path,
                                              const char* key,
                                              std::initializer_list<std::string_view> stats,
                                              const std::string& own_phase, ConfigErrors& errors);

// What a bound came to in a run.
struct ResolvedBound {
  std::optional<double> seconds;  // empty when the reference was not measured
  // "3 × baseline p99 7.1ms + 20ms" ("50ms" for an absolute bound); with `seconds`, "= 41.3ms"
  // follows in derivation_with_value().
  std::string derivation;
  std::string missing;      // why seconds is empty: "no p99 measured in phase baseline"
  bool arithmetic = false;  // a factor or an addend: the derivation is not the value itself
  std::string derivation_with_value() const;
};

// `reference(phase, stat)`: the measurement of the run, nullopt when there is none.
ResolvedBound resolve_bound(
    const SecondsBound& b,
    const std::function<std::optional<double>(const std::string&, const std::string&)>& reference);

// For AssertionResult::bound: "50ms", or "baseline.p99 * 3 + 20ms (41.3ms)".
std::string bound_text(const SecondsBound& b, const ResolvedBound& r);

}  // namespace faultline::runner
