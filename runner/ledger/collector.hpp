// Turns what a run observes into RunMeasurements: the load generator's per-second interval lines
// (merged per phase, histograms losslessly), the components' /metrics scraped at every phase
// boundary (counter and histogram deltas per phase), and per-second process metrics for the series.
// Times are seconds since the load generator started.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "runner/ledger/measurements.hpp"
#include "runner/ledger/prom_text.hpp"

namespace faultline::runner {

struct PhaseWindow {
  std::string name;
  double start = 0;  // scheduled start; replaced by the actual one from set_boundary
  bool fault = false;
};

class Collector {
 public:
  Collector(std::vector<PhaseWindow> phases, double end_seconds, double apdex_t_seconds,
            std::vector<std::string> proxies);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // One JSON line of `faultline load --intervals-out`. Malformed lines are counted and skipped.
  void add_interval(const json& line);
  // Scrapes taken at boundary k: the start of phase k, or the end of the run for k == phases.
  // `component` is "target", "proxy" or "load".
  void set_boundary(std::size_t k, double actual_seconds, const std::string& component,
                    const PromSnapshot& snapshot);
  // When boundary k was actually reached (also set by set_boundary): even when no component
  // answered its scrape, the phase starts when its actions did.
  void set_boundary_time(std::size_t k, double actual_seconds);
  // Process metrics sampled about once a second: keys like "target_rss_bytes".
  void add_resources(double t, std::map<std::string, double> values);

  // The run stopped early: only the first `started` phases happened; the last of them ended at
  // `at` (seconds). Phases that never started are left out of the measurements.
  void truncate(std::size_t started, double at);

  std::size_t intervals() const noexcept { return intervals_; }
  std::size_t malformed_intervals() const noexcept { return malformed_; }

  RunMeasurements finish() const;

 private:
  struct Accumulator;
  std::size_t phase_of(double t) const;
  PhaseStats compute(const Accumulator& acc, const std::string& name) const;
  // Phase `k`'s process figures: each component's scrape at the phase's end boundary; a
  // component whose scrape is missing there (it had exited, or did not answer in time) gets its
  // latest per-second sample within the phase instead, and none when that is missing too.
  void fill_components(PhaseStats& p, std::size_t k) const;
  // The latest per-second sample of `key` taken in [from, to], if any.
  std::optional<double> resource_in(const std::string& key, double from, double to) const;

  std::vector<PhaseWindow> phases_;
  double end_seconds_;
  double apdex_t_;
  std::vector<std::string> proxies_;
  std::vector<std::unique_ptr<Accumulator>> acc_;
  // boundary_[component][k]
  std::map<std::string, std::vector<std::optional<PromSnapshot>>> boundary_;
  std::vector<double> actual_;  // actual boundary times, size phases+1
  std::size_t started_;         // phases that happened (all, unless truncated)
  std::vector<SeriesPoint> series_;
  // Resource samples, flat so a day of them stays small (a map of strings per sample costs
  // ~600 bytes): sample i is at resource_t_[i] and has the (key index, value) pairs
  // resource_values_[resource_end_[i-1] .. resource_end_[i]); key indices into resource_keys_.
  std::vector<std::string> resource_keys_;
  std::map<std::string, std::uint32_t, std::less<>> resource_index_;
  std::vector<double> resource_t_;
  std::vector<std::size_t> resource_end_;
  std::vector<std::pair<std::uint32_t, double>> resource_values_;
  std::size_t intervals_ = 0, malformed_ = 0;
  std::uint64_t last_backlog_ = 0;  // the schedule backlog at the end of the latest interval
};

// Apdex from a serialized-histogram-backed accumulator, exposed for tests: satisfied <= t,
// tolerating <= 4t; failed requests count as frustrated.
double apdex_score(std::uint64_t satisfied, std::uint64_t tolerating, std::uint64_t total);

}  // namespace faultline::runner
