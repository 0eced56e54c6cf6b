// Load profiles over time: the `--stages` grammar (steps, linear ramps, FunkLoad-style cycles), the
// level (rate or users) at any instant, and the open model's arrival schedule, which places the
// k-th request where the integral of the rate reaches k (exact for ramps, not a per-tick average).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::loadgen {

struct Stage {
  double duration_seconds = 0;
  double from = 0;   // level at the start of the stage
  double to = 0;     // level at the end (== from for a step)
  std::string spec;  // as the user wrote it ("30s:100", "2m:100>1000", "hold")
};

// Parses "DUR:LEVEL" (step), "DUR:A>B" (ramp A→B), "DUR:>B" (ramp from the previous level, 0 at
// first), "DUR:L1|L2|L3" (cycle: each level held DUR), comma-separated. Levels accept "2k".
// Returns nullopt and sets `error` on malformed input ("bad duration in \"x:1\"": the caller says
// where, "--stages" or "$.load.stages").
std::optional<std::vector<Stage>> parse_stages(std::string_view spec, std::string& error);

// The same stages with every duration multiplied by `factor` (> 0), levels unchanged, in the
// grammar above (for `faultline run --duration`). Nullopt and `error` set when `spec` does not
// parse.
std::optional<std::string> scale_stages(std::string_view spec, double factor, std::string& error);

class Profile {
 public:
  // Stages cut or extended to `total_seconds` when it is set (> 0): cut stages end early; when
  // the stages are shorter, a "hold" stage keeps the last level until the end.
  Profile(std::vector<Stage> stages, double total_seconds);
  static Profile constant(double level, double seconds);

  const std::vector<Stage>& stages() const noexcept { return stages_; }
  double end_seconds() const noexcept { return starts_.empty() ? 0 : starts_.back(); }
  double stage_start(std::size_t i) const { return starts_[i]; }
  double max_level() const noexcept;
  double level_at(double t) const noexcept;
  // Index of the stage containing t (last stage for t ≥ end).
  std::size_t stage_at(double t) const noexcept;
  // ∫_0^t level(s) ds.
  double integral(double t) const noexcept;
  // Smallest t with integral(t) == area, nullopt past the end.
  std::optional<double> time_of_integral(double area) const noexcept;

 private:
  std::vector<Stage> stages_;
  std::vector<double> starts_;  // size stages_+1; last element = end
  std::vector<double> areas_;   // integral at each start
};

// Arrival times of one sender's share of an open-model profile. The global stream has arrivals
// where the integral of the rate reaches m + 0.5; sender g of G takes m = k*G + g, so G senders
// (threads × shards) interleave evenly and together offer exactly the profile's rate.
class ArrivalSchedule {
 public:
  ArrivalSchedule(const Profile& profile, std::size_t sender, std::size_t senders);
  // Seconds since the start of the next arrival; nullopt once past the end.
  std::optional<double> next();

 private:
  const Profile& profile_;
  std::size_t sender_;
  std::size_t senders_;
  std::uint64_t k_ = 0;
};

}  // namespace faultline::loadgen
