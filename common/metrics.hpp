// Prometheus metrics for every component: a prometheus-cpp Registry, the standard process_* metrics
// (resident memory, open fds, CPU seconds, start time) read from /proc on each scrape, and the text
// exposition used by each component's GET /metrics. Metric names follow Prometheus conventions
// (base units, _total, _seconds, bounded labels, pre-created label values); METRICS.md documents
// them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace faultline {

class Metrics {
 public:
  // `with_process_metrics` adds process_* gauges/counters (one per process: the runner, which
  // hosts several components in one process, turns it on once).
  explicit Metrics(bool with_process_metrics = true);

  prometheus::Registry& registry() noexcept { return *registry_; }
  std::shared_ptr<prometheus::Registry> registry_ptr() const noexcept { return registry_; }

  // Text exposition format 0.0.4 of everything registered (plus process metrics).
  std::string serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
};

// Standard latency buckets in seconds (100 µs … 60 s), shared so dashboards can compare components.
prometheus::Histogram::BucketBoundaries latency_buckets_seconds();

// Reads this process's resident set size in bytes from /proc/self/statm (0 when unavailable).
double process_resident_memory_bytes();
// Counts entries of /proc/self/fd.
double process_open_fds();
// When this process started, as Unix seconds (to the clock tick), from field 22 of
// /proc/self/stat; nullopt when unreadable. Prometheus's process_start_time_seconds.
std::optional<double> process_start_time_seconds();

// Content-Type of the Prometheus text exposition format.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace faultline
