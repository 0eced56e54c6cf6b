// `faultline load --start-at`: every shard's second 0 begins at one wall-clock instant, so that
// the per-second intervals of shards on different machines line up (e.g. the pods of a
// Kubernetes Indexed Job, each given the same instant when the Job is created). Parsing and
// validation for the CLI, and the interruptible wait for the engine.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/signals.hpp"

namespace faultline::loadgen {

// How far in the past a start may be and still be taken (the pods of a Job do not all start in
// the same second): the run then begins at once, its second 0 still at the given instant.
inline constexpr double kStartAtPastToleranceSeconds = 1.0;
// Beyond this a start is taken for a mistake (milliseconds given as seconds, say).
inline constexpr double kStartAtMaxAheadSeconds = 24 * 3600.0;

// The current wall-clock time as Unix seconds.
double unix_now();

// The wall-clock time this process was started (Unix seconds, to the clock tick), from
// /proc/self/stat: the "now" --start-at is judged against, so that a slow start-up (a loaded
// node, a sanitizer build) does not make a start given in time late. unix_now() when the start
// cannot be read or is more than kLaunchMaxAgeSeconds ago.
double launch_unix();
inline constexpr double kLaunchMaxAgeSeconds = 30.0;

// Parses --start-at: UNIX_SECONDS (a fraction allowed) or +DURATION ("+10s", "+1m") counted from
// `now_unix` (the CLI gives launch_unix()). Returns the instant as Unix seconds, or nullopt with
// `error` set (naming the flag): malformed, more than kStartAtPastToleranceSeconds in the past,
// more than kStartAtMaxAheadSeconds ahead.
std::optional<double> parse_start_at(std::string_view text, double now_unix, std::string& error);

// Converts a Unix instant to the steady clock (as of now).
std::chrono::steady_clock::time_point steady_from_unix(double unix_seconds);

// Sleeps until `until` (steady clock); false when a stop signal came first.
bool wait_until(std::chrono::steady_clock::time_point until, StopSignals& stop);

}  // namespace faultline::loadgen
