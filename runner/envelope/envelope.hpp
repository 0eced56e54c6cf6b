// `faultline envelope`: maps the resilience envelope of a scenario — the load × fault-intensity
// region in which its SLO assertions hold — with short trials of `faultline run` and an adaptive
// search (per load level, a bisection of the fault intensity; load levels added where the boundary
// moves most; repeated trials at the boundary for a band). Parts:
//   envelope_plan.cpp    the command line and the scenario checked into a Plan (exit 2 + paths);
//   envelope_trial.cpp   one trial = one `faultline run` with --set overrides, read back;
//   envelope_search.cpp  the search over trials, independent of how a trial runs (unit-tested);
//   envelope_output.cpp  envelope.json, the terminal summary and report.html.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"

namespace faultline::runner::envelope {

struct Range {
  double from = 0;
  double to = 0;
};

// The fault axis: one attribute of one toxic on one proxy (`toxicity` = the toxic's probability).
struct FaultAxis {
  std::string proxy;
  std::string toxic;
  std::string attribute;
  Range range;
  bool integer = false;  // the attribute takes whole numbers (latencies in ms)
  std::string unit;      // "ms", or "" (a ratio, or unknown)
  // Every --set key that holds the attribute: the toxic's creation (an initial toxic or the
  // timeline's add_toxic) and any update_toxic that sets it.
  std::vector<std::string> set_keys;
  std::string label() const { return proxy + "/" + toxic + "." + attribute; }
};

// The numeric bound of one SLO assertion, for the margin (how far inside or outside it a trial is).
struct SloBound {
  std::string name;
  std::optional<double> max;  // null for a relative max: each trial resolves its own
  std::optional<double> min;
  bool relative_max = false;  // "baseline.p99 * 3 + 20ms": results.json's bound_max per trial
};

// What `faultline envelope` was asked, as written on its command line.
struct EnvelopeArgs {
  std::string scenario;
  std::string load;   // "FROM..TO" (req/s, "2k" works)
  std::string fault;  // "PROXY/TOXIC.ATTRIBUTE=FROM..TO"
  std::vector<std::string> slo;
  std::string budget = "30m";
  std::string out;
  std::string trial_duration;  // "" = the scenario's own duration
  std::string resolution;      // "" = a fiftieth of the fault range
  int repeats = 1;
  int max_levels = 7;
  std::vector<std::string> sets;  // the user's own --set overrides, applied to every trial
  bool fresh_system = false;      // --fresh-system: start the system afresh for every trial
};

// Everything checked, before the first trial starts.
struct Plan {
  std::string scenario_file;
  std::string scenario_name;
  std::vector<std::string> base_sets;
  std::optional<double> trial_seconds;
  Range load;
  bool integer_load = true;
  FaultAxis fault;
  std::vector<SloBound> slo;
  double budget_seconds = 1800;
  double resolution = 1;
  int repeats = 1;
  int max_levels = 7;
  std::string out_dir;
  // The system is started once and kept running between trials unless the scenario's timeline
  // changes more than the proxies (runner::system_reuse_obstacle) or --fresh-system is given:
  // then `fresh_reason` says why every trial starts it afresh.
  bool reuse_system = true;
  std::string fresh_reason;
  // The scenario's recovery assertions (kind "recovery_time"). After a failed trial the system is
  // restarted unless every one of them passed in that trial; with none, after every failed trial.
  std::vector<std::string> recovery_assertions;
};

// Checks `args` against the scenario: the ranges parse and are not empty, the proxy, toxic and
// attribute exist (the attribute is checked by the proxy's own parser at both ends of the range),
// the SLO names are assertions, the load has a rate. Throws ConfigError listing every error with
// its JSON path (or the flag it came from).
Plan make_plan(const EnvelopeArgs& args);

// "FROM..TO" into a range of numbers; `rate` accepts the load generator's rates ("2k").
std::optional<Range> parse_range(const std::string& text, bool rate);

// One (load, fault) point.
struct Point {
  double load = 0;
  double fault = 0;
};

// One trial as the search sees it; `record` is what envelope.json keeps of it.
struct Trial {
  int id = 0;
  Point point;
  bool pass = false;
  double seconds = 0;  // wall time it took (the budget counts these)
  std::optional<double> margin;
  nlohmann::json record = nlohmann::json::object();
};

// Runs one trial; nullopt when interrupted (the search stops and reports what it has).
using TrialFn = std::function<std::optional<Trial>(const Point&)>;

struct SearchOptions {
  Range load;
  bool integer_load = true;
  Range fault;
  bool integer_fault = false;
  double resolution = 1;      // bisect until the bracket is this narrow (fault units)
  int repeats = 1;            // extra trials at each side of the converged bracket
  int max_levels = 7;         // load levels at most
  double budget_seconds = 0;  // 0 = unbounded
  double first_trial_estimate_seconds = 0;
};

// The boundary at one load level.
struct Level {
  double load = 0;
  // "up_to": the SLO holds up to `fault` (within `band`); "whole_range": it holds at the top of
  // the fault range; "none": it fails already at the bottom. `fault`/`band` are null for the two
  // latter.
  std::string holds;
  std::optional<double> fault;
  std::optional<std::pair<double, double>> band;
  int trials = 0;
  bool complete = true;           // false: the budget (or an interrupt) stopped the bisection
  std::vector<int> non_monotone;  // ids of trials that contradict a monotone boundary
};

struct SearchResult {
  std::vector<Trial> trials;
  std::vector<Level> levels;  // sorted by load
  bool budget_exhausted = false;
  bool interrupted = false;
  double spent_seconds = 0;
  // Load pairs whose boundaries rise with load (more load absorbs more fault): [lower, higher].
  std::vector<std::pair<double, double>> rising;
};

SearchResult search(const SearchOptions& options, const TrialFn& run_trial);

// Summarises the trials at one load level into its boundary (exposed for the tests).
Level summarize_level(double load, const std::vector<const Trial*>& trials, const Range& fault,
                      bool complete);

// The command's entry: plan, trials, outputs. Exit 0 done, 2 bad arguments, 130 interrupted.
int run_envelope(const EnvelopeArgs& args);

}  // namespace faultline::runner::envelope
