// The load engine: per-thread workers (one io_context each, nothing shared on the hot path but a
// per-worker stats mutex taken once per response), keep-alive HTTP/1.1 connections over TCP or
// TLS, the three models (open with coordinated-omission correction, closed with think time,
// max-throughput), replay, and the once-a-second coordinator (intervals file, progress line,
// Prometheus gauges). Produces the results JSON. Where each part lives: see engine.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/signals.hpp"
#include "loadgen/stages.hpp"
#include "loadgen/url.hpp"
#include "loadgen/workload.hpp"

namespace faultline::loadgen {

enum class Model { open, closed, max };
const char* model_name(Model m) noexcept;

// One recorded request to replay (from a proxy recording or a HAR file).
struct ReplayItem {
  double at_seconds = 0;  // since the start of the recording
  std::size_t name_index = 0;
  std::string method;
  std::string bytes;  // the whole request, ready to send
};

struct EngineConfig {
  TargetUrl url;
  Model model = Model::max;
  Profile profile = Profile::constant(0, 10);  // rate (open) or users (closed) over time
  double duration_seconds = 10;                // max model and replay
  std::size_t connections = 50;
  std::size_t threads = 1;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  double think_min_seconds = 0;
  double think_max_seconds = 0;
  std::uint64_t seed = 1;
  std::size_t shard = 0;
  std::size_t shards = 1;
  Workload* workload = nullptr;
  bool insecure = false;  // https: no certificate verification
  std::string cacert;     // https: trust this CA (PEM file) instead of the system store
  // Replay: items sorted by at_seconds; each process sends its shard's share (i % shards).
  const std::vector<ReplayItem>* replay = nullptr;
  double replay_speed = 1;    // at_seconds / speed; ignored when replay_rate > 0
  double replay_rate = 0;     // replay in order at this constant rate instead
  std::string intervals_out;  // path, empty = none
  std::optional<HostPort> metrics_listen;
  bool progress = true;
  std::size_t backlog_limit = 1'000'000;  // per thread; beyond it arrivals are counted dropped
  // Where SIGINT/SIGTERM are taken (they end the run early; results are still returned). Create
  // it before any thread starts; null: run_load creates its own.
  StopSignals* stop_signals = nullptr;
};

// Runs the load to completion or until SIGINT/SIGTERM; returns the results document. Throws
// ConfigError for setup problems (unresolvable host, unreadable --cacert, metrics port in use).
json run_load(const EngineConfig& config);

}  // namespace faultline::loadgen
