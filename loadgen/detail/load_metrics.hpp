// The load generator's Prometheus endpoint (--metrics-listen): the faultline_load_* families,
// fed once a second by the coordinator from the interval's stats, and the small HTTP server on its
// own event loop that serves them at GET /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "common/config.hpp"
#include "common/http_server.hpp"
#include "common/io_pool.hpp"
#include "common/metrics.hpp"
#include "loadgen/checks.hpp"
#include "loadgen/stats.hpp"

namespace faultline::loadgen::detail {

struct LoadMetrics {
  Metrics metrics{true};
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Counter>* errors = nullptr;
  std::vector<prometheus::Counter*> by_outcome;
  std::vector<prometheus::Counter*> by_kind;
  prometheus::Histogram* duration = nullptr;
  prometheus::Histogram::BucketBoundaries bounds;
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Gauge* offered_rate = nullptr;
  prometheus::Gauge* backlog = nullptr;
  prometheus::Gauge* users = nullptr;
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* late = nullptr;
  prometheus::Counter* dropped = nullptr;
  prometheus::Counter* unsent = nullptr;
  // faultline_load_checks_total{check, result}: created by declare_checks for every check name
  // of the workload (so each series exists from the start, at 0); idempotent.
  prometheus::Family<prometheus::Counter>* checks = nullptr;
  std::vector<prometheus::Counter*> check_passed, check_failed;
  // faultline_load_sessions_total{name, event}: created by declare_sessions for every session
  // entry (events opened, completed, ended_early, reconnects); idempotent.
  prometheus::Family<prometheus::Counter>* sessions = nullptr;
  std::vector<std::array<prometheus::Counter*, 4>> session_events;
  // faultline_load_ws_close_codes_total{code}: the servers' close frames, code label bounded by
  // ws_close_code_label().
  prometheus::Family<prometheus::Counter>* ws_close_codes = nullptr;
  LoadMetrics();
  // Adds one interval's requests, errors and latencies.
  void observe(const Stats& interval);
  void declare_checks(const std::vector<std::string>& names);
  // Adds one interval's check results (by completion, like the requests).
  void observe_checks(const CheckCounts& interval);
  void declare_sessions(const std::vector<std::string>& names);
  // Adds one tick's session events (by Workload::session_names).
  void observe_sessions(const std::vector<SessionCounts>& interval);
};

// A close code as a metric label, from a bounded set: "1000".."1015" as they are, "3xxx"
// (registered, 3000-3999), "4xxx" (private, 4000-4999), "other".
std::string ws_close_code_label(std::uint16_t code);

// Owns the metrics and the server that exposes them; one per run.
class MetricsEndpoint {
 public:
  // Binds `where` (throws ConfigError naming --metrics-listen) and prints the "listening on" line.
  explicit MetricsEndpoint(const HostPort& where);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  LoadMetrics& metrics() { return metrics_; }
  // Starts serving (its own thread).
  void start();
  // Stops the server and its thread (idempotent).
  void stop();

 private:
  awaitable<HttpResponse> handle(HttpRequest& req, RequestContext& ctx);

  IoPool control_{1};
  LoadMetrics metrics_;
  std::unique_ptr<HttpServer> server_;
  bool stopped_ = false;
};

}  // namespace faultline::loadgen::detail
