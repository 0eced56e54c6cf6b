// A real Prometheus (Debian's `prometheus`) started for one run: a generated configuration scrapes
// every component and process that has metrics every second, storage lives under the run's output
// directory, and PromQL assertions are evaluated through its HTTP API (/api/v1/query). faultline
// has no PromQL evaluator of its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"  // HostPort
#include "common/net.hpp"

namespace faultline::runner {

struct ScrapeTarget {
  std::string job;      // the `job` label, e.g. "target", "proxy", "api"
  std::string address;  // "HOST:PORT"
  std::string metrics_path = "/metrics";
  std::map<std::string, std::string> labels;  // extra target labels
  std::string bearer_token;                   // sent as "Authorization: Bearer" ("" = none)
  std::string ca_file;  // set: scraped over https, the server verified against this CA (PEM)
};

struct PromqlResult {
  std::optional<double> value;  // a scalar, or the one sample of a one-series vector
  std::string error;            // Prometheus's own message, "no data" (empty vector), or
                                // "N series (the query must return one; use sum() or a selector)"
};

class PrometheusServer {
 public:
  // Path of the prometheus binary, or nullopt.
  static std::optional<std::string> find_binary();

  // Writes DIR/prometheus.yml (scrape_interval 1s, one job per target), starts prometheus on a
  // free loopback port with storage DIR/data, stdout+stderr to `log_file`, and waits until
  // /-/ready answers (up to 30 s). Throws std::runtime_error with a one-line message (binary
  // missing, exited during start-up with its status and log, not ready in time). Polls
  // `should_stop` while waiting and throws Interrupted (run_error.hpp) when it is true.
  PrometheusServer(const std::string& dir, const std::vector<ScrapeTarget>& targets,
                   const std::string& log_file, const std::function<bool()>& should_stop);
  // A Prometheus that already runs (e.g. the cluster's), at `address` with base path
  // `path_prefix` ("" or "/prometheus"): queries only; nothing is started, configured or stopped,
  // and wait_scraped_after is not used (its targets are not the run's).
  static std::unique_ptr<PrometheusServer> attach(const HostPort& address,
                                                  const std::string& path_prefix);
  bool attached() const;
  ~PrometheusServer();  // stop()
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  HostPort address() const;
  pid_t pid() const;  // of the prometheus process (tests check it is gone after stop())
  bool running();

  // Instant query evaluated at `at_unix_seconds` (0 = now).
  PromqlResult query(const std::string& expr, double at_unix_seconds = 0);
  // Checks that Prometheus accepts `expr` (parse and evaluation at the current time; an empty
  // result is fine). Returns "" or Prometheus's error message.
  std::string check(const std::string& expr);
  // Waits until every target's last scrape (from /api/v1/targets) began at or after
  // `unix_seconds`; false after `timeout`. Note: Prometheus 2.x applies its targets only ~5 s
  // after start (a fixed discovery throttle), so the first scrape comes ~5 s after the
  // constructor returns; wait_scraped_after(start time) before the load begins to miss nothing.
  bool wait_scraped_after(double unix_seconds, std::chrono::milliseconds timeout);

  void stop();  // SIGTERM, then SIGKILL after 5 s; idempotent (attached: nothing)

 private:
  PrometheusServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Helpers, exposed for tests: percent-encoding of everything but RFC 3986's unreserved
// characters; an RFC 3339 time ("2026-11-30T15:04:05.123456789Z", "...+01:00") as Unix seconds
// (nullopt when malformed).
std::string url_encode(std::string_view s);
std::optional<double> parse_rfc3339(std::string_view s);

}  // namespace faultline::runner
