// Prometheus metrics of `faultline target` (documented in METRICS.md, section faultline target).
// Every label value is created up front so all series exist from the first scrape.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.hpp"

namespace faultline::target {

enum class Route {
  pastes_create,
  paste_get,
  solve,
  healthz,
  readyz,
  metrics,
  events,
  ws_echo,
  other
};
inline constexpr std::size_t kRouteCount = 9;
std::string_view route_name(Route r);

enum class StoreOp { get, put, ping };
inline constexpr std::size_t kStoreOpCount = 3;

enum class StoreError { timeout, connect, io, protocol, breaker_open, bulkhead_full };
inline constexpr std::size_t kStoreErrorCount = 6;

enum class ShardOutcome { ok, unavailable, failed };
inline constexpr std::size_t kShardOutcomeCount = 3;

enum class SolveOutcome { found, cancelled, timed_out, rejected };
inline constexpr std::size_t kSolveOutcomeCount = 4;

enum class BreakerState { closed = 0, open = 1, half_open = 2 };

class TargetMetrics {
 public:
  explicit TargetMetrics(std::size_t shards, bool with_process_metrics = true);

  Metrics& base() noexcept { return metrics_; }
  std::string serialize() const { return metrics_.serialize(); }
  std::size_t shards() const noexcept { return shards_.size(); }

  void request_done(Route route, unsigned code, double seconds);
  prometheus::Gauge& in_flight() noexcept { return *in_flight_; }

  void solve_done(SolveOutcome outcome, std::uint64_t candidates, double seconds);

  void store_op(std::size_t shard, StoreOp op) { shards_.at(shard).ops[idx(op)]->Increment(); }
  void store_error(std::size_t shard, StoreError e) {
    shards_.at(shard).errors[idx(e)]->Increment();
  }
  void breaker(std::size_t shard, BreakerState s) {
    shards_.at(shard).breaker->Set(static_cast<double>(s));
  }
  void shard_request(std::size_t shard, ShardOutcome o, double seconds);

  void leaked(double bytes) { leaked_->Increment(bytes); }

 private:
  template <typename E>
  static std::size_t idx(E e) {
    return static_cast<std::size_t>(e);
  }
  struct RouteSeries {
    prometheus::Histogram* duration = nullptr;
    std::array<prometheus::Counter*, 10> codes{};  // the pre-created codes (kCodes), lock-free
    std::mutex mu;  // guards extra (an unexpected code adds a series)
    std::vector<std::pair<unsigned, prometheus::Counter*>> extra;
  };
  struct ShardSeries {
    std::array<prometheus::Counter*, kStoreOpCount> ops{};
    std::array<prometheus::Counter*, kStoreErrorCount> errors{};
    std::array<prometheus::Counter*, kShardOutcomeCount> outcomes{};
    prometheus::Gauge* breaker = nullptr;
    prometheus::Histogram* duration = nullptr;
  };

  Metrics metrics_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  std::array<RouteSeries, kRouteCount> routes_;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Counter* candidates_ = nullptr;
  prometheus::Histogram* solve_duration_ = nullptr;
  std::array<prometheus::Counter*, kSolveOutcomeCount> solves_{};
  std::vector<ShardSeries> shards_;
  prometheus::Counter* leaked_ = nullptr;
};

}  // namespace faultline::target
