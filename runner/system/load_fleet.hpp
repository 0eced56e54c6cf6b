// The run's load generator: one `faultline load` process per shard (components.hpp LoadShard),
// started together against the system, with one second 0 for all (--start-at), their per-second
// interval streams merged (ledger/load_intervals.hpp) and their results merged at the end. The
// timeline's clock starts at its second 0.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/ledger/load_intervals.hpp"
#include "runner/ledger/run_record.hpp"
#include "runner/scenario/scenario.hpp"
#include "runner/system/components.hpp"

namespace faultline::runner {

class LoadFleet {
 public:
  LoadFleet(const Scenario& s, std::string out_dir, std::string faultline_exe);
  ~LoadFleet() { stop(); }
  LoadFleet(const LoadFleet&) = delete;
  LoadFleet& operator=(const LoadFleet&) = delete;

  bool enabled() const noexcept { return s_.load.enabled; }
  // The load's URL when the scenario gives none: the target, or the proxy it goes through.
  std::string default_url(const std::optional<HostPort>& target,
                          const std::map<std::string, HostPort>& proxy_listen) const;
  // Starts every shard against `url` (each shard's /metrics on `metrics_ports[i]`, 0 = any), waits
  // until each listens; returns second 0 (shard 0's "started at"), nullopt when it did not say.
  std::optional<std::chrono::steady_clock::time_point> start(
      const std::string& url, const std::vector<unsigned short>& metrics_ports,
      const StopCheck& should_stop);

  std::size_t shards() const noexcept { return shards_.size(); }
  LoadShard& shard(std::size_t i) { return *shards_.at(i); }
  bool running();  // any shard
  // Every shard's /metrics text in one (a part would pass for the whole: nullopt when a shard did
  // not answer).
  std::optional<std::string> metrics_text(std::chrono::milliseconds timeout) const;
  std::vector<MetricsEndpoint> metrics() const;
  // Resident memory and open files summed over the shards (none unless every shard was read).
  void sample_resources(std::map<std::string, double>& values) const;
  // The interval lines complete so far (`final`: every shard has exited).
  std::vector<json> read_intervals();
  // Waits (up to 15 s) for the shards to finish their last second and write their results, then
  // merges them. Throws RunError for a shard that failed, Interrupted when stopped.
  void drain(const StopCheck& should_stop, const std::function<void()>& on_tick);
  void stop();

 private:
  std::vector<std::string> argv(const std::string& url, std::size_t shard,
                                unsigned short metrics_port) const;
  const Scenario& s_;
  std::string out_dir_, exe_;
  std::string intervals_path_, results_path_;
  std::vector<std::unique_ptr<LoadShard>> shards_;
  std::unique_ptr<LoadIntervals> tail_;
};

}  // namespace faultline::runner
