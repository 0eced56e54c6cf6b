// What a scenario run measured, in the shape the assertions evaluate: per-phase figures from the
// load generator (merged per-second histograms), from the proxies' and the target's own counters
// (deltas between the scrapes taken at the phase boundaries), and the per-second series. Missing
// data is an empty optional, never a made-up 0 (results.json writes it as null).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::runner {

struct LatencySummary {
  std::optional<double> p50, p90, p99, p999, max, mean;  // seconds
  // Looks a percentile up by its results.json name ("p50" ... "p999", "max", "mean").
  std::optional<double> get(const std::string& which) const;
};

struct RequestNameStats {
  std::uint64_t total = 0, ok = 0, failed = 0;
  std::optional<double> error_ratio;  // failed / total, empty when total == 0
  LatencySummary latency;
};

// One workload entry's sessions over a phase: opened, completed as planned, ended early (a close
// frame, EOF, reset, a truncated body), reconnects (sessions opened after one ended early), and the
// close codes the server sent.
struct SessionStats {
  std::uint64_t opened = 0, completed = 0, ended_early = 0, reconnects = 0;
  std::map<std::string, std::uint64_t> close_codes;
  void add(const SessionStats& o) {
    opened += o.opened;
    completed += o.completed;
    ended_early += o.ended_early;
    reconnects += o.reconnects;
    for (const auto& [k, v] : o.close_codes)
      close_codes[k] += v;
  }
};

struct LoadStats {
  bool present = false;  // false when the load generator reported no interval in the phase
  double seconds = 0;    // covered by the intervals
  // Requests that got an outcome on the wire (throughput and latency are about these).
  std::uint64_t total = 0, ok = 0, failed = 0;
  // The open-model schedule over the phase (all 0 for closed models and for interval files
  // older than the "schedule" object): arrivals due, requests sent, sent after waiting in the
  // backlog, and arrivals due in the phase and never sent (its lines' dropped + unsent; for older
  // interval files dropped + backlog growth; see docs/run.md "How a phase is measured"). Unsent
  // requests are failures that never reached the wire.
  std::uint64_t offered = 0, sent = 0, late = 0, unsent = 0;
  std::map<std::string, std::uint64_t> errors;  // by kind; "unsent" when unsent > 0
  // (failed + unsent) / (total + unsent): a run that did not send its load cannot look healthy.
  std::optional<double> error_ratio;
  std::optional<double> throughput_rps;
  LatencySummary latency;
  double apdex_t_seconds = 0.1;
  std::optional<double> apdex;
  std::map<std::string, RequestNameStats> by_name;
  // The workload's response checks (loadgen/checks.hpp) by name: passed, failed over the phase.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> checks;
  // WebSocket and SSE sessions (docs/load.md "WebSocket and SSE sessions") by workload entry name,
  // summed over the phase from the interval lines' "sessions".
  std::map<std::string, SessionStats> sessions;
};

// One proxy's own counters over the phase.
struct FaultStats {
  double requests = 0;
  double faults_injected = 0;
  std::map<std::string, double> by_kind;
  std::optional<double> fault_ratio;  // faults_injected / requests, empty when no requests
  // The connections it carried in the phase (open at its start + accepted during it; a merged
  // phase adds its occurrences') and faults_injected / connections: what a tcp proxy, whose
  // "requests" are the connections it accepted, can measure in front of a connection pool.
  std::optional<double> connections, faults_per_connection;
  std::string protocol;  // tcp | http | redis (from the scenario; "" when unknown)
};

// One target shard over the phase (from faultline_target_shard_* metrics).
struct ShardStats {
  double requests = 0;
  double errors = 0;
  double seconds = 0;
  std::optional<double> error_ratio;
  std::optional<double> p99_seconds;
  std::optional<double> throughput_rps;
};

struct ComponentStats {
  std::optional<double> rss_bytes;
  std::optional<double> open_fds;
};

struct PhaseStats {
  std::string name;
  double start_seconds = 0, end_seconds = 0;
  bool fault = false;
  LoadStats load;
  std::map<std::string, FaultStats> faults;          // by proxy name
  std::map<std::string, ShardStats> shards;          // by shard label ("0", "1", ...)
  std::map<std::string, ComponentStats> components;  // "target", "proxy", "load" at phase end
};

struct SeriesPoint {
  double t = 0;  // seconds since the load started, end of the 1-second interval
  std::string phase;
  // error_ratio counts the second's unsent arrivals as failed: (failed + unsent) / (total +
  // unsent), 1.0 for a second that sent nothing but had arrivals due.
  std::optional<double> throughput_rps, error_ratio, p50_seconds, p99_seconds;
  std::uint64_t unsent = 0;  // arrivals due this second and not sent in it
  // Process metrics of the components, latest scrape at or before t: "target_rss_bytes",
  // "target_open_fds", "proxy_rss_bytes", "proxy_open_fds", "load_rss_bytes", ...
  std::map<std::string, double> resources;
};

// A PromQL query's value at its phase's end, evaluated by a real Prometheus (runner/
// prometheus_server.hpp); `error` says why there is no value.
struct PromqlValue {
  std::optional<double> value;
  std::string error;
  std::string query;      // as sent, "[phase]" expanded
  double at_seconds = 0;  // evaluation time, seconds since the load started
};

struct RunMeasurements {
  std::vector<PhaseStats> phases;  // each occurrence of a phase, in time order
  // Occurrences with the same name merged (histograms merged, counters added); "*" is the whole
  // run.
  std::map<std::string, PhaseStats> by_name;
  std::vector<SeriesPoint> series;
  // promql assertions' values, by assertion name (filled by the orchestrator).
  std::map<std::string, PromqlValue> promql;

  const PhaseStats* phase(const std::string& name) const;
  std::vector<const PhaseStats*> occurrences(const std::string& name) const;
};

}  // namespace faultline::runner
