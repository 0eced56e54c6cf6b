#include "target/target_metrics.hpp"

namespace faultline::target {

namespace {

constexpr std::array<std::string_view, kRouteCount> kRouteNames = {
    "pastes_create", "paste_get", "solve",   "healthz", "readyz",
    "metrics",       "events",    "ws_echo", "other"};
constexpr std::array<const char*, kStoreOpCount> kOpNames = {"get", "put", "ping"};
constexpr std::array<const char*, kStoreErrorCount> kErrorNames = {
    "timeout", "connect", "io", "protocol", "breaker_open", "bulkhead_full"};
constexpr std::array<const char*, kShardOutcomeCount> kOutcomeNames = {"ok", "unavailable",
                                                                       "failed"};
constexpr std::array<const char*, kSolveOutcomeCount> kSolveNames = {"found", "cancelled",
                                                                     "timed_out", "rejected"};
// The codes each route can answer; pre-created so rates exist before the first error.
constexpr std::array<unsigned, 10> kCodes = {101, 200, 201, 400, 404, 405, 413, 426, 500, 503};

}  // namespace

std::string_view route_name(Route r) {
  return kRouteNames[static_cast<std::size_t>(r)];
}

TargetMetrics::TargetMetrics(std::size_t shards, bool with_process_metrics)
    : metrics_(with_process_metrics) {
  auto& reg = metrics_.registry();
  requests_ = &prometheus::BuildCounter()
                   .Name("faultline_target_requests_total")
                   .Help("HTTP requests answered by the handler, by route and status code.")
                   .Register(reg);
  auto& durations = prometheus::BuildHistogram()
                        .Name("faultline_target_request_duration_seconds")
                        .Help(
                            "Time from a request's arrival (head and body read) to its "
                            "response being ready, by route.")
                        .Register(reg);
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    const std::string route(kRouteNames[r]);
    routes_[r].duration = &durations.Add({{"route", route}}, latency_buckets_seconds());
    for (std::size_t c = 0; c < kCodes.size(); ++c)
      routes_[r].codes[c] =
          &requests_->Add({{"route", route}, {"code", std::to_string(kCodes[c])}});
  }
  in_flight_ = &prometheus::BuildGauge()
                    .Name("faultline_target_requests_in_flight")
                    .Help("Requests being handled right now.")
                    .Register(reg)
                    .Add({});
  candidates_ = &prometheus::BuildCounter()
                     .Name("faultline_target_solver_candidates_total")
                     .Help("Suffix candidates hashed by the solver.")
                     .Register(reg)
                     .Add({});
  solve_duration_ = &prometheus::BuildHistogram()
                         .Name("faultline_target_solve_duration_seconds")
                         .Help("Solver time per job (queue wait excluded).")
                         .Register(reg)
                         .Add({}, latency_buckets_seconds());
  auto& solves = prometheus::BuildCounter()
                     .Name("faultline_target_solves_total")
                     .Help("Solve jobs by outcome (rejected = solver queue full).")
                     .Register(reg);
  for (std::size_t i = 0; i < kSolveOutcomeCount; ++i)
    solves_[i] = &solves.Add({{"outcome", kSolveNames[i]}});

  auto& ops = prometheus::BuildCounter()
                  .Name("faultline_target_store_operations_total")
                  .Help("Store operations attempted, by shard and operation.")
                  .Register(reg);
  auto& errors = prometheus::BuildCounter()
                     .Name("faultline_target_store_errors_total")
                     .Help("Store operations that failed or were rejected, by shard and kind.")
                     .Register(reg);
  auto& breaker = prometheus::BuildGauge()
                      .Name("faultline_target_breaker_state")
                      .Help("Circuit breaker state per shard: 0 closed, 1 open, 2 half-open.")
                      .Register(reg);
  auto& outcomes = prometheus::BuildCounter()
                       .Name("faultline_target_shard_requests_total")
                       .Help("Requests that needed a store shard, by shard and outcome.")
                       .Register(reg);
  auto& shard_durations =
      prometheus::BuildHistogram()
          .Name("faultline_target_shard_request_duration_seconds")
          .Help(
              "Time from arrival to response of requests that needed a store shard, "
              "including any wait for a worker thread.")
          .Register(reg);
  shards_.resize(shards == 0 ? 1 : shards);
  for (std::size_t s = 0; s < shards_.size(); ++s) {
    const std::string shard = std::to_string(s);
    auto& ss = shards_[s];
    for (std::size_t i = 0; i < kStoreOpCount; ++i)
      ss.ops[i] = &ops.Add({{"shard", shard}, {"op", kOpNames[i]}});
    for (std::size_t i = 0; i < kStoreErrorCount; ++i)
      ss.errors[i] = &errors.Add({{"shard", shard}, {"kind", kErrorNames[i]}});
    for (std::size_t i = 0; i < kShardOutcomeCount; ++i)
      ss.outcomes[i] = &outcomes.Add({{"shard", shard}, {"outcome", kOutcomeNames[i]}});
    ss.breaker = &breaker.Add({{"shard", shard}});
    ss.duration = &shard_durations.Add({{"shard", shard}}, latency_buckets_seconds());
  }
  leaked_ = &prometheus::BuildCounter()
                 .Name("faultline_target_debug_leaked_bytes_total")
                 .Help("Bytes leaked on purpose by --debug-leak-bytes-per-request.")
                 .Register(reg)
                 .Add({});
}

void TargetMetrics::request_done(Route route, unsigned code, double seconds) {
  auto& rs = routes_[idx(route)];
  rs.duration->Observe(seconds);
  for (std::size_t c = 0; c < kCodes.size(); ++c) {
    if (kCodes[c] == code) {
      rs.codes[c]->Increment();
      return;
    }
  }
  std::lock_guard lock(rs.mu);
  for (auto& [c, p] : rs.extra) {
    if (c == code) {
      p->Increment();
      return;
    }
  }
  auto* counter = &requests_->Add(
      {{"route", std::string(kRouteNames[idx(route)])}, {"code", std::to_string(code)}});
  rs.extra.emplace_back(code, counter);
  counter->Increment();
}

void TargetMetrics::solve_done(SolveOutcome outcome, std::uint64_t candidates, double seconds) {
  solves_[idx(outcome)]->Increment();
  if (outcome == SolveOutcome::rejected) return;
  candidates_->Increment(static_cast<double>(candidates));
  solve_duration_->Observe(seconds);
}

void TargetMetrics::shard_request(std::size_t shard, ShardOutcome o, double seconds) {
  auto& ss = shards_.at(shard);
  ss.outcomes[idx(o)]->Increment();
  ss.duration->Observe(seconds);
}

}  // namespace faultline::target
